#!/usr/bin/env bash
# Build a systemd-capable Debian base image for the test hosts from Debian's
# packages (no registry is needed), tagged by a hash of this recipe, the suite
# and the CA bundle, and reused while an image of that tag exists.
#
#   image.sh SUITE ALIAS      e.g. image.sh bookworm debian12
#
# Settings (environment):
#   TESTBED_CA_BUNDLE  PEM bundle the test hosts must trust for outbound HTTPS
#                      (a TLS-inspecting proxy's CA); empty for none.
#   TESTBED_MIRROR     Debian mirror debootstrap and apt use.
#   TESTBED_IMAGE      image repository name.
set -euo pipefail

suite=${1:?usage: image.sh SUITE ALIAS}
alias=${2:?usage: image.sh SUITE ALIAS}
repository=${TESTBED_IMAGE:-stagecraft-testbed}
mirror=${TESTBED_MIRROR:-http://deb.debian.org/debian}
ca_bundle=${TESTBED_CA_BUNDLE:-}
# python3-apt and procps save every role an install (ansible.builtin.apt and ufw need them).
packages=systemd,systemd-sysv,dbus,python3,python3-apt,sudo,ca-certificates,procps,iproute2,curl

fail() {
  printf 'testbed: %s\n' "$*" >&2
  exit 1
}

if [ -n "$ca_bundle" ] && [ ! -r "$ca_bundle" ]; then
  fail "TESTBED_CA_BUNDLE=$ca_bundle cannot be read; point it at a PEM bundle or set it empty"
fi

recipe_hash=$(
  {
    cat "$0"
    echo "$suite $mirror"
    if [ -n "$ca_bundle" ]; then cat "$ca_bundle"; fi
  } | sha256sum | cut -c1-12
)
tag="$repository:$alias-$recipe_hash"

if docker image inspect "$tag" >/dev/null 2>&1; then
  echo "testbed: $tag present, reused"
  docker tag "$tag" "$repository:$alias"
  exit 0
fi

command -v debootstrap >/dev/null 2>&1 || "$(dirname "$0")/apt-install.sh" debootstrap

rootfs=$(mktemp -d "${TMPDIR:-/tmp}/stagecraft-rootfs.XXXXXX")
trap 'rm -rf "$rootfs"' EXIT

echo "testbed: building $tag from Debian $suite (debootstrap, about a minute)"
start=$SECONDS
debootstrap --variant=minbase --include="$packages" "$suite" "$rootfs" "$mirror" \
  >"$rootfs.log" 2>&1 || {
  tail -n 20 "$rootfs.log" >&2
  fail "debootstrap $suite failed; the last lines of $rootfs.log are above"
}
rm -f "$rootfs.log"

if [ -n "$ca_bundle" ]; then
  # Add the bundle's certificates Debian does not already trust, one per file, as
  # local CAs: update-ca-certificates keeps those across ca-certificates upgrades.
  awk -v dir="$rootfs/usr/local/share/ca-certificates" '
    /BEGIN CERTIFICATE/ { block = "" }
    { block = block $0 "\n" }
    /END CERTIFICATE/ {
      if (FNR == NR) { known[block] = 1; next }
      if (!(block in known)) {
        file = sprintf("%s/stagecraft-testbed-%03d.crt", dir, ++added)
        printf "%s", block > file
        close(file)
      }
    }
  ' "$rootfs/etc/ssl/certs/ca-certificates.crt" "$ca_bundle"
  chroot "$rootfs" update-ca-certificates >/dev/null 2>&1
fi
# Each container gets its own machine id at boot.
: >"$rootfs/etc/machine-id"
chroot "$rootfs" apt-get clean

tar -C "$rootfs" -c . | docker import \
  -c 'ENV container=docker' \
  -c 'CMD ["/lib/systemd/systemd"]' \
  - "$tag" >/dev/null
docker tag "$tag" "$repository:$alias"
echo "testbed: built $tag in $((SECONDS - start))s"

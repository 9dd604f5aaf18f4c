#!/usr/bin/env bash
# Install Debian packages the test bed needs on this machine, naming the cause when it cannot.
#   apt-install.sh PACKAGE...
set -euo pipefail

fail() {
  printf 'testbed: %s\n' "$*" >&2
  exit 1
}

[ "$(id -u)" -eq 0 ] || fail "$* missing; install it as root (apt-get install $*)"
command -v apt-get >/dev/null 2>&1 || fail "$* missing and there is no apt-get to install it; install it and re-run"
echo "testbed: installing $* from Debian's packages"
apt-get update -qq || fail "apt-get update failed: Debian's package mirror cannot be reached"
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null || fail "apt-get install $* failed"

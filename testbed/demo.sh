#!/usr/bin/env bash
# `make demo`: a Debian 12 host in a container (systemd inside, port 8000 published on
# 127.0.0.1:8080 only), the Flask example's git repository served to it read-only, the deploy
# playbook run against inventories/demo, then the app's URL and health.
# `make demo-clean` (demo.sh clean) removes the container and build/demo.
set -euo pipefail
cd "$(dirname "$0")/.."

name=stagecraft-demo
port=${DEMO_PORT:-8080}
state=build/demo

step() { printf '\n== demo: %s\n' "$*"; }

if [ "${1:-up}" = clean ]; then
  docker rm --force "$name" >/dev/null 2>&1 && echo "demo: removed container $name" || echo "demo: no container $name"
  rm -rf "$state"
  exit 0
fi

step "publishing examples/flask as a git repository"
testbed/example-repo.sh examples/flask "$state/work/flask" "$state/git/flask.git"

if [ -z "$(docker ps --quiet --filter "name=^${name}$")" ]; then
  docker rm --force "$name" >/dev/null 2>&1 || true
  step "starting the demo host $name (Debian 12, systemd)"
  # The options that run systemd here without --privileged (testbed/README.md).
  docker run --detach --name "$name" --hostname "$name" \
    --cap-add SYS_ADMIN --cap-add NET_ADMIN --cgroupns=host --security-opt seccomp=unconfined \
    --volume /sys/fs/cgroup:/sys/fs/cgroup:rw --tmpfs /run --tmpfs /run/lock \
    --volume "$PWD/$state/git:/srv/git:ro" \
    --publish "127.0.0.1:$port:8000" \
    stagecraft-testbed:debian12 /lib/systemd/systemd >/dev/null
else
  step "reusing the running demo host $name"
fi

for _ in $(seq 1 60); do
  status=$(docker exec "$name" systemctl is-system-running 2>/dev/null || true)
  case $status in running | degraded) break ;; esac
  sleep 1
done
echo "demo: systemd is ${status:-not answering}"

step "ansible-playbook playbooks/deploy.yml -i inventories/demo"
ansible-playbook playbooks/deploy.yml -i inventories/demo

step "the app"
url="http://127.0.0.1:$port/"
echo "URL:    $url"
echo "health: $(curl --silent --show-error --max-time 10 "${url}healthz")"

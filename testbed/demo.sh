#!/usr/bin/env bash
# `make demo`: a Debian 12 host in a container (systemd inside, nginx's 443 published on
# 127.0.0.1:8443 only), the Flask example's git repository served to it read-only, the deploy
# playbook run against inventories/demo (the prod composition: gunicorn, nginx with a self-signed
# certificate, ufw, the deploy), then the app's URL, commit and health.
# `make demo-clean` (demo.sh clean) removes the container and build/demo.
set -euo pipefail
cd "$(dirname "$0")/.."

name=stagecraft-demo
port=${DEMO_HTTPS_PORT:-8443}
state=build/demo

step() { printf '\n== demo: %s\n' "$*"; }

if [ "${1:-up}" = clean ]; then
  docker rm --force "$name" >/dev/null 2>&1 && echo "demo: removed container $name" || echo "demo: no container $name"
  rm -rf "$state"
  exit 0
fi

step "publishing examples/flask as a git repository"
testbed/example-repo.sh examples/flask "$state/work/flask" "$state/git/flask.git"

# A demo host from before nginx fronted the app publishes another port: start it afresh.
if [ -n "$(docker ps --quiet --filter "name=^${name}$")" ] && ! docker port "$name" 443/tcp 2>/dev/null | grep -q "127.0.0.1:$port"; then
  docker rm --force "$name" >/dev/null
fi
if [ -z "$(docker ps --quiet --filter "name=^${name}$")" ]; then
  docker rm --force "$name" >/dev/null 2>&1 || true
  step "starting the demo host $name (Debian 12, systemd)"
  # The options that run systemd here without --privileged (testbed/README.md).
  docker run --detach --name "$name" --hostname "$name" \
    --cap-add SYS_ADMIN --cap-add NET_ADMIN --cap-add SYS_PTRACE --cgroupns=host --security-opt seccomp=unconfined \
    --volume /sys/fs/cgroup:/sys/fs/cgroup:rw --tmpfs /run --tmpfs /run/lock \
    --volume "$PWD/$state/git:/srv/git:ro" \
    --publish "127.0.0.1:$port:443" \
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
# The demo's vault password is published on purpose (inventories/README.md); yours never is.
ansible-playbook playbooks/deploy.yml -i inventories/demo \
  --vault-password-file inventories/demo/vault-password -e demo_https_port="$port"

step "the app"
url="https://localhost:$port/"
commit=$(docker exec "$name" tail -n 1 /srv/flask/demo/deploys.jsonl | python3 -c 'import json, sys; print(json.load(sys.stdin)["commit"])')
echo "URL:    $url  (self-signed certificate: your browser asks you to accept it once)"
echo "commit: $commit"
echo "health: $(curl --silent --show-error --insecure --max-time 10 --resolve "localhost:$port:127.0.0.1" "${url}healthz")"

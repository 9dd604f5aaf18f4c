#!/usr/bin/env bash
# Make sure a Docker engine answers. When none does, install Debian's engine
# (docker.io) if it is missing and start it in the background, waiting a
# bounded time. Every failure names its cause and what to do about it.
set -euo pipefail

wait_seconds=${TESTBED_DOCKER_WAIT:-90}
log=${TESTBED_DOCKERD_LOG:-/var/log/stagecraft-dockerd.log}

fail() {
  printf 'testbed: %s\n' "$*" >&2
  exit 1
}

if docker info >/dev/null 2>&1; then
  echo "testbed: Docker engine answers ($(docker version --format '{{.Server.Version}}'))"
  exit 0
fi

if ! command -v dockerd >/dev/null 2>&1; then
  "$(dirname "$0")/apt-install.sh" docker.io
fi

[ "$(id -u)" -eq 0 ] ||
  fail "no Docker engine answers and starting dockerd needs root; start it (systemctl start docker) or add your user to the docker group"

echo "testbed: starting dockerd in the background (log: $log)"
setsid dockerd >"$log" 2>&1 </dev/null &
dockerd_pid=$!

for _ in $(seq "$wait_seconds"); do
  if docker info >/dev/null 2>&1; then
    echo "testbed: Docker engine answers ($(docker version --format '{{.Server.Version}}'))"
    exit 0
  fi
  if ! kill -0 "$dockerd_pid" 2>/dev/null; then
    tail -n 20 "$log" >&2 || true
    fail "dockerd exited while starting; the last lines of $log are above"
  fi
  sleep 1
done
tail -n 20 "$log" >&2 || true
fail "dockerd did not answer within ${wait_seconds}s; the last lines of $log are above (raise TESTBED_DOCKER_WAIT to wait longer)"

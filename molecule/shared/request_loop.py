"""Runs ON a test host: GET a health path in a bounded loop and print a JSON summary.

  python3 request_loop.py TARGET UNIT ACTION      `systemctl ACTION UNIT` after the 20th request;
                                                  at most 200 requests or 20 s
  python3 request_loop.py TARGET UNIT ACTION N    the same after the 20th and then every Nth
                                                  request, 21 times in all (20 N + 21 requests),
                                                  at most 180 s: a count a busy machine reaches too
  python3 request_loop.py TARGET --until FILE     until FILE exists (something else acts meanwhile);
                                                  at most 6000 requests or 300 s

TARGET is HOST:PORT or a unix socket path. Traffic goes only to the host's own loopback address
or socket. One connection per request, as nginx opens them to an upstream without keepalive. A request gets
TIMEOUT seconds, half nginx's proxy_read_timeout (60 s by default): a request that waits in a held
socket's backlog while the machine is busy is slow, not failed, for a client behind nginx.
"""

import http.client
import json
import os
import socket
import subprocess
import sys
import time

TARGET = sys.argv[1]
UNTIL = sys.argv[3] if sys.argv[2] == "--until" else None
UNIT, ACTION = (None, None) if UNTIL else sys.argv[2:4]
EVERY = int(sys.argv[4]) if len(sys.argv) > 4 else None
ACT_AT = None if UNTIL else 20
MAX_REQUESTS, MAX_SECONDS = (6000, 300.0) if UNTIL else (ACT_AT + 20 * EVERY + 1, 180.0) if EVERY else (200, 20.0)
TIMEOUT = 30


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=TIMEOUT)
        self.socket_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(TIMEOUT)
        self.sock.connect(self.socket_path)


def connection():
    if TARGET.startswith("/"):
        return UnixConnection(TARGET)
    address, port = TARGET.rsplit(":", 1)
    return http.client.HTTPConnection(address, int(port), timeout=TIMEOUT)


ok, errors, acted, actions, commits = 0, [], None, 0, {}
start = time.monotonic()
for number in range(MAX_REQUESTS):
    if time.monotonic() - start > MAX_SECONDS or (UNTIL and os.path.exists(UNTIL)):
        break
    if number == ACT_AT or (EVERY and number > ACT_AT and (number - ACT_AT) % EVERY == 0):
        rc = subprocess.run(["systemctl", ACTION, UNIT], capture_output=True, text=True, check=False).returncode
        acted, actions = acted or rc, actions + 1
    try:
        conn = connection()
        conn.request("GET", "/healthz")
        answer = conn.getresponse()
        body = answer.read()
        conn.close()
        if answer.status == 200:
            ok += 1
            commit = json.loads(body or b"{}").get("commit") if body.startswith(b"{") else None
            commits[commit] = commits.get(commit, 0) + 1
        else:
            errors.append(f"HTTP {answer.status}")
    except (OSError, http.client.HTTPException) as error:
        errors.append(repr(error))
    time.sleep(0.02)
print(json.dumps({"ok": ok, "failed": len(errors), "errors": errors[:5], "action_rc": acted, "actions": actions, "commits": commits,
                  "seconds": round(time.monotonic() - start, 1)}))

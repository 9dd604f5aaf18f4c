"""Runs ON the test host: GET /healthz in a bounded loop (at most 200 requests or 20 s) while
`systemctl ACTION UNIT` happens after the 20th request; prints a JSON summary.

Usage: python3 request_loop.py TARGET UNIT ACTION, TARGET being HOST:PORT or a unix socket path.
Traffic goes only to the host's own loopback address or socket.
"""

import http.client
import json
import socket
import subprocess
import sys
import time

TARGET, UNIT, ACTION = sys.argv[1:4]
MAX_REQUESTS, MAX_SECONDS, ACT_AT = 200, 20.0, 20


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=10)
        self.socket_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(10)
        self.sock.connect(self.socket_path)


def connection():
    if TARGET.startswith("/"):
        return UnixConnection(TARGET)
    address, port = TARGET.rsplit(":", 1)
    return http.client.HTTPConnection(address, int(port), timeout=10)


ok, errors, acted = 0, [], None
start = time.monotonic()
for number in range(MAX_REQUESTS):
    if time.monotonic() - start > MAX_SECONDS:
        break
    if number == ACT_AT:
        acted = subprocess.run(["systemctl", ACTION, UNIT], capture_output=True, text=True, check=False).returncode
    try:
        conn = connection()
        conn.request("GET", "/healthz")
        answer = conn.getresponse()
        answer.read()
        conn.close()
        if answer.status == 200:
            ok += 1
        else:
            errors.append(f"HTTP {answer.status}")
    except (OSError, http.client.HTTPException) as error:
        errors.append(repr(error))
    time.sleep(0.02)
print(json.dumps({"ok": ok, "failed": len(errors), "errors": errors[:5], "action_rc": acted,
                  "seconds": round(time.monotonic() - start, 1)}))

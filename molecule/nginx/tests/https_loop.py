"""Runs ON the test host: HTTPS requests to 127.0.0.1 in a bounded loop while a command runs.

Usage: python3 https_loop.py NAME CAFILE COMMAND. GET https://NAME/healthz (connected to
127.0.0.1:443, certificate verified against CAFILE, a new connection and handshake each time)
until the command, started after the 10th request, has ended and 10 more requests were made;
at most 400 requests or 60 s. Prints a JSON summary with the serials of the certificates seen.
"""

import http.client
import json
import socket
import ssl
import subprocess
import sys
import time

NAME, CAFILE, COMMAND = sys.argv[1:4]
MAX_REQUESTS, MAX_SECONDS, START_AT, AFTER = 400, 60.0, 10, 10


class Connection(http.client.HTTPSConnection):
    def connect(self):
        raw = socket.create_connection(("127.0.0.1", 443), timeout=10)
        self.sock = self._context.wrap_socket(raw, server_hostname=NAME)


context = ssl.create_default_context(cafile=CAFILE)
ok, failed, errors, serials = 0, 0, [], []
process, done_at, started = None, None, time.monotonic()
for number in range(MAX_REQUESTS):
    if time.monotonic() - started > MAX_SECONDS or (done_at is not None and number >= done_at + AFTER):
        break
    if number == START_AT:
        process = subprocess.Popen(COMMAND, shell=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if process is not None and done_at is None and process.poll() is not None:
        done_at = number
    try:
        conn = Connection(NAME, context=context, timeout=10)
        # The certificate is read before the request: an answer with "Connection: close" (a worker
        # that a reload is retiring sends one) takes the socket away from the connection.
        conn.connect()
        serial = format(int(conn.sock.getpeercert()["serialNumber"], 16), "x")
        conn.request("GET", "/healthz")
        answer = conn.getresponse()
        answer.read()
        if not serials or serials[-1] != serial:
            serials.append(serial)
        conn.close()
        ok += answer.status == 200
        failed += answer.status != 200
        if answer.status != 200:
            errors.append(f"HTTP {answer.status}")
    except (OSError, ssl.SSLError, http.client.HTTPException) as error:
        failed += 1
        errors.append(repr(error))
    time.sleep(0.05)
output = process.communicate(timeout=120)[0] if process else ""
print(json.dumps({"ok": ok, "failed": failed, "errors": errors[:5], "serials": serials,
                  "command_rc": process.returncode if process else None, "command_output": output[-3000:],
                  "seconds": round(time.monotonic() - started, 1)}))

"""Runs ON the test host: one WebSocket round trip through nginx over TLS, standard library only.

Usage: python3 websocket_echo.py NAME PATH MESSAGE. Connects to 127.0.0.1:443 with SNI NAME,
upgrades PATH, sends MESSAGE as a masked text frame and prints the JSON summary of the answer.
"""

import base64
import json
import os
import socket
import ssl
import sys

NAME, PATH, MESSAGE = sys.argv[1:4]
context = ssl.create_default_context()
context.check_hostname = False
context.verify_mode = ssl.CERT_NONE
context.set_alpn_protocols(["http/1.1"])
key = base64.b64encode(os.urandom(16)).decode()
result = {"status_line": "", "echo": None}
with socket.create_connection(("127.0.0.1", 443), timeout=10) as raw, context.wrap_socket(raw, server_hostname=NAME) as sock:
    sock.sendall(
        f"GET {PATH} HTTP/1.1\r\nHost: {NAME}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        if not chunk:
            break
        head += chunk
    lines = head.split(b"\r\n\r\n", 1)[0].decode(errors="replace").split("\r\n")
    result["status_line"] = lines[0]
    result["headers"] = {line.split(":", 1)[0].lower(): line.split(":", 1)[1].strip() for line in lines[1:] if ":" in line}
    if " 101 " in lines[0]:
        payload = MESSAGE.encode()
        mask = os.urandom(4)
        # FIN + text frame; client frames are masked; payloads under 126 bytes.
        sock.sendall(bytes([0x81, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))
        frame = head.split(b"\r\n\r\n", 1)[1]
        while len(frame) < 2 or len(frame) < 2 + (frame[1] & 0x7F):
            frame += sock.recv(4096)
        result["echo"] = frame[2:2 + (frame[1] & 0x7F)].decode()
print(json.dumps(result))

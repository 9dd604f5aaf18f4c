"""The filter that reads which tunnel a Cloudflare Tunnel token belongs to (plugins/filter/cloudflared_token_tunnel_id.py).

A token is base64 of {"a": account tag, "t": tunnel UUID, "s": base64 secret}, as cloudflared's
own token parser reads it; anything else (a pasted cert.pem, a truncated token) gives "".
"""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path

import pytest

COLLECTIONS = Path(__file__).resolve().parents[3] / "collections"
if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))

from ansible_collections.stagecraft.webapp.plugins.filter.cloudflared_token_tunnel_id import FilterModule  # noqa: E402

TUNNEL = "6ff42ae2-765d-4adf-8112-31c55c1551ef"
SECRET = base64.b64encode(b"thirty-two bytes of tunnel secret").decode()


def token(document) -> str:
    return base64.b64encode(json.dumps(document).encode()).decode()


@pytest.mark.parametrize("value, expected", [
    (token({"a": "5c0ffee5c0ffee5c0ffee5c0ffee5c0f", "t": TUNNEL, "s": SECRET}), TUNNEL),
    (token({"a": "5c0ffee5c0ffee5c0ffee5c0ffee5c0f", "t": TUNNEL.upper(), "s": SECRET}), TUNNEL),
    ("  " + token({"a": "acct", "t": TUNNEL, "s": SECRET}) + "\n", TUNNEL),
    (token({"a": "acct", "t": TUNNEL}), ""),
    (token({"a": "", "t": TUNNEL, "s": SECRET}), ""),
    (token({"a": "acct", "t": "not-a-uuid", "s": SECRET}), ""),
    (token(["a", "t", "s"]), ""),
    (token({"a": "acct", "t": TUNNEL, "s": SECRET})[:-12], ""),
    ("-----BEGIN ARGO TUNNEL TOKEN-----\nabc\n-----END ARGO TUNNEL TOKEN-----", ""),
    ("", ""),
    (None, ""),
])
def test_tunnel_id_of_a_token(value, expected):
    assert FilterModule().filters()["cloudflared_token_tunnel_id"](value) == expected

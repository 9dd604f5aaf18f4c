# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

from __future__ import annotations

DOCUMENTATION = r"""
name: cloudflared_token_tunnel_id
short_description: The tunnel a Cloudflare Tunnel token belongs to, without revealing the token
version_added: 0.1.0
author: Stagecraft maintainers
description:
  - A tunnel token (what C(cloudflared tunnel token) prints, or the dashboard shows after
    C(--token)) is base64 of a small JSON document with the account tag C(a), the tunnel's UUID
    C(t) and its secret C(s). This filter reads it as cloudflared does and returns the UUID, which
    is not secret (it is the C(<UUID>.cfargotunnel.com) DNS target), so a play can check a token
    before it reaches a host and name the tunnel in messages.
  - Returns an empty string when the input is not a tunnel token (not base64, not JSON, a missing
    account tag, secret or UUID), for example a pasted C(cert.pem) or a truncated token.
  - Use it in a task with C(no_log), since the token is its input.
options:
  _input:
    description: The tunnel token.
    type: string
    required: true
"""

EXAMPLES = r"""
- name: Check the token without printing it
  ansible.builtin.set_fact:
    _tunnel_id: "{{ cloudflared_token | stagecraft.webapp.cloudflared_token_tunnel_id }}"
  no_log: true

- name: Refuse what is not a tunnel token
  ansible.builtin.assert:
    that: _tunnel_id | length > 0
    fail_msg: cloudflared_token is not a tunnel token
"""

RETURN = r"""
_value:
  description: The tunnel's UUID in lowercase, or an empty string when the input is not a tunnel token.
  type: string
  sample: 6ff42ae2-765d-4adf-8112-31c55c1551ef
"""

from ansible_collections.stagecraft.webapp.plugins.module_utils._cloudflared_settings import token_tunnel_id as cloudflared_token_tunnel_id


class FilterModule:
    """Filters of stagecraft.webapp."""

    def filters(self):
        return {"cloudflared_token_tunnel_id": cloudflared_token_tunnel_id}

# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

from __future__ import annotations

DOCUMENTATION = r"""
name: cloudflared_secrets
short_description: What a Cloudflare Tunnel's token and credentials say, without them
version_added: 0.1.0
author: Stagecraft maintainers
description:
  - Reads the token of a remotely managed tunnel and the credentials of a locally managed one into
    facts that hold nothing secret, for the cloudflared role's preflight rules and its record.
  - Use it in a task with C(no_log), since the secrets are its input.
positional: credentials
options:
  _input:
    description: The tunnel token (C(cloudflared_token)); empty when none is given.
    type: string
    required: true
  credentials:
    description: The tunnel credentials (C(cloudflared_credentials)), as a mapping or as the JSON text of the credentials file.
    type: raw
    required: true
"""

EXAMPLES = r"""
- name: Examine the token and the credentials without showing them
  ansible.builtin.set_fact:
    _cloudflared_secrets: "{{ cloudflared_token | stagecraft.webapp.cloudflared_secrets(cloudflared_credentials) }}"
  no_log: true
"""

RETURN = r"""
_value:
  description:
    - C(token_given), C(credentials_given) (booleans); C(token_tunnel), the tunnel the token names ("" when it
      is no tunnel token); C(credentials_json), whether the credentials are a mapping; C(credentials_lacking), the
      keys of a credentials file missing or empty in them; C(credentials_tunnel), their C(TunnelID) in lowercase;
      C(pem), whether either holds a PEM block (the account-wide cert.pem).
  type: dict
  sample: {token_given: true, token_tunnel: 6ff42ae2-765d-4adf-8112-31c55c1551ef, credentials_given: false, credentials_json: true,
           credentials_lacking: [AccountTag, TunnelSecret, TunnelID], credentials_tunnel: "", pem: false}
"""

from ansible_collections.stagecraft.webapp.plugins.module_utils._cloudflared_settings import secrets_summary


class FilterModule:
    """Filters of stagecraft.webapp."""

    def filters(self):
        return {"cloudflared_secrets": secrets_summary}

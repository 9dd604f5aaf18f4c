# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

from __future__ import annotations

DOCUMENTATION = r"""
name: cloudflared_layout
short_description: The names, paths, record and unit spec of a stagecraft.webapp.cloudflared instance
version_added: 0.1.0
author: Stagecraft maintainers
description:
  - Derives from the role's variables, in one place, what the role's tasks and templates use.
positional: token_from_file, token_tunnel, check_mode
options:
  _input:
    description: The role's variables by name (the role's C(_cloudflared_settings)).
    type: dict
    required: true
  token_from_file:
    description: Whether the installed cloudflared reads C(--token-file) (2025.4.0 and later); else the token goes through an environment file.
    type: bool
    default: true
  token_tunnel:
    description: The tunnel the token names (C(cloudflared_secrets)' C(token_tunnel)), recorded in token mode.
    type: str
    default: ""
  check_mode:
    description: Whether the play runs in check mode (the executable may not be installed yet).
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: The unit's name
  ansible.builtin.debug:
    msg: "{{ (_cloudflared_settings | stagecraft.webapp.cloudflared_layout).unit }}"
  # cloudflared.service
"""

RETURN = r"""
_value:
  description:
    - C(unit), C(user), C(group), C(dir), C(config), C(token_file), C(credentials_file), C(secret_file) (the one the mode
      keeps), C(record) (its path), C(executable), C(provided_file) (the deb or binary to install, "" for apt), C(metrics)
      (host:port), C(ready_url); C(record_content), what the role records about the instance; C(files), its directories and
      files for stagecraft.webapp.files; C(service), the unit spec for stagecraft.webapp.systemd without C(state) and
      C(restart_on_change).
  type: dict
"""

from ansible_collections.stagecraft.webapp.plugins.module_utils._cloudflared_settings import layout


class FilterModule:
    """Filters of stagecraft.webapp."""

    def filters(self):
        return {"cloudflared_layout": layout}

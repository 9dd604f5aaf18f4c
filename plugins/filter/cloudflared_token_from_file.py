# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

from __future__ import annotations

DOCUMENTATION = r"""
name: cloudflared_token_from_file
short_description: Whether a cloudflared reads its tunnel token from a file (tunnel run --token-file)
version_added: 0.1.0
author: Stagecraft maintainers
description:
  - cloudflared 2025.4.0 and later read the tunnel token from a file (C(tunnel run --token-file)), so
    it is in neither the process's arguments nor its environment; older versions take it from
    C(TUNNEL_TOKEN) in the environment. This tells which applies.
  - The version is the one the installed executable reports (its C(--version) output), or, where
    that names no release (nothing installed yet, a development build), the pinned version
    O(pinned); an empty O(pinned) means the latest, which reads the file.
positional: pinned
options:
  _input:
    description: What C(cloudflared --version) printed (C(cloudflared version 2025.8.0 (built ...))); empty when nothing is installed.
    type: str
    required: true
  pinned:
    description: The version the role installs (C(cloudflared_version)); empty for the latest.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Note how the token reaches the connector
  ansible.builtin.set_fact:
    _token_from_file: "{{ __version.stdout | default('') | stagecraft.webapp.cloudflared_token_from_file(cloudflared_version) }}"
"""

RETURN = r"""
_value:
  description: True for C(--token-file), false for C(TUNNEL_TOKEN) in the environment.
  type: bool
"""

import re

from ansible_collections.stagecraft.webapp.plugins.module_utils._semver import parse_version

TOKEN_FILE_SINCE = (2025, 4, 0)
REPORTED = re.compile(r"^cloudflared version (\S+)")


def _release(text):
    """(year, month, patch) of a release version, or None for anything else."""
    try:
        return parse_version(text)
    except ValueError:
        return None


def cloudflared_token_from_file(reported, pinned):
    """Whether the cloudflared that runs (`reported` by it, else `pinned`, else the latest) has --token-file."""
    match = REPORTED.match((reported or "").strip())
    version = (_release(match.group(1)) if match else None) or _release(pinned or "")
    return version is None or version >= TOKEN_FILE_SINCE


class FilterModule:
    """Filters of stagecraft.webapp."""

    def filters(self):
        return {"cloudflared_token_from_file": cloudflared_token_from_file}

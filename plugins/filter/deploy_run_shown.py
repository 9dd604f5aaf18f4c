# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

from __future__ import annotations

DOCUMENTATION = r"""
name: deploy_run_shown
short_description: The lines playbooks/run.yml shows of a command run in the serving release
version_added: 0.1.0
author: Stagecraft maintainers
description:
  - The command with its user and release, what it printed (stderr after a C(stderr:) line) and its exit status; only the
    module's message when it ran nothing (nothing serves yet).
positional: command, user, check_mode
options:
  _input:
    description: The result of M(stagecraft.webapp.deploy_run).
    type: dict
    required: true
  command:
    description: The command that ran.
    type: str
    required: true
  user:
    description: The user it ran as.
    type: str
    required: true
  check_mode:
    description: Whether the play runs in check mode.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Show what it printed
  ansible.builtin.debug:
    msg: "{{ __deploy_run | stagecraft.webapp.deploy_run_shown(deploy_run_command, _deploy_layout.user, ansible_check_mode) }}"
"""

RETURN = r"""
_value:
  description: The lines.
  type: list
  elements: str
"""

from ansible_collections.stagecraft.webapp.plugins.module_utils._deploy_report import run_shown


class FilterModule:
    """Filters of stagecraft.webapp."""

    def filters(self):
        return {"deploy_run_shown": run_shown}

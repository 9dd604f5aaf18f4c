# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

from __future__ import annotations

DOCUMENTATION = r"""
name: starter_problems
short_description: What is wrong with the answers to C(playbooks/starter.yml)
version_added: 0.1.0
author: Stagecraft maintainers
description:
  - Each message names the answer and what it must be; empty when P(stagecraft.webapp.starter_files#filter) can write them.
options:
  _input:
    description: The answers, as P(stagecraft.webapp.starter_files#filter) takes them.
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Refuse a repository URL with a password in it
  ansible.builtin.assert:
    that: problems | length == 0
    fail_msg: "{{ problems | join('; ') }}"
  vars:
    problems: "{{ answers | stagecraft.webapp.starter_problems }}"
"""

RETURN = r"""
_value:
  description: The messages.
  type: list
  elements: str
"""

from ansible_collections.stagecraft.webapp.plugins.module_utils._starter import starter_problems


class FilterModule:
    """Filters of stagecraft.webapp."""

    def filters(self):
        return {"starter_problems": starter_problems}

# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

from __future__ import annotations

DOCUMENTATION = r"""
name: ufw_current_rules
short_description: The rules in ufw's rules files, and which of them stagecraft.webapp.ufw made
version_added: 0.1.0
author: Stagecraft maintainers
description:
  - "Reads the C(### tuple ###) lines of C(/etc/ufw/user.rules) and C(user6.rules), IPv4's first
    (numbered as C(ufw status numbered) numbers them)."
  - "Each rule has C(number), C(rule), C(proto), C(port), C(from), C(family), C(tuple) (without
    action and comment), C(written) (with them) and C(ours) (its comment starts with the role's
    prefix C(stagecraft: ))."
options:
  _input:
    description: "The lines, as C(grep -h '^### tuple ###') prints them."
    type: list
    elements: string
    required: true
"""

EXAMPLES = r"""
- name: The rules of others
  ansible.builtin.debug:
    msg: "{{ grep_result.stdout_lines | stagecraft.webapp.ufw_current_rules | rejectattr('ours') }}"
"""

RETURN = r"""
_value:
  description: The rules, in the order of the lines.
  type: list
  elements: dict
  sample:
    - {number: 1, rule: limit, proto: tcp, port: "22", from: 0.0.0.0/0, family: ipv4, tuple: "tcp 22 0.0.0.0/0 any 0.0.0.0/0 in",
       written: "limit tcp 22 0.0.0.0/0 any 0.0.0.0/0 in comment=737461676563726166743a20737368", ours: true}
"""

from ansible_collections.stagecraft.webapp.plugins.module_utils._ufw_rules import current_rules


class FilterModule:
    """Filters of stagecraft.webapp."""

    def filters(self):
        return {"ufw_current_rules": current_rules}

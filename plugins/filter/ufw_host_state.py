# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

from __future__ import annotations

DOCUMENTATION = r"""
name: ufw_host_state
short_description: ufw on the host as the latest of stagecraft.webapp.ufw's reads found it
version_added: 0.1.0
author: Stagecraft maintainers
description:
  - "stagecraft.webapp.ufw reads the host with one command that prints sections, each after a line
    C(@@NAME): C(package) (dpkg's status of ufw), C(status) (C(ufw status)), C(settings) (the
    C(KEY=value) lines of C(/etc/default/ufw) and C(/etc/ufw/ufw.conf)) and C(rules) (the
    C(### tuple ###) lines of C(/etc/ufw/user.rules) and C(user6.rules), IPv4's first)."
  - "Takes the registered results of the role's reads in order and reads the last that ran."
  - "Returns C(installed), C(active), C(settings) (by key), C(differ) (the keys of O(wanted_settings)
    whose value differs or is missing) and C(rules): each with C(number) (as
    C(ufw status numbered) numbers them), C(rule), C(proto), C(port), C(from), C(family), C(tuple)
    (without action and comment), C(written) (with them) and C(ours) (its comment starts with the
    role's prefix C(stagecraft: ))."
options:
  _input:
    description: The registered results of the reads, in order; a skipped one has no C(stdout).
    type: list
    elements: dict
    required: true
  wanted_settings:
    description: The settings the role wants, by key (C(IPV6), C(LOGLEVEL), C(ENABLED), the default policies).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: The rules of others
  ansible.builtin.debug:
    msg: "{{ ([first_read, read_after_install] | stagecraft.webapp.ufw_host_state({'ENABLED': 'yes'})).rules | rejectattr('ours') }}"
"""

RETURN = r"""
_value:
  description: ufw on the host.
  type: dict
  sample:
    installed: true
    active: true
    settings: {IPV6: "yes", DEFAULT_INPUT_POLICY: DROP, ENABLED: "yes", LOGLEVEL: medium}
    differ: [LOGLEVEL]
    rules:
      - {number: 1, rule: limit, proto: tcp, port: "22", from: 0.0.0.0/0, family: ipv4, tuple: "tcp 22 0.0.0.0/0 any 0.0.0.0/0 in",
         written: "limit tcp 22 0.0.0.0/0 any 0.0.0.0/0 in comment=737461676563726166743a20737368", ours: true}
"""

from ansible_collections.stagecraft.webapp.plugins.module_utils._ufw_rules import host_state


class FilterModule:
    """Filters of stagecraft.webapp."""

    def filters(self):
        return {"ufw_host_state": host_state}

# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

from __future__ import annotations

DOCUMENTATION = r"""
name: ufw_rules
short_description: The firewall rules stagecraft.webapp.ufw makes
version_added: 0.1.0
author: Stagecraft maintainers
description:
  - The rules in the order the role makes them, SSH's (rate limited, on the ports of
    P(stagecraft.webapp.ufw_ssh_ports#filter)), the profile's (nginx's ports), then C(ufw_rules);
    sources in the form ufw writes them (a network without host bits, a single address without
    /32 or /128, IPv6 compressed).
  - Each rule has C(origin) (the variable it comes from), C(rule), C(port), C(proto), C(from),
    C(family) (C(ipv4), C(ipv6) or C(any)), C(comment), C(tuples) (as ufw writes the rule in its
    rules files, once per family, without action and comment) and C(written) (the same with action
    and hex-encoded comment).
options:
  _input:
    description:
      - The settings, as for P(stagecraft.webapp.ufw_problems#filter).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Add the rules
  community.general.ufw:
    rule: "{{ item.rule }}"
    to_port: "{{ item.port }}"
    proto: "{{ item.proto }}"
    from_ip: "{{ item['from'] }}"
    comment: "{{ item.comment }}"
  loop: "{{ _ufw_settings | stagecraft.webapp.ufw_rules }}"
"""

RETURN = r"""
_value:
  description: The rules, in order.
  type: list
  elements: dict
  sample:
    - {origin: ufw_ssh_sources, rule: limit, port: "22", proto: tcp, from: 0.0.0.0/0, family: ipv4, comment: "stagecraft: ssh",
       tuples: ["tcp 22 0.0.0.0/0 any 0.0.0.0/0 in"], written: ["limit tcp 22 0.0.0.0/0 any 0.0.0.0/0 in comment=737461676563726166743a20737368"]}
"""

from ansible_collections.stagecraft.webapp.plugins.module_utils._ufw_rules import firewall_rules


class FilterModule:
    """Filters of stagecraft.webapp."""

    def filters(self):
        return {"ufw_rules": firewall_rules}

# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

from __future__ import annotations

DOCUMENTATION = r"""
name: ufw_problems
short_description: Check the settings of stagecraft.webapp.ufw before anything changes on a host
version_added: 0.1.0
author: Stagecraft maintainers
description:
  - Checks the settings of stagecraft.webapp.ufw that its argument spec cannot, together with what
    the role's preflight read on the host, and returns one message per problem, each naming the
    variable at fault. An empty list means they are fine.
  - "Refused: what P(stagecraft.webapp.ufw_ssh_problems#filter) refuses; sources that are no address
    or network (a network with host bits set included), IPv6 ones without C(ufw_ipv6), a network named
    twice; C(ufw_web_sources) empty or open to everyone with the internal profile, or given with
    another; web ports with the tunnel, outside 1-65535, on the SSH port or where a gunicorn app
    listens; in C(ufw_rules) ports that are no port or range, ranges for any protocol, the SSH
    port, an app port opened to the world, comments with a quote or a line break, and a rule the
    role makes already."
options:
  _input:
    description:
      - The role's variables by name (C(ufw_profile), C(ufw_ipv6), C(ufw_ssh_port), C(ufw_ssh_sources),
        C(ufw_web_sources), C(ufw_web_ports), C(ufw_rules)) and what the preflight read on the host
        (C(ssh_connection), C(sshd), C(records), C(noted_records)). The role's C(_ufw_settings) holds them.
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Check the profile, sources, ports and rules
  ansible.builtin.assert:
    that: _problems | length == 0
    fail_msg: "{{ _problems | join('; ') }}"
    quiet: true
  vars:
    _problems: "{{ _ufw_settings | stagecraft.webapp.ufw_problems }}"
"""

RETURN = r"""
_value:
  description: One message per problem; empty when the settings are fine.
  type: list
  elements: string
  sample:
    - "ufw_rules[0] would open port 8000, where gunicorn app shop-prod listens, to the world (from any); ..."
"""

from ansible_collections.stagecraft.webapp.plugins.module_utils._ufw_rules import settings_problems


class FilterModule:
    """Filters of stagecraft.webapp."""

    def filters(self):
        return {"ufw_problems": settings_problems}

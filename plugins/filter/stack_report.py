# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

from __future__ import annotations

DOCUMENTATION = r"""
name: stack_report
short_description: The report of what serves, in lines, from stagecraft.webapp.app_status's result
version_added: 0.1.0
author: Stagecraft maintainers
description:
  - The lines stagecraft.webapp.stack reports for a host - the commit and release that serve, the previous commit and
    the rollback target, the last deploy, the rolled back commits, the snapshots, the service (and the connector behind
    the tunnel), the health and certificate, the deploy lock, the watchdog's last run and alerts.
positional: heading
options:
  _input:
    description: What stagecraft.webapp.app_status returned.
    type: dict
    required: true
  heading:
    description: The first line (the stack role's C(<app>-<env> (<composition>) <url>)).
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Report
  ansible.builtin.debug:
    msg: "{{ _status | stagecraft.webapp.stack_report('shop-prod (prod) https://shop.example.com/') }}"
"""

RETURN = r"""
_value:
  description: The report's lines.
  type: list
  elements: str
"""

from ansible_collections.stagecraft.webapp.plugins.module_utils._status import report_lines


class FilterModule:
    """Filters of stagecraft.webapp."""

    def filters(self):
        return {"stack_report": report_lines}

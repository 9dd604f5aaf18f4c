# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

from __future__ import annotations

DOCUMENTATION = r"""
name: stack_fleet_report
short_description: Which commit each host serves, one line per host, from a loop of stagecraft.webapp.app_status
version_added: 0.1.0
author: Stagecraft maintainers
description:
  - One line per host - the commit and release it serves and the health nginx answers (none and no answer where the
    host said nothing) - from the results of stagecraft.webapp.app_status run for each host with loop variable
    C(__stack_host).
options:
  _input:
    description: The registered loop's C(results).
    type: list
    elements: dict
    required: true
"""

EXAMPLES = r"""
- name: Say which commit each host serves
  ansible.builtin.debug:
    msg: "{{ __stack_fleet.results | stagecraft.webapp.stack_fleet_report }}"
"""

RETURN = r"""
_value:
  description: One line per host.
  type: list
  elements: str
"""

from ansible_collections.stagecraft.webapp.plugins.module_utils._status import fleet_lines


class FilterModule:
    """Filters of stagecraft.webapp."""

    def filters(self):
        return {"stack_fleet_report": fleet_lines}

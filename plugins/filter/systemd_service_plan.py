# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

from __future__ import annotations

DOCUMENTATION = r"""
name: systemd_service_plan
short_description: What stagecraft.webapp.systemd starts, stops, restarts or hands a port over
version_added: 0.1.0
author: Stagecraft maintainers
description:
  - After the unit files are installed, the units whose files did not change and whose state is to be compared,
    the sockets that changed and the services they start, and each unit to run with the state to ask for
    (restarted when its files changed and it restarts on change).
positional: changed
options:
  _input:
    description: The resolved units (C(systemd_resolve) C(units)).
    type: list
    elements: dict
    required: true
  changed:
    description: The units whose files changed in this run (C(systemd_changed_units)).
    type: list
    elements: str
    required: true
"""

EXAMPLES = r"""
- name: Enable and start, stop, restart or reload the units
  ansible.builtin.systemd_service:
    name: "{{ item.name }}"
    state: "{{ item.state }}"
  loop: "{{ (units | stagecraft.webapp.systemd_service_plan(systemd_changed_units)).run }}"
"""

RETURN = r"""
_value:
  description: >-
    C(settled) (units), C(settled_services) (for C(stagecraft.webapp.drift)), C(socket_handovers) (C(socket) and C(service)),
    C(run) (units with the state to ask for).
  type: dict
"""

from ansible_collections.stagecraft.webapp.plugins.module_utils._unit_specs import service_plan


class FilterModule:
    """Filters of stagecraft.webapp."""

    def filters(self):
        return {"systemd_service_plan": service_plan}

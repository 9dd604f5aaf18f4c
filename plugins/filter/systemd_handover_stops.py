# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

from __future__ import annotations

DOCUMENTATION = r"""
name: systemd_handover_stops
short_description: The services stagecraft.webapp.systemd stops so that their new socket can take the port
version_added: 0.1.0
author: Stagecraft maintainers
description:
  - systemd refuses to start a socket whose service already runs without it. Of the socket handovers of
    C(systemd_service_plan), those whose socket is not active while its service is.
  - Without one state for each socket and service (the read did not run), none.
positional: states
options:
  _input:
    description: The C(socket_handovers) of C(systemd_service_plan).
    type: list
    elements: dict
    required: true
  states:
    description: The lines of C(systemctl is-active) on the plan's C(handover_units), sockets first.
    type: list
    elements: str
    required: true
"""

EXAMPLES = r"""
- name: Stop the services that hold their new socket's port
  ansible.builtin.systemd_service:
    name: "{{ item.service }}"
    state: stopped
  loop: "{{ plan.socket_handovers | stagecraft.webapp.systemd_handover_stops(is_active.stdout_lines) }}"
"""

RETURN = r"""
_value:
  description: The handovers (C(socket) and C(service)) whose service is to stop.
  type: list
  elements: dict
"""

from ansible_collections.stagecraft.webapp.plugins.module_utils._unit_specs import handover_stops


class FilterModule:
    """Filters of stagecraft.webapp."""

    def filters(self):
        return {"systemd_handover_stops": handover_stops}

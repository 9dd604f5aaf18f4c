# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

from __future__ import annotations

DOCUMENTATION = r"""
name: systemd_stale_dropins
short_description: The drop-ins stagecraft.webapp.systemd installed that the unit specs no longer list
version_added: 0.1.0
author: Stagecraft maintainers
description:
  - Of the drop-ins carrying the role's marker, those directly inside the drop-in directories of the managed units
    that their specs no longer list (or whose unit is absent), sorted by path.
positional: managed
options:
  _input:
    description: What C(systemd_resolve) returned.
    type: dict
    required: true
  managed:
    description: The files C(ansible.builtin.find) found carrying the role's marker.
    type: list
    elements: dict
    required: true
"""

EXAMPLES = r"""
- name: Remove managed drop-ins of these units that left their spec
  ansible.builtin.file:
    path: "{{ item }}"
    state: absent
  loop: "{{ _resolved | stagecraft.webapp.systemd_stale_dropins(managed.files) }}"
"""

RETURN = r"""
_value:
  description: The paths of the stale drop-ins, sorted.
  type: list
  elements: str
"""

from ansible_collections.stagecraft.webapp.plugins.module_utils._unit_specs import stale_dropins


class FilterModule:
    """Filters of stagecraft.webapp."""

    def filters(self):
        return {"systemd_stale_dropins": stale_dropins}

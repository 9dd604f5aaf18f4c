# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

from __future__ import annotations

DOCUMENTATION = r"""
name: systemd_changed_units
short_description: The units whose files the install tasks of stagecraft.webapp.systemd changed
version_added: 0.1.0
author: Stagecraft maintainers
description:
  - From what the tasks that install or remove unit files, drop-in directories and drop-ins registered, the names
    of the units whose files changed, sorted and once each.
options:
  _input:
    description:
      - What the tasks registered, C(changed_paths) of C(stagecraft.webapp.files) or a loop's C(results) whose items are
        paths (unit files, drop-in directories, drop-ins).
    type: list
    elements: dict
    required: true
"""

EXAMPLES = r"""
- name: Record which units changed in this run
  ansible.builtin.set_fact:
    systemd_changed_units: "{{ [written, removed_dropins] | stagecraft.webapp.systemd_changed_units }}"
"""

RETURN = r"""
_value:
  description: The unit names, sorted.
  type: list
  elements: str
"""

from ansible_collections.stagecraft.webapp.plugins.module_utils._unit_specs import changed_units


class FilterModule:
    """Filters of stagecraft.webapp."""

    def filters(self):
        return {"systemd_changed_units": changed_units}

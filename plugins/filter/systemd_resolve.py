# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

from __future__ import annotations

DOCUMENTATION = r"""
name: systemd_resolve
short_description: The unit specs of stagecraft.webapp.systemd checked, and resolved into the files it renders
version_added: 0.1.0
author: Stagecraft maintainers
description:
  - Checks the specs as C(systemd_unit_problems) does. Where they are fine, fills in each spec of C(systemd_units)
    with the role's defaults, merges the hardening profile, the overrides and C(read_write_paths) into a service's
    [Service] section, and lists the files each unit renders (its unit file and drop-ins), the drop-in directories
    and the drop-ins they should hold.
positional: hardening_profile, unit_dir
options:
  _input:
    description: The unit specs (C(systemd_units)).
    type: list
    elements: dict
    required: true
  hardening_profile:
    description: The directives every hardened service gets (C(systemd_hardening_profile)).
    type: dict
    required: true
  unit_dir:
    description: Where unit files are installed.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Resolve the unit specs
  ansible.builtin.set_fact:
    _resolved: "{{ systemd_units | stagecraft.webapp.systemd_resolve(systemd_hardening_profile, '/etc/systemd/system') }}"
"""

RETURN = r"""
_value:
  description:
    - C(problems), one message per problem of the specs (as C(systemd_unit_problems)); where there is one, the
      lists below are empty.
    - C(units), each with C(name), C(kind), C(order), C(template), C(present), C(enabled) (null when it cannot be enabled), C(state)
      (null for a template), C(restart_on_change), C(verify_allow_missing), C(section_order), C(sections), C(dropins) and C(files)
      (C(path), C(relative), C(unit), C(section_order) and C(sections) of the unit file and each drop-in); C(files) (those of the
      present units); C(dropin_dirs); C(dropin_files).
  type: dict
"""

from ansible_collections.stagecraft.webapp.plugins.module_utils._unit_specs import checked_units


class FilterModule:
    """Filters of stagecraft.webapp."""

    def filters(self):
        return {"systemd_resolve": checked_units}

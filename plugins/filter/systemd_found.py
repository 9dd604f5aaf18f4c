# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

from __future__ import annotations

DOCUMENTATION = r"""
name: systemd_found
short_description: What is installed of the units stagecraft.webapp.systemd manages, and which differ
version_added: 0.1.0
author: Stagecraft maintainers
description:
  - From one recursive C(find) of the unit directory and the checksums of the files as they should be, the units
    with an installed file or drop-in directory, drop-ins their specs no longer list, and the present units whose
    files are missing or differ in content, mode or owner.
positional: found, checksums, unit_dir
options:
  _input:
    description: What C(systemd_resolve) returned.
    type: dict
    required: true
  found:
    description: The files C(ansible.builtin.find) found in the unit directory (recursive, depth 2, with checksums).
    type: list
    elements: dict
    required: true
  checksums:
    description: The SHA-1 of each file (unit file and drop-in) as rendered now, by path.
    type: dict
    required: true
  unit_dir:
    description: Where unit files are installed.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Pick the units whose files differ from what is installed
  ansible.builtin.set_fact:
    _found: "{{ _resolved | stagecraft.webapp.systemd_found(find_result.files, checksums, '/etc/systemd/system') }}"
"""

RETURN = r"""
_value:
  description: >-
    C(installed_names), C(installed_dropin_dirs), C(unlisted_dropins) (paths, sorted), C(pending) (resolved units), C(pending_names),
    C(pending_files) (their files, unit files first), C(pending_dropin_dirs) (relative to the unit directory), C(stopping) (names)
    and C(removing) (paths: unit files, then drop-in directories).
  type: dict
"""

from ansible_collections.stagecraft.webapp.plugins.module_utils._unit_specs import found_units


class FilterModule:
    """Filters of stagecraft.webapp."""

    def filters(self):
        return {"systemd_found": found_units}

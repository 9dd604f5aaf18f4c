# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

from __future__ import annotations

DOCUMENTATION = r"""
name: systemd_verify_refusals
short_description: The units systemd-analyze verify refuses, with what it said
version_added: 0.1.0
author: Stagecraft maintainers
description:
  - Reads the results of C(systemd-analyze verify) run on each staged unit. A missing command under one of the
    unit's C(verify_allow_missing) directories is tolerated; with C(strict), any warning pointing at a line of a
    staged file refuses the unit.
positional: units, staging, strict
options:
  _input:
    description: The results of the loop that ran C(systemd-analyze verify), each with a unit's name as C(item).
    type: list
    elements: dict
    required: true
  units:
    description: The resolved units verified (C(systemd_found) C(pending)).
    type: list
    elements: dict
    required: true
  staging:
    description: The staging directory the units were rendered into.
    type: str
    required: true
  strict:
    description: Whether a warning about a line of a staged file refuses the unit (C(systemd_verify_strict)).
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Refuse units that fail verification
  ansible.builtin.assert:
    that: _refused | length == 0
    fail_msg: "systemd-analyze verify refused {{ _refused | join('; ') }}"
  vars:
    _refused: "{{ verify_result.results | stagecraft.webapp.systemd_verify_refusals(found.pending, staging.path, false) }}"
"""

RETURN = r"""
_value:
  description: "One message per refused unit, C(<unit> (rc N): <lines>); empty when none is refused."
  type: list
  elements: str
"""

from ansible_collections.stagecraft.webapp.plugins.module_utils._unit_specs import verify_refusals


class FilterModule:
    """Filters of stagecraft.webapp."""

    def filters(self):
        return {"systemd_verify_refusals": verify_refusals}

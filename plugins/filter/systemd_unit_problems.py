# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

from __future__ import annotations

DOCUMENTATION = r"""
name: systemd_unit_problems
short_description: Check the unit specs of stagecraft.webapp.systemd before they reach a host
version_added: 0.1.0
author: Stagecraft maintainers
description:
  - Checks the C(systemd_units) and C(systemd_hardening_profile) of stagecraft.webapp.systemd and
    returns one message per problem, each naming the unit (C(systemd_units[web.service]), or its
    index when it has no name) and the field. An empty list means the role can render them.
  - "A unit has a name systemd accepts (letters, digits, C(:_.-\\), an optional C(@instance), at
    most 255 characters) ending in C(.service), C(.socket) or C(.timer), listed once; C(hardening),
    C(enabled), C(restart_on_change) and C(present) are booleans; C(state) is one of C(started),
    C(stopped), C(restarted), C(reloaded)."
  - "A present unit has C(sections), each one its kind of unit has (C(Unit), C(Install) and
    C(Service), C(Socket) or C(Timer)); its drop-ins are named C(<name>.conf), listed once, each
    with sections of its own. A directive name is a capital letter, then letters and digits; a
    value is a string, number, boolean, null or a list of those."
  - "C(hardening_overrides) (a mapping of directive to value) and C(read_write_paths) apply to
    services only; C(read_write_paths) and C(verify_allow_missing) are lists of absolute paths,
    and each of C(verify_allow_missing) is a directory other than C(/), ending in C(/)."
positional: hardening_profile
options:
  _input:
    description:
      - The unit specs, as in C(systemd_units).
    type: list
    elements: dict
    required: true
  hardening_profile:
    description:
      - The directives merged into every hardened service, as in C(systemd_hardening_profile).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Refuse unit specs the role cannot render, before anything changes
  ansible.builtin.assert:
    that: _problems | length == 0
    fail_msg: "{{ _problems }}"
    quiet: true
  vars:
    _problems: "{{ systemd_units | stagecraft.webapp.systemd_unit_problems(systemd_hardening_profile) }}"

- name: A timer with a [Service] section
  ansible.builtin.debug:
    msg: "{{ [{'name': 'stamp.timer', 'sections': {'Service': {'ExecStart': '/bin/true'}}}] | stagecraft.webapp.systemd_unit_problems({}) }}"
  # ['systemd_units[stamp.timer].sections.Service: a .timer unit has no such section (allowed: Unit, Timer, Install)']
"""

RETURN = r"""
_value:
  description:
    - One message per problem, in the order of the units, then those of the hardening profile;
      empty when the specs are fine.
  type: list
  elements: string
  sample:
    - 'systemd_units[webdemo.servce].name: must end in .service, .socket or .timer, got "webdemo.servce"'
"""

from ansible_collections.stagecraft.webapp.plugins.module_utils._unit_specs import unit_problems


class FilterModule:
    """Filters of stagecraft.webapp."""

    def filters(self):
        return {"systemd_unit_problems": unit_problems}

# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

from __future__ import annotations

DOCUMENTATION = r"""
name: gunicorn_clash_problems
short_description: A port or socket of stagecraft.webapp.gunicorn that another app on the host already uses
version_added: 0.1.0
author: Stagecraft maintainers
description:
  - Compares where this instance of stagecraft.webapp.gunicorn would listen (its TCP port, or its
    Unix socket) with the records the role wrote for the other apps and environments on the host,
    and returns a message naming the variable and the instances that already use it; an empty
    list when nothing clashes.
positional: records
options:
  _input:
    description:
      - The settings, as for P(stagecraft.webapp.gunicorn_problems#filter).
    type: dict
    required: true
  records:
    description:
      - The other instances' records (C(/etc/stagecraft/<app>-<env>/gunicorn.json), parsed); each
        has C(instance), C(listen) and C(port) or C(socket).
    type: list
    elements: dict
    required: true
"""

EXAMPLES = r"""
- name: Check that the port or socket is not used by another app or environment
  ansible.builtin.assert:
    that: _clashes | length == 0
    fail_msg: "{{ _clashes | join('; ') }}"
    quiet: true
  vars:
    _clashes: "{{ _gunicorn_settings | stagecraft.webapp.gunicorn_clash_problems(other_records) }}"
"""

RETURN = r"""
_value:
  description: One message when the port or socket is taken; empty otherwise.
  type: list
  elements: string
  sample:
    - "gunicorn_port 8000 is already used by flask-prod on this host; choose another one."
"""

from ansible_collections.stagecraft.webapp.plugins.module_utils._gunicorn_settings import clash_problems


class FilterModule:
    """Filters of stagecraft.webapp."""

    def filters(self):
        return {"gunicorn_clash_problems": clash_problems}

# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

from __future__ import annotations

DOCUMENTATION = r"""
name: stack_settings
short_description: The settings of the roles a composition of stagecraft.webapp applies, defaults filled in
version_added: 0.1.0
author: Stagecraft maintainers
description:
  - stagecraft.webapp.stack reads other roles' variables before those roles run (or without them,
    for a status report), when their defaults are not in scope. This takes each value the
    inventory sets and, for each it leaves unset, the default of the role's argument spec
    (C(roles/<role>/meta/argument_specs.yml) of this collection, the role named by the
    variable's prefix).
positional: unset
options:
  _input:
    description: The variables by name; the value is O(unset) where the inventory sets none.
    type: dict
    required: true
  unset:
    description: What stands for a variable that is not set.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: nginx's TLS mode, set or the role's default
  ansible.builtin.debug:
    msg: "{{ {'nginx_tls_mode': lookup('ansible.builtin.vars', 'nginx_tls_mode', default='-')} | stagecraft.webapp.stack_settings('-') }}"
  # {'nginx_tls_mode': 'selfsigned'} when the inventory does not set it
"""

RETURN = r"""
_value:
  description: The variables by name, each with its value.
  type: dict
"""

from pathlib import Path

import yaml

from ansible_collections.stagecraft.webapp.plugins.module_utils._stack_settings import composed_settings

ROLES = Path(__file__).resolve().parents[2] / "roles"


# Parsed once, when the filter files load: that happens in the controller's main process before it
# forks a worker per task and host (see instance_name), and each worker would parse them again.
# Every task that reads a composition's settings reads these (parsing them took a quarter of a
# no-change deploy's controller CPU), and libyaml parses ten times faster than pure Python.
ROLE_OPTIONS = {
    path.parents[1].name: yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))["argument_specs"]["main"]["options"]
    for path in sorted(ROLES.glob("*/meta/argument_specs.yml"))
}


def stack_settings(given, unset):
    """`given` with the unset values from the roles' argument specs."""
    options = {}
    for role in sorted({name.split("_", 1)[0] for name in given}):
        options.update(ROLE_OPTIONS[role])
    return composed_settings(given, unset, options)


class FilterModule:
    """Filters of stagecraft.webapp."""

    def filters(self):
        return {"stack_settings": stack_settings}

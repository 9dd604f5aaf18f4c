# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""What the roles' rule checks (the *_problems filters) share: the name patterns and the way
they read a setting as the role's templates do.

A role's variables arrive as the inventory wrote them ("8000" as well as 8000), so a number is
read as Jinja's `int` and `float` filters read it (what does not parse counts as 0), a flag as
Ansible's `bool` filter, a pattern is matched against the value's text (as Ansible's `match` test
does, but the whole text: "shop\n" is no app name, though `^...$` let it through), and a message
quotes a value as `to_json` would.
"""

from __future__ import annotations

import json
import re

from ansible.module_utils.parsing.convert_bool import boolean

# An app's name becomes part of unit, user and directory names: lowercase, starting with a
# letter, not ending in "-" or "_".
APP_NAME = re.compile(r"[a-z]([a-z0-9_-]*[a-z0-9])?")
# An environment joins the app's name with "-" (<app>-<env>), so it holds no "-" of its own.
ENV_NAME = re.compile(r"[a-z][a-z0-9_]*")


def app_and_env_problems(role, name, env):
    """The messages for `<role>_app_name` and `<role>_app_env` when they cannot name units, users and files."""
    problems = []
    if not matches(APP_NAME, name):
        problems.append('{0}_app_name {1} is not valid: lowercase letters, digits, "_" and "-", starting with a letter'.format(role, quoted(name)))
    if not matches(ENV_NAME, env):
        problems.append('{0}_app_env {1} is not valid: lowercase letters, digits and "_", starting with a letter'.format(role, quoted(env)))
    return problems


def matches(pattern, value):
    """True when `pattern` matches the whole of `value`'s text."""
    return pattern.fullmatch(str(value)) is not None


def as_int(value):
    """`value` read as Jinja's `int` filter reads it: 0 when it is no number."""
    try:
        return int(value)
    except (TypeError, ValueError):
        try:
            return int(float(value))
        except (TypeError, ValueError, OverflowError):
            return 0


def as_float(value):
    """`value` read as Jinja's `float` filter reads it: 0.0 when it is no number."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def as_bool(value):
    """`value` read as Ansible's `bool` filter reads it ("yes", "on", 1, ...)."""
    return boolean(value, strict=False)


def quoted(value):
    """`value` as a message quotes it: JSON, so a string shows its quotes and hidden characters."""
    return json.dumps(value)


def unique(values):
    """`values` without repeats, in their order."""
    seen = []
    for value in values:
        if value not in seen:
            seen.append(value)
    return seen

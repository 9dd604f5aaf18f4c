# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The unit specs of stagecraft.webapp.systemd (systemd_units), checked before they reach a host.

What the role's argument spec cannot say: unit and drop-in names systemd accepts, the sections
each kind of unit has, directive names and the values the unit template can render, paths that
are absolute, and which settings apply to services only. Every problem is reported at once, each
naming the unit (`systemd_units[<name>]`, or its index when it has no name) and the field.
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Mapping

# A unit name as systemd accepts it (unit_name_is_valid): letters, digits, ":_.-" and the
# backslash of systemd-escape's \x2d; an optional "@instance" (empty for a template); the suffix.
UNIT_NAME = re.compile(r"[A-Za-z0-9:_.\\-]+(@[A-Za-z0-9:_.\\-]*)?\.(service|socket|timer)")
UNIT_NAME_MAX = 255
DIRECTIVE = re.compile(r"[A-Z][A-Za-z0-9]*")
DROPIN_NAME = re.compile(r"[A-Za-z0-9:_.@-]+\.conf")
# Sections a unit of each kind may have, in the order they are rendered (the role's
# vars/main.yml keeps the same as _systemd_sections for its template; a unit test holds them equal).
SECTIONS = {
    "service": ["Unit", "Service", "Install"],
    "socket": ["Unit", "Socket", "Install"],
    "timer": ["Unit", "Timer", "Install"],
}
# What a spec leaves out (the role's _systemd_unit_defaults, held equal by the same test).
UNIT_DEFAULTS = {
    "sections": {},
    "hardening": True,
    "hardening_overrides": {},
    "read_write_paths": [],
    "verify_allow_missing": [],
    "dropins": [],
    "enabled": True,
    "state": "started",
    "restart_on_change": True,
    "present": True,
}
FLAGS = ("hardening", "enabled", "restart_on_change", "present")
STATES = ("started", "stopped", "restarted", "reloaded")
PATH_LISTS = ("read_write_paths", "verify_allow_missing")
# The types Ansible's type_debug names for values of these types (and of their tagged copies).
NATIVE_TYPES = (bool, int, float, str, bytes, dict, list, tuple, set, type(None))


def type_name(value):
    """The name of `value`'s type as a person wrote it: "dict", "str", "NoneType", ..."""
    return next((native.__name__ for native in NATIVE_TYPES if isinstance(value, native)), type(value).__name__)


def _is_list(value):
    return isinstance(value, (list, tuple))


def _renderable(value):
    """A value the unit template renders: null, a string, number or boolean, or a list of those."""
    scalar = (str, numbers.Number)
    return value is None or isinstance(value, scalar) or (_is_list(value) and all(isinstance(item, scalar) for item in value))


def directive_problems(where, section):
    """The problems of one section's mapping of directive to value; `where` names it in messages."""
    if not isinstance(section, Mapping):
        return ["{0}: must be a mapping of directive to value, got {1}".format(where, type_name(section))]
    problems = []
    for key, value in section.items():
        if not isinstance(key, str) or not DIRECTIVE.fullmatch(key):
            problems.append("{0}.{1}: not a systemd directive name (a capital letter, then letters and digits)".format(where, key))
        elif not _renderable(value):
            problems.append("{0}.{1}: must be a string, number, boolean, null or a list of those, got {2}".format(where, key, type_name(value)))
    return problems


def _section_problems(where, value, kind):
    if not isinstance(value, Mapping):
        return ["{0}: must be a mapping of section name to directives, got {1}".format(where, type_name(value))]
    problems = []
    for name, section in value.items():
        if name not in SECTIONS[kind]:
            problems.append("{0}.{1}: a .{2} unit has no such section (allowed: {3})".format(where, name, kind, ", ".join(SECTIONS[kind])))
        else:
            problems.extend(directive_problems("{0}.{1}".format(where, name), section))
    return problems


def _named(items, name):
    """How many of `items` are mappings whose name is `name`."""
    return sum(1 for item in items if isinstance(item, Mapping) and item.get("name") == name)


def _dropin_problems(label, dropins, kind):
    if not _is_list(dropins):
        return ["{0}.dropins: must be a list of {{name, sections}}".format(label)]
    problems = []
    for index, dropin in enumerate(dropins):
        name = dropin.get("name", "") if isinstance(dropin, Mapping) else dropin
        where = "{0}.dropins[{1}]".format(label, name)
        if not isinstance(dropin, Mapping) or not isinstance(name, str) or not DROPIN_NAME.fullmatch(name):
            problems.append('{0}.dropins[{1}].name: a file name ending in .conf (letters, digits, ":_.@-"), got "{2}"'.format(label, index, name))
        elif _named(dropins, name) > 1:
            problems.append("{0}: the same drop-in appears more than once".format(where))
        elif not dropin.get("sections"):
            problems.append("{0}.sections: required (at least one section)".format(where))
        else:
            problems.extend(_section_problems(where + ".sections", dropin["sections"], kind))
    return problems


def _path_problems(label, unit):
    problems = []
    for field in PATH_LISTS:
        if not _is_list(unit[field]):
            problems.append("{0}.{1}: must be a list of absolute paths".format(label, field))
        else:
            problems.extend('{0}.{1}: "{2}" is not an absolute path'.format(label, field, path)
                            for path in unit[field] if not isinstance(path, str) or not path.startswith("/"))
    if _is_list(unit["verify_allow_missing"]):
        # A directory prefix: without the final "/", "/opt/app" would also allow "/opt/application".
        problems.extend('{0}.verify_allow_missing: "{1}" must be a directory other than / and end in "/"'.format(label, path)
                        for path in unit["verify_allow_missing"] if isinstance(path, str) and (path == "/" or not path.endswith("/")))
    return problems


def _spec_problems(label, spec, specs):
    """The problems of one spec that has a name (a string)."""
    unit = dict(UNIT_DEFAULTS, **spec)
    name = unit["name"]
    kind = name.split(".")[-1]
    problems = []
    if kind not in SECTIONS:
        problems.append('{0}.name: must end in .service, .socket or .timer, got "{1}"'.format(label, name))
    elif not UNIT_NAME.fullmatch(name) or len(name) > UNIT_NAME_MAX:
        problems.append('{0}.name: "{1}" is not a valid systemd unit name (letters, digits, ":_.-\\", an optional "@instance",'
                        ' at most 255 characters)'.format(label, name))
    if _named(specs, name) > 1:
        problems.append("{0}.name: the same unit appears more than once in systemd_units".format(label))
    problems.extend("{0}.{1}: must be true or false, got {2}".format(label, field, unit[field]) for field in FLAGS if not isinstance(unit[field], bool))
    if unit["state"] not in STATES:
        problems.append('{0}.state: must be one of {1}, got "{2}"'.format(label, ", ".join(STATES), unit["state"]))
    if kind in SECTIONS and unit["present"] is True:
        if not spec.get("sections"):
            problems.append("{0}.sections: required when the unit is present (at least one section, e.g. {1})".format(label, SECTIONS[kind][1]))
        else:
            problems.extend(_section_problems(label + ".sections", unit["sections"], kind))
        problems.extend(_dropin_problems(label, unit["dropins"], kind))
    if kind != "service" and (unit["hardening_overrides"] or unit["read_write_paths"]):
        problems.append("{0}: hardening_overrides and read_write_paths apply to .service units only".format(label))
    if isinstance(unit["hardening_overrides"], Mapping):
        problems.extend(directive_problems(label + ".hardening_overrides", unit["hardening_overrides"]))
    else:
        problems.append("{0}.hardening_overrides: must be a mapping of directive to value (null removes one), got {1}".format(
            label, type_name(unit["hardening_overrides"])))
    return problems + _path_problems(label, unit)


def unit_problems(units, hardening_profile):
    """One message per problem of `units` (systemd_units) and `hardening_profile`
    (systemd_hardening_profile), in the order of the units; empty when they are fine."""
    problems = []
    if not _is_list(units):
        problems.append("systemd_units: must be a list of unit specs, got {0}".format(type_name(units)))
    else:
        for index, spec in enumerate(units):
            label = "systemd_units[{0}]".format(spec.get("name", index) if isinstance(spec, Mapping) else index)
            if not isinstance(spec, Mapping) or not isinstance(spec.get("name"), str):
                problems.append("{0}.name: every unit spec needs a name (a string)".format(label))
            else:
                problems.extend(_spec_problems(label, spec, units))
    if isinstance(hardening_profile, Mapping):
        problems.extend(directive_problems("systemd_hardening_profile", hardening_profile))
    else:
        problems.append("systemd_hardening_profile: must be a mapping of directive to value")
    return problems

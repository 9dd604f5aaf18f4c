# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The unit specs of stagecraft.webapp.systemd (systemd_units), checked before they reach a host,
and what the role derives from them and from what it finds on the host.

What the role's argument spec cannot say: unit and drop-in names systemd accepts, the sections
each kind of unit has, directive names and the values the unit template can render, paths that
are absolute, and which settings apply to services only. Every problem is reported at once, each
naming the unit (`systemd_units[<name>]`, or its index when it has no name) and the field.

The role's tasks then carry out what is derived here: `resolve_units` fills each spec in and
lists the files it renders, `found_units` compares them with what a find on the host returned,
`verify_refusals` reads systemd-analyze verify's findings, and `service_plan` says which units to
compare, hand a socket's port over to, start, stop or restart.
"""

from __future__ import annotations

import numbers
import posixpath
import re
from collections.abc import Mapping

from ansible_collections.stagecraft.webapp.plugins.module_utils._files import checksum

# A unit name as systemd accepts it (unit_name_is_valid): letters, digits, ":_.-" and the
# backslash of systemd-escape's \x2d; an optional "@instance" (empty for a template); the suffix.
UNIT_NAME = re.compile(r"[A-Za-z0-9:_.\\-]+(@[A-Za-z0-9:_.\\-]*)?\.(service|socket|timer)")
UNIT_NAME_MAX = 255
DIRECTIVE = re.compile(r"[A-Z][A-Za-z0-9]*")
DROPIN_NAME = re.compile(r"[A-Za-z0-9:_.@-]+\.conf")
# Sections a unit of each kind may have, in the order they are rendered (resolve_units hands each
# unit's to the role's template).
SECTIONS = {
    "service": ["Unit", "Service", "Install"],
    "socket": ["Unit", "Socket", "Install"],
    "timer": ["Unit", "Timer", "Install"],
}
# What a spec leaves out.
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


# Start order: sockets before the services they activate, timers last (they may fire at once).
START_ORDER = {"socket": 1, "service": 2, "timer": 3}
# A file this role renders is root's, mode 0644; a drop-in directory 0755.
FILE_MODE = "0644"
DROPIN_DIR_MODE = "0755"
ROOT_OWNED = {"owner": "root", "group": "root"}
ACTIVE_STATES = ("started", "restarted", "reloaded")


def _service_sections(unit, sections, hardening_profile):
    """The [Service] section with the hardening profile under it and the overrides and read_write_paths over it."""
    service = dict(hardening_profile if unit["hardening"] else {})
    service.update(sections.get("Service") or {})
    service.update(unit["hardening_overrides"])
    if unit["read_write_paths"]:
        listed = service.get("ReadWritePaths") or []
        service["ReadWritePaths"] = ([listed] if isinstance(listed, str) else list(listed)) + list(unit["read_write_paths"])
    return dict(sections, Service=service)


def _directive_lines(directive, value):
    """One "Directive=value" line per value (a list repeats the directive); booleans as systemd's yes and no."""
    values = value if _is_list(value) else [value]
    return ["{0}={1}".format(directive, ("yes" if each else "no") if isinstance(each, bool) else each) for each in values]


def unit_content(header, section_order, sections):
    """The text of a unit file or drop-in: the `header` (its lines, ending in a newline), then each of `sections` in
    `section_order` after a blank line, its directives whose value is not None in their order."""
    lines = []
    for section in section_order:
        if section in sections:
            lines += ["", "[{0}]".format(section)]
            for directive, value in sections[section].items():
                if value is not None:
                    lines += _directive_lines(directive, value)
    return header + "".join(line + "\n" for line in lines)


def resolve_units(units, hardening_profile, unit_dir, header):
    """Each spec of `units` (systemd_units, checked by unit_problems) resolved into what the role renders and runs.

    Returns {"units": [...], "dropin_dirs": [...], "dropin_files": [...]}. Each unit has `name`, `kind`, `order`
    (START_ORDER), `template` (an "@." unit), `present`, `enabled` (None when the unit cannot be enabled: a template,
    or no [Install] in it or its drop-ins), `state` (None for a template), `restart_on_change`,
    `verify_allow_missing`, `section_order` (SECTIONS of its kind), `sections` (with the hardening merged into a
    service's), `dropins` (none when absent) and `files`: its unit file and each drop-in (`path`, `relative` to the
    unit directory, `unit`, `sections`, `content` with the `header` first (unit_content) and its sha1 `checksum`).
    `files` are the files of the present units, `dropin_dirs` the drop-in directories of all these units,
    `dropin_files` the drop-ins they should hold.
    """
    resolved = []
    for spec in units:
        unit = dict(UNIT_DEFAULTS, **spec)
        name = unit["name"]
        kind = name.split(".")[-1]
        sections = unit["sections"] or {}
        if kind == "service":
            sections = _service_sections(unit, sections, hardening_profile)
        template = re.match(r"^[^@]+@\.", name) is not None
        installable = "Install" in sections or any("Install" in (dropin.get("sections") or {}) for dropin in unit["dropins"])
        dropins = unit["dropins"] if unit["present"] else []
        relatives = [(name, sections)] + [("{0}.d/{1}".format(name, dropin["name"]), dropin["sections"]) for dropin in dropins]
        files = []
        for relative, file_sections in relatives:
            content = unit_content(header, SECTIONS[kind], file_sections)
            files.append({"path": "{0}/{1}".format(unit_dir, relative), "relative": relative, "unit": name, "sections": file_sections,
                          "content": content, "checksum": checksum(content)})
        resolved.append({
            "name": name,
            "kind": kind,
            "order": START_ORDER[kind],
            "template": template,
            "present": unit["present"],
            "enabled": unit["enabled"] if installable and not template else None,
            "state": None if template else unit["state"],
            "restart_on_change": unit["restart_on_change"],
            "verify_allow_missing": unit["verify_allow_missing"],
            "section_order": SECTIONS[kind],
            "sections": sections,
            "dropins": dropins,
            "files": files,
        })
    return {
        "units": resolved,
        "files": [file for unit in resolved if unit["present"] for file in unit["files"]],
        "dropin_dirs": ["{0}/{1}.d".format(unit_dir, spec["name"]) for spec in units],
        "dropin_files": ["{0}/{1}.d/{2}".format(unit_dir, spec["name"], dropin["name"])
                         for spec in units if spec.get("present", True) for dropin in spec.get("dropins", [])],
    }


def checked_units(units, hardening_profile, unit_dir, header):
    """resolve_units() of `units` with their unit_problems() as "problems"; with problems, nothing resolved (empty
    lists): a spec the role cannot render cannot be resolved either. One pass over the specs, so that the role
    templates them once."""
    problems = unit_problems(units, hardening_profile)
    if problems:
        return {"problems": problems, "units": [], "files": [], "dropin_dirs": [], "dropin_files": []}
    return dict(resolve_units(units, hardening_profile, unit_dir, header), problems=[])


def _below(directory, paths):
    """The paths directly inside `directory`."""
    return [path for path in paths if posixpath.dirname(path) == directory]


def found_units(resolved, found, unit_dir):
    """What is installed of the `resolved` units (resolve_units), from what a recursive find of `unit_dir` found
    (`found`: its files, with checksums), against the checksums of the files as they should be.

    Returns {"installed_names": the units with an installed file, "installed_dropin_dirs": the units with a drop-in
    directory, "unlisted_dropins": drop-ins in these units' directories that their specs do not list, "pending": the
    present units to render, verify and install (a file missing, or with other content, mode or owner; a drop-in
    directory missing or with another mode), "pending_names": their names, "pending_files": their files (`files` of
    resolve_units), unit files first, "pending_dropin_dirs": their drop-in directories relative to `unit_dir`,
    "stopping": the absent units installed that are not templates, "writes": the entries of stagecraft.webapp.files
    that remove the installed unit files and then the drop-in directories of the absent units, create the pending
    drop-in directories and write the pending files, "changes": whether any of that or a drop-in left in these units'
    directories leaves the install tasks something to do (false on most runs: they are skipped then)}.
    """
    by_path = {item["path"]: item for item in found}
    files = [item["path"] for item in found if item.get("isreg")]
    directories = [item["path"] for item in found if item.get("isdir")]
    pending = []
    for unit in resolved["units"]:
        if not unit["present"]:
            continue
        directory = by_path.get(unit["files"][0]["path"] + ".d", {})
        differs = bool(unit["dropins"]) and directory.get("mode", "") != DROPIN_DIR_MODE
        for wanted in unit["files"]:
            seen = by_path.get(wanted["path"], {})
            if (not seen.get("isreg") or seen.get("checksum") != wanted["checksum"] or seen.get("mode") != FILE_MODE
                    or seen.get("uid") != 0 or seen.get("gid") != 0):
                differs = True
        if differs:
            pending.append(unit)
    installed_names = [posixpath.basename(path) for path in _below(unit_dir, files)]
    installed_dropin_dirs = [posixpath.basename(path)[:-len(".d")] for path in _below(unit_dir, directories) if path.endswith(".d")]
    absent = [unit for unit in resolved["units"] if not unit["present"]]
    pending_files = [unit["files"][0] for unit in pending] + [dropin for unit in pending for dropin in unit["files"][1:]]
    writes = ([{"path": "{0}/{1}".format(unit_dir, unit["name"]), "state": "absent"} for unit in absent if unit["name"] in installed_names]
              + [{"path": "{0}/{1}.d".format(unit_dir, unit["name"]), "state": "absent"} for unit in absent if unit["name"] in installed_dropin_dirs]
              + [dict(ROOT_OWNED, path="{0}/{1}.d".format(unit_dir, unit["name"]), state="directory", mode=DROPIN_DIR_MODE)
                 for unit in pending if unit["dropins"]]
              + [dict(ROOT_OWNED, path=file["path"], state="file", content=file["content"], mode=FILE_MODE) for file in pending_files])
    unlisted = unlisted_dropins(resolved, files)
    return {
        "installed_names": installed_names,
        "installed_dropin_dirs": installed_dropin_dirs,
        "unlisted_dropins": unlisted,
        "pending": pending,
        "pending_names": [unit["name"] for unit in pending],
        "pending_files": pending_files,
        "pending_dropin_dirs": [unit["name"] + ".d" for unit in pending if unit["dropins"]],
        "stopping": [unit["name"] for unit in absent if not unit["template"] and unit["name"] in installed_names],
        "writes": writes,
        "changes": bool(writes or unlisted),
    }


def unlisted_dropins(resolved, paths):
    """The `paths` directly inside the drop-in directories of the `resolved` units that their specs do not list, sorted."""
    return sorted(path for path in paths if posixpath.dirname(path) in resolved["dropin_dirs"] and path not in resolved["dropin_files"])


def stale_dropins(resolved, managed):
    """The managed drop-ins (`managed`: what a find of files with the role's marker returned) directly inside the
    drop-in directories of the `resolved` units that their specs no longer list, sorted: to be removed."""
    return unlisted_dropins(resolved, sorted({item["path"] for item in managed}))


def changed_units(registered):
    """The units, sorted and once each, whose files (unit files, drop-in directories, drop-ins) the install tasks
    changed, from what they `registered`: stagecraft.webapp.files' changed_paths, or a loop's results whose items are
    paths."""
    paths = []
    for task in registered:
        paths += task.get("changed_paths", [])
        paths += [result["item"] for result in task.get("results", []) if result.get("changed")]
    # A drop-in lies in "<unit>.d/"; a unit file or drop-in directory is named after its unit.
    named = [posixpath.dirname(path) if posixpath.dirname(path).endswith(".d") else path for path in paths]
    return sorted({re.sub(r"\.d$", "", posixpath.basename(path)) for path in named})


def verify_refusals(results, units, staging, strict=False):
    """The units `systemd-analyze verify` refuses, one message each, from the loop's `results` (each with the name of
    one of the resolved `units` as `item`) on files staged in `staging`.

    Tolerated is exactly one finding: "<unit>: Command <path> is not executable: No such file or directory" for a
    step). A non-zero exit with nothing but tolerated lines passes; with `strict`, any warning pointing at a line of
    a staged file ("file:line: ...") refuses the unit too.
    """
    located = re.compile(re.escape(staging) + r"/\S+:\d+: ")
    by_name = {unit["name"]: unit for unit in units}
    refused = []
    for result in results:
        unit = by_name[result["item"]]
        # systemd-analyze names a template by an instance it makes up ("app@i.service").
        name = re.escape(unit["name"].split("@")[0]) + r"@[^ :]*\." + unit["kind"] if unit["template"] else re.escape(unit["name"])
        allowed = "|".join(re.escape(path) for path in unit["verify_allow_missing"]) or "(?!)"
        missing_ok = re.compile("^" + name + ": Command (" + allowed + r")\S+ is not executable: No such file or directory$")
        lines = [line for line in result.get("stdout_lines", []) + result.get("stderr_lines", []) if line]
        kept = [line for line in lines if not missing_ok.match(line)]
        if (result["rc"] != 0 and (kept or not lines)) or (strict and any(located.match(line) for line in kept)):
            refused.append("{0} (rc {1}): {2}".format(unit["name"], result["rc"], " | ".join(kept) or "no output"))
    return refused


def _activated_service(socket):
    """The service a socket unit starts: its Service=, else the service of the socket's own name."""
    return (socket["sections"].get("Socket") or {}).get("Service", re.sub(r"\.socket$", ".service", socket["name"]))


def service_plan(units, changed):
    """What the service tasks do with the resolved `units` (resolve_units' "units") after the install tasks changed
    the units named in `changed` (systemd_changed_units).

    Returns {"settled": the units to be started or stopped whose files did not change (enough to compare their
    state, one read), "settled_services": those as the drift module's services, "socket_handovers": the socket units
    installed or changed in this run that should listen, each with the service it starts (Service= or the socket's
    own name), "handover_units": those sockets and then their services (whose states handover_stops reads), "run":
    the present units that are not templates, in start order, each with the `state` to ask for (restarted when its
    files changed, it should run and restart_on_change)}.
    """
    running = [unit for unit in units if unit["present"] and not unit["template"]]
    settled = [unit for unit in running if unit["state"] in ("started", "stopped") and unit["name"] not in changed]
    sockets = [unit for unit in units if unit["present"] and unit["kind"] == "socket" and unit["name"] in changed and unit["state"] in ACTIVE_STATES]
    run = []
    for unit in sorted(running, key=lambda unit: unit["order"]):
        restart = unit["restart_on_change"] and unit["state"] in ("started", "reloaded") and unit["name"] in changed
        run.append(dict(unit, state="restarted" if restart else unit["state"]))
    handovers = [{"socket": unit["name"], "service": _activated_service(unit)} for unit in sockets]
    return {
        "settled": settled,
        "settled_services": [{"name": unit["name"], "enabled": unit["enabled"], "active": unit["state"] == "started"} for unit in settled],
        "socket_handovers": handovers,
        "handover_units": [each["socket"] for each in handovers] + [each["service"] for each in handovers],
        "run": run,
    }


def handover_stops(handovers, states):
    """The `handovers` (service_plan's socket_handovers) whose service runs while its socket does not: that service
    holds the socket's port and must stop first. `states` are the lines of `systemctl is-active` on the plan's
    handover_units (one per unit, sockets first); without a line for each unit (the read did not run), none."""
    if len(states) != 2 * len(handovers):
        return []
    sockets, services = states[:len(handovers)], states[len(handovers):]
    return [each for each, socket, service in zip(handovers, sockets, services) if socket != "active" and service == "active"]

# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The decisions of the stagecraft.webapp.files action, on the controller, without a host.

A role declares each file's wanted state once (path, state, template or content, owner, group,
mode, validate, secret). The action renders what it must, asks the host in one call which entries
differ (the drift module, with the checksum of each rendered content), and writes only those
through ansible-core's copy and file. These functions say what is asked, what is written and what
is shown; the action plugin only carries them out.
"""

from __future__ import annotations

import hashlib
import json
import os

from ansible_collections.stagecraft.webapp.plugins.module_utils._drift import PATH_STATES, mode_bits
from ansible_collections.stagecraft.webapp.plugins.module_utils._errors import DeployError

CENSORED = "CENSORED: a secret entry of stagecraft.webapp.files"


def json_content(value):
    """A JSON file's content as the roles write it (Ansible's to_nice_json(sort_keys=true) and a newline)."""
    return json.dumps(value, indent=4, sort_keys=True, separators=(",", ": ")) + "\n"


def module_utils_source(name):
    """The text of one of this collection's module_utils files, for a program or library installed on hosts as it is."""
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), name), encoding="utf-8") as source:
        return source.read()


def entry_problems(entries):
    """One message per entry that cannot be carried out, naming its path (never a content)."""
    problems = []
    seen = set()
    for number, entry in enumerate(entries, start=1):
        path, state = entry.get("path"), entry.get("state") or "file"
        named = "entry {0} ({1})".format(number, path)
        if not path or not str(path).startswith("/"):
            problems.append("{0}: path must be an absolute path".format(named))
        if path in seen:
            problems.append("{0}: the path is given twice".format(named))
        seen.add(path)
        if state not in PATH_STATES:
            problems.append("{0}: state {1!r} is not one of {2}".format(named, state, ", ".join(PATH_STATES)))
        sources = [key for key in ("template", "content") if entry.get(key) is not None]
        if state == "file" and len(sources) != 1:
            problems.append("{0}: a file needs exactly one of template and content".format(named))
        if state != "file" and sources:
            problems.append("{0}: state {1} takes no {2}".format(named, state, " nor ".join(sources)))
        if state != "file" and entry.get("validate"):
            problems.append("{0}: validate is for files".format(named))
        if entry.get("mode") is not None:
            try:
                mode_bits(entry["mode"])
            except DeployError as error:
                problems.append("{0}: {1}".format(named, error))
    return problems


def checksum(content):
    """The SHA-1 of `content` as copy writes it (UTF-8)."""
    return hashlib.sha1(content.encode("utf-8")).hexdigest()


def drift_paths(entries, contents):
    """The `paths` argument of the drift module: each entry's wanted state, a file's with the checksum of
    its content (`contents`: {path: text} of the entries of state file)."""
    wanted = []
    for entry in entries:
        state = entry.get("state") or "file"
        item = {"path": entry["path"], "state": state}
        if state != "absent":
            item.update({key: entry.get(key) for key in ("owner", "group", "mode")})
        if state == "file":
            item["checksum"] = checksum(contents[entry["path"]])
        wanted.append(item)
    return wanted


def entries_to_write(entries, differ_paths):
    """The entries the host does not hold as wanted, in the order given (parents before what they hold)."""
    differ = set(differ_paths)
    return [entry for entry in entries if entry["path"] in differ]


def write_step(entry, content=None):
    """What to run for `entry`: ("copy", arguments of ansible.legacy.copy) for a file, else ("file", arguments of
    ansible.legacy.file)."""
    state = entry.get("state") or "file"
    if state == "absent":
        return "file", {"path": entry["path"], "state": "absent"}
    owned = {key: entry[key] for key in ("owner", "group", "mode") if entry.get(key) is not None}
    if state == "directory":
        return "file", dict(owned, path=entry["path"], state="directory")
    arguments = dict(owned, dest=entry["path"], content=content)
    if entry.get("validate"):
        arguments["validate"] = entry["validate"]
    return "copy", arguments


def shown(entry, result):
    """What the action reports of one write: changed, failed, msg and the diff; for a secret entry no diff and a
    message that cannot carry the content (a validate command's output may quote it)."""
    report = {"path": entry["path"], "changed": bool(result.get("changed")), "failed": bool(result.get("failed"))}
    if entry.get("secret"):
        if report["failed"]:
            report["msg"] = "writing {0} failed; its output is hidden, as the entry is secret".format(entry["path"])
        return report
    if result.get("msg") and report["failed"]:
        report["msg"] = result["msg"]
    diffs = result.get("diff") or []
    report["diff"] = diffs if isinstance(diffs, list) else [diffs]
    return report


def outcome(reports):
    """The action's result from the reports of the writes (`shown`), in order."""
    failed = [report for report in reports if report["failed"]]
    result = {
        "changed": any(report["changed"] for report in reports),
        "changed_paths": [report["path"] for report in reports if report["changed"]],
        "diff": [diff for report in reports for diff in report.get("diff", []) if diff],
        "files": reports,
    }
    if failed:
        result["failed"] = True
        result["msg"] = "; ".join(report.get("msg") or "writing {0} failed".format(report["path"]) for report in failed)
    return result

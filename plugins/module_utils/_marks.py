# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Rollback marks: the commits a rollback took out of service, so that the next routine deploy of
the branch does not put them straight back.

A rollback (asked for, or automatic after a failed health check behind the switch) marks the commit
it left in `<path>/rolled-back.json`, with when, by whom and how. A deploy that would put a marked
commit back is refused, unless it is asked for on purpose (deploy_allow_rolled_back); such a deploy
removes the mark. A newer commit deploys as always; the old commit's mark stays.
"""

from __future__ import annotations

import json
import os
import tempfile

from ansible_collections.stagecraft.webapp.plugins.module_utils._errors import DeployError

MARKS_FILE = "rolled-back.json"
MODE = 0o640
OVERRIDE = "-e deploy_allow_rolled_back=true"


def marks_path(base):
    return os.path.join(base, MARKS_FILE)


def read_marks(base):
    """{commit: mark} of one environment; {} when nothing was rolled back."""
    try:
        with open(marks_path(base)) as handle:
            marks = json.load(handle)
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise DeployError("cannot read the rollback marks {0}: {1}".format(marks_path(base), exc), details={"path": marks_path(base)})
    return marks if isinstance(marks, dict) else {}


def make_mark(commit, release_id, when, who, job_id=None, automatic=False):
    """One mark; `when` is an aware datetime."""
    return {"commit": commit, "release_id": release_id, "rolled_back": when.strftime("%Y-%m-%dT%H:%M:%SZ"), "by": who or "unknown",
            "job_id": job_id, "automatic": bool(automatic)}


def _write(base, marks):
    descriptor, temporary = tempfile.mkstemp(prefix=".rolled-back-", dir=base)
    try:
        os.fchmod(descriptor, MODE)
        with os.fdopen(descriptor, "w") as handle:
            json.dump(marks, handle, sort_keys=True, indent=1)
            handle.write("\n")
        os.replace(temporary, marks_path(base))
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def add_mark(base, mark):
    """Mark a commit (the newest rollback of it is the one kept)."""
    _write(base, dict(read_marks(base), **{mark["commit"]: mark}))


def remove_mark(base, commit):
    """Forget a commit's mark (it was put back on purpose); True when there was one."""
    marks = read_marks(base)
    if commit not in marks:
        return False
    del marks[commit]
    _write(base, marks)
    return True


def describe(mark):
    """When, by whom and how a commit was rolled back, as a sentence part."""
    job = " (job {0})".format(mark["job_id"]) if mark.get("job_id") else ""
    how = " automatically, its health check having failed after the switch," if mark.get("automatic") else ""
    return "was rolled back{0} on {1} by {2}{3}".format(how, mark.get("rolled_back", "?"), mark.get("by", "unknown"), job)


def rolled_back_problem(marks, commit, serving_commit, allow=False):
    """Why deploying `commit` is refused (it would put a rolled-back commit back), or None.

    The commit that serves now is never refused (deploying it puts nothing back), nor one asked for on purpose.
    """
    mark = marks.get(commit) if commit else None
    if allow or not mark or commit == serving_commit:
        return None
    return ("commit {0} {1}; deploying it would put it back into service. Deploy a newer commit, or put this one back on purpose "
            "with {2}".format(commit[:12], describe(mark), OVERRIDE))

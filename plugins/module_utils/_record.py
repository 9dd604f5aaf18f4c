# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The deploy record: one JSON line per deploy in a file a person (or a status view) can read."""

from __future__ import annotations

import datetime
import json
import os

from ansible_collections.stagecraft.webapp.plugins.module_utils._errors import DeployError

FIELDS = ("who", "ref", "commit", "previous_commit", "release_id", "started", "duration", "outcome", "job_id")
OUTCOMES = ("success", "unchanged", "failed", "rolled_back", "interrupted")
MODE = 0o640
READ_BLOCK = 8192


def make_entry(who, ref, commit, previous_commit, release_id, started, finished, outcome, job_id=None):
    """One record entry; `started` and `finished` are aware datetimes, duration is in seconds."""
    if outcome not in OUTCOMES:
        raise DeployError("outcome must be one of {0}, not {1!r}".format(", ".join(OUTCOMES), outcome))
    if started.tzinfo is None or finished.tzinfo is None:
        raise DeployError("started and finished must carry a time zone")
    return {
        "who": who,
        "ref": ref,
        "commit": commit,
        "previous_commit": previous_commit,
        "release_id": release_id,
        "started": started.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "duration": round((finished - started).total_seconds(), 3),
        "outcome": outcome,
        "job_id": job_id,
    }


def append(path, entry, fields=FIELDS):
    """Append the entry as one line with a single O_APPEND write (concurrent appends never interleave)."""
    missing = [field for field in fields if field not in entry]
    if missing:
        raise DeployError("record entry lacks {0}".format(", ".join(missing)), details={"entry": entry})
    line = (json.dumps(entry, sort_keys=True, separators=(",", ":")) + "\n").encode()
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, MODE)
    try:
        os.fchmod(descriptor, MODE)
        written = os.write(descriptor, line)
        if written != len(line):
            raise DeployError("short write to the deploy record {0} ({1} of {2} bytes)".format(path, written, len(line)))
    finally:
        os.close(descriptor)


def read_last(path, count=10):
    """The last `count` entries, oldest first, reading the file from its end; unreadable lines are skipped."""
    if count < 1 or not os.path.exists(path):
        return []
    entries = []
    for line in last_lines(path, count):
        try:
            entry = json.loads(line.decode("utf-8"))
        except ValueError:
            continue
        if isinstance(entry, dict):
            entries.append(entry)
    return entries[-count:]


def last_lines(path, count):
    """The last `count` lines of a file (bytes), oldest first, read from its end."""
    with open(path, "rb") as handle:
        handle.seek(0, os.SEEK_END)
        position = handle.tell()
        data = b""
        while position > 0 and data.count(b"\n") <= count:
            step = min(READ_BLOCK, position)
            position -= step
            handle.seek(position)
            data = handle.read(step) + data
    lines = data.splitlines()
    if position > 0:
        lines = lines[1:]  # the first line may be cut
    return lines[-count:]

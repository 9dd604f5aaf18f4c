# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""A deploy lock per app and environment: a file made with O_CREAT|O_EXCL that says who holds it.

The lock outlives the process that took it (a deploy spans many tasks), so its holder is named by a
`holder_id` the caller keeps for the run (the release id, or the id `acquire` generates), not a pid.
"""

from __future__ import annotations

import datetime
import json
import os
import socket
import uuid

from ansible_collections.stagecraft.webapp.plugins.module_utils._errors import DeployError


def _now(now):
    return (now or datetime.datetime.now(datetime.timezone.utc)).astimezone(datetime.timezone.utc)


def _parse_time(text):
    try:
        return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
    except (TypeError, ValueError):
        return None


def read_lock(path):
    """The holder's details as a dict, {} for a lock file without readable content, None when unlocked."""
    try:
        with open(path) as handle:
            text = handle.read()
    except FileNotFoundError:
        return None
    try:
        holder = json.loads(text)
    except ValueError:
        return {}
    return holder if isinstance(holder, dict) else {}


def lock_age(path, now=None):
    """Seconds since the lock was taken (its recorded time, else the file's mtime), or None when unlocked."""
    holder = read_lock(path)
    if holder is None:
        return None
    taken = _parse_time(holder.get("time"))
    if taken is None:
        try:
            taken = datetime.datetime.fromtimestamp(os.stat(path).st_mtime, tz=datetime.timezone.utc)
        except FileNotFoundError:
            return None
    return max(0.0, (_now(now) - taken).total_seconds())


def describe(holder):
    if not holder:
        return "an unknown holder (the lock file has no readable content)"
    return "{0} on {1} (pid {2}, since {3}, job {4}, holder id {5})".format(
        holder.get("owner"), holder.get("host"), holder.get("pid"), holder.get("time"), holder.get("job_id") or "none", holder.get("holder_id"))


def acquire(path, owner, holder_id=None, job_id=None, now=None):
    """Take the lock; returns (changed, holder). The same holder_id again is not a change; anyone else fails."""
    holder = {
        "owner": owner,
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "time": _now(now).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "job_id": job_id,
        "holder_id": holder_id or uuid.uuid4().hex,
    }
    data = (json.dumps(holder, sort_keys=True) + "\n").encode()
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
    except FileExistsError:
        current = read_lock(path)
        if current and holder_id and current.get("holder_id") == holder_id:
            return False, current
        raise DeployError("deploy lock {0} is held by {1}; wait for that deploy, or break the lock if it is stale".format(path, describe(current)),
                          details={"lock": path, "holder": current})
    try:
        os.write(descriptor, data)
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    return True, holder


def release(path, holder_id):
    """Give the lock back; only its holder may. Returns changed (False when it was not locked)."""
    current = read_lock(path)
    if current is None:
        return False
    if current.get("holder_id") != holder_id:
        raise DeployError("deploy lock {0} is held by {1}, not by {2}; not releasing it".format(path, describe(current), holder_id),
                          details={"lock": path, "holder": current})
    os.unlink(path)
    return True


def break_lock(path, older_than=None, now=None):
    """Remove a stale lock on purpose, optionally only when older than `older_than` seconds; returns (changed, holder)."""
    holder = read_lock(path)
    if holder is None:
        return False, None
    age = lock_age(path, now)
    if older_than is not None and age is not None and age < older_than:
        raise DeployError("deploy lock {0} is {1:.0f} s old, younger than {2} s; held by {3}".format(path, age, older_than, describe(holder)),
                          details={"lock": path, "holder": holder, "age": age})
    try:
        os.unlink(path)
    except FileNotFoundError:
        return False, holder
    return True, holder

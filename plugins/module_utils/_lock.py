# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""A deploy lock per app and environment: a file made with O_CREAT|O_EXCL that says who holds it.

The lock may outlive the process that took it (a deploy spans many tasks), so its holder is named by a
`holder_id` the caller keeps for the run (the release id, or the id `acquire` generates). While a
process holds it (the deploy module during its run), the lock also names that process exactly: pid,
its start time (field 22 of /proc/<pid>/stat, so a reused pid is no match) and the kernel's boot id.
A lock whose process is gone is taken over by the next `acquire`, which says so (`took_over`).
Between the tasks of a run no process holds it (pid null): then only a person can tell it is stale.
"""

from __future__ import annotations

import datetime
import fcntl
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


def process_start(pid, proc="/proc"):
    """The start time of process `pid` in clock ticks since boot (field 22 of its stat file), None when it does not run."""
    try:
        with open(os.path.join(proc, str(pid), "stat")) as handle:
            stat = handle.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # Field 2, the command name, is in parentheses and may hold spaces: count the fields after its end.
    return int(stat.rsplit(")", 1)[1].split()[19])


def boot_id(proc="/proc"):
    with open(os.path.join(proc, "sys", "kernel", "random", "boot_id")) as handle:
        return handle.read().strip()


def process_fields(process=True):
    """The lock's fields that name its holder process: this one, or none (held between tasks)."""
    if not process:
        return {"pid": None, "pid_start": None, "boot_id": None}
    return {"pid": os.getpid(), "pid_start": process_start(os.getpid()), "boot_id": boot_id()}


def holder_gone(holder, proc="/proc"):
    """Why the lock's holder process is certainly gone; "" when it may run (or nobody can tell)."""
    if not holder or holder.get("host") != socket.gethostname() or not holder.get("pid"):
        return ""
    if holder.get("boot_id") and holder["boot_id"] != boot_id(proc):
        return "the host has restarted since"
    start = process_start(holder["pid"], proc)
    if start is None:
        return "its process {0} no longer runs".format(holder["pid"])
    if holder.get("pid_start") is not None and start != holder["pid_start"]:
        return "its pid {0} now belongs to another process".format(holder["pid"])
    return ""


def _why_held(holder):
    """What a refused deploy should do about a holder that is not known to be gone."""
    if holder and holder.get("pid") and holder.get("host") == socket.gethostname():
        return "that process still runs: wait for that deploy to finish"
    if not holder:
        why = "nothing in it names a process"
    elif holder.get("pid"):
        why = "its process runs on {0}, not on this host".format(holder.get("host"))
    else:
        why = "no process holds it between the tasks of a run"
    return "{0}, so nobody can tell whether that deploy still runs; if it is gone, break the lock (-e deploy_lock_break=true)".format(why)


def refusal(path, holder):
    """The error for a lock held by someone else who may still run."""
    return DeployError("deploy lock {0} is held by {1}; {2}".format(path, describe(holder), _why_held(holder)), details={"lock": path, "holder": holder})


def _remove_if_unchanged(path, stale):
    """Unlink the lock if it still says what `stale` says; takeovers are one at a time (flock on the directory), so one wins."""
    directory = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY)
    try:
        fcntl.flock(directory, fcntl.LOCK_EX)
        if read_lock(path) != stale:
            return False
        os.unlink(path)
        return True
    finally:
        os.close(directory)  # gives the flock back


def describe(holder):
    if not holder:
        return "an unknown holder (the lock file has no readable content)"
    return "{0} on {1} (pid {2}, since {3}, job {4}, holder id {5})".format(
        holder.get("owner"), holder.get("host"), holder.get("pid"), holder.get("time"), holder.get("job_id") or "none", holder.get("holder_id"))


def acquire(path, owner, holder_id=None, job_id=None, now=None, process=True, details=None):
    """Take the lock; returns (changed, holder). The same holder_id again is not a change; anyone else fails, unless its process is gone.

    With `process`, this process holds the lock (the caller gives it back before it ends, or leaves
    it to be taken over); without, nobody does until it is given back. `details` go into the lock as
    they are. Taking over a gone holder's lock puts it, with the reason, in the new holder's `took_over`.
    """
    holder = dict(details or {}, owner=owner, host=socket.gethostname(), time=_now(now).strftime("%Y-%m-%dT%H:%M:%SZ"), job_id=job_id,
                  holder_id=holder_id or uuid.uuid4().hex, **process_fields(process))
    while True:
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
            break
        except FileExistsError:
            current = read_lock(path)
            if current and holder_id and current.get("holder_id") == holder_id:
                return False, current
            reason = holder_gone(current)
            if not reason:
                raise refusal(path, current)
            if _remove_if_unchanged(path, current):
                holder["took_over"] = dict(current, reason=reason)
    try:
        os.write(descriptor, (json.dumps(holder, sort_keys=True) + "\n").encode())
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    return True, holder


def update(path, holder_id, **fields):
    """Change fields of the lock, which `holder_id` holds (a new file renamed over it: readers see the old or the new)."""
    current = read_lock(path)
    if not current or current.get("holder_id") != holder_id:
        raise DeployError("deploy lock {0} is held by {1}, not by {2}; not changing it".format(path, describe(current), holder_id),
                          details={"lock": path, "holder": current})
    staging = "{0}.{1}".format(path, uuid.uuid4().hex)
    descriptor = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
    try:
        os.write(descriptor, (json.dumps(dict(current, **fields), sort_keys=True) + "\n").encode())
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    os.replace(staging, path)
    return dict(current, **fields)


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

# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Snapshots of an app's data, each tied to the release it was taken for.

Before a release's first hook that may change data, the deploy copies the SQLite databases and the
directories of `shared/` it is told about into `snapshots/<release id>/`, beside `releases/`: a
rollback away from that release can put the data back as it was before the release came in.

- `snapshots/<id>/shared/<path>` mirrors `shared/<path>`; `snapshots/<id>/manifest.json` says when it
  was taken and what it holds (paths relative to shared/, sizes, counts: never file names or contents).
- A database is copied with SQLite's online backup API, consistent while the app writes (never `cp`).
- A directory is copied with hard links where the filesystem allows (a file the app replaces keeps its
  old content in the snapshot; one it rewrites in place changes in both), else with copies.
- Paths are relative to shared/ and must stay inside it: no absolute path, no `..`, no symlink leading out.
  Links inside a copied directory are copied as links, never followed.
- A snapshot is made under a hidden name and renamed into place, so none is ever half there.
- A user's pre_snapshot command (pg_dump of a database not ours to copy) writes into `snapshots/<id>/pre_snapshot/`
  before the copies; when it fails, no snapshot is taken. Its output goes to a root-only log, never into a message.
- Scheduled snapshots (the deploy role's timer, _scheduled_snapshot.py) live beside them as `snapshots/scheduled-<time>/`:
  no release owns them, so a deploy's prune leaves them to their own retention (by count and age).
"""

from __future__ import annotations

import contextlib
import datetime
import errno
import json
import os
import re
import shutil
import sqlite3
import stat
import subprocess
import tempfile
import time

from ansible_collections.stagecraft.webapp.plugins.module_utils._errors import DeployError

SNAPSHOTS = "snapshots"
MANIFEST = "manifest.json"
TAKING_PREFIX = ".taking-"
REMOVING_PREFIX = ".removing-"
# The hook stages the deploy can take its snapshot before (the build step runs the first two, activate the others).
STAGES = ("before_build", "after_build", "before_switch", "after_switch")
# SQLite's companions of a database file, which count towards its size.
COMPANIONS = ("-wal", "-journal")
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
# Where a pre_snapshot command writes in a snapshot; a restore leaves its files to the user (pg_restore, mysql).
PRE_SNAPSHOT = "pre_snapshot"
# What a user command (pre_snapshot, ship) sees of the environment: nothing of the caller's or the app's but a PATH.
COMMAND_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
SCHEDULED_PREFIX = "scheduled-"
# A snapshot's id is its directory's name in snapshots/: a release id or scheduled-<time>.
SNAPSHOT_ID = re.compile(r"[0-9A-Za-z][0-9A-Za-z._-]{0,127}")


def path_problem(path, what):
    """Why `path` cannot name something inside shared/ (absolute, `..`, not normalised), or None."""
    text = str(path)
    if not text or os.path.isabs(text) or os.path.normpath(text) != text.rstrip("/") or text.split("/", maxsplit=1)[0] in ("..", "."):
        return "{0} {1} must be a relative path inside shared/, without '..'".format(what, json.dumps(text))
    return None


def overlap_problems(databases, dirs, names=("snapshot database", "snapshot directory")):
    """A database inside a snapshot directory would be copied twice, once inconsistently: each such pair, said with `names`."""
    return ["{0} {1} lies inside {2} {3}; name one of them".format(names[0], json.dumps(database), names[1], json.dumps(directory))
            for database in databases for directory in dirs if (database + "/").startswith(directory.rstrip("/") + "/")]


def _inside(shared_dir, relative, what):
    """The real path of shared/<relative>, refused when it is hostile or a symlink leads it out of shared/."""
    problem = path_problem(relative, what)
    if problem:
        raise DeployError(problem, details={"path": relative})
    root = os.path.realpath(shared_dir)
    real = os.path.realpath(os.path.join(root, relative))
    if not real.startswith(root + os.sep):
        raise DeployError("{0} {1} leads out of {2} (through a symbolic link); refusing to copy or replace it".format(what, json.dumps(relative), shared_dir),
                          details={"path": relative})
    return real


def _utc(moment):
    return moment.strftime(TIME_FORMAT)


def _database_bytes(path):
    return sum(os.path.getsize(path + suffix) for suffix in ("",) + COMPANIONS if os.path.isfile(path + suffix))


def _tree_size(path):
    """(bytes, files) of the regular files under `path`, links not followed."""
    total, files = 0, 0
    for root, _dirs, names in os.walk(path):
        for name in names:
            info = os.lstat(os.path.join(root, name))
            if stat.S_ISREG(info.st_mode):
                total, files = total + info.st_size, files + 1
    return total, files


def measure(shared_dir, databases, dirs):
    """What a snapshot of `databases` and `dirs` (relative to shared_dir) would hold, without copying: one dict per item."""
    items = []
    for relative in databases:
        real = _inside(shared_dir, relative, "snapshot database")
        present = os.path.isfile(real)
        items.append({"kind": "database", "path": relative, "present": present, "bytes": _database_bytes(real) if present else 0})
    for relative in dirs:
        real = _inside(shared_dir, relative, "snapshot directory")
        present = os.path.isdir(real)
        size, files = _tree_size(real) if present else (0, 0)
        items.append({"kind": "directory", "path": relative, "present": present, "bytes": size, "files": files})
    return items


def size_problem(items, max_bytes):
    """Why a snapshot of `items` is refused (it holds more than `max_bytes`), or None."""
    total = sum(item["bytes"] for item in items)
    if total <= max_bytes:
        return None
    held = ", ".join("{0} {1} bytes".format(item["path"], item["bytes"]) for item in items if item["bytes"])
    return ("a snapshot would hold {0} bytes ({1}), above the bound of {2} (deploy_snapshot_max_bytes); raise the bound or snapshot "
            "less".format(total, held, max_bytes))


def plan(base, databases, dirs, max_bytes):
    """What a snapshot would hold (measure()), or why it is refused: overlapping or hostile paths, more than `max_bytes`."""
    problems = overlap_problems(databases, dirs)
    if problems:
        raise DeployError("; ".join(problems))
    items = measure(os.path.join(base, "shared"), databases, dirs)
    problem = size_problem(items, max_bytes)
    if problem:
        raise DeployError(problem, details={"snapshot": items})
    return items


def summary(manifest):
    """A snapshot as listings show it: its release, time, size, what it holds and all that in one line (`summary`)."""
    holds = describe(manifest)
    return {"release_id": manifest["release_id"], "taken": manifest["taken"], "bytes": manifest["bytes"], "holds": holds,
            "summary": "{0} taken {1}: {2}".format(manifest["release_id"], manifest["taken"], holds)}


def _copy_database(source, destination):
    """SQLite's online backup: one step under a read lock, so the copy is one consistent state while the app writes."""
    with contextlib.closing(sqlite3.connect(source, timeout=30)) as src, contextlib.closing(sqlite3.connect(destination)) as dst:
        src.backup(dst)
    info = os.stat(source)
    os.chmod(destination, stat.S_IMODE(info.st_mode))
    os.chown(destination, info.st_uid, info.st_gid)


def _link_or_copy(source, destination, counts):
    try:
        os.link(source, destination, follow_symlinks=False)
        counts["linked"] += 1
    except OSError as exc:
        if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.EACCES, errno.ENOTSUP):
            raise
        shutil.copy2(source, destination, follow_symlinks=False)
        info = os.lstat(source)
        os.lchown(destination, info.st_uid, info.st_gid)
        counts["copied"] += 1


def _copy_dir_entry(source, destination):
    info = os.lstat(source)
    os.mkdir(destination)
    os.chmod(destination, stat.S_IMODE(info.st_mode))
    os.lchown(destination, info.st_uid, info.st_gid)


def copy_tree(source, destination):
    """Copy a directory tree: files hard-linked where the filesystem allows, else copied; links copied as links; owners and modes kept.

    Returns how many files were linked and copied. Sockets, pipes and devices are left out.
    """
    counts = {"linked": 0, "copied": 0}
    _copy_dir_entry(source, destination)
    for root, dirs, names in os.walk(source):
        target_root = os.path.join(destination, os.path.relpath(root, source))
        for name in dirs + names:
            path, target = os.path.join(root, name), os.path.join(target_root, name)
            mode = os.lstat(path).st_mode
            if stat.S_ISLNK(mode):
                os.symlink(os.readlink(path), target)
                info = os.lstat(path)
                os.lchown(target, info.st_uid, info.st_gid)
            elif stat.S_ISDIR(mode):
                _copy_dir_entry(path, target)
            elif stat.S_ISREG(mode):
                _link_or_copy(path, target, counts)
    return counts


def snapshot_dir(base, release_id):
    return os.path.join(base, SNAPSHOTS, release_id)


def _make_snapshots_dir(base):
    directory = os.path.join(base, SNAPSHOTS)
    if not os.path.isdir(directory):
        os.mkdir(directory, 0o700)
    return directory


def _replace_dir(staged, final):
    """Put `staged` at `final`, whatever was there removed after the rename (so `final` is never half there)."""
    parent = os.path.dirname(final)
    old = None
    if os.path.lexists(final):
        old = tempfile.mkdtemp(prefix=REMOVING_PREFIX, dir=parent)
        os.rename(final, os.path.join(old, "old"))
    os.rename(staged, final)
    if old:
        shutil.rmtree(old)


def command_log(base, name):
    """Where the output of the user command `name` (pre_snapshot, ship) goes: root-only, beside the snapshots, replaced by each run."""
    return os.path.join(base, SNAPSHOTS, ".{0}.log".format(name))


def run_user_command(command, path, log_path):
    """Run the user's shell `command` with `path` as its $1 (and $SNAPSHOT_DIR); its output into `log_path` (0600). Its exit status."""
    descriptor = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    os.fchmod(descriptor, 0o600)
    with os.fdopen(descriptor, "w") as log:
        return subprocess.call(["/bin/sh", "-c", command, "stagecraft-snapshot", path], stdin=subprocess.DEVNULL, stdout=log,
                               stderr=subprocess.STDOUT, env=dict(COMMAND_ENV, SNAPSHOT_DIR=path), cwd=path)


def _pre_snapshot(base, staging, command):
    """Run the pre_snapshot `command` into <staging>/pre_snapshot/; what it wrote, as a manifest item. Raises when it fails."""
    directory = os.path.join(staging, PRE_SNAPSHOT)
    os.mkdir(directory, 0o700)
    log_path = command_log(base, PRE_SNAPSHOT)
    status = run_user_command(command, directory, log_path)
    if status != 0:
        raise DeployError("the pre_snapshot command failed (exit status {0}), so no snapshot was taken; its output is in {1} (root only, "
                          "not shown: it may hold credentials)".format(status, log_path), details={"pre_snapshot_status": status})
    size, files = _tree_size(directory)
    return {"kind": PRE_SNAPSHOT, "path": PRE_SNAPSHOT, "present": True, "bytes": size, "files": files}


def take(base, release_id, databases, dirs, max_bytes, now=None, clock=time.monotonic, pre_command=""):
    """Snapshot `databases` and `dirs` (relative to <base>/shared) into <base>/snapshots/<release_id>/; returns its manifest.

    Refused before anything is copied when a path is hostile or the snapshot would hold more than `max_bytes`.
    A snapshot already there for the release (it is switched in again) is replaced. A `pre_command` (shell) runs
    first with the snapshot's pre_snapshot/ directory as its $1; when it fails, nothing is taken.
    """
    started = clock()
    shared_dir = os.path.join(base, "shared")
    items = plan(base, databases, dirs, max_bytes)
    staging = tempfile.mkdtemp(prefix=TAKING_PREFIX + release_id + "-", dir=_make_snapshots_dir(base))
    try:
        pre_items = [_pre_snapshot(base, staging, pre_command)] if pre_command else []
        for item in items:
            if not item["present"]:
                continue
            source = _inside(shared_dir, item["path"], "snapshot " + item["kind"])
            target = os.path.join(staging, "shared", item["path"])
            os.makedirs(os.path.dirname(target), 0o700, exist_ok=True)
            if item["kind"] == "database":
                _copy_database(source, target)
                item["bytes"] = os.path.getsize(target)
            else:
                item.update(copy_tree(source, target))
        items += pre_items
        manifest = {"release_id": release_id, "taken": _utc(now or datetime.datetime.now(datetime.timezone.utc)),
                    "bytes": sum(item["bytes"] for item in items), "items": items, "seconds": round(clock() - started, 2)}
        _write_manifest(staging, manifest)
        _replace_dir(staging, snapshot_dir(base, release_id))
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return manifest


def _write_manifest(directory, manifest):
    with open(os.path.join(directory, MANIFEST), "w") as handle:
        json.dump(manifest, handle, sort_keys=True, indent=1)
        handle.write("\n")


def read_manifest(base, release_id):
    """The manifest of the release's snapshot, or None when it has none (or an unreadable one)."""
    try:
        with open(os.path.join(snapshot_dir(base, release_id), MANIFEST)) as handle:
            manifest = json.load(handle)
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) and manifest.get("release_id") == release_id else None


def list_snapshots(base):
    """Every complete snapshot's manifest, oldest release first; hidden (half-made, half-removed) ones skipped."""
    directory = os.path.join(base, SNAPSHOTS)
    names = sorted(os.listdir(directory)) if os.path.isdir(directory) else []
    return [manifest for manifest in (read_manifest(base, name) for name in names if not name.startswith(".")) if manifest]


def describe(manifest):
    """What a snapshot holds, as a sentence part: `db.sqlite3 (12288 bytes), media (3 files, 2048 bytes)`."""
    parts = []
    for item in manifest["items"]:
        if not item["present"]:
            parts.append("{0} (absent)".format(item["path"]))
        elif item["kind"] == "database":
            parts.append("{0} ({1} bytes)".format(item["path"], item["bytes"]))
        else:
            parts.append("{0} ({1} files, {2} bytes)".format(item["path"], item["files"], item["bytes"]))
    return ", ".join(parts) or "nothing"


def _data_items(manifest):
    """The items of `manifest` copied from shared/ (not what a pre_snapshot command wrote)."""
    return [item for item in manifest["items"] if item["kind"] != PRE_SNAPSHOT]


def _newest_change(path):
    """The newest modification time of `path` (a database with its companions, or a tree), links not followed; 0 when absent."""
    if not os.path.lexists(path):
        return 0
    if not os.path.isdir(path):
        return max(os.lstat(path + suffix).st_mtime for suffix in ("",) + COMPANIONS if os.path.lexists(path + suffix))
    newest = os.lstat(path).st_mtime
    for root, dirs, names in os.walk(path):
        for name in dirs + names:
            newest = max(newest, os.lstat(os.path.join(root, name)).st_mtime)
    return newest


def written_since(base, manifest):
    """The snapshot's paths whose live data changed after it was taken (by modification time): what a restore loses."""
    taken = _taken_seconds(manifest)
    shared_dir = os.path.join(base, "shared")
    # The manifest's time is to the second: anything in its second counts as written since.
    return [item["path"] for item in _data_items(manifest) if _newest_change(_inside(shared_dir, item["path"], "snapshot " + item["kind"])) >= int(taken)]


def rewritten_in_place(base, manifest):
    """{directory: count} of the snapshot's files modified after it was taken: hard-linked files the app rewrote in place,
    whose snapshot copy changed with them (a restore cannot give their old content back)."""
    taken = int(_taken_seconds(manifest))
    counts = {}
    for item in _data_items(manifest):
        tree = os.path.join(snapshot_dir(base, manifest["release_id"]), "shared", item["path"])
        if item["kind"] == "directory" and item.get("linked") and os.path.isdir(tree):
            count = sum(1 for root, _dirs, names in os.walk(tree) for name in names
                        if stat.S_ISREG(os.lstat(os.path.join(root, name)).st_mode) and os.lstat(os.path.join(root, name)).st_mtime >= taken)
            if count:
                counts[item["path"]] = count
    return counts


def loss_sentence(manifest, changed, rewritten=None):
    """What a restore of `manifest` loses, said before and after it; `rewritten` as rewritten_in_place() counts them."""
    paths = ", ".join(item["path"] for item in _data_items(manifest))
    if changed:
        sentence = "data written to {0} since {1} is lost (changed since the snapshot: {2})".format(paths, manifest["taken"], ", ".join(changed))
    else:
        sentence = "data written to {0} since {1} is lost (none of them changed since the snapshot)".format(paths, manifest["taken"])
    for path, count in sorted((rewritten or {}).items()):
        sentence += "; {0} file(s) of {1} were rewritten in place since the snapshot and keep their new content (hard links)".format(count, path)
    if len(_data_items(manifest)) < len(manifest["items"]):
        sentence += ("; what the pre_snapshot command wrote is not restored: restore it yourself from {0}/{1}/ (pg_restore, ...)".format(
            os.path.join(SNAPSHOTS, manifest["release_id"]), PRE_SNAPSHOT))
    return sentence


def _taken_seconds(manifest):
    return datetime.datetime.strptime(manifest["taken"], TIME_FORMAT).replace(tzinfo=datetime.timezone.utc).timestamp()


def _restore_database(source, live):
    """The snapshot's content into the live database through the backup API (its file, owner and mode stay)."""
    existed = os.path.exists(live)
    with contextlib.closing(sqlite3.connect(source)) as src, contextlib.closing(sqlite3.connect(live, timeout=30)) as dst:
        src.backup(dst)
    if not existed:
        info = os.stat(source)
        os.chmod(live, stat.S_IMODE(info.st_mode))
        os.chown(live, info.st_uid, info.st_gid)


def restore(base, release_id):
    """Put the release's snapshot back into shared/: databases through the backup API, directories replaced by a rename.

    Returns {"manifest", "written_since", "lost", "restored"}; raises when the release has no snapshot. A path that
    was absent when the snapshot was taken is left as it is now (named in `left`).
    """
    problem = id_problem(release_id)
    if problem:
        raise DeployError(problem, details={"snapshot": release_id})
    manifest = read_manifest(base, release_id)
    if manifest is None:
        raise DeployError("release {0} has no snapshot to restore in {1}".format(release_id, os.path.join(base, SNAPSHOTS)),
                          details={"release_id": release_id})
    changed, rewritten = written_since(base, manifest), rewritten_in_place(base, manifest)
    shared_dir = os.path.join(base, "shared")
    restored, left = [], []
    for item in _data_items(manifest):
        live = _inside(shared_dir, item["path"], "snapshot " + item["kind"])
        if not item["present"]:
            left.append(item["path"])
            continue
        source = os.path.join(snapshot_dir(base, release_id), "shared", item["path"])
        if item["kind"] == "database":
            _restore_database(source, live)
        else:
            staged = tempfile.mkdtemp(prefix=".restoring-", dir=os.path.dirname(live))
            copy_tree(source, os.path.join(staged, "tree"))
            _replace_dir(os.path.join(staged, "tree"), live)
            os.rmdir(staged)
        restored.append(item["path"])
    return {"manifest": manifest, "written_since": changed, "lost": loss_sentence(manifest, changed, rewritten), "restored": restored, "left": left}


def id_problem(snapshot_id):
    """Why `snapshot_id` names no snapshot directory (a path, `..`, a hidden or half-made one), or None."""
    text = str(snapshot_id)
    if SNAPSHOT_ID.fullmatch(text) and ".." not in text:
        return None
    return ("snapshot id {0} is not a snapshot's name: a release id or scheduled-<time>, as playbooks/status.yml lists them "
            "(letters, digits, '.', '_' and '-'; no '/', no '..', not hidden)".format(json.dumps(text)))


def scheduled_id(now):
    """The id of a scheduled snapshot taken at `now` (UTC): ids sort as the times do."""
    return SCHEDULED_PREFIX + now.strftime("%Y%m%dT%H%M%SZ")


def retention_plan(manifests, keep, max_age_days, now):
    """The ids of the scheduled snapshots to remove: all but the newest `keep`, and those taken more than `max_age_days`
    before `now` (0: no age limit). The newest is always kept; snapshots of releases go with their releases, never here."""
    newest_first = sorted((manifest for manifest in manifests if manifest["release_id"].startswith(SCHEDULED_PREFIX)),
                          key=lambda manifest: manifest["release_id"], reverse=True)
    oldest_kept = now.timestamp() - max_age_days * 86400
    return sorted(manifest["release_id"] for index, manifest in enumerate(newest_first)
                  if index > 0 and (index >= keep or (max_age_days and _taken_seconds(manifest) < oldest_kept)))


def prune_plan(base, keep_release_ids):
    """The snapshots (release ids) and leftovers (hidden names) to remove: those of releases no longer kept.
    Scheduled snapshots are left to their own retention (retention_plan)."""
    directory = os.path.join(base, SNAPSHOTS)
    names = sorted(os.listdir(directory)) if os.path.isdir(directory) else []
    remove = [name for name in names if not name.startswith((".", SCHEDULED_PREFIX)) and name not in keep_release_ids]
    leftovers = [name for name in names if name.startswith((TAKING_PREFIX, REMOVING_PREFIX))]
    return remove, leftovers


def prune(base, remove, leftovers):
    """Remove the snapshots `prune_plan` named, each renamed to a hidden name first."""
    directory = os.path.join(base, SNAPSHOTS)
    for name in remove:
        if os.path.isdir(os.path.join(directory, name)):
            hidden = tempfile.mkdtemp(prefix=REMOVING_PREFIX, dir=directory)
            os.rename(os.path.join(directory, name), os.path.join(hidden, name))
            shutil.rmtree(hidden)
    for name in leftovers:
        shutil.rmtree(os.path.join(directory, name), ignore_errors=True)

# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The release history on disk and its rules: which release to roll back to, which ones to prune.

A release is `releases/<id>` with a marker whose state is pending (made, not yet proved), good
(proved healthy and switched to) or failed (its build or health check failed). A directory without
a readable marker is `unknown`: it is listed, never a target, never counted and never removed.
"""

from __future__ import annotations

import os
import shutil
import tempfile

from ansible_collections.stagecraft.webapp.plugins.module_utils._errors import DeployError
from ansible_collections.stagecraft.webapp.plugins.module_utils._release import PARTIAL_PREFIX, RELEASE_ID, read_marker
from ansible_collections.stagecraft.webapp.plugins.module_utils._switch import read_link

REMOVING_PREFIX = ".removing-"


class Release:
    """One directory under releases/ with what its marker says."""

    def __init__(self, release_id, path, state, commit=None, ref=None, created=None):
        self.release_id = release_id
        self.path = path
        self.state = state
        self.commit = commit
        self.ref = ref
        self.created = created

    def as_dict(self):
        return {"release_id": self.release_id, "path": self.path, "state": self.state, "commit": self.commit, "ref": self.ref, "created": self.created}


def list_releases(releases_dir):
    """Releases oldest first (ids start with their UTC time, so they sort by age); hidden names skipped."""
    if not os.path.isdir(releases_dir):
        return []
    found = []
    for name in sorted(os.listdir(releases_dir)):
        path = os.path.join(releases_dir, name)
        if name.startswith(".") or not os.path.isdir(path) or os.path.islink(path):
            continue
        marker = read_marker(path)
        valid = marker is not None and RELEASE_ID.match(name) and marker.get("release_id") == name and marker.get("state") in ("pending", "good", "failed")
        if valid:
            found.append(Release(name, path, marker["state"], marker.get("commit"), marker.get("ref"), marker.get("created")))
        else:
            found.append(Release(name, path, "unknown"))
    return found


def current_release(current_link, releases_dir):
    """The id of the release `current` points to, or None (no link, or a target outside releases/)."""
    target = read_link(current_link)
    if target is None:
        return None
    resolved = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(current_link)), target))
    if os.path.dirname(resolved) != os.path.normpath(os.path.abspath(releases_dir)):
        return None
    return os.path.basename(resolved)


def rollback_target(releases, current_id, name=None):
    """The release to roll back to: `name` (must exist and be good) or the newest good one older than current."""
    by_id = dict((release.release_id, release) for release in releases)
    if name is not None:
        if name not in by_id:
            raise DeployError("cannot roll back to {0}: there is no such release".format(name), details={"release": name, "releases": sorted(by_id)})
        if by_id[name].state != "good":
            raise DeployError("cannot roll back to {0}: its state is {1}, not good".format(name, by_id[name].state),
                              details={"release": name, "state": by_id[name].state})
        return by_id[name]
    candidates = [release for release in releases if release.state == "good" and release.release_id != current_id
                  and (current_id is None or release.release_id < current_id)]
    if not candidates:
        raise DeployError("no good release before {0} to roll back to".format(current_id or "the current one"), details={"current": current_id})
    return candidates[-1]


class PrunePlan:
    """What prune keeps and removes (release ids), and leftover hidden directories it clears."""

    def __init__(self, keep, remove, leftovers, unknown):
        self.keep = keep
        self.remove = remove
        self.leftovers = leftovers
        self.unknown = unknown

    @property
    def changed(self):
        return bool(self.remove or self.leftovers)

    def as_dict(self):
        return {"keep": self.keep, "remove": self.remove, "leftovers": self.leftovers, "unknown": self.unknown}


def prune_plan(releases_dir, keep, current_id=None, protect=()):
    """Keep the newest `keep` good releases plus current and `protect`; remove failed and pending others.

    Failed and pending releases never count towards `keep`; the newest good release is always kept
    (keep is at least 1); `unknown` directories are left alone and reported.
    """
    if not isinstance(keep, int) or isinstance(keep, bool) or keep < 1:
        raise DeployError("keep must be a whole number of at least 1, not {0!r}".format(keep))
    releases = list_releases(releases_dir)
    protected = set(protect) | ({current_id} if current_id else set())
    good = [release.release_id for release in releases if release.state == "good"]
    kept = set(good[-keep:]) | (protected & set(release.release_id for release in releases))
    unknown = [release.release_id for release in releases if release.state == "unknown"]
    remove = [release.release_id for release in releases if release.release_id not in kept and release.state != "unknown"]
    leftovers = []
    if os.path.isdir(releases_dir):
        leftovers = sorted(name for name in os.listdir(releases_dir) if name.startswith(PARTIAL_PREFIX) or name.startswith(REMOVING_PREFIX))
    keep_ids = [release.release_id for release in releases if release.release_id in kept]
    return PrunePlan(keep_ids, remove, leftovers, unknown)


def _remove(path):
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.unlink(path)


def prune(releases_dir, plan):
    """Carry out a PrunePlan: each release is renamed to a hidden name first, so none is ever half there."""
    for release_id in plan.remove:
        path = os.path.join(releases_dir, release_id)
        if not os.path.isdir(path):
            continue
        hidden = tempfile.mkdtemp(prefix=REMOVING_PREFIX + release_id + "-", dir=releases_dir)
        target = os.path.join(hidden, release_id)
        os.rename(path, target)
        shutil.rmtree(hidden)
    for name in plan.leftovers:
        _remove(os.path.join(releases_dir, name))
    return plan.changed

# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Atomic switch of a symlink such as `current`: a new link beside it, renamed over it."""

from __future__ import annotations

import os

from ansible_collections.stagecraft.webapp.plugins.module_utils._errors import DeployError


def read_link(link):
    """The target the link holds (as written), or None when there is no link."""
    if not os.path.lexists(link):
        return None
    if not os.path.islink(link):
        raise DeployError("{0} exists and is not a symlink; refusing to replace it".format(link), details={"path": link})
    return os.readlink(link)


def _absolute(link, target):
    return os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(link)), target))


def needs_switch(link, target):
    """Whether `link` does not point at `target` yet (relative and absolute spellings compare equal)."""
    previous = read_link(link)
    return previous is None or _absolute(link, previous) != _absolute(link, target)


class SwitchResult:
    """previous and new targets as written in the link; changed is False when nothing moved."""

    def __init__(self, changed, previous, current):
        self.changed = changed
        self.previous = previous
        self.current = current

    def as_dict(self):
        return {"changed": self.changed, "previous": self.previous, "current": self.current}


def switch(link, target, check_mode=False):
    """Point `link` at `target` (which must be a directory) atomically; returns a SwitchResult."""
    if not os.path.isdir(_absolute(link, target)):
        raise DeployError("cannot switch {0} to {1}: no such directory".format(link, target), details={"path": link, "target": target})
    previous = read_link(link)
    if not needs_switch(link, target):
        return SwitchResult(False, previous, previous)
    if not check_mode:
        staging = os.path.join(os.path.dirname(os.path.abspath(link)), ".{0}.switch-{1}".format(os.path.basename(link), os.getpid()))
        if os.path.lexists(staging):
            os.unlink(staging)
        os.symlink(target, staging)
        try:
            os.replace(staging, link)
        except OSError:
            os.unlink(staging)
            raise
    return SwitchResult(True, previous, target)

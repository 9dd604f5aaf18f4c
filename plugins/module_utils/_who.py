# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Who deploys, as the lock and the record name them; asked on the controller.

`$USER` is unset in CI containers, cron and AWX, so it is not asked: the name given, else the AWX or
Automation Controller user, else the account the controller runs as, else the git identity of the
controller's checkout, else "unknown".
"""

from __future__ import annotations

import os
import pwd
import subprocess


def login_name(uid=None):
    """The controller's account (as `id -un` says it), or "" when the uid has no name (an execution environment's)."""
    try:
        return pwd.getpwuid(os.getuid() if uid is None else uid).pw_name
    except KeyError:
        return ""


def git_identity(checkout):
    """`user.name <user.email>` (or either) of git's configuration for `checkout`, or ""."""
    values = []
    for key in ("user.name", "user.email"):
        try:
            done = subprocess.run(["git", "-C", checkout, "config", "--get", key], capture_output=True, text=True, check=False, timeout=10)
        except (OSError, subprocess.SubprocessError):
            return ""
        values.append(done.stdout.strip() if done.returncode == 0 else "")
    name, email = values
    if name and email:
        return "{0} <{1}>".format(name, email)
    return name or email


def deployer(hints, login=login_name, identity=git_identity):
    """Who deploys, from `hints`: `who` (given), `awx_user` (AWX's or the Controller's user name) and `checkout` (the controller's
    checkout, for its git identity)."""
    return (hints.get("who") or hints.get("awx_user") or login() or (identity(hints["checkout"]) if hints.get("checkout") else "")
            or "unknown")

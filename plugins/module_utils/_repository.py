# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""A repository on the host itself (deploy_repo as a path or file:// URL), and whether it is one.

Small on purpose: the stack's first read of the host (host_records, host_facts) asks it for the
deploy step before any role changes the host, and the deploy module asks it again before its lock.
"""

from __future__ import annotations

import os
import re


def local_repository(url):
    """The path of a repository on the host itself (a path or a file:// URL), "" for one git reaches over the network."""
    if url.startswith("/") or url.startswith("file://"):
        return re.sub("^file://", "", url)
    return ""


def not_a_local_repository(url):
    """Why `url` names no git repository on the host (neither HEAD, bare, nor .git, a work tree), or "" when it does or is remote."""
    path = local_repository(url)
    if not path or any(os.path.lexists(os.path.join(path, name)) for name in ("HEAD", ".git")):
        return ""
    return "{0} is not a git repository on the host (it has neither HEAD nor .git): a path or file:// URL names a repository on the host itself".format(url)


def repository_problems(urls):
    """not_a_local_repository() of each of `urls` that is on the host and no repository."""
    return [problem for problem in map(not_a_local_repository, urls) if problem]

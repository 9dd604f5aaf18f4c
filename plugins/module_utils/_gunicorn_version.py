# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Which gunicorn a release's virtual environment holds, and whether the collection can run it.

The service and the deploy's candidate run `<release>/.venv/bin/gunicorn` with the gunicorn role's
settings. Settings newer than an app's gunicorn sit in the config file, which gunicorn reads
ignoring names it does not know; the command lines name only options every supported version has.
gunicorn 20 and older import pkg_resources, which the venvs of Python 3.12 and later lack (Debian 13),
so 21.0 is the oldest the collection supports (the deploy scenario deploys 21.2, 23.0 and current).
"""

from __future__ import annotations

import glob
import os
import re

MINIMUM = (21, 0)
MINIMUM_TEXT = "21.0"


def installed_version(venv_path):
    """The version of the gunicorn distribution installed in `venv_path`, or None when there is none."""
    pattern = os.path.join(venv_path, "lib", "python*", "site-packages", "gunicorn-*.dist-info", "METADATA")
    for metadata in sorted(glob.glob(pattern)):
        with open(metadata, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if not line.strip():
                    break  # the headers end at the first empty line
                if line.startswith("Version:"):
                    return line.split(":", 1)[1].strip()
    return None


def release_number(version):
    """The leading numbers of a version (`23.0.0` -> (23, 0, 0), `22.0.0rc1` -> (22, 0, 0)); () when it starts with none."""
    match = re.match(r"\d+(\.\d+)*", version.strip())
    return tuple(int(part) for part in match.group(0).split(".")) if match else ()


def gunicorn_problem(version):
    """Why the release cannot be served with gunicorn `version` (None: not installed), or None when it can."""
    wanted = "gunicorn>={0} in its requirements".format(MINIMUM_TEXT)
    if version is None:
        return "the release's virtual environment has no gunicorn, which serves it: list {0}".format(wanted)
    if release_number(version)[:len(MINIMUM)] < MINIMUM:
        return "the release's virtual environment has gunicorn {0}; the collection needs gunicorn {1} or later: pin {2}".format(
            version, MINIMUM_TEXT, wanted)
    return None

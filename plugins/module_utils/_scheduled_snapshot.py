# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""A scheduled snapshot of an app's data, as the deploy role's systemd timer takes it on the host:

    python3 -m ansible_collections.stagecraft.webapp.plugins.module_utils._scheduled_snapshot CONFIG

The role installs this file with _snapshot.py and _errors.py (standard library only) under a root-owned directory, so
the timer runs the deploy's own snapshot code. CONFIG is the role's root-only JSON: base, databases, dirs, max_bytes,
keep, max_age_days, pre_command, ship_command.

One run: take `snapshots/scheduled-<time>/` (after the pre_snapshot command, if any), hand its path to the ship command
if there is one, then remove the scheduled snapshots beyond the retention (by count and age). What it prints names
paths, sizes and ids, never contents; the user commands' output goes to root-only files beside the snapshots, never to
the journal, because such commands may print credentials (a URL with a token, a password prompt's echo).
"""

from __future__ import annotations

import datetime
import json
import sys

from ansible_collections.stagecraft.webapp.plugins.module_utils import _snapshot
from ansible_collections.stagecraft.webapp.plugins.module_utils._errors import DeployError

# The exit statuses: the unit fails (and says why in the journal) on either.
SNAPSHOT_FAILED = 1
SHIP_FAILED = 2


def run(config, now=None, runner=_snapshot.run_user_command):
    """One scheduled run for `config`: (exit status, lines to print). Retention runs whether or not shipping worked."""
    base = config["base"]
    now = now or datetime.datetime.now(datetime.timezone.utc)
    snapshot_id = _snapshot.scheduled_id(now)
    try:
        manifest = _snapshot.take(base, snapshot_id, config["databases"], config["dirs"], config["max_bytes"], now=now,
                                  pre_command=config.get("pre_command", ""))
    except (DeployError, OSError) as exc:
        return SNAPSHOT_FAILED, ["snapshot not taken: {0}".format(exc)]
    status, lines = 0, ["took {0}".format(_snapshot.summary(manifest)["summary"])]
    if config.get("ship_command"):
        path, log_path = _snapshot.snapshot_dir(base, snapshot_id), _snapshot.command_log(base, "ship")
        code = runner(config["ship_command"], path, log_path)
        if code == 0:
            lines.append("shipped {0} with the ship command".format(snapshot_id))
        else:
            status = SHIP_FAILED
            lines.append("the ship command failed for {0} (exit status {1}); the snapshot stays here and counts towards the "
                         "retention; its output is in {2} (root only, not shown: it may hold credentials)".format(snapshot_id, code, log_path))
    remove = _snapshot.retention_plan(_snapshot.list_snapshots(base), config["keep"], config["max_age_days"], now)
    _snapshot.prune(base, remove, [])
    age = "at most {0} days old".format(config["max_age_days"]) if config["max_age_days"] else "of any age"
    lines.append("retention (the newest {0}, {1}): removed {2}".format(config["keep"], age, ", ".join(remove) or "none"))
    return status, lines


def main(argv=None):
    """Read the config file named on the command line, run once, print what happened, exit with the run's status."""
    arguments = sys.argv[1:] if argv is None else argv
    if len(arguments) != 1:
        sys.stderr.write("usage: python3 -m {0} CONFIG.json\n".format(__name__))
        return SNAPSHOT_FAILED
    with open(arguments[0]) as handle:
        status, lines = run(json.load(handle))
    sys.stdout.write("".join(line + "\n" for line in lines))
    return status


if __name__ == "__main__":
    raise SystemExit(main())

# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""A person's one-off command in the serving release (playbooks/run.yml), and the app's recent log lines (playbooks/logs.yml).

The command runs exactly as a hook does (Hooks.shell); each run is recorded in <base>/runs.jsonl beside the
deploy record (who, command, release, commit, when, how long, exit status), never its output.
"""

from __future__ import annotations

import datetime
import os

from ansible_collections.stagecraft.webapp.plugins.module_utils._commands import Runner, hidden_forms, redact
from ansible_collections.stagecraft.webapp.plugins.module_utils._errors import DeployError
from ansible_collections.stagecraft.webapp.plugins.module_utils._hooks import Hooks, read_secrets
from ansible_collections.stagecraft.webapp.plugins.module_utils._record import append, last_lines
from ansible_collections.stagecraft.webapp.plugins.module_utils._release import read_marker
from ansible_collections.stagecraft.webapp.plugins.module_utils._releases import current_release

RUNS = "runs.jsonl"
RUN_FIELDS = ("who", "command", "release_id", "commit", "started", "duration", "rc", "job_id")


def serving_release(base):
    """(release id, its path) that `current` points at; DeployError when nothing serves."""
    release_id = current_release(os.path.join(base, "current"), os.path.join(base, "releases"))
    if not release_id:
        raise DeployError("nothing serves in {0} yet: deploy first".format(base), details={"path": base})
    return release_id, os.path.join(base, "releases", release_id)


def run_command_once(call):
    """Run `command` in the serving release as the app's user; record it; return its rc and output (secrets hidden)."""
    params = call.params
    base = params["path"]
    release_id, release_path = serving_release(base)
    commit = (read_marker(release_path) or {}).get("commit") or ""
    result = {"release_id": release_id, "release_path": release_path, "commit": commit, "rc": None, "stdout": "", "stderr": ""}
    if call.check_mode:
        return dict(result, changed=True)
    # The module's run_command hides them already; a plain caller's may not.
    runner = Runner(call.run_command, secrets=read_secrets(params["env_file"]).values())
    hooks = Hooks(runner, user=params["user"], env_file=params["env_file"], home=base)
    started = datetime.datetime.now(datetime.timezone.utc)
    rc, out, err = hooks.shell(params["command"], "command", release_path, os.path.join(release_path, ".venv"), check=False)
    finished = datetime.datetime.now(datetime.timezone.utc)
    entry = {"who": params["who"], "command": runner.redact(params["command"]), "release_id": release_id, "commit": commit,
             "started": started.strftime("%Y-%m-%dT%H:%M:%SZ"), "duration": round((finished - started).total_seconds(), 3), "rc": rc,
             "job_id": params["job_id"]}
    append(os.path.join(base, RUNS), entry, fields=RUN_FIELDS)
    result = dict(result, changed=True, rc=rc, stdout=out, stderr=err, entry=entry)
    if rc != 0:
        raise DeployError("the command exited with status {0} in release {1}".format(rc, release_id), details=result)
    return result


def journal(runner, unit, count):
    """The unit's (or a pattern's) last `count` journal lines, newest last."""
    rc, out, err = runner.run(["journalctl", "--no-pager", "--output", "short-iso", "--lines", str(count), "--unit", unit], step="journalctl",
                              check=False)
    return (out if rc == 0 else err or out).rstrip("\n").splitlines()


def recent_logs(call):
    """The app's, its candidates' and each existing file's last `lines` lines, by source, with the app's secrets hidden. Reads only."""
    params = call.params
    if params["lines"] < 1:
        raise DeployError("lines must be at least 1 (got {0})".format(params["lines"]))
    runner = Runner(call.run_command)
    sources = {}
    for unit in ("{0}.service".format(params["instance"]), "{0}@*.service".format(params["instance"])):
        sources[unit] = journal(runner, unit, params["lines"])
    for path in params["files"]:
        if os.path.isfile(path):
            sources[path] = [line.decode("utf-8", "replace") for line in last_lines(path, params["lines"])]
    forms = hidden_forms(read_secrets(params["env_file"]).values())
    hidden = dict((source, [redact(line, forms) for line in lines]) for source, lines in sources.items())
    shown = [line for source, lines in hidden.items() for line in ["==> {0} <==".format(source)] + (lines or ["(no lines)"])]
    return {"changed": False, "logs": hidden, "sources": list(hidden), "shown": shown}

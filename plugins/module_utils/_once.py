# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Once-hooks: named commands that run once per environment (an `init-db`, a demo-data load, the first admin).

Each runs like a hook (Hooks.shell: the app's user, the release, its environment file and venv), after the
`before_switch` hooks and before the candidate starts, or in the serving release when nothing is switched. A
hook that succeeds is recorded at once in <base>/once-hooks.json by its name (command, commit, release, time,
who); a recorded name never runs again unless it is asked for again (`rerun`). The name, not the text, says
which hook it is: a changed command does not run, it only warns. A hook that fails is not recorded, so the next
deploy runs it again.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import tempfile

from ansible_collections.stagecraft.webapp.plugins.module_utils._errors import DeployError
from ansible_collections.stagecraft.webapp.plugins.module_utils._release import read_marker

RECORD = "once-hooks.json"
MODE = 0o640
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*\Z")


def once_hook_problems(once_hooks, rerun=()):
    """One message per problem of a list of once-hooks ({name, command}) and of the names asked to run again."""
    problems, names = [], []
    for number, hook in enumerate(once_hooks or [], 1):
        if not isinstance(hook, dict) or sorted(hook) != ["command", "name"]:
            problems.append("deploy_once_hooks item {0} must have exactly the keys name and command".format(number))
            continue
        name, command = hook["name"], hook["command"]
        if not isinstance(name, str) or not NAME.match(name):
            problems.append("deploy_once_hooks item {0}: name {1!r} must be letters, digits, '.', '_' or '-'".format(number, name))
        elif name in names:
            problems.append("deploy_once_hooks names {0} twice; each once-hook needs its own name".format(name))
        if not isinstance(command, str) or not command.strip():
            problems.append("deploy_once_hooks item {0} ({1}) has no command".format(number, name))
        names.append(name)
    unknown = [name for name in rerun or [] if name not in names]
    if unknown:
        problems.append("deploy_rerun_once names no once-hook: {0} (the once-hooks are: {1})".format(
            ", ".join(unknown), ", ".join(map(str, names)) or "none"))
    return problems


def read_ran(base):
    """The once-hooks that ran in the environment `base`, by name."""
    path = os.path.join(base, RECORD)
    if not os.path.exists(path):
        return {}
    try:
        with open(path) as handle:
            ran = json.load(handle)
    except (OSError, ValueError) as exc:
        raise DeployError("cannot read the once-hook record {0}: {1}".format(path, exc), details={"path": path})
    return ran if isinstance(ran, dict) else {}


def write_ran(base, ran):
    """Replace the record atomically (mode set before content)."""
    descriptor, temporary = tempfile.mkstemp(prefix=".once-hooks-", dir=base)
    try:
        os.fchmod(descriptor, MODE)
        with os.fdopen(descriptor, "w") as handle:
            json.dump(ran, handle, indent=1, sort_keys=True)
            handle.write("\n")
        os.replace(temporary, os.path.join(base, RECORD))
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class OnceHooks:
    """The once-hooks of one environment (`base`), run through `hooks` (a Hooks) and recorded as run by `who`."""

    def __init__(self, base, hooks, once_hooks=(), rerun=(), who="unknown", clock=utc_now):
        problems = once_hook_problems(once_hooks, rerun)
        if problems:
            raise DeployError("; ".join(problems))
        self.base = base
        self.hooks = hooks
        self.once_hooks = list(once_hooks or [])
        self.rerun = set(rerun or [])
        self.who = who
        self.clock = clock
        self.ran = read_ran(base) if self.once_hooks else {}

    def pending(self):
        """The names that would run now, in order."""
        return [hook["name"] for hook in self.once_hooks if hook["name"] not in self.ran or hook["name"] in self.rerun]

    def warnings(self):
        """A warning for each recorded once-hook whose command is no longer the one that ran (it does not run again)."""
        warnings = []
        for hook in self.once_hooks:
            ran = self.ran.get(hook["name"])
            if ran and hook["name"] not in self.rerun and ran.get("command") != self.hooks.runner.redact(hook["command"]):
                warnings.append("once-hook {0}'s command changed since it ran ({1}, commit {2}, by {3}); it does not run again: "
                                "-e deploy_rerun_once={0} runs it".format(hook["name"], ran.get("time"), (ran.get("commit") or "unknown")[:12], ran.get("who")))
        return warnings

    def run(self, release_path, venv_path=None):
        """Run what is pending in the release, recording each as it succeeds; the first that fails raises (not recorded)."""
        release_id = os.path.basename(release_path)
        commit = (read_marker(release_path) or {}).get("commit") or ""
        done = []
        for hook in self.once_hooks:
            if hook["name"] not in self.pending():
                continue
            self.hooks.shell(hook["command"], "once-hook {0} ({1})".format(hook["name"], hook["command"]), release_path, venv_path)
            self.ran[hook["name"]] = {"command": self.hooks.runner.redact(hook["command"]), "commit": commit, "release_id": release_id,
                                      "time": self.clock(), "who": self.who}
            self.rerun.discard(hook["name"])
            write_ran(self.base, self.ran)
            done.append(hook["name"])
        return done

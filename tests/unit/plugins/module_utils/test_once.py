from __future__ import annotations

import json
import os

import pytest

from ansible_collections.stagecraft.webapp.plugins.module_utils._commands import Runner
from ansible_collections.stagecraft.webapp.plugins.module_utils._errors import DeployError
from ansible_collections.stagecraft.webapp.plugins.module_utils._hooks import Hooks
from ansible_collections.stagecraft.webapp.plugins.module_utils._once import RECORD, OnceHooks, read_ran
from ansible_collections.stagecraft.webapp.plugins.module_utils._steps import once_hooks_of

SECRET = "s3cret-value"


@pytest.fixture
def env(tmp_path):
    """An environment's directory with one release (its marker names the commit) and an environment file with a secret."""
    release = tmp_path / "releases" / "20260101T000000Z-abcdef0"
    release.mkdir(parents=True)
    (release / ".stagecraft-release.json").write_text(json.dumps({"commit": "abcdef0" * 5 + "12345", "state": "good"}))
    (tmp_path / "env").write_text("# stagecraft-secrets: TOKEN\nTOKEN={0}\n".format(SECRET))
    return tmp_path, release


def once(env, hooks, rerun=(), clock=lambda: "2026-01-01T00:00:00Z"):
    base, dummy = env
    return OnceHooks(str(base), Hooks(Runner(secrets=[SECRET]), env_file=str(base / "env"), home=str(base)), hooks, rerun, who="alice", clock=clock)


def test_a_once_hook_runs_in_the_release_with_the_apps_environment_and_is_recorded(env):
    base, release = env
    hooks = [{"name": "init-db", "command": 'echo "$(pwd) $TOKEN" >> "$HOME/ran.txt"'}]
    assert once(env, hooks).pending() == ["init-db"]
    assert once(env, hooks).run(str(release)) == ["init-db"]
    assert (base / "ran.txt").read_text() == "{0} {1}\n".format(release, SECRET)
    assert read_ran(str(base)) == {"init-db": {"command": hooks[0]["command"], "commit": "abcdef0" * 5 + "12345", "release_id": release.name,
                                               "time": "2026-01-01T00:00:00Z", "who": "alice"}}
    assert oct((base / RECORD).stat().st_mode & 0o777) == "0o640"
    # Recorded: never again, also with its text changed (a warning says so), unless asked.
    assert once(env, hooks).run(str(release)) == [] and (base / "ran.txt").read_text().count("\n") == 1
    changed = [{"name": "init-db", "command": "echo other"}]
    assert once(env, changed).pending() == []
    assert once(env, changed).warnings() == [
        "once-hook init-db's command changed since it ran (2026-01-01T00:00:00Z, commit abcdef0abcde, by alice); it does not run again: "
        "-e deploy_rerun_once=init-db runs it"]
    assert once(env, hooks, rerun=["init-db"]).run(str(release)) == ["init-db"] and (base / "ran.txt").read_text().count("\n") == 2


def test_a_failing_once_hook_is_not_recorded_and_those_before_it_are(env):
    base, release = env
    hooks = [{"name": "a", "command": "true"}, {"name": "b", "command": 'echo "no $TOKEN" >&2; exit 3'}, {"name": "c", "command": "true"}]
    with pytest.raises(DeployError, match=r"once-hook b \(.*\) failed \(rc=3\): no \*\*\*\*\*\*\*\*") as failed:
        once(env, hooks).run(str(release))
    assert SECRET not in str(failed.value)
    assert sorted(read_ran(str(base))) == ["a"]
    assert once(env, hooks).pending() == ["b", "c"]


def test_bad_once_hooks_fail_before_anything_runs(env):
    base, dummy = env
    with pytest.raises(DeployError, match="deploy_rerun_once names no once-hook: x"):
        once(env, [{"name": "a", "command": "touch ran"}], rerun=["x"])
    assert not os.path.exists(base / RECORD)


def test_a_rollback_runs_no_once_hook(env):
    base, dummy = env
    params = {"path": str(base), "once_hooks": [{"name": "a", "command": "touch ran"}], "rerun_once": ["a"], "who": "alice"}
    assert once_hooks_of(dict(params, rollback=False), Hooks()).pending() == ["a"]
    assert once_hooks_of(dict(params, rollback=True), Hooks()).pending() == []

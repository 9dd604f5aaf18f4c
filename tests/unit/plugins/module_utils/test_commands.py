from __future__ import annotations

import pytest

from ansible_collections.stagecraft.webapp.plugins.module_utils._commands import (
    CommandLine, Runner, as_args, as_config, as_flag, as_option, module_run_command, subprocess_run_command,
    systemctl_show,
)
from ansible_collections.stagecraft.webapp.plugins.module_utils._errors import DeployError

GIT = CommandLine("git", {"git_dir": as_option("--git-dir"), "config": as_config(), "sub": as_args(), "quiet": as_flag("--quiet"), "args": as_args()})


@pytest.mark.parametrize("values, expected", [
    ({"sub": "fetch", "quiet": True}, ["git", "fetch", "--quiet"]),
    ({"git_dir": "/srv/a b", "sub": "fetch", "quiet": False, "args": ["origin"]}, ["git", "--git-dir", "/srv/a b", "fetch", "origin"]),
    ({"config": [("credential.helper", ""), ("x.y", "z")], "sub": "ls-remote"}, ["git", "-c", "credential.helper=", "-c", "x.y=z", "ls-remote"]),
    ({"config": {"b": "2", "a": "1"}, "sub": "status"}, ["git", "-c", "a=1", "-c", "b=2", "status"]),
])
def test_argv_is_built_from_named_pieces_in_order(values, expected):
    assert GIT.argv("git_dir config sub quiet args", **values) == expected


@pytest.mark.parametrize("order, values", [("nope", {}), ("sub", {"quiet": True})])
def test_unknown_or_unused_pieces_are_refused(order, values):
    with pytest.raises(DeployError, match="unknown or unused"):
        GIT.argv(order, **values)


def test_subprocess_runner_passes_env_and_cwd(tmp_path):
    rc, out, err = subprocess_run_command(["sh", "-c", 'echo "$GREETING"; pwd'], cwd=str(tmp_path), env={"GREETING": "hi"})
    assert (rc, out.split(), err) == (0, ["hi", str(tmp_path)], "")


def test_missing_program_is_rc_127():
    rc, dummy, err = subprocess_run_command(["/nonexistent/program"])
    assert rc == 127 and "cannot run" in err


def test_failed_step_is_named_and_secrets_hidden():
    runner = Runner(env={"TOKEN": "s3cret"}, secrets=["s3cret"])
    with pytest.raises(DeployError) as raised:
        runner.run(["sh", "-c", 'echo "bad $TOKEN" >&2; exit 3'], step="do the thing")
    assert raised.value.message == "do the thing failed (rc=3): bad ********"
    assert raised.value.details["rc"] == 3 and "s3cret" not in repr(raised.value.details)


def test_unchecked_run_returns_rc():
    assert Runner().run(["false"], step="x", check=False)[0] == 1


def test_module_adapter_maps_env_to_environ_update():
    class FakeModule:
        def run_command(self, args, cwd=None, environ_update=None, check_rc=True):
            return 0, repr((args, cwd, environ_update, check_rc)), ""

    dummy, out, dummy = module_run_command(FakeModule())(("git", "status"), cwd="/srv", env={"A": "1"})
    assert out == repr((["git", "status"], "/srv", {"A": "1"}, False))


def _fake_systemctl(tmp_path, script):
    """A program in systemctl's place: records its arguments in args.txt, then runs `script`."""
    program = tmp_path / "systemctl"
    program.write_text('#!/bin/sh\nprintf "%s\\n" "$@" > "$(dirname "$0")/args.txt"\n' + script)
    program.chmod(0o755)
    return str(program)


def test_systemctl_show_gives_one_dict_per_unit_in_order(tmp_path):
    systemctl = _fake_systemctl(tmp_path, "printf 'ActiveState=active\\nUnitFileState=enabled\\n\\nActiveState=inactive\\nUnitFileState=\\n'\n")
    rc, units, unused_err = systemctl_show(systemctl, ["a.service", "b.socket"], ["ActiveState", "UnitFileState"], subprocess_run_command)
    assert rc == 0
    assert units == [{"ActiveState": "active", "UnitFileState": "enabled"}, {"ActiveState": "inactive", "UnitFileState": ""}]
    assert (tmp_path / "args.txt").read_text().split() == ["show", "--property=ActiveState,UnitFileState", "--", "a.service", "b.socket"]


def test_systemctl_show_failure_gives_no_units_and_the_error(tmp_path):
    systemctl = _fake_systemctl(tmp_path, "echo 'Failed to connect to bus' >&2; exit 1\n")
    assert systemctl_show(systemctl, ["a.service"], ["ActiveState"], subprocess_run_command) == (1, [], "Failed to connect to bus\n")

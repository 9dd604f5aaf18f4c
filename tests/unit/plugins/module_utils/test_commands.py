from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from ansible.module_utils import basic

from ansible_collections.stagecraft.webapp.plugins.module_utils._commands import (
    CommandLine, Runner, as_args, as_config, as_flag, as_option, cause_and_tail, hidden_forms, module_run_command, redacting,
    subprocess_run_command, systemctl_show,
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


# Vite 8 under Node 18, as `npm run build` prints it: the cause, then a stack, then npm's epilogue.
VITE_ON_NODE_18 = "\n".join(
    ["> vite build", "file:///srv/app/node_modules/vite/dist/node/cli.js:4", "import { styleText } from 'node:util';", "         ^^^^^^^^^",
     "SyntaxError: The requested module 'node:util' does not provide an export named 'styleText'"]
    + ["    at frame{0} (node:internal/modules/esm/module_job:{0}:5)".format(number) for number in range(30)] + ["", "Node.js v18.20.4"])


def test_a_failure_shows_its_first_error_lines_once_then_its_last_lines():
    runner = Runner()
    with pytest.raises(DeployError) as raised:
        runner.run(["sh", "-c", 'printf "%s\\n" "$1" >&2; exit 1', "sh", VITE_ON_NODE_18], step="npm run build")
    message = raised.value.message
    assert message.count("SyntaxError: The requested module 'node:util' does not provide an export named 'styleText'") == 1
    assert message.endswith("Node.js v18.20.4") and "frame29" in message and "frame8 " not in message
    assert "\n...\n" in message


@pytest.mark.parametrize("text", ["one\ntwo", "\n".join(["ERROR: no such package"] + ["line"] * 5)])
def test_output_whose_cause_is_among_its_last_lines_is_shown_as_it_is(text):
    assert cause_and_tail(text) == text


DATABASE_URL = "postgresql://shop:pa%2Fss-w0rd@db.internal:5432/shop"
DEPLOY_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmU\nQyNTUxOQAAACBzdGFnZWNyYWZ0LXRlc3Q\n-----END OPENSSH PRIVATE KEY-----\n"
FAIL_PRINTING_ARGUMENT = ["sh", "-c", 'echo "Traceback: cannot connect to $1" >&2; exit 1', "sh"]


@pytest.mark.parametrize("printed", [
    DATABASE_URL,
    quote(DATABASE_URL, safe=""),  # handed on as a query parameter
    "pa%2Fss-w0rd",  # the URL's password as the URL spells it
    "pa/ss-w0rd",  # the password decoded, as a database driver prints it
    DEPLOY_KEY,
    DEPLOY_KEY.splitlines()[1],  # one line of a multi-line value
])
def test_a_failure_shows_no_spelling_of_a_secret(printed):
    runner = Runner(secrets=[DATABASE_URL, DEPLOY_KEY])
    with pytest.raises(DeployError) as raised:
        runner.run(FAIL_PRINTING_ARGUMENT + [printed], step="migrate")
    shown = raised.value.message + repr(raised.value.details)
    assert raised.value.message.startswith("migrate failed (rc=1): Traceback: cannot connect to ********")
    assert not any(piece in shown for piece in ("pa%2Fss", "pa/ss", "b3BlbnNzaC1rZXktdjEAAAAABG5vbmU", "QyNTUxOQAAACBzdGFnZWNyYWZ0LXRlc3Q"))


def test_values_shorter_than_four_characters_are_not_hidden():
    # One to three characters occur by chance in any output: hiding them would hide the output, not the value.
    assert hidden_forms(["a", "on", "443", "", None]) == []
    assert Runner(secrets=["on", "k3y!"]).run(["echo", "on k3y! k3y%21"], step="x")[1] == "on ******** ********\n"


def test_longer_spellings_are_hidden_whole():
    # Longest first: a URL is replaced as a whole before its password alone.
    assert hidden_forms(["https://ci:t0ken@pypi.internal/simple"]) == [
        "https%3A%2F%2Fci%3At0ken%40pypi.internal%2Fsimple", "https%3A//ci%3At0ken%40pypi.internal/simple", "https://ci:t0ken@pypi.internal/simple", "t0ken"]


def test_redacting_run_command_hides_secrets_from_every_caller():
    run_command = redacting(subprocess_run_command, ["s3cret-value"])
    assert run_command(["sh", "-c", "echo s3cret-value; echo s3cret-value >&2; exit 4"]) == (4, "********\n", "********\n")


def test_unchecked_run_returns_rc():
    assert Runner().run(["false"], step="x", check=False)[0] == 1


def test_module_adapter_maps_env_to_environ_update():
    class FakeModule:
        def run_command(self, args, cwd=None, environ_update=None, check_rc=True, expand_user_and_vars=True):
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


def test_a_real_module_passes_command_text_to_the_program_untouched(monkeypatch):
    """AnsibleModule.run_command expands `$HOME`, `$USER` and `~` itself unless told not to: a hook's
    `touch $HOME/x` would reach sh as root's path. The program must see the text as written."""
    monkeypatch.setattr(basic, "_ANSIBLE_ARGS", json.dumps({"ANSIBLE_MODULE_ARGS": {}}).encode())
    monkeypatch.setattr(basic, "_ANSIBLE_PROFILE", "legacy")
    monkeypatch.setenv("HOME", "/root-of-the-module")
    module = basic.AnsibleModule(argument_spec={})
    rc, out, dummy = module_run_command(module)(["/bin/sh", "-c", "echo $HOME ~ ${USER-none}", "~", "$HOME"], env={"HOME": "/srv/app", "USER": "app"})
    assert (rc, out) == (0, "/srv/app /srv/app app\n")
    rc, out, dummy = module_run_command(module)(["printf", "%s|", "~", "$HOME", "~/x"])
    assert out == "~|$HOME|~/x|"


def test_a_failure_shows_the_last_lines_of_its_output_once():
    with pytest.raises(DeployError) as raised:
        Runner().run(["sh", "-c", "seq 1 30 >&2; echo ERROR: No matching distribution >&2; exit 1"], step="pip install")
    lines = raised.value.message.splitlines()
    assert lines[0] == "pip install failed (rc=1): 12" and lines[-1] == "ERROR: No matching distribution" and len(lines) == 20
    assert set(raised.value.details) == {"step", "rc", "cmd"}

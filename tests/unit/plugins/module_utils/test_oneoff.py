from __future__ import annotations

import json

import pytest

from ansible_collections.stagecraft.webapp.plugins.module_utils._commands import subprocess_run_command
from ansible_collections.stagecraft.webapp.plugins.module_utils._errors import DeployError
from ansible_collections.stagecraft.webapp.plugins.module_utils._oneoff import RUNS, recent_logs, run_command_once
from ansible_collections.stagecraft.webapp.plugins.module_utils._steps import Call

SECRET = "s3cret-value"
RELEASE = "20260101T000000Z-abcdef0"


@pytest.fixture
def base(tmp_path):
    """An environment with a serving release and an environment file naming one secret."""
    release = tmp_path / "releases" / RELEASE
    release.mkdir(parents=True)
    (release / ".stagecraft-release.json").write_text(json.dumps({"commit": "c0ffee" * 6 + "c0ff", "state": "good"}))
    (tmp_path / "current").symlink_to("releases/" + RELEASE)
    (tmp_path / "env").write_text("GREETING=hello\n# stagecraft-secrets: TOKEN\nTOKEN={0}\n".format(SECRET))
    return tmp_path


def params(base, command):
    return {"path": str(base), "command": command, "user": None, "env_file": str(base / "env"), "who": "alice", "job_id": None}


def runs(base):
    return [json.loads(line) for line in (base / RUNS).read_text().splitlines()]


def test_a_command_runs_in_the_serving_release_with_the_apps_environment_and_is_recorded(base):
    done = run_command_once(Call(params(base, 'echo "$(pwd) $GREETING $VIRTUAL_ENV" ~'), False, subprocess_run_command))
    release = base / "releases" / RELEASE
    assert done["rc"] == 0 and done["stdout"] == "{0} hello {0}/.venv {1}\n".format(release, base)
    [entry] = runs(base)
    assert (entry["who"], entry["command"], entry["release_id"], entry["rc"]) == ("alice", 'echo "$(pwd) $GREETING $VIRTUAL_ENV" ~', RELEASE, 0)


def test_a_failing_command_fails_with_its_status_output_and_record(base):
    with pytest.raises(DeployError, match="the command exited with status 7 in release " + RELEASE) as failed:
        run_command_once(Call(params(base, 'echo "$TOKEN" >&2; exit 7'), False, subprocess_run_command))
    assert failed.value.details["rc"] == 7 and failed.value.details["stderr"] == "********\n"
    assert runs(base)[-1]["rc"] == 7


def test_check_mode_runs_nothing_and_nothing_serving_is_named(base, tmp_path_factory):
    done = run_command_once(Call(params(base, "touch ran"), True, subprocess_run_command))
    assert (done["release_id"], done["rc"]) == (RELEASE, None) and not (base / "releases" / RELEASE / "ran").exists() and not (base / RUNS).exists()
    empty = tmp_path_factory.mktemp("empty")
    with pytest.raises(DeployError, match="nothing serves in .* yet: deploy first"):
        run_command_once(Call(params(empty, "true"), False, subprocess_run_command))


def test_logs_are_the_newest_lines_of_each_source_with_secrets_hidden(base):
    log = base / "access.log"
    log.write_text("".join("line {0} {1}\n".format(number, SECRET if number == 9 else "") for number in range(10)))
    asked = []

    def journalctl(argv, cwd=None, env=None):
        asked.append(argv)
        return 0, "unit says {0}\n".format(SECRET), ""

    done = recent_logs(Call({"instance": "shop-prod", "lines": 2, "env_file": str(base / "env"), "files": [str(log), str(base / "missing.log")]},
                            True, journalctl))
    assert done["sources"] == ["shop-prod.service", "shop-prod@*.service", str(log)]
    assert done["logs"][str(log)] == ["line 8 ", "line 9 ********"]
    assert done["logs"]["shop-prod.service"] == ["unit says ********"] and not done["changed"]
    assert [argv[-1] for argv in asked] == ["shop-prod.service", "shop-prod@*.service"] and all("2" in argv for argv in asked)
    assert done["shown"][:2] == ["==> shop-prod.service <==", "unit says ********"]

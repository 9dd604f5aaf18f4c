"""The deploy module's one call (module_utils/_steps.py) on real git repositories and real virtual
environments in temporary folders. Activating needs systemd. Stand-in: a `systemctl` on PATH that
fails as systemctl does for a unit that does not exist, so the activate step fails when it starts
the candidate, which is how these tests reach the failure path; the molecule scenario deploy
proves the healthy path."""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from ansible_collections.stagecraft.webapp.plugins.module_utils import _snapshot
from ansible_collections.stagecraft.webapp.plugins.module_utils._commands import subprocess_run_command
from ansible_collections.stagecraft.webapp.plugins.module_utils._errors import DeployError
from ansible_collections.stagecraft.webapp.plugins.module_utils._marks import add_mark, make_mark
from ansible_collections.stagecraft.webapp.plugins.module_utils._release import MARKER
from ansible_collections.stagecraft.webapp.plugins.module_utils._release import set_state
from ansible_collections.stagecraft.webapp.plugins.module_utils._repository import not_a_local_repository
from ansible_collections.stagecraft.webapp.plugins.module_utils._steps import (
    APP_SPEC, BUILD_SPEC, HEALTH_SPEC, ONCE_SPEC, RELEASE_SPEC, SNAPSHOT_SPEC, Call, deploy, lock, prune_releases, restore_snapshot, serving_now)

TIME = "20261122T190507Z"


def defaults(spec):
    """AnsibleModule's defaults: a dict option's suboptions' defaults; a list of dicts' own default."""
    return {name: (defaults(option["options"]) if "options" in option and option["type"] == "dict" else option.get("default"))
            for name, option in spec.items()}


@pytest.fixture
def base(tmp_path):
    """The environment's directory, which the gunicorn role makes before any deploy."""
    path = tmp_path / "srv" / "shop" / "prod"
    path.mkdir(parents=True)
    return path


@pytest.fixture
def service_record(tmp_path, monkeypatch):
    """The gunicorn role's record of a service whose units systemctl (the stand-in) does not know."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "systemctl").write_text('#!/bin/sh\necho "Unit $2 not found." >&2\nexit 5\n')
    (bin_dir / "systemctl").chmod(0o755)
    monkeypatch.setenv("PATH", "{0}:{1}".format(bin_dir, os.environ["PATH"]))
    record = tmp_path / "gunicorn.json"
    record.write_text(json.dumps({"unit": "shop-prod.service", "listen": "unix", "socket": str(tmp_path / "shop.sock"), "socket_activation": False,
                                  "candidate_unit": "shop-prod@.service", "candidate_socket": str(tmp_path / "shop-%i.sock")}))
    return record


@pytest.fixture
def params(origin, base, service_record, pip_gunicorn):
    """The deploy module's parameters as AnsibleModule hands them over: every default, then ours."""
    values = {**defaults(RELEASE_SPEC), **defaults(APP_SPEC), **defaults(ONCE_SPEC), **defaults(BUILD_SPEC), **defaults(HEALTH_SPEC),
              **defaults(SNAPSHOT_SPEC)}
    values.update(path=str(base), repo=str(origin.path), version="main", timestamp=TIME, holder_id=TIME + "-1", phase="all", release_id="",
                  ref="", keep=5, who="alice", job_id=None, built_changed=False, allow_rolled_back=False, python="python3", service_record=str(service_record))
    # The origin's requirements.txt pins flask: an empty one and a local gunicorn wheel build a real environment without the network.
    values.update(requirements=["empty-requirements.txt"], pip_args=pip_gunicorn())
    return values


@pytest.fixture
def origin_without_network(origin):
    origin.commit("empty requirements", {"empty-requirements.txt": ""})
    return origin


def run(params, check_mode=False):
    return deploy(Call(params, check_mode, subprocess_run_command))


def records(base):
    path = base / "deploys.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_build_phase_makes_and_builds_and_keeps_the_lock(params, base, origin_without_network):
    result = run(dict(params, phase="build"))
    assert result["changed"] and result["commit"] == origin_without_network.sha("main")
    assert list(result["steps"]) == ["lock", "release", "build"]
    release = base / "releases" / result["release_id"]
    assert (release / "REVISION").read_text().strip() == result["commit"]
    assert os.path.islink(release / ".venv") and result["steps"]["build"]["venv_built"]
    lock = json.loads((base / "deploy.lock").read_text())
    assert (lock["owner"], lock["holder_id"]) == ("alice", params["holder_id"])
    # Nothing serves yet and nothing is recorded: the activate phase does that.
    assert serving_now(str(base)) == ("", "") and records(base) == []
    # Another run cannot take the lock meanwhile.
    with pytest.raises(DeployError, match="lock step: deploy lock .* is held by alice") as refused:
        run(dict(params, holder_id="another-run"))
    assert refused.value.details["recorded"] is False


def test_a_failing_step_is_recorded_names_itself_and_gives_the_lock_back(params, base, origin_without_network):
    built = run(dict(params, phase="build"))
    with pytest.raises(DeployError) as failed:
        run(dict(params, phase="activate", release_id=built["release_id"], built_changed=True))
    assert str(failed.value).startswith("activate step: ") and "Unit shop-prod@{0}.service not found".format(built["release_id"]) in str(failed.value)
    assert failed.value.details["step"] == "activate" and failed.value.details["recorded"] is True
    assert not (base / "deploy.lock").exists()
    [entry] = records(base)
    assert (entry["outcome"], entry["who"], entry["ref"], entry["commit"], entry["release_id"]) == (
        "failed", "alice", "main", built["commit"], built["release_id"])


def test_the_record_names_the_ref_asked_for_when_the_play_resolved_it(params, base, origin_without_network):
    commit = origin_without_network.sha("main")
    built = run(dict(params, phase="build", version=commit, ref="main"))
    with pytest.raises(DeployError):
        run(dict(params, phase="activate", version=commit, ref="main", release_id=built["release_id"]))
    assert [(entry["ref"], entry["commit"]) for entry in records(base)] == [("main", commit)]


def test_a_missing_ref_fails_at_the_release_step_before_anything_is_made(params, base, origin_without_network):
    with pytest.raises(DeployError, match="release step: ref 'no-such-branch' is not a branch, tag or commit") as failed:
        run(dict(params, version="no-such-branch"))
    assert failed.value.details["step"] == "release"
    assert not (base / "deploy.lock").exists()
    assert not (base / "releases").exists() or os.listdir(base / "releases") == []
    assert [entry["outcome"] for entry in records(base)] == ["failed"]


def test_a_rolled_back_commit_is_refused_at_the_release_step_unrecorded_unless_allowed(params, base, origin_without_network):
    bad = origin_without_network.sha("main")
    add_mark(str(base), make_mark(bad, "20261122T180000Z-" + bad[:7], datetime.datetime(2026, 11, 22, 18, 0, tzinfo=datetime.timezone.utc), "bob"))
    for check_mode in (True, False):
        with pytest.raises(DeployError, match=f"release step: commit {bad[:12]} was rolled back on 2026-11-22T18:00:00Z by bob; ") as refused:
            run(params, check_mode=check_mode)
        assert refused.value.details["recorded"] is False
    assert not (base / "deploy.lock").exists() and not (base / "releases").exists() and records(base) == []
    built = run(dict(params, phase="build", allow_rolled_back=True))
    assert built["commit"] == bad and built["changed"]


def test_check_mode_names_the_commit_and_changes_nothing(params, base, origin_without_network):
    result = run(params, check_mode=True)
    assert result["changed"] and result["commit"] == origin_without_network.sha("main")
    assert result["release_id"] == TIME + "-" + result["commit"][:7]
    assert result["diff"]["after"]["release"] == {"release": result["release_id"], "commit": result["commit"]}
    assert not (base / "releases").exists() and not (base / "deploy.lock").exists() and records(base) == []


def test_the_activate_phase_needs_the_release_the_build_made(params, base, origin_without_network):
    with pytest.raises(DeployError, match="needs the release_id"):
        run(dict(params, phase="activate"))
    assert not (base / "deploy.lock").exists()


def test_a_host_not_ready_is_refused_before_the_lock(params, base, origin_without_network, tmp_path, monkeypatch):
    with_git = os.environ["PATH"]
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))  # the stand-in systemctl, no git
    not_ready = dict(params, service_record=str(tmp_path / "no-such-record.json"), ssh_key=str(tmp_path / "no-key"),
                     known_hosts=str(tmp_path / "no-known-hosts"))
    with pytest.raises(DeployError) as refused:
        run(not_ready)
    assert str(refused.value) == (
        "this host is not ready to deploy: git is not installed (the deploy role installs it); {0}/no-such-record.json does not exist (run "
        "the gunicorn role of this app and environment first); {0}/no-key does not exist (the deploy role writes it); {0}/no-known-hosts "
        "does not exist (the deploy role writes it)".format(tmp_path))
    assert refused.value.details == {"step": "check", "recorded": False}
    assert os.listdir(base) == [] and records(base) == []
    # In check mode a new host has no record yet: what would be deployed is still answered.
    monkeypatch.setenv("PATH", with_git)
    assert run(dict(params, service_record=not_ready["service_record"]), check_mode=True)["changed"]


@pytest.mark.parametrize("repo", ["{tmp}/etc", "file://{tmp}/etc"])
def test_a_repository_on_the_host_that_is_none_is_refused_before_the_lock(params, base, tmp_path, repo):
    (tmp_path / "etc").mkdir()
    url = repo.format(tmp=tmp_path)
    for check_mode in (True, False):
        with pytest.raises(DeployError) as refused:
            run(dict(params, repo=url), check_mode=check_mode)
        assert str(refused.value) == ("this host is not ready to deploy: repo {0} is not a git repository on the host (it has neither HEAD nor .git): "
                                      "a path or file:// URL names a repository on the host itself".format(url))
        assert refused.value.details == {"step": "check", "recorded": False}
        assert os.listdir(base) == [] and records(base) == []
    # A work tree (.git) or a bare repository (HEAD) is one.
    (tmp_path / "etc" / ".git").mkdir()
    assert not_a_local_repository(url) == ""
    assert not_a_local_repository("https://git.example.com/shop.git") == "" and not_a_local_repository("git@example.com:shop.git") == ""


def run_module(name, args, tmp_path):
    """The collection's module `name` run as Ansible runs it on a host: its JSON answer, and its whole output."""
    args_file = tmp_path / "args.json"
    # Options left out, as a task leaves them out (None would count as given).
    args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": dict((name, value) for name, value in args.items() if value is not None)}))
    collections = Path(__file__).resolve().parents[4] / "collections"
    completed = subprocess.run([sys.executable, "-m", "ansible_collections.stagecraft.webapp.plugins.modules." + name, str(args_file)],
                               capture_output=True, text=True, check=False, env=dict(os.environ, PYTHONPATH=str(collections)))
    return json.loads(completed.stdout), completed.stdout + completed.stderr


def test_a_failing_hook_shows_what_failed_and_none_of_the_apps_secrets(params, base, origin_without_network, tmp_path):
    """A build hook that prints the app's environment and the deploy key, as a failing migration's traceback might."""
    env_file = tmp_path / "env"
    env_file.write_text('APP_ENV="production"\n# stagecraft-secrets: DATABASE_URL API_KEY\n'
                        'DATABASE_URL="postgresql://shop:c4n4ry%40pw@db.internal/shop"\nAPI_KEY="c4n4ry-api-key"\n')
    key, known_hosts = tmp_path / "deploy_key", tmp_path / "known_hosts"
    key.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nc4n4ryKeyLineb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n")
    key.chmod(0o600)
    known_hosts.write_text("")
    # The password decoded, as a database driver prints it.
    password = "import os, urllib.parse as p; print('password:', p.unquote(p.urlsplit(os.environ['DATABASE_URL']).password))"
    hook = 'env | grep -E "^(APP_ENV|DATABASE_URL|API_KEY)="; echo "cannot connect to $DATABASE_URL"; python3 -c "{0}"; cat {1}; exit 3'.format(password, key)
    args = dict(params, env_file=str(env_file), ssh_key=str(key), known_hosts=str(known_hosts), hooks={"before_build": [hook]},
                pip_env={"PIP_INDEX_URL": "https://ci:c4n4ry-pip@pypi.internal/simple"})
    answer, output = run_module("deploy", args, tmp_path)
    assert answer["failed"] and answer["msg"].startswith("build step: before_build hook 1 (env | grep")
    assert "failed (rc=3): " in answer["msg"] and "********" in answer["msg"]
    assert "APP_ENV=production" in answer["msg"] and "DATABASE_URL=********" in answer["msg"]
    assert "c4n4ry" not in output
    assert "c4n4ry" not in (base / "deploys.jsonl").read_text()


def test_a_secret_too_short_to_hide_is_named_in_a_warning(base, tmp_path):
    env_file = tmp_path / "env"
    env_file.write_text('# stagecraft-secrets: PIN API_KEY\nPIN="123"\nAPI_KEY="long enough"\n')
    answer, dummy = run_module("build", {"path": str(base), "release_id": "none", "env_file": str(env_file)}, tmp_path)
    # ansible-core 2.19 sends each warning as an event.
    assert [warning["event"]["msg"] for warning in answer["warnings"]] == ["secrets shorter than 4 characters are not hidden in output: PIN"]


# Interrupted deploys: the deploy process killed, or its controller gone.

COLLECTIONS = os.path.join(os.path.dirname(__file__), *[os.pardir] * 4, "collections")
DEPLOY_IN_A_PROCESS = """
import json, sys
from ansible_collections.stagecraft.webapp.plugins.module_utils._commands import subprocess_run_command
from ansible_collections.stagecraft.webapp.plugins.module_utils._errors import DeployError
from ansible_collections.stagecraft.webapp.plugins.module_utils._steps import Call, deploy
try:
    deploy(Call(json.loads(sys.argv[1]), False, subprocess_run_command))
except DeployError as exc:
    print(exc.message)
"""


def deploy_in_a_process(params, after_build):
    """The deploy module's work in a process of its own, as on a host; `after_build` is a hook command that signals it ($PPID)."""
    hooks = dict(params["hooks"], after_build=[after_build])
    return subprocess.run([sys.executable, "-c", DEPLOY_IN_A_PROCESS, json.dumps(dict(params, hooks=hooks))], capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=COLLECTIONS), timeout=300, check=False)


@pytest.fixture
def main_serves(params, base, origin_without_network):
    """main's release made and pointed at by `current`, as a switch leaves it (the stand-in systemd cannot start it)."""
    built = run(dict(params, phase="build", holder_id="run-0"))
    lock(Call(dict(params, state="absent", holder_id="run-0"), False, subprocess_run_command))
    os.symlink(os.path.join("releases", built["release_id"]), base / "current")
    return built


def test_a_deploy_killed_midway_is_taken_over_and_recorded_as_interrupted_by_the_next(params, base, origin_without_network, main_serves):
    change = origin_without_network.commit("a change")
    killed = deploy_in_a_process(dict(params, timestamp="20261122T200000Z"), "kill -9 $PPID")
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    dead = json.loads((base / "deploy.lock").read_text())
    assert (dead["owner"], dead["commit"]) == ("alice", change) and records(base) == []

    with pytest.raises(DeployError) as failed:  # the stand-in systemd: the activate step fails
        run(dict(params, who="bob", holder_id="run-2"))
    assert failed.value.details["lock_taken_over"]["holder_id"] == params["holder_id"]
    assert failed.value.details["warnings"] == [
        "took over the deploy lock of alice (holder id {0}): its process {1} no longer runs; its deploy is recorded as interrupted".format(
            params["holder_id"], dead["pid"])]
    interrupted, own = records(base)
    assert (interrupted["outcome"], interrupted["who"], interrupted["ref"], interrupted["started"]) == ("interrupted", "alice", "main", "2026-11-22T20:00:00Z")
    assert (interrupted["commit"], interrupted["previous_commit"], interrupted["release_id"]) == (change, main_serves["commit"], dead["release_id"])
    assert (own["who"], own["outcome"], own["previous_commit"]) == ("bob", "failed", main_serves["commit"])
    assert not (base / "deploy.lock").exists()


def test_a_deploy_whose_controller_hangs_up_finishes_records_and_gives_the_lock_back(params, base, origin_without_network):
    """A controller that dies closes the SSH session: the module gets SIGHUP (its terminal hung up) and must carry on."""
    finished = deploy_in_a_process(params, "kill -HUP $PPID")
    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.startswith("activate step: ")  # it went on to the switch, which the stand-in systemd fails
    assert [entry["outcome"] for entry in records(base)] == ["failed"]
    assert not (base / "deploy.lock").exists()


def test_the_build_phase_keeps_the_lock_naming_no_process(params, base, origin_without_network):
    """Between the phases no process holds the lock: it must not look like a dead holder to another run."""
    run(dict(params, phase="build"))
    held = json.loads((base / "deploy.lock").read_text())
    assert (held["pid"], held["pid_start"]) == (None, None)
    with pytest.raises(DeployError, match="no process holds it between the tasks of a run"):
        run(dict(params, holder_id="another-run"))


def test_after_a_switch_killed_before_its_restart_the_previous_commit_is_what_served_before_it(params, base, origin_without_network, main_serves):
    """The killed run left `current` on its release (not yet proved good): the next run's previous commit is main's, never its own."""
    set_state(str(base / "releases" / main_serves["release_id"]), "good")
    change = origin_without_network.commit("a change")
    killed = deploy_in_a_process(dict(params, timestamp="20261122T200000Z"), "kill -9 $PPID")
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    dead = json.loads((base / "deploy.lock").read_text())
    (base / "current").unlink()
    os.symlink(os.path.join("releases", dead["release_id"]), base / "current")  # its switch, without the restart

    with pytest.raises(DeployError):  # the stand-in systemd: the activate step fails
        run(dict(params, who="bob", holder_id="run-2"))
    assert [(entry["outcome"], entry["commit"], entry["previous_commit"]) for entry in records(base)] == [
        ("interrupted", change, main_serves["commit"]), ("failed", change, main_serves["commit"])]


def test_a_current_release_whose_service_cannot_be_repaired_fails_loudly(params, base, origin_without_network):
    """The per-push deploy of the version that is current already, with a service that does not answer and
    cannot be started (the stand-in systemctl knows no unit): a failure that says so, recorded, never 'unchanged'."""
    built = run(dict(params, phase="build"))
    release = base / "releases" / built["release_id"]
    marker = json.loads((release / MARKER).read_text())
    (release / MARKER).write_text(json.dumps(dict(marker, state="good")))
    os.symlink("releases/" + built["release_id"], str(base / "current"))
    with pytest.raises(DeployError, match=r"activate step: release {0} is current but shop-prod.service does not answer its health check "
                                          r"\(FileNotFoundError.*a restart did not help".format(built["release_id"])) as failed:
        run(dict(params, phase="activate", release_id=built["release_id"]))
    assert failed.value.details["recorded"] is True
    assert not (base / "deploy.lock").exists()
    assert [(entry["outcome"], entry["release_id"]) for entry in records(base)] == [("failed", built["release_id"])]


# ---------------------------------------------------------------------------------------------
# The data's snapshot and a rollback's restore
# ---------------------------------------------------------------------------------------------

CANARY = "canary-d4t4-s3cr3t"


def app_data(base, name):
    """shared/db.sqlite3 holding one row `name`, and an upload in shared/media (replaced, as uploads are)."""
    (base / "shared" / "media").mkdir(parents=True, exist_ok=True)
    (base / "shared" / "media" / "upload.new").write_text(name)
    os.replace(base / "shared" / "media" / "upload.new", base / "shared" / "media" / "upload.txt")
    with contextlib.closing(sqlite3.connect(str(base / "shared" / "db.sqlite3"))) as db:
        db.execute("DROP TABLE IF EXISTS item")
        db.execute("CREATE TABLE item (name TEXT)")
        db.execute("INSERT INTO item VALUES (?)", (name,))
        db.commit()


def app_rows(base):
    with contextlib.closing(sqlite3.connect(str(base / "shared" / "db.sqlite3"))) as db:
        return [row[0] for row in db.execute("SELECT name FROM item")]


@pytest.fixture
def with_snapshots(params, tmp_path):
    env_file = tmp_path / "env"
    env_file.write_text("SECRET_KEY={0}\n# stagecraft-secrets: SECRET_KEY\n".format(CANARY))
    return dict(params, snapshot_databases=["db.sqlite3"], snapshot_dirs=["media"], env_file=str(env_file))


def test_a_deploy_snapshots_the_data_before_the_switch_hooks(with_snapshots, base, origin_without_network):
    app_data(base, "before")
    # The stand-in systemd fails the activate step; the before_switch hook would have run after the snapshot.
    with pytest.raises(DeployError, match="activate step: "):
        run(dict(with_snapshots, hooks={"before_switch": ["echo migrated > ../../shared/media/migrated"]}))
    [release_id] = os.listdir(base / "releases")
    manifest = json.loads((base / "snapshots" / release_id / "manifest.json").read_text())
    assert [(item["path"], item["present"]) for item in manifest["items"]] == [("db.sqlite3", True), ("media", True)]
    assert not (base / "snapshots" / release_id / "shared" / "media" / "migrated").exists()
    assert CANARY not in json.dumps(manifest)


def test_before_build_takes_it_before_the_build_and_the_result_lists_it(with_snapshots, base, origin_without_network):
    app_data(base, "before")
    result = run(dict(with_snapshots, phase="build", snapshot_before="before_build"))
    assert list(result["steps"]) == ["lock", "release", "snapshot", "build"]
    assert result["snapshot"]["release_id"] == result["release_id"]
    assert result["snapshot"]["holds"].startswith("db.sqlite3 (") and "media (1 files, 6 bytes)" in result["snapshot"]["holds"]
    assert CANARY not in json.dumps(result)


def test_a_snapshot_above_the_bound_fails_before_any_hook_and_is_recorded(with_snapshots, base, origin_without_network):
    app_data(base, "before")
    with pytest.raises(DeployError, match=r"snapshot step: a snapshot would hold \d+ bytes .* above the bound of 10 ") as failed:
        run(dict(with_snapshots, snapshot_max_bytes=10, hooks={"before_switch": ["touch ../../shared/hook-ran"]}))
    assert failed.value.details["step"] == "snapshot" and not (base / "shared" / "hook-ran").exists()
    assert [entry["outcome"] for entry in records(base)] == ["failed"] and not (base / "deploy.lock").exists()


def test_a_failing_pre_snapshot_command_fails_the_deploy_before_any_hook_without_its_output(with_snapshots, base, origin_without_network):
    app_data(base, "before")
    with pytest.raises(DeployError) as failed:
        run(dict(with_snapshots, snapshot_pre_command="echo 'pg_dump: password {0} refused' >&2; exit 2".format(CANARY),
                 hooks={"before_switch": ["touch ../../shared/hook-ran"]}))
    assert str(failed.value).startswith("snapshot step: the pre_snapshot command failed (exit status 2), so no snapshot was taken")
    assert failed.value.details["step"] == "snapshot" and not (base / "shared" / "hook-ran").exists()
    assert CANARY not in str(failed.value) + json.dumps(failed.value.details)


@pytest.fixture
def new_release_serves(with_snapshots, base, origin_without_network, main_serves):
    """main's release good, then a newer one (its snapshot taken before it came in) current and good; the app wrote since."""
    set_state(str(base / "releases" / main_serves["release_id"]), "good")
    app_data(base, "before")
    origin_without_network.commit("a change")
    built = run(dict(with_snapshots, phase="build", snapshot_before="before_build", timestamp="20261122T200000Z", holder_id="run-1"))
    lock(Call(dict(with_snapshots, state="absent", holder_id="run-1"), False, subprocess_run_command))
    set_state(str(base / "releases" / built["release_id"]), "good")
    (base / "current").unlink()
    os.symlink(os.path.join("releases", built["release_id"]), base / "current")
    app_data(base, "after")
    return built


def test_a_rollback_with_restore_data_puts_the_data_back_and_says_what_is_lost(with_snapshots, base, new_release_serves):
    with pytest.raises(DeployError) as failed:  # the stand-in systemd fails the switch back, after the restore
        run(dict(with_snapshots, rollback=True, restore_data=True, holder_id="run-2"))
    assert app_rows(base) == ["before"] and (base / "shared" / "media" / "upload.txt").read_text() == "before"
    message = str(failed.value)
    assert message.startswith("activate step: ")
    assert message.endswith("; the data had been restored to the snapshot of {0} ({1}) before this failure".format(
        new_release_serves["release_id"], new_release_serves["snapshot"]["taken"]))
    [warning] = failed.value.details["warnings"]
    assert warning.startswith("restored the snapshot taken {0} before release {1} was switched in (db.sqlite3 (".format(
        new_release_serves["snapshot"]["taken"], new_release_serves["release_id"]))
    assert "): data written to db.sqlite3, media since {0} is lost (changed since the snapshot: db.sqlite3, media)".format(
        new_release_serves["snapshot"]["taken"]) in warning
    assert CANARY not in message + warning


def test_a_rollback_without_restore_data_keeps_the_data_and_says_the_snapshot_exists(with_snapshots, base, new_release_serves):
    with pytest.raises(DeployError) as failed:
        run(dict(with_snapshots, rollback=True, holder_id="run-2"))
    assert app_rows(base) == ["after"]
    [warning] = failed.value.details["warnings"]
    assert warning.startswith("data written since release {0} was switched in stays as it is; its snapshot, taken {1} before the switch".format(
        new_release_serves["release_id"], new_release_serves["snapshot"]["taken"]))
    assert warning.endswith("playbooks/rollback.yml -e restore_data=true restores it during a rollback")


def test_restore_data_without_a_snapshot_is_refused_before_anything_changes(params, base, origin_without_network, main_serves):
    set_state(str(base / "releases" / main_serves["release_id"]), "good")
    with pytest.raises(DeployError, match="restore step: no good release before") as failed:
        run(dict(params, rollback=True, restore_data=True))
    assert failed.value.details["step"] == "restore"
    previous = main_serves["release_id"]
    origin_without_network.commit("a change")
    built = run(dict(params, phase="build", timestamp="20261122T200000Z", holder_id="run-1"))
    lock(Call(dict(params, state="absent", holder_id="run-1"), False, subprocess_run_command))
    (base / "current").unlink()
    os.symlink(os.path.join("releases", built["release_id"]), base / "current")
    with pytest.raises(DeployError, match="restore step: cannot restore data: release {0}, which the rollback leaves, has no snapshot".format(
            built["release_id"])) as refused:
        run(dict(params, rollback=True, restore_data=True, holder_id="run-2"))
    assert refused.value.details["recorded"] is False and not (base / "deploy.lock").exists()
    assert os.readlink(base / "current") == os.path.join("releases", built["release_id"]) and previous != built["release_id"]


def test_prune_removes_a_snapshot_with_its_release(with_snapshots, base, new_release_serves, main_serves):
    old = base / "snapshots" / main_serves["release_id"]
    (old / "shared").mkdir(parents=True)  # a snapshot of the release about to be pruned
    (old / "manifest.json").write_text(json.dumps({"release_id": main_serves["release_id"], "taken": "2026-11-22T19:05:00Z", "bytes": 0, "items": []}))
    pruned = prune_releases(Call(dict(with_snapshots, keep=1, protect=[]), False, subprocess_run_command))
    assert pruned["removed"] == [main_serves["release_id"]] and pruned["removed_snapshots"] == [main_serves["release_id"]]
    assert os.listdir(base / "snapshots") == [new_release_serves["release_id"]]


def test_restore_yml_puts_a_scheduled_snapshot_back_and_says_what_is_lost(tmp_path):
    app_data(tmp_path, "before")
    a_day_ago = datetime.datetime.now().timestamp() - 86400  # written before the snapshot's second
    for path in (tmp_path / "shared" / "db.sqlite3", tmp_path / "shared" / "media" / "upload.txt"):
        os.utime(path, (a_day_ago, a_day_ago))
    snapshot_id = _snapshot.scheduled_id(datetime.datetime.now(datetime.timezone.utc))
    taken = _snapshot.take(str(tmp_path), snapshot_id, ["db.sqlite3"], ["media"], 10 ** 9)["taken"]
    app_data(tmp_path, "after")
    checked = restore_snapshot(Call({"path": str(tmp_path), "snapshot": snapshot_id}, True, subprocess_run_command))
    assert app_rows(tmp_path) == ["after"]
    assert checked["warnings"] == ["would restore snapshot {0} taken {1} ({2}): data written to db.sqlite3, media since {1} is lost "
                                   "(changed since the snapshot: db.sqlite3, media)".format(snapshot_id, taken, checked["holds"])]
    restored = restore_snapshot(Call({"path": str(tmp_path), "snapshot": snapshot_id}, False, subprocess_run_command))
    assert app_rows(tmp_path) == ["before"] and restored["restored"] == ["db.sqlite3", "media"]
    assert restored["warnings"][0].startswith("restored snapshot {0} taken {1} (db.sqlite3 (".format(snapshot_id, taken))


@pytest.mark.parametrize("snapshot_id, expected", [
    ("scheduled-20991231T000000Z", 'there is no snapshot "scheduled-20991231T000000Z" in {base}/snapshots (there: r1); nothing was changed'),
    ("../shared", 'snapshot id "../shared" is not a snapshot\'s name'),
    ("", 'snapshot id "" is not a snapshot\'s name'),
])
def test_restore_yml_refuses_an_unknown_or_hostile_id_before_anything_changes(tmp_path, snapshot_id, expected):
    app_data(tmp_path, "before")
    _snapshot.take(str(tmp_path), "r1", ["db.sqlite3"], [], 10 ** 9)
    app_data(tmp_path, "after")
    with pytest.raises(DeployError) as refused:
        restore_snapshot(Call({"path": str(tmp_path), "snapshot": snapshot_id}, False, subprocess_run_command))
    assert str(refused.value).startswith(expected.format(base=tmp_path)) and str(refused.value).endswith("; nothing was changed")
    assert refused.value.details["snapshots"] == ["r1"] and app_rows(tmp_path) == ["after"]

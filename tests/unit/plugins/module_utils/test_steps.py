"""The deploy module's one call (module_utils/_steps.py) on real git repositories and real virtual
environments in temporary folders. Activating needs systemd. Stand-in: a `systemctl` on PATH that
fails as systemctl does for a unit that does not exist, so the activate step fails when it starts
the candidate, which is how these tests reach the failure path; the molecule scenario deploy
proves the healthy path."""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.stagecraft.webapp.plugins.module_utils._commands import subprocess_run_command
from ansible_collections.stagecraft.webapp.plugins.module_utils._errors import DeployError
from ansible_collections.stagecraft.webapp.plugins.module_utils._release import MARKER
from ansible_collections.stagecraft.webapp.plugins.module_utils._steps import (
    APP_SPEC, BUILD_SPEC, HEALTH_SPEC, RELEASE_SPEC, Call, deploy, serving_now)

TIME = "20261122T190507Z"


def defaults(spec):
    return {name: (defaults(option["options"]) if "options" in option else option.get("default")) for name, option in spec.items()}


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
def params(origin, base, service_record):
    """The deploy module's parameters as AnsibleModule hands them over: every default, then ours."""
    values = {**defaults(RELEASE_SPEC), **defaults(APP_SPEC), **defaults(BUILD_SPEC), **defaults(HEALTH_SPEC)}
    values.update(path=str(base), repo=str(origin.path), version="main", timestamp=TIME, holder_id=TIME + "-1", phase="all", release_id="",
                  ref="", keep=5, who="alice", job_id=None, built_changed=False, python="python3", service_record=str(service_record))
    # The origin's requirements.txt pins flask: an empty one builds a real environment without the network.
    values["requirements"] = ["empty-requirements.txt"]
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

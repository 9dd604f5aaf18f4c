"""The deploy step on a live host, in the order a team lives it: first deploy (converge), a check
run, a code change and a dependency change under traffic, a broken build, a release that fails
its health check before and after the switch, a rollback, a held lock, and pruning.

Each phase is a session fixture that runs playbooks/deploy.yml once for all hosts (through
converge.yml) with the branch it needs and takes a snapshot of every host right after it; each
phase depends on the one before. pytest runs one host's tests before the other's, so the tests
assert on the snapshot of their phase, never on the host as it is when they run.
"""

from __future__ import annotations

import json
import os
import shlex
from pathlib import Path

import pytest
from conftest import run_playbook

BASE = "/srv/app/prod"
TARGET = "127.0.0.1:8000"
LOOP = (Path(__file__).resolve().parents[2] / "shared" / "request_loop.py").read_text()
STOP_FILE = "/run/molecule-stop-loop"
LOOP_OUTPUT = "/run/molecule-loop.json"


@pytest.fixture(scope="session")
def commits() -> dict[str, str]:
    """{branch: commit} of the fixture repository (prepare.yml wrote it)."""
    return json.loads((Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "fixture_commits.json").read_text())


def serving(host) -> dict:
    answer = host.run(f"curl -sS --max-time 5 http://{TARGET}/healthz")
    return json.loads(answer.stdout) if answer.rc == 0 and answer.stdout.startswith("{") else {"error": answer.stderr}


def marker(host, release_id: str) -> dict:
    return json.loads(host.file(f"{BASE}/releases/{release_id}/.stagecraft-release.json").content_string)


def releases(host) -> dict[str, dict]:
    names = host.run(f"ls -1 {BASE}/releases").stdout.split()
    return {name: marker(host, name) for name in names}


def current(host) -> str:
    return os.path.basename(host.file(f"{BASE}/current").linked_to)


def record(host) -> list[dict]:
    return [json.loads(line) for line in host.file(f"{BASE}/deploys.jsonl").content_string.splitlines()]


def venvs(host) -> list[str]:
    return host.run(f"ls -1 {BASE}/venvs").stdout.split()


def snapshot(all_hosts) -> dict[str, dict]:
    """What each host looks like now: phases run for all hosts at once, each host's tests read its own."""
    return {name: {"serving": serving(each), "current": current(each), "releases": releases(each), "record": record(each),
                   "venvs": venvs(each), "locked": each.file(f"{BASE}/deploy.lock").exists,
                   "hidden": each.run(f"ls -A {BASE}/releases | grep '^\\.' || true").stdout.split(),
                   "candidates": each.run("systemctl list-units --no-legend 'app-prod@*'").stdout.strip(),
                   "journal": each.run("journalctl --no-pager -n 30 -u app-prod.service").stdout}
            for name, each in all_hosts.items()}


def phase(all_hosts, *args: str, **extra_vars) -> tuple:
    """Deploy once for all hosts; (run, recap, snapshot)."""
    run, recap = run_playbook("converge.yml", *args, extra_vars=extra_vars or None)
    return run, recap, snapshot(all_hosts)


def under_traffic(all_hosts, **extra_vars) -> tuple:
    """Deploy while each host asks its own service for /healthz in a bounded loop; (run, recap, snapshot, loops)."""
    for each in all_hosts.values():
        each.run(f"rm -f {STOP_FILE} {LOOP_OUTPUT}")
        started = each.run(f"nohup python3 -c {shlex.quote(LOOP)} {TARGET} --until {STOP_FILE} > {LOOP_OUTPUT} 2>&1 &")
        assert started.rc == 0, started.stderr
    run, recap = run_playbook("converge.yml", extra_vars=extra_vars)
    loops = {}
    for name, each in all_hosts.items():
        each.run(f"touch {STOP_FILE}")
        finished = each.run(f"for i in $(seq 50); do test -s {LOOP_OUTPUT} && break; sleep 0.2; done; cat {LOOP_OUTPUT}")
        loops[name] = json.loads(finished.stdout)
    return run, recap, snapshot(all_hosts), loops


def states_of(seen: dict, commit: str) -> list[str]:
    return [release["state"] for release in seen["releases"].values() if release["commit"] == commit]


@pytest.fixture(scope="session")
def first(all_hosts):
    """After molecule's converge (its idempotence step proved that a second run changes nothing)."""
    return snapshot(all_hosts)


def test_first_deploy_serves_main(first, inventory_name, commits):
    seen = first[inventory_name]
    assert seen["serving"].get("commit") == commits["main"], seen["serving"]
    assert seen["current"].endswith("-" + commits["main"][:7])
    assert seen["releases"][seen["current"]]["state"] == "good"


def test_release_is_a_clean_tree_owned_by_the_app(host, first, inventory_name, commits):
    release = f"{BASE}/releases/{first[inventory_name]['current']}"
    assert not host.file(f"{release}/.git").exists
    assert host.file(f"{release}/REVISION").content_string.strip() == commits["main"]
    app_py = host.file(f"{release}/app.py")
    assert (app_py.user, app_py.group) == ("app-prod", "app-prod")
    venv = host.file(f"{release}/.venv")
    assert venv.is_symlink and venv.linked_to.startswith(f"{BASE}/venvs/")
    assert host.file(f"{BASE}/venvs").user == "app-prod"
    assert host.file(f"{BASE}/deploys.jsonl").mode == 0o640


def test_record_lock_and_candidate_after_a_deploy(first, inventory_name, commits):
    seen = first[inventory_name]
    assert [(entry["outcome"], entry["ref"], entry["commit"]) for entry in seen["record"]] == [("success", "main", commits["main"])]
    assert not seen["locked"]
    assert seen["candidates"] == ""


@pytest.fixture(scope="session")
def check_run(all_hosts, first):
    return phase(all_hosts, "--check", "--diff", deploy_version="code")


def test_check_mode_reports_the_commit_and_changes_nothing(inventory_name, check_run, first, commits):
    run, recap, seen = check_run
    assert run.returncode == 0, run.stdout[-3000:]
    assert recap[inventory_name]["changed"] > 0
    assert f"commit {commits['code'][:12]}" in run.stdout
    assert seen["current"] == first[inventory_name]["current"]
    assert seen["releases"].keys() == first[inventory_name]["releases"].keys()
    assert seen["serving"].get("commit") == commits["main"]


@pytest.fixture(scope="session")
def code_change(all_hosts, check_run):
    return under_traffic(all_hosts, deploy_version="code")


def test_code_change_under_traffic_fails_no_request_and_reuses_the_venv(inventory_name, code_change, commits):
    run, recap, seen, loops = code_change
    assert recap[inventory_name]["failed"] == 0, run.stdout[-3000:]
    loop = loops[inventory_name]
    assert loop["failed"] == 0, (loop, seen["journal"])
    assert loop["ok"] >= 20
    assert set(loop["commits"]) == {commits["main"], commits["code"]}
    assert seen["serving"].get("commit") == commits["code"]
    assert len(seen["venvs"]) == 1  # same requirements: the main release's venv serves this one


@pytest.fixture(scope="session")
def dependency_change(all_hosts, code_change):
    return under_traffic(all_hosts, deploy_version="deps")


def test_dependency_change_under_traffic_fails_no_request_with_a_new_venv(host, inventory_name, dependency_change, commits):
    run, recap, seen, loops = dependency_change
    assert recap[inventory_name]["failed"] == 0, run.stdout[-3000:]
    assert loops[inventory_name]["failed"] == 0, (loops[inventory_name], seen["journal"])
    assert seen["serving"].get("commit") == commits["deps"]
    assert len(seen["venvs"]) == 2
    venv = f"{BASE}/releases/{seen['current']}/.venv"
    assert host.run(f"{venv}/bin/python -c 'import six'").rc == 0


@pytest.fixture(scope="session")
def broken_build(all_hosts, dependency_change):
    return phase(all_hosts, deploy_version="broken-deps")


def test_broken_requirement_fails_the_build_and_the_old_release_serves(inventory_name, broken_build, commits):
    run, recap, seen = broken_build
    assert recap[inventory_name]["failed"] == 1
    assert "pip install failed" in run.stdout and "stagecraft-no-such-package" in run.stdout
    assert seen["serving"].get("commit") == commits["deps"]
    assert states_of(seen, commits["broken-deps"]) == ["failed"]
    assert seen["record"][-1]["outcome"] == "failed"
    assert not seen["locked"]


@pytest.fixture(scope="session")
def unhealthy(all_hosts, broken_build):
    return phase(all_hosts, deploy_version="unhealthy")


def test_unhealthy_release_never_takes_traffic(inventory_name, unhealthy, commits):
    run, recap, seen = unhealthy
    assert recap[inventory_name]["failed"] == 1
    assert "failed its health check before taking traffic" in run.stdout and "HTTP 500" in run.stdout
    assert seen["serving"].get("commit") == commits["deps"]
    assert states_of(seen, commits["unhealthy"]) == ["failed"]
    assert seen["candidates"] == ""


@pytest.fixture(scope="session")
def unhealthy_in_service(all_hosts, unhealthy):
    return phase(all_hosts, deploy_version="unhealthy-in-service")


def test_release_failing_after_the_switch_is_rolled_back(inventory_name, unhealthy_in_service, commits):
    run, recap, seen = unhealthy_in_service
    assert recap[inventory_name]["failed"] == 1
    assert "failed its health check after the switch" in run.stdout and "serves again" in run.stdout
    assert seen["serving"].get("commit") == commits["deps"]
    assert seen["releases"][seen["current"]]["commit"] == commits["deps"]
    assert states_of(seen, commits["unhealthy-in-service"]) == ["failed"]
    assert seen["record"][-1]["outcome"] == "rolled_back"


@pytest.fixture(scope="session")
def rollback(all_hosts, unhealthy_in_service):
    return phase(all_hosts, deploy_rollback=True)


def test_rollback_goes_to_the_previous_good_release(inventory_name, rollback, commits):
    run, recap, seen = rollback
    assert recap[inventory_name]["failed"] == 0, run.stdout[-3000:]
    # Failed releases are never a target: the good one before deps is code.
    assert seen["serving"].get("commit") == commits["code"]
    assert seen["record"][-1]["outcome"] == "rolled_back"


@pytest.fixture(scope="session")
def held_lock(all_hosts, rollback):
    foreign = json.dumps({"owner": "someone-else", "host": "elsewhere", "pid": 1, "time": "2026-01-01T00:00:00Z", "holder_id": "other-run"})
    for each in all_hosts.values():
        each.run(f"printf '%s\\n' {shlex.quote(foreign)} > {BASE}/deploy.lock")
    refused = phase(all_hosts, deploy_version="deps")
    broken = phase(all_hosts, deploy_version="deps", deploy_lock_break=True)
    return refused, broken


def test_a_held_lock_refuses_the_deploy_until_broken(inventory_name, held_lock, commits):
    (refused, refused_recap, refused_seen), (broken, broken_recap, seen) = held_lock
    assert refused_recap[inventory_name]["failed"] == 1
    assert "held by someone-else on elsewhere" in refused.stdout
    assert refused_seen["locked"] and refused_seen["serving"].get("commit") == commits["code"]
    assert broken_recap[inventory_name]["failed"] == 0, broken.stdout[-3000:]
    assert seen["serving"].get("commit") == commits["deps"]
    assert not seen["locked"]


def test_prune_keeps_good_releases_and_their_venvs_only(inventory_name, held_lock, commits):
    seen = held_lock[1][2]
    # keep 2: deps (current) and code; main and the failed releases are gone. code still uses the
    # venv main built, deps its own; the half-built venv of the broken build is gone.
    assert sorted(release["commit"] for release in seen["releases"].values()) == sorted([commits["code"], commits["deps"]])
    assert all(release["state"] == "good" for release in seen["releases"].values())
    assert len(seen["venvs"]) == 2
    assert seen["hidden"] == []

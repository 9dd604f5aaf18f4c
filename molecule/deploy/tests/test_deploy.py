"""The deploy step on a live host, in the order a team lives it: first deploy (converge), a check
run, a code change and a dependency change under traffic, a broken build, a release that fails
its health check before and after the switch, a rollback, a held lock, pruning, and failures that
print the app's secrets.

Then, with no deploy to help, the master is killed again and again under a request loop and must
come back by itself; a per-push deploy of the version that serves repairs a stopped service and
fails loudly when the repair cannot make it answer. Last, apps as others write them, from a controller
without $USER: one that redirects whatever is not forwarded as https, with a hook that prints what it
sees of $HOME, ~ and $USER, and one that fails to import. Then the Django example deployed beside
it behind nginx (django.yml): uploads through nginx, served by nginx, kept through a redeploy and a
rollback. Last, the Flask app-factory example (factory.yml): its first deploy, SQLite in Flask's
instance folder kept in shared/, `flask init-db` once, its data through a redeploy and a rollback. Then its
data: a rollback that restores the snapshot taken before a migration, and the snapshot timer's service started
once under a write load, its snapshot restored by playbooks/restore.yml.

The first deploy is molecule's converge: the whole prod composition, run again by molecule's
idempotence step. Each later phase is a session fixture that runs playbooks/deploy.yml once for all
hosts with `--tags deploy` and the branch it needs, and takes a snapshot of every host right after
it; each phase depends on the one before. pytest runs one host's tests before the other's, so the
tests assert on the snapshot of their phase, never on the host as it is when they run.
"""

from __future__ import annotations

import base64
import json
import os
import pwd
import re
import shlex
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import output_tail, run_playbook, task_outcomes

BASE = "/srv/app/prod"
TARGET = "127.0.0.1:8000"
# Relative to the scenario: the phases deploy through the collection's playbook itself.
PLAYBOOK = "../../playbooks/deploy.yml"
# The phases vary only what the deploy step reads (ref, lock, credentials, rollback, maintenance), so
# they run it the way a pipeline deploys code: the stack's checks and report (tagged always) and the
# deploy role, without the gunicorn and nginx roles, whose input no phase changes; converge ran them
# and molecule's idempotence step proved that a second full run changes nothing.
DEPLOY_ONLY = ("--tags", "deploy")
# What a pipeline runs per push on a prepared host: the deploy role's release part alone.
RELEASE_PLAYBOOK = "../../playbooks/release.yml"
LOOP = (Path(__file__).resolve().parents[2] / "shared" / "request_loop.py").read_text()
MAINTENANCE_PAGE = "/var/lib/stagecraft/app-prod/maintenance.html"
STOP_FILE = "/run/molecule-stop-loop"
LOOP_OUTPUT = "/run/molecule-loop.json"
# ansible-core's own heading of a failed task, repeating its message: "[ERROR]: Task failed: ..." up to "Origin: FILE".
ANSIBLE_ERROR_HEADING = re.compile(r"^\[ERROR\]: Task failed: .*?^Origin: ", re.DOTALL | re.MULTILINE)
# In every secret of the app (molecule.yml's gunicorn_secrets): no spelling of any may ever show.
CANARY = "c4n4ry"
# A migration's last words, as a database driver says them: the URL, and its password decoded.
MIGRATION = ("python3 -c \"import os, urllib.parse as p; url = os.environ['DATABASE_URL']; "
             "raise SystemExit('OperationalError: password ' + p.unquote(p.urlsplit(url).password) + ' refused for ' + url)\"")


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


def look_at(host) -> dict:
    """What one host looks like now."""
    return {"serving": serving(host), "current": current(host), "releases": releases(host), "record": record(host),
            "venvs": venvs(host), "locked": host.file(f"{BASE}/deploy.lock").exists,
            "hidden": host.run(f"ls -A {BASE}/releases | grep '^\\.' || true").stdout.split(),
            "candidates": host.run("systemctl list-units --no-legend 'app-prod@*'").stdout.strip(),
            "maintenance": host.file(MAINTENANCE_PAGE).exists,
            "journal": host.run("journalctl --no-pager -n 30 -u app-prod.service").stdout}


def snapshot(all_hosts) -> dict[str, dict]:
    """What each host looks like now: phases run for all hosts at once, each host's tests read its own.

    The hosts are read side by side (a dozen commands each, after every phase), as the phase ran on them.
    """
    with ThreadPoolExecutor(max_workers=len(all_hosts)) as pool:
        return dict(zip(all_hosts, pool.map(look_at, all_hosts.values())))


class Phase:
    """One deploy for all hosts: its output (ansible-core prints errors on stderr), recap and snapshot."""

    def __init__(self, run, recap, seen, loops=None):
        self.output = run.stdout + run.stderr
        self.recap, self.seen, self.loops = recap, seen, loops or {}

    def of(self, name: str) -> tuple[dict, dict]:
        """(recap, snapshot) of one host."""
        return self.recap[name], self.seen[name]


def phase(all_hosts, *args: str, **extra_vars) -> Phase:
    """Deploy once for all hosts through the collection's entry point."""
    run, recap = run_playbook(PLAYBOOK, *DEPLOY_ONLY, *args, extra_vars=extra_vars or None)
    return Phase(run, recap, snapshot(all_hosts))


def under_traffic(all_hosts, **extra_vars) -> Phase:
    """Deploy as a pipeline does per push while each host asks its own service for /healthz in a bounded loop."""
    for each in all_hosts.values():
        each.run(f"rm -f {STOP_FILE} {LOOP_OUTPUT}")
        started = each.run(f"nohup python3 -c {shlex.quote(LOOP)} {TARGET} --until {STOP_FILE} > {LOOP_OUTPUT} 2>&1 &")
        assert started.rc == 0, started.stderr
    run, recap = run_playbook(RELEASE_PLAYBOOK, extra_vars=extra_vars)
    loops = {}
    for name, each in all_hosts.items():
        each.run(f"touch {STOP_FILE}")
        finished = each.run(f"for i in $(seq 50); do test -s {LOOP_OUTPUT} && break; sleep 0.2; done; cat {LOOP_OUTPUT}")
        loops[name] = json.loads(finished.stdout)
    return Phase(run, recap, snapshot(all_hosts), loops)


def states_of(seen: dict, commit: str) -> list[str]:
    return [release["state"] for release in seen["releases"].values() if release["commit"] == commit]


def release_tree(each, release_id: str) -> dict:
    """How a release looks on disk: what the tests of the first deploy check, taken before prune removes it."""
    release = f"{BASE}/releases/{release_id}"
    app_py, venv = each.file(f"{release}/app.py"), each.file(f"{release}/.venv")
    return {"git": each.file(f"{release}/.git").exists, "revision": each.file(f"{release}/REVISION").content_string.strip(),
            "owner": (app_py.user, app_py.group), "venv": venv.linked_to if venv.is_symlink else None,
            "venvs_owner": each.file(f"{BASE}/venvs").user, "record_mode": each.file(f"{BASE}/deploys.jsonl").mode}


@pytest.fixture(scope="session")
def first(all_hosts):
    """After molecule's converge (its idempotence step proved that a second run changes nothing)."""
    seen = snapshot(all_hosts)
    for name, each in all_hosts.items():
        seen[name]["tree"] = release_tree(each, seen[name]["current"])
    return seen


def test_first_deploy_serves_main(first, inventory_name, commits):
    seen = first[inventory_name]
    assert seen["serving"].get("commit") == commits["main"], seen["serving"]
    assert seen["current"].endswith("-" + commits["main"][:7])
    assert seen["releases"][seen["current"]]["state"] == "good"


def test_release_is_a_clean_tree_owned_by_the_app(first, inventory_name, commits):
    tree = first[inventory_name]["tree"]
    assert not tree["git"]
    assert tree["revision"] == commits["main"]
    assert tree["owner"] == ("app-prod", "app-prod")
    assert tree["venv"] and tree["venv"].startswith(f"{BASE}/venvs/")
    assert tree["venvs_owner"] == "app-prod"
    assert tree["record_mode"] == 0o640


def test_record_lock_and_candidate_after_a_deploy(first, inventory_name, commits):
    seen = first[inventory_name]
    assert [(entry["outcome"], entry["ref"], entry["commit"]) for entry in seen["record"]] == [("success", "main", commits["main"])]
    assert not seen["locked"]
    assert seen["candidates"] == ""


def test_django_hooks_ran_as_the_app_with_its_secret(host):
    """The Django example beside the Flask one (converge.yml): collectstatic after the build, migrate
    before the switch (its /healthz answers 503 until the migrations ran), SQLite in shared/."""
    health = json.loads(host.check_output("curl -sS --max-time 5 http://127.0.0.1:8001/healthz"))
    release = host.file("/srv/django/prod/current").linked_to
    assert health["status"] == "ok" and health["commit"] == host.file(f"{release}/REVISION").content_string.strip()
    assert host.file(f"{release}/staticfiles/visits/site.css").exists
    assert host.file("/srv/django/prod/shared/data/db.sqlite3").user == "django-prod"
    data = host.file("/srv/django/prod/shared/data")
    assert (data.user, data.mode) == ("django-prod", 0o750)
    assert host.file(f"{release}/data").linked_to == "/srv/django/prod/shared/data"
    first_visit, second_visit = (json.loads(host.check_output("curl -sS --max-time 5 http://127.0.0.1:8001/"))["visits"] for attempt in range(2))
    assert second_visit == first_visit + 1  # the hardened service writes its database in shared/


@pytest.fixture(scope="session")
def missing_ref(all_hosts, first):
    return phase(all_hosts, deploy_version="no-such-branch")


def test_missing_ref_fails_naming_it_before_anything_changes(inventory_name, missing_ref, first):
    recap, seen = missing_ref.of(inventory_name)
    assert recap["failed"] == 1
    assert "ref 'no-such-branch' is not a branch, tag or commit" in missing_ref.output
    assert seen["releases"].keys() == first[inventory_name]["releases"].keys()
    assert (seen["current"], seen["locked"]) == (first[inventory_name]["current"], False)


@pytest.fixture(scope="session")
def check_run(all_hosts, missing_ref):
    return phase(all_hosts, "--check", "--diff", deploy_version="code")


def test_check_mode_reports_the_commit_and_changes_nothing(inventory_name, check_run, first, commits):
    recap, seen = check_run.of(inventory_name)
    assert recap["failed"] == 0, check_run.output[-3000:]
    assert recap["changed"] > 0
    assert f"commit {commits['code'][:12]}" in check_run.output
    assert seen["current"] == first[inventory_name]["current"]
    assert seen["releases"].keys() == first[inventory_name]["releases"].keys()
    assert seen["serving"].get("commit") == commits["main"]


@pytest.fixture(scope="session")
def code_change(all_hosts, check_run):
    return under_traffic(all_hosts, deploy_version="code")


def test_code_change_under_traffic_fails_no_request_and_reuses_the_venv(inventory_name, code_change, commits):
    recap, seen = code_change.of(inventory_name)
    assert recap["failed"] == 0, code_change.output[-3000:]
    loop = code_change.loops[inventory_name]
    assert loop["failed"] == 0, (loop, seen["journal"])
    assert loop["ok"] >= 20
    assert set(loop["commits"]) == {commits["main"], commits["code"]}
    assert seen["serving"].get("commit") == commits["code"]
    assert len(seen["venvs"]) == 1  # same requirements: the main release's venv serves this one
    # Per push: neither the deploy role's prepare part nor the stack's report ran; the deploy
    # role's own line says what serves now.
    ran = task_outcomes(code_change.output)
    assert not [task for task in ran if "Read which of git" in task or "Read what serves" in task], sorted(ran)
    assert f"app-prod: serves release {seen['current']} (commit {commits['code'][:12]}, code); changed from" in " ".join(code_change.output.split())


@pytest.fixture(scope="session")
def dependency_change(all_hosts, code_change):
    changed = under_traffic(all_hosts, deploy_version="deps")
    # Asked now: later phases prune this release's venv.
    for name, each in all_hosts.items():
        changed.seen[name]["imports_six"] = each.run(f"{BASE}/current/.venv/bin/python -c 'import six'").rc == 0
    return changed


def test_dependency_change_under_traffic_fails_no_request_with_a_new_venv(inventory_name, dependency_change, commits):
    recap, seen = dependency_change.of(inventory_name)
    assert recap["failed"] == 0, dependency_change.output[-3000:]
    assert dependency_change.loops[inventory_name]["failed"] == 0, (dependency_change.loops[inventory_name], seen["journal"])
    assert seen["serving"].get("commit") == commits["deps"]
    assert len(seen["venvs"]) == 2
    assert seen["imports_six"]


@pytest.fixture(scope="session")
def broken_build(all_hosts, dependency_change):
    return phase(all_hosts, deploy_version="broken-deps")


def test_broken_requirement_fails_the_build_and_the_old_release_serves(inventory_name, broken_build, commits):
    recap, seen = broken_build.of(inventory_name)
    assert recap["failed"] == 1
    assert "pip install failed" in broken_build.output and "stagecraft-no-such-package" in broken_build.output
    # pip's error once, in the module's failure, for each host: not again as stderr and lines, nor in the role's last word.
    # ansible-core heads each failed task with an "[ERROR]: Task failed: <message>" paragraph of its own: not counted.
    results = ANSIBLE_ERROR_HEADING.sub("", broken_build.output)
    assert results.count("No matching distribution found for stagecraft-no-such-package") == len(broken_build.recap), results
    assert seen["serving"].get("commit") == commits["deps"]
    assert states_of(seen, commits["broken-deps"]) == ["failed"]
    assert seen["record"][-1]["outcome"] == "failed"
    assert not seen["locked"]


@pytest.fixture(scope="session")
def unhealthy(all_hosts, broken_build):
    return phase(all_hosts, deploy_version="unhealthy", deploy_maintenance=True)


def test_unhealthy_release_never_takes_traffic(inventory_name, unhealthy, commits):
    recap, seen = unhealthy.of(inventory_name)
    assert recap["failed"] == 1
    assert "failed its health check before taking traffic" in unhealthy.output and "HTTP 500" in unhealthy.output
    # A definite wrong answer is the app's last word: three in a row end the probe, it does not wait for the timeout.
    assert "answered HTTP 500 3 times in a row after" in unhealthy.output and "(3 attempts), expected HTTP 200" in unhealthy.output
    assert seen["serving"].get("commit") == commits["deps"]
    assert states_of(seen, commits["unhealthy"]) == ["failed"]
    assert seen["candidates"] == ""
    # The deploy asked for the maintenance page; after a failure it stays up, and says so.
    assert seen["maintenance"] and "The maintenance page stays on" in unhealthy.output


@pytest.fixture(scope="session")
def unhealthy_in_service(all_hosts, unhealthy):
    return phase(all_hosts, deploy_version="unhealthy-in-service")


def test_release_failing_after_the_switch_is_rolled_back(inventory_name, unhealthy_in_service, commits):
    recap, seen = unhealthy_in_service.of(inventory_name)
    assert recap["failed"] == 1
    assert "failed its health check after the switch" in unhealthy_in_service.output and "serves again" in unhealthy_in_service.output
    assert seen["serving"].get("commit") == commits["deps"]
    assert seen["releases"][seen["current"]]["commit"] == commits["deps"]
    assert states_of(seen, commits["unhealthy-in-service"]) == ["failed"]
    assert seen["record"][-1]["outcome"] == "rolled_back"


@pytest.fixture(scope="session")
def rollback(all_hosts, unhealthy_in_service):
    return phase(all_hosts, deploy_rollback=True, deploy_maintenance=True)


def test_rollback_goes_to_the_previous_good_release(inventory_name, rollback, commits):
    recap, seen = rollback.of(inventory_name)
    assert recap["failed"] == 0, rollback.output[-3000:]
    # Failed releases are never a target: the good one before deps is code.
    assert seen["serving"].get("commit") == commits["code"]
    assert seen["record"][-1]["outcome"] == "rolled_back"
    assert not seen["maintenance"]


@pytest.fixture(scope="session")
def held_lock(all_hosts, rollback):
    foreign = json.dumps({"owner": "someone-else", "host": "elsewhere", "pid": 1, "time": "2026-01-01T00:00:00Z", "holder_id": "other-run"})
    for each in all_hosts.values():
        each.run(f"printf '%s\\n' {shlex.quote(foreign)} > {BASE}/deploy.lock")
    refused = phase(all_hosts, deploy_version="deps")
    # As the docs say it, on the command line: the value is the string "true".
    # The rollback just before marked deps' commit: putting it back is asked for on purpose.
    broken = phase(all_hosts, "-e", "deploy_lock_break=true", "-e", "deploy_allow_rolled_back=true", deploy_version="deps")
    return refused, broken


def test_a_held_lock_refuses_the_deploy_until_broken(inventory_name, held_lock, commits):
    refused, broken = held_lock
    (refused_recap, refused_seen), (broken_recap, seen) = refused.of(inventory_name), broken.of(inventory_name)
    assert refused_recap["failed"] == 1
    assert "held by someone-else on elsewhere" in refused.output
    assert "its process runs on elsewhere, not on this host" in refused.output and "-e deploy_lock_break=true" in refused.output
    assert refused_seen["locked"] and refused_seen["serving"].get("commit") == commits["code"]
    assert broken_recap["failed"] == 0, broken.output[-3000:]
    assert seen["serving"].get("commit") == commits["deps"]
    assert not seen["locked"]


def test_prune_keeps_good_releases_and_their_venvs_only(inventory_name, held_lock, commits):
    seen = held_lock[1].seen[inventory_name]
    # keep 2: deps (current) and code; main and the failed releases are gone. code still uses the
    # venv main built, deps its own; the half-built venv of the broken build is gone.
    assert sorted(release["commit"] for release in seen["releases"].values()) == sorted([commits["code"], commits["deps"]])
    assert all(release["state"] == "good" for release in seen["releases"].values())
    assert len(seen["venvs"]) == 2
    assert seen["hidden"] == []


def private_repository(host_key_file: str) -> dict:
    """The same repository as a private one over SSH: a deploy key, and `host_key_file`'s key as the
    host key the deploy checks the git server's against."""
    ephemeral = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"])
    host_key = (ephemeral / host_key_file).read_text().split()[:2]
    return {"deploy_repo": "root@127.0.0.1:/srv/git/app.git", "deploy_version": "deps",
            "deploy_ssh_key": (ephemeral / "deploy_key").read_text(), "deploy_known_hosts": [" ".join(["127.0.0.1", *host_key])]}


# Kill gunicorn's master (when there is one) 8 times, 3 s apart, under a request loop, then ask for
# /healthz once a second for at most 90 s. Prints a JSON summary.
CRASH_LOOP = f"""
rm -f {STOP_FILE} {LOOP_OUTPUT}
nohup python3 -c {shlex.quote(LOOP)} {TARGET} --until {STOP_FILE} > {LOOP_OUTPUT} 2>&1 &
killed=0
for attempt in $(seq 8); do
  master=$(systemctl show -p MainPID --value app-prod.service)
  if [ "$master" != 0 ] && kill -9 "$master"; then killed=$((killed + 1)); fi
  sleep 3
done
polls=0
until curl -sf --max-time 5 -o /dev/null http://{TARGET}/healthz || [ $polls -ge 90 ]; do polls=$((polls + 1)); sleep 1; done
touch {STOP_FILE}
for i in $(seq 50); do test -s {LOOP_OUTPUT} && break; sleep 0.2; done
printf '{{"killed": %s, "polls": %s, "service": "%s", "socket": "%s", "loop": %s}}\\n' "$killed" "$polls" \
  "$(systemctl is-active app-prod.service)" "$(systemctl is-active app-prod.socket)" "$(cat {LOOP_OUTPUT})"
"""


@pytest.fixture(scope="session")
def crash_loop(all_hosts, held_lock):
    """The master killed again and again with no one to help: systemd must bring the app back each time."""
    with ThreadPoolExecutor(max_workers=len(all_hosts)) as pool:
        runs = dict(zip(all_hosts, pool.map(lambda each: each.run(CRASH_LOOP), all_hosts.values())))
    seen = snapshot(all_hosts)
    for name, run in runs.items():
        seen[name]["crashes"] = json.loads(run.stdout.strip().splitlines()[-1]) if run.rc == 0 else {"error": run.stderr}
    return seen


def test_a_crash_loop_never_takes_the_app_down_for_good(inventory_name, crash_loop, commits):
    seen = crash_loop[inventory_name]
    crashes = seen["crashes"]
    # A kill finds no master while systemd waits to restart it: on systemd 254+ the growing delay lets
    # about half of the 8 land (4 here), on 252 all of them.
    assert crashes.get("killed", 0) >= 3, crashes
    assert crashes["polls"] < 90 and (crashes["service"], crashes["socket"]) == ("active", "active"), (crashes, seen["journal"])
    assert seen["serving"].get("commit") == commits["deps"]
    # Requests sent while no master ran may fail or time out: reported, not asserted.
    warnings.warn(f"{inventory_name}: {crashes['killed']} kills, the request loop during them: {crashes['loop']}")


@pytest.fixture(scope="session")
def stopped_then_repaired(all_hosts, crash_loop):
    """A per-push deploy of the version that serves already, against a stopped service and socket."""
    records_before = {name: record(each) for name, each in all_hosts.items()}
    for each in all_hosts.values():
        each.run("systemctl stop app-prod.socket app-prod.service")
    run, recap = run_playbook(RELEASE_PLAYBOOK, extra_vars={"deploy_version": "deps"})
    return Phase(run, recap, snapshot(all_hosts)), records_before


def test_a_per_push_deploy_repairs_a_stopped_app_and_says_so(inventory_name, stopped_then_repaired, commits):
    repaired, records_before = stopped_then_repaired
    recap, seen = repaired.of(inventory_name)
    assert recap["failed"] == 0, repaired.output[-3000:]
    assert seen["serving"].get("commit") == commits["deps"]
    said = " ".join(repaired.output.split())
    assert f"app-prod: serves release {seen['current']} (commit {commits['deps'][:12]}, deps); unchanged; its service did not answer" in said
    assert "and was restarted: it answers again" in said
    assert seen["record"] == records_before[inventory_name]  # a repair is not a deploy


@pytest.fixture(scope="session")
def beyond_repair(all_hosts, stopped_then_repaired):
    """The same with a health check the app can never pass (a path it does not have): the restart cannot help."""
    run, recap = run_playbook(RELEASE_PLAYBOOK, extra_vars={"deploy_version": "deps", "deploy_health_path": "/no-such-path",
                                                            "deploy_health_timeout": 3})
    return Phase(run, recap, snapshot(all_hosts))


def test_a_per_push_deploy_that_cannot_repair_the_app_fails_loudly(inventory_name, beyond_repair, commits):
    recap, seen = beyond_repair.of(inventory_name)
    assert recap["failed"] == 1
    said = " ".join(beyond_repair.output.split())
    assert f"release {seen['current']} is current but app-prod.service does not answer its health check (HTTP 404); a restart did not help" in said
    assert "serves release" not in said
    assert seen["record"][-1]["outcome"] == "failed" and not seen["locked"]
    assert seen["serving"].get("commit") == commits["deps"]


# Kills the deploy module's process once its lock names the commit it deploys (after the release
# step, before the switch); bounded to 180 s (a loaded machine is slow to get there), and ended
# after the deploy it watches, so that it never kills the next one.
KILL_THE_HOLDER = f""": molecule-kill-the-holder; for i in $(seq 3600); do
  if grep -q '"commit"' {BASE}/deploy.lock 2>/dev/null; then
    kill -9 "$(sed -n 's/.*"pid": \\([0-9]*\\).*/\\1/p' {BASE}/deploy.lock)"; exit; fi
  sleep 0.05
done"""


@pytest.fixture(scope="session")
def killed_holder(all_hosts, beyond_repair):
    """A deploy of code whose module process is killed midway (kill -9 on the host), then a deploy of deps (what serves)."""
    for each in all_hosts.values():
        started = each.run(f"nohup sh -c {shlex.quote(KILL_THE_HOLDER)} > /dev/null 2>&1 &")
        assert started.rc == 0, started.stderr
    killed = phase(all_hosts, deploy_version="code")
    for each in all_hosts.values():
        each.run("pkill -f molecule-kill-the-holder")
    left = {name: json.loads(each.file(f"{BASE}/deploy.lock").content_string) for name, each in all_hosts.items()}
    next_run = phase(all_hosts, deploy_version="deps")
    return killed, left, next_run


def test_a_lock_left_by_a_killed_deploy_is_taken_over_and_that_deploy_recorded(inventory_name, killed_holder, commits):
    killed, left, next_run = killed_holder
    killed_recap, killed_seen = killed.of(inventory_name)
    assert killed_recap["failed"] == 1 and killed_seen["locked"], killed.output[-3000:]
    assert left[inventory_name]["commit"] == commits["code"]
    recap, seen = next_run.of(inventory_name)
    assert recap["failed"] == 0, next_run.output[-3000:]
    assert "took over the deploy lock of" in next_run.output and f"its process {left[inventory_name]['pid']} no longer runs" in next_run.output
    assert seen["serving"].get("commit") == commits["deps"] and not seen["locked"]
    # Nor does the killed deploy's candidate run on (it may have been killed while its candidate ran).
    assert seen["candidates"] == ""
    interrupted = seen["record"][-1]
    assert (interrupted["outcome"], interrupted["ref"], interrupted["commit"], interrupted["previous_commit"]) == (
        "interrupted", "code", commits["code"], commits["deps"])
    # The killed run's controller recorded nothing itself: one line for that deploy.
    assert [entry["outcome"] for entry in seen["record"] if entry["started"] == interrupted["started"]] == ["interrupted"]


@pytest.fixture(scope="session")
def interrupted_switch(all_hosts, killed_holder):
    """`current` moved to the other good release without the restart that follows a switch, as a deploy killed right after it leaves it."""
    moved = {}
    for name, each in all_hosts.items():
        serving_id = current(each)
        moved[name] = next(release_id for release_id, release in releases(each).items() if release_id != serving_id and release["state"] == "good")
        each.check_output(f"ln -sfn releases/{moved[name]} {BASE}/current.moved && mv -T {BASE}/current.moved {BASE}/current")
    status, recap = run_playbook("../../playbooks/status.yml")
    for name, each in all_hosts.items():
        each.check_output(f"ln -sfn releases/{current_before(killed_holder, name)} {BASE}/current.moved && mv -T {BASE}/current.moved {BASE}/current")
    return status, recap, moved


def current_before(killed_holder, name):
    return killed_holder[2].seen[name]["current"]


def test_status_reports_the_release_that_serves_and_the_mismatch(inventory_name, interrupted_switch, killed_holder, commits):
    status, recap, moved = interrupted_switch
    assert recap[inventory_name]["failed"] == 0, (status.stdout + status.stderr)[-3000:]
    text = " ".join(status.stdout.split())
    assert f"serves commit {commits['deps'][:12]} (release {current_before(killed_holder, inventory_name)})" in text, text[-3000:]
    assert f"MISMATCH: current points at {moved[inventory_name]}, which the service does not run" in text


@pytest.fixture(scope="session")
def over_ssh(all_hosts, interrupted_switch):
    """The same repository as a private one over SSH: a deploy key, and host keys that are checked."""
    refused = phase(all_hosts, **private_repository("deploy_key.pub"))  # any key but the host's
    accepted = phase(all_hosts, **private_repository("ssh_host_ed25519_key.pub"))
    # Read now: a host's tests may run after later phases deployed from the path again.
    for name, each in all_hosts.items():
        key = each.file("/etc/stagecraft/app-prod/deploy_key")
        accepted.seen[name] |= {"mirror_url": each.check_output(f"git --git-dir {BASE}/repo.git config remote.origin.url"),
                                "deploy_key": (key.user, key.mode) if key.exists else None}
    return refused, accepted, private_repository("ssh_host_ed25519_key.pub")["deploy_ssh_key"]


def test_private_repository_over_ssh_with_checked_host_keys(inventory_name, over_ssh, commits):
    refused, accepted, private_key = over_ssh
    refused_recap, refused_seen = refused.of(inventory_name)
    assert refused_recap["failed"] == 1 and "Host key verification failed" in refused.output
    assert refused_seen["serving"].get("commit") == commits["deps"]
    recap, seen = accepted.of(inventory_name)
    assert recap["failed"] == 0, accepted.output[-3000:]
    assert seen["serving"].get("commit") == commits["deps"]
    assert seen["mirror_url"] == "root@127.0.0.1:/srv/git/app.git"
    assert seen["deploy_key"] == ("root", 0o600)
    # The first run wrote the key and host keys; the second found the key as wanted in the role's
    # one read and left it alone (no round trip to the host), and wrote only the new host keys.
    assert task_outcomes(refused.output)["stagecraft.webapp.deploy : Write the deploy key (0600, root only)"] == {"changed"}
    assert task_outcomes(accepted.output)["stagecraft.webapp.deploy : Write the deploy key (0600, root only)"] == {"skipping"}
    assert task_outcomes(accepted.output)["stagecraft.webapp.deploy : Write the git server's host keys"] == {"changed"}
    secret_line = private_key.splitlines()[1]
    assert secret_line not in refused.output and secret_line not in accepted.output


@pytest.fixture(scope="session")
def secrets_printed(all_hosts, over_ssh):
    """A build step and a migration that print the app's secrets as they fail (the first with -v), then the status view.

    From the private repository as over_ssh left it, so that each host stays as over_ssh's test reads it.
    """
    private = private_repository("ssh_host_ed25519_key.pub")
    build = phase(all_hosts, "-v", **(private | {"deploy_version": "broken-deps", "deploy_hooks": {"before_build": ["env; exit 1"]}}))
    migration = phase(all_hosts, **(private | {"deploy_version": "unhealthy", "deploy_hooks": {"before_switch": [MIGRATION]}}))
    status, recap = run_playbook("../../playbooks/status.yml")
    assert recap and not any(counts["failed"] for counts in recap.values()), output_tail(status)
    on_hosts = {name: each.run(f"grep -c {CANARY} {BASE}/deploys.jsonl; journalctl --no-pager | grep -c {CANARY}").stdout.split()
                for name, each in all_hosts.items()}
    return build, migration, status.stdout + status.stderr, on_hosts, private["deploy_ssh_key"].splitlines()[1]


def test_failures_name_the_step_and_show_no_secret(inventory_name, secrets_printed):
    build, migration, status, on_hosts, key_line = secrets_printed
    assert build.recap[inventory_name]["failed"] == 1 and migration.recap[inventory_name]["failed"] == 1
    assert "before_build hook 1 (env; exit 1) failed (rc=1)" in build.output and "DATABASE_URL=********" in build.output
    assert "before_switch hook 1 (python3 -c" in migration.output
    assert "OperationalError: password ******** refused for ********" in migration.output
    for output in (build.output, migration.output, status):
        assert CANARY not in output and key_line not in output
    # The deploy record and the whole journal (the app's unit, the modules' own lines): no line holds it.
    assert on_hosts[inventory_name] == ["0", "0"]
    assert build.seen[inventory_name]["serving"].get("status") == migration.seen[inventory_name]["serving"].get("status") == "ok"


# A hook that says what it sees: the text reaches sh untouched, so these are the app user's.
HOOK_SEES = 'echo "$HOME" ~ "$USER" > hook-sees.txt'


@pytest.fixture(scope="session")
def apps_as_they_are(all_hosts, secrets_printed):
    """Apps as others write them, deployed from a controller with no $USER (CI, cron): one that redirects every
    request not forwarded as https (Django's SECURE_SSL_REDIRECT), with a hook that prints $HOME, ~ and $USER,
    then one that fails to import."""
    private = private_repository("ssh_host_ed25519_key.pub")
    with pytest.MonkeyPatch.context() as no_user:
        for name in ("USER", "LOGNAME", "USERNAME", "LNAME"):
            no_user.delenv(name, raising=False)
        redirecting = phase(all_hosts, **(private | {"deploy_version": "secure-redirect", "deploy_hooks": {"before_switch": [HOOK_SEES]}}))
    sees = {name: each.run(f"cat {BASE}/current/hook-sees.txt").stdout.strip() for name, each in all_hosts.items()}
    missing_module = phase(all_hosts, **(private | {"deploy_version": "missing-module"}))
    failed_units = {name: each.run("systemctl list-units --failed --no-legend --plain 'app-prod*'").stdout.strip() for name, each in all_hosts.items()}
    return redirecting, sees, missing_module, failed_units


def test_an_app_that_redirects_plain_http_deploys_behind_tls(inventory_name, apps_as_they_are, commits):
    redirecting = apps_as_they_are[0]
    recap, seen = redirecting.of(inventory_name)
    assert recap["failed"] == 0, redirecting.output[-3000:]
    assert seen["releases"][seen["current"]]["commit"] == commits["secure-redirect"]


def test_hooks_see_the_app_users_home_and_name(inventory_name, apps_as_they_are):
    assert apps_as_they_are[1][inventory_name] == f"{BASE} {BASE} app-prod"


def test_without_user_the_record_names_the_controllers_account(inventory_name, apps_as_they_are):
    seen = apps_as_they_are[0].seen[inventory_name]
    assert seen["record"][-1]["who"] == pwd.getpwuid(os.getuid()).pw_name != "unknown"


def test_a_release_that_cannot_import_names_the_cause_and_leaves_no_failed_unit(inventory_name, apps_as_they_are, commits):
    missing_module, failed_units = apps_as_they_are[2], apps_as_they_are[3]
    recap, seen = missing_module.of(inventory_name)
    assert recap["failed"] == 1
    assert "failed its health check before taking traffic" in missing_module.output
    assert "ModuleNotFoundError: No module named 'stagecraft_no_such_module'" in missing_module.output, missing_module.output[-3000:]
    assert states_of(seen, commits["missing-module"]) == ["failed"]
    assert seen["releases"][seen["current"]]["commit"] == commits["secure-redirect"]
    assert failed_units[inventory_name] == ""


# Once-hooks (deploy_once_hooks): named commands that run once per environment, recorded on the host.
# init-db says who and where it ran; first-admin fails until the host has shared/admin-ready, naming a secret as it does.
ONCE_LOG = f"{BASE}/shared/once.log"
ONCE_HOOKS = [
    {"name": "init-db", "command": 'echo "init-db $(id -un) $(pwd) $VIRTUAL_ENV" >> "$HOME/shared/once.log"'},
    {"name": "first-admin", "command": 'test -e "$HOME/shared/admin-ready" || { echo "no admin yet: $API_TOKEN" >&2; exit 3; }; '
                                       'echo first-admin >> "$HOME/shared/once.log"'},
]


def once_record(each) -> dict:
    found = each.file(f"{BASE}/once-hooks.json")
    return json.loads(found.content_string) if found.exists else {}


def once_look(all_hosts, run: Phase) -> Phase:
    """The phase, with each host's once-hook record and what the hooks wrote."""
    for name, each in all_hosts.items():
        run.seen[name]["once"] = once_record(each)
        run.seen[name]["once_log"] = each.run(f"cat {ONCE_LOG} 2>/dev/null").stdout.splitlines()
    return run


@pytest.fixture(scope="session")
def once_hooks(all_hosts, apps_as_they_are):
    """Once-hooks added: a check run, the first deploy (one fails), the next (it is retried, with a switch), and one that asks
    to run init-db again while first-admin's text changed."""
    private = private_repository("ssh_host_ed25519_key.pub")
    same = private | {"deploy_version": "secure-redirect", "deploy_once_hooks": ONCE_HOOKS}
    checked = once_look(all_hosts, phase(all_hosts, "--check", **same))
    first_run = once_look(all_hosts, phase(all_hosts, **same))
    for each in all_hosts.values():
        each.check_output(f"touch {BASE}/shared/admin-ready")
    retried = once_look(all_hosts, phase(all_hosts, **(same | {"deploy_version": "deps"})))
    changed_text = [ONCE_HOOKS[0], {"name": "first-admin", "command": "echo changed >> $HOME/shared/once.log"}]
    rerun = once_look(all_hosts, phase(all_hosts, **(private | {"deploy_version": "deps", "deploy_once_hooks": changed_text,
                                                                "deploy_rerun_once": "init-db"})))
    return checked, first_run, retried, rerun


def test_check_mode_says_which_once_hooks_would_run(inventory_name, once_hooks):
    checked = once_hooks[0]
    recap, seen = checked.of(inventory_name)
    assert recap["failed"] == 0, checked.output[-3000:]
    assert "would run once-hooks init-db, first-admin" in " ".join(checked.output.split())
    assert seen["once"] == {} and seen["once_log"] == []


def test_a_once_hook_runs_as_the_app_and_a_failing_one_fails_the_deploy_unrecorded(inventory_name, once_hooks, commits):
    first_run = once_hooks[1]
    recap, seen = first_run.of(inventory_name)
    assert recap["failed"] == 1
    said = " ".join(first_run.output.split())
    assert "once-hook first-admin" in said and "failed (rc=3)" in said and "no admin yet: ********" in said
    assert CANARY not in first_run.output
    assert seen["once_log"] == [f"init-db app-prod {BASE}/releases/{seen['current']} {BASE}/releases/{seen['current']}/.venv"]
    assert list(seen["once"]) == ["init-db"]
    assert seen["once"]["init-db"]["commit"] == commits["secure-redirect"]
    assert seen["once"]["init-db"]["who"] == seen["record"][-1]["who"] and seen["once"]["init-db"]["time"]
    assert seen["record"][-1]["outcome"] == "failed" and seen["current"] == once_hooks[0].seen[inventory_name]["current"]


def test_a_failed_once_hook_is_retried_before_the_switch_and_a_done_one_never_runs_again(inventory_name, once_hooks, commits):
    first_run, retried = once_hooks[1], once_hooks[2]
    recap, seen = retried.of(inventory_name)
    assert recap["failed"] == 0, retried.output[-3000:]
    assert seen["serving"].get("commit") == commits["deps"]
    assert seen["once_log"] == first_run.seen[inventory_name]["once_log"] + ["first-admin"]
    assert seen["once"]["first-admin"]["commit"] == commits["deps"]
    assert seen["once"]["init-db"] == first_run.seen[inventory_name]["once"]["init-db"]
    assert "once-hooks ran: first-admin" in " ".join(retried.output.split())


def test_a_once_hook_runs_again_only_when_asked_and_a_changed_text_only_warns(inventory_name, once_hooks):
    retried, rerun = once_hooks[2], once_hooks[3]
    recap, seen = rerun.of(inventory_name)
    assert recap["failed"] == 0 and recap["changed"] > 0, rerun.output[-3000:]
    assert seen["once_log"][:-1] == retried.seen[inventory_name]["once_log"] and seen["once_log"][-1].startswith("init-db app-prod ")
    said = " ".join(rerun.output.split())
    assert "once-hook first-admin's command changed since it ran" in said and "-e deploy_rerun_once=first-admin" in said
    assert seen["once"]["first-admin"] == retried.seen[inventory_name]["once"]["first-admin"]
    assert seen["once"]["init-db"]["time"] >= retried.seen[inventory_name]["once"]["init-db"]["time"]


# One-off commands (playbooks/run.yml): in the serving release, as the app's user, with its environment and venv.
RUN_PLAYBOOK = "../../playbooks/run.yml"
SEES = ("python -c 'import os, sys; print(os.getcwd(), os.environ[\"USER\"], os.environ[\"VIRTUAL_ENV\"], sys.argv[1], os.environ[\"API_TOKEN\"])'"
        ' "$HOME"; flask --app app routes')


def runs(each) -> list[dict]:
    return [json.loads(line) for line in each.run(f"cat {BASE}/runs.jsonl 2>/dev/null").stdout.splitlines()]


@pytest.fixture(scope="session")
def one_off(all_hosts, once_hooks):
    """run.yml without a command, on two hosts without asking, then a command that says what it sees, then one that fails."""
    no_command = run_playbook(RUN_PLAYBOOK)[0]
    two_hosts = run_playbook(RUN_PLAYBOOK, extra_vars={"command": "true"})[0]
    refused_runs = {name: runs(each) for name, each in all_hosts.items()}
    sees, sees_recap = run_playbook(RUN_PLAYBOOK, extra_vars={"command": SEES, "all_hosts": True})
    seen_runs = {name: runs(each) for name, each in all_hosts.items()}
    fails, fails_recap = run_playbook(RUN_PLAYBOOK, extra_vars={"command": "echo about to fail; exit 7", "all_hosts": True})
    return no_command, two_hosts, refused_runs, (sees, sees_recap, seen_runs), (fails, fails_recap, {name: runs(each) for name, each in all_hosts.items()})


def test_run_refuses_without_a_command_or_on_several_hosts_unasked(inventory_name, one_off):
    no_command, two_hosts, refused_runs = one_off[:3]
    assert no_command.returncode != 0 and "-e 'command=" in output_tail(no_command)
    assert two_hosts.returncode != 0 and "would run on 2 hosts" in output_tail(two_hosts) and "-e all_hosts=true" in output_tail(two_hosts)
    assert refused_runs[inventory_name] == []


def test_run_runs_in_the_serving_release_as_the_app_with_its_environment(inventory_name, one_off, once_hooks):
    sees, recap, seen_runs = one_off[3]
    release = f"{BASE}/releases/{once_hooks[3].seen[inventory_name]['current']}"
    assert recap[inventory_name]["failed"] == 0, output_tail(sees)
    output = sees.stdout + sees.stderr
    said = " ".join(output.split())  # the callback wraps long lines
    assert f"{release} app-prod {release}/.venv {BASE} ********" in said
    assert "healthz GET /healthz" in said and "exit status 0" in said
    assert CANARY not in output
    entry = seen_runs[inventory_name][-1]
    assert (entry["command"], entry["rc"], entry["release_id"]) == (SEES, 0, os.path.basename(release))
    assert entry["who"] == pwd.getpwuid(os.getuid()).pw_name and entry["started"]


def test_a_failing_command_fails_run_with_its_status(inventory_name, one_off):
    fails, recap, fail_runs = one_off[4]
    assert recap[inventory_name]["failed"] == 1
    said = " ".join((fails.stdout + fails.stderr).split())
    assert "about to fail" in said and "exited with status 7" in said
    assert fail_runs[inventory_name][-1]["rc"] == 7


@pytest.fixture(scope="session")
def app_logs(all_hosts, one_off):
    """A request the app logs (gunicorn's access log, on in this scenario, goes to the journal), then logs.yml."""
    for each in all_hosts.values():
        each.check_output(f"curl -sS --max-time 5 -o /dev/null http://{TARGET}/healthz?molecule-logs-line")
    return run_playbook("../../playbooks/logs.yml", extra_vars={"lines": 20})


def test_logs_show_the_apps_recent_lines_and_change_nothing(inventory_name, app_logs):
    run, recap = app_logs
    assert recap[inventory_name]["failed"] == recap[inventory_name]["changed"] == 0, output_tail(run)
    output = run.stdout + run.stderr
    assert "GET /healthz?molecule-logs-line" in output
    assert "app-prod.service" in output and "app-prod@*.service" in output and "/var/log/nginx/app-prod.access.log" in output
    assert CANARY not in output


# Vite 8's own engines.node (the lockfile of examples/flask/frontend): Debian 13's Node 20.19 meets it, Debian 12's 18.20 does not.
VITE_ON_NODE_18 = "Node 18.20.4 on this host; vite 8.4.1 needs ^20.19.0 || >=22.12.0: use Debian 13 (Node 20.19) or install a newer Node from NodeSource"
APP_LABEL = "molecule-frontend-label"


def frontend_seen(each) -> dict:
    """The built frontend as nginx serves it from the current release, and the node_modules the releases share."""
    page = each.run("curl -sS --max-time 5 --insecure --resolve app.test:443:127.0.0.1 https://app.test/app/")
    asset = re.search(r'src="(/app/assets/[^"]+\.js)"', page.stdout)
    script = each.run(f"curl -sS --max-time 5 --insecure --resolve app.test:443:127.0.0.1 https://app.test{asset.group(1)}").stdout if asset else ""
    shared = each.run(f"ls -1 {BASE}/node_modules").stdout.split() if each.file(f"{BASE}/node_modules").exists else []
    return {"page": page.stdout, "script": script, "shared": shared, "vite": each.file(f"{BASE}/current/frontend/node_modules/vite/package.json").exists,
            "created": {name: each.run(f"cat {BASE}/node_modules/{name}/.stagecraft-npm.json").stdout for name in shared},
            "links": each.run(f"readlink -f {BASE}/releases/*/frontend/node_modules").stdout.split(),
            "debian": each.system_info.codename}


@pytest.fixture(scope="session")
def frontends(all_hosts, app_logs):
    """The example's Vite 8 frontend built in a release (Node and npm installed by the role), then a second release
    with the same lockfile."""
    private = private_repository("ssh_host_ed25519_key.pub")
    built = []
    for version in ("frontend", "frontend-again"):
        settings = {"deploy_version": version, "deploy_npm_dir": "frontend", "deploy_npm_env": {"VITE_APP_LABEL": APP_LABEL}}
        deployed = phase(all_hosts, **(private | settings))
        built.append((deployed, {name: frontend_seen(each) for name, each in all_hosts.items()}))
    return built


def test_a_vite_frontend_builds_and_nginx_serves_it_or_the_host_says_its_node_is_too_old(inventory_name, frontends, commits):
    (first, frontend), _again = frontends
    recap, seen = first.of(inventory_name)
    served = frontend[inventory_name]
    if served["debian"] == "bookworm":
        assert recap["failed"] == 1
        said = " ".join(ANSIBLE_ERROR_HEADING.sub("", first.output).split())
        old_nodes = [name for name, each in frontend.items() if each["debian"] == "bookworm"]
        # Once, in the deploy module's failure, for each such host.
        assert said.count(VITE_ON_NODE_18) == len(old_nodes), said[-3000:]
        assert "or pin vite 6" in said and "SyntaxError" not in said
        assert states_of(seen, commits["frontend"]) == ["failed"]
        # The release before serves on (the one the once-hooks' phases left).
        assert seen["releases"][seen["current"]]["commit"] == commits["deps"]
        assert served["shared"] == []  # refused before npm ci
        return
    assert recap["failed"] == 0, first.output[-3000:]
    assert seen["serving"].get("commit") == commits["frontend"]
    assert '<p id="app">' in served["page"] and APP_LABEL in served["script"], served
    assert served["vite"] and len(served["shared"]) == 1


def test_a_second_release_with_the_same_lockfile_reuses_node_modules(inventory_name, frontends, commits):
    (_first, before), (again, after) = frontends
    recap, seen = again.of(inventory_name)
    if after[inventory_name]["debian"] == "bookworm":
        assert recap["failed"] == 1 and VITE_ON_NODE_18 in " ".join(again.output.split())
        assert seen["releases"][seen["current"]]["commit"] == commits["deps"] and after[inventory_name]["shared"] == []
        return
    assert recap["failed"] == 0, again.output[-3000:]
    assert seen["serving"].get("commit") == commits["frontend-again"]
    assert "Flask example (again)" in after[inventory_name]["script"]
    # One node_modules, installed once (its record unchanged), linked from both releases.
    assert after[inventory_name]["shared"] == before[inventory_name]["shared"]
    assert after[inventory_name]["created"] == before[inventory_name]["created"]
    links = after[inventory_name]["links"]
    assert len(links) == 2 and set(links) == {f"{BASE}/node_modules/{before[inventory_name]['shared'][0]}/node_modules"}, links


# The Django example behind nginx (django.yml): uploads written by the app, served by nginx.
DJANGO = "/srv/django/prod"
DJANGO_SITE = "https://django.test"
# As a client reaches it: HTTPS to nginx's port, under the server block's own name.
CURL = "curl -sS --max-time 10 -k --resolve django.test:443:127.0.0.1"
UPLOADED = b"GIF89a stagecraft upload \x00\x01\x02 bytes"
SAME_COMMIT = ("GIT_AUTHOR_DATE=2026-01-01T00:00:00Z GIT_COMMITTER_DATE=2026-01-01T00:00:00Z"
               " git -c user.name=molecule -c user.email=molecule@test.invalid")
HTML_PAGE = "<html><body><script>document.title = 'ran as the site'</script></body></html>"


def upload(each, name: str, content: str) -> dict:
    """Upload a file through nginx as a browser would: the CSRF cookie and token first, then the form POST."""
    jar = f"/tmp/molecule-{name}.cookies"
    token = json.loads(each.run(f"{CURL} -c {jar} {DJANGO_SITE}/upload").stdout)["csrf_token"]
    each.run(f"printf %s {shlex.quote(content)} | base64 -d > /tmp/{name}")
    posted = each.run(f"{CURL} -b {jar} -H 'X-CSRFToken: {token}' -H 'Origin: {DJANGO_SITE}' -F 'file=@/tmp/{name}' {DJANGO_SITE}/upload")
    return json.loads(posted.stdout) if posted.stdout.startswith("{") else {"error": posted.stdout + posted.stderr}


def fetch(each, url: str) -> dict:
    """What nginx answers for `url`: status, headers (lower-case names) and the body, base64."""
    each.run("rm -f /tmp/molecule-headers /tmp/molecule-body")
    answer = each.run(f"{CURL} -D /tmp/molecule-headers -o /tmp/molecule-body {DJANGO_SITE}{url} && base64 -w0 /tmp/molecule-body")
    lines = each.file("/tmp/molecule-headers").content_string.splitlines()
    headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    return {"status": int(lines[0].split()[1]) if lines else 0, "headers": {name.lower(): value for name, value in headers.items()},
            "body": answer.stdout.strip()}


def redeploy_django(all_hosts, **extra_vars) -> tuple:
    """Deploy the Django example again (django.yml, the deploy role alone)."""
    run, recap = run_playbook("django.yml", *DEPLOY_ONLY, extra_vars=extra_vars or None)
    return run.stdout + run.stderr, recap, {name: each.file(f"{DJANGO}/current").linked_to for name, each in all_hosts.items()}


@pytest.fixture(scope="session")
def media_uploads(all_hosts, frontends):
    """Uploads through nginx to the Django example; fetched back after the upload, after a deploy of a new commit
    and after a rollback; an uploaded page; and what nginx's own user can read of the app's data."""
    return uploads_through_nginx(all_hosts)


def uploads_through_nginx(all_hosts) -> tuple:
    """The media phase (media_uploads): what each host answered, the redeploy, then the rollback."""
    encoded = base64.b64encode(UPLOADED).decode()
    html = base64.b64encode(HTML_PAGE.encode()).decode()
    seen = {name: {"upload": upload(each, "photo.gif", encoded), "page": upload(each, "page.html", html)} for name, each in all_hosts.items()}
    for name, each in all_hosts.items():
        seen[name]["fetched"] = fetch(each, seen[name]["upload"].get("url", "/media/missing"))
        seen[name]["page_fetched"] = fetch(each, seen[name]["page"].get("url", "/media/missing"))
        # A new commit of the app for the redeploy, the same on every host (the deploy resolves the ref once for all).
        each.run(f"rm -rf /tmp/molecule-django && git clone -q /srv/git/django.git /tmp/molecule-django && cd /tmp/molecule-django"
                 f" && echo '# redeployed' >> README.md && {SAME_COMMIT} commit -qam redeploy && git push -q origin main")
    redeployed = redeploy_django(all_hosts)
    after_redeploy = {name: fetch(each, seen[name]["upload"].get("url", "/media/missing")) for name, each in all_hosts.items()}
    rolled_back = redeploy_django(all_hosts, deploy_rollback=True)
    after_rollback = {name: fetch(each, seen[name]["upload"].get("url", "/media/missing")) for name, each in all_hosts.items()}
    for name, each in all_hosts.items():
        seen[name]["www_data_reads"] = {path: each.run(f"runuser -u www-data -- cat {path} > /dev/null").rc == 0 for path in (
            "/etc/stagecraft/django-prod/env", f"{DJANGO}/shared/data/db.sqlite3")}
        seen[name]["listing"] = fetch(each, "/media/uploads/")["status"]
    return seen, redeployed, after_redeploy, rolled_back, after_rollback


def test_an_upload_through_nginx_is_served_by_nginx(inventory_name, media_uploads):
    seen = media_uploads[0][inventory_name]
    assert seen["upload"].get("url", "").startswith("/media/uploads/photo"), seen["upload"]
    fetched = seen["fetched"]
    assert fetched["status"] == 200, fetched
    assert base64.b64decode(fetched["body"]) == UPLOADED
    assert fetched["headers"]["x-content-type-options"] == "nosniff"
    assert seen["listing"] in (403, 404)


def test_uploads_survive_a_redeploy_and_a_rollback_of_the_app(inventory_name, media_uploads):
    seen, redeployed, after_redeploy, rolled_back, after_rollback = media_uploads
    before = seen[inventory_name]["fetched"]["body"]
    assert redeployed[1][inventory_name]["failed"] == 0, redeployed[0][-3000:]
    assert rolled_back[1][inventory_name]["failed"] == 0, rolled_back[0][-3000:]
    assert redeployed[2][inventory_name] != rolled_back[2][inventory_name]
    assert (after_redeploy[inventory_name]["status"], after_redeploy[inventory_name]["body"]) == (200, before)
    assert (after_rollback[inventory_name]["status"], after_rollback[inventory_name]["body"]) == (200, before)


def test_an_uploaded_page_is_not_served_as_a_page_of_the_site(inventory_name, media_uploads):
    page = media_uploads[0][inventory_name]["page_fetched"]
    assert page["status"] == 200, page
    headers = page["headers"]
    assert headers.get("content-disposition", "").startswith("attachment"), headers
    assert "sandbox" in headers.get("content-security-policy", ""), headers
    assert headers["x-content-type-options"] == "nosniff"


def test_nginx_cannot_read_the_apps_secrets_or_database(inventory_name, media_uploads):
    assert media_uploads[0][inventory_name]["www_data_reads"] == {"/etc/stagecraft/django-prod/env": False, f"{DJANGO}/shared/data/db.sqlite3": False}


@pytest.fixture(scope="session")
def django_repo_missing(all_hosts, media_uploads):
    """The deploy role alone (django.yml, no composition read the host first) pointed at a path on the host that holds no repository."""
    return redeploy_django(all_hosts, deploy_repo="/srv/git/../git/no-such.git")


def test_the_role_alone_refuses_a_path_that_is_no_repository_before_anything_changes(inventory_name, django_repo_missing, media_uploads):
    output, recap, current = django_repo_missing
    assert recap[inventory_name]["failed"] == 1
    assert "deploy_repo /srv/git/../git/no-such.git is not a git repository on the host" in output
    assert current[inventory_name] == media_uploads[3][2][inventory_name]


# The gunicorns apps pin: the oldest supported and the last before the control socket under traffic
# (22 sits between them: its flags are 21's, tests/unit covers the reading), then one too old.
SUPPORTED_GUNICORNS = ("21.2.0", "23.0.0")
MARKS = f"{BASE}/rolled-back.json"


def gunicorn_serving(host) -> str:
    return host.run(f"{BASE}/current/.venv/bin/gunicorn --version").stdout.strip()


@pytest.fixture(scope="session")
def gunicorn_versions(all_hosts, media_uploads):
    """One per-push deploy under traffic per supported gunicorn (each a new venv), then gunicorn 20.1."""
    private = private_repository("ssh_host_ed25519_key.pub")
    supported = {}
    for version in SUPPORTED_GUNICORNS:
        deployed = under_traffic(all_hosts, **(private | {"deploy_version": f"gunicorn-{version}"}))
        supported[version] = deployed, {name: gunicorn_serving(each) for name, each in all_hosts.items()}
    too_old = phase(all_hosts, **(private | {"deploy_version": "gunicorn-20.1.0"}))
    return supported, too_old


@pytest.mark.parametrize("version", SUPPORTED_GUNICORNS)
def test_an_app_pinning_an_older_supported_gunicorn_deploys_under_traffic(inventory_name, gunicorn_versions, commits, version):
    deployed, versions = gunicorn_versions[0][version]
    recap, seen = deployed.of(inventory_name)
    assert recap["failed"] == 0, deployed.output[-3000:]
    assert deployed.loops[inventory_name]["failed"] == 0, (deployed.loops[inventory_name], seen["journal"])
    assert seen["serving"].get("commit") == commits[f"gunicorn-{version}"]
    assert versions[inventory_name] == f"gunicorn (version {version})"
    assert seen["candidates"] == ""


def test_a_gunicorn_older_than_supported_is_refused_before_the_switch(inventory_name, gunicorn_versions, commits):
    too_old = gunicorn_versions[1]
    recap, seen = too_old.of(inventory_name)
    assert recap["failed"] == 1
    assert "the release's virtual environment has gunicorn 20.1.0; the collection needs gunicorn 21.0 or later" in too_old.output, too_old.output[-3000:]
    assert seen["serving"].get("commit") == commits["gunicorn-23.0.0"]
    assert states_of(seen, commits["gunicorn-20.1.0"]) == ["failed"]
    assert seen["candidates"] == ""


@pytest.fixture(scope="session")
def rolled_back_and_redeployed(all_hosts, gunicorn_versions):
    """A rollback (from gunicorn 23's commit to 21's), the status view, then the routine deploy of that branch again, then on purpose."""
    private = private_repository("ssh_host_ed25519_key.pub")
    rolled = phase(all_hosts, **(private | {"deploy_rollback": True}))
    status, recap = run_playbook("../../playbooks/status.yml")
    assert recap and not any(counts["failed"] for counts in recap.values()), output_tail(status)
    marks = {name: json.loads(each.file(MARKS).content_string) for name, each in all_hosts.items()}
    again = phase(all_hosts, **(private | {"deploy_version": "gunicorn-23.0.0"}))
    on_purpose = phase(all_hosts, "-e", "deploy_allow_rolled_back=true", **(private | {"deploy_version": "gunicorn-23.0.0"}))
    marks_after = {name: json.loads(each.file(MARKS).content_string) for name, each in all_hosts.items()}
    return rolled, status.stdout, marks, again, on_purpose, marks_after


def test_a_rollback_marks_the_commit_it_left_with_when_and_by_whom(inventory_name, rolled_back_and_redeployed, commits):
    rolled, status, marks = rolled_back_and_redeployed[:3]
    recap, seen = rolled.of(inventory_name)
    assert recap["failed"] == 0, rolled.output[-3000:]
    assert seen["serving"].get("commit") == commits["gunicorn-21.2.0"]
    bad = commits["gunicorn-23.0.0"]
    mark = marks[inventory_name][bad]
    assert (mark["by"], mark["automatic"]) == (pwd.getpwuid(os.getuid()).pw_name, False)
    assert seen["record"][-1]["outcome"] == "rolled_back" and mark["rolled_back"] >= seen["record"][-1]["started"]
    # The post-switch failure's automatic rollback, long before, marked its commit too.
    assert marks[inventory_name][commits["unhealthy-in-service"]]["automatic"] is True
    assert f"rolled back: {bad[:12]}" in " ".join(status.split()), status[-3000:]


def test_the_routine_deploy_of_a_rolled_back_commit_is_refused_and_changes_nothing(inventory_name, rolled_back_and_redeployed, commits):
    rolled, again = rolled_back_and_redeployed[0], rolled_back_and_redeployed[3]
    recap, seen = again.of(inventory_name)
    before = rolled.seen[inventory_name]
    assert recap["failed"] == 1
    said = " ".join(again.output.split())
    assert f"commit {commits['gunicorn-23.0.0'][:12]} was rolled back on " in said, said[-3000:]
    assert "Deploy a newer commit, or put this one back on purpose with -e deploy_allow_rolled_back=true" in said
    for key in ("serving", "current", "releases", "record", "venvs", "locked", "candidates"):
        assert seen[key] == before[key], key


def test_a_rolled_back_commit_is_put_back_on_purpose_and_loses_its_mark(inventory_name, rolled_back_and_redeployed, commits):
    on_purpose, marks_after = rolled_back_and_redeployed[4:]
    recap, seen = on_purpose.of(inventory_name)
    assert recap["failed"] == 0, on_purpose.output[-3000:]
    assert seen["serving"].get("commit") == commits["gunicorn-23.0.0"]
    assert commits["gunicorn-23.0.0"] not in marks_after[inventory_name]
    assert commits["unhealthy-in-service"] in marks_after[inventory_name]


# The Flask app-factory example (factory.yml), last: its first deploy, a redeploy of a new commit and a rollback.
FACTORY = "/srv/factory/prod"
FACTORY_DB = f"{FACTORY}/shared/instance/guestbook.sqlite"
FACTORY_CURL = "curl -sS --max-time 10 -k --resolve factory.test:443:127.0.0.1"


def sign(each, message: str) -> int:
    """Sign the guestbook through nginx as a browser's form would; the status of the answer (303 to the page)."""
    answer = each.run(f"{FACTORY_CURL} -o /dev/null -w '%{{http_code}}' --data-urlencode message={shlex.quote(message)} https://factory.test/")
    return int(answer.stdout or 0)


def guestbook(all_hosts) -> dict[str, dict]:
    """What each host shows: the page through nginx, the database file, the once-hooks record and what serves."""
    seen = {}
    for name, each in all_hosts.items():
        database = each.file(FACTORY_DB)
        seen[name] = {"page": each.run(f"{FACTORY_CURL} https://factory.test/").stdout,
                      "db": (database.user, database.group, database.mode) if database.exists else None,
                      "once": json.loads(each.file(f"{FACTORY}/once-hooks.json").content_string or "{}"),
                      "instance": each.file(f"{FACTORY}/current/instance").linked_to,
                      "current": each.file(f"{FACTORY}/current").linked_to,
                      "www_data_reads": each.run(f"runuser -u www-data -- cat {FACTORY_DB} > /dev/null").rc == 0}
    return seen


def deploy_factory(all_hosts, *args: str, **extra_vars) -> tuple:
    """factory.yml once for all hosts: its output, recap, then each host's guestbook."""
    run, recap = run_playbook("factory.yml", *args, extra_vars=extra_vars or None)
    return run.stdout + run.stderr, recap, guestbook(all_hosts)


@pytest.fixture(scope="session")
def factory_deploys(all_hosts, rolled_back_and_redeployed):
    """The first deploy (every role) with a signature through nginx, a redeploy of a new commit (the deploy role) with
    another, then a rollback to the first release."""
    first = deploy_factory(all_hosts)
    signed = {name: [sign(each, "signed on the first release")] for name, each in all_hosts.items()}
    for each in all_hosts.values():
        each.run(f"rm -rf /tmp/molecule-factory && git clone -q /srv/git/flask-factory.git /tmp/molecule-factory && cd /tmp/molecule-factory"
                 f" && echo '# redeployed' >> README.md && {SAME_COMMIT} commit -qam redeploy && git push -q origin main")
    redeployed = deploy_factory(all_hosts, *DEPLOY_ONLY)
    for name, each in all_hosts.items():
        signed[name].append(sign(each, "signed on the second release"))
    rolled_back = deploy_factory(all_hosts, *DEPLOY_ONLY, deploy_rollback=True)
    return first, redeployed, rolled_back, signed


def test_the_factory_app_writes_and_reads_its_database_through_nginx(inventory_name, factory_deploys):
    *deploys, signed = factory_deploys
    for output, recap, dummy in deploys:
        assert recap[inventory_name]["failed"] == 0, output[-3000:]
    assert signed[inventory_name] == [303, 303]
    page = deploys[-1][2][inventory_name]["page"]
    assert "signed on the first release" in page and "signed on the second release" in page, page


def test_the_factory_apps_instance_folder_lives_in_shared_and_is_the_apps_alone(inventory_name, factory_deploys):
    seen = factory_deploys[0][2][inventory_name]
    assert seen["instance"] == f"{FACTORY}/shared/instance"
    assert seen["db"] == ("factory-prod", "factory-prod", 0o640)
    assert seen["www_data_reads"] is False


def test_init_db_ran_once_and_its_data_survives_a_redeploy_and_a_rollback(inventory_name, factory_deploys):
    first, redeployed, rolled_back = (deploy[2][inventory_name] for deploy in factory_deploys[:3])
    assert list(first["once"]) == ["init-db"]
    assert first["once"]["init-db"]["release_id"] == os.path.basename(first["current"])
    # init-db drops its table: had it run again, the first signature would be gone.
    assert redeployed["once"] == rolled_back["once"] == first["once"]
    assert redeployed["current"] != first["current"] and rolled_back["current"] == first["current"]
    assert "signed on the first release" in redeployed["page"], redeployed["page"]


# The app's data through a rollback (deploy_snapshot_databases): a release whose before_switch migration adds a
# column, data written after it, then playbooks/rollback.yml, first in check mode without restore_data (it says
# what it would leave), then with -e restore_data=true (the snapshot taken before that release came in goes back).
DATA = {"deploy_shared_dirs": ["data"], "deploy_snapshot_databases": ["data/app.db"],
        "deploy_hooks": {"before_switch": ["python -c 'import app; app.migrate()'"]}}
DATABASE = f"{BASE}/shared/data/app.db"


def write_item(each, name: str) -> None:
    """A row the app's user writes, as the app would."""
    script = f"import sqlite3; db = sqlite3.connect({DATABASE!r}); db.execute('INSERT INTO item (name) VALUES (?)', ({name!r},)); db.commit()"
    done = each.run(f"runuser -u app-prod -- python3 -c {shlex.quote(script)}")
    assert done.rc == 0, done.stderr


def items(each) -> dict:
    answer = each.run(f"curl -sS --max-time 5 http://{TARGET}/items")
    return json.loads(answer.stdout) if answer.rc == 0 and answer.stdout.startswith("{") else {"error": answer.stdout + answer.stderr}


@pytest.fixture(scope="session")
def data_rolled_back(all_hosts, factory_deploys):
    """data-v1 deployed, a row written, data-v2 (its migration adds a column) deployed, a row written; then the rollbacks."""
    for each in all_hosts.values():
        assert each.run(f"rm -rf {BASE}/shared/data").rc == 0  # the phase's own data, whatever ran before
    phase(all_hosts, **(DATA | {"deploy_version": "data-v1"}))
    for each in all_hosts.values():
        write_item(each, "before")
    v2 = phase(all_hosts, **(DATA | {"deploy_version": "data-v2"}))
    for each in all_hosts.values():
        write_item(each, "after")
    on_v2 = {name: items(each) for name, each in all_hosts.items()}
    kept, kept_recap = run_playbook("../../playbooks/rollback.yml", *DEPLOY_ONLY, "--check", extra_vars=DATA)
    restored, recap = run_playbook("../../playbooks/rollback.yml", *DEPLOY_ONLY, extra_vars=DATA | {"restore_data": True})
    after = {name: (items(each), look_at(each)) for name, each in all_hosts.items()}
    return v2, on_v2, (kept, kept_recap), (restored, recap), after


def test_a_deploy_snapshots_the_database_before_its_migration(inventory_name, data_rolled_back, commits):
    v2, on_v2 = data_rolled_back[:2]
    recap, seen = v2.of(inventory_name)
    assert recap["failed"] == 0, v2.output[-3000:]
    assert seen["serving"].get("commit") == commits["data-v2"]
    assert on_v2[inventory_name] == {"columns": ["name", "price"], "rows": [["before", None], ["after", None]]}
    assert "data snapshot taken for it: data/app.db (" in " ".join(v2.output.split())


def test_a_rollback_without_restore_data_says_the_data_stays_and_the_snapshot_exists(inventory_name, data_rolled_back, commits):
    kept, recap = data_rolled_back[2]
    assert recap[inventory_name]["failed"] == 0, output_tail(kept)
    said = " ".join((kept.stdout + kept.stderr).split())
    assert "data written since release " in said and " stays as it is; its snapshot, taken " in said, said[-3000:]


def test_a_rollback_with_restore_data_serves_the_old_schema_with_the_data_from_before(inventory_name, data_rolled_back, commits):
    (restored, recap), after = data_rolled_back[3], data_rolled_back[4]
    assert recap[inventory_name]["failed"] == 0, output_tail(restored)
    answer, seen = after[inventory_name]
    assert seen["serving"].get("commit") == commits["data-v1"]
    assert answer == {"columns": ["name"], "rows": [["before"]]}
    said = " ".join((restored.stdout + restored.stderr).split())
    assert "DATA RESTORED: data written to data/app.db since " in said and "(changed since the snapshot: data/app.db)" in said, said[-3000:]
    assert task_outcomes(restored.stdout)["stagecraft.webapp.deploy : Turn the maintenance page on"] == {"changed"}
    assert not seen["maintenance"]
    assert CANARY not in restored.stdout + restored.stderr


# Scheduled snapshots (deploy_snapshot_schedule): the timer set up by a deploy, its service started once by hand under a
# write load rather than waited for, its snapshot listed and put back by playbooks/restore.yml. Its pre_snapshot command
# writes a dump into it; that command and the ship command print a canary, which must stay in their root-only logs.
# The schedule is a time the timer does not reach during the test.
SCHEDULED = DATA | {"deploy_version": "data-v1", "deploy_snapshot_schedule": "*-*-* 03:15:00", "deploy_snapshot_keep": 2,
                    "deploy_snapshot_pre_command": f'echo "a dump of another database" > "$1/other.sql"; echo "connecting with {CANARY}-pre"',
                    "deploy_snapshot_ship_command": f'echo "shipping $1 with password {CANARY}-ship"; test -f "$SNAPSHOT_DIR/manifest.json"'}
SNAPSHOT_UNIT = "app-prod-snapshot"
# Rows the app's user writes while the snapshot is taken: bounded in count and time, stopped by the test.
WRITE_LOAD = ("import sqlite3, time\nstop = time.monotonic() + 60\ndb = sqlite3.connect({0!r}, timeout=30)\n"
              "for row in range(20000):\n    db.execute('INSERT INTO item (name) VALUES (?)', ('load-%d' % row,)); db.commit()\n"
              "    if time.monotonic() > stop:\n        break\n").format(DATABASE)


def scheduled_snapshot(each) -> dict:
    """Start the timer's service once under a write load; what it left."""
    each.run("systemctl stop molecule-write-load; systemctl reset-failed molecule-write-load")
    loaded = each.run(f"systemd-run --unit=molecule-write-load --uid=app-prod --property=RuntimeMaxSec=90 python3 -c {shlex.quote(WRITE_LOAD)}")
    assert loaded.rc == 0, loaded.stderr
    each.run(f"for i in $(seq 50); do [ $(python3 -c \"import sqlite3; print(sqlite3.connect('{DATABASE}').execute("
             "'SELECT count(*) FROM item').fetchone()[0])\") -gt 50 ] && break; sleep 0.2; done")
    started = each.run(f"systemctl start {SNAPSHOT_UNIT}.service")
    each.run("systemctl stop molecule-write-load")
    # journald takes the service's last lines a moment after it finished.
    each.run(f"for i in $(seq 50); do journalctl -o cat -u {SNAPSHOT_UNIT}.service | grep -q '^retention' && break; sleep 0.2; done")
    ids = each.run(f"ls -1 {BASE}/snapshots | grep '^scheduled-'").stdout.split()
    copy = f"{BASE}/snapshots/{ids[-1]}/shared/data/app.db" if ids else "/nonexistent"
    check = f"import sqlite3; db = sqlite3.connect('file:{copy}?mode=ro', uri=True); print(db.execute('PRAGMA integrity_check').fetchone()[0])"
    return {"started": (started.rc, started.stderr), "ids": ids, "integrity": each.run(f"python3 -c {shlex.quote(check)}").stdout.strip(),
            "rows": each.run(f"python3 -c \"import sqlite3; print(sqlite3.connect('file:{copy}?mode=ro', uri=True)"
                             ".execute('SELECT count(*) FROM item').fetchone()[0])\"").stdout.strip(),
            "journal": each.run(f"journalctl --no-pager -o cat -u {SNAPSHOT_UNIT}.service").stdout,
            "ship_log": each.run(f"cat {BASE}/snapshots/.ship.log").stdout, "ship_log_mode": each.file(f"{BASE}/snapshots/.ship.log").mode,
            "pre_log": each.run(f"cat {BASE}/snapshots/.pre_snapshot.log").stdout,
            "dump": each.run(f"cat {BASE}/snapshots/{ids[-1] if ids else 'none'}/pre_snapshot/other.sql").stdout,
            "timer": each.run(f"systemctl is-enabled {SNAPSHOT_UNIT}.timer; systemctl is-active {SNAPSHOT_UNIT}.timer; "
                              f"systemctl show -P RandomizedDelayUSec {SNAPSHOT_UNIT}.timer").stdout.split(),
            "exposure": each.run(f"systemd-analyze security --no-pager {SNAPSHOT_UNIT}.service | tail -1").stdout.strip()}


@pytest.fixture(scope="session")
def timer_snapshots(all_hosts, data_rolled_back):
    """The timer set up, its service started once under load, then a row written and the snapshot restored on each host."""
    # The role's host part alone (--tags deploy-prepare) sets the timer up: no release step.
    set_up = run_playbook(PLAYBOOK, "--tags", "deploy-prepare", extra_vars=SCHEDULED)
    with ThreadPoolExecutor(max_workers=len(all_hosts)) as pool:
        taken = dict(zip(all_hosts, pool.map(scheduled_snapshot, all_hosts.values())))
    for each in all_hosts.values():
        write_item(each, "after-the-snapshot")
    refused, refused_recap = run_playbook("../../playbooks/restore.yml", extra_vars={"snapshot": "../shared"})
    refused_seen = {name: (items(each), each.file(MAINTENANCE_PAGE).exists) for name, each in all_hosts.items()}

    def restore(name):
        return run_playbook("../../playbooks/restore.yml", "--limit", name, extra_vars={"snapshot": taken[name]["ids"][-1]})
    with ThreadPoolExecutor(max_workers=len(all_hosts)) as pool:
        restored = dict(zip(all_hosts, pool.map(restore, all_hosts)))
    after = {name: (items(each), each.file(MAINTENANCE_PAGE).exists) for name, each in all_hosts.items()}
    return set_up, taken, (refused, refused_recap, refused_seen), restored, after


def test_the_timers_snapshot_under_write_load_is_a_consistent_database_listed_by_id(inventory_name, timer_snapshots):
    (set_up, recap), taken = timer_snapshots[0], timer_snapshots[1][inventory_name]
    assert recap[inventory_name]["failed"] == 0, output_tail(set_up)
    assert taken["timer"] == ["enabled", "active", "15min"]
    assert taken["started"] == (0, ""), taken["journal"]
    assert len(taken["ids"]) == 1 and taken["integrity"] == "ok"
    assert int(taken["rows"]) > 1  # "before" and some of the load's rows
    assert taken["dump"] == "a dump of another database\n" and "pre_snapshot (1 files, 27 bytes)" in taken["journal"]
    assert f"took {taken['ids'][0]} taken " in taken["journal"] and f"shipped {taken['ids'][0]} with the ship command" in taken["journal"]
    restored, recap = timer_snapshots[3][inventory_name]
    assert f"{taken['ids'][0]} taken " in " ".join(restored.stdout.split())  # the report's list of snapshots
    warnings.warn(f"{inventory_name}: snapshot service exposure: {taken['exposure']}")


def test_the_timers_snapshot_restores_with_restore_yml_and_says_what_is_lost(inventory_name, timer_snapshots):
    restored, recap = timer_snapshots[3][inventory_name]
    answer, maintenance = timer_snapshots[4][inventory_name]
    assert recap[inventory_name]["failed"] == 0, output_tail(restored)
    assert answer["columns"] == ["name"] and ["after-the-snapshot"] not in answer["rows"] and answer["rows"][0] == ["before"]
    said = " ".join((restored.stdout + restored.stderr).split())
    assert "DATA RESTORED from snapshot scheduled-" in said and "(changed since the snapshot: data/app.db)" in said, said[-3000:]
    assert task_outcomes(restored.stdout)["stagecraft.webapp.deploy : Turn the maintenance page on"] == {"changed"}
    assert not maintenance


def test_restore_yml_refuses_a_hostile_id_before_anything_changes(inventory_name, timer_snapshots):
    refused, recap, seen = timer_snapshots[2]
    answer, maintenance = seen[inventory_name]
    assert recap[inventory_name]["failed"] == 1
    said = " ".join((refused.stdout + refused.stderr).split())
    assert 'snapshot id "../shared" is not a snapshot' in said, said[-3000:]  # ("snapshot's name", quoted in YAML)
    assert ["after-the-snapshot"] in answer["rows"] and not maintenance
    assert "Turn the maintenance page on" not in refused.stdout


def test_no_secret_shows_in_the_timers_output_listing_or_restore(inventory_name, timer_snapshots):
    set_up, taken = timer_snapshots[0][0], timer_snapshots[1][inventory_name]
    restored = timer_snapshots[3][inventory_name][0]
    assert f"with password {CANARY}-ship" in taken["ship_log"] and taken["ship_log_mode"] == 0o600  # the ship command's own output
    assert f"connecting with {CANARY}-pre" in taken["pre_log"]
    refused = timer_snapshots[2][0]
    for text in (taken["journal"], set_up.stdout + set_up.stderr, restored.stdout + restored.stderr, refused.stdout + refused.stderr):
        assert CANARY not in text

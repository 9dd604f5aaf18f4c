"""Rolling deploys behind an nginx load balancer, as converge.yml deploys them with
`ansible-playbook playbooks/deploy.yml` and inventories/balanced (the balanced composition,
playbooks/balanced.yml): three app hosts and a balancer (lb) on the scenario's network. Every
request loop runs on the balancer against its own nginx on 127.0.0.1 (shop.test points there).
The tests run in order: what converge left, a rolling deploy under traffic, a rollout stopped by
the second host's failed health check under traffic, then a rollback of every host to one release.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from conftest import output_tail, run_playbook, start_request_loop, stop_request_loop

HERE = Path(__file__).resolve().parent
INVENTORY = HERE.parent / "inventories" / "balanced"
DEPLOY = "../../playbooks/deploy.yml"
ROLLBACK = "../../playbooks/rollback.yml"
# What a pipeline runs per push: the deploy step alone, a batch at a time.
RELEASE = "../../playbooks/release.yml"
BASE = "/srv/shop/prod"
UPSTREAMS = "/etc/nginx/stagecraft/upstreams/shop-prod"


@pytest.fixture(scope="session")
def apps(all_hosts) -> dict:
    """The app hosts by inventory name, in the order a rollout reaches them."""
    return {name: host for name, host in sorted(all_hosts.items()) if "-app" in name}


@pytest.fixture(scope="session")
def lb(all_hosts):
    return next(host for name, host in all_hosts.items() if name.endswith("-lb"))


def serving(host) -> dict:
    """What the app host's gunicorn answers on /healthz (the commit among it)."""
    answer = host.run("curl -sS --max-time 5 http://127.0.0.1:8000/healthz")
    return json.loads(answer.stdout) if answer.rc == 0 and answer.stdout.startswith("{") else {"error": answer.stderr}


def current(host) -> str:
    return os.path.basename(host.file(f"{BASE}/current").linked_to)


def members(lb) -> dict[str, str]:
    """Each server file of the balancer: "serving" or "drained" (marked down)."""
    names = lb.run(f"ls -1 {UPSTREAMS}").stdout.split()
    return {name: "drained" if " down;" in lb.file(f"{UPSTREAMS}/{name}").content_string else "serving" for name in names}


def deploy_under_traffic(lb, *args: str, **extra_vars):
    """A deploy through the entry point (the deploy step only) while the balancer host asks
    http://shop.test/healthz in a bounded loop; (run, recap, loop summary)."""
    start_request_loop(lb, "shop.test:80")
    run, recap = run_playbook(*args, f"--inventory={INVENTORY}", extra_vars=extra_vars or None)
    return run, recap, stop_request_loop(lb)


def test_the_balancer_serves_from_every_app_host(apps, lb, commits):
    assert sorted(members(lb)) == sorted(f"{name}_8000.conf" for name in apps)
    assert set(members(lb).values()) == {"serving"}
    for name, host in apps.items():
        assert serving(host).get("commit") == commits["main"], name
    answers = lb.run("for attempt in 1 2 3 4 5 6; do curl -sS --max-time 5 -o /dev/null -w '%{http_code} ' http://shop.test/healthz; done")
    assert answers.stdout.split() == ["200"] * 6, answers.stderr


@pytest.fixture(scope="session")
def rolled(apps, lb, commits):
    return deploy_under_traffic(lb, DEPLOY, "--tags=deploy", deploy_version="code")


def test_rolling_deploy_fails_no_request_and_drains_one_host_at_a_time(apps, lb, commits, rolled):
    run, recap, loop = rolled
    output = run.stdout + run.stderr
    assert run.returncode == 0, output_tail(run)
    assert loop["failed"] == 0 and loop["ok"] > 0, loop
    for name, host in apps.items():
        assert serving(host).get("commit") == commits["code"], name
    # One release id for the whole run, on every host.
    assert len({current(host) for host in apps.values()}) == 1
    # Each host left the balancer and came back, in turn: drained, then serving, one host per batch.
    marks = re.findall(r"^TASK \[stagecraft\.webapp\.nginx : Mark the server (drained|serving)\]", output, re.MULTILINE)
    assert marks == ["drained", "serving"] * 3, marks
    assert set(members(lb).values()) == {"serving"}


@pytest.fixture(scope="session")
def stopped(apps, lb, rolled):
    """A per-push deploy of a release that fails its health check on the second app host only (the
    unhealthy-where-marked branch answers 500 where /etc/molecule-unhealthy exists)."""
    second = apps[list(apps)[1]]
    second.run("touch /etc/molecule-unhealthy")
    before = {name: current(host) for name, host in apps.items()}
    try:
        return before, deploy_under_traffic(lb, RELEASE, deploy_version="unhealthy-where-marked")
    finally:
        second.run("rm -f /etc/molecule-unhealthy")


def test_a_failed_host_stops_the_rollout_and_says_who_serves_what(apps, lb, commits, stopped):
    before, (run, recap, loop) = stopped
    output = run.stdout + run.stderr
    first, second, third = apps
    assert run.returncode != 0
    assert loop["failed"] == 0 and loop["ok"] > 0, loop
    # Done before the failure: the new release; the failed host and the one never reached: the old.
    assert serving(apps[first]).get("commit") == commits["unhealthy-where-marked"]
    assert serving(apps[second]).get("commit") == commits["code"]
    assert serving(apps[third]).get("commit") == commits["code"]
    assert current(apps[second]) == before[second] and current(apps[third]) == before[third]
    assert third not in recap or recap[third]["changed"] == 0
    # The failed host still serves its old release, healthy, so the balancer has it back.
    assert set(members(lb).values()) == {"serving"}
    assert f"The rollout stopped at {second}" in output, output_tail(run)
    for name, branch in ((first, "unhealthy-where-marked"), (second, "code"), (third, "code")):
        assert f"{name}: commit {commits[branch][:12]}" in output, output_tail(run)


@pytest.fixture(scope="session")
def rolled_back(apps, lb, stopped):
    target = current(apps[list(apps)[1]])
    return target, deploy_under_traffic(lb, ROLLBACK, release=target)


def test_rollback_brings_every_host_to_one_release(apps, commits, rolled_back):
    target, (run, recap, loop) = rolled_back
    assert run.returncode == 0, output_tail(run)
    assert loop["failed"] == 0, loop
    assert {name: current(host) for name, host in apps.items()} == {name: target for name in apps}
    for name, host in apps.items():
        assert serving(host).get("commit") == commits["code"], name


@pytest.fixture(scope="session")
def resized(apps, lb, rolled_back):
    """The whole balanced playbook with another worker count: the gunicorn role restarts each app
    host's service (its settings changed), a batch at a time, while the balancer is asked."""
    return deploy_under_traffic(lb, DEPLOY, gunicorn_workers=3)


def test_a_settings_restart_behind_the_balancer_fails_no_request(apps, resized):
    run, recap, loop = resized
    assert run.returncode == 0, output_tail(run)
    assert loop["failed"] == 0 and loop["ok"] > 0, loop
    for name, host in apps.items():
        assert recap[name]["changed"] > 0, recap
        master = host.check_output("systemctl show -p MainPID --value shop-prod.service")
        assert len(host.check_output(f"ps --ppid {master} -o pid=").split()) == 3, name

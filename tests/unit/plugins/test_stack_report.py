"""The report of what serves (plugins/module_utils/_status.py, report_lines and fleet_lines) through the
stack role's filters stack_report and stack_fleet_report: the lines a person reads at the end of a run
and after a stopped rollout."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# The collection by FQCN through the checkout's self-link (see module_utils/conftest.py).
COLLECTIONS = Path(__file__).resolve().parents[3] / "collections"
if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))

from ansible_collections.stagecraft.webapp.plugins.filter.stack_fleet_report import FilterModule as FleetFilter  # noqa: E402
from ansible_collections.stagecraft.webapp.plugins.filter.stack_report import FilterModule as ReportFilter  # noqa: E402

report = ReportFilter().filters()["stack_report"]
fleet_report = FleetFilter().filters()["stack_fleet_report"]
HEADING = "shop-prod (prod) https://shop.example.com/"
COMMIT, PREVIOUS = "0123456789abcdef" * 2 + "01234567", "fedcba9876543210" * 2 + "76543210"
RUNNING = {"active_state": "active", "sub_state": "running"}


def status(**changes):
    """What app_status returns for a host that serves COMMIT from release r2, healthy, with nothing else to say."""
    values = {"serving_commit": COMMIT, "current_commit": COMMIT, "serving": "r2", "current": "r2", "rollback_target": "r1",
              "serving_mismatch": False, "last_deploy": None, "rolled_back": [], "snapshots": [], "service": RUNNING, "connector": None,
              "health": {"status": 200, "error": None}, "certificate": None, "lock": None, "watchdog": None}
    values.update(changes)
    return values


def test_a_quiet_host():
    assert report(status(), HEADING) == [
        HEADING,
        "serves commit 0123456789ab (release r2); previous none; rollback target r1",
        "last deploy: none",
        "rolled back: none",
        "snapshots: none",
        "service active (running)",
        "health 200",
        "not locked",
        "no watchdog",
        "watchdog alerts: none",
    ]


LAST = {"outcome": "success", "ref": "main", "who": "alice", "started": "2026-12-06T10:00:00Z", "duration": 41.3, "previous_commit": PREVIOUS}


@pytest.mark.parametrize("changes, line, expected", [
    # What the service runs is what serves; `current` alone says what the last switch pointed at.
    ({"serving_commit": "", "serving": None, "current": None, "current_commit": "", "rollback_target": None}, 1,
     "serves commit none (release none); previous none; rollback target none"),
    ({"serving_commit": "", "serving": None}, 1, "serves commit 0123456789ab (release r2); previous none; rollback target r1"),
    ({"current": "r3", "serving_mismatch": True, "last_deploy": LAST}, 1, "serves commit 0123456789ab (release r2); previous fedcba987654;"
     " rollback target r1; MISMATCH: current points at r3, which the service does not run (deploy again)"),
    ({"last_deploy": LAST}, 2, "last deploy: success of main by alice at 2026-12-06T10:00:00Z (41.3 s)"),
    ({"last_deploy": dict(LAST, outcome="rolled_back", job_id=4242)}, 2,
     "last deploy: rolled_back of main by alice at 2026-12-06T10:00:00Z (41.3 s), job 4242"),
    ({"rolled_back": [{"summary": "abc (bad)"}, {"summary": "def"}]}, 3, "rolled back: abc (bad); def"),
    ({"snapshots": [{"summary": "s1 before r2"}, {"summary": "s2 timer"}]}, 4, "snapshots: s1 before r2; s2 timer"),
    ({"snapshots": None}, 4, "snapshots: none"),
    ({"service": {"active_state": "failed", "sub_state": "failed"}}, 5, "service failed (failed)"),
    ({"connector": {"name": "cloudflared-shop-prod", "error": None, "service": RUNNING, "ready": True, "connections": 4, "last_error": None}}, 5,
     "service active (running); connector cloudflared-shop-prod active (running), ready, 4 edge connections"),
    ({"connector": {"name": "cloudflared-shop-prod", "error": None, "service": {"active_state": "activating", "sub_state": "auto-restart"},
                    "ready": False, "connections": None, "last_error": "ERR no edge"}}, 5,
     "service active (running); connector cloudflared-shop-prod activating (auto-restart), not ready, no edge connections; last error: ERR no edge"),
    ({"connector": {"name": "cloudflared-shop-prod", "error": "cannot read the record", "service": None, "ready": False, "connections": None,
                    "last_error": None}}, 5, "service active (running); connector cloudflared-shop-prod: cannot read the record"),
    ({"health": {"status": 0, "error": "connection refused"}}, 6, "health no answer (connection refused)"),
    ({"certificate": {"not_after": "2027-03-01T00:00:00Z", "days_left": 85}}, 6, "health 200; certificate expires 2027-03-01T00:00:00Z (85 days)"),
    ({"lock": {"pid": 42, "who": "alice"}}, 7, 'deploy lock held by {"pid": 42, "who": "alice"}'),
    ({"watchdog": {"last": "2026-12-06T10:01:00Z", "alerts": []}}, 8, "watchdog: last run 2026-12-06T10:01:00Z"),
    ({"watchdog": {"last": "t", "alerts": ["down health", "restarted shop-prod.service"]}}, 9, "watchdog alerts: down health; restarted shop-prod.service"),
])
def test_each_line_says_what_the_host_said(changes, line, expected):
    assert report(status(**changes), HEADING)[line] == expected


def test_the_fleet_says_which_commit_each_host_serves():
    results = [{"__stack_host": "app1", "current_commit": COMMIT, "current": "r2", "health": {"status": 200}},
               {"__stack_host": "app2", "current_commit": "", "current": None, "health": {"status": 0}},
               # A host that could not be asked says nothing.
               {"__stack_host": "app3", "failed": True, "msg": "unreachable"}]
    assert fleet_report(results) == ["app1: commit 0123456789ab (release r2), health 200",
                                     "app2: commit none (release none), health no answer",
                                     "app3: commit none (release none), health no answer"]

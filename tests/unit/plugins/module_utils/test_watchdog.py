"""The watchdog's rules (plugins/module_utils/_watchdog.py): failure counting, the once-only restart,
the alerts on down and recovery, silence during a deploy or maintenance, the certificate warning.
Real pieces where they are cheap: certificates made by cryptography, a local HTTP server, the
program itself run by python3 with a config and a state file, an alert command that records its stdin.
"""

from __future__ import annotations

import datetime
import http.server
import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ansible_collections.stagecraft.webapp.plugins.module_utils import _watchdog
from ansible_collections.stagecraft.webapp.plugins.module_utils._watchdog import (
    certificate_due, certificate_not_after, decide, probe, run_once, settings_problems, summary, suppressed_counters,
)

NOW = datetime.datetime(2026, 12, 6, 12, 0, 0, tzinfo=datetime.timezone.utc)
HEALTH = {"name": "health", "url": "https://shop.test/healthz", "connect_address": "127.0.0.1", "unit": "shop-prod.service", "status": 200}


def der_certificate(not_after: datetime.datetime) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "shop.test")])
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key()).serial_number(7)
                   .not_valid_before(NOW - datetime.timedelta(days=1)).not_valid_after(not_after).sign(key, hashes.SHA256()))
    return certificate.public_bytes(serialization.Encoding.DER)


# --- Settings -------------------------------------------------------------------------------------

SETTINGS = {"watchdog_present": True, "watchdog_health_url": "https://shop.example.com/healthz", "watchdog_failures": 3, "watchdog_timeout": 10,
            "watchdog_certificate_warn_days": 14, "watchdog_alert_command": ["curl", "-fsS", "--data-binary", "@-", "https://hooks.example.com/x"]}


def test_good_settings_have_no_problem():
    assert settings_problems(SETTINGS) == []


@pytest.mark.parametrize("change, problem", [
    ({"watchdog_health_url": "shop.example.com/healthz"}, "watchdog_health_url: health_url must be an http:// or https:// URL with a host name"),
    ({"watchdog_health_url": "https://shop.example.com:99999/"}, "watchdog_health_url: health_url 'https://shop.example.com:99999/' has an invalid port"),
    ({"watchdog_failures": 0}, "watchdog_failures: must be a whole number of at least 1, got 0"),
    ({"watchdog_timeout": 0}, "watchdog_timeout: must be a whole number of at least 1, got 0"),
    ({"watchdog_certificate_warn_days": -1}, "watchdog_certificate_warn_days: must be a whole number of at least 0, got -1"),
    ({"watchdog_alert_command": ["curl", ""]}, "watchdog_alert_command: a command and its arguments, each a non-empty string"),
])
def test_bad_settings_are_refused_naming_the_variable(change, problem):
    problems = settings_problems(dict(SETTINGS, **change))
    assert len(problems) == 1 and problems[0].startswith(problem), problems


def test_a_watchdog_to_remove_needs_no_good_settings():
    assert settings_problems(dict(SETTINGS, watchdog_present=False, watchdog_failures=0, watchdog_health_url="")) == []


# --- Certificates ---------------------------------------------------------------------------------

@pytest.mark.parametrize("not_after", [
    datetime.datetime(2027, 3, 1, 8, 30, 5, tzinfo=datetime.timezone.utc),  # UTCTime
    datetime.datetime(2051, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc),  # GeneralizedTime (2050 and later)
])
def test_the_expiry_is_read_from_the_der_as_cryptography_reads_it(not_after):
    assert certificate_not_after(der_certificate(not_after)) == not_after


@pytest.mark.parametrize("der", [b"", b"\x30\x03\x02\x01", b"not a certificate at all"])
def test_what_is_no_certificate_is_a_value_error(der):
    with pytest.raises(ValueError):
        certificate_not_after(der)


@pytest.mark.parametrize("days, warned_for, due", [
    (30, None, False),  # far off
    (14, None, True),  # within the warning days
    (3, None, True),
    (3, "2026-12-09T12:00:00Z", False),  # this certificate was warned about already
    (3, "2026-10-01T00:00:00Z", True),  # a renewed certificate that is due again
    (-2, None, True),  # expired
])
def test_a_certificate_is_warned_about_once_within_the_warning_days(days, warned_for, due):
    not_after = _watchdog.utc_text(NOW + datetime.timedelta(days=days))
    assert certificate_due(not_after, NOW, 14, warned_for) is due


def test_no_certificate_or_no_warning_days_warns_nothing():
    assert not certificate_due(None, NOW, 14, None)
    assert not certificate_due(_watchdog.utc_text(NOW), NOW, 0, None)


# --- Failure counting and the once-only restart ---------------------------------------------------

def runs(outcomes, threshold=3):
    """The actions of each run for a sequence of passed/failed runs, from a fresh state."""
    counters, done = {}, []
    for passed in outcomes:
        counters, actions = decide(counters, passed, threshold)
        done.append(actions)
    return done


def test_after_n_failures_in_a_row_the_unit_is_restarted_once_and_alerted():
    assert runs([False, False, False]) == [[], [], ["restart", "alert-down"]]


def test_a_pass_between_failures_starts_the_count_again():
    assert runs([False, False, True, False, False]) == [[], [], [], [], []]


def test_an_app_that_keeps_failing_is_not_restarted_or_alerted_again():
    assert runs([False] * 10) == [[], [], ["restart", "alert-down"]] + [[]] * 7


def test_recovery_is_alerted_once_and_a_later_outage_restarts_again():
    assert runs([False, False, False, True, True, False, False, False]) == [
        [], [], ["restart", "alert-down"], ["alert-recovered"], [], [], [], ["restart", "alert-down"]]


def test_a_threshold_of_one_acts_on_the_first_failure():
    assert runs([False, True], threshold=1) == [["restart", "alert-down"], ["alert-recovered"]]


def test_a_deploy_starts_the_count_again_but_keeps_an_outage_and_its_restart():
    counters, dummy = decide({"failures": 1}, False, 3)
    assert suppressed_counters(counters) == {"failures": 0, "down": False, "restarted": False}
    down, dummy = decide({"failures": 2}, False, 3)
    after = suppressed_counters(down)
    assert after == {"failures": 0, "down": True, "restarted": True}
    # Still failing after the deploy: neither a second restart nor a second alert; its recovery is alerted.
    assert decide(decide(decide(after, False, 3)[0], False, 3)[0], False, 3)[1] == []
    assert decide(after, True, 3)[1] == ["alert-recovered"]


# --- One run, as the timer runs it ----------------------------------------------------------------

class Host:
    """The host as run_once sees it: which files exist, what each probe answers, the commands it ran."""

    def __init__(self, tmp_path: Path):
        self.files = set()
        self.answers = []
        self.commands = []
        self.config = {"app": "shop", "env": "prod", "host": "web1", "checks": [HEALTH], "failures": 2, "timeout": 5,
                       "certificate_warn_days": 14, "alert_command": ["/usr/local/bin/notify"],
                       "lock_file": "/srv/shop/prod/deploy.lock", "maintenance_file": "/var/lib/stagecraft/shop-prod/maintenance.html",
                       "state_file": str(tmp_path / "watchdog.json")}

    def probe(self, check, timeout, now):
        return self.answers.pop(0)

    def command(self, argv, stdin_text=None, timeout=None):
        self.commands.append((argv, stdin_text))
        return 0, ""

    def run(self, when=NOW):
        return run_once(self.config, when, self.probe, self.command, self.files.__contains__)


FAILED = {"ok": False, "status": 500, "error": "answered 500, not 200", "not_after": "2027-03-01T00:00:00Z"}
PASSED = {"ok": True, "status": 200, "error": None, "not_after": "2027-03-01T00:00:00Z"}


@pytest.fixture
def host(tmp_path):
    return Host(tmp_path)


def test_a_failing_app_is_restarted_once_and_alerted_then_its_recovery(host):
    host.answers = [FAILED, FAILED, FAILED, FAILED, PASSED]
    fired = [host.run()[1] for dummy in range(5)]
    restarts = [argv for argv, dummy in host.commands if argv[0] == "systemctl"]
    assert restarts == [["systemctl", "restart", "shop-prod.service"]]
    alerts = [json.loads(stdin) for argv, stdin in host.commands if argv == ["/usr/local/bin/notify"]]
    assert [alert["event"] for alert in alerts] == ["down", "recovered"]
    assert alerts[0] == {"event": "down", "app": "shop", "env": "prod", "host": "web1", "check": "health", "url": HEALTH["url"],
                         "time": "2026-12-06T12:00:00Z", "status": 500, "error": "answered 500, not 200", "failures": 2,
                         "restarted": "shop-prod.service", "restart_error": None}
    assert [len(each) for each in fired] == [0, 1, 0, 0, 1]
    state = json.loads(Path(host.config["state_file"]).read_text())
    assert [alert["event"] for alert in state["alerts"]] == ["down", "recovered"]
    assert state["checks"]["health"] == {"failures": 0, "down": False, "restarted": False}


@pytest.mark.parametrize("marker", ["lock_file", "maintenance_file"])
def test_nothing_is_asked_restarted_or_alerted_during_a_deploy_or_maintenance(host, marker):
    host.answers = [FAILED]
    host.run()
    host.files.add(host.config[marker])
    for dummy in range(4):
        state, fired = host.run()
    assert fired == [] and host.commands == [] and host.answers == []
    assert "exists" in state["last"]["suppressed"] and state["last"]["results"] == {}
    assert summary(state)["last"].startswith("2026-12-06T12:00:00Z: nothing checked, ")
    # Afterwards the count starts again: one failure is not yet two in a row.
    host.files.clear()
    host.answers = [FAILED]
    assert host.run()[1] == [] and host.commands == []


def test_a_certificate_due_is_alerted_once(host):
    due = dict(PASSED, not_after="2026-12-10T00:00:00Z")
    host.answers = [due, due]
    first, second = host.run()[1], host.run()[1]
    assert [(alert["event"], alert["days_left"]) for alert in first] == [("certificate", 3)]
    assert second == []


def test_a_failing_alert_command_is_recorded_and_the_run_goes_on(host):
    host.command = lambda argv, stdin_text=None, timeout=None: (127, "notify: not found") if argv[0] != "systemctl" else (0, "")
    host.config["failures"] = 1
    host.answers = [FAILED]
    state, fired = host.run()
    assert state["alerts"][-1]["alert_error"] == "rc 127: notify: not found"


def test_only_the_last_alerts_are_kept(host):
    host.config["failures"] = 1
    host.answers = [FAILED, PASSED] * 7
    for dummy in range(14):
        state = host.run()[0]
    assert len(state["alerts"]) == _watchdog.ALERTS_KEPT


def test_the_summary_names_the_last_result_and_each_alert(host):
    host.config["failures"] = 1
    host.answers = [FAILED]
    shown = summary(host.run()[0])
    assert shown == {"last": "2026-12-06T12:00:00Z: health failing (answered 500, not 200), certificate until 2027-03-01T00:00:00Z",
                     "alerts": ["2026-12-06T12:00:00Z down health (answered 500, not 200) after 1 failed runs, restarted shop-prod.service"]}
    assert summary({}) == {"last": "no run yet", "alerts": []}


# --- The probe and the program --------------------------------------------------------------------

class Answer(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's name)
        self.send_response(200 if self.headers["Host"] == "shop.test:{0}".format(self.server.server_port) else 500)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    served = http.server.HTTPServer(("127.0.0.1", 0), Answer)
    thread = threading.Thread(target=served.serve_forever, daemon=True)
    thread.start()
    yield served.server_port
    served.shutdown()
    served.server_close()


def test_the_probe_asks_the_address_with_the_server_name(server):
    check = {"url": f"http://shop.test:{server}/healthz", "connect_address": "127.0.0.1", "status": 200}
    assert probe(check, 5, NOW) == {"ok": True, "status": 200, "error": None, "not_after": None}
    other = dict(check, url=f"http://other.test:{server}/healthz")
    assert probe(other, 5, NOW) == {"ok": False, "status": 500, "error": "answered 500, not 200", "not_after": None}


def test_the_probe_of_nothing_listening_fails_with_the_reason(server):
    answer = probe({"url": "http://shop.test:1/healthz", "connect_address": "127.0.0.1"}, 5, NOW)
    assert answer["ok"] is False and answer["status"] == 0 and "ConnectionRefusedError" in answer["error"]


def test_the_program_runs_alone_with_its_config_and_the_alert_gets_json_on_stdin(tmp_path, server):
    """As the timer runs it: python3 with the file itself (no Ansible on the path), an alert command that appends its stdin."""
    record = tmp_path / "alerts.jsonl"
    config = {"app": "shop", "env": "prod", "host": "web1", "failures": 1, "timeout": 5, "certificate_warn_days": 14,
              "checks": [{"name": "health", "url": f"http://other.test:{server}/healthz", "connect_address": "127.0.0.1",
                          "unit": "stagecraft-no-such-unit.service", "status": 200}],
              "alert_command": ["/bin/sh", "-c", f"cat >> {record}"],
              "lock_file": str(tmp_path / "deploy.lock"), "maintenance_file": str(tmp_path / "maintenance.html"),
              "state_file": str(tmp_path / "watchdog.json")}
    (tmp_path / "config.json").write_text(json.dumps(config))
    done = subprocess.run([sys.executable, "-I", _watchdog.__file__, str(tmp_path / "config.json")], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    alert = json.loads(record.read_text())
    assert (alert["event"], alert["status"], alert["restarted"]) == ("down", 500, "stagecraft-no-such-unit.service")
    assert alert["restart_error"]  # no such unit (or no systemctl here): said, not hidden
    assert json.loads(done.stdout)["alerts"][0]["event"] == "down"

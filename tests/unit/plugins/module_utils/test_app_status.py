"""The status of one app in one environment (plugins/module_utils/_status.py and the app_status module).

Real things only: an environment directory made by the collection's own helpers from a real git
repository, a local HTTPS server with self-signed certificates that picks its certificate by SNI and
its answer by Host (as nginx's server blocks do), a real systemctl (when there is one) and the module
itself run by `ansible` on localhost.
"""

from __future__ import annotations

import datetime
import http.server
import json
import os
import socket
import ssl
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

# The collection by FQCN through the checkout's self-link (conftest.py); isolated git from there too.
ROOT = Path(__file__).resolve().parents[4]

from ansible_collections.stagecraft.webapp.plugins.module_utils._errors import DeployError
from ansible_collections.stagecraft.webapp.plugins.module_utils._lock import acquire
from ansible_collections.stagecraft.webapp.plugins.module_utils._snapshot import take
from ansible_collections.stagecraft.webapp.plugins.module_utils._marks import add_mark, make_mark
from ansible_collections.stagecraft.webapp.plugins.module_utils._record import FIELDS, append, make_entry
from ansible_collections.stagecraft.webapp.plugins.module_utils._release import GitMirror, create_release, release_id, set_state
from ansible_collections.stagecraft.webapp.plugins.module_utils._status import (
    HealthTarget, app_status, certificate_info, connector_status, deploy_state, ha_connections, last_error_line, probe_health, release_status,
    service_status, serving_release,
)
from ansible_collections.stagecraft.webapp.plugins.module_utils._switch import switch

T1 = datetime.datetime(2026, 11, 22, 19, 5, 7, tzinfo=datetime.timezone.utc)
T2 = T1 + datetime.timedelta(hours=2)
NOW = datetime.datetime(2026, 11, 22, 12, 0, 0, tzinfo=datetime.timezone.utc)
NOT_AFTER = NOW + datetime.timedelta(days=45, hours=6)
NAME = "shop.test"


# The environment directory
def git(path: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(path), *args], check=True, capture_output=True, text=True).stdout.strip()


class Env:
    """/srv/<app>/<env> in miniature: two good releases, current on the second, a lock and two record entries."""

    def __init__(self, tmp_path: Path):
        origin = tmp_path / "origin"
        origin.mkdir()
        git(origin, "init", "--quiet", "--initial-branch=main")
        self.commits = []
        for version in ("v1", "v2"):
            (origin / "app.py").write_text(f"print('{version}')\n")
            git(origin, "add", "--all")
            git(origin, "commit", "--quiet", "-m", version)
            git(origin, "tag", version)
            self.commits.append(git(origin, "rev-parse", "HEAD"))
        self.path = tmp_path / "shop" / "prod"
        mirror = GitMirror(str(self.path / "repo.git"), str(origin))
        mirror.fetch()
        self.releases = []
        for ref, when in (("v1", T1), ("v2", T2)):
            resolved = mirror.resolve(ref)
            made = create_release(mirror, str(self.path / "releases"), resolved, release_id(resolved.commit, when), now=when)
            set_state(made.path, "good")
            self.releases.append(made.release_id)
        switch(str(self.path / "current"), os.path.join("releases", self.releases[1]))
        self.holder = acquire(str(self.path / "deploy.lock"), "alice", holder_id="run-3", job_id="awx-3")[1]
        self.entries = [
            make_entry("alice", "v1", self.commits[0], None, self.releases[0], T1, T1 + datetime.timedelta(seconds=42.5), "success", job_id="awx-1"),
            make_entry("bob", "v2", self.commits[1], self.commits[0], self.releases[1], T2, T2 + datetime.timedelta(seconds=30), "success"),
        ]
        for entry in self.entries:
            append(str(self.path / "deploys.jsonl"), entry)


@pytest.fixture
def env(tmp_path):
    return Env(tmp_path)


def test_release_status_reads_current_its_commit_the_last_deploy_and_the_lock(env):
    status = release_status(str(env.path))
    assert status == {"current": env.releases[1], "current_commit": env.commits[1], "rollback_target": env.releases[0],
                      "last_deploy": env.entries[1], "lock": env.holder, "rolled_back": [], "snapshots": []}
    assert set(status["last_deploy"]) == set(FIELDS) >= {"who", "ref", "commit", "previous_commit", "started", "duration", "outcome", "job_id"}


def test_an_environment_with_nothing_in_it(tmp_path):
    assert release_status(str(tmp_path / "nothing")) == {
        "current": "", "current_commit": "", "rollback_target": "", "last_deploy": None, "lock": None, "rolled_back": [],
        "snapshots": []}


def test_the_rollback_marks_are_listed_newest_first_each_in_one_line(env):
    add_mark(str(env.path), make_mark(env.commits[0], env.releases[0], datetime.datetime(2026, 12, 5, 9, 0, tzinfo=datetime.timezone.utc), "alice"))
    add_mark(str(env.path), make_mark(env.commits[1], env.releases[1], datetime.datetime(2026, 12, 6, 9, 0, tzinfo=datetime.timezone.utc), "bob",
                                      automatic=True))
    marks = release_status(str(env.path))["rolled_back"]
    assert [mark["summary"] for mark in marks] == [f"{env.commits[1][:12]} on 2026-12-06T09:00:00Z by bob (automatic)",
                                                   f"{env.commits[0][:12]} on 2026-12-05T09:00:00Z by alice"]
    assert deploy_state(str(env.path))["rolled_back"] == marks


def test_a_record_entry_lacking_fields_reads_as_null_fields(tmp_path):
    (tmp_path / "deploys.jsonl").write_text(json.dumps({"who": "carol", "outcome": "failed"}) + "\n")
    assert release_status(str(tmp_path))["last_deploy"] == dict({field: None for field in FIELDS}, who="carol", outcome="failed")


def test_deploy_state_is_what_deploy_info_reports(env):
    state = deploy_state(str(env.path), records=1)
    assert (state["current"], state["rollback_target"], state["lock"], state["deploys"]) == (env.releases[1], env.releases[0], env.holder, env.entries[1:])
    assert [(release["release_id"], release["state"], release["commit"]) for release in state["releases"]] == [
        (env.releases[0], "good", env.commits[0]), (env.releases[1], "good", env.commits[1])]
    assert deploy_state(str(env.path))["deploys"] == env.entries


# systemd
def test_without_systemctl_the_state_is_unknown_with_the_reason(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    service = service_status("shop-prod.service")
    assert service == {"unit": "shop-prod.service", "load_state": "unknown", "active_state": "unknown", "sub_state": "unknown",
                       "unit_file_state": "unknown", "enabled": None, "main_pid": 0, "error": service["error"]}
    assert "systemctl not found" in service["error"]


def fake_systemctl(folder: Path, rc: int, out: str, err: str = "") -> Path:
    """A real program named systemctl that prints what it is told and keeps its arguments (systemd is not in the test bed)."""
    folder.mkdir(exist_ok=True)
    program = folder / "systemctl"
    program.write_text(f"#!/bin/sh\nprintf '%s\\n' \"$@\" > '{folder}/argv'\nprintf '%s' '{out}'\nprintf '%s' '{err}' >&2\nexit {rc}\n")
    program.chmod(program.stat().st_mode | stat.S_IXUSR)
    return program


@pytest.mark.parametrize("out, expected", [
    ("LoadState=loaded\nActiveState=active\nSubState=running\nUnitFileState=enabled\nMainPID=4242\n",
     {"load_state": "loaded", "active_state": "active", "sub_state": "running", "unit_file_state": "enabled", "enabled": True, "main_pid": 4242,
      "error": None}),
    ("ActiveState=failed\nSubState=failed\nUnitFileState=disabled\nLoadState=loaded\nMainPID=0\n",
     {"load_state": "loaded", "active_state": "failed", "sub_state": "failed", "unit_file_state": "disabled", "enabled": False, "main_pid": 0,
      "error": None}),
    ("LoadState=not-found\nActiveState=inactive\nSubState=dead\nUnitFileState=\n",
     {"load_state": "not-found", "active_state": "inactive", "sub_state": "dead", "unit_file_state": "", "enabled": False, "main_pid": 0,
      "error": "systemd cannot load nosuch.service: LoadState=not-found"}),
])
def test_systemctl_show_is_read(tmp_path, monkeypatch, out, expected):
    fake_systemctl(tmp_path / "bin", 0, out)
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    unit = "nosuch.service" if "not-found" in out else "shop-prod.service"
    assert service_status(unit) == dict(expected, unit=unit)
    assert (tmp_path / "bin" / "argv").read_text().split() == ["show", "--property=LoadState,ActiveState,SubState,UnitFileState,MainPID", "--", unit]


def test_a_failing_systemctl_is_an_unknown_state_with_its_message(tmp_path, monkeypatch):
    fake_systemctl(tmp_path / "bin", 1, "", "Failed to connect to bus: Host is down")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    service = service_status("shop-prod.service")
    assert (service["active_state"], service["enabled"]) == ("unknown", None)
    assert service["error"] == "systemctl show shop-prod.service failed (rc=1): Failed to connect to bus: Host is down"


@pytest.mark.skipif(not any(os.access(os.path.join(d, "systemctl"), os.X_OK) for d in os.environ["PATH"].split(os.pathsep)), reason="no systemctl")
def test_the_real_systemctl_on_a_unit_that_does_not_exist():
    service = service_status("stagecraft-no-such-unit-4f1c.service")
    assert service["error"]  # without systemd as PID 1: unknown with systemctl's message; with it: not-found
    assert service["active_state"] == "unknown" or service["load_state"] == "not-found"


def test_app_status_skips_what_it_is_not_asked(env):
    status = app_status(str(env.path))
    assert (status["service"], status["health"], status["certificate"], status["warnings"], status["watchdog"]) == (None, None, None, [], None)
    assert status["current"] == env.releases[1]
    assert (status["serving"], status["serving_commit"], status["serving_mismatch"], status["serving_error"]) == ("", "", False, None)


def test_app_status_reads_the_watchdogs_last_run_and_alerts(env, tmp_path):
    state = tmp_path / "watchdog.json"
    assert app_status(str(env.path), watchdog_state=str(state))["watchdog"] == {"last": "no run yet", "alerts": []}
    state.write_text(json.dumps({"last": {"time": "2026-12-06T12:00:00Z", "suppressed": None, "results": {"health": {"ok": True, "not_after": None}}},
                                 "alerts": [{"time": "2026-12-06T11:59:00Z", "event": "recovered", "check": "health"}]}))
    assert app_status(str(env.path), watchdog_state=str(state))["watchdog"] == {
        "last": "2026-12-06T12:00:00Z: health ok", "alerts": ["2026-12-06T11:59:00Z recovered health"]}


@pytest.fixture
def service(env, tmp_path, monkeypatch):
    """The app's service as gunicorn runs it: a process started in `current` (--chdir), which systemd names as MainPID."""
    process = subprocess.Popen(["sleep", "60"], cwd=str(env.path / "current"))
    fake_systemctl(tmp_path / "bin", 0, "LoadState=loaded\nActiveState=active\nSubState=running\nUnitFileState=enabled\nMainPID={0}\n".format(
        process.pid))
    monkeypatch.setenv("PATH", "{0}{1}{2}".format(tmp_path / "bin", os.pathsep, os.environ["PATH"]))
    yield process
    process.kill()
    process.wait()


def test_what_serves_is_the_release_the_service_runs_in(env, service):
    status = app_status(str(env.path), unit="shop-prod.service")
    assert (status["serving"], status["serving_commit"], status["serving_mismatch"], status["warnings"]) == (
        env.releases[1], env.commits[1], False, [])


def test_a_switch_without_its_restart_shows_what_serves_and_the_mismatch(env, service):
    """A deploy killed right after its switch: current names the new release, the service still runs the old one."""
    switch(str(env.path / "current"), os.path.join("releases", env.releases[0]))
    status = app_status(str(env.path), unit="shop-prod.service")
    assert (status["current"], status["serving"], status["serving_commit"], status["serving_mismatch"]) == (
        env.releases[0], env.releases[1], env.commits[1], True)
    assert status["warnings"] == ["shop-prod.service runs release {0}, but current points at {1}: a deploy stopped between its switch and its "
                                  "restart; deploy again to serve {1}".format(env.releases[1], env.releases[0])]


# The health check
def make_certificate(folder: Path, name: str, not_after: datetime.datetime) -> ssl.SSLContext:
    """A server context with a self-signed certificate for `name` (CN and SAN) that ends at `not_after`."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    certificate = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(not_after - datetime.timedelta(days=90)).not_valid_after(not_after)
                   .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
                   .sign(key, hashes.SHA256()))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.crt").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (folder / f"{name}.key").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(folder / f"{name}.crt", folder / f"{name}.key")
    return context


class Server:
    """nginx in miniature on 127.0.0.1: the certificate by SNI (default.invalid's for other names), the answer by Host.

    For NAME: /healthz 200, /down 503; any other Host gets 404 (the default server block). `seen` keeps (SNI, Host, path).
    """

    def __init__(self, folder: Path, tls: bool = True):
        self.seen = []
        seen = self.seen

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                host = self.headers.get("Host", "")
                seen.append((getattr(self.connection, "sni", None), host, self.path))
                status = 404
                if host.rsplit(":", 1)[0] == NAME:
                    status = {"/healthz": 200, "/down": 503}.get(self.path, 404)
                body = b"ok\n" if status == 200 else b"no\n"
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls:
            named = make_certificate(folder, NAME, NOT_AFTER)
            default = make_certificate(folder, "default.invalid", NOT_AFTER + datetime.timedelta(days=300))

            def pick(ssl_socket, server_name, context):
                ssl_socket.sni = server_name
                if server_name == NAME:
                    ssl_socket.context = named

            default.sni_callback = pick
            self.httpd.socket = default.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def https(tmp_path):
    server = Server(tmp_path / "tls")
    yield server
    server.close()


@pytest.fixture
def plain_http(tmp_path):
    server = Server(tmp_path, tls=False)
    yield server
    server.close()


def free_port() -> int:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return port


def test_the_name_goes_as_sni_and_host_to_the_connect_address(https):
    url = f"https://{NAME}:{https.port}/healthz"
    health, certificate, warnings = probe_health(url, "127.0.0.1", timeout=5, now=NOW)
    assert (health["url"], health["status"], health["error"], warnings) == (url, 200, None, [])
    assert isinstance(health["elapsed"], float) and 0 <= health["elapsed"] < 5
    assert https.seen == [(NAME, f"{NAME}:{https.port}", "/healthz")]
    assert certificate == {"not_after": NOT_AFTER.strftime("%Y-%m-%dT%H:%M:%SZ"), "days_left": 45, "subject": f"CN={NAME}", "issuer": f"CN={NAME}"}


def test_a_failing_health_check_is_its_status_not_an_error(https):
    health, certificate, dummy = probe_health(f"https://{NAME}:{https.port}/down", now=NOW)
    assert (health["status"], health["error"], certificate["subject"]) == (503, None, f"CN={NAME}")


def test_another_name_gets_the_default_server_and_certificate(https):
    health, certificate, dummy = probe_health(f"https://other.test:{https.port}/healthz", now=NOW)
    assert health["status"] == 404 and https.seen == [("other.test", f"other.test:{https.port}", "/healthz")]
    assert (certificate["subject"], certificate["days_left"]) == ("CN=default.invalid", 345)


def test_days_left_without_a_clock_given_and_once_expired(https):
    dummy, certificate, dummy_warnings = probe_health(f"https://{NAME}:{https.port}/healthz")
    expected = (NOT_AFTER - datetime.datetime.now(datetime.timezone.utc)).days
    assert certificate["days_left"] in (expected, expected - 1)
    dummy, expired, dummy_warnings = probe_health(f"https://{NAME}:{https.port}/healthz", now=NOT_AFTER + datetime.timedelta(hours=1))
    assert expired["days_left"] == -1


def test_a_refused_port_is_status_0_with_the_error():
    health, certificate, warnings = probe_health(f"https://{NAME}:{free_port()}/healthz", timeout=2)
    assert (health["status"], certificate, warnings) == (0, None, [])
    assert "ConnectionRefusedError" in health["error"] and isinstance(health["elapsed"], float)


def test_a_server_that_never_answers_times_out():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)  # connections wait in the backlog; nobody accepts or speaks TLS
    try:
        health, certificate, dummy = probe_health(f"https://{NAME}:{listener.getsockname()[1]}/healthz", timeout=0.3)
    finally:
        listener.close()
    assert (health["status"], certificate) == (0, None)
    assert "timed out" in health["error"] and health["elapsed"] < 3


def test_plain_http_has_no_certificate(plain_http):
    health, certificate, warnings = probe_health(f"http://{NAME}:{plain_http.port}/healthz")
    assert (health["status"], health["error"], certificate, warnings) == (200, None, None, [])
    assert plain_http.seen == [(None, f"{NAME}:{plain_http.port}", "/healthz")]


def test_without_cryptography_the_certificate_is_null_with_a_warning(https):
    health, certificate, warnings = probe_health(f"https://{NAME}:{https.port}/healthz", x509_loader=lambda: None)
    assert (health["status"], certificate) == (200, None)
    assert len(warnings) == 1 and "cryptography is not installed" in warnings[0]


def test_bytes_that_are_no_certificate_are_refused():
    with pytest.raises(ValueError):
        certificate_info(b"not a certificate")


@pytest.mark.parametrize("url, port, host, path", [
    ("https://Shop.Test/healthz?full=1", 443, "shop.test", "/healthz?full=1"),
    ("http://shop.test", 80, "shop.test", "/"),
    ("https://shop.test:8443/h", 8443, "shop.test:8443", "/h"),
    ("https://user@[::1]:8443/h", 8443, "[::1]:8443", "/h"),
])
def test_health_target(url, port, host, path):
    target = HealthTarget(url, "10.0.0.5")
    assert (target.connect_address, target.port, target.host_header, target.path) == ("10.0.0.5", port, host, path)


@pytest.mark.parametrize("url", ["ftp://shop.test/", "https:///healthz", "shop.test/healthz", "https://shop.test:99999/"])
def test_a_health_url_that_is_not_one_is_refused(url):
    with pytest.raises(DeployError, match="health_url"):
        probe_health(url)


@pytest.mark.parametrize("timeout", [0, -1.5])
def test_a_timeout_that_is_not_one_is_refused(timeout):
    with pytest.raises(DeployError, match="timeout must be"):
        probe_health(f"https://{NAME}/healthz", timeout=timeout)


def test_app_status_puts_it_together(env, https, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "no-bin"))
    status = app_status(str(env.path), unit="shop-prod.service", health_url=f"https://{NAME}:{https.port}/healthz", now=NOW)
    assert sorted(status) == ["certificate", "connector", "current", "current_commit", "health", "last_deploy", "lock", "rollback_target", "rolled_back",
                              "service", "serving", "serving_commit", "serving_error", "serving_mismatch", "snapshots", "warnings", "watchdog"]
    assert (status["current_commit"], status["service"]["active_state"], status["health"]["status"], status["certificate"]["days_left"]) == (
        env.commits[1], "unknown", 200, 45)


# The modules, run by Ansible
def ansible(module: str, args: str, *options: str) -> dict:
    """Run one module on localhost with this interpreter; its result as a dict."""
    completed = subprocess.run(
        [sys.executable, str(Path(sys.executable).parent / "ansible"), "localhost", "-c", "local", "-i", "localhost,", *options,
         "-e", f"ansible_python_interpreter={sys.executable}", "-m", module, "-a", args],
        cwd=ROOT, capture_output=True, text=True, check=False, env=dict(os.environ, ANSIBLE_CALLBACK_RESULT_FORMAT="yaml", ANSIBLE_NOCOLOR="1"),
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    head, dummy, body = completed.stdout.partition("=>")
    assert "SUCCESS" in head, completed.stdout
    return yaml.safe_load(body)


def test_the_module_in_check_mode(env, https):
    args = f"path={env.path} unit=stagecraft-no-such-unit-4f1c.service health_url=https://{NAME}:{https.port}/healthz"
    result = ansible("stagecraft.webapp.app_status", args, "--check")
    assert result["changed"] is False
    assert (result["current"], result["current_commit"], result["rollback_target"]) == (env.releases[1], env.commits[1], env.releases[0])
    assert result["last_deploy"] == env.entries[1] and result["lock"] == env.holder
    assert result["service"]["unit"] == "stagecraft-no-such-unit-4f1c.service" and result["service"]["error"]
    assert (result["health"]["status"], result["health"]["error"], result["certificate"]["subject"]) == (200, None, f"CN={NAME}")
    assert https.seen == [(NAME, f"{NAME}:{https.port}", "/healthz")]


def test_deploy_info_reports_as_before(env):
    result = ansible("stagecraft.webapp.deploy_info", f"path={env.path} records=5")
    assert result["changed"] is False
    assert (result["current"], result["rollback_target"], result["lock"], result["deploys"]) == (env.releases[1], env.releases[0], env.holder, env.entries)
    assert [release["release_id"] for release in result["releases"]] == env.releases


def test_a_working_directory_that_cannot_be_read_makes_what_serves_unknown_saying_why(env, tmp_path):
    """On a host, EACCES for root without CAP_SYS_PTRACE (a docker container's default); here, a cwd that is no link."""
    proc = tmp_path / "proc"
    (proc / "4242").mkdir(parents=True)
    (proc / "4242" / "cwd").write_text("")
    assert serving_release(str(env.path), 4242, proc=str(proc)) == (
        "", "cannot read {0}/4242/cwd (Invalid argument), so what serves is unknown; this needs root with CAP_SYS_PTRACE".format(proc))
    assert serving_release(str(env.path), 4243, proc=str(proc)) == ("", None)  # ended meanwhile


def test_deploy_info_with_the_unit_names_what_serves_and_the_mismatch(env, service):
    switch(str(env.path / "current"), os.path.join("releases", env.releases[0]))
    result = ansible("stagecraft.webapp.deploy_info", f"path={env.path} unit=shop-prod.service")
    assert (result["current"], result["serving"], result["serving_commit"], result["serving_mismatch"]) == (
        env.releases[0], env.releases[1], env.commits[1], True)


# The connector behind a Cloudflare Tunnel, asked of the molecule scenarios' cloudflared stand-in
STANDIN = ROOT / "molecule" / "cloudflared" / "files"
METRICS_PAGE = """# HELP cloudflared_tunnel_ha_connections Number of active ha connections
# TYPE cloudflared_tunnel_ha_connections gauge
cloudflared_tunnel_ha_connections 4
cloudflared_tunnel_ha_connections_total 9
"""
JOURNAL = """2025-08-01T10:00:00Z INF Starting tunnel tunnelID=3c9a6a57
2025-08-01T10:00:01Z ERR Failed to serve tunnel connection error="TLS handshake timeout" connIndex=0
2025-08-01T10:00:02Z ERR Could not lookup srv records on _v2-origintunneld._tcp.argotunnel.com
2025-08-01T10:00:03Z INF Retrying connection in up to 2s
"""


@pytest.mark.parametrize("page, expected", [
    (METRICS_PAGE, 4),
    ('cloudflared_tunnel_ha_connections{instance="a"} 2\n', 2),
    ("# nothing of cloudflared's\nbuild_info 1\n", None),
    ("", None),
])
def test_edge_connections_are_cloudflared_s_gauge(page, expected):
    assert ha_connections(page) == expected


def test_the_last_error_line_is_the_last_at_error_level():
    assert last_error_line(JOURNAL) == "2025-08-01T10:00:02Z ERR Could not lookup srv records on _v2-origintunneld._tcp.argotunnel.com"
    assert last_error_line("INF Starting tunnel\nERRANDS are not errors\n") is None


class Connector:
    """The stand-in's metrics server on a free loopback port (its edge marker in tmp_path) and the record the role writes."""

    def __init__(self, folder: Path, marker: str | None):
        self.port = free_port()
        self.records = folder / "records"
        self.records.mkdir()
        base = f"http://127.0.0.1:{self.port}"
        (self.records / "cloudflared-shop-prod.json").write_text(json.dumps({"ready_url": f"{base}/ready", "metrics_url": f"{base}/metrics"}))
        self.process = None
        if marker is not None:
            (folder / "edge").write_text(marker)
            code = (f"import sys; sys.path.insert(0, {str(STANDIN)!r}); import cloudflared_standin as c;"
                    f" c.EDGE_MARKER = {str(folder / 'edge')!r}; c.serve('127.0.0.1:{self.port}')")
            self.process = subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.DEVNULL, env={"PATH": os.environ["PATH"]})
            for dummy in range(100):
                with socket.socket() as attempt:
                    if attempt.connect_ex(("127.0.0.1", self.port)) == 0 or self.process.poll() is not None:
                        break
                threading.Event().wait(0.1)

    def status(self, journal=JOURNAL):
        """connector_status() with systemctl failing and journalctl answering `journal`."""
        def run_command(argv, cwd=None, env=None):
            return (0, journal, "") if argv[0].endswith("journalctl") else (1, "", "no systemd here")
        return connector_status("cloudflared-shop-prod", 2, run_command, lambda name: "/usr/bin/" + name, str(self.records))

    def close(self):
        if self.process:
            self.process.terminate()
            self.process.wait(timeout=10)


@pytest.fixture
def connector(tmp_path, request):
    made = Connector(tmp_path, request.param)
    yield made
    made.close()


@pytest.mark.parametrize("connector", ["stand-in edge\nconnections: 4\n"], indirect=True)
def test_a_ready_connector_shows_its_edge_connections(connector):
    status = connector.status()
    assert (status["ready"], status["ready_status"], status["connections"], status["last_error"], status["error"]) == (True, 200, 4, None, None)
    assert status["service"]["unit"] == "cloudflared-shop-prod.service" and "no systemd here" in status["service"]["error"]


@pytest.mark.parametrize("connector", ["stand-in edge\n"], indirect=True)
def test_a_connector_without_edge_connections_is_not_ready_with_its_last_error(connector):
    status = connector.status()
    assert (status["ready"], status["ready_status"], status["connections"]) == (False, 503, 0)
    assert status["last_error"] == last_error_line(JOURNAL)


@pytest.mark.parametrize("connector", [None], indirect=True)
def test_a_connector_that_does_not_run_says_why(connector):
    status = connector.status()
    assert (status["ready_status"], status["connections"], status["last_error"]) == (0, None, last_error_line(JOURNAL))
    # Nothing at error level in the journal: why /ready gave no answer.
    assert connector.status(journal="INF Stopped\n")["last_error"].startswith("ConnectionRefusedError")


def test_without_the_role_s_record_nothing_is_asked(tmp_path):
    status = connector_status("cloudflared-shop-prod", records=str(tmp_path))
    assert status["service"] is None and status["error"].startswith(f"cannot read the cloudflared role's record {tmp_path}/cloudflared-shop-prod.json")


def test_status_lists_the_snapshots_with_time_size_and_what_they_hold(tmp_path):
    (tmp_path / "shared" / "media").mkdir(parents=True)
    (tmp_path / "shared" / "media" / "a.txt").write_text("12345")
    take(str(tmp_path), "20261122T190507Z-1a2b3c4", [], ["media"], 100, now=datetime.datetime(2026, 11, 22, 19, 5, 31, tzinfo=datetime.timezone.utc))
    assert release_status(str(tmp_path))["snapshots"] == [{
        "release_id": "20261122T190507Z-1a2b3c4", "taken": "2026-11-22T19:05:31Z", "bytes": 5, "holds": "media (1 files, 5 bytes)",
        "summary": "20261122T190507Z-1a2b3c4 taken 2026-11-22T19:05:31Z: media (1 files, 5 bytes)"}]

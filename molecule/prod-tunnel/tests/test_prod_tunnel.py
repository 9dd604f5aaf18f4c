"""The prod composition behind a Cloudflare Tunnel on one host (debian12), as converge.yml deploys
it with `ansible-playbook playbooks/deploy.yml` and inventories/prod; debian13 is a machine on the
scenario's network, outside the tunnel. The tests run in order: what converge left, a code deploy,
then bad input.

STAND-IN. The connector installed here is NOT cloudflared: cloudflared cannot be downloaded here
and there is no Cloudflare account to connect a tunnel to. ../cloudflared/files/cloudflared_standin.py
stands in for it (prepare.yml makes it an executable; the role installs it through its real
"provided binary" path). It reports version 2025.8.0 and says it is a stand-in, counts the ingress
rules for `ingress validate`, checks that the credentials file is readable, and, as the edge marker
prepare.yml writes lets it "find" an edge (without it it exits, as cloudflared does), serves /ready
(503), /metrics and /healthcheck on the metrics address; it never connects to Cloudflare's edge and
so never reports ready, which is why the inventory leaves the unit enabled but stopped (the status
test writes "connections: 4" into the marker for a moment, which makes it act as a connected
cloudflared: /ready 200, the gauge 4, READY=1 to systemd). The tests request
from nginx on loopback what cloudflared's ingress rule for the app's hostname names (scheme, port,
Host, SNI), with the headers cloudflared adds, in cloudflared's place.

LEFT UNPROVEN here, because only the real binary and a Cloudflare account can show it:
- that cloudflared accepts this config.yml and command line, connects to the edge with these
  (made-up) credentials, reports ready, so that a deploy with the connector started succeeds, and
  routes https://shop.example.com/ from Cloudflare's edge to nginx as the ingress rule says;
- that cloudflared sends the visitor's Host and CF-Connecting-IP as these tests do in its place
  (the tests send what Cloudflare documents);
- that `cloudflared tunnel ingress validate` agrees with the controller-side checks (the stand-in
  only counts the rules), and the apt installation path (pkg.cloudflare.com is unreachable here).
"""

from __future__ import annotations

import json
import re
import shlex
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from conftest import changed_tasks, output_tail, role_part_tags, run_playbook

HERE = Path(__file__).resolve().parent
INVENTORY = HERE.parent / "inventories" / "prod"
PROBE = HERE.parents[1] / "ufw" / "tests" / "probe.py"
DEPLOY = "../../playbooks/deploy.yml"
NAME = "shop.example.com"
CONNECTOR = "cloudflared-shop-prod"
CONFIG = f"/etc/{CONNECTOR}/config.yml"
TUNNEL_ID = "3c9a6a57-2b0e-4f8e-9d0c-5b7e1f2a4c61"
METRICS = "127.0.0.1:20241"
APP_PORT = 8000
# The visitor's address, as Cloudflare passes it on in CF-Connecting-IP.
VISITOR = "203.0.113.7"


def run(playbook: str, *args: str, **extra_vars):
    """ansible-playbook with molecule's hosts and the prod inventory, limited to the stack host."""
    return run_playbook(playbook, f"--inventory={INVENTORY}", "--limit=debian12", *args, extra_vars=extra_vars or None)


def probe(source, target: str, ports) -> dict[int, str]:
    """One TCP connection from `source` to each port of `target`: open, refused or filtered
    (the ufw scenario's tests/probe.py)."""
    answer = source.run(f"python3 -c {shlex.quote(PROBE.read_text())} " + " ".join(f"{target}:{port}" for port in ports))
    assert answer.rc == 0, answer.stderr
    return {int(key.rsplit(":", 1)[1]): value for key, value in json.loads(answer.stdout).items()}


def tunnel_config(stack) -> dict:
    return yaml.safe_load(stack.file(CONFIG).content_string)


def as_cloudflared_asks(stack, path: str) -> tuple[int, str]:
    """(status, body) of a GET of https://NAME<path> as cloudflared hands it to its origin: the
    first ingress rule of the rendered config.yml that matches, its service's scheme, address and
    port, the visitor's Host (or httpHostHeader), the SNI cloudflared would send to an https origin,
    and the headers Cloudflare adds."""
    config = tunnel_config(stack)
    rule = next(rule for rule in config["ingress"]
                if rule.get("hostname", "*") in ("*", NAME) or (rule["hostname"].startswith("*.") and NAME.endswith(rule["hostname"][1:]))
                if re.search(rule.get("path", ""), path))
    origin = {**config.get("originRequest", {}), **rule.get("originRequest", {})}
    service = urlsplit(rule["service"])
    assert service.scheme in ("http", "https"), f"{NAME}{path} goes to {rule['service']}, not to nginx"
    host_header = origin.get("httpHostHeader") or NAME
    if service.scheme == "https":
        port = service.port or 443
        sni = origin.get("originServerName") or (host_header if origin.get("matchSNItoHost") else service.hostname)
        target = ["--connect-to", f"{sni}:{port}:{service.hostname}:{port}", f"https://{sni}:{port}{path}"]
        target = (["--insecure"] if origin.get("noTLSVerify") else ["--cacert", origin["caPool"]] if "caPool" in origin else []) + target
    else:
        target = [f"http://{service.netloc}{path}"]
    headers = {"Host": host_header, "CF-Connecting-IP": VISITOR, "X-Forwarded-For": VISITOR, "X-Forwarded-Proto": "https"}
    answer = stack.run(shlex.join(["curl", "-sS", "--max-time", "10", "-w", "\n%{http_code}",
                                   *(f"-H{key}: {value}" for key, value in headers.items()), *target]))
    body, dummy, status = answer.stdout.rpartition("\n")
    return (int(status) if answer.rc == 0 else 0), body


# --- What converge.yml left ---------------------------------------------------------------------

@pytest.fixture(scope="session")
def probed(stack, client) -> dict:
    """nginx's ports, the app's and the connector's metrics port, asked from debian13 and on the
    stack host's loopback, while the connector runs (started without waiting: the stand-in never
    reports ready); the connector is stopped again afterwards."""
    address = stack.check_output("hostname -I").split()[0]
    metrics_port = int(METRICS.rsplit(":", 1)[1])
    ports = (80, 443, APP_PORT, metrics_port)
    stack.check_output(f"systemctl start --no-block {CONNECTOR}.service")
    try:
        deadline = time.monotonic() + 15
        while f":{metrics_port} " not in stack.check_output("ss -Htln") + " " and time.monotonic() < deadline:
            time.sleep(0.5)
        return {
            "outside": probe(client, address, (22, *ports)),
            "loopback": probe(stack, "127.0.0.1", ports),
            "sockets": stack.check_output("ss -Htln"),
            "firewall": stack.check_output("ufw status"),
            "journal": stack.run(f"journalctl --no-pager -n 20 -u {CONNECTOR}.service").stdout,
        }
    finally:
        stack.check_output(f"systemctl stop {CONNECTOR}.service")


def test_from_outside_nothing_but_ssh_gets_through(probed):
    """nginx (80, 443 on 127.0.0.1), gunicorn (127.0.0.1:8000) and the connector's metrics all
    answer on loopback; from debian13 every one of them is dropped (filtered, not refused: the
    firewall, not a missing listener). SSH is let through: the testbed runs no SSH server, so the
    host itself refuses the connection, which shows the packet got past the firewall."""
    assert all(state == "open" for state in probed["loopback"].values()), probed["loopback"]
    outside = probed["outside"]
    assert outside.pop(22) in ("open", "refused"), probed["outside"]
    assert outside == {port: "filtered" for port in probed["loopback"]}, probed["outside"]
    rules = [line.split()[0] for line in probed["firewall"].splitlines()[4:] if line.strip()]
    assert probed["firewall"].startswith("Status: active") and rules == ["22/tcp", "22/tcp"], probed["firewall"]


def test_nginx_answers_the_apps_hostname_as_the_tunnel_reaches_it(stack, commits):
    status, body = as_cloudflared_asks(stack, "/healthz")
    assert status == 200, body
    assert json.loads(body) == {"status": "ok", "version": "1.0.0", "commit": commits["main"]}
    # The visitor's address from CF-Connecting-IP, not cloudflared's 127.0.0.1, in nginx's log
    # (written from a buffer at least every 5 s).
    logged = re.compile(rf"^{re.escape(VISITOR)} .*\"GET /healthz ", re.MULTILINE)
    deadline = time.monotonic() + 12
    log = stack.check_output("tail -n 20 /var/log/nginx/shop-prod.access.log")
    while not logged.search(log) and time.monotonic() < deadline:
        time.sleep(1)
        log = stack.check_output("tail -n 20 /var/log/nginx/shop-prod.access.log")
    assert logged.search(log), log


def test_a_name_the_tunnel_does_not_route_gets_nothing_from_nginx(stack):
    """The catch-all rule (404 from cloudflared itself) is the tunnel's; nginx's default server
    closes connections for names it does not serve (444), so nothing else leaks through nginx."""
    assert tunnel_config(stack)["ingress"][-1] == {"service": "http_status:404"}
    answer = stack.run("curl -sS --max-time 5 -o /dev/null -w '%{http_code}' -H 'Host: other.example.com' http://127.0.0.1:80/healthz")
    assert answer.stdout == "000" and answer.rc == 52, (answer.rc, answer.stdout, answer.stderr)


def test_the_connector_unit_and_config_route_the_hostname_to_nginx(stack, probed):
    version = stack.check_output("/usr/local/bin/cloudflared --version")
    assert "stand-in, not cloudflared" in version  # honesty: see the module's docstring
    assert tunnel_config(stack) == {
        "loglevel": "info",
        "protocol": "auto",
        "tunnel": TUNNEL_ID,
        "credentials-file": f"/etc/{CONNECTOR}/{TUNNEL_ID}.json",
        "ingress": [{"hostname": NAME, "service": "http://127.0.0.1:80"}, {"service": "http_status:404"}],
    }
    credentials = stack.file(f"/etc/{CONNECTOR}/{TUNNEL_ID}.json")
    assert (credentials.user, credentials.mode) == (CONNECTOR, 0o600)
    shown = dict(line.split("=", 1) for line in stack.check_output(
        f"systemctl show -p UnitFileState -p User -p ExecStart {CONNECTOR}.service").splitlines())
    assert shown["UnitFileState"] == "enabled" and shown["User"] == CONNECTOR, shown
    assert f"tunnel --config {CONFIG} --metrics {METRICS} run" in shown["ExecStart"], shown
    record = json.loads(stack.file(f"/etc/stagecraft/cloudflared/{CONNECTOR}.json").content_string)
    assert record["ready_url"] == f"http://{METRICS}/ready", record
    # Started, it serves its metrics on loopback only.
    metrics_port = METRICS.rsplit(":", 1)[1]
    listening = [line.split()[3] for line in probed["sockets"].splitlines() if line.split()[3].endswith(f":{metrics_port}")]
    assert listening == [METRICS], probed["sockets"] + probed["journal"]


# --- Runs ----------------------------------------------------------------------------------------

def test_code_deploy_switches_the_served_commit_and_reports_it(stack, commits):
    deployed, recap = run(DEPLOY, "--tags", "deploy", deploy_version="code")
    assert deployed.returncode == 0, output_tail(deployed)
    status, body = as_cloudflared_asks(stack, "/healthz")
    assert status == 200 and json.loads(body)["commit"] == commits["code"], body
    # The report at the end of the run: the public URL, the commit that serves, nginx's answer.
    text = " ".join(deployed.stdout.split())
    assert f"shop-prod (prod) https://{NAME}/" in text, deployed.stdout[-2000:]
    assert f"commit {commits['code'][:12]}" in text, deployed.stdout[-2000:]
    assert "health 200" in text, deployed.stdout[-2000:]


@pytest.mark.parametrize("tag", role_part_tags("cloudflared"))
def test_each_part_of_the_connector_runs_alone_and_changes_nothing(stack, tag):
    """As the stack scenario does for the other roles of the prod composition."""
    done, recap = run(DEPLOY, f"--tags={tag}")
    assert done.returncode == 0, output_tail(done)
    assert "TASK [stagecraft.webapp.cloudflared : " in done.stdout, "none of the role's tasks ran"
    assert recap and all(counts["changed"] == 0 for counts in recap.values()), changed_tasks(done.stdout)
    assert as_cloudflared_asks(stack, "/healthz")[0] == 200


# --- Bad input: refused before anything changes -------------------------------------------------

SNAPSHOT = (f"ls -l --time-style=+%s /srv/shop/prod/current /etc/nginx/stagecraft/sites /etc/{CONNECTOR};"
            " ufw status verbose; systemctl is-enabled " + CONNECTOR)


def test_a_tunnel_with_the_public_firewall_is_refused_before_anything_changes(stack):
    before = stack.check_output(SNAPSHOT)
    refused, recap = run(DEPLOY, ufw_profile="public")
    assert refused.returncode != 0
    assert "the tunnel needs ufw_profile: tunnel" in " ".join(output_tail(refused).split())
    assert recap and all(counts["changed"] == 0 for counts in recap.values()), recap
    assert stack.check_output(SNAPSHOT) == before


# --- Defence in depth and the scheme behind the tunnel (issue 23 item 7, issue 21) ---------------

def test_nginx_listens_on_loopback_only_so_the_firewall_is_not_alone(stack, client):
    """With ufw disabled for a moment, debian13 still reaches nothing of nginx: its server block
    and the default server listen on 127.0.0.1 only, which cloudflared reaches."""
    address = stack.check_output("hostname -I").split()[0]
    listeners = [line.split()[3] for line in stack.check_output("ss -Htlnp").splitlines() if '"nginx"' in line]
    stack.check_output("ufw disable")
    try:
        outside = probe(client, address, (80, 443))
    finally:
        stack.check_output("ufw --force enable")
    assert sorted(listeners) == ["127.0.0.1:443", "127.0.0.1:80"], listeners
    assert outside == {80: "refused", 443: "refused"}, outside
    assert as_cloudflared_asks(stack, "/healthz")[0] == 200


def test_an_app_that_redirects_plain_http_deploys_and_sees_the_edge_s_https(stack, commits):
    """As Django's SECURE_SSL_REDIRECT: the secure-redirect branch answers 301 unless
    X-Forwarded-Proto is https. cloudflared sends the scheme the visitor used at the edge (https);
    nginx passes it on, and the deploy's health probe asks as nginx will."""
    deployed, recap = run(DEPLOY, "--tags", "deploy", deploy_version="secure-redirect")
    assert deployed.returncode == 0, output_tail(deployed)
    status, body = as_cloudflared_asks(stack, "/healthz")
    assert status == 200 and json.loads(body)["commit"] == commits["secure-redirect"], body
    # Without the header (a request that did not come through cloudflared's edge path): https,
    # what the edge speaks; a plain-http visitor's X-Forwarded-Proto: http is passed on as such.
    for sent, expected in (("", "200"), ("http", "301")):
        answer = stack.check_output(f"curl -sS --max-time 10 -o /dev/null -w '%{{http_code}}' -H 'Host: {NAME}' -H 'X-Forwarded-Proto: {sent}'"
                                    " http://127.0.0.1:80/healthz")
        assert answer == expected, (sent, answer)


# --- The connector in status.yml (issue 23 item 8) ------------------------------------------------

EDGE_MARKER = "/etc/standin-cloudflared-edge"  # see ../cloudflared/files/cloudflared_standin.py


def status_text() -> str:
    shown, recap = run("../../playbooks/status.yml")
    assert shown.returncode == 0, output_tail(shown)
    return " ".join(shown.stdout.split())


def test_status_shows_the_connector_ready_with_its_edge_connections_then_why_not(stack):
    """With the marker saying four connections, the stand-in answers /ready 200 and its gauge 4 and
    tells systemd it is ready, as cloudflared does once connected; without the marker it exits as
    cloudflared does without an edge. The unit is left stopped, as the inventory wants it."""
    marker = stack.file(EDGE_MARKER).content_string
    try:
        stack.check_output(f"printf '%sconnections: 4\\n' {shlex.quote(marker)} > {EDGE_MARKER} && systemctl restart {CONNECTOR}.service")
        ready = status_text()
        stack.check_output(f"rm {EDGE_MARKER} && systemctl restart --no-block {CONNECTOR}.service && sleep 2")
        gone = status_text()
    finally:
        stack.check_output(f"printf '%s' {shlex.quote(marker)} > {EDGE_MARKER} && systemctl stop {CONNECTOR}.service && systemctl reset-failed")
    assert f"service active (running); connector {CONNECTOR} active (running), ready, 4 edge connections" in ready, ready[-1500:]
    assert f"; connector {CONNECTOR} " in gone and ", not ready, no edge connections; last error: " in gone, gone[-1500:]
    assert "ERR Could not lookup srv records on _v2-origintunneld._tcp.argotunnel.com" in gone, gone[-1500:]


# --- The watchdog between deploys (issue 24) ------------------------------------------------------

WATCHDOG = "shop-prod-watchdog"
APP = "shop-prod.service"
STATE = "/var/lib/stagecraft/shop-prod/watchdog.json"
ALERTS = "/var/lib/stagecraft/shop-prod/alerts.jsonl"  # the inventory's alert command appends its stdin here
LOCK = "/srv/shop/prod/deploy.lock"
MARKER = "/etc/molecule-unhealthy"  # makes the unhealthy-where-marked branch answer 500
CANARY = "c4n4ry-watchdog-8d1f"  # gunicorn_env_vars in the inventory


@pytest.fixture(scope="module")
def watchdog(stack):
    """The watchdog's timer stopped, so that only the tests start its service (as the timer would); started again after."""
    stack.check_output(f"systemctl stop {WATCHDOG}.timer")
    yield
    stack.check_output(f"rm -f {LOCK} {MARKER}; systemctl start {WATCHDOG}.timer")


def watchdog_run(stack) -> tuple[dict, int]:
    """One run of the watchdog's service, as its timer starts it: the state it leaves and the app's main PID after it."""
    stack.check_output(f"systemctl start {WATCHDOG}.service")
    return json.loads(stack.file(STATE).content_string), main_pid(stack)


def main_pid(stack) -> int:
    return int(stack.check_output(f"systemctl show -p MainPID --value {APP}"))


def alerts(stack) -> list[dict]:
    """The alerts the alert command got so far, oldest first."""
    record = stack.file(ALERTS)
    return [json.loads(line) for line in record.content_string.splitlines()] if record.exists else []


def wait_healthy(stack):
    """Until the app answers through nginx again (the restarted gunicorn starts), at most 30 s."""
    deadline = time.monotonic() + 30
    while as_cloudflared_asks(stack, "/healthz")[0] != 200 and time.monotonic() < deadline:
        time.sleep(1)


def test_the_watchdog_is_a_hardened_timer_and_its_check_passes(stack, watchdog):
    shown = dict(line.split("=", 1) for line in stack.check_output(
        f"systemctl show -p ProtectSystem -p CapabilityBoundingSet -p NoNewPrivileges -p ReadWritePaths {WATCHDOG}.service").splitlines())
    assert shown == {"ProtectSystem": "strict", "CapabilityBoundingSet": "", "NoNewPrivileges": "yes",
                     "ReadWritePaths": "/var/lib/stagecraft/shop-prod"}, shown
    assert stack.check_output(f"systemctl is-enabled {WATCHDOG}.timer") == "enabled"
    state, dummy = watchdog_run(stack)
    # Through nginx on loopback, with the name a client asks for (nginx closes connections for other names).
    assert state["last"]["results"]["health"]["ok"] is True, state
    assert state["checks"]["health"] == {"failures": 0, "down": False, "restarted": False}


def test_a_hung_app_is_restarted_once_and_alerted_then_its_recovery(stack, watchdog):
    """Every process of the app stopped (SIGSTOP): the master alone stopped leaves its workers accepting on the shared socket."""
    before = len(alerts(stack))
    pid = main_pid(stack)
    stack.check_output(f"systemctl kill --signal=SIGSTOP {APP}")
    try:
        first, pid_first = watchdog_run(stack)
        second, pid_second = watchdog_run(stack)
    finally:
        stack.check_output(f"systemctl kill --signal=SIGCONT {APP}")
    assert first["last"]["results"]["health"]["ok"] is False and pid_first == pid, first
    fired = alerts(stack)[before:]
    assert [(alert["event"], alert["restarted"], alert["failures"]) for alert in fired] == [("down", APP, 2)], fired
    assert pid_second not in (0, pid), "restarted: a new main process"
    wait_healthy(stack)
    third, pid_third = watchdog_run(stack)
    assert [alert["event"] for alert in alerts(stack)[before:]] == ["down", "recovered"]
    assert pid_third == pid_second and third["checks"]["health"]["failures"] == 0


def test_an_app_answering_500_is_restarted_once_not_in_a_loop_and_nothing_fires_during_a_deploy(stack, watchdog, commits):
    deployed, recap = run(DEPLOY, "--tags", "deploy", deploy_version="unhealthy-where-marked")
    assert deployed.returncode == 0, output_tail(deployed)
    before = len(alerts(stack))
    stack.check_output(f"touch {MARKER}")
    pid = main_pid(stack)
    # A deploy runs (its lock): nothing is asked, restarted or alerted, however often the timer fires.
    stack.check_output(f"echo '{{\"owner\": \"molecule\"}}' > {LOCK}")
    try:
        locked = [watchdog_run(stack) for dummy in range(3)]
    finally:
        stack.check_output(f"rm -f {LOCK}")
    assert all(pid_after == pid and "a deploy runs" in state["last"]["suppressed"] for state, pid_after in locked), locked[-1]
    assert alerts(stack)[before:] == []
    # Then the 500s count: one restart after two runs, then no more however long it lasts.
    runs = [watchdog_run(stack) for dummy in range(4)]
    pids = [pid] + [pid_after for state, pid_after in runs]
    assert len(set(pids)) == 2 and pids[1] == pid and pids[2] != pid and len(set(pids[2:])) == 1, pids
    fired = alerts(stack)[before:]
    assert [(alert["event"], alert["status"], alert["restarted"]) for alert in fired] == [("down", 500, APP)], fired
    assert runs[-1][0]["checks"]["health"] == {"failures": 4, "down": True, "restarted": True}
    stack.check_output(f"rm -f {MARKER}")
    watchdog_run(stack)
    assert [alert["event"] for alert in alerts(stack)[before:]] == ["down", "recovered"]


def test_status_shows_the_watchdogs_last_run_and_alerts_and_nothing_holds_the_secret(stack, watchdog):
    shown = status_text()
    assert "watchdog: last run " in shown and ": health ok" in shown, shown[-1500:]
    assert "watchdog alerts: " in shown and " down health (answered 500, not 200) after 2 failed runs, restarted shop-prod.service" in shown, shown[-1500:]
    written = stack.check_output(f"cat {ALERTS} {STATE} /etc/stagecraft/watchdog/shop-prod.json; journalctl --no-pager -u {WATCHDOG}.service")
    assert "recovered" in written and CANARY not in written
    # The secret is on the host (the app's environment file), so its absence above means something.
    assert CANARY in stack.file("/etc/stagecraft/shop-prod/env").content_string

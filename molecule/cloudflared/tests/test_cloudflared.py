"""stagecraft.webapp.cloudflared on a live host, as converge.yml sets it up: a locally managed
tunnel (cloudflared) and a remotely managed one (cloudflared-dev) on each host.

STAND-IN. The executable these tests run is NOT cloudflared: cloudflared cannot be downloaded
here (no route to Cloudflare's download sites or apt repository) and there is no Cloudflare
account to connect a tunnel to. files/cloudflared_standin.py stands in for it, installed through
the role's real "provided binary" (Debian 12) and "provided .deb" (Debian 13) paths. It reports
version 2025.8.0 and says it is a stand-in; it checks that the credentials file is readable (local)
or that it can read the token from --token-file (token); it exits at once, as cloudflared does,
when it finds no edge, unless the host has the marker prepare.yml writes for "the edge is found";
then it serves /ready, /metrics and /healthcheck on the
metrics address as cloudflared does while it holds no edge connection (/ready: 503,
readyConnections 0). It never connects to Cloudflare's edge, and so it never tells systemd
READY=1; the role's unit is Type=notify like cloudflared's own, so the stand-in stays "activating"
until TimeoutStartSec, is stopped and restarted by systemd, exactly as a real cloudflared that
cannot reach the edge would be. The converge leaves both units enabled but stopped; the tests start
them without waiting (systemctl --no-block) to look at them, and show that a converge asking for
them to be started fails and says why, rather than reporting a tunnel that is not up.

LEFT UNPROVEN here, because only the real binary and a Cloudflare account can show it:
- that cloudflared accepts this command line (--no-autoupdate tunnel --config F --metrics A run)
  and these config.yml keys, connects to the edge with the token or credentials, and then sends
  READY=1, so that a converge with the connector started succeeds;
- that `cloudflared tunnel --config F ingress validate` (which the role runs before installing
  config.yml) agrees with the controller-side validator; the stand-in only counts the rules;
- that cloudflared works under this hardening (address families, system call filter,
  MemoryDenyWriteExecute) once it really talks to the edge, and that the apt repository path
  (pkg.cloudflare.com, unreachable here) installs and pins the package.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import time

import pytest
import yaml
from conftest import assert_bad_input_case, journal, run_bad_input, run_playbook

VERSION = "2025.8.0"
TUNNEL_ID = "6ff42ae2-765d-4adf-8112-31c55c1551ef"
TOKEN_TUNNEL_ID = "0b5e1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d"
TOKEN = ("eyJhIjoiNWMwZmZlZTVjMGZmZWU1YzBmZmVlNWMwZmZlZTVjMGYiLCJ0IjoiMGI1ZTFjMmQtM2U0Zi00YTViLThjNmQt"
         "N2U4ZjlhMGIxYzJkIiwicyI6ImJXOXNaV04xYkdVdGRHOXJaVzR0YzJWamNtVjBMV013Wm1abFpTMDBNalF5In0=")
NEW_TOKEN = ("eyJhIjoiNWMwZmZlZTVjMGZmZWU1YzBmZmVlNWMwZmZlZTVjMGYiLCJ0IjoiMGI1ZTFjMmQtM2U0Zi00YTViLThjNmQt"
             "N2U4ZjlhMGIxYzJkIiwicyI6ImNtOTBZWFJsWkMxMGIydGxiaTF6WldOeVpYUXRZbVZsWmkwNU9UazUifQ==")
TUNNEL_SECRET = "bW9sZWN1bGUtdHVubmVsLXNlY3JldC1kMDBkLTEzMzc="
NEW_TUNNEL_SECRET = "cm90YXRlZC10dW5uZWwtc2VjcmV0LWYwMGQtNDI0Mg=="
SECRETS = (TOKEN, NEW_TOKEN, TUNNEL_SECRET, NEW_TUNNEL_SECRET)
INGRESS = [
    {"hostname": "shop.example.test", "path": "^/static/", "service": "http://127.0.0.1:8080",
     "originRequest": {"disableChunkedEncoding": True}},
    {"hostname": "shop.example.test", "service": "http://127.0.0.1:8000"},
    {"hostname": "*.preview.example.test", "service": "unix:/run/preview/gunicorn.sock"},
    {"service": "http_status:404"},
]
INSTANCES = {
    "cloudflared": {"port": 20241, "mode": "local"},
    "cloudflared-dev": {"port": 20242, "mode": "token"},
}
EDGE_MARKER = "/etc/standin-cloudflared-edge"  # see files/cloudflared_standin.py
START_TIMEOUT = 10
RESTART_SEC = 2
MAX_EXPOSURE = 1.2


def wait_for(condition, seconds: float, step: float = 0.5):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(step)
    return condition()


def props(host, unit: str, *names: str) -> dict:
    output = host.check_output(f"systemctl show {' '.join('-p ' + name for name in names)} {unit}")
    return dict(line.split("=", 1) for line in output.splitlines())


def http_get(host, url: str) -> tuple[int, str]:
    """(status, body) of a GET on the host itself; status 0 when nothing answered."""
    answer = host.run(f"curl -sS --max-time 5 -w '\\n%{{http_code}}' {url}")
    body, status = answer.stdout.rsplit("\n", 1) if "\n" in answer.stdout else ("", answer.stdout)
    return (int(status or 0) if answer.rc == 0 else 0), body


def is_debian13(inventory_name: str) -> bool:
    return inventory_name.endswith("debian13")


def test_the_installed_executable_is_the_stand_in(host, inventory_name):
    """Honesty first: what runs here says it is a stand-in, installed through the provided-file paths."""
    path = "/usr/bin/cloudflared" if is_debian13(inventory_name) else "/usr/local/bin/cloudflared"
    executable = host.file(path)
    assert (executable.user, executable.group, executable.mode) == ("root", "root", 0o755)
    version = host.check_output(f"{path} --version")
    assert version.startswith(f"cloudflared version {VERSION} ") and "stand-in, not cloudflared" in version
    package = host.run("dpkg-query -W -f '${Version}' cloudflared")
    assert (package.stdout if package.rc == 0 else None) == (VERSION if is_debian13(inventory_name) else None)


def config(host, name: str) -> dict:
    return yaml.safe_load(host.file(f"/etc/{name}/config.yml").content_string)


def test_local_config_is_rendered_from_the_data(host):
    assert config(host, "cloudflared") == {
        "loglevel": "info",
        "protocol": "auto",
        "tunnel": TUNNEL_ID,
        "credentials-file": f"/etc/cloudflared/{TUNNEL_ID}.json",
        "originRequest": {"connectTimeout": "10s", "noTLSVerify": False},
        "ingress": INGRESS,
    }


def test_token_config_holds_no_tunnel_rules_or_secret(host):
    assert config(host, "cloudflared-dev") == {"loglevel": "info", "protocol": "http2"}


@pytest.mark.parametrize("path, owner, group, mode", [
    ("/etc/cloudflared", "root", "cloudflared", 0o750),
    ("/etc/cloudflared/config.yml", "root", "cloudflared", 0o640),
    (f"/etc/cloudflared/{TUNNEL_ID}.json", "cloudflared", "cloudflared", 0o600),
    ("/etc/cloudflared-dev", "root", "cloudflared-dev", 0o750),
    ("/etc/cloudflared-dev/config.yml", "root", "cloudflared-dev", 0o640),
    ("/etc/cloudflared-dev/token", "cloudflared-dev", "cloudflared-dev", 0o600),
    ("/etc/stagecraft/cloudflared/cloudflared.json", "root", "root", 0o644),
])
def test_owners_and_modes(host, path, owner, group, mode):
    target = host.file(path)
    assert (target.user, target.group, target.mode) == (owner, group, mode)


def test_each_directory_holds_only_its_own_mode_of_secret(host):
    assert sorted(host.file("/etc/cloudflared").listdir()) == sorted([f"{TUNNEL_ID}.json", "config.yml"])
    assert sorted(host.file("/etc/cloudflared-dev").listdir()) == ["config.yml", "token"]


def test_secrets_are_written_as_given(host):
    assert host.file("/etc/cloudflared-dev/token").content_string == TOKEN + "\n", "the token file does not hold exactly the token"
    credentials = json.loads(host.file(f"/etc/cloudflared/{TUNNEL_ID}.json").content_string)
    assert credentials == {"AccountTag": "5c0ffee5c0ffee5c0ffee5c0ffee5c0f", "TunnelSecret": TUNNEL_SECRET, "TunnelID": TUNNEL_ID}


def test_records_tell_the_health_check_where_to_look(host):
    record = json.loads(host.file("/etc/stagecraft/cloudflared/cloudflared-dev.json").content_string)
    assert record == {
        "name": "cloudflared-dev", "unit": "cloudflared-dev.service", "mode": "token", "tunnel_id": TOKEN_TUNNEL_ID,
        "metrics_address": "127.0.0.1", "metrics_port": 20242,
        "ready_url": "http://127.0.0.1:20242/ready", "metrics_url": "http://127.0.0.1:20242/metrics",
    }


def test_account_certificate_never_reaches_the_host(host):
    places = "/etc/cloudflared /etc/cloudflared-dev /usr/local/etc/cloudflared /root/.cloudflared /etc/stagecraft"
    assert host.run(f"find {places} -name cert.pem 2>/dev/null").stdout == ""
    found = host.run("grep -rls -e 'ARGO TUNNEL TOKEN' -e 'BEGIN PRIVATE KEY'"
                     " /etc/cloudflared /etc/cloudflared-dev /etc/stagecraft /root /var/cache/stagecraft")
    assert found.stdout == ""


@pytest.mark.parametrize("name", INSTANCES)
def test_unit_is_type_notify_runs_as_its_own_user_and_never_gives_up(host, name):
    unit = f"{name}.service"
    shown = props(host, unit, "Type", "NotifyAccess", "User", "Group", "Restart", "RestartUSec", "TimeoutStartUSec",
                  "StartLimitIntervalUSec", "UnitFileState", "EnvironmentFiles", "ExecStart")
    assert {key: shown[key] for key in ("Type", "NotifyAccess", "User", "Group", "Restart", "RestartUSec", "TimeoutStartUSec",
                                        "StartLimitIntervalUSec", "UnitFileState")} == {
        "Type": "notify", "NotifyAccess": "main", "User": name, "Group": name, "Restart": "on-failure",
        "RestartUSec": f"{RESTART_SEC}s", "TimeoutStartUSec": f"{START_TIMEOUT}s", "StartLimitIntervalUSec": "0", "UnitFileState": "enabled",
    }
    port = INSTANCES[name]["port"]
    # 2025.8.0 reads the token from its file itself (--token-file): no environment file.
    token_file = f" --token-file /etc/{name}/token" if INSTANCES[name]["mode"] == "token" else ""
    assert f"tunnel --config /etc/{name}/config.yml --metrics 127.0.0.1:{port} run{token_file} ;" in shown["ExecStart"]
    assert shown.get("EnvironmentFiles", "") == ""
    assert not any(secret in shown["ExecStart"] for secret in SECRETS)


@pytest.mark.parametrize("name", INSTANCES)
def test_exposure_score_meets_the_target(host, name):
    report = host.check_output(f"systemd-analyze security --no-pager {name}.service")
    score = float(re.search(r"Overall exposure level for \S+: ([0-9.]+)", report)[1])
    assert score <= MAX_EXPOSURE, report


def test_check_mode_reports_no_change(check_mode_recap, inventory_name):
    assert check_mode_recap[inventory_name] == {"changed": 0, "unreachable": 0, "failed": 0}


@pytest.fixture(scope="session")
def secret_rotation(all_hosts) -> dict:
    """Converge with a new token and tunnel secret, then back, with --diff and -v; what the files
    held in between."""
    rotated = run_playbook("converge.yml", "--diff", "-v", extra_vars={
        "molecule_token_override": NEW_TOKEN, "molecule_tunnel_secret_override": NEW_TUNNEL_SECRET})
    between = {name: {"token": host.file("/etc/cloudflared-dev/token").content_string,
                      "credentials": host.file(f"/etc/cloudflared/{TUNNEL_ID}.json").content_string}
               for name, host in all_hosts.items()}
    restored = run_playbook("converge.yml", "--diff", "-v")
    return {"rotated": rotated, "between": between, "restored": restored}


def test_secrets_are_never_printed_and_their_change_lands(secret_rotation, host, inventory_name):
    for key in ("rotated", "restored"):
        run, recap = secret_rotation[key]
        output = run.stdout + run.stderr
        assert run.returncode == 0, output[-3000:]
        assert recap[inventory_name]["changed"] > 0
        leaked = [number for number, secret in enumerate(SECRETS) if secret in output]
        assert leaked == [], f"secret(s) {leaked} appear in the {key} converge's output"
    between = secret_rotation["between"][inventory_name]
    assert between["token"] == NEW_TOKEN + "\n", "the token file did not get the new token"
    assert json.loads(between["credentials"])["TunnelSecret"] == NEW_TUNNEL_SECRET, "the credentials file did not get the new secret"
    test_secrets_are_written_as_given(host)


@pytest.fixture(scope="session")
def running(all_hosts) -> dict:
    """Start both connectors on every host without waiting (the stand-in never reports ready), look
    at them while systemd waits, then after the start timeout, then stop them again."""
    units = " ".join(f"{name}.service" for name in INSTANCES)
    for host in all_hosts.values():
        host.check_output(f"systemctl start --no-block {units}")
    seen = {}
    for name, host in all_hosts.items():
        listening = wait_for(lambda host=host: all(
            host.socket(f"tcp://127.0.0.1:{spec['port']}").is_listening for spec in INSTANCES.values()), 15)
        seen[name] = {
            "listening": listening,
            "sockets": host.check_output("ss -Htln"),
            "state": {unit: props(host, f"{unit}.service", "ActiveState", "SubState", "MainPID") for unit in INSTANCES},
            "ready": {unit: http_get(host, f"http://127.0.0.1:{spec['port']}/ready") for unit, spec in INSTANCES.items()},
            "metrics": {unit: http_get(host, f"http://127.0.0.1:{spec['port']}/metrics") for unit, spec in INSTANCES.items()},
        }
        dev_pid = seen[name]["state"]["cloudflared-dev"]["MainPID"]
        environment = host.run(f"tr '\\0' '\\n' < /proc/{dev_pid}/environ").stdout.splitlines()
        seen[name]["token_in_environment"] = any(TOKEN in variable for variable in environment)
        seen[name]["processes"] = host.check_output("ps -eo user:20,args")
    for name, host in all_hosts.items():
        seen[name]["restarted"] = wait_for(
            lambda host=host: all(int(props(host, f"{unit}.service", "NRestarts")["NRestarts"]) >= 1 for unit in INSTANCES),
            START_TIMEOUT + RESTART_SEC + 15)
        seen[name]["journal"] = {unit: journal(host, f"{unit}.service", 60) for unit in INSTANCES}
        seen[name]["after_timeout"] = {unit: props(host, f"{unit}.service", "ActiveState", "SubState") for unit in INSTANCES}
    for host in all_hosts.values():
        host.check_output(f"systemctl stop {units}")
    return seen


def test_the_stand_in_never_claims_readiness(running, inventory_name):
    seen = running[inventory_name]
    for unit in INSTANCES:
        assert seen["state"][unit]["ActiveState"] == "activating", seen["journal"][unit]
        status, body = seen["ready"][unit]
        assert status == 503 and json.loads(body)["readyConnections"] == 0, (status, body)


def test_metrics_and_readiness_are_served_on_loopback_only(running, inventory_name):
    seen = running[inventory_name]
    assert seen["listening"], seen["journal"]
    for unit, spec in INSTANCES.items():
        addresses = [line.split()[3] for line in seen["sockets"].splitlines() if line.split()[3].endswith(f":{spec['port']}")]
        assert addresses == [f"127.0.0.1:{spec['port']}"], seen["sockets"]
        status, body = seen["metrics"][unit]
        assert status == 200 and "cloudflared_tunnel_ha_connections 0" in body.splitlines(), body


def test_secrets_reach_the_connector_and_only_through_its_files(running, inventory_name):
    seen = running[inventory_name]
    assert not seen["token_in_environment"], "the token is in cloudflared-dev's environment"
    assert "token read from --token-file" in seen["journal"]["cloudflared-dev"], seen["journal"]["cloudflared-dev"]
    assert "credentials file readable" in seen["journal"]["cloudflared"], seen["journal"]["cloudflared"]
    assert not any(secret in seen["processes"] or any(secret in text for text in seen["journal"].values()) for secret in SECRETS)
    # Each runs as its own user; the interpreter in front is the stand-in's (a Python script).
    for unit in INSTANCES:
        assert re.search(rf"^{re.escape(unit)}\s+(/usr/bin/python3 )?/usr/(local/)?bin/cloudflared --no-autoupdate tunnel",
                         seen["processes"], re.MULTILINE), seen["processes"]


def test_a_start_that_never_becomes_ready_times_out_and_is_retried(running, inventory_name):
    seen = running[inventory_name]
    assert seen["restarted"], seen["journal"]
    for unit in INSTANCES:
        assert "start operation timed out" in seen["journal"][unit], seen["journal"][unit]
        assert seen["after_timeout"][unit]["ActiveState"] == "activating", seen["after_timeout"]


@pytest.fixture(scope="session")
def started(all_hosts) -> tuple:
    """A converge that asks for the connectors to run (molecule_service_state=started), which the
    stand-in cannot satisfy; the connectors are stopped again afterwards."""
    result = run_playbook("converge.yml", extra_vars={"molecule_service_state": "started"})
    for host in all_hosts.values():
        host.run("systemctl stop cloudflared.service cloudflared-dev.service")
    return result


def test_converge_asking_for_started_fails_and_says_why(started, inventory_name):
    run, recap = started
    output = " ".join((run.stdout + run.stderr).split())
    assert run.returncode != 0
    assert recap[inventory_name] == {"changed": 0, "unreachable": 0, "failed": 1}
    assert f"cloudflared.service did not report ready within {START_TIMEOUT} s" in output
    assert '/ready answered 503 {"status":503,"readyConnections":0,' in output
    assert not any(secret in output for secret in SECRETS)


@pytest.fixture(scope="session")
def exited(all_hosts) -> tuple:
    """A converge asking for started while the stand-in finds no edge (its marker removed), so that
    it exits at once as cloudflared does; the marker is put back and the connectors stopped."""
    for host in all_hosts.values():
        host.check_output(f"mv {EDGE_MARKER} {EDGE_MARKER}.away")
    try:
        return run_playbook("converge.yml", extra_vars={"molecule_service_state": "started"})
    finally:
        for host in all_hosts.values():
            host.run(f"mv {EDGE_MARKER}.away {EDGE_MARKER}; systemctl stop cloudflared.service cloudflared-dev.service")


def test_a_connector_that_exits_is_told_from_one_that_is_not_ready(exited, inventory_name):
    """The role says the connector exited, with the reason from its journal, not that it did not
    become ready in time (which is what it said before issue 23)."""
    run, recap = exited
    output = " ".join((run.stdout + run.stderr).split())
    assert run.returncode != 0 and recap[inventory_name]["failed"] == 1, output[-3000:]
    assert "cloudflared.service exited before it reported ready (systemd: Failed with result 'exit-code')" in output, output[-3000:]
    assert "Could not lookup srv records on _v2-origintunneld._tcp.argotunnel.com" in output, output[-3000:]
    assert "did not report ready within" not in output
    assert not any(secret in output for secret in SECRETS)


@pytest.fixture(scope="session")
def firewall_probe(all_hosts) -> dict:
    """On each host, throwaway listeners on 80, 443 and 22 (the SSH port, which the firewall must
    let through: the control that the network path works), each asked on 127.0.0.1 and from the
    other test host."""
    names = sorted(all_hosts)
    seen = {}
    for name in names:
        host, other = all_hosts[name], all_hosts[names[1 - names.index(name)]]
        address = host.check_output("hostname -I").split()[0]
        for port in PROBED_PORTS:
            host.check_output(f"systemd-run --unit=molecule-listen-{port} --property=RuntimeMaxSec=60 --quiet"
                              f" python3 -m http.server {port} --bind 0.0.0.0 --directory /srv")
        wait_for(lambda host=host: all(host.socket(f"tcp://0.0.0.0:{port}").is_listening for port in PROBED_PORTS), 10)
        seen[name] = {
            "status": host.check_output("ufw status"),
            "local": {port: http_get(host, f"http://127.0.0.1:{port}/")[0] for port in PROBED_PORTS},
            "remote": {port: other.run(f"curl -s -o /dev/null --max-time 3 http://{address}:{port}/").rc for port in PROBED_PORTS},
        }
        host.run(" ; ".join(f"systemctl stop molecule-listen-{port}" for port in PROBED_PORTS))
    return seen


PROBED_PORTS = (80, 443, 22)


def test_tunnel_profile_firewall_leaves_web_ports_closed(firewall_probe, inventory_name):
    """stagecraft.webapp.ufw in its tunnel profile: only SSH is allowed in; 80 and 443 are dropped
    from another host although something listens there, while 22 gets through."""
    seen = firewall_probe[inventory_name]
    rules = [line.split()[0] for line in seen["status"].splitlines()[4:] if line.strip()]
    assert seen["status"].startswith("Status: active") and rules == ["22/tcp", "22/tcp"], seen["status"]
    assert all(status in (200, 404) for status in seen["local"].values()), seen  # something listens on each port
    # curl exit 28: no answer within 3 s (dropped by the default deny); 0: served.
    assert seen["remote"] == {80: 28, 443: 28, 22: 0}, seen


def standin(path: str) -> str:
    return os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "standin", path)


LOCAL = {
    "cloudflared_mode": "local", "cloudflared_tunnel_id": TUNNEL_ID, "cloudflared_ingress": INGRESS,
    "cloudflared_credentials": {"AccountTag": "5c0ffee5c0ffee5c0ffee5c0ffee5c0f", "TunnelSecret": TUNNEL_SECRET, "TunnelID": TUNNEL_ID},
}
TOKEN_MODE = {"cloudflared_name": "cloudflared-dev", "cloudflared_mode": "token", "cloudflared_token": TOKEN, "cloudflared_metrics_port": 20242}
BAD_INPUT = {
    "token mode without token": ({**TOKEN_MODE, "cloudflared_token": ""}, "cloudflared_token is empty"),
    "not a tunnel token": ({**TOKEN_MODE, "cloudflared_token": "not-a-token"}, "cloudflared_token is not a tunnel token"),
    "local mode without credentials": ({**LOCAL, "cloudflared_credentials": {}}, "cloudflared_credentials is empty"),
    "local mode without tunnel id": ({**LOCAL, "cloudflared_tunnel_id": ""}, 'cloudflared_tunnel_id "" is not a tunnel UUID'),
    "credentials of another tunnel": ({**LOCAL, "cloudflared_tunnel_id": TOKEN_TUNNEL_ID},
                                      f"cloudflared_credentials belong to tunnel {TUNNEL_ID}, not to cloudflared_tunnel_id {TOKEN_TUNNEL_ID}"),
    "account cert.pem as a variable": ({**LOCAL, "cloudflared_origincert": "-----BEGIN ARGO TUNNEL TOKEN-----"},
                                       "cloudflared_origincert: the account-wide cert.pem never goes to a host"),
    "account cert.pem as the token": ({**TOKEN_MODE, "cloudflared_token": "-----BEGIN ARGO TUNNEL TOKEN-----\nabc\n"},
                                      "contain a PEM block (the account-wide cert.pem?)"),
    "rule after the catch-all": ({**LOCAL, "cloudflared_ingress": [INGRESS[-1], INGRESS[1]]},
                                 "cloudflared_ingress: ingress rule 1: matches every request"),
    "invalid path in rule 2": ({**LOCAL, "cloudflared_ingress": [INGRESS[1], {**INGRESS[0], "path": "*.css"}, INGRESS[-1]]},
                               'cloudflared_ingress: ingress rule 2 (shop.example.test): path: "*.css" is not a valid regular expression'),
    "service with a path in rule 1": ({**LOCAL, "cloudflared_ingress": [{**INGRESS[1], "service": "http://127.0.0.1:8000/app"}, INGRESS[-1]]},
                                      "cloudflared_ingress: ingress rule 1 (shop.example.test): service: \"http://127.0.0.1:8000/app\" has a path"),
    "ingress rules in token mode": ({**TOKEN_MODE, "cloudflared_ingress": INGRESS}, "cloudflared_ingress is set, but cloudflared_mode token"),
    "metrics not on loopback": ({**LOCAL, "cloudflared_metrics_address": "0.0.0.0"}, 'cloudflared_metrics_address "0.0.0.0" is not a loopback address'),
    "metrics port of the other instance": ({**TOKEN_MODE, "cloudflared_name": "cloudflared-qa"},
                                           "cloudflared_metrics_port 20242 is already used by cloudflared-dev"),
    "binary method without file": ({**LOCAL, "cloudflared_install_method": "binary"}, "cloudflared_binary_file is empty"),
    "version the binary does not report": ({**LOCAL, "cloudflared_install_method": "binary", "cloudflared_version": "2024.1.0"},
                                           "is not cloudflared_version 2024.1.0"),
}
SNAPSHOT = (
    "find /etc/cloudflared* /etc/stagecraft /etc/systemd/system /usr/local/bin /usr/bin/cloudflared /var/cache/stagecraft -xdev"
    " -printf '%p %m %u %g %s %T@\\n' 2>/dev/null | sort; getent passwd; getent group;"
    " systemctl list-units --all --no-legend --plain 'cloudflared*'"
)


@pytest.fixture(scope="session")
def bad_input(all_hosts, tmp_path_factory) -> dict:
    """conftest.run_bad_input with BAD_INPUT's cases on top of the stand-in binary, the service left
    stopped should a case get through; a case that picks the binary method without naming a
    version is left without the file too."""
    cases = {}
    for case, (variables, dummy) in BAD_INPUT.items():
        cases[case] = {"cloudflared_install_method": "binary", "cloudflared_binary_file": standin("cloudflared"),
                       "cloudflared_version": VERSION, "cloudflared_start_timeout_sec": 10, "cloudflared_service_state": "stopped",
                       **variables}
        if variables.get("cloudflared_install_method") == "binary" and "cloudflared_version" not in variables:
            cases[case]["cloudflared_binary_file"] = ""
    return run_bad_input(all_hosts, tmp_path_factory.mktemp("bad_input"), "stagecraft.webapp.cloudflared", cases, SNAPSHOT)


@pytest.mark.parametrize("case", BAD_INPUT)
def test_bad_input_fails_naming_the_problem_and_changes_nothing(bad_input, inventory_name, case):
    assert_bad_input_case(bad_input, inventory_name, case, BAD_INPUT[case][1])
    run = bad_input["run"][0]
    output = run.stdout + run.stderr
    assert not any(secret in output for secret in SECRETS)


# --- An older cloudflared: the token through the environment ---------------------------------

VERSION_MARKER = "/etc/standin-cloudflared-version"  # see files/cloudflared_standin.py
OLD = "cloudflared-old"


@pytest.fixture(scope="session")
def old_version(all_hosts) -> tuple:
    """One role run (token_env.yml) for a third token-mode tunnel while the stand-in reports 2025.3.0,
    which has no --token-file, and says one edge connection is registered; what it made and how the
    connector runs, then the stand-in is itself again and the connector stopped."""
    markers = {name: host.run(f"cat {EDGE_MARKER}").stdout for name, host in all_hosts.items()}
    for host in all_hosts.values():
        host.check_output(f"echo 2025.3.0 > {VERSION_MARKER} && echo 'connections: 1' > {EDGE_MARKER}")
    try:
        result = run_playbook("token_env.yml", extra_vars={"molecule_token": TOKEN})
        seen = {}
        for name, host in all_hosts.items():
            state = props(host, f"{OLD}.service", "ActiveState", "MainPID", "EnvironmentFiles", "ExecStart")
            token_env = host.file(f"/etc/{OLD}/token.env")
            seen[name] = {
                "state": state,
                "token_env": (token_env.user, token_env.group, token_env.mode, token_env.content_string if token_env.exists else ""),
                "token_file": host.file(f"/etc/{OLD}/token").exists,
                "ready": http_get(host, "http://127.0.0.1:20243/ready"),
                "processes": host.check_output("ps -eo user:20,args"),
                "journal": journal(host, f"{OLD}.service", 60),
            }
    finally:
        for name, host in all_hosts.items():
            host.run(f"systemctl stop {OLD}.service; rm -f {VERSION_MARKER}; printf %s {shlex.quote(markers[name])} > {EDGE_MARKER}")
    return result, seen


def test_an_older_cloudflared_gets_the_token_from_its_environment_and_connects(old_version, inventory_name):
    (run, recap), seen = old_version[0], old_version[1][inventory_name]
    assert recap[inventory_name]["failed"] == 0, run.stdout[-3000:]
    assert TOKEN not in run.stdout + run.stderr
    assert seen["token_env"][:3] == ("root", "root", 0o600), seen["token_env"][:3]
    assert f"TUNNEL_TOKEN={TOKEN}" in seen["token_env"][3].splitlines()
    assert not seen["token_file"]
    assert f"/etc/{OLD}/token.env" in seen["state"]["EnvironmentFiles"]
    assert "--token-file" not in seen["state"]["ExecStart"] and "run" in seen["state"]["ExecStart"]
    assert seen["state"]["ActiveState"] == "active", seen["journal"]
    status, body = seen["ready"]
    assert status == 200 and json.loads(body)["readyConnections"] == 1, (status, body)
    assert "TUNNEL_TOKEN is set" in seen["journal"], seen["journal"]
    assert TOKEN not in seen["processes"] and TOKEN not in seen["journal"]

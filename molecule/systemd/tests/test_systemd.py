"""Role stagecraft.webapp.systemd, as a user of the hosts sees it.

The converge (converge.yml, units in units.yml) installed a hardened Python web service with a
drop-in, the same service without hardening, a socket-activated echo service, a timer with its
service, and a service whose executable does not exist yet. The negative cases run the role
again through apply.yml and assert that nothing on the host changed.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time

import pytest
import yaml
from conftest import journal

SCENARIO = os.environ.get("MOLECULE_SCENARIO_DIRECTORY", os.path.dirname(os.path.dirname(__file__)))
DEMO_UNITS = yaml.safe_load(open(os.path.join(SCENARIO, "vars", "units.yml"), encoding="utf-8"))["demo_units"]
UNIT_DIR = "/etc/systemd/system"
# The exposure score of webdemo.service, measured 1.1 on Debian 12 (systemd 252) and 13 (257);
# webdemo-plain.service, the same service without the profile, measured 9.2 on both.
HARDENED_EXPOSURE_MAX = 1.2
PLAIN_EXPOSURE_MIN = 9.0


class Run:
    """One ansible-playbook run against one host, read through the json callback."""

    def __init__(self, process: subprocess.CompletedProcess, host: str):
        self.returncode = process.returncode
        self.raw = process.stdout + process.stderr
        start = process.stdout.find("{")
        report = json.loads(process.stdout[start:]) if start >= 0 else {"plays": [], "stats": {}}
        stats = report["stats"].get(host, {})
        self.recap = {"changed": stats.get("changed", -1), "failed": stats.get("failures", -1)}
        results = [
            task["hosts"][host]
            for play in report["plays"]
            for task in play["tasks"]
            if host in task["hosts"]
        ]
        results += [item for result in list(results) for item in result.get("results", []) if isinstance(item, dict)]
        #: every failure message and debug message of the run, as plain strings
        self.messages = [str(result["msg"]) for result in results if "msg" in result]
        #: the text of every diff (what --diff would print)
        self.diffs = "\n".join(str(diff.get("after", "")) for result in results for diff in _diffs(result))

    def says(self, text: str) -> bool:
        return any(text in message for message in self.messages)

    def __repr__(self) -> str:
        return self.raw[-4000:]


def _diffs(result: dict) -> list[dict]:
    diff = result.get("diff", [])
    return diff if isinstance(diff, list) else [diff]


def playbook(name: str, host: str, *extra: str, check: bool = False) -> tuple[Run, dict[str, int]]:
    """Run one of the scenario's playbooks against one host; return the run and its recap counts."""
    command = ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], "--limit", host, os.path.join(SCENARIO, name)]
    for value in extra:
        command += ["-e", value]
    if check:
        command += ["--check", "--diff"]
    process = subprocess.run(
        command,
        env={**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json"},
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    run = Run(process, host)
    return run, run.recap


def apply_units(host: str, units: list[dict]) -> tuple[Run, dict[str, int]]:
    return playbook("apply.yml", host, json.dumps({"units": units, "webdemo_greeting": "hello"}))


def demo_unit(name: str, **changes) -> dict:
    spec = json.loads(json.dumps(next(unit for unit in DEMO_UNITS if unit["name"] == name)))
    spec.update(changes)
    return spec


def host_state(host) -> dict[str, str]:
    """What a failed run must leave as it was: unit files, drop-ins and the running processes."""
    files = host.run(f"find {UNIT_DIR} -xdev \\( -type f -o -type l \\) -printf '%p %s %T@\\n' | sort | sha256sum")
    return {
        "files": files.stdout,
        "webdemo": host.run("systemctl show -p MainPID -p ActiveState -p ActiveEnterTimestamp webdemo.service").stdout,
        "reloads": str(daemon_reloads(host)),
    }


def daemon_reloads(host) -> int:
    """How often systemd reloaded its units since boot (252 logs "Reloading.", 257 "Reloading...")."""
    log = host.run("journalctl _PID=1 -o cat --no-pager").stdout
    return len(re.findall(r"^Reloading\.(?:\.\.)?$", log, flags=re.MULTILINE))


def show(host, unit: str, *properties: str) -> dict[str, str]:
    out = host.run(f"systemctl show {unit} " + " ".join(f"-p {p}" for p in properties)).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def exposure(host, unit: str) -> float:
    out = host.run(f"systemd-analyze security --no-pager {unit}").stdout
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", out)
    assert match, out
    return float(match[1])


def answer(host, port: int) -> str:
    return host.run(f"curl -sS --max-time 5 http://127.0.0.1:{port}/").stdout


# What the converge left running -----------------------------------------------------------


@pytest.mark.parametrize("unit", ["webdemo.service", "webdemo-plain.service", "echo.socket", "stamp.timer"])
def test_units_run_and_are_enabled(host, unit):
    service = host.service(unit)
    assert service.is_running, journal(host, unit)
    assert service.is_enabled, journal(host, unit)


def test_hardened_service_answers_as_its_own_user(host):
    assert host.socket("tcp://127.0.0.1:8080").is_listening, journal(host, "webdemo.service")
    assert answer(host, 8080) == "stagecraft systemd demo\n", journal(host, "webdemo.service")
    pid = show(host, "webdemo.service", "MainPID")["MainPID"]
    assert host.run(f"ps -o user= -p {pid}").stdout.strip() == "webdemo"


def test_drop_in_applies(host):
    environment = show(host, "webdemo.service", "Environment")["Environment"]
    assert environment.split() == ["GREETING=hello", "MODE=demo"], journal(host, "webdemo.service")
    assert show(host, "webdemo.service", "DropInPaths")["DropInPaths"] == f"{UNIT_DIR}/webdemo.service.d/10-environment.conf"


def test_read_write_paths_are_writable_and_nothing_else(host):
    """ExecStartPre touched its file under ReadWritePaths; in the service's own mount namespace
    (ProtectSystem=strict) the root is mounted read-only and only ReadWritePaths read-write."""
    started = host.file("/var/lib/webdemo/started")
    assert started.exists and started.user == "webdemo", journal(host, "webdemo.service")
    assert started.mode == 0o640  # UMask=0027
    pid = show(host, "webdemo.service", "MainPID")["MainPID"]
    mounts = {}
    for line in host.file(f"/proc/{pid}/mountinfo").content_string.splitlines():
        fields = line.split()
        mounts[fields[4]] = fields[5].split(",")
    assert "ro" in mounts["/"], mounts["/"]
    assert "rw" in mounts["/var/lib/webdemo"], mounts.get("/var/lib/webdemo")


def test_socket_activation_echoes(host):
    assert host.socket("tcp://127.0.0.1:8082").is_listening, journal(host, "echo.socket")
    echo = host.run(
        "python3 -c 'import socket; s = socket.create_connection((\"127.0.0.1\", 8082), timeout=5); "
        "s.sendall(b\"ping\\n\"); print(s.recv(16).decode(), end=\"\")'"
    )
    assert echo.stdout == "ping\n", echo.stderr + journal(host, "echo.socket")


def test_timer_ran_its_service(host):
    for _attempt in range(20):
        if host.file("/var/lib/stamp/last").exists:
            break
        time.sleep(0.5)
    assert host.file("/var/lib/stamp/last").exists, journal(host, "stamp.service")
    assert show(host, "stamp.service", "Result")["Result"] == "success", journal(host, "stamp.service")


def test_service_with_missing_executable_is_installed_but_not_started(host):
    assert host.file(f"{UNIT_DIR}/later.service").exists
    assert not host.service("later.service").is_running
    assert "/opt/later/venv/bin/app" in show(host, "later.service", "ExecStart")["ExecStart"]


@pytest.mark.parametrize(
    "path",
    [f"{UNIT_DIR}/{unit['name']}" for unit in DEMO_UNITS] + [f"{UNIT_DIR}/webdemo.service.d/10-environment.conf"],
)
def test_unit_files_are_root_owned_and_world_readable_only(host, path):
    unit = host.file(path)
    assert unit.is_file
    assert (unit.user, unit.group, unit.mode) == ("root", "root", 0o644)
    assert "Managed by stagecraft.webapp.systemd" in unit.content_string


def test_drop_in_directory_mode(host):
    directory = host.file(f"{UNIT_DIR}/webdemo.service.d")
    assert (directory.is_directory, directory.user, directory.mode) == (True, "root", 0o755)


# Hardening ------------------------------------------------------------------------------

HARDENED = {
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "PrivateDevices": "yes",
    "PrivateMounts": "yes",
    "NoNewPrivileges": "yes",
    "CapabilityBoundingSet": "",
    "AmbientCapabilities": "",
    "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
    "SystemCallArchitectures": "native",
    "ProtectKernelTunables": "yes",
    "ProtectKernelModules": "yes",
    "ProtectKernelLogs": "yes",
    "ProtectControlGroups": "yes",
    "ProtectClock": "yes",
    "ProtectHostname": "yes",
    "ProtectProc": "invisible",
    "ProcSubset": "pid",
    "RestrictNamespaces": "yes",
    "LockPersonality": "yes",
    "RestrictRealtime": "yes",
    "RestrictSUIDSGID": "yes",
    "RemoveIPC": "yes",
    "KeyringMode": "private",
    "UMask": "0027",
    "DevicePolicy": "closed",
    "ReadWritePaths": "/var/lib/webdemo",
    # Opt-in directives switched on through hardening_overrides.
    "MemoryDenyWriteExecute": "yes",
}


def test_hardening_directives_are_in_effect(host):
    shown = show(host, "webdemo.service", *HARDENED, "SystemCallFilter", "IPAddressDeny", "IPAddressAllow")
    if "RestrictAddressFamilies" in shown:
        shown["RestrictAddressFamilies"] = " ".join(sorted(shown["RestrictAddressFamilies"].split()))
    assert {key: shown.get(key) for key in HARDENED} == HARDENED
    assert show(host, "webdemo.service", "SystemCallErrorNumber")["SystemCallErrorNumber"] in ("EPERM", "1")  # 252 shows the number
    # The filter is an allow list: @system-service minus @privileged and @resources.
    allowed = shown["SystemCallFilter"].split()
    assert "read" in allowed and "setuid" not in allowed and "setrlimit" not in allowed
    assert set(shown["IPAddressDeny"].split()) == {"0.0.0.0/0", "::/0"}
    assert set(shown["IPAddressAllow"].split()) == {"127.0.0.0/8", "::1/128"}


def test_plain_unit_has_no_hardening(host):
    assert show(host, "webdemo-plain.service", "ProtectSystem", "NoNewPrivileges") == {"ProtectSystem": "no", "NoNewPrivileges": "no"}


def test_exposure_score_of_hardened_unit_is_far_below_plain(host):
    hardened, plain = exposure(host, "webdemo.service"), exposure(host, "webdemo-plain.service")
    assert hardened <= HARDENED_EXPOSURE_MAX, host.run("systemd-analyze security --no-pager webdemo.service").stdout
    assert plain >= PLAIN_EXPOSURE_MIN
    assert hardened < plain


def test_ip_address_deny_is_enforced(host):
    """IPAddressDeny=any + IPAddressAllow=localhost (cgroup BPF) works in these containers."""
    outside = host.run("hostname -I").stdout.split()[0]
    run = host.run(
        "systemd-run --quiet --wait --pipe -p CollectMode=inactive-or-failed -p IPAddressDeny=any -p IPAddressAllow=localhost "
        f"curl -sS --max-time 3 -o /dev/null http://{outside}:8080/"
    )
    assert run.rc == 28, run.stderr  # dropped (timeout), not refused: the filter, not the port


# Check mode, daemon-reload, changed units -----------------------------------------------


def test_check_mode_reports_no_change(check_mode_recap, inventory_name):
    assert check_mode_recap[inventory_name] == {"changed": 0, "unreachable": 0, "failed": 0}


def test_daemon_reload_only_on_change_and_once_per_run(host, inventory_name):
    before = daemon_reloads(host)
    pid = show(host, "webdemo.service", "MainPID")["MainPID"]
    run, recap = playbook("converge.yml", inventory_name)
    assert recap == {"changed": 0, "failed": 0}, run
    assert daemon_reloads(host) == before, "an idempotent run reloaded systemd"

    # Check mode sees the change to two units and reports it, without touching the host.
    run, recap = playbook("converge.yml", inventory_name, "webdemo_greeting=bonjour", check=True)
    assert recap["failed"] == 0 and recap["changed"] > 0, run
    assert "Environment=GREETING=bonjour" in run.diffs  # --diff shows the unit diff
    assert show(host, "webdemo.service", "Environment")["Environment"].startswith("GREETING=hello")
    assert daemon_reloads(host) == before

    try:
        run, recap = playbook("converge.yml", inventory_name, "webdemo_greeting=bonjour")
        assert recap["failed"] == 0, run
        assert run.says('systemd_changed_units=["webdemo-plain.service", "webdemo.service"]'), run.messages
        assert daemon_reloads(host) == before + 1, "two changed units, one daemon-reload"
        assert show(host, "webdemo.service", "Environment")["Environment"].startswith("GREETING=bonjour")
        assert show(host, "webdemo.service", "MainPID")["MainPID"] != pid, "changed unit was not restarted"
        assert answer(host, 8080) == "stagecraft systemd demo\n", journal(host, "webdemo.service")
    finally:
        run, recap = playbook("converge.yml", inventory_name)
    assert recap["failed"] == 0, run
    assert daemon_reloads(host) == before + 2


def test_check_mode_on_a_new_unit_reports_it_and_installs_nothing(host, inventory_name):
    fresh = {"name": "fresh.service", "sections": {"Service": {"ExecStart": "/usr/bin/sleep infinity"}}}
    run, recap = playbook("apply.yml", inventory_name, json.dumps({"units": [fresh]}), check=True)
    assert recap["failed"] == 0 and recap["changed"] > 0, run
    assert "ExecStart=/usr/bin/sleep infinity" in run.diffs
    assert not host.file(f"{UNIT_DIR}/fresh.service").exists


def test_removed_drop_in_and_absent_unit_are_cleaned_up(host, inventory_name):
    extra = {"name": "extra.service", "sections": {"Service": {"ExecStart": "/usr/bin/sleep infinity"}}}
    webdemo = demo_unit("webdemo.service")
    webdemo["dropins"] = webdemo["dropins"] + [{"name": "20-extra.conf", "sections": {"Service": {"Environment": "EXTRA=1"}}}]
    webdemo["dropins"][0]["sections"]["Service"]["Environment"] = ["GREETING=hello", "MODE=demo"]
    try:
        run, recap = apply_units(inventory_name, [webdemo, extra])
        assert recap["failed"] == 0, run
        assert host.file(f"{UNIT_DIR}/webdemo.service.d/20-extra.conf").exists
        assert host.service("extra.service").is_running, journal(host, "extra.service")
    finally:
        webdemo["dropins"] = webdemo["dropins"][:1]
        run, recap = apply_units(inventory_name, [webdemo, {"name": "extra.service", "present": False}])
    assert recap["failed"] == 0, run
    assert not host.file(f"{UNIT_DIR}/webdemo.service.d/20-extra.conf").exists
    assert host.file(f"{UNIT_DIR}/webdemo.service.d/10-environment.conf").exists
    assert not host.file(f"{UNIT_DIR}/extra.service").exists
    assert not host.service("extra.service").is_running
    assert answer(host, 8080) == "stagecraft systemd demo\n", journal(host, "webdemo.service")


# Refused units and bad input: the run fails, the host stays as it was ------------------

REFUSED = {
    # Verification fails (rc 1): a simple service with two ExecStart= lines.
    "two_exec_start": (
        lambda: [demo_unit("webdemo.service", sections={**demo_unit("webdemo.service")["sections"],
                 "Service": {**demo_unit("webdemo.service")["sections"]["Service"], "ExecStart": ["/usr/bin/true", "/usr/bin/false"]}})],
        "systemd-analyze verify refused webdemo.service (rc 1): ",
        "Service has more than one ExecStart= setting",
    ),
    # Verification only warns (rc 0); strict mode refuses it: a misspelt hardening directive.
    "typo_in_directive": (
        lambda: [demo_unit("webdemo.service", hardening_overrides={"ProtectSytem": "strict"})],
        "systemd-analyze verify refused webdemo.service",
        "Unknown key 'ProtectSytem' in section [Service]",
    ),
    # A missing executable outside verify_allow_missing is not tolerated.
    "missing_executable_not_allowed": (
        lambda: [demo_unit("later.service", verify_allow_missing=[])],
        "systemd-analyze verify refused later.service (rc 1): later.service: Command /opt/later/venv/bin/app is not executable",
        "No such file or directory",
    ),
    # Preflight: bad suffix, invalid name, sections missing, wrong type in hardening_overrides.
    "bad_suffix": (
        lambda: [{"name": "webdemo.servce", "sections": {"Service": {"ExecStart": "/usr/bin/true"}}}],
        'systemd_units[webdemo.servce].name: must end in .service, .socket or .timer, got "webdemo.servce"',
        "",
    ),
    "invalid_unit_name": (
        lambda: [{"name": "web demo.service", "sections": {"Service": {"ExecStart": "/usr/bin/true"}}}],
        'systemd_units[web demo.service].name: "web demo.service" is not a valid systemd unit name',
        "",
    ),
    "sections_missing": (
        lambda: [{"name": "webdemo.service", "state": "started"}],
        "systemd_units[webdemo.service].sections: required when the unit is present",
        "",
    ),
    "override_of_wrong_type": (
        lambda: [demo_unit("webdemo.service", hardening_overrides={"ProtectSystem": {"level": "strict"}})],
        "systemd_units[webdemo.service].hardening_overrides.ProtectSystem: must be a string, number, boolean, null or a list of those, got dict",
        "",
    ),
    "section_not_for_this_kind": (
        lambda: [demo_unit("stamp.timer", sections={"Service": {"ExecStart": "/usr/bin/true"}})],
        "systemd_units[stamp.timer].sections.Service: a .timer unit has no such section (allowed: Unit, Timer, Install)",
        "",
    ),
    # The argument spec itself: an unknown state.
    "unknown_state": (
        lambda: [demo_unit("webdemo.service", state="running")],
        "value of state must be one of: started, stopped, restarted, reloaded, got: running",
        "",
    ),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_refused_run_fails_with_message_and_changes_nothing(host, inventory_name, case):
    units, message, detail = REFUSED[case]
    before = host_state(host)
    run, recap = apply_units(inventory_name, units())
    assert run.returncode != 0 and recap == {"changed": 0, "failed": 1}, run
    assert run.says(message), run.messages
    assert run.says(detail), run.messages
    assert host_state(host) == before
    assert answer(host, 8080) == "stagecraft systemd demo\n", journal(host, "webdemo.service")
    assert host.run("ls /tmp | grep -c systemd-verify").stdout.strip() in ("", "0"), "staging directory left behind"

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
    """One ansible-playbook run against every host, read through the json callback."""

    def __init__(self, process: subprocess.CompletedProcess):
        self.returncode = process.returncode
        self.raw = process.stdout + process.stderr
        start = process.stdout.find("{")
        report = json.loads(process.stdout[start:]) if start >= 0 else {"plays": [], "stats": {}}
        self.stats = report["stats"]
        self.tasks = [task for play in report["plays"] for task in play["tasks"]]

    def on(self, host: str) -> HostRun:
        """What the run did on one host."""
        stats = self.stats.get(host, {})
        recap = {"changed": stats.get("changed", -1), "failed": stats.get("failures", -1)}
        return HostRun(self, self._results(host), recap)

    def cases(self, host: str) -> dict[str, HostRun]:
        """What each case of refuse.yml did on one host, by case name (see tasks/refused_case.yml)."""
        cases: dict[str, list[tuple[str, dict]]] = {}
        for name, result in self._results(host):
            if name == CASE_MARKER:
                cases[result["msg"].removeprefix("case=")] = current = []
            elif cases:
                current.append((name, result))
        return {case: HostRun(self, results) for case, results in cases.items()}

    def _results(self, host: str) -> list[tuple[str, dict]]:
        return [(task["task"]["name"], task["hosts"][host]) for task in self.tasks if host in task["hosts"]]

    def __repr__(self) -> str:
        return self.raw[-4000:]


class HostRun:
    """The task results of one host in a run, or in one case of it; the recap counts them unless given."""

    def __init__(self, run: Run, results: list[tuple[str, dict]], recap: dict[str, int] | None = None):
        self.run = run
        self.results = results
        top = [result for _name, result in results]
        self.recap = recap or {key: sum(bool(result.get(key)) for result in top) for key in ("changed", "failed")}
        everything = top + [item for result in top for item in result.get("results", []) if isinstance(item, dict)]
        #: every failure message and debug message, as plain strings
        self.messages = [str(result["msg"]) for result in everything if "msg" in result]
        #: the text of every diff (what --diff would print)
        self.diffs = "\n".join(str(diff.get("after", "")) for result in everything for diff in _diffs(result))

    def says(self, text: str) -> bool:
        return any(text in message for message in self.messages)

    def probes(self) -> list[dict[str, str]]:
        """The output of each run of tasks/probe.yml, in order: probe name -> stdout."""
        return [json.loads(result["stdout"]) for name, result in self.results if name == PROBE_TASK]

    def __repr__(self) -> str:
        tasks = "\n".join(
            f"{name}: changed={result.get('changed', False)} failed={result.get('failed', False)} {result.get('msg', '')}"
            for name, result in self.results
        )
        return f"{tasks}\n{self.run.raw[-2000:]}"


def _diffs(result: dict) -> list[dict]:
    diff = result.get("diff", [])
    return diff if isinstance(diff, list) else [diff]


def playbook(name: str, *extra: str, check: bool = False, timeout: int = 600) -> Run:
    """Run one of the scenario's playbooks against every host at once."""
    command = ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], os.path.join(SCENARIO, name)]
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
        timeout=timeout,
    )
    return Run(process)


def apply_units(units: list[dict], check: bool = False) -> Run:
    return playbook("apply.yml", json.dumps({"units": units, "webdemo_greeting": "hello"}), check=check)


def demo_unit(name: str, **changes) -> dict:
    spec = json.loads(json.dumps(next(unit for unit in DEMO_UNITS if unit["name"] == name)))
    spec.update(changes)
    return spec


# Shell commands whose output a refused run must leave as it was: unit files and drop-ins, the
# service's process, and how often systemd reloaded its units since boot (252 logs "Reloading.",
# 257 "Reloading..."). refuse.yml runs them around each case; the other tests through testinfra.
HOST_STATE = {
    "files": f"find {UNIT_DIR} -xdev \\( -type f -o -type l \\) -printf '%p %s %T@\\n' | sort | sha256sum",
    "webdemo": "systemctl show -p MainPID -p ActiveState -p ActiveEnterTimestamp webdemo.service",
    "reloads": "journalctl _PID=1 -o cat --no-pager | grep -c -x -E 'Reloading\\.(\\.\\.)?'",
}
ANSWER = "curl -sS --max-time 5 http://127.0.0.1:{port}/"
# ... and what it must still do: answer, and leave no staging directory behind.
PROBES = {**HOST_STATE, "answer": ANSWER.format(port=8080), "staging": "ls /tmp | grep -c systemd-verify"}
# Task names in refuse.yml's task files that the test splits and reads its output by.
CASE_MARKER = "Start a refused case"
PROBE_TASK = "Probe the host"


def daemon_reloads(host) -> int:
    return int(host.run(HOST_STATE["reloads"]).stdout)


def show(host, unit: str, *properties: str) -> dict[str, str]:
    out = host.run(f"systemctl show {unit} " + " ".join(f"-p {p}" for p in properties)).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def exposure(host, unit: str) -> float:
    out = host.run(f"systemd-analyze security --no-pager {unit}").stdout
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", out)
    assert match, out
    return float(match[1])


def answer(host, port: int) -> str:
    return host.run(ANSWER.format(port=port)).stdout


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


def observe(all_hosts) -> dict[str, dict]:
    """What the greeting tests look at on each host between two runs."""
    return {
        name: {
            "reloads": daemon_reloads(host),
            **show(host, "webdemo.service", "Environment", "MainPID"),
            "answer": answer(host, 8080),
        }
        for name, host in all_hosts.items()
    }


@pytest.fixture(scope="session")
def greeting_runs(all_hosts) -> dict[str, tuple[Run | None, dict[str, dict]]]:
    """Converge unchanged, then with another greeting in check mode and for real, then back;
    each step's run (None for the start) and what every host showed after it."""
    steps = {"start": (None, observe(all_hosts))}
    for step, extra, check in (
        ("unchanged", (), False),
        ("check", ("webdemo_greeting=bonjour",), True),
        ("changed", ("webdemo_greeting=bonjour",), False),
        ("restored", (), False),  # always runs: no test stops the sequence half-way
    ):
        run = playbook("converge.yml", *extra, check=check)
        steps[step] = (run, observe(all_hosts))
    return steps


def test_daemon_reload_only_on_change_and_once_per_run(greeting_runs, host, inventory_name):
    def step(name: str) -> tuple[HostRun, dict]:
        run, seen = greeting_runs[name]
        return run.on(inventory_name), seen[inventory_name]

    start = greeting_runs["start"][1][inventory_name]
    before, pid = start["reloads"], start["MainPID"]
    run, seen = step("unchanged")
    assert run.recap == {"changed": 0, "failed": 0}, run
    assert seen["reloads"] == before, "an idempotent run reloaded systemd"

    # Check mode sees the change to two units and reports it, without touching the host.
    run, seen = step("check")
    assert run.recap["failed"] == 0 and run.recap["changed"] > 0, run
    assert "Environment=GREETING=bonjour" in run.diffs  # --diff shows the unit diff
    assert seen["Environment"].startswith("GREETING=hello")
    assert seen["reloads"] == before

    run, seen = step("changed")
    assert run.recap["failed"] == 0, run
    assert run.says('systemd_changed_units=["webdemo-plain.service", "webdemo.service"]'), run.messages
    assert seen["reloads"] == before + 1, "two changed units, one daemon-reload"
    assert seen["Environment"].startswith("GREETING=bonjour")
    assert seen["MainPID"] != pid, "changed unit was not restarted"
    assert seen["answer"] == "stagecraft systemd demo\n", journal(host, "webdemo.service")

    run, seen = step("restored")
    assert run.recap["failed"] == 0, run
    assert seen["reloads"] == before + 2


@pytest.fixture(scope="session")
def new_unit_check_run() -> Run:
    fresh = {"name": "fresh.service", "sections": {"Service": {"ExecStart": "/usr/bin/sleep infinity"}}}
    return apply_units([fresh], check=True)


def test_check_mode_on_a_new_unit_reports_it_and_installs_nothing(new_unit_check_run, host, inventory_name):
    run = new_unit_check_run.on(inventory_name)
    assert run.recap["failed"] == 0 and run.recap["changed"] > 0, run
    assert "ExecStart=/usr/bin/sleep infinity" in run.diffs
    assert not host.file(f"{UNIT_DIR}/fresh.service").exists


@pytest.fixture(scope="session")
def cleanup_runs(all_hosts) -> tuple[Run, dict[str, dict[str, bool]], Run]:
    """Add a drop-in and a unit, then take both away again; both runs, and what every host
    showed between them."""
    extra = {"name": "extra.service", "sections": {"Service": {"ExecStart": "/usr/bin/sleep infinity"}}}
    webdemo = demo_unit("webdemo.service")
    webdemo["dropins"] = webdemo["dropins"] + [{"name": "20-extra.conf", "sections": {"Service": {"Environment": "EXTRA=1"}}}]
    webdemo["dropins"][0]["sections"]["Service"]["Environment"] = ["GREETING=hello", "MODE=demo"]
    added = apply_units([webdemo, extra])
    seen = {
        name: {
            "dropin": host.file(f"{UNIT_DIR}/webdemo.service.d/20-extra.conf").exists,
            "running": host.service("extra.service").is_running,
            "journal": journal(host, "extra.service"),
        }
        for name, host in all_hosts.items()
    }
    webdemo["dropins"] = webdemo["dropins"][:1]
    removed = apply_units([webdemo, {"name": "extra.service", "present": False}])
    return added, seen, removed


def test_removed_drop_in_and_absent_unit_are_cleaned_up(cleanup_runs, host, inventory_name):
    added, seen, removed = cleanup_runs
    run, seen = added.on(inventory_name), seen[inventory_name]
    assert run.recap["failed"] == 0, run
    assert seen["dropin"]
    assert seen["running"], seen["journal"]
    run = removed.on(inventory_name)
    assert run.recap["failed"] == 0, run
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
    # A missing executable outside verify_allow_missing is not tolerated. (A new unit: only units
    # whose files would change are verified, and later.service as installed is unchanged.)
    "missing_executable_not_allowed": (
        lambda: [{**demo_unit("later.service", verify_allow_missing=[]), "name": "sooner.service"}],
        "systemd-analyze verify refused sooner.service (rc 1): sooner.service: Command /opt/later/venv/bin/app is not executable",
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


@pytest.fixture(scope="session")
def refused_run() -> Run:
    """Every case of REFUSED in one run of refuse.yml, each with the probes before and after it."""
    cases = [{"name": case, "units": units()} for case, (units, _message, _detail) in sorted(REFUSED.items())]
    return playbook("refuse.yml", json.dumps({"cases": cases, "probes": PROBES, "webdemo_greeting": "hello"}), timeout=1800)


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_refused_run_fails_with_message_and_changes_nothing(refused_run, host, inventory_name, case):
    _units, message, detail = REFUSED[case]
    # Each case's failure is rescued so that the next one runs: the run itself succeeds.
    assert refused_run.returncode == 0, refused_run
    run = refused_run.cases(inventory_name)[case]
    assert run.recap == {"changed": 0, "failed": 1}, run
    assert run.says(message), run.messages
    assert run.says(detail), run.messages
    before, after = run.probes()
    assert {key: after[key] for key in HOST_STATE} == {key: before[key] for key in HOST_STATE}
    assert after["answer"] == "stagecraft systemd demo\n", journal(host, "webdemo.service")
    assert after["staging"].strip() in ("", "0"), "staging directory left behind"

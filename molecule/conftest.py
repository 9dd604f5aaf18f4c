"""Fixtures shared by every scenario's testinfra verify step."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import re
import select
import shlex
import socket
import socketserver
import subprocess
import threading
from pathlib import Path

import pytest
import testinfra
import testinfra.host
import yaml

ROLES = Path(__file__).resolve().parent.parent / "roles"
REQUEST_LOOP = (Path(__file__).resolve().parent / "shared" / "request_loop.py").read_text()
RECAP_LINE = re.compile(r"^(?P<host>\S+)\s+:\s+ok=\d+\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)\s+failed=(?P<failed>\d+)")
# A task's line for one host (item lines of a loop too): "changed: [host]", "skipping: [host] => (item=...)".
TASK_OUTCOME = re.compile(r"^(ok|changed|skipping|failed|fatal): \[")
# The controller's key, let in as root by molecule/shared/tasks/ssh_server.yml.
SSH_KEY = Path(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "/nonexistent")) / "ssh_key"


@pytest.fixture(scope="session")
def check_mode_recap() -> dict[str, dict[str, int]]:
    """Run the scenario's converge again in check mode; return each host's recap counts.

    Molecule's own `check` step does not assert anything about the result, so the
    "check mode reports no change" promise is asserted here, once per session.
    """
    run, recap = run_playbook("converge.yml", "--check", "--diff")
    if run.returncode != 0 or not recap:
        pytest.fail(f"check-mode converge failed (rc {run.returncode}):\n{run.stdout[-4000:]}\n{run.stderr[-2000:]}")
    return recap


@pytest.fixture(scope="session")
def all_hosts(request) -> dict[str, testinfra.host.Host]:
    """Every host under test by inventory name, built as testinfra builds the `host` fixture.

    For session fixtures that run one playbook against all hosts at once and look at each
    host around that run; the tests then check their own host's part of the result.
    """
    option = request.config.option
    hosts = testinfra.get_hosts(
        option.hosts.split(",") if option.hosts else [None],
        connection=option.connection,
        ssh_config=option.ssh_config,
        ssh_identity_file=option.ssh_identity_file,
        sudo=option.sudo,
        sudo_user=option.sudo_user,
        ansible_inventory=option.ansible_inventory,
        force_ansible=option.force_ansible,
    )
    return {each.backend.get_hostname(): each for each in hosts}


@pytest.fixture(scope="session")
def stack(all_hosts) -> testinfra.host.Host:
    """The host a whole-stack scenario deploys to (debian12); debian13 is its client."""
    return next(host for name, host in all_hosts.items() if name.endswith("-debian12"))


@pytest.fixture(scope="session")
def client(all_hosts) -> testinfra.host.Host:
    """The whole-stack scenario's other machine on the network (debian13), probing from outside."""
    return next(host for name, host in all_hosts.items() if name.endswith("-debian13"))


@pytest.fixture(scope="session")
def commits() -> dict[str, str]:
    """Each branch of the app's repository to its commit, as the scenario's prepare.yml kept them
    (molecule/deploy/fixture_repo.py's output)."""
    path = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "fixture_commits.json")
    with open(path, encoding="utf-8") as stream:
        return json.load(stream)


@pytest.fixture
def inventory_name(host) -> str:
    """The molecule instance name of the host under test."""
    return host.backend.get_hostname()


def journal(host, unit: str, lines: int = 40) -> str:
    """The unit's last journal lines, for failure messages that explain themselves."""
    return host.run(f"journalctl --no-pager -n {lines} -u {unit}").stdout


def start_request_loop(host, target: str, name: str = "loop") -> str:
    """Start molecule/shared/request_loop.py on `host` against `target` (HOST:PORT or a unix socket
    path), in the background until stop_request_loop(host, name); returns `name`."""
    host.run(f"rm -f /run/molecule-{name}.stop /run/molecule-{name}.json")
    started = host.run(f"nohup python3 -c {shlex.quote(REQUEST_LOOP)} {target} --until /run/molecule-{name}.stop"
                       f" > /run/molecule-{name}.json 2>&1 &")
    assert started.rc == 0, started.stderr
    return name


def stop_request_loop(host, name: str = "loop") -> dict:
    """Stop the loop start_request_loop started; its summary (ok, failed, errors, commits)."""
    host.run(f"touch /run/molecule-{name}.stop")
    finished = host.run(f"for i in $(seq 50); do test -s /run/molecule-{name}.json && break; sleep 0.2; done; cat /run/molecule-{name}.json")
    return json.loads(finished.stdout)


def run_playbook(
    playbook: str, *args: str, extra_vars: dict | None = None, timeout: int = 900, config: Path | None = None
) -> tuple[subprocess.CompletedProcess, dict[str, dict[str, int]]]:
    """Run a playbook of the scenario against its inventory; return the run and each host's recap counts.

    `playbook` is relative to the scenario directory; `args` go to ansible-playbook as they are
    (`--limit HOST`, `--check`); `extra_vars` is passed as JSON; `config` is an ansible.cfg to use
    instead of molecule's. Output is captured uncoloured, so a test can search it (for a secret that
    must not appear, or an expected message).
    """
    command = ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], *args]
    if extra_vars:
        command += ["--extra-vars", json.dumps(extra_vars)]
    command.append(os.path.join(os.environ["MOLECULE_SCENARIO_DIRECTORY"], playbook))
    run = subprocess.run(
        command,
        env={**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0", **({"ANSIBLE_CONFIG": str(config)} if config else {})},
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )
    recap = {
        match["host"]: {key: int(match[key]) for key in ("changed", "unreachable", "failed")}
        for match in map(RECAP_LINE.match, run.stdout.splitlines())
        if match
    }
    return run, recap


def role_part_tags(role: str) -> list[str]:
    """The tags that run one part of `role` (docs/role_docs.py, which lists them in the role's README)."""
    spec = importlib.util.spec_from_file_location("role_docs", ROLES.parent / "docs" / "role_docs.py")
    role_docs = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(role_docs)
    return list(role_docs.role_part_tags(ROLES / role))


def task_outcomes(output: str) -> dict[str, set[str]]:
    """Each task of a run's output with what it printed for its hosts ("ok", "changed", "skipping", ...)."""
    outcomes: dict[str, set[str]] = {}
    task = None
    for line in output.splitlines():
        if line.startswith("TASK ["):
            task = line[len("TASK ["):line.rindex("]")]
        elif task and (match := TASK_OUTCOME.match(line)):
            outcomes.setdefault(task, set()).add(match[1])
    return outcomes


def changed_tasks(output: str) -> set[str]:
    """The tasks of a run's output that reported a change on any host."""
    return {task for task, outcomes in task_outcomes(output).items() if "changed" in outcomes}


def output_tail(run: subprocess.CompletedProcess, characters: int = 4000) -> str:
    """The end of a playbook run's output, for failure messages and message checks."""
    return (run.stdout + run.stderr)[-characters:]


def run_bad_input(
    all_hosts: dict[str, testinfra.host.Host], report_dir, role: str, cases: dict[str, dict], snapshot_command: str,
    facts: tuple[str, ...] = (),
) -> dict:
    """Run molecule/shared/bad_input.yml once for every case on every host; return what a test needs.

    `role` is the role under test (stagecraft.webapp.NAME); `cases` maps each case's name to the
    role's variables; the playbook applies the role with each in its own block/rescue and writes
    what each case did to `report_dir`/<host>.json on the controller. `snapshot_command` prints
    what bad input must not change; it runs on every host before and after the playbook. `facts`
    are the gather_subset the scenario's inventory reads. Returns the run and recap ("run"),
    each host's snapshot ("before", "after") and each host's report ("cases", missing for a host
    that wrote none).
    """
    def snapshot() -> dict[str, str]:
        return {name: host.check_output(snapshot_command) for name, host in all_hosts.items()}

    # Cases become host facts, which cannot be unset: a variable the role has no default for, set
    # by some cases only, would carry over into the cases after them. One such case may run, last.
    defaults = yaml.safe_load((ROLES / role.rsplit(".", 1)[-1] / "defaults" / "main.yml").read_text())
    everywhere = set.intersection(*(set(variables) for variables in cases.values()))
    lingering = [case for case, variables in cases.items() if set(variables) - set(defaults) - everywhere]
    assert len(lingering) <= 1, f"cases {lingering} set variables the role has no default for: at most one case may"
    # Every variable any case sets is set again in every case (the case's value, else the role's
    # default), so that no case inherits another's.
    every_variable = sorted(set().union(*cases.values()))
    ordered = {
        case: {name: cases[case][name] if name in cases[case] else defaults[name]
               for name in every_variable if name in cases[case] or name in defaults}
        for case in sorted(cases, key=lambda case: case in lingering)
    }

    before = snapshot()
    run = run_playbook("../shared/bad_input.yml", extra_vars={
        "molecule_bad_input_role": role, "molecule_bad_input_cases": ordered,
        "molecule_bad_input_report": str(report_dir), "molecule_bad_input_facts": list(facts)})
    after = snapshot()
    cases_done = {name: json.loads(path.read_text()) for name in all_hosts if (path := report_dir / f"{name}.json").exists()}
    return {"run": run, "before": before, "after": after, "cases": cases_done}


def assert_bad_input_case(bad_input: dict, inventory_name: str, case: str, message: str) -> dict:
    """Assert what every bad-input case must show on the host: the run went through, the case
    failed with `message` in its message, the run changed nothing (recap and snapshot).

    Returns what the case did (its "task" and "msg") for the scenario's own assertions.
    """
    run, recap = bad_input["run"]
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
    assert inventory_name in bad_input["cases"], f"no report from {inventory_name}:\n{(run.stdout + run.stderr)[-3000:]}"
    done = bad_input["cases"][inventory_name][case]
    assert done["failed"], done
    # The YAML-folded message may hold line breaks: compare without them.
    assert message in " ".join(done["msg"].split()), done
    # Every case was rescued: the whole run, hence each case, changed nothing on the host.
    assert recap[inventory_name] == {"changed": 0, "unreachable": 0, "failed": 0}
    assert bad_input["after"][inventory_name] == bad_input["before"][inventory_name]
    return done


def ssh_connection(port: int) -> dict:
    """The variables that make Ansible reach a host as a user behind a port forward does:
    127.0.0.1 and `port` on the controller, never the port sshd listens on in the host."""
    return {"ansible_connection": "ssh", "ansible_host": "127.0.0.1", "ansible_port": port,
            "ansible_user": "root", "ansible_ssh_private_key_file": str(SSH_KEY),
            "ansible_ssh_common_args": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"}


def new_ssh_session(port: int) -> subprocess.CompletedProcess:
    """A brand-new SSH connection to 127.0.0.1:`port` (no ControlMaster to lean on) that runs
    `hostname`, as the next Ansible run or a person would."""
    return subprocess.run(
        ["ssh", "-o", "ControlMaster=no", "-o", "ControlPath=none", "-o", "BatchMode=yes", "-o", "ConnectTimeout=15",
         "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-i", str(SSH_KEY),
         "-p", str(port), "root@127.0.0.1", "hostname"],
        capture_output=True, text=True, check=False, timeout=60)


class _Forward(socketserver.BaseRequestHandler):
    """One forwarded connection: bytes both ways until either side closes (or 10 idle minutes)."""

    def handle(self):
        with socket.create_connection(self.server.target, timeout=30) as upstream:
            peers = {self.request: upstream, upstream: self.request}
            while readable := select.select(list(peers), [], [], 600)[0]:
                for side in readable:
                    data = side.recv(65536)
                    if not data:
                        return
                    peers[side].sendall(data)


@contextlib.contextmanager
def forwarded_port(address: str, port: int):
    """A port on the controller's loopback forwarded to `address`:`port`, as NAT, a cloud port
    forward or a bastion does: the host sees a connection to its own port, the client another."""
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Forward)
    server.daemon_threads = True
    server.target = (address, port)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()

"""stagecraft.webapp.ufw on live hosts, as converge.yml sets them up: debian12 `public` (nginx's
ports open to everyone, SSH from anywhere, further rules), debian13 `tunnel` (nothing open but
SSH, and SSH only from the controller's address). Each host is probed from the other one, a
second container on the scenario's network; stand-in listeners (prepare.yml) answer on every
probed port, so a port that does not answer from the peer is closed by the firewall alone."""

from __future__ import annotations

import json
import re
import shlex
import socket
import subprocess
from pathlib import Path

import pytest
from conftest import assert_bad_input_case, new_ssh_session, run_bad_input, run_playbook, ssh_connection

HERE = Path(__file__).resolve().parent
PROBED_PORTS = (22, 80, 443, 5432, 8000, 8081, 9000)
# What the peer sees of each host after converge.yml: 8000 is the gunicorn app's port (bound to
# every address), 5432 is open only to 10.1.0.0/16 and 2001:db8::/32, 8081 is denied by a rule,
# 9000 is the rule added by hand, SSH on debian13 answers only the controller.
REACHABLE = {
    "debian12": {22: "open", 80: "open", 443: "open", 5432: "filtered", 8000: "filtered", 8081: "filtered", 9000: "open"},
    "debian13": {22: "filtered", 80: "filtered", 443: "filtered", 5432: "filtered", 8000: "filtered", 8081: "filtered", 9000: "open"},
}
POLICIES = "Default: deny (incoming), allow (outgoing), deny (routed)"
SNAPSHOT = (
    "ufw status verbose; iptables -S; ip6tables -S;"
    " cat /etc/ufw/user.rules /etc/ufw/user6.rules /etc/default/ufw /etc/ufw/ufw.conf;"
    " find /etc/ufw -printf '%p %m %s %T@\\n' | sort"
)
NUMBERED = re.compile(r"^\[\s*(?P<number>\d+)\] (?P<to>\S+(?: \(v6\))?)\s+(?P<action>ALLOW|DENY|REJECT|LIMIT) IN\s+(?P<source>.+?)\s*(?:# (?P<comment>.*))?$")


def group(name: str) -> str:
    return name.rsplit("-", 1)[1]


def address(host) -> str:
    return host.check_output("hostname -I").split()[0]


def numbered(host) -> list[dict]:
    """`ufw status numbered` as a list of rules: number, to, action, source, comment."""
    rules = [NUMBERED.match(line) for line in host.check_output("ufw status numbered").splitlines()]
    return [{**match.groupdict(), "number": int(match["number"])} for match in rules if match]


def probe(source_host, target: str, ports) -> dict[int, str]:
    """One TCP connection attempt from source_host to each port of target (tests/probe.py)."""
    script = (HERE / "probe.py").read_text()
    run = source_host.run(f"python3 -c {shlex.quote(script)} " + " ".join(f"{target}:{port}" for port in ports))
    assert run.rc == 0, run.stderr
    return {int(key.rsplit(":", 1)[1]): value for key, value in json.loads(run.stdout).items()}


def probe_from_peers(all_hosts, ports=PROBED_PORTS) -> dict[str, dict[int, str]]:
    """Each host as its peer (the other test host) sees it."""
    return {name: probe(next(other for key, other in all_hosts.items() if key != name), address(host), ports)
            for name, host in all_hosts.items()}


def controller_connects(target: str, port: int = 22) -> str:
    """Whether the controller (this machine, the Docker bridge's gateway) can open a connection."""
    try:
        with socket.create_connection((target, port), timeout=3):
            return "open"
    except ConnectionRefusedError:
        return "refused"
    except OSError:
        return "filtered"


def snapshot(all_hosts) -> dict[str, str]:
    """What a refused run must not change, per host: ufw's status and files, the live rules."""
    return {name: host.check_output(SNAPSHOT) for name, host in all_hosts.items()}


def changed_at(output: str, task: str, item: str = "") -> int:
    """Where the run's output reports a change by the task (of the loop item starting so)."""
    start = output.index(f"TASK [stagecraft.webapp.ufw : {task}")
    end = output.find("TASK [", start + 1)
    section = output[start:end if end > 0 else None]
    line = re.search(rf"^changed: \[[^\]]+\]{' => [(]item=' + re.escape(item) if item else ''}", section, re.MULTILINE)
    assert line, section
    return start + line.start()


def ran_for(output: str, inventory_name: str) -> list[str]:
    """The role's tasks that ran for the host in a run (an include that was taken counts), in order."""
    ran = []
    for section in re.split(r"^(?=TASK \[)", output, flags=re.MULTILINE):
        task = re.match(r"TASK \[stagecraft\.webapp\.ufw : ([^\]]+)\]", section)
        if task and re.search(rf"^((ok|changed): \[{re.escape(inventory_name)}\]|included: .* for .*\b{re.escape(inventory_name)}\b)",
                              section, re.MULTILINE):
            ran.append(task.group(1))
    return ran


# --- The converged firewall ------------------------------------------------------------------

def test_firewall_is_active_with_logging_and_the_default_policies(host):
    status = host.check_output("ufw status verbose")
    assert "Status: active" in status
    assert "Logging: on (low)" in status
    assert POLICIES in status
    assert host.file("/etc/default/ufw").contains("^IPV6=yes$")
    assert host.file("/etc/ufw/ufw.conf").contains("^ENABLED=yes$")
    assert host.service("ufw").is_enabled


@pytest.mark.parametrize("command", ["iptables -S", "ip6tables -S"])
def test_policies_are_live_in_iptables(host, command):
    rules = host.check_output(command).splitlines()
    assert {"-P INPUT DROP", "-P FORWARD DROP", "-P OUTPUT ACCEPT"} <= set(rules)
    # ufw's chains decide before the policy: INPUT jumps to ufw-before-input, which jumps to the user rules.
    chain = "ufw6" if command.startswith("ip6") else "ufw"
    assert f"-A INPUT -j {chain}-before-input" in rules
    assert f"-A {chain}-before-input -j {chain}-user-input" in rules


def test_ssh_rule_precedes_every_other_rule_and_the_deny(host, inventory_name):
    rules = numbered(host)
    for family in ("v4", "v6"):
        mine = [rule for rule in rules if rule["to"].endswith("(v6)") == (family == "v6")]
        if group(inventory_name) == "debian13" and family == "v6":
            assert mine and all(rule["to"] == "9000/tcp (v6)" for rule in mine), rules  # SSH only from an IPv4 address
            continue
        assert mine[0]["to"].split()[0] == "22/tcp" and mine[0]["action"] == "LIMIT", rules
        assert mine[0]["comment"] == "stagecraft: ssh"
        assert all(rule["number"] > mine[0]["number"] for rule in mine if rule["action"] in ("DENY", "REJECT"))
    # Live: in ufw's user chain, SSH's rate-limit rules come first and before any DROP; the
    # policy (DROP) applies only to what no rule accepted.
    live = [line for line in host.check_output("iptables -S ufw-user-input").splitlines() if line.startswith("-A")]
    ssh = [index for index, line in enumerate(live) if "--dport 22 " in line]
    assert ssh[:3] == [0, 1, 2], live
    assert "-j ufw-user-limit-accept" in live[2]
    drops = [index for index, line in enumerate(live) if line.endswith("-j DROP")]
    assert all(index > max(ssh) for index in drops), live
    if group(inventory_name) == "debian12":
        assert any("--dport 8081 -j DROP" in line for line in live)


def test_debian13_allows_ssh_only_from_the_controller(all_hosts):
    host = next(host for name, host in all_hosts.items() if group(name) == "debian13")
    gateway = host.check_output("ip -4 route show default").split()[2]
    ssh = [rule for rule in numbered(host) if rule["to"] == "22/tcp"]
    assert [(rule["action"], rule["source"]) for rule in ssh] == [("LIMIT", gateway)]


def test_ipv6_rules_are_live(host, inventory_name):
    live = host.check_output("ip6tables -S ufw6-user-input")
    assert "-A ufw6-user-input -p tcp -m tcp --dport 9000 -j ACCEPT" in live  # the hand-made rule
    if group(inventory_name) == "debian13":
        assert "--dport 22 " not in live  # SSH only from the controller's IPv4 address
        return
    assert "-A ufw6-user-input -p tcp -m tcp --dport 22 -m conntrack --ctstate NEW -m recent --set" in live
    assert "-A ufw6-user-input -p tcp -m tcp --dport 443 -j ACCEPT" in live
    assert "-A ufw6-user-input -s 2001:db8::/32 -p tcp -m tcp --dport 5432 -j ACCEPT" in live
    assert "10.1.0.0" not in live


def test_rules_of_the_role_are_marked_and_the_hand_made_rule_survives(host):
    rules = numbered(host)
    by_hand = [rule for rule in rules if rule["comment"] == "added by hand"]
    assert [rule["to"] for rule in by_hand] == ["9000/tcp", "9000/tcp (v6)"]
    assert all(rule["comment"].startswith("stagecraft: ") for rule in rules if rule not in by_hand), rules


# --- Reachability from the peer --------------------------------------------------------------

@pytest.fixture(scope="session")
def reachable(all_hosts) -> dict[str, dict[int, str]]:
    return probe_from_peers(all_hosts)


@pytest.mark.parametrize("port", PROBED_PORTS)
def test_only_the_profiles_ports_answer_from_the_peer(reachable, inventory_name, port):
    assert reachable[inventory_name][port] == REACHABLE[group(inventory_name)][port], reachable[inventory_name]


def test_every_probed_port_answers_on_the_host_itself(host):
    # The loopback interface is always allowed: the listeners are up, so "filtered" from the
    # peer is the firewall's doing.
    assert set(probe(host, "127.0.0.1", PROBED_PORTS).values()) == {"open"}


def test_app_port_listens_on_every_address_yet_is_closed(host, reachable, inventory_name):
    record = json.loads(host.file("/etc/stagecraft/shop-prod/gunicorn.json").content_string)
    assert (record["listen"], record["address"], record["port"]) == ("tcp", "0.0.0.0", 8000)
    assert host.socket("tcp://0.0.0.0:8000").is_listening
    assert reachable[inventory_name][8000] == "filtered"


def test_ssh_answers_the_controller(host):
    assert controller_connects(address(host)) == "open"


# --- Idempotence and check mode --------------------------------------------------------------

def test_check_mode_reports_no_change(check_mode_recap, inventory_name):
    assert check_mode_recap[inventory_name] == {"changed": 0, "unreachable": 0, "failed": 0}


# --- Bad input -------------------------------------------------------------------------------

PREFLIGHT = "Check the profile, sources, ports and rules"
SPEC = "Validating arguments against arg spec"
BAD_INPUT = {
    "internal without sources": ({"ufw_profile": "internal"}, PREFLIGHT, "ufw_web_sources is empty"),
    "port out of range": ({"ufw_rules": [{"port": "70000"}]}, PREFLIGHT, 'ufw_rules[0].port "70000" is not a port (1-65535)'),
    "port that is no number": ({"ufw_rules": [{"port": "http"}]}, PREFLIGHT, 'ufw_rules[0].port "http" is not a port'),
    "range upside down": ({"ufw_rules": [{"port": "9100:9000"}]}, PREFLIGHT, "a range goes from low to high"),
    "range for any protocol": ({"ufw_rules": [{"port": "9000:9100", "proto": "any"}]}, PREFLIGHT, "a port range needs tcp or udp"),
    "invalid network": ({"ufw_ssh_sources": ["10.0.0.0/33"]}, PREFLIGHT, 'ufw_ssh_sources: "10.0.0.0/33" is not an address or network'),
    "network with host bits": (
        {"ufw_profile": "internal", "ufw_web_sources": ["10.0.0.1/8"]}, PREFLIGHT, "ufw_web_sources: \"10.0.0.1/8\" is not an address or network"
        " (10.0.0.1/8 has host bits set)"),
    "host name as source": ({"ufw_rules": [{"port": 5432, "from": "db.example.com"}]}, PREFLIGHT, 'ufw_rules[0].from: "db.example.com" is not an address'),
    "app port to the world": (
        {"ufw_rules": [{"port": 8000}]}, PREFLIGHT,
        "ufw_rules[0] would open port 8000, where gunicorn app shop-prod listens, to the world (from any)"),
    "app port inside a range to the world": (
        {"ufw_rules": [{"port": "7000:9000", "from": "0.0.0.0/0", "rule": "limit"}]}, PREFLIGHT,
        "ufw_rules[0] would open port 8000, where gunicorn app shop-prod listens, to the world (from 0.0.0.0/0)"),
    "app port among nginx's ports": (
        {"ufw_profile": "public", "ufw_web_ports": [80, 8000]}, PREFLIGHT,
        "ufw_profile public would open port 8000 (nginx's, ufw_web_ports), where gunicorn app shop-prod listens"),
    "rule on the SSH port": ({"ufw_rules": [{"port": 22, "rule": "deny"}]}, PREFLIGHT, "ufw_rules[0].port 22 takes in the SSH port 22"),
    "no SSH source": ({"ufw_ssh_sources": []}, PREFLIGHT, "ufw_ssh_sources is empty"),
    "web sources with public": (
        {"ufw_profile": "public", "ufw_web_sources": ["10.0.0.0/8"]}, PREFLIGHT,
        "ufw_web_sources is only for ufw_profile internal; with public it would restrict nothing"),
    "internal open to everyone": (
        {"ufw_profile": "internal", "ufw_web_sources": ["any"]}, PREFLIGHT, "opens nginx's ports to everyone; that is ufw_profile public"),
    "web ports with tunnel": ({"ufw_web_ports": [443]}, PREFLIGHT, "ufw_web_ports: ufw_profile tunnel opens no web port"),
    "repeated rule": (
        {"ufw_profile": "public", "ufw_rules": [{"port": 443, "comment": "https"}]}, PREFLIGHT,
        "ufw_rules[0] repeats 443/tcp from any, which ufw_profile public already makes"),
    "IPv6 source without IPv6": (
        {"ufw_ipv6": False, "ufw_rules": [{"port": 5432, "from": "2001:db8::/32"}]}, PREFLIGHT,
        "ufw_rules[0].from: 2001:db8::/32 is IPv6, but ufw_ipv6 is false"),
    "quote in a comment": (
        {"ufw_rules": [{"port": 5432, "from": "10.1.0.0/16", "comment": "bob's"}]}, PREFLIGHT,
        "ufw_rules[0].comment may hold neither a single quote nor a line break"),
    "unknown profile": ({"ufw_profile": "open"}, SPEC, "value of ufw_profile must be one of: public, tunnel, internal, got: open"),
    "unknown protocol": ({"ufw_rules": [{"port": 53, "proto": "icmp"}]}, SPEC, "value of proto must be one of: tcp, udp, any, got: icmp"),
}


@pytest.fixture(scope="session")
def bad_input(all_hosts, tmp_path_factory) -> dict:
    """conftest.run_bad_input with BAD_INPUT's cases on top of profile tunnel."""
    cases = {case: {"ufw_profile": "tunnel", **BAD_INPUT[case][0]} for case in BAD_INPUT}
    return run_bad_input(all_hosts, tmp_path_factory.mktemp("bad_input"), "stagecraft.webapp.ufw", cases, SNAPSHOT,
                         facts=("network",))


@pytest.mark.parametrize("case", BAD_INPUT)
def test_bad_input_fails_before_any_change_naming_the_variable(bad_input, inventory_name, case):
    done = assert_bad_input_case(bad_input, inventory_name, case, BAD_INPUT[case][2])
    assert done["task"].startswith(BAD_INPUT[case][1]), done


# --- Changing profiles: the role's stale rules go, others stay --------------------------------

@pytest.fixture(scope="session")
def switched(all_hosts) -> dict:
    """debian12 from public to tunnel with SSH on 2222 (ufw_ssh_port; no SSH connection to keep) and no
    further rules; debian13 from tunnel to internal, nginx's ports open to debian12 only. In check
    mode first, then applied twice; then back to converge.yml's settings, with ufw_reset on
    debian12, also twice."""
    names = {group(name): name for name in all_hosts}
    hosts = {group(name): host for name, host in all_hosts.items()}
    before = {name: numbered(host) for name, host in all_hosts.items()}
    changes = {
        "debian12": {"ufw_profile": "tunnel", "ufw_rules": [], "ufw_ssh_port": 2222},
        "debian13": {"ufw_profile": "internal", "ufw_web_sources": [address(hosts["debian12"])]},
    }
    # Check mode first, with ufw_reset on debian12 too: every kind of change, none made.
    unchanged = snapshot(all_hosts)
    check = run_playbook("apply.yml", "--check", extra_vars={
        "molecule_ufw_vars": {**changes, "debian12": {**changes["debian12"], "ufw_reset": True}}})
    check_left = snapshot(all_hosts) == unchanged
    switch = run_playbook("apply.yml", extra_vars={"molecule_ufw_vars": changes})
    rules = {name: numbered(host) for name, host in all_hosts.items()}
    reachable = probe_from_peers(all_hosts, (80, 443, 5432, 9000))
    again = run_playbook("apply.yml", extra_vars={"molecule_ufw_vars": changes})
    back = run_playbook("apply.yml", extra_vars={"molecule_ufw_vars": {"debian12": {"ufw_reset": True}}})
    reset_rules = {name: numbered(host) for name, host in all_hosts.items()}
    back_again = run_playbook("apply.yml", extra_vars={"molecule_ufw_vars": {"debian12": {"ufw_reset": True}}})
    return {"names": names, "before": before, "check": check, "check_left": check_left, "switch": switch, "rules": rules,
            "reachable": reachable, "again": again, "back": back, "reset_rules": reset_rules, "back_again": back_again}


def test_check_mode_of_a_switch_reports_changes_and_makes_none(switched, inventory_name):
    run, recap = switched["check"]
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
    assert recap[inventory_name]["changed"] > 0
    assert switched["check_left"]
    if group(inventory_name) == "debian12":
        for task in ("Delete the rules the role did not make", "Delete the rules the role made that are no longer wanted"):
            changed_at(run.stdout, task)


def test_switch_applies_and_second_run_changes_nothing(switched, inventory_name):
    for run, recap in (switched["switch"], switched["back"]):
        assert run.returncode == 0, run.stdout[-3000:]
        assert recap[inventory_name]["changed"] > 0
    for run, recap in (switched["again"], switched["back_again"]):
        assert recap[inventory_name] == {"changed": 0, "unreachable": 0, "failed": 0}, run.stdout[-3000:]
        # Finding the firewall as wanted, the role reads it once and calls nothing else for it (roles/ufw/README.md).
        ran = ran_for(run.stdout, inventory_name)
        assert ran[ran.index("Read ufw's package, whether the firewall is active, its settings and its rules") + 1:] == [], ran


def test_switch_to_tunnel_closes_nginxs_ports_and_moves_ssh(switched):
    name = switched["names"]["debian12"]
    rules = switched["rules"][name]
    assert [(rule["to"], rule["action"], rule["comment"]) for rule in rules] == [
        ("2222/tcp", "LIMIT", "stagecraft: ssh"),
        ("9000/tcp", "ALLOW", "added by hand"),
        ("2222/tcp (v6)", "LIMIT", "stagecraft: ssh"),
        ("9000/tcp (v6)", "ALLOW", "added by hand"),
    ]
    assert switched["reachable"][name] == {80: "filtered", 443: "filtered", 5432: "filtered", 9000: "open"}


def test_switch_to_internal_opens_nginxs_ports_to_the_listed_sources_only(switched, all_hosts):
    name = switched["names"]["debian13"]
    peer = address(all_hosts[switched["names"]["debian12"]])
    web = [(rule["to"], rule["source"]) for rule in switched["rules"][name] if rule["comment"] == "stagecraft: web (internal)"]
    assert web == [("80/tcp", peer), ("443/tcp", peer)]
    assert switched["reachable"][name] == {80: "open", 443: "open", 5432: "filtered", 9000: "open"}


def test_back_to_the_converged_settings_restores_the_same_rules(switched):
    name = switched["names"]["debian13"]
    assert switched["reset_rules"][name] == switched["before"][name]


def test_reset_deletes_only_the_rules_the_role_did_not_make(switched):
    name = switched["names"]["debian12"]
    without_hand_made = [rule for rule in switched["before"][name] if rule["comment"] != "added by hand"]
    after = switched["reset_rules"][name]
    assert [(rule["to"], rule["action"], rule["source"], rule["comment"]) for rule in after] == [
        (rule["to"], rule["action"], rule["source"], rule["comment"]) for rule in without_hand_made]
    output = switched["back"][0].stdout
    assert "Delete the rules the role did not make" in output and "allow 9000/tcp from 0.0.0.0/0" in output


# --- Over real SSH through a forwarded port: a fresh firewall enabled under Ansible's own session

def published(name: str, port: int) -> int:
    """The port on the controller's loopback that Docker forwards to `port` of container `name`
    (molecule.yml publishes debian13's 22 and 2200)."""
    run = subprocess.run(["docker", "port", name, f"{port}/tcp"], capture_output=True, text=True, check=True)
    return int(run.stdout.split()[0].rsplit(":", 1)[1])


def reset_firewall(host) -> None:
    """ufw as a host has it before the role: reset, inactive, incoming allowed, the hand-made rule."""
    host.check_output("ufw --force reset && rm -f /etc/ufw/*.rules.20* && ufw default allow incoming"
                      " && ufw allow 9000/tcp comment 'added by hand'")


@pytest.fixture(scope="session")
def over_ssh(all_hosts) -> dict:
    """debian13 (SSH only from the controller) with its firewall reset, inactive and incoming
    allowed, then converged by the controller over SSH through the published port (sshd listens
    on 22, Ansible connects to another port on 127.0.0.1): the role must allow SSH before the
    default policy turns to deny, enable the firewall without cutting the session and keep port
    22 open, so that a new connection gets in. Converged again over SSH, then twice with settings
    that would shut this very connection out, which the preflight must refuse before anything
    changes: ufw_ssh_sources that leave out the controller's address, and ufw_ssh_port 2222."""
    name = next(name for name in all_hosts if group(name) == "debian13")
    host = all_hosts[name]
    reset_firewall(host)
    over = ssh_connection(published(name, 22))
    first = run_playbook("apply.yml", "--limit", name, extra_vars=over)
    second = run_playbook("apply.yml", "--limit", name, extra_vars=over)
    session = new_ssh_session(published(name, 22))
    before = host.check_output(SNAPSHOT)
    refused = {
        "sources": run_playbook("apply.yml", "--limit", name, extra_vars={
            **over, "molecule_ufw_vars": {"debian13": {"ufw_ssh_sources": ["192.0.2.0/24"]}}}),
        "port": run_playbook("apply.yml", "--limit", name, extra_vars={
            **over, "molecule_ufw_vars": {"debian13": {"ufw_ssh_port": 2222}}}),
    }
    return {"name": name, "host": host, "first": first, "second": second, "session": session, "refused": refused,
            "unchanged": host.check_output(SNAPSHOT) == before}


def test_fresh_firewall_over_ssh_allows_ssh_before_the_deny(over_ssh):
    run, recap = over_ssh["first"]
    assert run.returncode == 0 and recap[over_ssh["name"]]["failed"] == 0, (run.stdout + run.stderr)[-3000:]
    output = run.stdout
    ssh = changed_at(output, "Allow SSH, rate limited", "limit 22/tcp from ")
    deny = changed_at(output, "Set the default policies", "incoming: deny")
    enable = changed_at(output, "Enable the firewall")
    assert ssh < deny < enable
    # apply.yml's last task runs over the same SSH session (ControlPersist) after the enable.
    assert re.search(r"TASK \[Reach the host again over the same connection\] \**\s+ok: ", output), output[-2000:]
    assert POLICIES in over_ssh["host"].check_output("ufw status verbose")
    rules = numbered(over_ssh["host"])
    assert (rules[0]["to"], rules[0]["action"], rules[1]["comment"]) == ("22/tcp", "LIMIT", "added by hand")


def test_second_run_over_ssh_changes_nothing_and_new_ssh_connections_pass(over_ssh):
    run, recap = over_ssh["second"]
    assert recap[over_ssh["name"]] == {"changed": 0, "unreachable": 0, "failed": 0}, run.stdout[-3000:]
    session = over_ssh["session"]
    assert session.returncode == 0, session.stderr
    assert session.stdout.strip() == over_ssh["host"].check_output("hostname")
    assert controller_connects(address(over_ssh["host"])) == "open"


@pytest.mark.parametrize("case, message", [
    ("sources", "ufw_ssh_sources (192.0.2.0/24) does not include {client}, the address Ansible connects from:"
                " its next connection would be refused"),
    ("port", "ufw_ssh_port 2222 leaves out port 22, where Ansible's SSH connection from {client} arrives:"
             " its next connection would be refused"),
])
def test_settings_that_shut_out_ansibles_connection_are_refused(over_ssh, case, message):
    run, recap = over_ssh["refused"][case]
    gateway = over_ssh["host"].check_output("ip -4 route show default").split()[2]
    assert run.returncode != 0 and recap[over_ssh["name"]]["failed"] == 1
    output = " ".join((run.stdout + run.stderr).split())
    assert message.format(client=gateway) in output, output[-3000:]
    assert recap[over_ssh["name"]]["changed"] == 0
    assert over_ssh["unchanged"]


@pytest.fixture(scope="session")
def sshd_elsewhere(all_hosts, over_ssh) -> dict:
    """debian13's sshd moved to port 2200 (a drop-in) before its firewall is enabled, converged
    over SSH through the port published for 2200; then sshd back on 22 and the firewall converged
    without SSH (docker), as converge.yml left it."""
    name, host = over_ssh["name"], over_ssh["host"]
    drop_in = "/etc/ssh/sshd_config.d/molecule-port.conf"
    reset_firewall(host)
    host.check_output(f"echo 'Port 2200' > {drop_in} && systemctl restart ssh")
    try:
        run = run_playbook("apply.yml", "--limit", name, extra_vars=ssh_connection(published(name, 2200)))
        session = new_ssh_session(published(name, 2200))
        rules = numbered(host)
    finally:
        host.check_output(f"rm -f {drop_in} && systemctl restart ssh")
        restored = run_playbook("apply.yml", "--limit", name)
    return {"name": name, "host": host, "run": run, "session": session, "rules": rules, "restored": restored}


def test_sshd_on_another_port_stays_reachable_through_a_forwarded_port(sshd_elsewhere):
    run, recap = sshd_elsewhere["run"]
    assert run.returncode == 0 and recap[sshd_elsewhere["name"]]["failed"] == 0, (run.stdout + run.stderr)[-3000:]
    session = sshd_elsewhere["session"]
    assert session.returncode == 0, session.stderr
    assert session.stdout.strip() == sshd_elsewhere["host"].check_output("hostname")
    ssh = [(rule["to"], rule["action"]) for rule in sshd_elsewhere["rules"] if rule["comment"] == "stagecraft: ssh"]
    assert ssh == [("2200/tcp", "LIMIT")], sshd_elsewhere["rules"]


def test_firewall_follows_sshd_back_to_port_22_without_ssh(sshd_elsewhere):
    run, recap = sshd_elsewhere["restored"]
    assert recap[sshd_elsewhere["name"]]["failed"] == 0, run.stdout[-3000:]
    ssh = [rule["to"] for rule in numbered(sshd_elsewhere["host"]) if rule["comment"] == "stagecraft: ssh"]
    assert ssh == ["22/tcp"]

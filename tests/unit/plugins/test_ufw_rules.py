"""The ufw role's rules and the settings it refuses (plugins/module_utils/_ufw_rules.py) through its
filters: every message, none for settings the role takes, the rules it makes as ufw writes them,
and the rules read back from ufw's files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

# The collection by FQCN through the checkout's self-link (see module_utils/conftest.py).
COLLECTIONS = Path(__file__).resolve().parents[3] / "collections"
if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))

from ansible_collections.stagecraft.webapp.plugins.filter.ufw_host_state import FilterModule as StateFilter  # noqa: E402
from ansible_collections.stagecraft.webapp.plugins.filter.ufw_problems import FilterModule as ProblemsFilter  # noqa: E402
from ansible_collections.stagecraft.webapp.plugins.filter.ufw_rules import FilterModule as RulesFilter  # noqa: E402

problems = ProblemsFilter().filters()["ufw_problems"]
firewall_rules = RulesFilter().filters()["ufw_rules"]
host_state = StateFilter().filters()["ufw_host_state"]
SSHD_22 = {"rc": 0, "stdout": "port 22\n", "stderr": ""}
SHOP = {"instance": "shop-prod", "listen": "tcp", "port": 8000, "socket": None}
SHOP_SITE = {"instance": "shop-prod", "server_names": ["shop.test"], "ports": [80, 443]}
SSH = "stagecraft: ssh".encode().hex()


def settings(**changes):
    """The role's defaults (profile internal from 10.0.0.0/8) on a host where shop-prod's gunicorn
    listens on 8000 and sshd on 22, as vars/main.yml's _ufw_settings hands them over."""
    values = {
        "ufw_profile": "internal", "ufw_ipv6": True, "ufw_ssh_port": None, "ufw_ssh_sources": ["any"], "ufw_web_sources": ["10.0.0.0/8"],
        "ufw_web_ports": [], "ufw_rules": [], "ssh_connection": "", "sshd": SSHD_22, "records": [SHOP], "noted_records": [],
    }
    values.update(changes)
    return values


@pytest.mark.parametrize("changes", [
    {},
    {"ufw_profile": "tunnel", "ufw_web_sources": []},
    {"ufw_profile": "public", "ufw_web_sources": [], "ufw_web_ports": ["8443", 80]},
    {"ufw_web_sources": ["10.0.0.0/8", "2001:db8::/32", "192.168.1.7"], "ufw_ssh_sources": ["10.0.0.0/8", "fd00::1"]},
    {"ufw_rules": [{"port": 5432, "from": "10.1.0.0/16", "comment": "postgres"}, {"port": "6000:6100", "proto": "udp"},
                   {"port": 8000, "from": "10.2.0.0/16"}, {"port": 8000, "rule": "deny"}, {"port": 53, "proto": "udp", "from": "any"}]},
    # The same port and source for another protocol, or from another source, is another rule.
    {"ufw_profile": "public", "ufw_web_sources": [], "ufw_rules": [{"port": 443, "proto": "udp"}, {"port": 443, "from": "10.0.0.0/8"}]},
    {"ufw_ipv6": False, "ufw_web_sources": ["10.0.0.0/8"], "ufw_rules": [{"port": 5432, "from": "192.0.2.1"}]},
])
def test_settings_the_role_takes_have_no_problem(changes):
    assert problems(settings(**changes)) == []


@pytest.mark.parametrize("changes, expected", [
    ({"ufw_ssh_sources": ["10.0.0.0/33"]}, [
        "ufw_ssh_sources: \"10.0.0.0/33\" is not an address or network ('10.0.0.0/33' does not appear to be an IPv4 or IPv6 network)"]),
    ({"ufw_web_sources": ["10.0.0.1/8"]}, ['ufw_web_sources: "10.0.0.1/8" is not an address or network (10.0.0.1/8 has host bits set)']),
    ({"ufw_ipv6": False, "ufw_ssh_sources": ["2001:db8::/32"], "ufw_web_sources": ["10.0.0.0/8", "fd00::1"]}, [
        "ufw_ssh_sources: 2001:db8::/32 is IPv6, but ufw_ipv6 is false", "ufw_web_sources: fd00::1 is IPv6, but ufw_ipv6 is false"]),
    # One network written two ways is named twice.
    ({"ufw_web_sources": ["10.0.0.0/8", "10.0.0.0/8"], "ufw_ssh_sources": ["192.0.2.1", "192.0.2.1/32"]}, [
        "ufw_ssh_sources names a network more than once", "ufw_web_sources names a network more than once"]),
    ({"ufw_web_sources": []}, ["ufw_web_sources is empty: ufw_profile internal opens nginx's ports only to the networks it lists"]),
    ({"ufw_web_sources": ["10.0.0.0/8", "::/0"]}, ["ufw_web_sources: \"any\" (or a /0 network) opens nginx's ports to everyone; that is ufw_profile public"]),
    ({"ufw_profile": "public"}, ["ufw_web_sources is only for ufw_profile internal; with public it would restrict nothing"]),
    ({"ufw_profile": "tunnel", "ufw_web_sources": [], "ufw_web_ports": [443]}, [
        "ufw_web_ports: ufw_profile tunnel opens no web port (traffic arrives through cloudflared)"]),
    ({"ufw_web_ports": [0, "70000"]}, ["ufw_web_ports: 0 is not within 1-65535", "ufw_web_ports: 70000 is not within 1-65535"]),
    ({"ufw_web_ports": [80, "8000"]}, [
        "ufw_profile internal would open port 8000 (nginx's, ufw_web_ports), where gunicorn app shop-prod listens; app ports are never opened"]),
    ({"records": [{**SHOP, "port": 443}]}, [
        "ufw_profile internal would open port 443 (nginx's, from its records or the default), where gunicorn app shop-prod listens;"
        " app ports are never opened"]),
    ({"ufw_web_ports": [22, 443]}, ["ufw_web_ports: 22 is the SSH port"]),
    ({"ufw_rules": [{"port": "70000"}, {"port": 99999}, {"port": "http"}, {"port": "22\n"}, {"port": "0:80"}]}, [
        'ufw_rules[{0}].port {1} is not a port (1-65535) or a range "LOW:HIGH"'.format(index, port)
        for index, port in enumerate(['"70000"', "99999", '"http"', '"22\\n"', '"0:80"'])]),
    ({"ufw_rules": [{"port": "9100:9000"}, {"port": "9000:9000", "proto": "udp"}]}, [
        'ufw_rules[0].port "9100:9000": a range goes from low to high', 'ufw_rules[1].port "9000:9000": a range goes from low to high']),
    ({"ufw_rules": [{"port": "9000:9100", "proto": "any"}]}, ['ufw_rules[0].proto: a port range needs tcp or udp (ufw refuses "any")']),
    ({"ufw_rules": [{"port": 22, "rule": "deny", "from": "10.0.0.0/8"}, {"port": "20:30", "from": "10.0.0.0/8"}]}, [
        "ufw_rules[0].port 22 takes in the SSH port 22, which ufw_ssh_port and ufw_ssh_sources manage",
        "ufw_rules[1].port 20:30 takes in the SSH port 22, which ufw_ssh_port and ufw_ssh_sources manage"]),
    ({"ufw_rules": [{"port": 8000}, {"port": "7000:9000", "from": "0.0.0.0/0", "rule": "limit"}]}, [
        "ufw_rules[0] would open port 8000, where gunicorn app shop-prod listens, to the world (from any); app ports are reached through nginx"
        " or the tunnel, or from a network named in from",
        "ufw_rules[1] would open port 8000, where gunicorn app shop-prod listens, to the world (from 0.0.0.0/0); app ports are reached through"
        " nginx or the tunnel, or from a network named in from"]),
    ({"ufw_rules": [{"port": 5432, "from": "db.example.com"}]}, [
        "ufw_rules[0].from: \"db.example.com\" is not an address or network ('db.example.com' does not appear to be an IPv4 or IPv6 network)"]),
    ({"ufw_ipv6": "no", "ufw_rules": [{"port": 5432, "from": "2001:db8::/32"}]}, ["ufw_rules[0].from: 2001:db8::/32 is IPv6, but ufw_ipv6 is false"]),
    ({"ufw_rules": [{"port": 5432, "comment": "bob's"}, {"port": 5433, "comment": "two\nlines"}, {"port": 5434, "comment": "end\n"}]}, [
        "ufw_rules[{0}].comment may hold neither a single quote nor a line break".format(index) for index in range(3)]),
    ({"ufw_profile": "public", "ufw_web_sources": [], "ufw_rules": [{"port": 443, "comment": "https"}]}, [
        "ufw_rules[0] repeats 443/tcp from any, which ufw_profile public already makes (ufw keeps one rule per port, protocol and source)"]),
    ({"ufw_rules": [{"port": 5432, "from": "10.1.0.0/16"}, {"port": "5432", "from": "10.1.0.0/16", "rule": "deny", "comment": "no"}]}, [
        "ufw_rules[1] repeats 5432/tcp from 10.1.0.0/16, which ufw_rules[0] already makes (ufw keeps one rule per port, protocol and source)"]),
])
def test_each_problem_names_the_variable(changes, expected):
    assert problems(settings(**changes)) == expected


def test_the_ssh_rules_come_first_and_a_problem_is_reported_once():
    found = problems(settings(ufw_ssh_sources=[], ufw_web_ports=[22], ufw_rules=[{"port": 22}]))
    assert found == [
        "ufw_ssh_sources is empty: nobody could open an SSH connection; use [any] or list networks",
        "ufw_web_ports: 22 is the SSH port",
        "ufw_rules[0].port 22 takes in the SSH port 22, which ufw_ssh_port and ufw_ssh_sources manage",
    ]
    assert problems(settings(ufw_ssh_sources=["10.0.0.0/8", "10.0.0.0/8"], ssh_connection="192.0.2.9 50000 10.0.0.2 22")) == [
        "ufw_ssh_sources (10.0.0.0/8, 10.0.0.0/8) does not include 192.0.2.9, the address Ansible connects from: its next connection would be refused",
        "ufw_ssh_sources names a network more than once"]


def test_records_noted_in_this_run_stand_in_for_their_files():
    moved = {**SHOP, "port": 9000}
    assert problems(settings(ufw_rules=[{"port": 8000}], noted_records=[moved])) == []
    assert problems(settings(ufw_rules=[{"port": 9000}], noted_records=[moved, SHOP_SITE]))[0].startswith("ufw_rules[0] would open port 9000")
    # An app on a socket, or another app's record, takes no port.
    assert problems(settings(ufw_rules=[{"port": 8000}], records=[{**SHOP, "listen": "unix", "port": None}])) == []


def rule(origin, action, port, source, family, comment, tuple_source, proto="tcp", tuple_family=None):
    """One expected row of summary(): the tuple's destination is its family's whole world."""
    world = "::/0" if (tuple_family or family) == "ipv6" else "0.0.0.0/0"
    written = "{0} {1} {2} {3} any {4} in".format(action, proto, port, world, tuple_source)
    return (origin, action, port, source, family, written.split(" ", 1)[1], "{0} comment={1}".format(written, ("stagecraft: " + comment).encode().hex()))


def summary(rules):
    """Each rule as (origin, rule, port, from, family, tuple, written) per tuple ufw writes."""
    return [(each["origin"], each["rule"], each["port"], each["from"], each["family"], tup, written)
            for each in rules for tup, written in zip(each["tuples"], each["written"])]


def test_the_rules_in_order_as_ufw_writes_them():
    made = firewall_rules(settings(ufw_web_sources=["10.0.0.0/8", "2001:DB8:0:0::/32", "192.0.2.1/32"],
                                   ufw_rules=[{"port": 5432, "from": "10.1.0.0/16", "comment": "postgres"}, {"port": 53, "proto": "udp"}]))
    assert summary(made) == [
        rule("ufw_ssh_sources", "limit", "22", "0.0.0.0/0", "ipv4", "ssh", "0.0.0.0/0"),
        rule("ufw_ssh_sources", "limit", "22", "::/0", "ipv6", "ssh", "::/0"),
        rule("ufw_profile internal", "allow", "80", "10.0.0.0/8", "ipv4", "web (internal)", "10.0.0.0/8"),
        rule("ufw_profile internal", "allow", "80", "2001:db8::/32", "ipv6", "web (internal)", "2001:db8::/32"),
        rule("ufw_profile internal", "allow", "80", "192.0.2.1", "ipv4", "web (internal)", "192.0.2.1"),
        rule("ufw_profile internal", "allow", "443", "10.0.0.0/8", "ipv4", "web (internal)", "10.0.0.0/8"),
        rule("ufw_profile internal", "allow", "443", "2001:db8::/32", "ipv6", "web (internal)", "2001:db8::/32"),
        rule("ufw_profile internal", "allow", "443", "192.0.2.1", "ipv4", "web (internal)", "192.0.2.1"),
        rule("ufw_rules[0]", "allow", "5432", "10.1.0.0/16", "ipv4", "postgres", "10.1.0.0/16"),
        rule("ufw_rules[1]", "allow", "53", "any", "any", "ufw_rules", "0.0.0.0/0", proto="udp"),
        rule("ufw_rules[1]", "allow", "53", "any", "any", "ufw_rules", "::/0", proto="udp", tuple_family="ipv6"),
    ]


def test_web_ports_come_from_the_variable_nginx_s_records_or_the_default():
    def ports(**changes):
        return sorted({int(each["port"]) for each in firewall_rules(settings(**changes)) if each["origin"].startswith("ufw_profile")})
    assert ports() == [80, 443]
    assert ports(records=[SHOP, {**SHOP_SITE, "ports": [8080, "8443"]}], noted_records=[{**SHOP_SITE, "instance": "api-prod", "ports": [80]}]) == [
        80, 8080, 8443]
    assert ports(ufw_web_ports=["8443"], records=[SHOP_SITE]) == [8443]
    assert ports(ufw_profile="tunnel", ufw_web_ports=[443]) == []


def test_without_ipv6_only_ipv4_rules_are_made():
    made = firewall_rules(settings(ufw_ipv6=False, ufw_profile="public", ufw_web_sources=[]))
    assert [(each["port"], each["from"], each["tuples"]) for each in made] == [
        ("22", "0.0.0.0/0", ["tcp 22 0.0.0.0/0 any 0.0.0.0/0 in"]),
        ("80", "any", ["tcp 80 0.0.0.0/0 any 0.0.0.0/0 in"]),
        ("443", "any", ["tcp 443 0.0.0.0/0 any 0.0.0.0/0 in"]),
    ]


def test_the_ssh_rules_follow_the_host_s_ports():
    made = firewall_rules(settings(ufw_ssh_sources=["10.0.0.0/8"], ssh_connection="10.0.0.9 50000 10.0.0.2 2200", ufw_profile="tunnel",
                                   ufw_web_sources=[]))
    assert [(each["port"], each["from"]) for each in made] == [("22", "10.0.0.0/8"), ("2200", "10.0.0.0/8")]


def read(package="install ok installed", status=("Status: active",), settings=(), rules=()):
    """A registered result of the role's read (vars/main.yml's _ufw_read_script) that found these."""
    sections = {"package": [package] if package else [], "status": list(status), "settings": list(settings), "rules": list(rules)}
    return {"rc": 0, "stdout": "\n".join("@@{0}\n{1}".format(name, "".join(line + "\n" for line in lines)) for name, lines in sections.items())}


def current_rules(lines):
    return host_state([read(rules=lines)], {})["rules"]


def test_the_rules_in_ufw_s_files_are_read_back():
    lines = [
        "### tuple ### limit tcp 22 0.0.0.0/0 any 0.0.0.0/0 in comment={0}".format(SSH),
        "### tuple ### allow tcp 8080 0.0.0.0/0 any 10.0.0.0/8 in",
        "### tuple ### allow tcp 9000 0.0.0.0/0 any 0.0.0.0/0 in comment={0}".format("someone else".encode().hex()),
        "### tuple ### limit tcp 22 ::/0 any ::/0 in comment={0}".format(SSH),
    ]
    assert current_rules(lines) == [
        {"number": 1, "rule": "limit", "proto": "tcp", "port": "22", "from": "0.0.0.0/0", "family": "ipv4",
         "tuple": "tcp 22 0.0.0.0/0 any 0.0.0.0/0 in", "written": "limit tcp 22 0.0.0.0/0 any 0.0.0.0/0 in comment=" + SSH, "ours": True},
        {"number": 2, "rule": "allow", "proto": "tcp", "port": "8080", "from": "10.0.0.0/8", "family": "ipv4",
         "tuple": "tcp 8080 0.0.0.0/0 any 10.0.0.0/8 in", "written": "allow tcp 8080 0.0.0.0/0 any 10.0.0.0/8 in", "ours": False},
        {"number": 3, "rule": "allow", "proto": "tcp", "port": "9000", "from": "0.0.0.0/0", "family": "ipv4",
         "tuple": "tcp 9000 0.0.0.0/0 any 0.0.0.0/0 in", "written": "allow tcp 9000 0.0.0.0/0 any 0.0.0.0/0 in comment=" + "someone else".encode().hex(),
         "ours": False},
        {"number": 4, "rule": "limit", "proto": "tcp", "port": "22", "from": "::/0", "family": "ipv6",
         "tuple": "tcp 22 ::/0 any ::/0 in", "written": "limit tcp 22 ::/0 any ::/0 in comment=" + SSH, "ours": True},
    ]
    # What the role makes is what it reads back: a second run calls ufw for none of its rules.
    made = firewall_rules(settings(ufw_profile="public", ufw_web_sources=[]))
    read_back = current_rules(["### tuple ### " + written for each in made for written in each["written"]])
    assert all(each["ours"] for each in read_back) and [each["written"] for each in read_back] == [w for each in made for w in each["written"]]


def test_the_latest_read_that_ran_says_whether_ufw_is_installed_active_and_how_it_is_set():
    wanted = {"IPV6": "yes", "DEFAULT_INPUT_POLICY": "DROP", "LOGLEVEL": "low", "ENABLED": "yes"}
    before = read(package="", status=(), settings=())
    installed = read(status=("Status: inactive",), settings=("IPV6=yes", 'DEFAULT_INPUT_POLICY="DROP"', "ENABLED=no", "LOGLEVEL=low"))
    assert host_state([before], wanted) == {"installed": False, "active": False, "settings": {}, "differ": list(wanted), "rules": []}
    # A skipped read (no stdout) is passed over: the install's read stands.
    assert host_state([before, installed, {"skipped": True}], wanted) == {
        "installed": True, "active": False, "settings": {"IPV6": "yes", "DEFAULT_INPUT_POLICY": "DROP", "ENABLED": "no", "LOGLEVEL": "low"},
        "differ": ["ENABLED"], "rules": []}
    assert host_state([installed, read(status=("Status: active", "", "To  Action  From"))], wanted)["active"] is True
    assert host_state([read(package="deinstall ok config-files")], wanted)["installed"] is False


def test_the_roles_read_command_prints_the_sections_its_filter_reads(tmp_path):
    """The read as the role runs it, here on the controller: whatever of ufw this machine lacks prints nothing."""
    role_vars = yaml.safe_load((COLLECTIONS.parent / "roles" / "ufw" / "vars" / "main.yml").read_text())
    rules = tmp_path / "user.rules"
    rules.write_text("*filter\n### tuple ### allow tcp 8080 0.0.0.0/0 any 10.0.0.0/8 in\n-A ufw-user-input -p tcp --dport 8080 -j ACCEPT\n")
    ran = subprocess.run(["/bin/sh", "-c", role_vars["_ufw_read_script"], "sh", str(rules), str(tmp_path / "user6.rules")],
                         capture_output=True, text=True, check=True)
    state = host_state([{"stdout": ran.stdout}], {})
    assert [each["tuple"] for each in state["rules"]] == ["tcp 8080 0.0.0.0/0 any 10.0.0.0/8 in"]
    assert ran.stdout.startswith("@@package\n") and ran.stderr == ""


def test_the_role_hands_over_every_setting_the_rules_read():
    role_vars = yaml.safe_load((COLLECTIONS.parent / "roles" / "ufw" / "vars" / "main.yml").read_text())
    assert set(role_vars["_ufw_checked_settings"]) | {"ssh_connection", "sshd", "records", "noted_records"} == set(settings())

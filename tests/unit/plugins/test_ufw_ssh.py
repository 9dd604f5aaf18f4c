"""Which ports stagecraft.webapp.ufw keeps open for SSH, and which settings it refuses
(plugins/module_utils/_ufw_ssh.py and its two filters), on what hosts really report: SSH_CONNECTION
of a session through a port forward, `sshd -T` of a Debian sshd, sshd missing or broken."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# The collection by FQCN through the checkout's self-link (see module_utils/conftest.py).
COLLECTIONS = Path(__file__).resolve().parents[3] / "collections"
if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))

from ansible_collections.stagecraft.webapp.plugins.filter.ufw_ssh_ports import FilterModule as PortsFilter  # noqa: E402
from ansible_collections.stagecraft.webapp.plugins.filter.ufw_ssh_problems import FilterModule as ProblemsFilter  # noqa: E402
from ansible_collections.stagecraft.webapp.plugins.module_utils._ufw_ssh import ssh_connection, sshd_ports  # noqa: E402

ssh_ports = PortsFilter().filters()["ufw_ssh_ports"]
ssh_problems = ProblemsFilter().filters()["ufw_ssh_problems"]

# `sshd -T` of Debian's sshd, shortened: lower-case keywords, one `port` line per port.
SSHD_22 = {"rc": 0, "stdout": "port 22\naddressfamily any\nlistenaddress [::]:22\nlistenaddress 0.0.0.0:22\n", "stderr": ""}
SSHD_2200 = {"rc": 0, "stdout": "port 2200\nlistenaddress 0.0.0.0:2200\n", "stderr": ""}
SSHD_TWO = {"rc": 0, "stdout": "port 22\nport 2222\n", "stderr": ""}
SSHD_BROKEN = {"rc": 255, "stdout": "", "stderr": "/etc/ssh/sshd_config line 3: Badly formatted port number.\n"}
# Installed, never started since boot: `sshd -T` looks for the directory systemd makes when it starts sshd.
SSHD_NOT_STARTED = {"rc": 255, "stdout": "", "stderr": "Missing privilege separation directory: /run/sshd\n"}
# Through Docker's published port 127.0.0.1:32770: the host sees the bridge's gateway and port 22.
FORWARDED_TO_22 = "172.17.0.1 51234 172.17.0.2 22"
FORWARDED_TO_2200 = "172.17.0.1 51234 172.17.0.2 2200"


def settings(**given):
    return {"ufw_ssh_port": None, "ufw_ssh_sources": ["any"], "ssh_connection": "", "sshd": SSHD_22, **given}


@pytest.mark.parametrize("given, ports", [
    # The case: Ansible on 127.0.0.1:32770, sshd on 22 in the host; ansible_port plays no part.
    ({"ssh_connection": FORWARDED_TO_22}, [22]),
    ({"ssh_connection": FORWARDED_TO_2200, "sshd": SSHD_2200}, [2200]),
    ({"sshd": SSHD_TWO}, [22, 2222]),
    # sshd's configuration changed but not yet restarted: the connection's port stays open too.
    ({"ssh_connection": FORWARDED_TO_22, "sshd": SSHD_2200}, [22, 2200]),
    ({"ssh_connection": "", "sshd": SSHD_2200}, [2200]),
    ({"sshd": None}, [22]),
    ({"sshd": None, "ssh_connection": FORWARDED_TO_2200}, [2200]),
    ({"sshd": SSHD_BROKEN, "ssh_connection": FORWARDED_TO_2200}, [2200]),
    ({"sshd": SSHD_NOT_STARTED}, [22]),
    ({"ufw_ssh_port": 2222, "sshd": SSHD_TWO}, [2222]),
    ({"ufw_ssh_port": 2222, "ssh_connection": FORWARDED_TO_22}, [2222]),
])
def test_ports_come_from_the_host_or_the_override(given, ports):
    assert ssh_ports(settings(**given)) == ports


@pytest.mark.parametrize("text, client, port", [
    (FORWARDED_TO_22, "172.17.0.1", 22),
    ("2001:db8::7 50000 2001:db8::1 2200", "2001:db8::7", 2200),
    ("::ffff:203.0.113.7 50000 ::ffff:198.51.100.2 22", "203.0.113.7", 22),
    ("fe80::1%eth0 50000 fe80::2%eth0 22", "fe80::1", 22),
])
def test_connection_is_read_as_the_firewall_sees_it(text, client, port):
    connection = ssh_connection(text)
    assert (str(connection["client"]), connection["port"]) == (client, port)


@pytest.mark.parametrize("text", ["", None, "172.17.0.1 51234", "host 1 2 22", "172.17.0.1 1 172.17.0.2 ssh"])
def test_no_connection_without_four_fields_and_an_address(text):
    assert ssh_connection(text) is None


def test_sshd_ports_ignore_other_keywords():
    assert sshd_ports("permitrootlogin without-password\nPort 22\nport 2222\nport 22\ngatewayports no\n") == [22, 2222]


@pytest.mark.parametrize("given", [
    {},
    {"ssh_connection": FORWARDED_TO_22},
    {"ssh_connection": FORWARDED_TO_2200, "sshd": SSHD_2200},
    {"ssh_connection": FORWARDED_TO_22, "ufw_ssh_port": 22},
    {"ssh_connection": FORWARDED_TO_22, "ufw_ssh_sources": ["172.16.0.0/12"]},
    {"ssh_connection": "2001:db8::7 50000 2001:db8::1 22", "ufw_ssh_sources": ["2001:db8::/32"]},
    {"ssh_connection": "::ffff:10.0.0.5 50000 ::ffff:10.0.0.1 22", "ufw_ssh_sources": ["10.0.0.0/8"]},
    # No SSH connection: the override may close the port sshd listens on (nobody is connected through it).
    {"ufw_ssh_port": 2222},
    {"sshd": None},
    {"sshd": SSHD_BROKEN, "ufw_ssh_port": 22},
    {"sshd": SSHD_NOT_STARTED},
])
def test_settings_that_keep_ssh_reachable(given):
    assert ssh_problems(settings(**given)) == []


@pytest.mark.parametrize("given, message", [
    ({"ufw_ssh_port": 2222, "ssh_connection": FORWARDED_TO_22},
     "ufw_ssh_port 2222 leaves out port 22, where Ansible's SSH connection from 172.17.0.1 arrives: its next connection"
     " would be refused; leave ufw_ssh_port unset (the ports sshd listens on and this connection's are then kept open)"
     " or make it 22"),
    ({"ufw_ssh_port": 22, "ssh_connection": FORWARDED_TO_2200, "sshd": SSHD_2200}, "ufw_ssh_port 22 leaves out port 2200"),
    ({"ufw_ssh_sources": ["192.0.2.0/24"], "ssh_connection": FORWARDED_TO_22},
     "ufw_ssh_sources (192.0.2.0/24) does not include 172.17.0.1, the address Ansible connects from:"
     " its next connection would be refused"),
    ({"ufw_ssh_sources": ["2001:db8::/32"], "ssh_connection": FORWARDED_TO_22}, "does not include 172.17.0.1"),
    ({"ufw_ssh_sources": ["not a network"], "ssh_connection": FORWARDED_TO_22}, "does not include 172.17.0.1"),
    ({"ufw_ssh_sources": []}, "ufw_ssh_sources is empty: nobody could open an SSH connection"),
    ({"ufw_ssh_sources": ["any", "10.0.0.0/8"]}, 'ufw_ssh_sources: "any" already includes 10.0.0.0/8'),
    ({"ufw_ssh_port": 0}, "ufw_ssh_port must be within 1-65535 (got 0)"),
    ({"ufw_ssh_port": 70000}, "ufw_ssh_port must be within 1-65535 (got 70000)"),
    ({"sshd": SSHD_BROKEN},
     "cannot tell the ports sshd listens on (sshd -T: /etc/ssh/sshd_config line 3: Badly formatted port number.);"
     " fix sshd's configuration or set ufw_ssh_port"),
])
def test_settings_that_would_lock_out_are_refused(given, message):
    problems = ssh_problems(settings(**given))
    assert len(problems) == 1 and message in problems[0], problems

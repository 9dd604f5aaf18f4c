# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""SSH through stagecraft.webapp.ufw: the ports it keeps open, and the settings it refuses.

The ports come from the host, never from the inventory: `ansible_port` is the controller's end of
the connection, which behind a port forward (Docker's published ports, NAT, a cloud port-forward,
Vagrant's 2222->22, a bastion) is not the port sshd listens on. What the host tells instead:

- `SSH_CONNECTION` of the session Ansible uses ("CLIENT CLIENT_PORT SERVER SERVER_PORT"): the
  address the connection comes from and the port it arrives on, as the firewall sees them;
- `sshd -T`: sshd's effective configuration, one `port N` line per port it listens on.

`settings` is a dict:

- `ufw_ssh_port`: the role's explicit override (an int), or None;
- `ufw_ssh_sources`: the role's list of sources ("any", addresses, networks);
- `ssh_connection`: SSH_CONNECTION as read on the host, empty without SSH (docker, local);
- `sshd`: the result of `sshd -T` (`rc`, `stdout`, `stderr`), None when sshd is not installed.
"""

from __future__ import annotations

import ipaddress

DEFAULT_PORT = 22
REFUSED = "its next connection would be refused"
# `sshd -T` fails so when sshd has not run since boot (systemd makes the directory when it starts
# sshd): its configuration may be fine, it listens nowhere now. Its ports count as unknown.
NOT_STARTED = "Missing privilege separation directory"


def sshd_ports(output):
    """The ports in `sshd -T` output (its `port N` lines), sorted."""
    ports = set()
    for line in output.splitlines():
        fields = line.split()
        if len(fields) == 2 and fields[0].lower() == "port" and fields[1].isdigit():
            ports.add(int(fields[1]))
    return sorted(ports)


def ssh_connection(text):
    """SSH_CONNECTION as {"client": address, "port": server port}; None without one.

    An IPv4-mapped IPv6 client address counts as the IPv4 address it maps (ufw matches it so);
    an IPv6 zone ("%eth0") is dropped."""
    fields = (text or "").split()
    if len(fields) != 4 or not fields[3].isdigit():
        return None
    try:
        client = ipaddress.ip_address(fields[0].split("%")[0])
    except ValueError:
        return None
    return {"client": getattr(client, "ipv4_mapped", None) or client, "port": int(fields[3])}


def _sshd_failed(sshd):
    """Whether sshd is installed but `sshd -T` cannot tell its ports (a broken configuration)."""
    return sshd is not None and sshd.get("rc") != 0 and NOT_STARTED not in (sshd.get("stderr") or "")


def ssh_ports(settings):
    """The ports SSH is allowed on: `ufw_ssh_port` if given; else the port this connection
    arrives on and every port sshd listens on; 22 when neither is known (no SSH, no sshd or one
    that was never started)."""
    if settings.get("ufw_ssh_port") is not None:
        return [int(settings["ufw_ssh_port"])]
    sshd = settings.get("sshd")
    ports = set(sshd_ports(sshd.get("stdout") or "") if sshd is not None and sshd.get("rc") == 0 else [])
    connection = ssh_connection(settings.get("ssh_connection"))
    if connection:
        ports.add(connection["port"])
    return sorted(ports) or [DEFAULT_PORT]


def _contains(source, client):
    """Whether source ("any", an address or a network) takes in client; an invalid source does not."""
    if source == "any":
        return True
    try:
        network = ipaddress.ip_network(str(source), strict=True)
    except ValueError:
        return False
    return network.version == client.version and client in network


def ssh_problems(settings):
    """What in `settings` would leave nobody, or this very connection, unable to open SSH."""
    problems = []
    override = settings.get("ufw_ssh_port")
    sources = [str(source) for source in settings.get("ufw_ssh_sources") or []]
    connection = ssh_connection(settings.get("ssh_connection"))
    if override is not None and not 1 <= int(override) <= 65535:
        problems.append(f"ufw_ssh_port must be within 1-65535 (got {override})")
    sshd = settings.get("sshd")
    if override is None and _sshd_failed(sshd):
        said = (sshd.get("stderr") or sshd.get("msg") or "").strip().splitlines()
        problems.append("cannot tell the ports sshd listens on (sshd -T: " + (said[-1] if said else f"rc {sshd.get('rc')}")
                        + "); fix sshd's configuration or set ufw_ssh_port")
    if not sources:
        problems.append("ufw_ssh_sources is empty: nobody could open an SSH connection; use [any] or list networks")
    elif "any" in sources and len(sources) > 1:
        problems.append('ufw_ssh_sources: "any" already includes ' + ", ".join(source for source in sources if source != "any"))
    elif connection and not any(_contains(source, connection["client"]) for source in sources):
        problems.append(f"ufw_ssh_sources ({', '.join(sources)}) does not include {connection['client']}, the address Ansible"
                        f" connects from: {REFUSED}")
    # Without the override the connection's port is always among the ports kept open.
    if connection and override is not None and connection["port"] != int(override):
        problems.append(f"ufw_ssh_port {override} leaves out port {connection['port']}, where Ansible's SSH connection from"
                        f" {connection['client']} arrives: {REFUSED}; leave ufw_ssh_port unset (the ports sshd listens on"
                        f" and this connection's are then kept open) or make it {connection['port']}")
    return problems

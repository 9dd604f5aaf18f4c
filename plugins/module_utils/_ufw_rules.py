# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The rules stagecraft.webapp.ufw makes, and the settings it refuses before anything changes on a host.

`settings` holds the role's variables by name (ufw_profile, ufw_ipv6, ufw_ssh_port,
ufw_ssh_sources, ufw_web_sources, ufw_web_ports, ufw_rules) and what the preflight read on the
host: `ssh_connection` and `sshd` (see _ufw_ssh.py), `records`, the records the gunicorn role
(an app's `listen` and `port`) and the nginx role (a server block's `ports`) left there, and
`noted_records`, the records those roles noted earlier in this run, which stand in for the files
of their instance (they may not have written them yet).

Addresses are read as ufw writes them in its rules files, with Python's ipaddress: a network
without host bits, a single address without /32 or /128, IPv6 lowercased and compressed.
"""

from __future__ import annotations

import ipaddress
import re

from ansible_collections.stagecraft.webapp.plugins.module_utils._rules import as_bool, as_int, matches, quoted, unique
from ansible_collections.stagecraft.webapp.plugins.module_utils._ufw_ssh import ssh_ports, ssh_problems

# Every rule the role makes carries a comment starting with this: that is how it tells its own
# rules from others (tasks/rules.yml).
COMMENT_PREFIX = "stagecraft: "
WORLD = {"ipv4": "0.0.0.0/0", "ipv6": "::/0"}
RULE_DEFAULTS = {"proto": "tcp", "from": "any", "rule": "allow", "comment": ""}
DEFAULT_WEB_PORTS = (80, 443)
PORT = re.compile(r"[0-9]{1,5}(:[0-9]{1,5})?")
# ufw writes a comment between single quotes, one rule a line.
COMMENT = re.compile(r"[^'\r\n]*")


def describe(source):
    """An address or network as ufw writes it: {"canonical", "family" ("ipv4", "ipv6" or "any"
    for "any"), "world" (it takes in every address)}, or {"error": why it is none}."""
    text = str(source)
    if text == "any":
        return {"canonical": "any", "family": "any", "world": True}
    try:
        network = ipaddress.ip_network(text, strict=True)
    except ValueError as error:
        return {"error": str(error)}
    single = network.prefixlen == network.max_prefixlen
    return {
        "canonical": str(network.network_address) if single else str(network),
        "family": "ipv{0}".format(network.version),
        "world": network.prefixlen == 0,
    }


def _families(settings):
    return ["ipv4", "ipv6"] if as_bool(settings["ufw_ipv6"]) else ["ipv4"]


def _records(settings, kind):
    """The records of one kind ("listen": gunicorn's, "server_names": nginx's), the noted ones
    in place of the files of their instance."""
    noted = [record for record in settings.get("noted_records") or [] if kind in record]
    replaced = [record.get("instance") for record in noted]
    return [record for record in settings.get("records") or [] if kind in record and record.get("instance") not in replaced] + noted


def tcp_apps(settings):
    """The gunicorn apps on the host that listen on a TCP port: {"instance", "port", ...} each."""
    return [record for record in _records(settings, "listen") if record["listen"] == "tcp"]


def web_ports(settings):
    """nginx's ports: ufw_web_ports, else the ports nginx's records claim, else 80 and 443; none with the tunnel."""
    if settings["ufw_profile"] == "tunnel":
        return []
    recorded = [port for record in _records(settings, "server_names") for port in record.get("ports") or []]
    return sorted(unique(as_int(port) for port in settings["ufw_web_ports"] or recorded or DEFAULT_WEB_PORTS))


def _rule(origin, action, port, proto, source, comment):
    address = describe(source)
    return {"origin": origin, "rule": action, "port": str(port), "proto": proto, "from": address.get("canonical", str(source)),
            "family": address.get("family", "any"), "comment": COMMENT_PREFIX + comment}


def _ssh_rules(settings):
    """SSH, per port, rate limited; from "any" one rule per family (each is inserted ahead of its family's rules)."""
    rules = []
    for port in ssh_ports(settings):
        for source in settings["ufw_ssh_sources"]:
            address = describe(source)
            for family in _families(settings):
                if address.get("family") in (family, "any"):
                    rules.append(_rule("ufw_ssh_sources", "limit", port, "tcp", WORLD[family] if address["family"] == "any" else source, "ssh"))
    return rules


def _web_rules(settings):
    profile = settings["ufw_profile"]
    sources = settings["ufw_web_sources"] if profile == "internal" else ["any"]
    return [_rule("ufw_profile " + profile, "allow", port, "tcp", source, "web ({0})".format(profile))
            for port in web_ports(settings) for source in sources]


def _extra_rules(settings):
    rules = []
    for index, given in enumerate(settings["ufw_rules"]):
        item = dict(RULE_DEFAULTS, **given)
        rules.append(_rule("ufw_rules[{0}]".format(index), item["rule"], item["port"], item["proto"], item["from"], item["comment"] or "ufw_rules"))
    return rules


def _with_tuples(rule, families):
    """`rule` with its tuples, as ufw writes it in its rules files once per family without action
    and comment ("PROTO PORT DST SPORT SRC DIRECTION": "tcp 22 0.0.0.0/0 any 10.0.0.0/8 in"), and
    `written`, each tuple with action and comment as ufw writes it."""
    tuples = [" ".join([rule["proto"], rule["port"], WORLD[family], "any", WORLD[family] if rule["from"] == "any" else rule["from"], "in"])
              for family in families if rule["family"] in (family, "any")]
    comment = rule["comment"].encode("utf-8").hex()
    return dict(rule, tuples=tuples, written=["{0} {1} comment={2}".format(rule["rule"], each, comment) for each in tuples])


def firewall_rules(settings):
    """The rules the role makes, in the order it makes them: SSH's, the profile's, then ufw_rules;
    `from` in ufw's canonical form, each with its `tuples` and `written` forms."""
    return [_with_tuples(rule, _families(settings)) for rule in _ssh_rules(settings) + _web_rules(settings) + _extra_rules(settings)]


# ufw's settings in /etc/default/ufw and /etc/ufw/ufw.conf, KEY=value or KEY="value".
SETTING = re.compile(r'^([A-Z0-9_]+)="?([^"]*)"?$')


def current_rules(lines):
    """The rules in ufw's files, from their "### tuple ###" lines (IPv4's, then IPv6's: numbered
    as `ufw status numbered` numbers them), each line "### tuple ### ACTION PROTO DPORT DST SPORT
    SRC [APPS] DIRECTION [comment=HEX]"; `ours` when its comment starts with COMMENT_PREFIX."""
    ours = "comment=" + COMMENT_PREFIX.encode("utf-8").hex()
    rules = []
    for number, line in enumerate(lines, start=1):
        fields = line.split()[3:]
        rules.append({"number": number, "rule": fields[0], "proto": fields[1], "port": fields[2], "from": fields[5],
                      "family": "ipv6" if ":" in fields[3] else "ipv4", "tuple": " ".join(fields[1:7]), "written": " ".join(fields),
                      "ours": any(field.startswith(ours) for field in fields)})
    return rules


def host_state(reads, wanted_settings):
    """ufw on the host as the latest of the role's reads found it (tasks/install.yml, rules.yml): `reads` are
    their registered results in order, skipped ones without stdout. Each read prints sections, each after a
    line "@@NAME": package (dpkg's status of ufw), status (`ufw status`), settings (KEY=value lines of ufw's
    two settings files) and rules ("### tuple ###" lines of its rules files, IPv4's first).

    Returns {"installed", "active", "settings": {KEY: value}, "differ": the keys of `wanted_settings` ({KEY:
    value}) whose value differs or is missing, in its order, "rules": current_rules() of them}. The files, not
    `ufw status`, say the policies: it shows "disabled (routed)" whenever the kernel does not forward.
    """
    stdout = [read["stdout"] for read in reads if "stdout" in read][-1]
    sections = {}
    for line in filter(None, stdout.splitlines()):
        if line.startswith("@@"):
            sections[line[2:]] = current = []
        else:
            current.append(line)
    settings = dict(match.groups() for match in map(SETTING.match, sections["settings"]) if match)
    return {
        "installed": "install ok installed" in sections["package"],
        "active": "Status: active" in sections["status"],
        "settings": settings,
        "differ": [key for key, value in wanted_settings.items() if settings.get(key) != value],
        "rules": current_rules(sections["rules"]),
    }


def _address_problem(where, source, ipv6):
    address = describe(source)
    if "error" in address:
        return "{0}: {1} is not an address or network ({2})".format(where, quoted(source), address["error"])
    if address["family"] == "ipv6" and not ipv6:
        return "{0}: {1} is IPv6, but ufw_ipv6 is false".format(where, source)
    return None


def _source_problems(settings):
    problems = []
    ipv6 = as_bool(settings["ufw_ipv6"])
    for variable in ("ufw_ssh_sources", "ufw_web_sources"):
        sources = settings[variable]
        problems += [problem for problem in (_address_problem(variable, source, ipv6) for source in sources) if problem]
        if len(unique(describe(source).get("canonical", "") for source in sources)) != len(sources):
            problems.append("{0} names a network more than once".format(variable))
    profile, web_sources = settings["ufw_profile"], settings["ufw_web_sources"]
    if profile == "internal" and not web_sources:
        problems.append("ufw_web_sources is empty: ufw_profile internal opens nginx's ports only to the networks it lists")
    elif profile == "internal" and any(describe(source).get("world") for source in web_sources):
        problems.append("ufw_web_sources: \"any\" (or a /0 network) opens nginx's ports to everyone; that is ufw_profile public")
    elif profile != "internal" and web_sources:
        problems.append("ufw_web_sources is only for ufw_profile internal; with {0} it would restrict nothing".format(profile))
    return problems


def _web_port_problems(settings, ssh):
    problems = []
    profile, given = settings["ufw_profile"], settings["ufw_web_ports"]
    if profile == "tunnel" and given:
        problems.append("ufw_web_ports: ufw_profile tunnel opens no web port (traffic arrives through cloudflared)")
    problems += ["ufw_web_ports: {0} is not within 1-65535".format(port) for port in given if not 1 <= as_int(port) <= 65535]
    for port in web_ports(settings):
        for app in tcp_apps(settings):
            if as_int(app.get("port")) == port:
                problems.append("ufw_profile {0} would open port {1} (nginx's, {2}), where gunicorn app {3} listens; app ports are never opened".format(
                    profile, port, "ufw_web_ports" if given else "from its records or the default", app.get("instance")))
        if port in ssh:
            problems.append("ufw_web_ports: {0} is the SSH port".format(port))
    return problems


def _port_problem(where, item, ssh, apps):
    """What is wrong with the port of one of ufw_rules (`item`, defaults filled in): only the first problem."""
    port = str(item["port"])
    bounds = [as_int(bound) for bound in port.split(":")]
    low, high = bounds[0], bounds[-1]
    if not matches(PORT, port) or min(bounds) < 1 or max(bounds) > 65535:
        return ['{0}.port {1} is not a port (1-65535) or a range "LOW:HIGH"'.format(where, quoted(item["port"]))]
    if len(bounds) == 2 and low >= high:
        return ["{0}.port {1}: a range goes from low to high".format(where, quoted(port))]
    if len(bounds) == 2 and item["proto"] == "any":
        return ['{0}.proto: a port range needs tcp or udp (ufw refuses "any")'.format(where)]
    if item["proto"] not in ("tcp", "any"):
        return []
    taken = [ssh_port for ssh_port in ssh if low <= ssh_port <= high]
    if taken:
        return ["{0}.port {1} takes in the SSH port {2}, which ufw_ssh_port and ufw_ssh_sources manage".format(
            where, port, ", ".join(str(ssh_port) for ssh_port in taken))]
    if item["rule"] in ("allow", "limit") and describe(item["from"]).get("world", False):
        return ["{0} would open port {1}, where gunicorn app {2} listens, to the world (from {3}); app ports are reached through nginx or the"
                " tunnel, or from a network named in from".format(where, app.get("port"), app.get("instance"), item["from"])
                for app in apps if low <= as_int(app.get("port")) <= high]
    return []


def _rule_problems(settings, ssh):
    problems = []
    apps = tcp_apps(settings)
    for index, given in enumerate(settings["ufw_rules"]):
        where = "ufw_rules[{0}]".format(index)
        item = dict(RULE_DEFAULTS, **given)
        problems += _port_problem(where, item, ssh, apps)
        address_problem = _address_problem(where + ".from", item["from"], as_bool(settings["ufw_ipv6"]))
        if address_problem:
            problems.append(address_problem)
        if not matches(COMMENT, item["comment"]):
            problems.append("{0}.comment may hold neither a single quote nor a line break".format(where))
    rules = firewall_rules(settings)
    for position, rule in enumerate(rules):
        if rule["origin"].startswith("ufw_rules["):
            problems += ["{0} repeats {1}/{2} from {3}, which {4} already makes (ufw keeps one rule per port, protocol and source)".format(
                rule["origin"], rule["port"], rule["proto"], rule["from"], other["origin"])
                for other in rules[:position] if set(other["tuples"]) & set(rule["tuples"])]
    return problems


def settings_problems(settings):
    """One message per problem of the ufw role's `settings`, each naming the variable at fault:
    SSH's first (_ufw_ssh.py), then the sources, nginx's ports and ufw_rules."""
    ssh = ssh_ports(settings)
    return unique(ssh_problems(settings) + _source_problems(settings) + _web_port_problems(settings, ssh) + _rule_problems(settings, ssh))

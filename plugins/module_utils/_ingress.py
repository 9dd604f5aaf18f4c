# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Ingress rules of a locally managed Cloudflare Tunnel, checked before they reach a host.

`ingress_problems(rules, origin_request)` returns one message per problem ("ingress rule 3
(api.example.com): ...", numbered from 1 as `cloudflared tunnel ingress validate` does; `ingress
rule URL` counts from 0), an empty list when cloudflared would accept the rules. The checks
follow cloudflared's own ingress parser (ingress/ingress.go, config/configuration.go):

- at least one rule; the last rule, and only the last, matches every request (no hostname or
  "*", and no path);
- a hostname has no port, at most one "*", and only as the whole first label ("*.example.com");
- `path` is a regular expression in Go's RE2 syntax (_re2.py walks Go's grammar);
- `service` is a URL with a scheme and a host and no path, or `unix:PATH`, `unix+tls:PATH`,
  `http_status:NNN`, `hello_world` (or `hello-world`), `bastion` or `socks-proxy`; with
  `bastionMode` it may be left out; a socks-proxy's `ipRules` prefixes are CIDR;
- `originRequest` (per rule and the defaults) has only keys cloudflared knows, each of its type.

Where cloudflared would accept something that can only be a mistake, this is stricter, and says
so in the message: keys cloudflared ignores (a misspelt `noTlsVerify`), a rule that can never
match because an earlier rule takes all its requests, a wildcard that is not a whole label
("*foo.example.com" never matches in cloudflared), a hostname that is an IPv6 address, ends
with a dot or is no DNS name (a label over 63 characters), an unknown URL scheme (cloudflared would
proxy it as raw TCP), a relative socket or CA path, a negative duration, a status outside
100-599, credentials or a query in a service URL, `access.required` without a team name.
"""

from __future__ import annotations

import difflib
import ipaddress
import re

from ansible_collections.stagecraft.webapp.plugins.module_utils._re2 import re2_syntax_error

HELLO_WORLD = ("hello_world", "hello-world")
BASTION = "bastion"
SOCKS_PROXY = "socks-proxy"
HTTP_SCHEMES = ("http", "https", "ws", "wss")
TCP_SCHEMES = ("tcp", "ssh", "rdp", "smb")
RULE_KEYS = ("hostname", "path", "service", "originRequest")
# originRequest key -> kind of value (see _value_problem); config/configuration.go's
# OriginRequestConfig as cloudflared reads config.yml (durations as Go duration strings).
ORIGIN_REQUEST = {
    "connectTimeout": "duration",
    "tlsTimeout": "duration",
    "tcpKeepAlive": "duration",
    "keepAliveTimeout": "duration",
    "noHappyEyeballs": "bool",
    "noTLSVerify": "bool",
    "disableChunkedEncoding": "bool",
    "bastionMode": "bool",
    "http2Origin": "bool",
    "matchSNItoHost": "bool",
    "keepAliveConnections": "count",
    "proxyPort": "port_or_zero",
    "httpHostHeader": "text",
    "originServerName": "text",
    "proxyAddress": "text",
    "caPool": "absolute_path",
    "proxyType": "proxy_type",
    "ipRules": "ip_rules",
    "access": "access",
}
ACCESS_KEYS = ("required", "teamName", "audTag", "environment")
IP_RULE_KEYS = ("prefix", "ports", "allow")
# time.ParseDuration: a sequence of decimal numbers, each with a unit; "0" alone is allowed.
GO_DURATION = re.compile(r"^(0|((\d+(\.\d*)?|\.\d+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h))+)$")
HOST_LABEL = re.compile(r"^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$")
URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*$")
URL_HOST = re.compile(r"^[A-Za-z0-9._~%!$&'()*+,;=-]+$")
MAX_HOSTNAME = 253
MAX_LABEL = 63
# Said in every message about something cloudflared itself would take.
STRICTER = "stricter than cloudflared, which accepts it"


def ingress_problems(rules, origin_request=None):
    """Every problem of `rules` (cloudflared's `ingress:` list) and the `originRequest` defaults.

    Returns a list of messages, each naming the rule by its number (1 is the first, as in
    cloudflared's own errors) and, where it has one, its hostname. An empty list means the rules
    can be written to config.yml.
    """
    problems = []
    if origin_request is not None:
        if isinstance(origin_request, dict):
            problems.extend("originRequest" + message for message in _origin_request_problems(origin_request))
        else:
            problems.append("originRequest: must be a mapping of cloudflared's origin settings, got {0}".format(_kind(origin_request)))
    if not isinstance(rules, (list, tuple)):
        return problems + ["ingress: must be a list of rules, got {0}".format(_kind(rules))]
    if not rules:
        return problems + ["ingress: no rules; a locally managed tunnel needs at least the catch-all rule, e.g. {service: http_status:404}"]
    defaults_bastion = isinstance(origin_request, dict) and origin_request.get("bastionMode") is True
    per_rule = [[] for rule in rules]
    for index, rule in enumerate(rules):
        label = _label(index, rule)
        if not isinstance(rule, dict):
            per_rule[index].append("{0}: must be a mapping with service and optionally hostname, path, originRequest, got {1}".format(label, _kind(rule)))
            continue
        per_rule[index].extend(label + ": " + message for message in _rule_problems(rule, defaults_bastion))
    for index, message in _order_problems(rules):
        per_rule[index].append(message)
    return problems + [message for messages in per_rule for message in messages]


def _label(index, rule):
    hostname = rule.get("hostname") if isinstance(rule, dict) else None
    if isinstance(hostname, str) and hostname:
        return "ingress rule {0} ({1})".format(index + 1, hostname)
    return "ingress rule {0}".format(index + 1)


def _kind(value):
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    return type(value).__name__


def _unknown_key(key, known):
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    close = close or [name for name in known if name.lower() == str(key).lower()]
    hint = ' (did you mean "{0}"?)'.format(close[0]) if close else ""
    return '"{0}" is not a key cloudflared knows{1}; it would be ignored'.format(key, hint)


def _rule_problems(rule, defaults_bastion):
    problems = []
    for key in rule:
        if key not in RULE_KEYS:
            problems.append(_unknown_key(key, RULE_KEYS) + " (a rule has: " + ", ".join(RULE_KEYS) + ")")
    hostname = rule.get("hostname")
    if hostname is not None:
        problems.extend("hostname: " + message for message in _hostname_problems(hostname))
    path = rule.get("path")
    if path is not None:
        problem = path_problem(path)
        if problem:
            problems.append("path: " + problem)
    origin_request = rule.get("originRequest")
    bastion = defaults_bastion
    if origin_request is not None:
        if isinstance(origin_request, dict):
            problems.extend("originRequest" + message for message in _origin_request_problems(origin_request))
            bastion = origin_request.get("bastionMode", defaults_bastion) is True
        else:
            problems.append("originRequest: must be a mapping, got {0}".format(_kind(origin_request)))
    service = rule.get("service")
    if service is None or service == "":
        if not bastion:
            problems.append("service is missing (a URL such as http://127.0.0.1:8000, unix:/run/app.sock or http_status:404;"
                            " only a rule in bastionMode may leave it out)")
    else:
        problem = service_problem(service)
        if problem:
            problems.append("service: " + problem)
    return problems


def _hostname_problems(hostname):
    if not isinstance(hostname, str):
        return ["must be a string, got {0}".format(_kind(hostname))]
    if hostname in ("", "*"):
        return []
    if "://" in hostname or "/" in hostname:
        return ['"{0}" is a URL or has a path; a hostname is a bare name such as app.example.com (paths go in `path`)'.format(hostname)]
    if _is_ipv6(hostname):
        return ['"{0}" is an IPv6 address; a hostname is a name in your Cloudflare zone, which is all the edge routes to a tunnel'
                ' ({1})'.format(hostname, STRICTER)]
    if ":" in hostname:
        return ['"{0}" has a port; hostnames cannot contain a port (cloudflared matches the name only)'.format(hostname)]
    if hostname.startswith("*") and not hostname.startswith("*.") and hostname.count("*") == 1:
        return ['"{0}": a "*" must be the whole first label, e.g. "*.example.com"; cloudflared takes "{1}" literally, so it never matches'
                ' ({2})'.format(hostname, hostname.split(".")[0], STRICTER)]
    if "*" in hostname[1:]:
        return ['"{0}": a hostname has at most one "*" and only as its whole first label, e.g. "*.example.com"'.format(hostname)]
    if hostname.endswith("."):
        return ['"{0}" ends with a dot; requests carry the name without it, so the rule would never match ({1})'.format(hostname, STRICTER)]
    name = hostname[2:] if hostname.startswith("*.") else hostname
    too_long = [label for label in name.split(".") if label.isascii() and len(label) > MAX_LABEL]
    if too_long:
        return ['"{0}" is not a valid host name: label "{1}" is {2} characters long, DNS allows at most {3} ({4})'.format(
            hostname, too_long[0], len(too_long[0]), MAX_LABEL, STRICTER)]
    try:
        ascii_name = name.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return ['"{0}" is not a valid host name: it cannot be converted to punycode (an empty label, or one too long once converted)'
                ' ({1})'.format(hostname, STRICTER)]
    if len(ascii_name) > MAX_HOSTNAME:
        return ['"{0}" is longer than {1} characters, which DNS allows ({2})'.format(hostname, MAX_HOSTNAME, STRICTER)]
    bad = [label for label in ascii_name.split(".") if not HOST_LABEL.match(label)]
    if bad:
        return ['"{0}" is not a valid host name: label "{1}" (letters, digits, "-" and "_", no "-" at either end; {2})'.format(
            hostname, bad[0], STRICTER)]
    return []


def _is_ipv6(hostname):
    try:
        ipaddress.IPv6Address(hostname[1:-1] if hostname.startswith("[") and hostname.endswith("]") else hostname)
    except ValueError:
        return False
    return True


def service_problem(service):
    """Why cloudflared would refuse `service` (or why it can only be a mistake), or None."""
    if not isinstance(service, str):
        return "must be a string, got {0}".format(_kind(service))
    for prefix in ("unix:", "unix+tls:"):
        if service.startswith(prefix):
            path = service[len(prefix):]
            if not path.startswith("/"):
                return '"{0}": the socket path after "{1}" must be absolute (cloudflared runs from /; {2})'.format(service, prefix, STRICTER)
            return None
    if service.startswith("http_status:"):
        code = service[len("http_status:"):]
        if not code.isdigit() or not 100 <= int(code) <= 599:
            return '"{0}": http_status takes an HTTP status code from 100 to 599, e.g. http_status:404'.format(service)
        return None
    if service in HELLO_WORLD or service in (BASTION, SOCKS_PROXY):
        return None
    if service in ("socks5", "socks"):
        return '"{0}" is not a cloudflared service; a SOCKS proxy is "socks-proxy"'.format(service)
    if service.replace("-", "").replace("_", "").lower() == "helloworld":
        return '"{0}" is not a cloudflared service; its test page is "hello_world" (or "hello-world")'.format(service)
    return _url_problem(service)


def _url_problem(service):
    scheme, separator, rest = service.partition("://")
    if not separator or not URL_SCHEME.match(scheme):
        return ('"{0}" is not a valid address: it needs a scheme and a host, e.g. http://127.0.0.1:8000'
                ' (or unix:, unix+tls:, http_status:, hello_world, bastion, socks-proxy)').format(service)
    scheme = scheme.lower()
    if scheme not in HTTP_SCHEMES + TCP_SCHEMES:
        return ('"{0}": scheme "{1}" is none of {2} (cloudflared would proxy an unknown scheme as raw TCP;'
                ' write tcp:// for that; {3})').format(service, scheme, ", ".join(HTTP_SCHEMES + TCP_SCHEMES), STRICTER)
    authority, slash, path = rest.partition("/")
    for mark, what in (("?", "query"), ("#", "fragment")):
        if mark in authority:
            return '"{0}" has a {1}; a service is a scheme, host and port only ({2})'.format(service, what, STRICTER)
    if slash or path:
        return ('"{0}" has a path; ingress rules cannot proxy to a different path on the origin'
                ' (the request\'s own path is used): drop everything after the port').format(service)
    if "@" in authority:
        return '"{0}" has credentials in it; a service is a scheme, host and port only ({1})'.format(service, STRICTER)
    host, port = authority, ""
    if authority.startswith("["):
        host, bracket, port = authority[1:].partition("]")
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            return '"{0}": "{1}" is not an IPv6 address'.format(service, host)
        if not bracket or (port and not port.startswith(":")):
            return '"{0}" is not a valid address'.format(service)
        port = port[1:]
    elif ":" in authority:
        host, port = authority.rsplit(":", 1)
    if not host:
        return '"{0}" has no host; it needs a scheme and a host, e.g. http://127.0.0.1:8000'.format(service)
    if not authority.startswith("[") and not URL_HOST.match(host):
        return '"{0}": "{1}" is not a valid host'.format(service, host)
    if port and (not port.isdigit() or not 1 <= int(port) <= 65535):
        return '"{0}": port "{1}" is not a number from 1 to 65535'.format(service, port)
    return None


def path_problem(path):
    """Why `path` is not a regular expression cloudflared (Go's RE2 syntax) compiles, or None."""
    if not isinstance(path, str):
        return "must be a string (a regular expression), got {0}".format(_kind(path))
    error = re2_syntax_error(path)
    if error:
        return '"{0}" is not a valid regular expression in Go\'s RE2 syntax, which cloudflared uses: {1}'.format(path, error)
    return None


def _origin_request_problems(settings):
    """Problems of one originRequest mapping, each starting with ".key: " (the caller prefixes)."""
    problems = []
    for key, value in settings.items():
        kind = ORIGIN_REQUEST.get(key)
        if kind is None:
            problems.append(": " + _unknown_key(key, list(ORIGIN_REQUEST)))
            continue
        problem = _value_problem(kind, value)
        if problem:
            problems.append(".{0}: {1}".format(key, problem))
    return problems


def _value_problem(kind, value):
    if kind == "bool":
        return None if isinstance(value, bool) else "must be true or false, got {0}".format(_kind(value))
    if kind == "duration":
        if not isinstance(value, str):
            return 'must be a duration such as "30s" or "1m30s" (a string; cloudflared reads no plain numbers here), got {0}'.format(_kind(value))
        if not GO_DURATION.match(value):
            return '"{0}" is not a duration such as "30s", "1m30s" or "500ms" (units ns, us, ms, s, m, h; not negative)'.format(value)
        return None
    if kind == "count":
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            return "must be a whole number of 0 or more, got {0!r}".format(value)
        return None
    if kind == "port_or_zero":
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 65535:
            return "must be a port number from 0 to 65535, got {0!r}".format(value)
        return None
    if kind == "text":
        if not isinstance(value, str) or any(ord(char) < 32 for char in value):
            return "must be a single-line string, got {0}".format(_kind(value) if not isinstance(value, str) else "control characters")
        return None
    if kind == "absolute_path":
        if not isinstance(value, str) or not value.startswith("/"):
            return "must be an absolute path on the host, got {0!r} ({1})".format(value, STRICTER)
        return None
    if kind == "proxy_type":
        return None if value in ("", "socks") else 'must be "" or "socks", got {0!r}'.format(value)
    if kind == "ip_rules":
        return _ip_rules_problem(value)
    return _access_problem(value)


def _ip_rules_problem(rules):
    if not isinstance(rules, list):
        return "must be a list of {prefix, ports, allow}, got " + _kind(rules)
    for number, rule in enumerate(rules, 1):
        where = "rule {0}".format(number)
        if not isinstance(rule, dict):
            return "{0}: must be a mapping {{prefix, ports, allow}}, got {1}".format(where, _kind(rule))
        unknown = [key for key in rule if key not in IP_RULE_KEYS]
        if unknown:
            return "{0}: {1}".format(where, _unknown_key(unknown[0], IP_RULE_KEYS))
        prefix = rule.get("prefix")
        try:
            ipaddress.ip_network(prefix, strict=False)
        except (TypeError, ValueError):
            return "{0}: prefix {1!r} is not an address range such as 10.0.0.0/8".format(where, prefix)
        if "/" not in prefix:
            return "{0}: prefix {1!r} has no prefix length; cloudflared reads CIDR only, e.g. {1}/{2}".format(
                where, prefix, 128 if ":" in prefix else 32)
        ports = rule.get("ports", [])
        if not isinstance(ports, list) or any(isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535 for port in ports):
            return "{0}: ports must be a list of port numbers from 1 to 65535, got {1!r}".format(where, ports)
        if not isinstance(rule.get("allow", False), bool):
            return "{0}: allow must be true or false".format(where)
    return None


def _access_problem(access):
    if not isinstance(access, dict):
        return "must be a mapping {required, teamName, audTag}, got " + _kind(access)
    unknown = [key for key in access if key not in ACCESS_KEYS]
    if unknown:
        return _unknown_key(unknown[0], ACCESS_KEYS)
    if not isinstance(access.get("required", False), bool):
        return "required must be true or false"
    team = access.get("teamName", "")
    if not isinstance(team, str):
        return "teamName must be a string (your Zero Trust team name)"
    tags = access.get("audTag", [])
    if not isinstance(tags, list) or any(not isinstance(tag, str) or not tag for tag in tags):
        return "audTag must be a list of Access application audience tags (strings)"
    if tags and not team:
        return "audTag needs teamName (the team whose keys sign the Access tokens)"
    if access.get("required") is True and not team:
        return "required: true needs teamName, or every request would be refused (stricter than cloudflared)"
    if access.get("environment", "") not in ("", "fed"):
        return 'environment must be "" or "fed"'
    return None


def _is_catch_all(rule):
    return rule.get("hostname") in (None, "", "*") and rule.get("path") in (None, "")


def _order_problems(rules):
    """(rule index, message) pairs: the last rule is the only catch-all; no rule is hidden by an earlier one."""
    problems = []
    last = len(rules) - 1
    for index, rule in enumerate(rules):
        if not isinstance(rule, dict):
            continue
        label = _label(index, rule)
        if index == last and not _is_catch_all(rule):
            problems.append((index, label + ": the last rule must match every request (no hostname, or \"*\", and no path),"
                             " e.g. {service: http_status:404} at the end"))
        elif index != last and _is_catch_all(rule):
            later = "rule {0}".format(index + 2) if index + 1 == last else "rules {0}-{1}".format(index + 2, last + 1)
            problems.append((index, label + ": matches every request (no hostname, or \"*\", and no path), so " + later
                             + " after it would never be used; only the last rule may be a catch-all"))
        elif index != last:
            shadow = _shadowed_by(rule, [(earlier, rules[earlier]) for earlier in range(index) if isinstance(rules[earlier], dict)])
            if shadow is not None:
                problems.append((index, "{0}: is never used: rule {1} before it takes every request it would match"
                                        " (stricter than cloudflared, which accepts it)".format(label, shadow + 1)))
    return problems


def _shadowed_by(rule, earlier_rules):
    """The index of an earlier rule that matches every request `rule` matches, or None."""
    hostname, path = rule.get("hostname") or "", rule.get("path") or ""
    if not isinstance(hostname, str) or not isinstance(path, str):
        return None
    for index, earlier in earlier_rules:
        earlier_host, earlier_path = earlier.get("hostname") or "", earlier.get("path") or ""
        if not isinstance(earlier_host, str) or not isinstance(earlier_path, str) or (earlier_path and earlier_path != path):
            continue
        if _is_catch_all(earlier):
            continue  # reported as a catch-all before the last rule
        if earlier_host in ("", "*") or _host_covers(earlier_host.lower(), hostname.lower()):
            return index
    return None


def _host_covers(earlier, later):
    """Every request `later` matches is matched by `earlier` (cloudflared's matchHost)."""
    if earlier == later:
        return True
    if not earlier.startswith("*."):
        return False
    # cloudflared matches "*.example.com" by the suffix ".example.com", dot included: neither
    # the apex example.com nor badexample.com. A wildcard `later` matches names ending in its own
    # suffix, so it is covered when that suffix ends in `earlier`'s.
    suffix = earlier[1:]
    return (later[1:] if later.startswith("*.") else later).endswith(suffix)


def nginx_reach_problems(rules, server_names, listen_addresses, http_port, https_port):
    """One message per rule of `rules` that takes requests for nginx's `server_names` (its
    hostname is one of them, a wildcard covering one, or the catch-all) and sends them, over
    HTTP(S), to an address nginx does not listen on: `listen_addresses` (empty: every address)
    at `http_port`, or `https_port` for https (None: nginx speaks no TLS). Rules that are no list
    of mappings, services that are not HTTP URLs, and other names are left to `ingress_problems`."""
    if not isinstance(rules, (list, tuple)):
        return []
    names = [name.lower() for name in server_names or [] if isinstance(name, str)]
    ports = {"http": int(http_port), "https": int(https_port) if https_port else None}
    listened = {_ip(address) for address in listen_addresses} - {None}
    problems = []
    for index, rule in enumerate(rules):
        if not isinstance(rule, dict) or not _serves(rule.get("hostname"), names):
            continue
        address = _http_address(rule.get("service"))
        if address is None:
            continue
        scheme, host, port = address
        if port == ports[scheme] and (not listen_addresses or _ip(host) in listened):
            continue
        problems.append('cloudflared_{0}: service "{1}" is not an address nginx listens on ({2}): name {3}'.format(
            _label(index, rule), rule["service"], _nginx_listening(listen_addresses, ports, scheme), _nginx_services(listen_addresses, ports)))
    return problems


def _serves(hostname, names):
    """Whether a rule with `hostname` takes requests for one of `names`."""
    if hostname in (None, "", "*"):
        return True
    hostname = str(hostname).lower()
    return any(_host_covers(hostname, name) or _host_covers(name, hostname) for name in names)


def _http_address(service):
    """(http or https, host, port) of an HTTP or WebSocket URL `service`, or None."""
    if not isinstance(service, str) or service_problem(service):
        return None
    scheme, separator, authority = service.partition("://")
    scheme = {"ws": "http", "wss": "https"}.get(scheme.lower(), scheme.lower())
    if not separator or scheme not in ("http", "https"):
        return None
    host, port = authority, ""
    if authority.startswith("["):
        host, _bracket, port = authority[1:].partition("]")
        port = port[1:]
    elif ":" in authority:
        host, port = authority.rsplit(":", 1)
    return scheme, host, int(port) if port else {"http": 80, "https": 443}[scheme]


def _ip(host):
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None  # a name (localhost): nginx listens on addresses, and a name may resolve to another one


def _nginx_listening(listen_addresses, ports, scheme):
    """Where nginx listens, as the settings say it; "no TLS port" for an https rule when it speaks none."""
    where = "nginx_listen_addresses: {0}; nginx_http_port: {1}".format(", ".join(listen_addresses) or "every address", ports["http"])
    if ports["https"]:
        return where + ", nginx_https_port: {0}".format(ports["https"])
    return where + (", no TLS port" if scheme == "https" else "")


def _nginx_services(listen_addresses, ports):
    """The services a rule could name instead, on nginx's first address (127.0.0.1 for every address)."""
    address = listen_addresses[0] if listen_addresses else "127.0.0.1"
    host = "[{0}]".format(address) if ":" in address else address
    services = ["{0}://{1}:{2}".format(scheme, host, ports[scheme]) for scheme in ("http", "https") if ports[scheme]]
    return " or ".join(services)

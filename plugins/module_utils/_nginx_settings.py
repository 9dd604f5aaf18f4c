# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The settings of stagecraft.webapp.nginx, checked before anything changes on a host.

`settings` holds the role's variables by name (nginx_app_name, nginx_server_names, ...) and the
names the role derives from them (plugins/module_utils/_nginx_layout.py): `instance` (<app>-<env>),
`app_base` (<nginx_root>/<app>/<env>), `gunicorn_record` (where the gunicorn role records this
instance), `tls` (a TLS mode other than none), `ports` (the ports this server block claims) and
`proxies` (whether a location proxies to the app).

What the preflight read comes as arguments: the other server blocks' records, what
community.crypto's x509_certificate_info and openssl_privatekey_info said about a provided
certificate and key, the static directories as `realpath` resolved them on the host, and the
gunicorn role's record of this instance. The private key itself is only checked for being set.
"""

from __future__ import annotations

import ipaddress
import re

from ansible_collections.stagecraft.webapp.plugins.module_utils._locations import location_problems
from ansible_collections.stagecraft.webapp.plugins.module_utils._rules import app_and_env_problems, as_bool, as_int, matches, quoted, unique

HOSTNAME = re.compile(r"(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
HOSTNAME_MAX_LENGTH = 253
UPSTREAM = re.compile(r"unix:/\S+|\[[0-9a-fA-F:.]+\]:[0-9]{1,5}|[A-Za-z0-9.-]+:[0-9]{1,5}")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
URL = re.compile(r"https?://\S+")
SIZE = re.compile(r"[0-9]+[kKmMgG]?")
# What nginx's allow and set_real_ip_from take: an IPv4 or IPv6 address or network, or "unix:".
ADDRESS = re.compile(r"[0-9.]+(/[0-9]{1,2})?|[0-9a-fA-F:]*:[0-9a-fA-F:.]*(/[0-9]{1,3})?|unix:")
CERTIFICATE_MODES = ("provided", "cloudflare_origin")
# What a server block on every address names besides: nginx hands a connection to an address only
# to the server blocks naming it, and a block behind a tunnel names loopback.
LOOPBACK = (ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1"))


def _in_both(first, second):
    """The items of `first` that `second` holds too, once each, in `first`'s order."""
    return unique(item for item in first if item in second)


def _name_problems(settings, others):
    problems = app_and_env_problems("nginx", settings["nginx_app_name"], settings["nginx_app_env"])
    server_names = settings["nginx_server_names"]
    if not server_names:
        problems.append("nginx_server_names is empty: at least one host name is needed")
    for server_name in server_names:
        if not isinstance(server_name, str) or not matches(HOSTNAME, server_name) or len(server_name) > HOSTNAME_MAX_LENGTH:
            problems.append('nginx_server_names: {0} is not a valid host name (lowercase labels of letters, digits and "-", separated by dots;'
                            ' a leading "*." wildcard)'.format(quoted(server_name)))
        elif settings["nginx_tls_mode"] == "acme" and server_name.startswith("*."):
            problems.append("nginx_server_names: {0} is a wildcard, which HTTP-01 cannot validate; use provided with a certificate obtained"
                            " elsewhere".format(quoted(server_name)))
    if len(unique(server_names)) != len(server_names):
        problems.append("nginx_server_names lists a name more than once")
    for other in others:
        names = _in_both(server_names, other.get("server_names") or [])
        ports = _in_both(settings["ports"], other.get("ports") or [])
        if names and ports:
            problems.append("nginx_server_names: {0} on port {1} is already served by {2} on this host; choose another name or port".format(
                ", ".join(names), ", ".join(str(port) for port in ports), other.get("instance")))
    return problems


def _port_problems(settings):
    problems = []
    http, https = settings["nginx_http_port"], settings["nginx_https_port"]
    for variable, port in (("nginx_http_port", http), ("nginx_https_port", https)):
        if not 1 <= as_int(port) <= 65535:
            problems.append("{0} must be within 1-65535 (got {1})".format(variable, port))
    if as_bool(settings["tls"]) and http == https:
        problems.append("nginx_http_port and nginx_https_port are both {0}".format(http))
    return problems


def _acme_problems(settings):
    problems = []
    email, directory, ca_bundle = settings["nginx_acme_email"], settings["nginx_acme_directory"], settings["nginx_acme_ca_bundle"]
    if not matches(EMAIL, email):
        problems.append("nginx_acme_email {0} is not an e-mail address; the acme mode needs a contact address".format(quoted(email)))
    if not as_bool(settings["nginx_acme_terms_agreed"]):
        problems.append("nginx_acme_terms_agreed must be true for the acme mode (read the terms of service of {0})".format(directory))
    if not matches(URL, directory):
        problems.append("nginx_acme_directory {0} is not a URL".format(quoted(directory)))
    if ca_bundle and not str(ca_bundle).startswith("/"):
        problems.append("nginx_acme_ca_bundle must be an absolute path on the host (got {0})".format(quoted(ca_bundle)))
    return problems


def _certificate_problems(settings, certificate, private_key):
    """`certificate` and `private_key`: what community.crypto's info modules answered (a failed
    or skipped result when they could not read it)."""
    problems = []
    mode = settings["nginx_tls_mode"]
    if not settings["nginx_tls_certificate"]:
        problems.append("nginx_tls_certificate is empty; the {0} mode needs a certificate (PEM)".format(mode))
    elif "not_after" not in certificate:
        problems.append("nginx_tls_certificate is not a PEM certificate: {0}".format(certificate.get("msg", "unreadable")))
    elif certificate.get("expired"):
        problems.append("nginx_tls_certificate expired on {0} (subject {1})".format(certificate["not_after"], quoted(certificate.get("subject", {}))))
    if not settings["nginx_tls_private_key"]:
        problems.append("nginx_tls_private_key is empty; the {0} mode needs the certificate's private key (PEM)".format(mode))
    elif "public_key" not in private_key:
        problems.append("nginx_tls_private_key is not a readable PEM private key")
    elif "public_key" in certificate and certificate["public_key"] != private_key["public_key"]:
        problems.append("nginx_tls_private_key does not match nginx_tls_certificate (their public keys differ)")
    return problems


def _flattened(items):
    """`items` with nested lists spread out and nulls left out, as Ansible's `flatten` does."""
    flat = []
    for item in items:
        if isinstance(item, (list, tuple)):
            flat.extend(_flattened(item))
        elif item is not None:
            flat.append(item)
    return flat


def _request_problems(settings):
    problems = []
    size = settings["nginx_client_max_body_size"]
    if not matches(SIZE, size):
        problems.append("nginx_client_max_body_size {0} is not an nginx size such as 10m or 512k".format(quoted(size)))
    addresses = settings["nginx_allow"] + settings["nginx_real_ip_from"] + _flattened(location.get("allow", []) for location in settings["nginx_locations"])
    for address in addresses:
        if not matches(ADDRESS, address):
            problems.append("nginx_allow/nginx_real_ip_from/nginx_locations[].allow: {0} is not an address or network".format(quoted(address)))
    return problems


def _listen_problems(settings):
    problems = []
    addresses = settings["nginx_listen_addresses"]
    for address in addresses:
        try:
            ipaddress.ip_address(address)
        except ValueError:
            problems.append("nginx_listen_addresses: {0} is not an IPv4 or IPv6 address".format(quoted(address)))
    if len(unique(addresses)) != len(addresses):
        problems.append("nginx_listen_addresses lists an address more than once")
    if settings["nginx_forwarded_proto"] and not addresses:
        problems.append("nginx_forwarded_proto {0} trusts the X-Forwarded-Proto of whoever reaches nginx: set nginx_listen_addresses to the"
                        " addresses only the proxy that sets it reaches (127.0.0.1 behind a tunnel)".format(quoted(settings["nginx_forwarded_proto"])))
    return problems


def _shared_port_problems(settings, others):
    """A server block on every address beside one on an address other than loopback, on a port both
    use: nginx hands a connection to that address only to the server blocks naming it, so the one on
    every address would not answer there (loopback it names too: listen_prefixes)."""
    problems = []
    mine = (settings["instance"], settings["nginx_listen_addresses"])
    for other in others:
        ports = ", ".join(str(port) for port in _in_both(settings["ports"], other.get("ports") or []))
        theirs = (other.get("instance"), other.get("listen_addresses") or [])
        for (named, addresses), (every, every_addresses) in ((mine, theirs), (theirs, mine)):
            specific = ", ".join(_specific(addresses))
            if ports and specific and not every_addresses:
                problems.append("nginx_listen_addresses: {0} listens on {1} and {2} on every address, both on port {3}: nginx hands a connection"
                                " to {1} only to the server blocks naming it, so {2} would not answer there; give both the same addresses,"
                                " or use loopback (which every server block names)".format(named, specific, every, ports))
    return problems


def _specific(addresses):
    """The addresses other than loopback (what is no address at all, _listen_problems reports)."""
    specific = []
    for address in addresses:
        try:
            if ipaddress.ip_address(address) not in LOOPBACK:
                specific.append(address)
        except ValueError:
            continue
    return specific


def listen_prefixes(address_lists):
    """What goes before the port in nginx's `listen` for every address of `address_lists` (the
    nginx_listen_addresses of one or more server blocks; an empty list means every address):
    "" and "[::]:" for every address, "127.0.0.1:" or "[::1]:" for one. A default server covers
    the union: nginx hands a connection to a specific address only to the servers that name it.
    Every address includes the loopback ones by name, so that a server block on every address
    still answers on 127.0.0.1 beside one that listens there only (behind a tunnel)."""
    every = False
    specific = set()
    for addresses in address_lists:
        if not addresses:
            every = True
            specific.update(LOOPBACK)
        specific.update(ipaddress.ip_address(address) for address in addresses or [])
    ordered = sorted(specific, key=lambda address: (address.version, address))
    return (["", "[::]:"] if every else []) + ["[{0}]:".format(address) if address.version == 6 else "{0}:".format(address) for address in ordered]


def _upstream_problems(settings, gunicorn):
    problems = []
    upstream, servers = settings["nginx_upstream"], settings["nginx_upstream_servers"]
    for index, server in enumerate(servers):
        if not matches(UPSTREAM, server) or str(server).startswith("unix:"):
            problems.append('nginx_upstream_servers[{0}] {1} is not "HOST:PORT"'.format(index, quoted(server)))
    if servers and upstream:
        problems.append("nginx_upstream and nginx_upstream_servers are both set: one upstream or the servers of a balancer, not both")
    elif len(unique(servers)) < len(servers):
        problems.append("nginx_upstream_servers lists a server twice")
    media = [str(location.get("path")) for location in settings["nginx_locations"] if location.get("type") == "media"]
    if servers and media:
        problems.append("nginx_locations has a media location ({0}), which a balancer (nginx_upstream_servers) cannot serve: the app writes"
                        " its uploads on the app hosts, not here; keep uploads in storage every host reaches and serve them from there".format(
                            ", ".join(media)))
    if as_bool(settings["proxies"]) and not servers:
        if upstream and not matches(UPSTREAM, upstream):
            problems.append('nginx_upstream {0} is not "HOST:PORT" or "unix:/PATH"'.format(quoted(upstream)))
        elif not upstream and not gunicorn:
            problems.append("nginx_upstream is empty and {0} does not exist: apply stagecraft.webapp.gunicorn for {1} first, or set"
                            " nginx_upstream".format(settings["gunicorn_record"], settings["instance"]))
    return problems


def settings_problems(settings, others=(), certificate=None, private_key=None, resolved=None, gunicorn=None):
    """One message per problem of the nginx role's `settings`, each naming the variable at fault.

    `others`: the other server blocks' records on the host (instance, server_names, ports);
    `certificate`, `private_key`: the info modules' results for a provided certificate and key;
    `resolved`: the static directories (and the app's base, current and shared) as `realpath`
    resolved them on the host; `gunicorn`: the gunicorn role's record of this instance, empty
    when there is none.
    """
    problems = _name_problems(settings, others) + _port_problems(settings)
    if settings["nginx_tls_mode"] == "acme":
        problems += _acme_problems(settings)
    if settings["nginx_tls_mode"] in CERTIFICATE_MODES:
        problems += _certificate_problems(settings, certificate or {}, private_key or {})
    problems += _request_problems(settings) + _listen_problems(settings) + _shared_port_problems(settings, others)
    problems += location_problems(settings["nginx_locations"], settings["app_base"], resolved)
    return problems + _upstream_problems(settings, gunicorn)

"""The ingress validator (plugins/module_utils/_ingress.py) and its filter, on rule sets drawn from
cloudflared's documentation and its own parser's cases (ingress/ingress.go, ingress_test.go).

VALID holds rule sets cloudflared accepts and so must we; INVALID holds rule sets cloudflared
refuses, or accepts although they can only be a mistake (marked "stricter"), each with the part
of the message that must name the rule and the problem.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# The collection by FQCN through the checkout's self-link (see module_utils/conftest.py).
COLLECTIONS = Path(__file__).resolve().parents[3] / "collections"
if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))

from ansible_collections.stagecraft.webapp.plugins.filter.cloudflared_ingress_problems import FilterModule  # noqa: E402
from ansible_collections.stagecraft.webapp.plugins.module_utils._ingress import (  # noqa: E402
    ingress_problems, nginx_reach_problems, path_problem, service_problem)

CATCH_ALL = {"service": "http_status:404"}

VALID = {
    # The documentation's first example: two hostnames, a catch-all answering 404.
    "documented example": [
        {"hostname": "gitlab.widgetcorp.tech", "service": "http://localhost:80"},
        {"hostname": "gitlab-ssh.widgetcorp.tech", "service": "ssh://localhost:22"},
        CATCH_ALL,
    ],
    "single catch-all rule only": [{"service": "https://localhost:8000"}],
    "catch-all written as hostname *": [{"hostname": "tunnel1.example.com", "service": "https://localhost:8000"},
                                        {"hostname": "*", "service": "https://localhost:8001"}],
    "wildcard subdomain": [{"hostname": "*.example.com", "service": "https://localhost:8013"}, CATCH_ALL],
    "path regex on a hostname": [{"hostname": "static.example.com", "path": r"\.(jpg|png|css|js)$", "service": "https://localhost:8001"},
                                 {"hostname": "static.example.com", "service": "https://localhost:8002"}, CATCH_ALL],
    "path without hostname": [{"path": "/api/.*", "service": "http://localhost:9002"}, CATCH_ALL],
    "unix sockets, plain and TLS": [{"hostname": "a.example.com", "service": "unix:/run/app/gunicorn.sock"},
                                    {"hostname": "b.example.com", "service": "unix+tls:/run/app/tls.sock"}, CATCH_ALL],
    "tcp, rdp and smb services": [{"hostname": "tcp.foo.com", "service": "tcp://127.0.0.1"},
                                  {"hostname": "rdp.foo.com", "service": "rdp://127.0.0.1:3389"},
                                  {"hostname": "smb.foo.com", "service": "smb://[::1]:445"}, CATCH_ALL],
    "websocket service": [{"hostname": "*", "service": "wss://localhost:8000"}],
    "hello world catch-all": [{"service": "hello_world"}],
    "bastion service and bastionMode without service": [{"hostname": "bastion.foo.com", "service": "bastion"},
                                                        {"hostname": "jump.foo.com", "originRequest": {"bastionMode": True}}, CATCH_ALL],
    "socks proxy with ip rules": [{"hostname": "socks.foo.com", "service": "socks-proxy", "originRequest": {"ipRules": [
        {"prefix": "1.1.1.0/24", "ports": [80, 443], "allow": True}, {"prefix": "0.0.0.0/0", "allow": False}]}}, CATCH_ALL],
    "unicode hostname (punycode)": [{"hostname": "m\u00f4\u00f4.cloudflare.com", "service": "https://localhost:8000"},
                                    {"service": "https://localhost:8001"}],
    "every origin setting typed right": [{"hostname": "app.example.com", "service": "https://127.0.0.1:8443", "originRequest": {
        "connectTimeout": "30s", "tlsTimeout": "10s", "tcpKeepAlive": "1m30s", "keepAliveTimeout": "90s", "noHappyEyeballs": False,
        "keepAliveConnections": 100, "httpHostHeader": "app.internal", "originServerName": "app.internal", "matchSNItoHost": True,
        "caPool": "/etc/ssl/certs/internal-ca.pem", "noTLSVerify": False, "disableChunkedEncoding": True, "http2Origin": True,
        "access": {"required": True, "teamName": "widgetcorp", "audTag": ["aud-1"]}}}, CATCH_ALL],
    # cloudflared's matchHost compares "*.example.com" with the suffix ".example.com", dot included.
    "wildcard, then its apex": [{"hostname": "*.example.com", "service": "http://a:1"},
                                {"hostname": "example.com", "service": "http://b:1"}, CATCH_ALL],
    "wildcard, then look-alike zones": [{"hostname": "*.example.com", "service": "http://a:1"},
                                        {"hostname": "badexample.com", "service": "http://b:1"},
                                        {"hostname": "*.notexample.com", "service": "http://c:1"}, CATCH_ALL],
    "path with a group name used twice (Go accepts it)": [
        {"hostname": "a.example.com", "path": "^/(?P<v>a)|(?P<v>b)$", "service": "http://localhost:1"}, CATCH_ALL],
    "socks proxy with a /32 ip rule": [{"hostname": "socks.foo.com", "service": "socks-proxy", "originRequest": {"ipRules": [
        {"prefix": "10.0.0.1/32", "allow": True}, {"prefix": "::1/128", "allow": True}]}}, CATCH_ALL],
    "RE2-only path syntax (\\z, \\pL, named group)": [
        {"hostname": "a.example.com", "path": r"^/(?P<v>v\d+)/\pL+\z", "service": "http://localhost:1"}, CATCH_ALL],
}

INVALID = {
    "no rules": ([], "ingress: no rules"),
    "not a list": ({"service": "http_status:404"}, "ingress: must be a list"),
    "last rule is not a catch-all": ([{"hostname": "example.com", "service": "https://localhost:8000"}],
                                     "ingress rule 1 (example.com): the last rule must match every request"),
    "first rule is a catch-all": ([{"service": "https://localhost:8000"}, {"hostname": "example.com", "service": "https://localhost:8000"}],
                                  "ingress rule 1: matches every request (no hostname, or \"*\", and no path), so rule 2 after it would never be used"),
    "hostname * before other rules": ([{"hostname": "*", "service": "http://a:1"}, {"hostname": "b.example.com", "service": "http://b:1"}, CATCH_ALL],
                                      "ingress rule 1 (*): matches every request"),
    "catch-all with a path": ([{"service": "https://localhost:8001", "path": "/subpath1/(.*)/subpath2"}],
                              "ingress rule 1: the last rule must match every request"),
    "invalid path regex": ([{"hostname": "example.com", "service": "https://localhost:8000", "path": "*/subpath2"}, CATCH_ALL],
                           'ingress rule 1 (example.com): path: "*/subpath2" is not a valid regular expression'),
    "lookahead is not RE2": ([{"hostname": "example.com", "path": "^/(?!admin)", "service": "http://a:1"}, CATCH_ALL],
                             "invalid or unsupported Perl syntax `(?!` (RE2 has no lookahead)"),
    "\\Z is Python's, not RE2's": ([{"hostname": "example.com", "path": "^/api\\Z", "service": "http://a:1"}, CATCH_ALL],
                                   'path: "^/api\\Z" is not a valid regular expression in Go\'s RE2 syntax, which cloudflared uses:'
                                   " invalid escape sequence `\\Z` (RE2 writes the end of the text as \\z)"),
    "helloworld is no service": ([{"service": "helloworld"}], '"helloworld" is not a cloudflared service; its test page is "hello_world"'),
    "bare IP as an ipRules prefix": ([{"hostname": "s.foo.com", "service": "socks-proxy", "originRequest": {"ipRules": [{"prefix": "10.0.0.1"}]}},
                                      CATCH_ALL], "prefix '10.0.0.1' has no prefix length; cloudflared reads CIDR only, e.g. 10.0.0.1/32"),
    "64-character label (stricter)": ([{"hostname": "a" * 64 + ".example.com", "service": "http://a:1"}, CATCH_ALL],
                                      'label "{0}" is 64 characters long, DNS allows at most 63 (stricter than cloudflared'.format("a" * 64)),
    "IPv6 address as hostname (stricter)": ([{"hostname": "::1", "service": "http://a:1"}, CATCH_ALL],
                                            'hostname: "::1" is an IPv6 address; a hostname is a name in your Cloudflare zone'),
    "wildcard covers a deeper wildcard (stricter)": ([{"hostname": "*.example.com", "service": "http://a:1"},
                                                      {"hostname": "*.eu.example.com", "service": "http://b:1"}, CATCH_ALL],
                                                     "ingress rule 2 (*.eu.example.com): is never used: rule 1 before it"),
    "service without scheme": ([{"service": "localhost:8000"}], 'service: "localhost:8000" is not a valid address'),
    "service with a path": ([{"service": "https://localhost:8000/static/"}], "has a path; ingress rules cannot proxy to a different path"),
    "service with a space in the host": ([{"service": "https://local host:8000"}], '"local host" is not a valid host'),
    "wildcard not at start": ([{"hostname": "test.*.example.com", "service": "https://localhost:8000"}, CATCH_ALL],
                              'at most one "*" and only as its whole first label'),
    "two wildcards (stricter for *foo)": ([{"hostname": "*foo.example.com", "service": "http://a:1"}, CATCH_ALL], "whole first label"),
    "hostname contains a port": ([{"hostname": "test.example.com:443", "service": "https://localhost:8000"}, CATCH_ALL],
                                 "ingress rule 1 (test.example.com:443): hostname: \"test.example.com:443\" has a port"),
    "hostname is a URL": ([{"hostname": "https://app.example.com", "service": "http://a:1"}, CATCH_ALL], "is a URL or has a path"),
    "http_status not a number": ([{"service": "http_status:asdf"}], "http_status takes an HTTP status code"),
    "http_status out of range": ([{"service": "http_status:8080"}], '"http_status:8080": http_status takes an HTTP status code from 100 to 599'),
    "socks5 is not a service name": ([{"service": "socks5"}], 'a SOCKS proxy is "socks-proxy"'),
    "unknown scheme (stricter)": ([{"service": "htp://localhost:8000"}], 'scheme "htp" is none of'),
    "relative unix socket (stricter)": ([{"service": "unix:run/app.sock"}], "must be absolute"),
    "port out of range": ([{"service": "http://localhost:70000"}], 'port "70000" is not a number from 1 to 65535'),
    "missing service": ([{"hostname": "a.example.com"}, CATCH_ALL], "ingress rule 1 (a.example.com): service is missing"),
    "misspelt rule key (stricter)": ([{"hostname": "a.example.com", "Service": "http://a:1"}, CATCH_ALL],
                                     '"Service" is not a key cloudflared knows (did you mean "service"?)'),
    "misspelt origin key (stricter)": ([{"service": "https://a:1", "originRequest": {"noTlsVerify": True}}],
                                       'ingress rule 1: originRequest: "noTlsVerify" is not a key cloudflared knows (did you mean "noTLSVerify"?)'),
    "duration as a number": ([{"service": "http://a:1", "originRequest": {"connectTimeout": 30}}],
                             'originRequest.connectTimeout: must be a duration such as "30s"'),
    "duration without unit": ([{"service": "http://a:1", "originRequest": {"tlsTimeout": "10"}}], '"10" is not a duration'),
    "boolean as a string": ([{"service": "http://a:1", "originRequest": {"noTLSVerify": "yes"}}], "originRequest.noTLSVerify: must be true or false"),
    "bad ip rule prefix": ([{"hostname": "s.foo.com", "service": "socks-proxy", "originRequest": {"ipRules": [{"prefix": "1.1.1/33"}]}}, CATCH_ALL],
                           "prefix '1.1.1/33' is not an address range"),
    "access audTag without team": ([{"service": "http://a:1", "originRequest": {"access": {"audTag": ["x"]}}}], "audTag needs teamName"),
    "rule hidden by an earlier wildcard (stricter)": ([{"hostname": "*.example.com", "service": "http://a:1"},
                                                       {"hostname": "api.example.com", "service": "http://b:1"}, CATCH_ALL],
                                                      "ingress rule 2 (api.example.com): is never used: rule 1 before it"),
    "duplicate hostname (stricter)": ([{"hostname": "a.example.com", "service": "http://a:1"},
                                       {"hostname": "A.example.com", "service": "http://b:1"}, CATCH_ALL], "rule 2 (A.example.com): is never used"),
    "bad defaults": ([CATCH_ALL], "originRequest.keepAliveConnections: must be a whole number"),
}
BAD_DEFAULTS = {"keepAliveConnections": -1}


@pytest.mark.parametrize("name", VALID)
def test_valid_rule_sets_have_no_problems(name):
    assert ingress_problems(VALID[name]) == []


@pytest.mark.parametrize("name", INVALID)
def test_invalid_rule_sets_are_refused_naming_the_rule(name):
    rules, expected = INVALID[name]
    problems = ingress_problems(rules, BAD_DEFAULTS if name == "bad defaults" else None)
    assert any(expected in problem for problem in problems), problems


def test_there_are_at_least_twenty_cases_of_each_kind():
    assert len(VALID) >= 15 and len(INVALID) >= 20 and len(VALID) + len(INVALID) >= 40


def test_rule_after_catch_all_names_every_rule_it_hides():
    rules = [{"hostname": "a.example.com", "service": "http://a:1"}, {"service": "http://b:1"},
             {"hostname": "c.example.com", "service": "http://c:1"}, CATCH_ALL]
    assert ingress_problems(rules) == [
        'ingress rule 2: matches every request (no hostname, or "*", and no path), so rules 3-4 after it would never be used;'
        " only the last rule may be a catch-all",
    ]


def test_every_problem_is_reported_at_once_in_rule_order():
    rules = [{"hostname": "a.example.com:80", "service": "localhost"}, {"hostname": "b.example.com", "path": "(", "service": "http://b:1"}]
    problems = ingress_problems(rules)
    assert [problem.split("): ")[0] for problem in problems] == [
        "ingress rule 1 (a.example.com:80", "ingress rule 1 (a.example.com:80", "ingress rule 2 (b.example.com", "ingress rule 2 (b.example.com"]
    assert "the last rule must match every request" in problems[-1]


def test_defaults_bastion_mode_lets_rules_leave_out_the_service():
    assert ingress_problems([{"hostname": "jump.example.com"}, CATCH_ALL], {"bastionMode": True}) == []
    assert "service is missing" in ingress_problems([{"hostname": "jump.example.com"}, CATCH_ALL], {"bastionMode": False})[0]


def test_same_hostname_with_other_paths_is_not_hidden():
    rules = [{"hostname": "a.example.com", "path": "^/api", "service": "http://a:1"},
             {"hostname": "a.example.com", "path": "^/static", "service": "http://b:1"},
             {"hostname": "a.example.com", "service": "http://c:1"}, CATCH_ALL]
    assert ingress_problems(rules) == []


@pytest.mark.parametrize("path, accepted", [
    (r"\.(jpg|png|css|js)$", True), (r"[[:alpha:]]+", True), (r"\Z", False), (r"\u00e9", False), (r"\C", False),
    (r"\p{Foo}", False), (r"\pX", False), ("[[:foo:]]", False), ("((a{1000}){1000})", False), (r"\x{110000}", False),
    ("(?P<n>a)(?P<n>b)", True), (r"\Qa.b\E", True), (r"(?i)x(?s:y)", True), (r"a{,5}", True),
    (r"a*?", True), ("(?U)a+", True), (r"\1", False), (r"a*+", False), (r"a**", False), ("a{1001}", False), ("(?<=a)b", False),
    ("(?>a)", False), ("(?#comment)", False), ("[a-", False), ("", True),
])
def test_path_follows_re2_syntax(path, accepted):
    assert (path_problem(path) is None) is accepted, path_problem(path)


@pytest.mark.parametrize("service, accepted", [
    ("http://127.0.0.1:8000", True), ("HTTP://LOCALHOST", True), ("http://[::1]:8000", True), ("unix:/run/x.sock", True),
    ("http_status:503", True), ("hello-world", True), ("hello_world", True), ("helloworld", False),
    ("http://127.0.0.1:8000?x=1", False), ("http://user:pw@host", False),
    ("http://[nope]:1", False), ("http://host:0", False), ("http://:80", False), ("unix:", False),
])
def test_service_forms(service, accepted):
    assert (service_problem(service) is None) is accepted, service_problem(service)


def test_filter_plugin_exposes_the_validator():
    problems = FilterModule().filters()["cloudflared_ingress_problems"]
    assert problems([CATCH_ALL]) == []
    assert problems([CATCH_ALL], {"connectTimeout": 5})[0].startswith("originRequest.connectTimeout: must be a duration")


LOOPBACK_NGINX = {"server_names": ["shop.example.com"], "listen_addresses": ["127.0.0.1"], "http_port": 80, "https_port": None}


@pytest.mark.parametrize("rules, nginx", [
    ([{"hostname": "shop.example.com", "service": "http://127.0.0.1:80"}, CATCH_ALL], LOOPBACK_NGINX),
    ([{"hostname": "shop.example.com", "service": "http://127.0.0.1"}, {"service": "http://127.0.0.1:80"}], LOOPBACK_NGINX),
    ([{"hostname": "*.example.com", "service": "http://[::1]:8080"}, CATCH_ALL],
     dict(LOOPBACK_NGINX, listen_addresses=["127.0.0.1", "::1"], http_port=8080)),
    ([{"hostname": "shop.example.com", "service": "https://127.0.0.1:8443"}, CATCH_ALL], dict(LOOPBACK_NGINX, https_port=8443)),
    # Every address: whatever address of the host the rule names, nginx listens there.
    ([{"hostname": "shop.example.com", "service": "http://10.0.0.2:80"}, CATCH_ALL], dict(LOOPBACK_NGINX, listen_addresses=[])),
    # Rules for other names, and services that are not nginx, are not nginx's business.
    ([{"hostname": "grafana.example.com", "service": "http://192.0.2.5:3000"}, {"hostname": "shop.example.com", "service": "hello_world"},
      {"hostname": "shop.example.com", "service": "unix:/run/app.sock"}, {"service": "http_status:404"}], LOOPBACK_NGINX),
    # Not a rule set at all: the ingress check says so, not this one.
    ("nonsense", LOOPBACK_NGINX),
    ([{"hostname": "shop.example.com", "service": "http://:80"}, "x", CATCH_ALL], LOOPBACK_NGINX),
])
def test_rules_that_reach_nginx_where_it_listens_pass(rules, nginx):
    assert nginx_reach_problems(rules, **nginx) == []


@pytest.mark.parametrize("rules, nginx, expected", [
    ([{"hostname": "shop.example.com", "service": "http://192.0.2.5:80"}, CATCH_ALL], LOOPBACK_NGINX, [
        'cloudflared_ingress rule 1 (shop.example.com): service "http://192.0.2.5:80" is not an address nginx listens on'
        " (nginx_listen_addresses: 127.0.0.1; nginx_http_port: 80): name http://127.0.0.1:80"]),
    # The catch-all takes the app's names too; a wildcard rule covers them; the port counts.
    ([{"hostname": "*.example.com", "service": "http://127.0.0.1:8080"}, {"service": "http://localhost"}], LOOPBACK_NGINX, [
        'cloudflared_ingress rule 1 (*.example.com): service "http://127.0.0.1:8080" is not an address nginx listens on'
        " (nginx_listen_addresses: 127.0.0.1; nginx_http_port: 80): name http://127.0.0.1:80",
        'cloudflared_ingress rule 2: service "http://localhost" is not an address nginx listens on'
        " (nginx_listen_addresses: 127.0.0.1; nginx_http_port: 80): name http://127.0.0.1:80"]),
    # https where nginx speaks no TLS; IPv6 loopback where it listens on IPv4 only.
    ([{"hostname": "shop.example.com", "service": "https://127.0.0.1:443"}, {"hostname": "shop.example.com", "path": "^/a", "service": "http://[::1]:80"},
      CATCH_ALL], LOOPBACK_NGINX, [
        'cloudflared_ingress rule 1 (shop.example.com): service "https://127.0.0.1:443" is not an address nginx listens on'
        " (nginx_listen_addresses: 127.0.0.1; nginx_http_port: 80, no TLS port): name http://127.0.0.1:80",
        'cloudflared_ingress rule 2 (shop.example.com): service "http://[::1]:80" is not an address nginx listens on'
        " (nginx_listen_addresses: 127.0.0.1; nginx_http_port: 80): name http://127.0.0.1:80"]),
    ([{"hostname": "shop.example.com", "service": "https://[::1]:443"}, CATCH_ALL], dict(LOOPBACK_NGINX, listen_addresses=["::1"], https_port=8443), [
        'cloudflared_ingress rule 1 (shop.example.com): service "https://[::1]:443" is not an address nginx listens on'
        " (nginx_listen_addresses: ::1; nginx_http_port: 80, nginx_https_port: 8443): name http://[::1]:80 or https://[::1]:8443"]),
    # Every address, but not that port.
    ([{"hostname": "shop.example.com", "service": "http://10.0.0.2:8000"}, CATCH_ALL], dict(LOOPBACK_NGINX, listen_addresses=[]), [
        'cloudflared_ingress rule 1 (shop.example.com): service "http://10.0.0.2:8000" is not an address nginx listens on'
        " (nginx_listen_addresses: every address; nginx_http_port: 80): name http://127.0.0.1:80"]),
])
def test_rules_that_miss_nginx_are_named_with_the_settings(rules, nginx, expected):
    assert nginx_reach_problems(rules, **nginx) == expected

"""The nginx role's preflight rules (plugins/module_utils/_nginx_settings.py) through its filter:
every message, none for settings the role takes, and what the preflight read on the host."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

# The collection by FQCN through the checkout's self-link (see module_utils/conftest.py).
COLLECTIONS = Path(__file__).resolve().parents[3] / "collections"
if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))

from ansible_collections.stagecraft.webapp.plugins.filter.nginx_layout import FilterModule as LayoutFilters  # noqa: E402
from ansible_collections.stagecraft.webapp.plugins.filter.nginx_listen_prefixes import FilterModule as ListenFilters  # noqa: E402
from ansible_collections.stagecraft.webapp.plugins.filter.nginx_problems import FilterModule  # noqa: E402

problems = FilterModule().filters()["nginx_problems"]
layout = LayoutFilters().filters()["nginx_layout"]
DEFAULTS = yaml.safe_load((COLLECTIONS.parent / "roles" / "nginx" / "defaults" / "main.yml").read_text())
# What the layout reads besides what the rules read (the role's defaults stand in for them here).
LAYOUT_READS = ("nginx_root", "nginx_acme_remaining_days", "nginx_security_headers", "nginx_hsts_environments", "nginx_hsts_max_age",
                "nginx_hsts_include_subdomains", "nginx_hsts_preload", "nginx_media_inline_extensions", "nginx_cloudflare_origin_pull_ca")
listen_prefixes = ListenFilters().filters()["nginx_listen_prefixes"]
GUNICORN = {"instance": "shop-prod", "listen": "unix", "socket": "/run/stagecraft/shop-prod.sock"}
PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
KEY = "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n"
# What community.crypto's info modules answer, in the parts the rules read.
CERTIFICATE = {"not_after": "20300101000000Z", "expired": False, "subject": {"commonName": "shop.test"}, "public_key": "PUBLIC A"}
PRIVATE_KEY = {"public_key": "PUBLIC A"}
NAMES = 'lowercase labels of letters, digits and "-", separated by dots; a leading "*." wildcard'


def settings(**changes):
    """The role's defaults for app "shop" in "prod" on shop.test with `changes`, as the preflight hands them over:
    vars/main.yml's _nginx_settings combined with its _nginx_layout."""
    values = {
        "nginx_app_name": "shop", "nginx_app_env": "prod", "nginx_server_names": ["shop.test"], "nginx_http_port": 80, "nginx_https_port": 443,
        "nginx_tls_mode": "selfsigned", "nginx_tls_certificate": "", "nginx_tls_private_key": "", "nginx_acme_email": "",
        "nginx_acme_terms_agreed": False, "nginx_acme_directory": "https://acme-v02.api.letsencrypt.org/directory", "nginx_acme_ca_bundle": "",
        "nginx_client_max_body_size": "10m", "nginx_allow": [], "nginx_real_ip_from": [], "nginx_locations": [{"path": "/"}],
        "nginx_upstream": "", "nginx_upstream_servers": [], "nginx_listen_addresses": [], "nginx_forwarded_proto": "",
    }
    values.update(changes)
    return dict(values, **layout(dict(DEFAULTS, **values)))


def check(changes, others=(), certificate=None, private_key=None, resolved=None, gunicorn=None):
    return problems(settings(**changes), list(others), certificate or {}, private_key or {}, resolved or {}, GUNICORN if gunicorn is None else gunicorn)


@pytest.mark.parametrize("changes", [
    {},
    {"nginx_app_name": "a", "nginx_app_env": "dev_2", "nginx_server_names": ["*.shop.test", "shop.test", "x" * 63 + ".test"],
     "nginx_http_port": "8080", "nginx_https_port": "8443", "nginx_client_max_body_size": "512K"},
    {"nginx_tls_mode": "none", "nginx_https_port": 80},
    {"nginx_tls_mode": "acme", "nginx_acme_email": "ops@shop.test", "nginx_acme_terms_agreed": "yes", "nginx_acme_ca_bundle": "/etc/ca.pem",
     "nginx_acme_directory": "https://localhost:14000/dir"},
    {"nginx_allow": ["10.0.0.0/8", "2001:db8::/32", "unix:"], "nginx_real_ip_from": ["173.245.48.0/20"],
     "nginx_locations": [{"path": "/", "allow": ["192.168.1.1"]}, {"path": "/static/", "type": "static", "dir": "staticfiles", "allow": [["::1"]]}]},
    {"nginx_upstream": "127.0.0.1:8000"},
    {"nginx_upstream": "unix:/run/app.sock"},
    {"nginx_upstream_servers": ["10.0.0.2:8000", "[2001:db8::2]:8000", "app1.internal:8000"]},
    # Behind a tunnel: loopback only, the proxy's X-Forwarded-Proto passed on.
    {"nginx_tls_mode": "none", "nginx_listen_addresses": ["127.0.0.1", "::1"], "nginx_forwarded_proto": "https"},
    {"nginx_listen_addresses": ["10.0.0.2"]},
    # Only static files: no upstream is needed.
    {"nginx_locations": [{"path": "/", "type": "spa", "dir": "dist"}]},
])
def test_settings_the_role_takes_have_no_problem(changes):
    assert check(changes) == []


def test_a_provided_certificate_and_its_key_have_no_problem():
    for mode in ("provided", "cloudflare_origin"):
        assert check({"nginx_tls_mode": mode, "nginx_tls_certificate": PEM, "nginx_tls_private_key": KEY}, certificate=CERTIFICATE,
                     private_key=PRIVATE_KEY) == []


@pytest.mark.parametrize("changes, expected", [
    ({"nginx_app_name": "Shop"}, ['nginx_app_name "Shop" is not valid: lowercase letters, digits, "_" and "-", starting with a letter']),
    # A trailing line break once passed "^...$".
    ({"nginx_app_name": "shop\n"}, ['nginx_app_name "shop\\n" is not valid: lowercase letters, digits, "_" and "-", starting with a letter']),
    ({"nginx_app_env": "pro-d"}, ['nginx_app_env "pro-d" is not valid: lowercase letters, digits and "_", starting with a letter']),
    ({"nginx_server_names": []}, ["nginx_server_names is empty: at least one host name is needed"]),
    ({"nginx_server_names": ["shop_test!", 42, "Shop.test", "x" * 64 + ".test", ("a." * 127) + "aa"]}, [
        'nginx_server_names: {0} is not a valid host name ({1})'.format(name, NAMES)
        for name in ('"shop_test!"', "42", '"Shop.test"', '"{0}.test"'.format("x" * 64), '"{0}aa"'.format("a." * 127))]),
    ({"nginx_server_names": ["*.shop.test"], "nginx_tls_mode": "acme", "nginx_acme_email": "ops@shop.test", "nginx_acme_terms_agreed": True}, [
        'nginx_server_names: "*.shop.test" is a wildcard, which HTTP-01 cannot validate; use provided with a certificate obtained elsewhere']),
    ({"nginx_server_names": ["shop.test", "www.shop.test", "shop.test"]}, ["nginx_server_names lists a name more than once"]),
    ({"nginx_http_port": 0, "nginx_https_port": "70000"}, [
        "nginx_http_port must be within 1-65535 (got 0)", "nginx_https_port must be within 1-65535 (got 70000)"]),
    ({"nginx_http_port": "abc"}, ["nginx_http_port must be within 1-65535 (got abc)"]),
    ({"nginx_https_port": 80}, ["nginx_http_port and nginx_https_port are both 80"]),
    ({"nginx_tls_mode": "acme"}, [
        'nginx_acme_email "" is not an e-mail address; the acme mode needs a contact address',
        "nginx_acme_terms_agreed must be true for the acme mode (read the terms of service of https://acme-v02.api.letsencrypt.org/directory)"]),
    ({"nginx_tls_mode": "acme", "nginx_acme_email": "ops@shop", "nginx_acme_terms_agreed": True, "nginx_acme_directory": "ftp://acme",
      "nginx_acme_ca_bundle": "ca.pem"}, [
        'nginx_acme_email "ops@shop" is not an e-mail address; the acme mode needs a contact address',
        'nginx_acme_directory "ftp://acme" is not a URL', 'nginx_acme_ca_bundle must be an absolute path on the host (got "ca.pem")']),
    ({"nginx_tls_mode": "provided"}, [
        "nginx_tls_certificate is empty; the provided mode needs a certificate (PEM)",
        "nginx_tls_private_key is empty; the provided mode needs the certificate's private key (PEM)"]),
    ({"nginx_client_max_body_size": "10 MB"}, ['nginx_client_max_body_size "10 MB" is not an nginx size such as 10m or 512k']),
    ({"nginx_allow": ["10.0.0.0/8", "everyone"], "nginx_real_ip_from": ["cloudflare"], "nginx_locations": [{"path": "/", "allow": [["10.0.0.1; deny"]]}]}, [
        'nginx_allow/nginx_real_ip_from/nginx_locations[].allow: {0} is not an address or network'.format(address)
        for address in ('"everyone"', '"cloudflare"', '"10.0.0.1; deny"')]),
    ({"nginx_upstream_servers": ["unix:/run/a.sock", "app1", "10.0.0.2:8000"]}, [
        'nginx_upstream_servers[0] "unix:/run/a.sock" is not "HOST:PORT"', 'nginx_upstream_servers[1] "app1" is not "HOST:PORT"']),
    ({"nginx_upstream_servers": ["10.0.0.2:8000"], "nginx_upstream": "127.0.0.1:8000"}, [
        "nginx_upstream and nginx_upstream_servers are both set: one upstream or the servers of a balancer, not both"]),
    ({"nginx_upstream_servers": ["10.0.0.2:8000", "10.0.0.2:8000"]}, ["nginx_upstream_servers lists a server twice"]),
    ({"nginx_upstream_servers": ["10.0.0.2:8000"], "nginx_locations": [{"path": "/media/", "type": "media"}, {"path": "/"}]}, [
        "nginx_locations has a media location (/media/), which a balancer (nginx_upstream_servers) cannot serve: the app writes its uploads on"
        " the app hosts, not here; keep uploads in storage every host reaches and serve them from there"]),
    ({"nginx_upstream": "localhost"}, ['nginx_upstream "localhost" is not "HOST:PORT" or "unix:/PATH"']),
    ({"nginx_listen_addresses": ["localhost", "127.0.0.0/8", "127.0.0.1", "127.0.0.1"]}, [
        'nginx_listen_addresses: "localhost" is not an IPv4 or IPv6 address', 'nginx_listen_addresses: "127.0.0.0/8" is not an IPv4 or IPv6 address',
        "nginx_listen_addresses lists an address more than once"]),
    # Whoever reaches nginx could claim https.
    ({"nginx_forwarded_proto": "https"}, [
        'nginx_forwarded_proto "https" trusts the X-Forwarded-Proto of whoever reaches nginx: set nginx_listen_addresses to the addresses only'
        " the proxy that sets it reaches (127.0.0.1 behind a tunnel)"]),
])
def test_each_problem_names_the_variable(changes, expected):
    assert check(changes) == expected


def test_a_proxy_without_upstream_or_gunicorn_record_is_refused():
    assert check({}, gunicorn={}) == [
        "nginx_upstream is empty and /etc/stagecraft/shop-prod/gunicorn.json does not exist: apply stagecraft.webapp.gunicorn for shop-prod first,"
        " or set nginx_upstream"]
    assert check({"nginx_upstream": "127.0.0.1:8000"}, gunicorn={}) == []
    assert check({"nginx_locations": [{"path": "/", "type": "static", "dir": "public"}]}, gunicorn={}) == []


PROVIDED = {"nginx_tls_mode": "provided", "nginx_tls_certificate": PEM, "nginx_tls_private_key": KEY}


@pytest.mark.parametrize("certificate, private_key, expected", [
    ({"failed": True, "msg": "Unable to load certificate"}, PRIVATE_KEY, ["nginx_tls_certificate is not a PEM certificate: Unable to load certificate"]),
    ({"failed": True}, PRIVATE_KEY, ["nginx_tls_certificate is not a PEM certificate: unreadable"]),
    ({**CERTIFICATE, "expired": True, "not_after": "20200101000000Z"}, PRIVATE_KEY, [
        'nginx_tls_certificate expired on 20200101000000Z (subject {"commonName": "shop.test"})']),
    (CERTIFICATE, {"failed": True, "msg": "bad key"}, ["nginx_tls_private_key is not a readable PEM private key"]),
    (CERTIFICATE, {"public_key": "PUBLIC B"}, ["nginx_tls_private_key does not match nginx_tls_certificate (their public keys differ)"]),
])
def test_a_provided_certificate_and_key_are_examined(certificate, private_key, expected):
    assert check(PROVIDED, certificate=certificate, private_key=private_key) == expected
    assert check({**PROVIDED, "nginx_tls_mode": "cloudflare_origin"}, certificate=certificate, private_key=private_key) == expected


def test_no_message_holds_the_private_key():
    found = check({**PROVIDED, "nginx_app_name": "Bad"}, certificate={"failed": True, "msg": "no"}, private_key={"public_key": "PUBLIC B"})
    assert found and not any("PRIVATE KEY" in message or "MIIE" in message for message in found)


OTHERS = [
    {"instance": "shop-dev", "server_names": ["dev.shop.test"], "ports": [80, 443]},
    {"instance": "www-prod", "server_names": ["www.shop.test", "shop.test"], "ports": [443, 80]},
    {"instance": "old-prod", "ports": [80]},
]


@pytest.mark.parametrize("changes, expected", [
    ({"nginx_server_names": ["www.shop.test", "shop.test", "api.shop.test"]}, [
        "nginx_server_names: www.shop.test, shop.test on port 80, 443 is already served by www-prod on this host; choose another name or port"]),
    ({"nginx_tls_mode": "none"}, ["nginx_server_names: shop.test on port 80 is already served by www-prod on this host; choose another name or port"]),
    # Another port, or another name: no clash.
    ({"nginx_http_port": 8080, "nginx_https_port": 8443}, []),
    ({"nginx_server_names": ["api.shop.test"]}, []),
])
def test_a_name_another_server_block_serves_on_the_same_port_is_refused(changes, expected):
    assert check(changes, others=OTHERS) == expected


def test_the_locations_rules_are_checked_with_the_host_s_realpaths():
    locations = [{"path": "/", "type": "static", "dir": "etc-link"}]
    resolved = {"/srv/shop/prod/current/etc-link": "/etc"}
    assert check({"nginx_locations": locations}, resolved=resolved) == [
        'nginx_locations[0].dir "etc-link" leads out of this app\'s release and shared directories through a symlink: on the host it is /etc']
    assert check({"nginx_locations": [{"path": "/files/", "type": "static", "dir": "../../etc"}, {"path": "/"}]}) == [
        'nginx_locations[0].dir "../../etc" climbs with ".."; name a directory inside the release or /srv/shop/prod/shared']


def test_every_problem_is_reported_at_once_in_the_rules_order():
    found = check({"nginx_app_env": "Prod", "nginx_https_port": 80, "nginx_tls_mode": "provided", "nginx_client_max_body_size": "big",
                   "nginx_locations": [{"path": "x"}], "nginx_upstream": "nowhere"})
    assert found == [
        'nginx_app_env "Prod" is not valid: lowercase letters, digits and "_", starting with a letter',
        "nginx_http_port and nginx_https_port are both 80",
        "nginx_tls_certificate is empty; the provided mode needs a certificate (PEM)",
        "nginx_tls_private_key is empty; the provided mode needs the certificate's private key (PEM)",
        'nginx_client_max_body_size "big" is not an nginx size such as 10m or 512k',
        'nginx_locations[0].path "x" must start with "/" and hold no spaces, braces or ";"',
        'nginx_upstream "nowhere" is not "HOST:PORT" or "unix:/PATH"',
    ]


def test_the_role_hands_over_every_setting_the_rules_and_the_layout_read():
    role_vars = yaml.safe_load((COLLECTIONS.parent / "roles" / "nginx" / "vars" / "main.yml").read_text())
    read = [name for name in settings() if name.startswith("nginx_")] + list(LAYOUT_READS)
    assert set(role_vars["_nginx_setting_names"]) == set(read)


@pytest.mark.parametrize("address_lists, expected", [
    # One server block on every address (the default; loopback by name too, so that it answers there
    # beside a block on loopback only), on loopback, on an IPv6 address.
    ([[]], ["", "[::]:", "127.0.0.1:", "[::1]:"]),
    ([["127.0.0.1"]], ["127.0.0.1:"]),
    ([["::1", "127.0.0.1"]], ["127.0.0.1:", "[::1]:"]),
    # The default server of a host with a public instance and one behind a tunnel: both.
    ([["127.0.0.1"], []], ["", "[::]:", "127.0.0.1:", "[::1]:"]),
    ([[], ["10.0.0.2"]], ["", "[::]:", "10.0.0.2:", "127.0.0.1:", "[::1]:"]),
    # Every instance behind a tunnel: loopback only, once.
    ([["127.0.0.1"], ["127.0.0.1"], ["10.0.0.2", "127.0.0.1"]], ["10.0.0.2:", "127.0.0.1:"]),
])
def test_listen_addresses_become_listen_prefixes(address_lists, expected):
    assert listen_prefixes(address_lists) == expected


PUBLIC = {"instance": "www-prod", "server_names": ["www.test"], "ports": [80, 443]}
PRIVATE = {"instance": "lan-prod", "server_names": ["lan.test"], "ports": [80], "listen_addresses": ["127.0.0.1", "10.0.0.2"]}


@pytest.mark.parametrize("changes, others, expected", [
    # Loopback, the same addresses, or other ports: every block answers where it should.
    ({"nginx_listen_addresses": ["127.0.0.1", "::1"]}, [PUBLIC], []),
    ({"nginx_listen_addresses": ["127.0.0.1", "10.0.0.2"]}, [PRIVATE], []),
    ({"nginx_http_port": 8080, "nginx_https_port": 8443}, [PRIVATE], []),
    ({"nginx_listen_addresses": ["10.0.0.2"], "nginx_http_port": 8080, "nginx_https_port": 8443}, [PUBLIC], []),
    # A block on every address beside one on 10.0.0.2, on a port both use, whichever comes second.
    ({}, [PRIVATE], [
        "nginx_listen_addresses: lan-prod listens on 10.0.0.2 and shop-prod on every address, both on port 80: nginx hands a connection to"
        " 10.0.0.2 only to the server blocks naming it, so shop-prod would not answer there; give both the same addresses, or use loopback"
        " (which every server block names)"]),
    ({"nginx_listen_addresses": ["10.0.0.2", "::1"]}, [PUBLIC], [
        "nginx_listen_addresses: shop-prod listens on 10.0.0.2 and www-prod on every address, both on port 80, 443: nginx hands a connection"
        " to 10.0.0.2 only to the server blocks naming it, so www-prod would not answer there; give both the same addresses, or use loopback"
        " (which every server block names)"]),
])
def test_a_block_on_every_address_beside_one_on_another_address_is_refused(changes, others, expected):
    assert check(changes, others=others) == expected


@pytest.mark.parametrize("mode, origin_pull_ca, files", [
    ("selfsigned", "", []),
    ("acme", "", []),
    ("provided", "", ["privkey.pem", "fullchain.pem"]),
    ("cloudflare_origin", "", ["privkey.pem", "fullchain.pem"]),
    ("cloudflare_origin", PEM, ["privkey.pem", "fullchain.pem", "origin-pull-ca.pem"]),
])
def test_provided_tls_files_come_from_the_roles_templates_and_the_key_is_a_secret(mode, origin_pull_ca, files):
    key = "-----BEGIN PRIVATE KEY-----\ncanary-key\n-----END PRIVATE KEY-----\n"
    entries = settings(nginx_tls_mode=mode, nginx_tls_certificate=PEM, nginx_tls_private_key=key,
                       nginx_cloudflare_origin_pull_ca=origin_pull_ca)["provided_files"]
    assert [entry["path"] for entry in entries] == ["/etc/nginx/stagecraft/tls/shop-prod/" + name for name in files]
    assert all((COLLECTIONS.parent / "roles" / "nginx" / "templates" / entry["template"]).is_file() for entry in entries)
    assert [entry["mode"] for entry in entries] == ["0600", "0644", "0644"][:len(files)]
    assert [entry.get("secret", False) for entry in entries] == [True, False, False][:len(files)]
    assert "canary-key" not in repr(entries)

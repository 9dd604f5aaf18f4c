"""The compositions' rules across roles (plugins/module_utils/_stack_settings.py) through the stack
role's filters: every message, none for the compositions as the inventories write them, and the
composed roles' settings with their argument specs' defaults."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

# The collection by FQCN through the checkout's self-link (see module_utils/conftest.py).
COLLECTIONS = Path(__file__).resolve().parents[3] / "collections"
if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))

from ansible_collections.stagecraft.webapp.plugins.filter.stack_layout import FilterModule as LayoutFilter  # noqa: E402
from ansible_collections.stagecraft.webapp.plugins.module_utils._stack_settings import ROLES_READING_RECORDS, host_read  # noqa: E402
from ansible_collections.stagecraft.webapp.plugins.filter.stack_problems import FilterModule as ProblemsFilter  # noqa: E402
from ansible_collections.stagecraft.webapp.plugins.filter.stack_settings import FilterModule as SettingsFilter  # noqa: E402

problems = ProblemsFilter().filters()["stack_problems"]
stack_layout = LayoutFilter().filters()["stack_layout"]
stack_settings = SettingsFilter().filters()["stack_settings"]
ROLE_VARS = yaml.safe_load((COLLECTIONS.parent / "roles" / "stack" / "vars" / "main.yml").read_text())
UNSET = ROLE_VARS["_stack_unset"]


# Behind a locally managed tunnel, nginx on loopback as the prod composition sets it.
TUNNEL = {"stack_tunnel": True, "nginx_tls_mode": "none", "ufw_profile": "tunnel", "cloudflared_mode": "local",
          "nginx_server_names": ["shop.example.com"], "nginx_listen_addresses": ["127.0.0.1"]}


def role_defaults():
    """The composed roles' settings as the stack role reads them when the inventory sets none."""
    return stack_settings({name: UNSET for name in ROLE_VARS["_stack_names"]}, UNSET)


def settings(env, **changes):
    """Environment `env` as the inventories write its composition (prod: provided TLS; dev:
    nginx_allow; balanced: gunicorn for the balancers behind an internal firewall), with `changes`."""
    composition = changes.get("stack_composition") or env
    values = dict(role_defaults(), stack_env=env, stack_composition="", stack_tunnel=False, stack_firewall=True, stack_prod_allow=[],
                  stack_dev_branch="develop", stack_playbook_composition="", inventory_hostname="web1", _stack_instance="shop-" + env)
    values.update({
        "prod": {"nginx_tls_mode": "provided", "gunicorn_listen": "unix"},
        "dev": {"nginx_allow": ["10.0.0.0/8"]},
        "balanced": {"gunicorn_listen": "tcp", "gunicorn_bind_address": "10.0.0.5", "gunicorn_port": 8000,
                     "gunicorn_ip_address_allow": ["127.0.0.1", "10.0.0.0/24"], "deploy_balancers": ["lb1"],
                     "deploy_balancer_member": "10.0.0.5:8000", "ufw_profile": "internal", "ufw_web_ports": [8000]},
    }.get(composition, {}))
    values.update(changes)
    given = values["stack_composition"] or (values["stack_env"] if values["stack_env"] in ("dev", "prod", "balanced") else "")
    values.setdefault("_stack_composition", given)
    return values


def test_the_settings_are_the_roles_defaults_unless_set():
    defaults = role_defaults()
    assert set(defaults) == set(ROLE_VARS["_stack_names"])
    assert (defaults["nginx_tls_mode"], defaults["gunicorn_listen"], defaults["ufw_profile"], defaults["deploy_health_path"]) == (
        "selfsigned", "tcp", "internal", "/healthz")
    assert defaults["gunicorn_socket_activation"] is True and defaults["deploy_balancers"] == []
    given = stack_settings({"nginx_tls_mode": "acme", "gunicorn_port": UNSET, "nginx_allow": []}, UNSET)
    assert given == {"nginx_tls_mode": "acme", "gunicorn_port": 8000, "nginx_allow": []}


@pytest.mark.parametrize("composition, changes", [
    ("prod", {}),
    ("prod", {"stack_tunnel": True, "nginx_tls_mode": "none", "ufw_profile": "tunnel"}),
    ("prod", {"stack_tunnel": True, "nginx_tls_mode": "cloudflare_origin", "stack_firewall": False}),
    ("prod", dict(TUNNEL, cloudflared_ingress=[{"hostname": "shop.example.com", "service": "http://127.0.0.1:80"}, {"service": "http_status:404"}])),
    # A remotely managed tunnel's rules live at Cloudflare: cloudflared_ingress is not used.
    ("prod", dict(TUNNEL, cloudflared_mode="token", cloudflared_ingress=[{"service": "http://192.0.2.5:80"}])),
    ("prod", {"gunicorn_listen": "tcp", "gunicorn_bind_address": "::1",
              "gunicorn_env_vars": {"DEBUG": "0", "APP_DEBUG": "off", "FLASK_DEBUG": False, "OTHER_DEBUG": "1"}}),
    # Each exception named in stack_prod_allow.
    ("prod", {"nginx_tls_mode": "selfsigned", "gunicorn_log_level": "debug", "deploy_version": "develop", "gunicorn_socket_activation": False,
              "nginx_hsts_environments": [], "stack_prod_allow": ["selfsigned", "debug", "dev_branch", "no_socket_activation", "no_hsts"]}),
    ("prod", {"nginx_tls_mode": "none", "gunicorn_listen": "tcp", "gunicorn_bind_address": "0.0.0.0", "stack_prod_allow": ["plain_http", "public_app_port"]}),
    ("dev", {}),
    ("dev", {"nginx_allow": [], "ufw_profile": "internal"}),
    ("dev", {"nginx_tls_mode": "selfsigned", "gunicorn_log_level": "debug", "deploy_version": "develop", "stack_playbook_composition": "dev"}),
    ("balanced", {}),
    ("balanced", {"stack_firewall": False, "ufw_profile": "public", "nginx_tls_mode": "selfsigned"}),
    ("staging", {"stack_composition": "prod", "nginx_hsts_environments": ["staging"]}),
    ("prod", {"gunicorn_media": True, "nginx_locations": [{"path": "/media/", "type": "media"}, {"path": "/"}]}),
    ("dev", {"gunicorn_media": True, "gunicorn_root": "/opt/apps/", "nginx_root": "/opt/apps", "nginx_locations": [{"path": "/up/", "type": "media"}]}),
    ("balanced", {"nginx_locations": [{"path": "/static/", "type": "static", "dir": "staticfiles"}]}),
])
def test_compositions_as_the_inventories_write_them_have_no_problem(composition, changes):
    assert problems(settings(composition, **changes)) == []


@pytest.mark.parametrize("composition, changes, expected", [
    ("staging", {}, ['stack_composition is "" and stack_env "staging" names no composition: set stack_composition to dev, prod, balanced']),
    ("dev", {"stack_playbook_composition": "prod", "stack_tunnel": "yes", "nginx_allow": []}, [
        "this is the prod playbook, but the inventory gives web1 the dev composition (shop-dev); use playbooks/dev.yml or playbooks/deploy.yml",
        "stack_tunnel is for the prod composition only"]),
    ("prod", {"gunicorn_env_vars": {"DJANGO_DEBUG": "true"}}, [
        "debug settings are on (DEBUG-like variables in gunicorn_env_vars, gunicorn reload or log level debug) [stack_prod_allow: debug]"]),
    ("prod", {"gunicorn_extra_settings": {"reload": "yes"}}, [
        "debug settings are on (DEBUG-like variables in gunicorn_env_vars, gunicorn reload or log level debug) [stack_prod_allow: debug]"]),
    ("balanced", {"gunicorn_log_level": "debug"}, [
        "debug settings are on (DEBUG-like variables in gunicorn_env_vars, gunicorn reload or log level debug) [stack_prod_allow: debug]"]),
    ("prod", {"nginx_tls_mode": "selfsigned"}, [
        "nginx_tls_mode is selfsigned, which browsers warn about; use provided, acme or cloudflare_origin [stack_prod_allow: selfsigned]"]),
    ("prod", {"gunicorn_listen": "tcp", "gunicorn_bind_address": "0.0.0.0"}, [
        "gunicorn listens on 0.0.0.0:8000, not on loopback: the app port would bypass nginx [stack_prod_allow: public_app_port]"]),
    ("prod", {"nginx_tls_mode": "none"}, [
        "nginx_tls_mode is none: plain HTTP to the world (fine only behind the tunnel) [stack_prod_allow: plain_http]"]),
    ("production", {"stack_composition": "prod"}, ["no HSTS header: production is not in nginx_hsts_environments [stack_prod_allow: no_hsts]"]),
    ("prod", {"gunicorn_socket_activation": False}, [
        "gunicorn_socket_activation is false: every restart refuses connections while it lasts (deploys and changed settings)"
        " [stack_prod_allow: no_socket_activation]"]),
    ("balanced", {"deploy_version": "develop"}, ["deploy_version is the dev branch develop [stack_prod_allow: dev_branch]"]),
    # Behind the tunnel nginx listens on loopback: a rule for the app that names another address reaches nothing.
    ("prod", dict(TUNNEL, cloudflared_ingress=[{"hostname": "shop.example.com", "service": "http://192.0.2.5:80"}, {"service": "http_status:404"}]), [
        'cloudflared_ingress rule 1 (shop.example.com): service "http://192.0.2.5:80" is not an address nginx listens on'
        " (nginx_listen_addresses: 127.0.0.1; nginx_http_port: 80): name http://127.0.0.1:80"]),
    ("prod", {"stack_tunnel": True, "nginx_tls_mode": "acme", "ufw_profile": "public"}, [
        "the tunnel needs ufw_profile: tunnel (got public)",
        "nginx_tls_mode acme cannot work behind the tunnel (the HTTP-01 challenge reaches Cloudflare, not nginx): use none or cloudflare_origin"]),
    ("balanced", {"gunicorn_listen": "unix", "gunicorn_ip_address_allow": ["127.0.0.1", "::1/128", "127.0.0.0/8"], "deploy_balancers": [],
                  "deploy_balancer_member": "", "deploy_maintenance": True}, [
        "the balancers reach gunicorn over the network: set gunicorn_listen to tcp and gunicorn_bind_address to an address they reach (got unix )",
        "gunicorn_ip_address_allow lets in localhost only, so the hardened unit drops every packet of the balancers: add their addresses",
        "deploy_balancers is empty: name the balancers in front of this host (the hosts of the group balancer)",
        "deploy_balancer_member is empty: set it to this host as the balancers reach it, HOST:PORT",
        "deploy_maintenance: the app hosts run no nginx to serve the maintenance page, and the balancers do not see it; each host leaves the"
        " balancers during its switch instead",
    ]),
    ("balanced", {"gunicorn_bind_address": "localhost", "ufw_web_ports": [80]}, [
        "the balancers reach gunicorn over the network: set gunicorn_listen to tcp and gunicorn_bind_address to an address they reach (got tcp localhost)",
        "the firewall must open the gunicorn port to the balancers only: set ufw_profile: internal, ufw_web_sources to their addresses and"
        " ufw_web_ports to [8000]"]),
    ("balanced", {"ufw_profile": "public"}, [
        "the firewall must open the gunicorn port to the balancers only: set ufw_profile: internal, ufw_web_sources to their addresses and"
        " ufw_web_ports to [8000]"]),
    ("dev", {"nginx_allow": [], "ufw_profile": "public"}, [
        "dev is reachable only from allowed networks: set nginx_allow, or ufw_profile: internal with ufw_web_sources"]),
    ("dev", {"nginx_allow": [], "stack_firewall": False}, [
        "dev is reachable only from allowed networks: set nginx_allow, or ufw_profile: internal with ufw_web_sources"]),
    ("prod", {"nginx_locations": [{"path": "/media/", "type": "media"}, {"path": "/"}]}, [
        "nginx_locations has a media location (/media/) but gunicorn_media is false: set gunicorn_media: true, so that the gunicorn role makes"
        " the media directory the app writes and nginx reads"]),
    ("prod", {"gunicorn_media": True, "gunicorn_root": "/opt/apps", "gunicorn_media_group": "shop-prod",
              "nginx_locations": [{"path": "/media/", "type": "media"}]}, [
        "nginx_locations has a media location (/media/) serving /srv/<app>/<env>/media, but gunicorn_media makes /opt/apps/<app>/<env>/media:"
        " set nginx_root and gunicorn_root alike",
        'nginx_locations has a media location (/media/), but gunicorn_media_group is "shop-prod", not www-data, the user nginx runs as: nginx'
        " could not read the uploads; leave gunicorn_media_group at www-data"]),
    ("balanced", {"gunicorn_media": True, "nginx_locations": [{"path": "/media/", "type": "media"}, {"path": "/"}]}, [
        "nginx_locations has a media location (/media/), which the balanced composition cannot serve: nginx runs on the balancers, and the app"
        " writes its uploads on each app host, out of their reach; keep uploads in storage every host reaches (object storage) and serve them"
        " from there, or use the prod composition"]),
])
def test_each_problem_is_named(composition, changes, expected):
    assert problems(settings(composition, **changes)) == expected


def test_prod_reports_every_problem_at_once_in_the_rules_order():
    found = problems(settings("prod", nginx_tls_mode="none", gunicorn_env_vars={"DEBUG": "1"}, deploy_version="develop", stack_prod_allow=["debug"]))
    assert found == [
        "nginx_tls_mode is none: plain HTTP to the world (fine only behind the tunnel) [stack_prod_allow: plain_http]",
        "deploy_version is the dev branch develop [stack_prod_allow: dev_branch]",
    ]


# What the layout reads beside what the rules read.
LAYOUT_ONLY = {"stack_app": "shop", "stack_url": "", "stack_release_only": False}


def own(values):
    """The stack role's own variables of `values`, as vars/main.yml hands them to stack_layout."""
    return {name: values[name] for name in ROLE_VARS["_stack_own_names"]}


def test_the_role_hands_over_every_setting_the_rules_read():
    given = dict(settings("prod"), **LAYOUT_ONLY)
    assert set(ROLE_VARS["_stack_names"]) | set(ROLE_VARS["_stack_own_names"]) | {"_stack_composition", "_stack_instance"} == set(given)
    assert stack_layout({name: given[name] for name in ROLE_VARS["_stack_names"]}, own(given))["checked"] == given


def layout(env="prod", **changes):
    """The layout of environment `env` of app shop (settings()) with `changes`."""
    values = dict(settings(env), nginx_server_names=["shop.example.com"], **LAYOUT_ONLY)
    values.update(changes)
    return stack_layout({name: values[name] for name in ROLE_VARS["_stack_names"]}, own(values))


@pytest.mark.parametrize("changes, origin, url", [
    ({}, "https://shop.example.com", "https://shop.example.com/"),
    ({"nginx_https_port": 8443}, "https://shop.example.com:8443", "https://shop.example.com:8443/"),
    ({"nginx_https_port": "443"}, "https://shop.example.com", "https://shop.example.com/"),
    ({"nginx_tls_mode": "none", "nginx_http_port": 8080}, "http://shop.example.com:8080", "http://shop.example.com:8080/"),
    ({"nginx_tls_mode": "none", "nginx_https_port": 8443}, "http://shop.example.com", "http://shop.example.com/"),
    # A wildcard or a regular expression is a name nginx matches, not one a client asks for.
    ({"nginx_server_names": ["*.example.com", "~^api[.]", "www.example.com", "shop.example.com"]}, "https://www.example.com",
     "https://www.example.com/"),
    ({"nginx_server_names": ["*.example.com"]}, "https://localhost", "https://localhost/"),
    # Behind the tunnel Cloudflare's edge serves https on the name, whatever nginx speaks on loopback.
    ({"stack_tunnel": True, "nginx_tls_mode": "none", "nginx_server_names": ["*.example.com", "shop.example.com"]}, "http://shop.example.com",
     "https://shop.example.com/"),
    # The inventory's URL is shown as it is.
    ({"stack_url": "https://127.0.0.1:8443"}, "https://shop.example.com", "https://127.0.0.1:8443"),
])
def test_the_report_asks_nginx_with_a_name_a_client_asks_for(changes, origin, url):
    found = layout(**changes)
    assert (found["origin"], found["health_url"], found["url"]) == (origin, origin + "/healthz", url)
    assert found["heading"] == "shop-prod (prod) " + url
    assert found["connect_address"] == "127.0.0.1"


@pytest.mark.parametrize("bind, connect_address", [("10.0.0.5", "10.0.0.5"), ("0.0.0.0", "127.0.0.1"), ("::", "127.0.0.1"), ("", "127.0.0.1")])
def test_behind_balancers_the_report_asks_gunicorn_as_they_reach_it(bind, connect_address):
    # The balanced composition runs no nginx: nginx_server_names is null.
    found = layout("balanced", gunicorn_bind_address=bind, nginx_server_names=None)
    assert (found["origin"], found["health_url"], found["connect_address"]) == ("http://10.0.0.5:8000", "http://10.0.0.5:8000/healthz", connect_address)
    assert (found["url"], found["watchdog_state"]) == ("http://10.0.0.5:8000/", "")


@pytest.mark.parametrize("env, changes, roles", [
    ("prod", {}, ["gunicorn", "nginx", "ufw", "deploy", "watchdog"]),
    ("prod", {"stack_tunnel": True, "stack_firewall": False}, ["gunicorn", "nginx", "cloudflared", "deploy", "watchdog"]),
    ("dev", {}, ["gunicorn", "nginx", "ufw", "deploy"]),
    ("balanced", {"stack_firewall": "no"}, ["gunicorn", "deploy"]),
])
def test_the_roles_composed_in_the_order_they_run(env, changes, roles):
    found = layout(env, **changes)
    assert (found["composed_roles"], found["roles_to_check"]) == (roles, roles)
    assert layout(env, stack_release_only=True, **changes)["roles_to_check"] == ["deploy"]
    # The whole composition reads the records and gunicorn's facts once; the per-push path reads nothing for its check.
    assert (found["host_read"], layout(env, stack_release_only=True, **changes)["host_read"]) == ("facts", "")
    # That read asks whether the deploy step's repository on the host is one (deploy_repo has no default).
    assert found["host_repositories"] == []
    assert layout(env, deploy_repo="/srv/git/shop.git", **changes)["host_repositories"] == ["/srv/git/shop.git"]


def test_the_host_is_read_for_the_roles_whose_preflight_reads_the_records():
    roles = COLLECTIONS.parent / "roles"
    reading = sorted(role.name for role in roles.iterdir()
                     if any("stack_host.records" in path.read_text(encoding="utf-8") for path in role.glob("[tv]a*/*.yml")) and role.name != "stack")
    assert reading == sorted(ROLES_READING_RECORDS)
    assert [host_read(names) for names in (["nginx", "deploy"], ["ufw"], ["deploy", "watchdog"], ["gunicorn"])] == ["records", "records", "", "facts"]


@pytest.mark.parametrize("env, composition, expected", [("prod", "", "prod"), ("dev", "", "dev"), ("staging", "", ""), ("staging", "prod", "prod"),
                                                        ("prod", "balanced", "balanced")])
def test_the_composition_is_stack_composition_or_the_env_naming_one(env, composition, expected):
    found = layout(env, stack_composition=composition)
    assert (found["composition"], found["instance"], found["checked"]["_stack_composition"]) == (expected, "shop-" + env, expected)
    assert found["watchdog_state"] == ("/var/lib/stagecraft/shop-{0}/watchdog.json".format(env) if expected == "prod" else "")


@pytest.mark.parametrize("root, base", [("/srv", "/srv/shop/prod"), ("/srv//", "/srv/shop/prod"), ("/", "/shop/prod")])
def test_the_environment_directory_is_under_deploy_root(root, base):
    assert layout(deploy_root=root)["base"] == base


def test_the_settings_read_no_file_once_the_filter_is_loaded(monkeypatch):
    """Ansible loads the filter files once in the controller's main process and forks a worker per task and host:
    the argument specs parsed at load serve every worker, where a parse per call cost a quarter of a no-change run."""
    def no_read(*_args, **_kwargs):
        raise AssertionError("a file was read")
    monkeypatch.setattr(Path, "read_text", no_read)
    monkeypatch.setattr("builtins.open", no_read)
    assert stack_settings({"nginx_tls_mode": UNSET, "ufw_profile": UNSET}, UNSET) == {"nginx_tls_mode": "selfsigned", "ufw_profile": "internal"}

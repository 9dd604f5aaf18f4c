# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The compositions of stagecraft.webapp.stack (dev, prod, balanced): the settings of the composed
roles it reads, and the rules across roles that no single role can see.

The stack role runs before the roles it composes (or without them, for a status report), when
their defaults are not in scope: `composed_settings` fills in what the inventory leaves unset
from the roles' argument specs.

`settings` of `stack_problems` holds those settings by name, the stack role's own
(stack_env, stack_composition, stack_tunnel, stack_firewall, stack_prod_allow,
stack_dev_branch, stack_playbook_composition), `inventory_hostname`, and the names the role
derives: `_stack_composition` (stack_composition, or stack_env when that names a composition) and
`_stack_instance` (<app>-<env>).

`layout(settings, own)` derives those names once, with the roles composed, the environment
directory and where the report and the watchdog ask (`client_name`: a server name a client can ask
for).
"""

from __future__ import annotations

from ansible_collections.stagecraft.webapp.plugins.module_utils._ingress import nginx_reach_problems
from ansible_collections.stagecraft.webapp.plugins.module_utils._instance import instance_name
from ansible_collections.stagecraft.webapp.plugins.module_utils._rules import as_bool, as_int, quoted

COMPOSITIONS = ("dev", "prod", "balanced")
# Environment variables whose truthy value turns an app's debug mode on (Flask, Django, ours).
DEBUG_VARIABLES = ("DEBUG", "APP_DEBUG", "FLASK_DEBUG", "DJANGO_DEBUG")
FALSE_TEXTS = ("", "0", "false", "no", "off")
LOOPBACK = ("127.0.0.1", "::1", "localhost")
LOOPBACK_NETWORKS = LOOPBACK + ("127.0.0.0/8", "::1/128")
# Debian's nginx workers run as this user: the group of the media directory (gunicorn_media_group).
NGINX_USER = "www-data"
# The roles whose preflight reads what the roles recorded on the host (other apps' ports, names, metrics ports).
ROLES_READING_RECORDS = ("gunicorn", "nginx", "cloudflared", "ufw")


def composed_settings(given, unset, options):
    """`given` (name: value, `unset` where the inventory sets none) with each unset value taken
    from `options`, the composed roles' argument spec options by name (their `default`)."""
    return {name: options[name].get("default") if value == unset else value for name, value in given.items()}


def debug_on(settings):
    """Whether the app would run with debug settings: a DEBUG-like environment variable with a
    truthy value, gunicorn's reload, or its log level debug."""
    variables = settings["gunicorn_env_vars"]
    flagged = [name for name in DEBUG_VARIABLES if name in variables and str(variables[name]).lower() not in FALSE_TEXTS]
    return bool(flagged) or as_bool(settings["gunicorn_extra_settings"].get("reload", False)) or settings["gunicorn_log_level"] == "debug"


def _prod_rules(settings):
    """(stack_prod_allow entry, compositions it applies to, message or None): each message names
    the entry that lets an environment break the rule on purpose."""
    tls, listen, bind = settings["nginx_tls_mode"], settings["gunicorn_listen"], settings["gunicorn_bind_address"]
    return [
        ("debug", ("prod", "balanced"), "debug settings are on (DEBUG-like variables in gunicorn_env_vars, gunicorn reload or log level debug)"
         " [stack_prod_allow: debug]" if debug_on(settings) else None),
        ("selfsigned", ("prod",), "nginx_tls_mode is selfsigned, which browsers warn about; use provided, acme or cloudflare_origin"
         " [stack_prod_allow: selfsigned]" if tls == "selfsigned" else None),
        ("public_app_port", ("prod",), "gunicorn listens on {0}:{1}, not on loopback: the app port would bypass nginx [stack_prod_allow:"
         " public_app_port]".format(bind, settings["gunicorn_port"]) if listen == "tcp" and bind not in LOOPBACK else None),
        ("plain_http", ("prod",), "nginx_tls_mode is none: plain HTTP to the world (fine only behind the tunnel) [stack_prod_allow: plain_http]"
         if tls == "none" and not as_bool(settings["stack_tunnel"]) else None),
        ("no_hsts", ("prod",), "no HSTS header: {0} is not in nginx_hsts_environments [stack_prod_allow: no_hsts]".format(settings["stack_env"])
         if settings["stack_env"] not in settings["nginx_hsts_environments"] else None),
        ("no_socket_activation", ("prod", "balanced"), "gunicorn_socket_activation is false: every restart refuses connections while it lasts"
         " (deploys and changed settings) [stack_prod_allow: no_socket_activation]" if not as_bool(settings["gunicorn_socket_activation"]) else None),
        ("dev_branch", ("prod", "balanced"), "deploy_version is the dev branch {0} [stack_prod_allow: dev_branch]".format(settings["stack_dev_branch"])
         if settings["deploy_version"] == settings["stack_dev_branch"] else None),
    ]


def _tunnel_problems(settings):
    problems = []
    if as_bool(settings["stack_firewall"]) and settings["ufw_profile"] != "tunnel":
        problems.append("the tunnel needs ufw_profile: tunnel (got {0})".format(settings["ufw_profile"]))
    if settings["nginx_tls_mode"] == "acme":
        problems.append("nginx_tls_mode acme cannot work behind the tunnel (the HTTP-01 challenge reaches Cloudflare, not nginx): use none or"
                        " cloudflare_origin")
    # A locally managed tunnel's rules are ours to check (a remotely managed one keeps them at Cloudflare).
    if settings["cloudflared_mode"] == "local":
        problems += nginx_reach_problems(settings["cloudflared_ingress"], settings["nginx_server_names"], settings["nginx_listen_addresses"],
                                         settings["nginx_http_port"], None if settings["nginx_tls_mode"] == "none" else settings["nginx_https_port"])
    return problems


def _balanced_problems(settings):
    problems = []
    listen, bind, port = settings["gunicorn_listen"], settings["gunicorn_bind_address"], settings["gunicorn_port"]
    if listen != "tcp" or bind in LOOPBACK:
        problems.append("the balancers reach gunicorn over the network: set gunicorn_listen to tcp and gunicorn_bind_address to an address they"
                        " reach (got {0} {1})".format(listen, bind if listen == "tcp" else ""))
    if not [address for address in settings["gunicorn_ip_address_allow"] if address not in LOOPBACK_NETWORKS]:
        problems.append("gunicorn_ip_address_allow lets in localhost only, so the hardened unit drops every packet of the balancers: add their"
                        " addresses")
    if not settings["deploy_balancers"]:
        problems.append("deploy_balancers is empty: name the balancers in front of this host (the hosts of the group balancer)")
    if not settings["deploy_balancer_member"]:
        problems.append("deploy_balancer_member is empty: set it to this host as the balancers reach it, HOST:PORT")
    if as_bool(settings["deploy_maintenance"]):
        problems.append("deploy_maintenance: the app hosts run no nginx to serve the maintenance page, and the balancers do not see it; each host"
                        " leaves the balancers during its switch instead")
    if as_bool(settings["stack_firewall"]) and (settings["ufw_profile"] != "internal" or port not in settings["ufw_web_ports"]):
        problems.append("the firewall must open the gunicorn port to the balancers only: set ufw_profile: internal, ufw_web_sources to their"
                        " addresses and ufw_web_ports to [{0}]".format(port))
    return problems


def _media_problems(settings, composition):
    """A media location serves <nginx_root>/<app>/<env>/media: the directory the gunicorn role's
    gunicorn_media makes there, on the same host, for nginx's www-data to read."""
    paths = [location.get("path") for location in settings["nginx_locations"] if isinstance(location, dict) and location.get("type") == "media"]
    if not paths:
        return []
    where = "nginx_locations has a media location ({0})".format(", ".join(map(str, paths)))
    if composition == "balanced":
        return [where + ", which the balanced composition cannot serve: nginx runs on the balancers, and the app writes its uploads on"
                " each app host, out of their reach; keep uploads in storage every host reaches (object storage) and serve them from there,"
                " or use the prod composition"]
    if not as_bool(settings["gunicorn_media"]):
        return [where + " but gunicorn_media is false: set gunicorn_media: true, so that the gunicorn role makes the media directory the app"
                " writes and nginx reads"]
    problems = []
    nginx_root, gunicorn_root = (str(settings[name]).rstrip("/") or "/" for name in ("nginx_root", "gunicorn_root"))
    if nginx_root != gunicorn_root:
        problems.append(where + " serving {0}/<app>/<env>/media, but gunicorn_media makes {1}/<app>/<env>/media: set nginx_root and"
                        " gunicorn_root alike".format(nginx_root, gunicorn_root))
    if settings["gunicorn_media_group"] != NGINX_USER:
        problems.append(where + ", but gunicorn_media_group is {0}, not {1}, the user nginx runs as: nginx could not read the uploads; leave"
                        " gunicorn_media_group at {1}".format(quoted(settings["gunicorn_media_group"]), NGINX_USER))
    return problems


def _dev_problems(settings):
    if settings["nginx_allow"] or (as_bool(settings["stack_firewall"]) and settings["ufw_profile"] == "internal"):
        return []
    return ["dev is reachable only from allowed networks: set nginx_allow, or ufw_profile: internal with ufw_web_sources"]


def composition_problems(settings):
    """Whether the inventory names a composition, the one of the playbook that was run."""
    problems = []
    composition, playbook = settings["_stack_composition"], settings["stack_playbook_composition"]
    if composition not in COMPOSITIONS:
        problems.append("stack_composition is {0} and stack_env {1} names no composition: set stack_composition to {2}".format(
            quoted(settings["stack_composition"]), quoted(settings["stack_env"]), ", ".join(COMPOSITIONS)))
    if playbook not in ("", composition):
        problems.append("this is the {0} playbook, but the inventory gives {1} the {2} composition ({3}); use playbooks/{2}.yml or"
                        " playbooks/deploy.yml".format(playbook, settings["inventory_hostname"], composition, settings["_stack_instance"]))
    if composition != "prod" and as_bool(settings["stack_tunnel"]):
        problems.append("stack_tunnel is for the prod composition only")
    return problems


def stack_problems(settings):
    """One message per problem of the composition: where the composition itself is wrong, only
    that; else the rules of the composition (prod's and, behind the tunnel, the tunnel's;
    balanced's share prod's on debug, socket activation and the dev branch; dev's), then the
    media location's, which every composition has."""
    problems = composition_problems(settings)
    if problems:
        return problems
    composition = settings["_stack_composition"]
    problems = [message for allow, compositions, message in _prod_rules(settings)
                if message and composition in compositions and allow not in settings["stack_prod_allow"]]
    if composition == "prod" and as_bool(settings["stack_tunnel"]):
        problems += _tunnel_problems(settings)
    if composition == "balanced":
        problems += _balanced_problems(settings)
    if composition == "dev":
        problems += _dev_problems(settings)
    return problems + _media_problems(settings, composition)


def client_name(server_names):
    """The first of `server_names` (nginx_server_names) a client can ask for: neither a wildcard
    (`*`) nor a regular expression (`~`), which nginx matches but no client sends; localhost when
    none is (as the deploy step's health check, deploy_health_host, picks it)."""
    for name in server_names or ():
        if not str(name).startswith("~") and "*" not in str(name):
            return name
    return "localhost"


def _address(scheme, host, port, default_port):
    """scheme://host, with :port unless it is the scheme's default."""
    return "{0}://{1}{2}".format(scheme, host, "" if as_int(port) == default_port else ":{0}".format(port))


def _origin(settings, composition):
    """Where the report and the watchdog ask: nginx on this host with the name a client asks for,
    https, or http when nginx speaks no TLS; behind balancers, gunicorn itself as they reach it."""
    if composition == "balanced":
        return "http://{0}".format(settings["deploy_balancer_member"])
    name = client_name(settings["nginx_server_names"])
    if settings["nginx_tls_mode"] != "none":
        return _address("https", name, settings["nginx_https_port"], 443)
    return _address("http", name, settings["nginx_http_port"], 80)


def host_read(roles):
    """What the stack's check reads on the host for the preflight of `roles`, in one call: "facts" (the records and the
    facts the gunicorn role's defaults need, stagecraft.webapp.host_facts), "records" (stagecraft.webapp.host_records),
    or "" where no role's preflight reads the host's records (the per-push path: the deploy step only)."""
    if "gunicorn" in roles:
        return "facts"
    return "records" if set(roles) & set(ROLES_READING_RECORDS) else ""


def layout(settings, own):
    """What the stack role derives from the composed roles' `settings` (filter stack_settings) and
    its `own` variables by name (stack_app, stack_env, stack_composition, stack_tunnel,
    stack_firewall, stack_release_only, stack_url, ..., inventory_hostname): the composition, the
    instance <app>-<env>, the roles it composes in the order they run and those this run checks,
    the environment directory, where the report asks (origin, health_url, connect_address), the URL
    it shows, and `checked`, what stack_problems reads."""
    env = own["stack_env"]
    composition = own["stack_composition"] or (env if env in COMPOSITIONS else "")
    instance = instance_name(own["stack_app"], env)
    tunnel, balanced, prod = as_bool(own["stack_tunnel"]), composition == "balanced", composition == "prod"
    # The preflight of each role may read what the ones before it will make (gunicorn_record, nginx_record).
    composed = ["gunicorn"] + ([] if balanced else ["nginx"]) + (["cloudflared"] if tunnel else []) \
        + (["ufw"] if as_bool(own["stack_firewall"]) else []) + ["deploy"] + (["watchdog"] if prod else [])
    origin = _origin(settings, composition)
    bind = settings["gunicorn_bind_address"]
    # Behind balancers, gunicorn itself (on loopback when it listens on every address); else nginx on this host.
    app_address = "127.0.0.1" if bind in ("0.0.0.0", "::", "") else bind
    # Behind the tunnel, Cloudflare's edge serves https on the name whatever nginx speaks locally.
    url = own["stack_url"] or ("https://" + client_name(settings["nginx_server_names"]) if tunnel else origin) + "/"
    roles_to_check = ["deploy"] if as_bool(own["stack_release_only"]) else composed
    return {
        "composition": composition,
        "instance": instance,
        "composed_roles": composed,
        # The per-push path (playbooks/release.yml) checks the deploy step only.
        "roles_to_check": roles_to_check,
        "host_read": host_read(roles_to_check),
        # The deploy step's repository, where it may be on the host itself: that read asks whether it is one.
        "host_repositories": [settings["deploy_repo"]] if "deploy" in roles_to_check and settings["deploy_repo"] else [],
        "base": "{0}/{1}/{2}".format(str(settings["deploy_root"]).rstrip("/"), own["stack_app"], env),
        "origin": origin,
        "health_url": origin + settings["deploy_health_path"],
        "connect_address": app_address if balanced else "127.0.0.1",
        "url": url,
        "heading": "{0} ({1}) {2}".format(instance, composition, url),
        # The watchdog's state file (stagecraft.webapp.watchdog), in prod.
        "watchdog_state": "/var/lib/stagecraft/{0}/watchdog.json".format(instance) if prod else "",
        "checked": dict(settings, **own, _stack_composition=composition, _stack_instance=instance),
    }

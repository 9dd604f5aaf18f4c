# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""What the nginx role derives from its settings, in one place: names and paths of the instance,
the directories and files it keeps, the server block's locations and headers, the ACME order, the
upstream and the record the server block claims.

`layout(settings, gunicorn)` takes the role's variables by name (vars/main.yml's _nginx_settings)
and the gunicorn role's record of the instance ({} when there is none, or before the preflight read
it) and returns a dict; the role's tasks and templates read `_nginx_layout.<key>`.
"""

from __future__ import annotations

import re

from ansible_collections.stagecraft.webapp.plugins.module_utils._instance import instance_name
from ansible_collections.stagecraft.webapp.plugins.module_utils._locations import location_dir
from ansible_collections.stagecraft.webapp.plugins.module_utils._rules import as_bool

NGINX_DIR = "/etc/nginx/stagecraft"
ACME_WEBROOT = "/var/lib/stagecraft/_acme"
SERVICE_DROPIN = "/etc/systemd/system/nginx.service.d/10-stagecraft-hardening.conf"
# What a location leaves out of nginx_locations.
LOCATION_DEFAULTS = {"type": "proxy", "dir": "", "immutable": "", "rate_limit": None, "allow": []}
# Files with a hash in their name are immutable unless the location says otherwise; an SPA's
# build puts them under assets/.
HASHED_FILE = r"[.-][0-9a-f]{8,}\.[A-Za-z0-9]+$"


def locations(specs, app_base):
    """nginx_locations with every field filled in, in the order given: `index` (from 1), `root` and
    `confine` (where it serves from, nginx_location_dir), the `immutable` pattern, the `rate_limit`
    with its burst."""
    items = []
    for index, spec in enumerate(specs, 1):
        item = dict(LOCATION_DEFAULTS, **spec)
        served = location_dir(app_base, item["dir"], item["type"])
        default_immutable = "^" + re.escape(item["path"]) + "assets/" if item["type"] == "spa" else HASHED_FILE
        item.update({
            "index": index,
            "root": served["root"],
            "confine": served["confine"],
            "immutable": item["immutable"] or default_immutable,
            "rate_limit": dict({"burst": 0}, **item["rate_limit"]) if item["rate_limit"] else None,
        })
        items.append(item)
    return items


def location_dirs(items):
    """The directories of the static and SPA locations that name one, then the media locations', as
    written, for the host to resolve (preflight)."""
    chosen = [item for item in items if item["type"] in ("static", "spa") and item["dir"]] + [item for item in items if item["type"] == "media"]
    return [re.sub("/$", "", item["root"]) for item in chosen]


def headers(settings, tls):
    """The security headers the server block sends (nginx_security_headers without the empty ones),
    with HSTS where the environment has it."""
    sent = {name: value for name, value in settings["nginx_security_headers"].items() if value not in ("", None)}
    if tls and settings["nginx_app_env"] in settings["nginx_hsts_environments"]:
        parts = ["max-age={0}".format(settings["nginx_hsts_max_age"])]
        parts += ["includeSubDomains"] if as_bool(settings["nginx_hsts_include_subdomains"]) else []
        parts += ["preload"] if as_bool(settings["nginx_hsts_preload"]) else []
        sent["Strict-Transport-Security"] = "; ".join(parts)
    return sent


def upstream_server(upstream, gunicorn):
    """What the server block proxies to: nginx_upstream, else the gunicorn role's socket or address."""
    if upstream:
        return upstream
    if gunicorn.get("listen", "") == "unix":
        return "unix:" + gunicorn["socket"]
    if not gunicorn:
        return ""
    address = gunicorn["address"]
    return "{0}:{1}".format("[" + address + "]" if ":" in address else address, gunicorn["port"])


# The directories every instance on the host shares, parents first, and their modes.
HOST_DIRS = (
    (NGINX_DIR, "0755"),
    (NGINX_DIR + "/sites", "0755"),
    (NGINX_DIR + "/records", "0755"),
    (NGINX_DIR + "/tls", "0700"),
    ("/var/lib/stagecraft", "0755"),
    (SERVICE_DROPIN.rsplit("/", 1)[0], "0755"),
    (ACME_WEBROOT + "/.well-known/acme-challenge", "0755"),
)


def layout(settings, gunicorn=None):
    """The instance's derived names and values (see the module's docstring)."""
    gunicorn = gunicorn or {}
    app, env = settings["nginx_app_name"], settings["nginx_app_env"]
    instance = instance_name(app, env)
    tls = settings["nginx_tls_mode"] != "none"
    tls_dir = "{0}/tls/{1}".format(NGINX_DIR, instance)
    app_base = "{0}/{1}/{2}".format(re.sub("/+$", "", settings["nginx_root"]), app, env)
    state_dir = "/var/lib/stagecraft/" + instance
    served = locations(settings["nginx_locations"], app_base)
    proxies = any(spec.get("type", "proxy") == "proxy" for spec in settings["nginx_locations"])
    ports = [settings["nginx_http_port"]] + ([settings["nginx_https_port"]] if tls else [])
    directories = HOST_DIRS + ((state_dir, "0755"),) + (((tls_dir, "0700"),) if tls else ())
    names = {
        "instance": instance,
        # nginx identifiers (upstream, zones, map variables) take letters, digits and "_".
        "id": instance.replace("-", "_"),
        "dir": NGINX_DIR,
        "sites_dir": NGINX_DIR + "/sites",
        "site": "{0}/sites/{1}.conf".format(NGINX_DIR, instance),
        # What each instance claims (server names and ports), read by the others' preflight.
        "record": "{0}/records/{1}.json".format(NGINX_DIR, instance),
        "tls": tls,
        "tls_dir": tls_dir,
        "key": tls_dir + "/privkey.pem",
        "fullchain": tls_dir + "/fullchain.pem",
        "client_ca": tls_dir + "/origin-pull-ca.pem",
        "acme_dir": NGINX_DIR + "/acme",
        "acme_webroot": ACME_WEBROOT,
        # The sandbox of Debian's nginx.service (templates/nginx-hardening.conf.j2).
        "service_dropin": SERVICE_DROPIN,
        # The deploy step's maintenance switch: while the file exists, the server block answers 503.
        "maintenance_file": state_dir + "/maintenance.html",
        # A load balancer's servers, one file each so that a rolling deploy can drain one (tasks/member.yml).
        "upstreams_dir": "{0}/upstreams/{1}".format(NGINX_DIR, instance),
        "gunicorn_record": "/etc/stagecraft/{0}/gunicorn.json".format(instance),
        "app_base": app_base,
        "current": app_base + "/current",
        "log_prefix": "/var/log/nginx/" + instance,
        "ports": ports,
        "packages": ["nginx", "python3-cryptography"] + (["ansible"] if settings["nginx_tls_mode"] == "acme" else []),
        # The directories the role keeps, parents first, and the sandbox of nginx.service: read and written at
        # once (stagecraft.webapp.files); the deploy step creates and removes maintenance.html in the state directory.
        "host_files": [{"path": path, "mode": mode, "state": "directory", "owner": "root", "group": "root"} for path, mode in directories]
        + [{"path": SERVICE_DROPIN, "template": "nginx-hardening.conf.j2", "owner": "root", "group": "root", "mode": "0644"}],
        "locations": served,
        "location_dirs": location_dirs(served),
        "proxies": proxies,
        "headers": headers(settings, tls),
        # Uploads whose extension is not in nginx_media_inline_extensions are downloads, never shown.
        "media_inline": "~*\\.(" + "|".join(re.escape(extension) for extension in settings["nginx_media_inline_extensions"]) + ")$",
        # The ACME order of this instance, as the role passes it to tasks/acme_order.yml and writes
        # it for the renewal playbook.
        "acme_spec": {
            "instance": instance,
            "directory": settings["nginx_acme_directory"],
            "email": settings["nginx_acme_email"],
            "account_key": tls_dir + "/account.key",
            "csr": tls_dir + "/cert.csr",
            "cert": tls_dir + "/cert.pem",
            "chain": tls_dir + "/chain.pem",
            "fullchain": tls_dir + "/fullchain.pem",
            "webroot": ACME_WEBROOT,
            "remaining_days": settings["nginx_acme_remaining_days"],
            "ca_bundle": settings["nginx_acme_ca_bundle"],
        },
        "upstream_server": upstream_server(settings["nginx_upstream"], gunicorn),
    }
    # A self-signed certificate's files as tasks/tls.yml makes them.
    names["selfsigned_files"] = [{"path": path, "state": "file", "owner": "root", "group": "root", "mode": mode}
                                 for path, mode in ((names["key"], "0600"), (names["acme_spec"]["csr"], "0644"), (names["fullchain"], "0644"))]
    # A provided key (a secret: never shown), certificate with its chain and Cloudflare's origin-pull CA, as
    # tasks/tls_change.yml installs them in one read of the host (stagecraft.webapp.files). Their content comes from
    # the role's templates: no entry carries the key.
    names["provided_files"] = []
    if settings["nginx_tls_mode"] in ("provided", "cloudflare_origin"):
        names["provided_files"] = [
            {"path": names["key"], "template": "privkey.pem.j2", "owner": "root", "group": "root", "mode": "0600", "secret": True},
            {"path": names["fullchain"], "template": "fullchain.pem.j2", "owner": "root", "group": "root", "mode": "0644"},
        ]
    if settings["nginx_tls_mode"] == "cloudflare_origin" and settings["nginx_cloudflare_origin_pull_ca"]:
        names["provided_files"].append({"path": names["client_ca"], "template": "origin-pull-ca.pem.j2", "owner": "root", "group": "root",
                                        "mode": "0644"})
    # The certificate the read of the host (stagecraft.webapp.drift) compares with a self-signed one's key and names.
    names["selfsigned_certificate"] = {"path": names["fullchain"], "key": names["key"], "names": settings["nginx_server_names"]}
    # What this server block claims, for the other apps' preflight and the roles after this one (ufw's ports).
    names["record_fields"] = {
        "instance": instance,
        "server_names": settings["nginx_server_names"],
        "ports": ports,
        "tls_mode": settings["nginx_tls_mode"],
        "listen_addresses": settings["nginx_listen_addresses"],
        "upstream": names["upstream_server"] if proxies else None,
    }
    return names

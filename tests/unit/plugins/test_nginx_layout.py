"""What the nginx role derives from its settings (plugins/module_utils/_nginx_layout.py) through its
filter: names and paths of the instance, the locations with every field filled in, the headers
with HSTS, the upstream and the record the server block claims."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

COLLECTIONS = Path(__file__).resolve().parents[3] / "collections"
if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))

from ansible_collections.stagecraft.webapp.plugins.filter.nginx_layout import FilterModule  # noqa: E402

layout = FilterModule().filters()["nginx_layout"]
DEFAULTS = yaml.safe_load((COLLECTIONS.parent / "roles" / "nginx" / "defaults" / "main.yml").read_text(encoding="utf-8"))


def settings(**changes):
    """The role's defaults for app "shop" in "prod" on shop.test, with `changes`."""
    return {**DEFAULTS, "nginx_app_name": "shop", "nginx_app_env": "prod", "nginx_server_names": ["shop.test"], **changes}


def test_names_and_paths_of_an_instance():
    names = layout(settings())
    assert {key: names[key] for key in ("instance", "id", "site", "record", "key", "fullchain", "client_ca", "maintenance_file", "upstreams_dir",
                                        "gunicorn_record", "app_base", "current", "log_prefix")} == {
        "instance": "shop-prod", "id": "shop_prod", "site": "/etc/nginx/stagecraft/sites/shop-prod.conf",
        "record": "/etc/nginx/stagecraft/records/shop-prod.json", "key": "/etc/nginx/stagecraft/tls/shop-prod/privkey.pem",
        "fullchain": "/etc/nginx/stagecraft/tls/shop-prod/fullchain.pem", "client_ca": "/etc/nginx/stagecraft/tls/shop-prod/origin-pull-ca.pem",
        "maintenance_file": "/var/lib/stagecraft/shop-prod/maintenance.html", "upstreams_dir": "/etc/nginx/stagecraft/upstreams/shop-prod",
        "gunicorn_record": "/etc/stagecraft/shop-prod/gunicorn.json", "app_base": "/srv/shop/prod", "current": "/srv/shop/prod/current",
        "log_prefix": "/var/log/nginx/shop-prod"}
    assert layout(settings(nginx_root="/opt/apps//"))["app_base"] == "/opt/apps/shop/prod"


@pytest.mark.parametrize("mode, tls, ports, packages, instance_dirs", [
    ("selfsigned", True, [80, 443], ["nginx", "python3-cryptography"], 2),
    ("acme", True, [80, 443], ["nginx", "python3-cryptography", "ansible"], 2),
    ("none", False, [80], ["nginx", "python3-cryptography"], 1),
])
def test_the_tls_mode_decides_ports_packages_and_directories(mode, tls, ports, packages, instance_dirs):
    names = layout(settings(nginx_tls_mode=mode))
    assert (names["tls"], names["ports"], names["packages"]) == (tls, ports, packages)
    directories = [entry["path"] for entry in names["host_files"] if entry.get("state") == "directory"]
    assert directories[-instance_dirs:] == ["/var/lib/stagecraft/shop-prod", "/etc/nginx/stagecraft/tls/shop-prod"][:instance_dirs]
    assert names["record_fields"]["ports"] == ports


def test_locations_get_every_field_and_their_directories():
    specs = [{"path": "/"}, {"path": "/static/", "type": "static", "dir": "static", "rate_limit": {"rate": "5r/s"}},
             {"path": "/app/", "type": "spa", "dir": "/srv/shop/prod/shared/spa/"}, {"path": "/media/", "type": "media"},
             {"path": "/img/", "type": "static", "immutable": "\\.png$"}]
    names = layout(settings(nginx_locations=specs))
    proxy, static, spa, media, img = names["locations"]
    assert proxy == {"path": "/", "type": "proxy", "dir": "", "immutable": "[.-][0-9a-f]{8,}\\.[A-Za-z0-9]+$", "rate_limit": None, "allow": [],
                     "index": 1, "root": "/srv/shop/prod/current/", "confine": ""}
    assert static["root"] == "/srv/shop/prod/current/static/" and static["confine"] == "/srv/shop/prod/current"
    assert static["rate_limit"] == {"burst": 0, "rate": "5r/s"} and static["index"] == 2
    assert spa["immutable"] == "^/app/assets/" and spa["confine"] == "/srv/shop/prod/shared"
    assert media["root"] == "/srv/shop/prod/media/" and img["immutable"] == "\\.png$"
    assert names["location_dirs"] == ["/srv/shop/prod/current/static", "/srv/shop/prod/shared/spa", "/srv/shop/prod/media"]
    assert names["proxies"] is True
    assert layout(settings(nginx_locations=[specs[1]]))["proxies"] is False


def test_headers_leave_out_empty_ones_and_add_hsts_where_the_environment_has_it():
    headers = {"X-Frame-Options": "DENY", "Referrer-Policy": "", "X-Other": None}
    assert layout(settings(nginx_security_headers=headers))["headers"] == {"X-Frame-Options": "DENY", "Strict-Transport-Security": "max-age=63072000"}
    assert "Strict-Transport-Security" not in layout(settings(nginx_security_headers=headers, nginx_app_env="dev"))["headers"]
    assert "Strict-Transport-Security" not in layout(settings(nginx_security_headers=headers, nginx_tls_mode="none"))["headers"]
    full = layout(settings(nginx_security_headers={}, nginx_hsts_max_age=300, nginx_hsts_include_subdomains="yes", nginx_hsts_preload=True))
    assert full["headers"] == {"Strict-Transport-Security": "max-age=300; includeSubDomains; preload"}


@pytest.mark.parametrize("upstream, gunicorn, expected", [
    ("10.0.0.5:8000", {"listen": "unix", "socket": "/run/a.sock"}, "10.0.0.5:8000"),
    ("", {"listen": "unix", "socket": "/run/stagecraft/shop-prod.sock"}, "unix:/run/stagecraft/shop-prod.sock"),
    ("", {"listen": "tcp", "address": "127.0.0.1", "port": 8000}, "127.0.0.1:8000"),
    ("", {"listen": "tcp", "address": "::1", "port": 8000}, "[::1]:8000"),
    ("", {}, ""),
])
def test_the_upstream_is_nginx_upstream_else_the_gunicorn_record(upstream, gunicorn, expected):
    names = layout(settings(nginx_upstream=upstream), gunicorn)
    assert names["upstream_server"] == expected and names["record_fields"]["upstream"] == expected
    assert layout(settings(nginx_upstream=upstream, nginx_locations=[{"path": "/m/", "type": "media"}]), gunicorn)["record_fields"]["upstream"] is None


def test_media_acme_and_self_signed_files():
    names = layout(settings(nginx_media_inline_extensions=["png", "mp4"], nginx_acme_email="ops@shop.test"))
    assert names["media_inline"] == "~*\\.(png|mp4)$"
    assert names["acme_spec"]["csr"] == "/etc/nginx/stagecraft/tls/shop-prod/cert.csr" and names["acme_spec"]["email"] == "ops@shop.test"
    assert [item["path"] for item in names["selfsigned_files"]] == [names["key"], names["acme_spec"]["csr"], names["fullchain"]]
    assert [item["mode"] for item in names["selfsigned_files"]] == ["0600", "0644", "0644"]
    assert names["selfsigned_certificate"] == {"path": names["fullchain"], "key": names["key"], "names": names["record_fields"]["server_names"]}
    assert names["host_files"][0] == {"path": "/etc/nginx/stagecraft", "mode": "0755", "state": "directory", "owner": "root", "group": "root"}
    # The sandbox's directory comes before the sandbox.
    dropin = names["host_files"][-1]
    assert dropin == {"path": "/etc/systemd/system/nginx.service.d/10-stagecraft-hardening.conf", "template": "nginx-hardening.conf.j2",
                      "owner": "root", "group": "root", "mode": "0644"}
    assert "/etc/systemd/system/nginx.service.d" in [entry["path"] for entry in names["host_files"][:-1]]

"""What the gunicorn role derives from its variables (plugins/module_utils/_gunicorn_layout.py, filter gunicorn_layout):
names and paths, the record, the files stagecraft.webapp.files keeps, the service's state and the unit specs."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml

# The collection by FQCN through the checkout's self-link (see module_utils/conftest.py).
COLLECTIONS = Path(__file__).resolve().parents[3] / "collections"
if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))

from ansible_collections.stagecraft.webapp.plugins.filter.gunicorn_layout import FilterModule  # noqa: E402

gunicorn_layout = FilterModule().filters()["gunicorn_layout"]
DEFAULTS = yaml.safe_load((COLLECTIONS.parent / "roles" / "gunicorn" / "defaults" / "main.yml").read_text(encoding="utf-8"))
DEBIAN13 = {"processor_vcpus": 2, "systemd": {"version": 257}}


def settings(**changes):
    """The role's defaults for app "shop" with `changes`, as vars/main.yml's _gunicorn_settings hands them over."""
    return dict(DEFAULTS, gunicorn_app_name="shop", gunicorn_app_module="app:app", removed_settings=[], **changes)


def by_path(entries):
    return {entry["path"]: entry for entry in entries}


def test_names_and_paths_follow_the_app_and_environment():
    layout = gunicorn_layout(settings(gunicorn_root="/srv//"), DEBIAN13)
    assert (layout["instance"], layout["user"], layout["unit"], layout["base"], layout["config"], layout["env_file"], layout["record"]) == (
        "shop-prod", "shop-prod", "shop-prod.service", "/srv/shop/prod", "/etc/stagecraft/shop-prod/gunicorn.conf.py",
        "/etc/stagecraft/shop-prod/env", "/etc/stagecraft/shop-prod/gunicorn.json")
    assert layout["executable"] == "/srv/shop/prod/current/.venv/bin/gunicorn"
    assert gunicorn_layout(settings(gunicorn_venv="/opt/venv/"))["executable"] == "/opt/venv/bin/gunicorn"
    assert layout["account"] == {"name": "shop-prod", "group": "shop-prod", "groups": [], "home": "/srv/shop/prod", "shell": "/usr/sbin/nologin",
                                 "comment": "gunicorn shop prod (stagecraft)"}


@pytest.mark.parametrize("changes, bind, socket_path", [
    ({}, "127.0.0.1:8000", "/run/stagecraft/shop-prod.sock"),
    ({"gunicorn_bind_address": "::1", "gunicorn_port": "8001"}, "[::1]:8001", "/run/stagecraft/shop-prod.sock"),
    ({"gunicorn_listen": "unix"}, "unix:/run/stagecraft/shop-prod.sock", "/run/stagecraft/shop-prod.sock"),
    # gunicorn binds the socket itself, in its RuntimeDirectory.
    ({"gunicorn_listen": "unix", "gunicorn_socket_activation": False}, "unix:/run/shop-prod/gunicorn.sock", "/run/shop-prod/gunicorn.sock"),
    ({"gunicorn_listen": "unix", "gunicorn_socket_path": "/run/x.sock"}, "unix:/run/x.sock", "/run/x.sock"),
])
def test_the_bind_address_or_socket(changes, bind, socket_path):
    layout = gunicorn_layout(settings(**changes), DEBIAN13)
    assert (layout["bind"], layout["socket_path"]) == (bind, socket_path)


def test_workers_come_from_the_cpus_unless_given():
    assert gunicorn_layout(settings(), DEBIAN13)["workers"] == 5
    assert gunicorn_layout(settings(gunicorn_workers="3"), DEBIAN13)["workers"] == 3


def test_the_record_is_what_other_apps_read_as_nice_json():
    layout = gunicorn_layout(settings(), DEBIAN13)
    assert layout["record_content"]["port"] == 8000 and layout["record_content"]["socket"] is None
    assert layout["record_text"] == json.dumps(layout["record_content"], indent=4, sort_keys=True) + "\n"
    unix = gunicorn_layout(settings(gunicorn_listen="unix"), DEBIAN13)["record_content"]
    assert (unix["address"], unix["port"], unix["socket"]) == (None, None, "/run/stagecraft/shop-prod.sock")


def test_the_files_are_declared_once_parents_first_with_the_environment_file_secret():
    files = gunicorn_layout(settings(gunicorn_secrets={"SECRET_KEY": "x"}), DEBIAN13)["files"]
    paths = [entry["path"] for entry in files]
    assert paths == ["/srv/shop", "/srv/shop/prod", "/srv/shop/prod/releases", "/srv/shop/prod/shared", "/etc/stagecraft", "/etc/stagecraft/shop-prod",
                     "/etc/stagecraft/shop-prod/gunicorn.conf.py", "/etc/stagecraft/shop-prod/env", "/etc/stagecraft/shop-prod/gunicorn.json",
                     "/etc/logrotate.d/shop-prod"]
    entries = by_path(files)
    assert entries["/etc/stagecraft/shop-prod/env"] == {"path": "/etc/stagecraft/shop-prod/env", "template": "env.j2", "owner": "root",
                                                        "group": "shop-prod", "mode": "0640", "secret": True}
    # Secrets reach the file through its template only, never through the layout.
    assert "SECRET_KEY" not in json.dumps(files)
    assert entries["/etc/logrotate.d/shop-prod"] == {"path": "/etc/logrotate.d/shop-prod", "state": "absent"}


def test_file_logs_are_rotated_and_media_get_nginx_group():
    entries = by_path(gunicorn_layout(settings(gunicorn_log_target="file", gunicorn_media=True), DEBIAN13)["files"])
    assert entries["/etc/logrotate.d/shop-prod"]["template"] == "logrotate.j2"
    assert entries["/etc/logrotate.d/shop-prod"]["validate"] == "/usr/sbin/logrotate --debug %s"
    assert entries["/srv/shop/prod/media"] == {"path": "/srv/shop/prod/media", "state": "directory", "owner": "shop-prod", "group": "www-data",
                                               "mode": "2750"}


CONFIG, ENV, RECORD = "/etc/stagecraft/shop-prod/gunicorn.conf.py", "/etc/stagecraft/shop-prod/env", "/etc/stagecraft/shop-prod/gunicorn.json"
EXECUTABLE = "/srv/shop/prod/current/.venv/bin/gunicorn"


@pytest.mark.parametrize("changes, differ, changed, state", [
    ({}, [], [], "started"),
    ({}, [], [CONFIG], "reloaded"),
    ({}, [], [CONFIG, ENV], "restarted"),
    ({}, [], [RECORD], "restarted"),
    # Directories alone need nothing of the service.
    ({}, [], ["/srv/shop/prod/shared"], "started"),
    ({}, [EXECUTABLE], [ENV], "stopped"),
    ({"gunicorn_service_state": "stopped"}, [], [ENV], "stopped"),
])
def test_the_service_restarts_or_reloads_on_what_changed(changes, differ, changed, state):
    layout = gunicorn_layout(settings(**changes), DEBIAN13, differ, changed)
    assert layout["state"] == state
    socket, service, candidate = layout["units"]
    assert service["state"] == state and service["restart_on_change"] is (state != "stopped")
    assert socket["state"] == ("stopped" if state == "stopped" else "started")
    assert candidate["state"] == "stopped" and candidate["enabled"] is False


def test_the_restart_back_off_needs_systemd_254():
    service = gunicorn_layout(settings(), DEBIAN13)["units"][1]["sections"]["Service"]
    assert (service["RestartSteps"], service["RestartMaxDelaySec"]) == (5, 30)
    older = gunicorn_layout(settings(), {"processor_vcpus": 1, "systemd": {"version": 252}})["units"][1]["sections"]["Service"]
    assert "RestartSteps" not in older and "RestartMaxDelaySec" not in older


def test_the_network_hardening_and_its_overrides():
    tcp = gunicorn_layout(settings(gunicorn_hardening_overrides={"MemoryMax": "1G"}), DEBIAN13)["units"]
    assert tcp[1]["hardening_overrides"] == {"IPAddressDeny": "any", "IPAddressAllow": "localhost", "MemoryMax": "1G"}
    unix = gunicorn_layout(settings(gunicorn_listen="unix", gunicorn_hardening_overrides={"SystemCallFilter": ["@system-service"]}), DEBIAN13)["units"]
    assert unix[1]["hardening_overrides"] == {"IPAddressDeny": "any", "PrivateNetwork": True, "RestrictAddressFamilies": "AF_UNIX",
                                              "SystemCallFilter": ["@system-service"]}
    # The candidate binds and chowns its socket itself; an override still wins.
    assert unix[2]["hardening_overrides"]["SystemCallFilter"] == ["@system-service"]
    assert gunicorn_layout(settings(gunicorn_listen="unix"), DEBIAN13)["units"][2]["hardening_overrides"]["SystemCallFilter"] == [
        "@system-service", "~@privileged @resources", "@chown"]


def test_the_socket_unit_exists_only_with_socket_activation():
    assert gunicorn_layout(settings(), DEBIAN13)["units"][0]["present"] is True
    service = gunicorn_layout(settings(gunicorn_socket_activation=False), DEBIAN13)["units"]
    assert service[0]["present"] is False and service[1]["sections"]["Unit"]["Requires"] == []
    unix = gunicorn_layout(settings(gunicorn_listen="unix", gunicorn_socket_group=""), DEBIAN13)["units"][0]["sections"]["Socket"]
    assert unix == {"ListenStream": "/run/stagecraft/shop-prod.sock", "SocketUser": "shop-prod", "SocketGroup": "shop-prod", "SocketMode": "0660"}

# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""What stagecraft.webapp.gunicorn derives from its variables, in one place: names, paths, the record it keeps
for other apps, its directories and files (for stagecraft.webapp.files) and its units (for stagecraft.webapp.systemd).

`settings` holds the role's variables by name (the role's `_gunicorn_settings`); `facts` the host's
ansible_facts (processor_vcpus when gunicorn_workers is null, systemd's version).
"""

from __future__ import annotations

from ansible_collections.stagecraft.webapp.plugins.module_utils._files import json_content
from ansible_collections.stagecraft.webapp.plugins.module_utils._instance import instance_name
from ansible_collections.stagecraft.webapp.plugins.module_utils._rules import as_bool, as_int

ETC_BASE = "/etc/stagecraft"
# A socket systemd holds lives outside the service's RuntimeDirectory: the service's start chowns that directory
# recursively to the app's user and group, which would take the socket from gunicorn_socket_group (nginx
# answering 502 after every boot).
SOCKET_DIR = "/run/stagecraft"
# systemd 254 and later lengthen the delay after each automatic restart, in RestartSteps= steps from RestartSec=
# to RestartMaxDelaySec=; older ones (Debian 12 has 252) refuse both keys and keep RestartSec=.
RESTART_BACKOFF_SYSTEMD = 254
RESTART_STEPS = 5
CONFIG_CHECK = "/usr/bin/python3 -c 'import ast, sys; ast.parse(open(sys.argv[1]).read(), sys.argv[1])' %s"
DOCS = "https://docs.gunicorn.org/en/stable/settings.html"
# gunicorn binds (and chowns) a unix socket itself in these cases.
CHOWN_FILTER = ["@system-service", "~@privileged @resources", "@chown"]


def names(settings):
    """The instance's names and paths (what the preflight's rules read among them: instance, run_dir, socket_dir, socket_path)."""
    app, env = settings["gunicorn_app_name"], settings["gunicorn_app_env"]
    instance = instance_name(app, env)
    app_dir = "{0}/{1}".format(str(settings["gunicorn_root"]).rstrip("/"), app)
    base = "{0}/{1}".format(app_dir, env)
    venv = str(settings["gunicorn_venv"] or "").rstrip("/") or base + "/current/.venv"
    etc = "{0}/{1}".format(ETC_BASE, instance)
    run_dir = "/run/" + instance
    activation = as_bool(settings["gunicorn_socket_activation"])
    socket_path = settings["gunicorn_socket_path"] or (
        "{0}/{1}.sock".format(SOCKET_DIR, instance) if activation else run_dir + "/gunicorn.sock")
    address = settings["gunicorn_bind_address"]
    unix = settings["gunicorn_listen"] == "unix"
    bind = "unix:" + socket_path if unix else "{0}:{1}".format("[{0}]".format(address) if ":" in address else address, settings["gunicorn_port"])
    return {
        "instance": instance, "user": instance, "group": instance,
        "unit": instance + ".service", "socket_unit": instance + ".socket", "candidate_unit": instance + "@.service",
        "app_dir": app_dir, "base": base, "current": base + "/current", "shared": base + "/shared", "media_dir": base + "/media",
        "venv": venv, "executable": venv + "/bin/gunicorn",
        "etc": etc, "config": etc + "/gunicorn.conf.py", "env_file": etc + "/env",
        # What other instances' preflight reads (ports and sockets in use); a change to it needs a restart.
        "record": etc + "/gunicorn.json",
        "logrotate": "/etc/logrotate.d/" + instance,
        "run_dir": run_dir, "log_dir": "/var/log/" + instance, "socket_dir": SOCKET_DIR, "socket_path": socket_path,
        "candidate_socket": "/run/{0}-%i/gunicorn.sock".format(instance),
        "bind": bind, "listen_stream": socket_path if unix else bind,
        "comment": "gunicorn {0} {1} (stagecraft)".format(app, env),
    }


def record(settings, layout):
    """What the role records about the instance, for other instances' preflight, nginx's upstream and ufw."""
    tcp = settings["gunicorn_listen"] == "tcp"
    return {
        "instance": layout["instance"], "app": settings["gunicorn_app_name"], "env": settings["gunicorn_app_env"], "unit": layout["unit"],
        "listen": settings["gunicorn_listen"],
        "address": settings["gunicorn_bind_address"] if tcp else None,
        "port": as_int(settings["gunicorn_port"]) if tcp else None,
        "socket": None if tcp else layout["socket_path"],
        "socket_activation": as_bool(settings["gunicorn_socket_activation"]),
        "worker_class": settings["gunicorn_worker_class"],
        "base": layout["base"], "candidate_unit": layout["candidate_unit"], "candidate_socket": layout["candidate_socket"],
    }


def files(settings, layout):
    """The directories (parents first) and files of the instance, for stagecraft.webapp.files.

    current is the symlink the deploy step switches; it is not made here. The environment and its releases can be
    traversed (not listed) by others, so that nginx serves a release's static files; shared/ stays the app's own.
    Uploads nginx serves have a directory of their own (gunicorn_media): the app's user writes, nginx's group reads
    (setgid: what the app makes there keeps that group).
    """
    user, group, etc = layout["user"], layout["group"], layout["etc"]
    entries = [
        {"path": layout["app_dir"], "state": "directory", "owner": "root", "group": "root", "mode": "0755"},
        {"path": layout["base"], "state": "directory", "owner": user, "group": group, "mode": "0751"},
        {"path": layout["base"] + "/releases", "state": "directory", "owner": user, "group": group, "mode": "0751"},
        {"path": layout["shared"], "state": "directory", "owner": user, "group": group, "mode": "0750"},
    ]
    if as_bool(settings["gunicorn_media"]):
        entries.append({"path": layout["media_dir"], "state": "directory", "owner": user, "group": settings["gunicorn_media_group"], "mode": "2750"})
    entries += [
        {"path": ETC_BASE, "state": "directory", "owner": "root", "group": "root", "mode": "0755"},
        {"path": etc, "state": "directory", "owner": "root", "group": group, "mode": "0750"},
        {"path": layout["config"], "template": "gunicorn.conf.py.j2", "owner": "root", "group": group, "mode": "0640", "validate": CONFIG_CHECK},
        # Secrets live in this file: never shown, not even as a diff.
        {"path": layout["env_file"], "template": "env.j2", "owner": "root", "group": group, "mode": "0640", "secret": True},
        {"path": layout["record"], "content": layout["record_text"], "owner": "root", "group": "root", "mode": "0644"},
    ]
    if settings["gunicorn_log_target"] == "file":
        entries.append({"path": layout["logrotate"], "template": "logrotate.j2", "owner": "root", "group": "root", "mode": "0644",
                        "validate": "/usr/sbin/logrotate --debug %s"})
    else:
        entries.append({"path": layout["logrotate"], "state": "absent"})
    return entries


def _network_hardening(settings):
    """What makes the exposure score of `systemd-analyze security`: no IP traffic but with the allowed addresses on
    TCP; on a unix socket no IP at all (own network namespace, AF_UNIX only); gunicorn chowns a socket it binds."""
    if settings["gunicorn_listen"] == "tcp":
        return {"IPAddressDeny": "any", "IPAddressAllow": " ".join(settings["gunicorn_ip_address_allow"])}
    hardening = {"IPAddressDeny": "any", "PrivateNetwork": True, "RestrictAddressFamilies": "AF_UNIX"}
    if not as_bool(settings["gunicorn_socket_activation"]):
        hardening["SystemCallFilter"] = CHOWN_FILTER
    return hardening


def units(settings, layout, facts, state):
    """The socket (present only with socket activation), the service and the candidate template unit, for
    stagecraft.webapp.systemd; `state` is the service's (started, reloaded, restarted or stopped)."""
    activation = as_bool(settings["gunicorn_socket_activation"])
    enabled = as_bool(settings["gunicorn_service_enabled"])
    read_write = [layout["shared"]] + ([layout["media_dir"]] if as_bool(settings["gunicorn_media"]) else []) + list(settings["gunicorn_read_write_paths"])
    hardening = _network_hardening(settings)
    # What the service and the deploy step's candidate instances share.
    common = {
        "Type": "notify", "NotifyAccess": "main", "User": layout["user"], "Group": layout["group"], "EnvironmentFile": layout["env_file"],
        "Environment": ["PYTHONDONTWRITEBYTECODE=1", "PYTHONUNBUFFERED=1"], "KillMode": "mixed",
        "TimeoutStopSec": as_int(settings["gunicorn_graceful_timeout"]) + 10,
    }
    service = dict(common, WorkingDirectory=layout["current"],
                   ExecStart="{0} --config {1} --chdir {2}".format(layout["executable"], layout["config"], layout["current"]),
                   ExecReload="/bin/kill -s HUP $MAINPID", Restart="always", RestartSec=settings["gunicorn_restart_sec"],
                   RuntimeDirectory=layout["instance"], RuntimeDirectoryMode="0755")
    if as_int((facts.get("systemd") or {}).get("version", 0)) >= RESTART_BACKOFF_SYSTEMD:
        service.update(RestartSteps=RESTART_STEPS, RestartMaxDelaySec=settings["gunicorn_restart_max_delay_sec"])
    if settings["gunicorn_log_target"] == "file":
        service.update(LogsDirectory=layout["instance"], LogsDirectoryMode="0750")
    name = "{0} ({1})".format(settings["gunicorn_app_name"], settings["gunicorn_app_env"])
    socket_section = {"ListenStream": layout["listen_stream"]}
    if settings["gunicorn_listen"] == "unix":
        socket_section.update(SocketUser=layout["user"], SocketGroup=settings["gunicorn_socket_group"] or layout["group"],
                              SocketMode=settings["gunicorn_socket_mode"])
    else:
        socket_section.update(IPAddressDeny="any", IPAddressAllow=" ".join(settings["gunicorn_ip_address_allow"]), NoDelay=True)
    # No PartOf= the service: it would close the socket on every restart of the service, resetting the connections
    # waiting in its backlog. Stopping the service alone leaves the socket listening; the role stops both.
    socket = {
        "name": layout["socket_unit"],
        "sections": {"Unit": {"Description": "gunicorn socket: " + name}, "Socket": socket_section, "Install": {"WantedBy": "sockets.target"}},
        "hardening": False, "present": activation, "enabled": enabled,
        "state": "stopped" if state == "stopped" else "started", "restart_on_change": state != "stopped",
    }
    service_unit = {
        "name": layout["unit"],
        "sections": {
            "Unit": {
                "Description": "gunicorn: " + name, "Documentation": DOCS,
                "After": ["network.target"] + ([layout["socket_unit"]] if activation else []),
                "Requires": [layout["socket_unit"]] if activation else [],
                # No start limit: once hit, systemd leaves the service failed, and its socket with it, until someone
                # runs reset-failed: one crash loop would take the app down for good. RestartSec= paces a loop.
                "StartLimitIntervalSec": 0,
            },
            "Service": service,
            "Install": {"WantedBy": "multi-user.target"},
        },
        "hardening": True, "hardening_overrides": {**hardening, **settings["gunicorn_hardening_overrides"]},
        "read_write_paths": read_write, "verify_allow_missing": [layout["venv"] + "/"],
        "enabled": enabled, "state": state, "restart_on_change": state != "stopped",
    }
    return [socket, service_unit, _candidate(settings, layout, common, hardening, read_write)]


def _candidate(settings, layout, common, hardening, read_write):
    """A release on probation (the deploy step's health check before the switch): the same app, user, environment
    file and hardening, the release's own venv, one worker, its own socket and journal logs; the instance name is
    the release id, and the deploy starts and stops it. STAGECRAFT_CANDIDATE=1 makes the config leave gunicornc's
    control socket to the service (not --no-control-socket, which gunicorn before 25.1 refuses)."""
    release = layout["base"] + "/releases/%i"
    command = [release + "/.venv/bin/gunicorn", "--config", layout["config"], "--chdir", release, "--bind", "unix:" + layout["candidate_socket"],
               "--workers", "1", "--max-requests", "0", "--error-logfile", "-", "--access-logfile", "-"]
    service = dict(common, WorkingDirectory=release, ExecStart=" ".join(command), Environment=common["Environment"] + ["STAGECRAFT_CANDIDATE=1"],
                   Restart="no", RuntimeDirectory=layout["instance"] + "-%i", RuntimeDirectoryMode="0755")
    return {
        "name": layout["candidate_unit"],
        "sections": {
            "Unit": {"Description": "gunicorn candidate %i: {0} ({1})".format(settings["gunicorn_app_name"], settings["gunicorn_app_env"]),
                     "Documentation": DOCS, "After": "network.target"},
            "Service": service,
        },
        "hardening": True,
        # It binds its unix socket itself, and gunicorn chowns it.
        "hardening_overrides": {**hardening, "SystemCallFilter": CHOWN_FILTER, **settings["gunicorn_hardening_overrides"]},
        "read_write_paths": read_write, "verify_allow_missing": [layout["base"] + "/releases/"],
        "enabled": False, "state": "stopped", "restart_on_change": False,
    }


def service_state(settings, layout, differ_paths=(), changed_paths=()):
    """The service's state this run: stopped when wanted so or while its executable is missing (`differ_paths`, the
    drift read); restarted when the environment file or the record (the listening socket) changed, which a reload
    cannot apply; reloaded (HUP) when only gunicorn.conf.py changed (`changed_paths`, stagecraft.webapp.files)."""
    if settings["gunicorn_service_state"] == "stopped" or layout["executable"] in differ_paths:
        return "stopped"
    if layout["env_file"] in changed_paths or layout["record"] in changed_paths:
        return "restarted"
    return "reloaded" if layout["config"] in changed_paths else "started"


def layout(settings, facts=None, differ_paths=(), changed_paths=()):
    """Names and paths (names()), account, workers, record_content and record_text, files (for stagecraft.webapp.files),
    state (service_state()) and units (for stagecraft.webapp.systemd)."""
    facts = facts or {}
    result = names(settings)
    result["account"] = {"name": result["user"], "group": result["group"], "groups": [], "home": result["base"], "shell": "/usr/sbin/nologin",
                         "comment": result["comment"]}
    workers = settings["gunicorn_workers"]
    result["workers"] = as_int(workers) if workers is not None else as_int(facts.get("processor_vcpus", 1)) * 2 + 1
    result["record_content"] = record(settings, result)
    result["record_text"] = json_content(result["record_content"])
    result["files"] = files(settings, result)
    result["state"] = service_state(settings, result, differ_paths, changed_paths)
    result["units"] = units(settings, result, facts, result["state"])
    return result

# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""What stagecraft.webapp.deploy derives from its settings, in one place: names and paths (they match
the gunicorn and nginx roles', whose service and server block it works with), the packages, what
the drift read compares, the scheduled snapshot's settings and units, and the arguments every
deploy module task of a run shares.

`settings` holds the role's variables by name (deploy_app_name, deploy_repo, ...), as the role's
_deploy_settings hands them over.
"""

from __future__ import annotations

import hashlib
import re

from ansible_collections.stagecraft.webapp.plugins.module_utils._files import json_content, module_utils_source
from ansible_collections.stagecraft.webapp.plugins.module_utils._instance import instance_name
from ansible_collections.stagecraft.webapp.plugins.module_utils._repository import local_repository
from ansible_collections.stagecraft.webapp.plugins.module_utils._rules import as_bool, as_int

PACKAGES = ["git", "python3-venv"]
# Debian's Node and npm, only for a frontend build.
NODE_PACKAGES = ["nodejs", "npm"]
# The timer runs the deploy's own snapshot code from a root-owned copy on the host.
SNAPSHOT_LIB = "/usr/local/lib/stagecraft"
SNAPSHOT_CODE = ["_errors.py", "_snapshot.py", "_scheduled_snapshot.py"]
SNAPSHOT_MODULE = "ansible_collections.stagecraft.webapp.plugins.module_utils._scheduled_snapshot"
UNIT_DIR = "/etc/systemd/system"
# Module options that take the role variable of the same name (deploy_<option>) as it is.
PASSED_AS_THEY_ARE = ("repo", "token_user", "python", "requirements", "pip_args", "pip_env", "npm_dir", "npm_script", "npm_env", "hooks",
                      "once_hooks", "rerun_once", "shared_dirs", "shared_files", "health_path", "health_status", "health_host", "health_scheme",
                      "health_headers", "health_timeout", "snapshot_databases", "snapshot_dirs", "snapshot_max_bytes", "snapshot_before",
                      "snapshot_pre_command")


def layout(settings):
    """The instance's names, paths, packages, drift request, snapshot units and deploy module arguments."""
    instance = instance_name(settings["deploy_app_name"], settings["deploy_app_env"])
    etc = "/etc/stagecraft/" + instance
    base = "{0}/{1}/{2}".format(re.sub("/+$", "", str(settings["deploy_root"])), settings["deploy_app_name"], settings["deploy_app_env"])
    maintenance_dir = "/var/lib/stagecraft/" + instance
    names = {
        "instance": instance,
        "user": instance,
        "base": base,
        "etc": etc,
        "env_file": etc + "/env",
        "service_record": etc + "/gunicorn.json",
        "ssh_key_file": etc + "/deploy_key",
        "known_hosts_file": etc + "/known_hosts",
        # nginx answers 503 with this page while it exists (the nginx role's maintenance switch).
        "maintenance_dir": maintenance_dir,
        "maintenance_file": maintenance_dir + "/maintenance.html",
        # On for the whole deploy when asked for, and for a rollback that restores data.
        "maintenance": as_bool(settings["deploy_maintenance"]) or (as_bool(settings["deploy_rollback"]) and as_bool(settings["deploy_restore_data"])),
        "packages": list(PACKAGES),
        "node_packages": list(NODE_PACKAGES) if settings["deploy_npm_dir"] else [],
        # A repository on the host itself (a path or a file:// URL), which the preflight looks for there.
        "local_repo": local_repository(str(settings["deploy_repo"])),
        # Which ref of which repository: the key of the commit resolved once per run.
        "ref_key": "{0} {1}".format(settings["deploy_repo"], settings["deploy_version"]),
        # What a deploy record and the summary name for the ref.
        "ref_label": "rollback" if as_bool(settings["deploy_rollback"]) else settings["deploy_version"],
        # What playbooks/restore.yml puts back.
        "restore_snapshot": settings["deploy_restore_snapshot"],
        # Behind balancers the deploy module stops after the build, so the host is drained before its switch.
        "release_phase": "build" if settings["deploy_balancers"] else "all",
        # What playbooks/logs.yml reads besides the journal: nginx's logs of the app's server block (the
        # nginx role's names), and gunicorn's when it logs to files (gunicorn_log_target: file).
        "log_files": ["/var/log/nginx/{0}.access.log".format(instance), "/var/log/nginx/{0}.error.log".format(instance),
                      "/var/log/{0}/access.log".format(instance), "/var/log/{0}/error.log".format(instance)],
    }
    # What the balancers ask this host (the nginx role's member health check), and which balancers.
    names["balancer_check"] = {
        "balancers": settings["deploy_balancers"],
        "url": "http://{0}{1}".format(settings["deploy_balancer_member"], settings["deploy_health_path"]),
        "headers": dict({"Host": settings["deploy_health_host"], "X-Forwarded-Proto": settings["deploy_health_scheme"]}, **settings["deploy_health_headers"]),
        "status": settings["deploy_health_status"],
    }
    # Whether the lock must span several tasks (the deploy module takes it itself otherwise).
    names["lock_across_tasks"] = names["maintenance"] or bool(settings["deploy_balancers"])
    # What the deploy key's files hold (as the regex_replace and join the role used before wrote them).
    names["ssh_key_content"] = re.sub("\n*$", "\n", str(settings["deploy_ssh_key"]))
    names["known_hosts_content"] = "\n".join(settings["deploy_known_hosts"]) + "\n"
    names["snapshot"] = _snapshot(settings, names)
    names["snapshot"]["files"] = _snapshot_files(names["snapshot"])
    names["drift_packages"] = names["packages"] + names["node_packages"] if as_bool(settings["deploy_install_packages"]) else []
    names["drift_paths"] = _drift_paths(settings, names)
    names["deploy_args"] = _deploy_args(settings, names)
    return names


def _snapshot(settings, names):
    """Scheduled snapshots: the root-only settings file (the ship command may hold credentials), the code
    the timer runs and its two units for stagecraft.webapp.systemd (present only with a schedule)."""
    unit = names["instance"] + "-snapshot"
    config = names["etc"] + "/snapshot.json"
    schedule = settings["deploy_snapshot_schedule"]
    base = names["base"]
    return {
        "unit": unit,
        "timer_path": "{0}/{1}.timer".format(UNIT_DIR, unit),
        "config": config,
        "code_dir": SNAPSHOT_LIB + "/ansible_collections/stagecraft/webapp/plugins/module_utils",
        "code": list(SNAPSHOT_CODE),
        "dir": base + "/snapshots",
        "settings": {
            "base": base,
            "databases": settings["deploy_snapshot_databases"],
            "dirs": settings["deploy_snapshot_dirs"],
            "max_bytes": as_int(settings["deploy_snapshot_max_bytes"]),
            "keep": as_int(settings["deploy_snapshot_keep"]),
            "max_age_days": as_int(settings["deploy_snapshot_max_age_days"]),
            "pre_command": settings["deploy_snapshot_pre_command"],
            "ship_command": settings["deploy_snapshot_ship_command"],
        },
        # As root, which keeps the data's owners and modes, but with no capability beyond reading and
        # copying files and setting their owners (chown is in @privileged, put back after it). The ship
        # command runs inside it too: /root and /home are readable (ssh keys, rclone's config), only the
        # app's shared/ and snapshots/ writable.
        "service": {
            "name": unit + ".service",
            "sections": {
                "Unit": {"Description": "Snapshot the data of {0} (stagecraft.webapp.deploy)".format(names["instance"]), "After": "local-fs.target"},
                "Service": {
                    "Type": "oneshot",
                    "Environment": ["PYTHONPATH=" + SNAPSHOT_LIB, "PYTHONDONTWRITEBYTECODE=1"],
                    "ExecStart": "/usr/bin/python3 -m {0} {1}".format(SNAPSHOT_MODULE, config),
                    "Nice": 10,
                    "IOSchedulingClass": "idle",
                },
            },
            "hardening_overrides": {
                "CapabilityBoundingSet": "CAP_CHOWN CAP_FOWNER CAP_DAC_OVERRIDE CAP_DAC_READ_SEARCH",
                "SystemCallFilter": ["@system-service", "~@privileged @resources", "@chown"],
                "ProtectHome": "read-only",
            },
            "read_write_paths": [base + "/shared", base + "/snapshots"],
            "state": "stopped",
            "present": bool(schedule),
        },
        "timer": {
            "name": unit + ".timer",
            "sections": {
                "Unit": {"Description": "Snapshot the data of {0} on its schedule".format(names["instance"])},
                # Several apps (and hosts) on one schedule do not all copy at the same moment.
                "Timer": {"OnCalendar": schedule, "RandomizedDelaySec": "15min", "Persistent": True},
                "Install": {"WantedBy": "timers.target"},
            },
            "present": bool(schedule),
        },
    }


def _snapshot_files(snapshot):
    """For stagecraft.webapp.files: with a schedule, the code's directories (a package tree under SNAPSHOT_LIB), the code as
    it is in this collection, the settings (a secret: the ship command may hold credentials) and the snapshots directory,
    the only place besides shared/ the service may write; without, the settings' removal."""
    if not snapshot["timer"]["present"]:
        return [{"path": snapshot["config"], "state": "absent"}]
    root = {"owner": "root", "group": "root"}
    tree = snapshot["code_dir"][len(SNAPSHOT_LIB):].strip("/").split("/")
    entries = [dict(root, path="/".join([SNAPSHOT_LIB] + tree[:depth]), state="directory", mode="0755") for depth in range(len(tree) + 1)]
    entries += [dict(root, path="{0}/{1}".format(snapshot["code_dir"], name), content=module_utils_source(name), mode="0644") for name in snapshot["code"]]
    return entries + [dict(root, path=snapshot["config"], content=json_content(snapshot["settings"]), mode="0600", secret=True),
                      dict(root, path=snapshot["dir"], state="directory", mode="0700")]


def _drift_paths(settings, names):
    """What the one read of the host compares: the gunicorn role's record, the deploy key's files as
    written when a key is configured (else gone), and a snapshot timer no longer wanted."""
    key_state = "file" if settings["deploy_ssh_key"] else "absent"
    return [
        {"path": names["service_record"]},
        {"path": names["ssh_key_file"], "state": key_state, "owner": "root", "group": "root", "mode": "0600",
         "checksum": hashlib.sha1(names["ssh_key_content"].encode("utf-8")).hexdigest()},
        {"path": names["known_hosts_file"], "state": key_state, "owner": "root", "group": "root", "mode": "0644",
         "checksum": hashlib.sha1(names["known_hosts_content"].encode("utf-8")).hexdigest()},
        {"path": names["snapshot"]["timer_path"], "state": "file" if settings["deploy_snapshot_schedule"] else "absent"},
    ]


def _deploy_args(settings, names):
    """The stagecraft.webapp.deploy arguments that come from the settings alone: the same for every
    deploy module task of the run (each adds its phase and the run's values)."""
    args = {option: settings["deploy_" + option] for option in PASSED_AS_THEY_ARE}
    args.update({
        "path": names["base"],
        "ref": settings["deploy_version"],
        "owner": names["user"],
        "user": names["user"],
        "env_file": names["env_file"],
        "service_record": names["service_record"],
        "keep": settings["deploy_keep_releases"],
        "rollback": as_bool(settings["deploy_rollback"]),
        "allow_rolled_back": as_bool(settings["deploy_allow_rolled_back"]),
        "restore_data": as_bool(settings["deploy_restore_data"]),
    })
    if settings["deploy_ssh_key"]:
        args.update({"ssh_key": names["ssh_key_file"], "known_hosts": names["known_hosts_file"]})
    if settings["deploy_token"]:
        args["token"] = settings["deploy_token"]
    return args


def module_args(names, run, who, job_id=""):
    """The arguments the role's lock, deploy, record and restore tasks share, per module: what the
    settings decide (`names`, the layout) and what the run does (`run`: its release time and lock
    holder; `who` deploys; `job_id`, the AWX job, left out when there is none)."""
    job = {"job_id": job_id} if job_id else {}
    return {
        "deploy_lock": dict({"path": names["base"], "holder_id": run["holder"], "owner": who}, **job),
        "deploy": dict(names["deploy_args"], holder_id=run["holder"], who=who, timestamp=run["time"], **job),
        "deploy_record": dict({"path": names["base"], "who": who, "ref": names["ref_label"], "started": run["time"]}, **job),
        "deploy_restore": {"path": names["base"], "snapshot": names["restore_snapshot"]},
    }

# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The watchdog role's derived names, paths, program config and unit specs, on the controller.

`layout(settings)` reads the role's variables by name (vars/main.yml's _watchdog_settings) and
`inventory_hostname`. The program the host runs is _watchdog.py itself, installed as it is.
"""

from __future__ import annotations

import posixpath

from ansible_collections.stagecraft.webapp.plugins.module_utils._cloudflared_settings import RECORDS_DIR
from ansible_collections.stagecraft.webapp.plugins.module_utils._files import json_content, module_utils_source
from ansible_collections.stagecraft.webapp.plugins.module_utils._instance import instance_name
from ansible_collections.stagecraft.webapp.plugins.module_utils._rules import as_bool

# The program (plugins/module_utils/_watchdog.py itself, standard library only), shared by every app on the host.
PROGRAM = "/usr/local/lib/stagecraft/watchdog.py"


def _checks(settings, instance):
    """What one run checks: the app's health as a client asks nginx, and the connector's /ready where there is one."""
    checks = [{"name": "health", "url": settings["watchdog_health_url"], "connect_address": settings["watchdog_connect_address"],
               "status": settings["watchdog_health_status"], "unit": instance + ".service"}]
    connector = settings["watchdog_connector"]
    if connector:
        checks.append({"name": "connector", "record": "{0}/{1}.json".format(RECORDS_DIR, connector), "status": 200, "unit": connector + ".service"})
    return checks


def layout(settings):
    """The instance's names and paths, the program's config (`config_content`: no secret of the
    app's, only the alert command) and the specs of the timer and the service it runs for
    stagecraft.webapp.systemd."""
    instance = instance_name(settings["watchdog_app_name"], settings["watchdog_app_env"])
    unit = instance + "-watchdog"
    config = "/etc/stagecraft/watchdog/{0}.json".format(instance)
    # The app's state directory, where the nginx role's maintenance switch (the deploy role's page) lives too.
    state_dir = "/var/lib/stagecraft/" + instance
    present, interval = as_bool(settings["watchdog_present"]), settings["watchdog_interval"]
    service = {
        "name": unit + ".service",
        "present": present,
        "sections": {
            "Unit": {
                "Description": "Check {0} between deploys (stagecraft.webapp.watchdog)".format(instance),
                "After": ["network-online.target", "nginx.service"],
                # No start limit: the timer starts it at most once per interval, a person by hand as often as they like.
                "StartLimitIntervalSec": 0,
            },
            "Service": {"Type": "oneshot", "ExecStart": "/usr/bin/python3 -I {0} {1}".format(PROGRAM, config), "TimeoutStartSec": "5min"},
        },
        "hardening": True,
        "read_write_paths": [state_dir],
        # Started by its timer only.
        "state": "stopped",
    }
    timer = {
        "name": unit + ".timer",
        "present": present,
        "sections": {
            "Unit": {"Description": "Check {0} every {1}".format(instance, interval)},
            # From the timer's start (boot, install), then from each run's start.
            "Timer": {"OnActiveSec": interval, "OnUnitActiveSec": interval},
            "Install": {"WantedBy": "timers.target"},
        },
    }
    result = {
        "instance": instance,
        "unit": unit,
        "program": PROGRAM,
        "config": config,
        "state_dir": state_dir,
        "directories": [posixpath.dirname(PROGRAM), posixpath.dirname(config), state_dir],
        "config_content": {
            "app": settings["watchdog_app_name"],
            "env": settings["watchdog_app_env"],
            "host": settings["inventory_hostname"],
            "checks": _checks(settings, instance),
            "failures": settings["watchdog_failures"],
            "timeout": settings["watchdog_timeout"],
            "certificate_warn_days": settings["watchdog_certificate_warn_days"],
            "alert_command": settings["watchdog_alert_command"],
            "lock_file": str(settings["watchdog_deploy_dir"]).rstrip("/") + "/deploy.lock",
            "maintenance_file": state_dir + "/maintenance.html",
            "state_file": state_dir + "/watchdog.json",
        },
        "service": service,
        "timer": timer,
    }
    result["files"] = files(result, present)
    return result


def files(layout, present):
    """The directories, the program and the config, for stagecraft.webapp.files; only the config's removal when the
    watchdog is not present (the program is every app's on the host). The config is a secret: the alert command may
    carry a webhook's token."""
    config = {"path": layout["config"], "owner": "root", "group": "root", "mode": "0600", "secret": True,
              "content": json_content(layout["config_content"])}
    if not present:
        return [{"path": layout["config"], "state": "absent"}]
    directories = [{"path": path, "state": "directory", "owner": "root", "group": "root", "mode": "0755"} for path in layout["directories"]]
    return directories + [{"path": layout["program"], "content": module_utils_source("_watchdog.py"), "owner": "root", "group": "root", "mode": "0644"}, config]

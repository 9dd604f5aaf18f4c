"""The watchdog role's derived names, paths, program config and unit specs
(plugins/module_utils/_watchdog_layout.py) through its filter watchdog_layout."""

from __future__ import annotations

import datetime
import sys
from pathlib import Path

import pytest
import yaml
from ansible.plugins.filter.core import to_nice_json

# The collection by FQCN through the checkout's self-link (see module_utils/conftest.py).
COLLECTIONS = Path(__file__).resolve().parents[3] / "collections"
if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))

from ansible_collections.stagecraft.webapp.plugins.filter.watchdog_layout import FilterModule  # noqa: E402
from ansible_collections.stagecraft.webapp.plugins.module_utils._watchdog import run_once, settings_problems  # noqa: E402

watchdog_layout = FilterModule().filters()["watchdog_layout"]
ROLE = COLLECTIONS.parent / "roles" / "watchdog"
HOOK = ["curl", "-fsS", "--data-binary", "@-", "https://hooks.example.com/T0/B0/x"]


def settings(**changes):
    """The role's variables as a prod composition sets them (playbooks/vars/stagecraft.yml), with `changes`."""
    values = {"watchdog_app_name": "shop", "watchdog_app_env": "prod", "watchdog_present": True, "watchdog_health_url": "https://shop.example.com/healthz",
              "watchdog_connect_address": "127.0.0.1", "watchdog_health_status": 200, "watchdog_connector": "", "watchdog_deploy_dir": "/srv/shop/prod",
              "watchdog_failures": 3, "watchdog_interval": "1min", "watchdog_timeout": 10, "watchdog_certificate_warn_days": 14,
              "watchdog_alert_command": HOOK, "inventory_hostname": "web1"}
    values.update(changes)
    return values


def test_the_setting_names_are_the_argument_specs_options_and_the_host():
    names = yaml.safe_load((ROLE / "vars" / "main.yml").read_text(encoding="utf-8"))["_watchdog_setting_names"]
    options = yaml.safe_load((ROLE / "meta" / "argument_specs.yml").read_text(encoding="utf-8"))["argument_specs"]["main"]["options"]
    assert names == list(options) + ["inventory_hostname"]
    assert set(names) == set(settings())


def test_the_names_and_paths_derive_from_the_app_and_env():
    found = watchdog_layout(settings())
    assert (found["instance"], found["unit"], found["program"], found["config"], found["state_dir"]) == (
        "shop-prod", "shop-prod-watchdog", "/usr/local/lib/stagecraft/watchdog.py", "/etc/stagecraft/watchdog/shop-prod.json",
        "/var/lib/stagecraft/shop-prod")
    assert found["directories"] == ["/usr/local/lib/stagecraft", "/etc/stagecraft/watchdog", "/var/lib/stagecraft/shop-prod"]


def test_the_files_are_the_directories_the_program_itself_and_the_secret_config():
    found = watchdog_layout(settings())
    program = (COLLECTIONS.parent / "plugins" / "module_utils" / "_watchdog.py").read_text(encoding="utf-8")
    directories, (installed, config) = found["files"][:3], found["files"][3:]
    assert [(entry["path"], entry["state"], entry["mode"]) for entry in directories] == [(path, "directory", "0755") for path in found["directories"]]
    assert installed == {"path": "/usr/local/lib/stagecraft/watchdog.py", "content": program, "owner": "root", "group": "root", "mode": "0644"}
    # Byte for byte what the role wrote before with to_nice_json(sort_keys=true): a host deployed then sees no change.
    assert config == {"path": "/etc/stagecraft/watchdog/shop-prod.json", "owner": "root", "group": "root", "mode": "0600", "secret": True,
                      "content": to_nice_json(found["config_content"], sort_keys=True) + "\n"}


def test_without_the_watchdog_only_its_config_goes():
    assert watchdog_layout(settings(watchdog_present=False))["files"] == [{"path": "/etc/stagecraft/watchdog/shop-prod.json", "state": "absent"}]


@pytest.mark.parametrize("deploy_dir", ["/srv/shop/prod", "/srv/shop/prod/", "/srv/shop/prod//"])
def test_the_config_is_what_one_run_reads(deploy_dir):
    assert watchdog_layout(settings(watchdog_deploy_dir=deploy_dir))["config_content"] == {
        "app": "shop", "env": "prod", "host": "web1",
        "checks": [{"name": "health", "url": "https://shop.example.com/healthz", "connect_address": "127.0.0.1", "status": 200, "unit": "shop-prod.service"}],
        "failures": 3, "timeout": 10, "certificate_warn_days": 14, "alert_command": HOOK,
        "lock_file": "/srv/shop/prod/deploy.lock", "maintenance_file": "/var/lib/stagecraft/shop-prod/maintenance.html",
        "state_file": "/var/lib/stagecraft/shop-prod/watchdog.json",
    }


def test_a_connector_is_checked_through_the_cloudflared_roles_record():
    checks = watchdog_layout(settings(watchdog_connector="cloudflared-shop-prod", watchdog_health_status=204))["config_content"]["checks"]
    assert checks == [
        {"name": "health", "url": "https://shop.example.com/healthz", "connect_address": "127.0.0.1", "status": 204, "unit": "shop-prod.service"},
        {"name": "connector", "record": "/etc/stagecraft/cloudflared/cloudflared-shop-prod.json", "status": 200, "unit": "cloudflared-shop-prod.service"},
    ]


def test_the_program_runs_on_the_config(tmp_path):
    """One run of the program on the config the role writes: a failed health check is counted in its state file."""
    config = watchdog_layout(settings(watchdog_alert_command=[]))["config_content"]
    config.update(state_file=str(tmp_path / "watchdog.json"), lock_file=str(tmp_path / "deploy.lock"), maintenance_file=str(tmp_path / "maintenance.html"))
    assert settings_problems(settings()) == []
    failed = {"ok": False, "detail": "answered 500, not 200", "not_after": None}
    state, fired = run_once(config, datetime.datetime(2026, 12, 6, tzinfo=datetime.timezone.utc), probe_check=lambda check, timeout, now: failed,
                            command=None)
    assert (state["checks"]["health"]["failures"], fired) == (1, [])


@pytest.mark.parametrize("present, expected", [(True, True), ("no", False)])
def test_the_timer_runs_the_program_on_the_config_every_interval(present, expected):
    found = watchdog_layout(settings(watchdog_present=present, watchdog_interval="30s"))
    assert found["service"] == {
        "name": "shop-prod-watchdog.service", "present": expected,
        "sections": {
            "Unit": {"Description": "Check shop-prod between deploys (stagecraft.webapp.watchdog)", "After": ["network-online.target", "nginx.service"],
                     "StartLimitIntervalSec": 0},
            "Service": {"Type": "oneshot", "ExecStart": "/usr/bin/python3 -I /usr/local/lib/stagecraft/watchdog.py /etc/stagecraft/watchdog/shop-prod.json",
                        "TimeoutStartSec": "5min"},
        },
        "hardening": True, "read_write_paths": ["/var/lib/stagecraft/shop-prod"], "state": "stopped",
    }
    assert found["timer"] == {
        "name": "shop-prod-watchdog.timer", "present": expected,
        "sections": {"Unit": {"Description": "Check shop-prod every 30s"}, "Timer": {"OnActiveSec": "30s", "OnUnitActiveSec": "30s"},
                     "Install": {"WantedBy": "timers.target"}},
    }

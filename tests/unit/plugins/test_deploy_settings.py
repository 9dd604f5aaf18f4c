"""The deploy role's preflight rules (plugins/module_utils/_deploy_settings.py) through its filter:
every message, none for settings the role takes, and no key or token in any message."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

# The collection by FQCN through the checkout's self-link (see module_utils/conftest.py).
COLLECTIONS = Path(__file__).resolve().parents[3] / "collections"
if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))

from ansible_collections.stagecraft.webapp.plugins.filter.deploy_problems import FilterModule  # noqa: E402

problems = FilterModule().filters()["deploy_problems"]
KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n"
TOKEN = "ghp_t0ken7f3a9c"


def settings(**changes):
    """The role's defaults for app "shop" from an https repository, as vars/main.yml's _deploy_settings hands them over."""
    values = {
        "deploy_app_name": "shop", "deploy_app_env": "prod", "deploy_root": "/srv", "deploy_repo": "https://git.example.com/shop.git",
        "deploy_version": "main", "deploy_hooks": {}, "deploy_once_hooks": [], "deploy_rerun_once": [], "deploy_keep_releases": 5,
        "deploy_health_path": "/healthz", "deploy_health_timeout": 60,
        "deploy_ssh_key": "", "deploy_known_hosts": [], "deploy_token": "", "deploy_rollback": False, "deploy_rollback_to": "",
        "deploy_balancers": [], "deploy_balancer_member": "", "inventory_hosts": ["app1", "app2", "lb1"],
        "deploy_snapshot_databases": [], "deploy_snapshot_dirs": [], "deploy_snapshot_max_bytes": 1073741824,
        "deploy_snapshot_before": "before_switch", "deploy_restore_data": False,
        "deploy_snapshot_schedule": "", "deploy_snapshot_pre_command": "", "deploy_snapshot_keep": 7, "deploy_snapshot_max_age_days": 30,
    }
    values.update(changes)
    return values


@pytest.mark.parametrize("changes", [
    {},
    {"deploy_hooks": {"before_build": ["make"], "after_switch": []}, "deploy_version": "v1.2.3", "deploy_keep_releases": "2",
     "deploy_health_timeout": "0.5", "deploy_token": TOKEN},
    {"deploy_repo": "git@git.example.com:shop.git", "deploy_ssh_key": KEY, "deploy_known_hosts": ["git.example.com ssh-ed25519 AAAA"],
     "deploy_rollback": True, "deploy_rollback_to": "20260101T000000Z-abc"},
    {"deploy_balancers": ["lb1"], "deploy_balancer_member": "10.0.0.5:8000"},
    {"deploy_once_hooks": [{"name": "init-db", "command": "flask init-db"}, {"name": "first_admin.2", "command": "x"}],
     "deploy_rerun_once": "init-db, first_admin.2"},
    {"deploy_balancers": ["lb1"], "deploy_balancer_member": "[fd00::5]:8000", "deploy_app_name": "a", "deploy_app_env": "dev_2"},
    {"deploy_snapshot_databases": ["db.sqlite3", "data/app.db"], "deploy_snapshot_dirs": ["media", "uploads/"],
     "deploy_snapshot_max_bytes": "500000000", "deploy_snapshot_before": "before_build", "deploy_rollback": True, "deploy_restore_data": "true"},
    {"deploy_snapshot_pre_command": "pg_dump shop > \"$1/shop.sql\"", "deploy_snapshot_schedule": "daily", "deploy_snapshot_keep": "1",
     "deploy_snapshot_max_age_days": 0},
    # A URL with a user but no password carries no credentials.
    {"deploy_repo": "ssh://git@git.example.com/shop.git", "deploy_rollback": "yes", "deploy_rollback_to": "x"},
])
def test_settings_the_role_takes_have_no_problem(changes):
    assert problems(settings(**changes)) == []


@pytest.mark.parametrize("changes, expected", [
    ({"deploy_app_name": "Shop"}, ['deploy_app_name "Shop" is not valid: lowercase letters, digits, "_" and "-", starting with a letter']),
    ({"deploy_app_name": "shop\n"}, ['deploy_app_name "shop\\n" is not valid: lowercase letters, digits, "_" and "-", starting with a letter']),
    ({"deploy_app_env": "pro-d"}, ['deploy_app_env "pro-d" is not valid: lowercase letters, digits and "_", starting with a letter']),
    ({"deploy_root": "srv"}, ['deploy_root must be an absolute path (got "srv")']),
    ({"deploy_repo": "  "}, ["deploy_repo is empty"]),
    ({"deploy_repo": "https://user:pass@git.example.com/shop.git"}, ["deploy_repo carries credentials in its URL; use deploy_token or deploy_ssh_key"]),
    ({"deploy_version": "-x"}, ['deploy_version "-x" is not a ref name (empty, starts with "-" or holds spaces)']),
    ({"deploy_version": "a b"}, ['deploy_version "a b" is not a ref name (empty, starts with "-" or holds spaces)']),
    ({"deploy_version": ""}, ['deploy_version "" is not a ref name (empty, starts with "-" or holds spaces)']),
    ({"deploy_version": "main\n"}, ['deploy_version "main\\n" is not a ref name (empty, starts with "-" or holds spaces)']),
    ({"deploy_hooks": {"before_build": [], "during": ["x"], "later": []}}, [
        "deploy_hooks has unknown phases: during, later; the phases are before_build, after_build, before_switch, after_switch"]),
    ({"deploy_once_hooks": [{"name": "init db", "command": "x"}, {"command": "y"}, {"name": "a", "command": " "}, {"name": "a", "command": "z"}],
      "deploy_rerun_once": "a,seed"}, [
        "deploy_once_hooks item 1: name 'init db' must be letters, digits, '.', '_' or '-'",
        "deploy_once_hooks item 2 must have exactly the keys name and command", "deploy_once_hooks item 3 (a) has no command",
        "deploy_once_hooks names a twice; each once-hook needs its own name",
        "deploy_rerun_once names no once-hook: seed (the once-hooks are: init db, a, a)"]),
    ({"deploy_rerun_once": ["init-db"]}, ["deploy_rerun_once names no once-hook: init-db (the once-hooks are: none)"]),
    ({"deploy_keep_releases": 0, "deploy_health_path": "health", "deploy_health_timeout": 0}, [
        "deploy_keep_releases must be at least 1 (got 0)", 'deploy_health_path must start with "/" (got "health")',
        "deploy_health_timeout must be above 0 (got 0)"]),
    ({"deploy_keep_releases": "x", "deploy_health_timeout": "-1.5"}, [
        "deploy_keep_releases must be at least 1 (got x)", "deploy_health_timeout must be above 0 (got -1.5)"]),
    ({"deploy_repo": "git@git.example.com:shop.git", "deploy_ssh_key": KEY, "deploy_token": TOKEN}, [
        "deploy_ssh_key and deploy_token are both set; give one", "deploy_ssh_key needs deploy_known_hosts (host keys are always checked)",
        "deploy_token is only sent to an https:// deploy_repo"]),
    ({"deploy_repo": "http://git.example.com/shop.git", "deploy_token": TOKEN}, ["deploy_token is only sent to an https:// deploy_repo"]),
    ({"deploy_rollback_to": "abc"}, ["deploy_rollback_to needs deploy_rollback: true"]),
    ({"deploy_balancers": ["lb1"], "deploy_balancer_member": "app1"}, [
        'deploy_balancer_member "app1" is not "HOST:PORT" (this host as the balancers list it)']),
    ({"deploy_balancers": ["lb1"], "deploy_balancer_member": "app1:123456"}, [
        'deploy_balancer_member "app1:123456" is not "HOST:PORT" (this host as the balancers list it)']),
    ({"deploy_balancers": ["nowhere", "lb1", "elsewhere", "nowhere"], "deploy_balancer_member": "app1:8000"}, [
        "deploy_balancers names hosts the inventory does not have: nowhere, elsewhere"]),
    ({"deploy_snapshot_databases": ["/srv/shop/db.sqlite3", "../db.sqlite3", "media/app.db"], "deploy_snapshot_dirs": ["media", "a/../.."]}, [
        'deploy_snapshot_databases item "/srv/shop/db.sqlite3" must be a relative path inside shared/, without \'..\'',
        'deploy_snapshot_databases item "../db.sqlite3" must be a relative path inside shared/, without \'..\'',
        'deploy_snapshot_dirs item "a/../.." must be a relative path inside shared/, without \'..\'',
        'deploy_snapshot_databases item "media/app.db" lies inside deploy_snapshot_dirs item "media"; name one of them']),
    ({"deploy_snapshot_max_bytes": 0, "deploy_snapshot_before": "after_deploy", "deploy_restore_data": True}, [
        "deploy_snapshot_max_bytes must be at least 1 (got 0)",
        'deploy_snapshot_before "after_deploy" is no hook stage; the stages are before_build, after_build, before_switch, after_switch',
        "deploy_restore_data needs deploy_rollback: true (playbooks/rollback.yml -e restore_data=true)"]),
    ({"deploy_snapshot_schedule": "daily", "deploy_snapshot_keep": 0, "deploy_snapshot_max_age_days": -1}, [
        "deploy_snapshot_schedule needs deploy_snapshot_databases, deploy_snapshot_dirs or deploy_snapshot_pre_command: a scheduled snapshot "
        "would hold nothing",
        "deploy_snapshot_keep must be at least 1 (got 0)",
        "deploy_snapshot_max_age_days must be 0 (no age limit) or more (got -1)"]),
])
def test_each_problem_names_the_variable(changes, expected):
    assert problems(settings(**changes)) == expected


def test_every_problem_is_reported_at_once_in_the_rules_order():
    found = problems(settings(deploy_app_name="Shop", deploy_repo="", deploy_hooks={"x": []}, deploy_keep_releases=0, deploy_token=TOKEN,
                              deploy_balancers=["nowhere"]))
    assert [message.split(" ")[0] for message in found] == [
        "deploy_app_name", "deploy_repo", "deploy_hooks", "deploy_keep_releases", "deploy_token", "deploy_balancer_member", "deploy_balancers"]


def test_no_message_holds_the_key_or_the_token():
    found = problems(settings(deploy_repo="git@git.example.com:shop.git", deploy_ssh_key=KEY, deploy_token=TOKEN))
    assert found
    assert not any("OPENSSH" in message or TOKEN in message for message in found)


def test_the_role_hands_over_every_setting_the_rules_read():
    role = COLLECTIONS.parent / "roles" / "deploy"
    names = yaml.safe_load((role / "vars" / "main.yml").read_text(encoding="utf-8"))["_deploy_setting_names"]
    options = yaml.safe_load((role / "meta" / "argument_specs.yml").read_text(encoding="utf-8"))["argument_specs"]["main"]["options"]
    assert names == list(options)
    assert set(settings()) <= set(names) | {"inventory_hosts"}

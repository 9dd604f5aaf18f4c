"""What the deploy role derives from its settings (plugins/module_utils/_deploy_layout.py) and what it
says at the end of a run (plugins/module_utils/_deploy_report.py), through their filters."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest
import yaml
from ansible.plugins.filter.core import to_nice_json

COLLECTIONS = Path(__file__).resolve().parents[3] / "collections"
if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))

from ansible_collections.stagecraft.webapp.plugins.filter.deploy_failed import FilterModule as FailedFilters  # noqa: E402
from ansible_collections.stagecraft.webapp.plugins.filter.deploy_layout import FilterModule  # noqa: E402
from ansible_collections.stagecraft.webapp.plugins.filter.deploy_module_args import FilterModule as ModuleArgsFilters  # noqa: E402
from ansible_collections.stagecraft.webapp.plugins.filter.deploy_run_shown import FilterModule as RunShownFilters  # noqa: E402
from ansible_collections.stagecraft.webapp.plugins.filter.deploy_served import FilterModule as ServedFilters  # noqa: E402
from ansible_collections.stagecraft.webapp.plugins.modules import deploy as deploy_module  # noqa: E402

layout = FilterModule().filters()["deploy_layout"]
served = ServedFilters().filters()["deploy_served"]
failed = FailedFilters().filters()["deploy_failed"]
run_shown = RunShownFilters().filters()["deploy_run_shown"]
module_args = ModuleArgsFilters().filters()["deploy_module_args"]
ROLE = COLLECTIONS.parent / "roles" / "deploy"
DEFAULTS = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text(encoding="utf-8"))
KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----"
TOKEN = "ghp_t0ken7f3a9c"


def settings(**changes):
    """The role's defaults for app "shop" in "prod" from an https repository, with `changes`."""
    return {**DEFAULTS, "deploy_app_name": "shop", "deploy_repo": "https://git.example.com/shop.git", "inventory_hosts": ["app1", "lb1"], **changes}


def test_names_and_paths_match_the_gunicorn_and_nginx_roles():
    names = layout(settings(deploy_root="/opt/apps//"))
    assert {key: names[key] for key in ("instance", "user", "base", "etc", "env_file", "service_record", "ssh_key_file", "known_hosts_file",
                                        "maintenance_dir", "maintenance_file", "log_files")} == {
        "instance": "shop-prod", "user": "shop-prod", "base": "/opt/apps/shop/prod", "etc": "/etc/stagecraft/shop-prod",
        "env_file": "/etc/stagecraft/shop-prod/env", "service_record": "/etc/stagecraft/shop-prod/gunicorn.json",
        "ssh_key_file": "/etc/stagecraft/shop-prod/deploy_key", "known_hosts_file": "/etc/stagecraft/shop-prod/known_hosts",
        "maintenance_dir": "/var/lib/stagecraft/shop-prod", "maintenance_file": "/var/lib/stagecraft/shop-prod/maintenance.html",
        "log_files": ["/var/log/nginx/shop-prod.access.log", "/var/log/nginx/shop-prod.error.log", "/var/log/shop-prod/access.log",
                      "/var/log/shop-prod/error.log"]}
    assert layout(settings(deploy_root="/srv"))["base"] == "/srv/shop/prod"


@pytest.mark.parametrize("changes, maintenance, lock_across_tasks", [
    ({}, False, False),
    ({"deploy_maintenance": "yes"}, True, True),
    ({"deploy_rollback": True, "deploy_restore_data": "true"}, True, True),
    ({"deploy_rollback": True}, False, False),
    ({"deploy_restore_data": True}, False, False),
    ({"deploy_balancers": ["lb1"]}, False, True),
])
def test_the_maintenance_page_and_the_lock_across_tasks(changes, maintenance, lock_across_tasks):
    names = layout(settings(**changes))
    assert (names["maintenance"], names["lock_across_tasks"]) == (maintenance, lock_across_tasks)


@pytest.mark.parametrize("changes, drift, node", [
    ({}, ["git", "python3-venv"], []),
    ({"deploy_npm_dir": "frontend"}, ["git", "python3-venv", "nodejs", "npm"], ["nodejs", "npm"]),
    ({"deploy_npm_dir": "frontend", "deploy_install_packages": False}, [], ["nodejs", "npm"]),
])
def test_packages_node_only_for_a_frontend_build_none_read_when_not_installed(changes, drift, node):
    names = layout(settings(**changes))
    assert (names["packages"], names["node_packages"], names["drift_packages"]) == (["git", "python3-venv"], node, drift)


@pytest.mark.parametrize("repo, local", [("/srv/git/app.git", "/srv/git/app.git"), ("file:///srv/git/app.git", "/srv/git/app.git"),
                                         ("https://git.example.com/shop.git", ""), ("git@git.example.com:shop.git", "")])
def test_a_repository_on_the_host_itself(repo, local):
    assert layout(settings(deploy_repo=repo))["local_repo"] == local


def test_ref_key_ref_label_and_the_phase_of_the_release_task():
    names = layout(settings(deploy_version="v1.2"))
    assert (names["ref_key"], names["ref_label"], names["release_phase"]) == ("https://git.example.com/shop.git v1.2", "v1.2", "all")
    names = layout(settings(deploy_rollback="yes", deploy_balancers=["lb1"]))
    assert (names["ref_label"], names["release_phase"]) == ("rollback", "build")


def test_the_drift_read_without_a_deploy_key_wants_its_files_gone():
    paths = layout(settings())["drift_paths"]
    assert [(each["path"], each.get("state")) for each in paths] == [
        ("/etc/stagecraft/shop-prod/gunicorn.json", None), ("/etc/stagecraft/shop-prod/deploy_key", "absent"),
        ("/etc/stagecraft/shop-prod/known_hosts", "absent"), ("/etc/systemd/system/shop-prod-snapshot.timer", "absent")]


# As the role's regex_replace('\\n*$', '\\n') wrote it: "\n*$" also matches the empty end after the final
# newlines, so a key that ends in one gets a second (kept: a change would rewrite every deployed key once).
@pytest.mark.parametrize("key, written", [(KEY, KEY + "\n"), (KEY + "\n", KEY + "\n\n")])
def test_the_drift_read_with_a_deploy_key_compares_what_is_written(key, written):
    names = layout(settings(deploy_ssh_key=key, deploy_known_hosts=["git.example.com ssh-ed25519 AAAA", "b ssh-rsa BBBB"],
                            deploy_snapshot_schedule="daily"))
    assert names["ssh_key_content"] == written
    assert names["known_hosts_content"] == "git.example.com ssh-ed25519 AAAA\nb ssh-rsa BBBB\n"
    key_file, known_hosts, timer = names["drift_paths"][1:]
    assert key_file == {"path": "/etc/stagecraft/shop-prod/deploy_key", "state": "file", "owner": "root", "group": "root", "mode": "0600",
                        "checksum": hashlib.sha1(names["ssh_key_content"].encode()).hexdigest()}
    assert known_hosts["mode"] == "0644" and known_hosts["checksum"] == hashlib.sha1(names["known_hosts_content"].encode()).hexdigest()
    assert timer["state"] == "file"


def test_scheduled_snapshot_settings_and_units():
    snapshot = layout(settings(deploy_snapshot_schedule="*-*-* 03:15:00", deploy_snapshot_dirs=["media"], deploy_snapshot_max_bytes="1000",
                               deploy_snapshot_keep="3", deploy_snapshot_ship_command="rclone copy \"$1\" remote:"))["snapshot"]
    assert snapshot["settings"] == {"base": "/srv/shop/prod", "databases": [], "dirs": ["media"], "max_bytes": 1000, "keep": 3, "max_age_days": 30,
                                    "pre_command": "", "ship_command": "rclone copy \"$1\" remote:"}
    assert (snapshot["unit"], snapshot["config"], snapshot["dir"]) == ("shop-prod-snapshot", "/etc/stagecraft/shop-prod/snapshot.json",
                                                                       "/srv/shop/prod/snapshots")
    assert snapshot["code_dir"] == "/usr/local/lib/stagecraft/ansible_collections/stagecraft/webapp/plugins/module_utils"
    assert all((ROLE.parent.parent / "plugins" / "module_utils" / name).is_file() for name in snapshot["code"])
    service, timer = snapshot["service"], snapshot["timer"]
    assert service["sections"]["Service"]["ExecStart"] == (
        "/usr/bin/python3 -m ansible_collections.stagecraft.webapp.plugins.module_utils._scheduled_snapshot /etc/stagecraft/shop-prod/snapshot.json")
    assert service["read_write_paths"] == ["/srv/shop/prod/shared", "/srv/shop/prod/snapshots"]
    assert (service["name"], service["state"], service["present"]) == ("shop-prod-snapshot.service", "stopped", True)
    assert timer["name"] == "shop-prod-snapshot.timer" and timer["present"] is True
    assert timer["sections"]["Timer"] == {"OnCalendar": "*-*-* 03:15:00", "RandomizedDelaySec": "15min", "Persistent": True}
    unscheduled = layout(settings())["snapshot"]
    assert unscheduled["service"]["present"] is False and unscheduled["timer"]["present"] is False


def test_scheduled_snapshot_files_are_the_package_tree_the_code_itself_and_the_secret_settings():
    snapshot = layout(settings(deploy_snapshot_schedule="daily", deploy_snapshot_ship_command="rclone copy \"$1\" remote:"))["snapshot"]
    files = snapshot["files"]
    directories = [entry["path"] for entry in files if entry.get("state") == "directory"]
    assert directories == ["/usr/local/lib/stagecraft", "/usr/local/lib/stagecraft/ansible_collections",
                           "/usr/local/lib/stagecraft/ansible_collections/stagecraft", "/usr/local/lib/stagecraft/ansible_collections/stagecraft/webapp",
                           "/usr/local/lib/stagecraft/ansible_collections/stagecraft/webapp/plugins", snapshot["code_dir"], "/srv/shop/prod/snapshots"]
    code = {entry["path"].rsplit("/", 1)[1]: entry["content"] for entry in files if entry["path"].startswith(snapshot["code_dir"] + "/")}
    assert code == {name: (ROLE.parent.parent / "plugins" / "module_utils" / name).read_text(encoding="utf-8") for name in snapshot["code"]}
    config = next(entry for entry in files if entry["path"] == snapshot["config"])
    # Byte for byte what the role wrote before with to_nice_json(sort_keys=true): a scheduled host then sees no change.
    assert config == {"path": "/etc/stagecraft/shop-prod/snapshot.json", "owner": "root", "group": "root", "mode": "0600", "secret": True,
                      "content": to_nice_json(snapshot["settings"], sort_keys=True) + "\n"}
    assert files[-1] == {"path": "/srv/shop/prod/snapshots", "state": "directory", "owner": "root", "group": "root", "mode": "0700"}
    assert layout(settings())["snapshot"]["files"] == [{"path": "/etc/stagecraft/shop-prod/snapshot.json", "state": "absent"}]


class SpecRead(Exception):
    """Raised by a stand-in for AnsibleModule once it has the module's argument spec."""


def deploy_options(monkeypatch):
    """The options of stagecraft.webapp.deploy, from the argument spec its main() hands to AnsibleModule."""
    def read(argument_spec, **_):
        raise SpecRead(argument_spec)
    monkeypatch.setattr(deploy_module, "AnsibleModule", read)
    with pytest.raises(SpecRead) as spec:
        deploy_module.main()
    return set(spec.value.args[0])


def test_the_deploy_module_arguments_are_its_options_and_keep_secrets_to_the_token(monkeypatch):
    options = deploy_options(monkeypatch)
    args = layout(settings())["deploy_args"]
    # Every option but the run's values, which each deploy task of the role passes itself, the credentials,
    # and group (the module's default, the owner's).
    assert set(args) == options - {"phase", "release_id", "built_changed", "holder_id", "who", "job_id", "version", "timestamp",
                                   "ssh_key", "known_hosts", "token", "group"}
    assert {key: args[key] for key in ("path", "repo", "ref", "owner", "user", "env_file", "service_record", "keep", "rollback", "restore_data")} == {
        "path": "/srv/shop/prod", "repo": "https://git.example.com/shop.git", "ref": "main", "owner": "shop-prod", "user": "shop-prod",
        "env_file": "/etc/stagecraft/shop-prod/env", "service_record": "/etc/stagecraft/shop-prod/gunicorn.json", "keep": DEFAULTS["deploy_keep_releases"],
        "rollback": False, "restore_data": False}
    assert not {"ssh_key", "known_hosts", "token"} & set(args)
    with_token = layout(settings(deploy_token=TOKEN, deploy_rollback="yes", deploy_allow_rolled_back="true"))["deploy_args"]
    assert (with_token["token"], with_token["rollback"], with_token["allow_rolled_back"]) == (TOKEN, True, True)
    with_key = layout(settings(deploy_repo="git@git.example.com:shop.git", deploy_ssh_key=KEY))["deploy_args"]
    assert (with_key["ssh_key"], with_key["known_hosts"]) == ("/etc/stagecraft/shop-prod/deploy_key", "/etc/stagecraft/shop-prod/known_hosts")
    assert KEY not in str(with_key)


def test_the_balancers_health_check_asks_as_nginx_would():
    check = layout(settings(deploy_balancers=["lb1"], deploy_balancer_member="10.0.0.5:8000", deploy_health_host="shop.test",
                            deploy_health_scheme="https", deploy_health_headers={"X-Check": "1", "Host": "other.test"}))["balancer_check"]
    assert check == {"balancers": ["lb1"], "url": "http://10.0.0.5:8000/healthz", "status": 200,
                     "headers": {"Host": "other.test", "X-Forwarded-Proto": "https", "X-Check": "1"}}


def done(**changes):
    """A deploy module result that switched from one release to another."""
    return {"changed": True, "repaired": False, "release_id": "20261206T100000Z", "previous_release_id": "20261205T100000Z",
            "commit": "1a2b3c4d5e6f7a8b9c0d", "once_hooks": [], **changes}


@pytest.mark.parametrize("result, check_mode, said", [
    (done(), False, "shop-prod: serves release 20261206T100000Z (commit 1a2b3c4d5e6f, main); changed from 20261205T100000Z"),
    (done(previous_release_id="", commit=""), True, "shop-prod: would serve release 20261206T100000Z (commit unknown, main); changed from nothing"),
    (done(changed=False, once_hooks=["init-db", "seed"]), True,
     "shop-prod: would serve release 20261206T100000Z (commit 1a2b3c4d5e6f, main); unchanged; would run once-hooks init-db, seed"),
    (done(once_hooks=["seed"], snapshot={"holds": "db.sqlite3 (1 files, 5 bytes)"}), False,
     "shop-prod: serves release 20261206T100000Z (commit 1a2b3c4d5e6f, main); changed from 20261205T100000Z; once-hooks ran: seed; "
     "data snapshot taken for it: db.sqlite3 (1 files, 5 bytes)"),
    (done(repaired=True, steps={"activate": {"service": {"answer": "connection refused"}}}, snapshot=None), False,
     "shop-prod: serves release 20261206T100000Z (commit 1a2b3c4d5e6f, main); unchanged; its service did not answer its health check "
     "(connection refused) and was restarted: it answers again"),
    (done(repaired=True, steps={"activate": {"service": {"answer": "503"}}}), True,
     "shop-prod: would serve release 20261206T100000Z (commit 1a2b3c4d5e6f, main); unchanged; its service did not answer its health check "
     "(503) and would be restarted"),
])
def test_what_serves_is_said_in_one_line(result, check_mode, said):
    assert served(result, layout(settings()), check_mode) == said


def test_a_rollback_that_restored_data_says_so_loudly():
    said = served(done(restored={"lost": "data written to db.sqlite3 since 2026-12-06T10:00:00Z"}), layout(settings(deploy_rollback=True)))
    assert said.endswith("(commit 1a2b3c4d5e6f, rollback); changed from 20261205T100000Z; DATA RESTORED: data written to db.sqlite3 since "
                         "2026-12-06T10:00:00Z")


@pytest.mark.parametrize("changes, drained, health, message", [
    ({}, False, {}, 'Deploy of shop-prod failed at "Build" (its error is above).'),
    ({"deploy_maintenance": True}, False, {},
     'Deploy of shop-prod failed at "Build" (its error is above). The maintenance page stays on (/var/lib/stagecraft/shop-prod/maintenance.html).'),
    ({"deploy_balancers": ["lb1", "lb2"]}, True, {"status": 200},
     'Deploy of shop-prod failed at "Build" (its error is above). Back in the balancers (lb1, lb2): what serves answers its health check.'),
    ({"deploy_balancers": ["lb1"]}, True, {"status": 502, "msg": "Status code was 502"},
     'Deploy of shop-prod failed at "Build" (its error is above). Left out of the balancers (lb1): its health check answered Status code was 502.'),
    ({"deploy_balancers": ["lb1"]}, True, {},
     'Deploy of shop-prod failed at "Build" (its error is above). Left out of the balancers (lb1): its health check answered nothing.'),
    # Not drained (no switch was coming, or check mode): nothing about the balancers.
    ({"deploy_balancers": ["lb1"]}, False, {"status": 502}, 'Deploy of shop-prod failed at "Build" (its error is above).'),
])
def test_a_failed_deploy_says_where_and_what_stays(changes, drained, health, message):
    assert failed("Build", layout(settings(**changes)), drained, health) == message


@pytest.mark.parametrize("result, check_mode, shown", [
    ({"msg": "nothing serves yet"}, False, ["nothing serves yet"]),
    ({"rc": 0, "release_path": "/srv/shop/prod/releases/1", "stdout_lines": ["ok"], "stderr_lines": []}, False,
     ["$ flask db upgrade   (as shop-prod in /srv/shop/prod/releases/1)", "ok", "exit status 0"]),
    ({"rc": 2, "release_path": "/r", "stdout_lines": [], "stderr_lines": ["boom"], "msg": "exit status 2"}, False,
     ["$ flask db upgrade   (as shop-prod in /r)", "stderr:", "boom", "exit status 2"]),
    ({"rc": 0, "release_path": "/r"}, True, ["$ flask db upgrade   (as shop-prod in /r)", "would run: check mode"]),
])
def test_a_command_run_in_the_release_shows_its_output_and_status(result, check_mode, shown):
    assert run_shown(result, "flask db upgrade", "shop-prod", check_mode) == shown


def test_the_modules_share_the_run_and_leave_out_a_missing_job():
    run = {"time": "20261206T100000Z", "holder": "20261206T100001Z-42"}
    names = layout(settings(deploy_restore_snapshot="scheduled-20261206T031500Z"))
    shared = module_args(names, run, "ana")
    assert shared["deploy_lock"] == {"path": "/srv/shop/prod", "holder_id": "20261206T100001Z-42", "owner": "ana"}
    assert shared["deploy_record"] == {"path": "/srv/shop/prod", "who": "ana", "ref": "main", "started": "20261206T100000Z"}
    assert shared["deploy_restore"] == {"path": "/srv/shop/prod", "snapshot": "scheduled-20261206T031500Z"}
    assert shared["deploy"] == dict(names["deploy_args"], holder_id="20261206T100001Z-42", who="ana", timestamp="20261206T100000Z")
    in_awx = module_args(names, run, "ana", "1234")
    assert all(in_awx[module]["job_id"] == "1234" for module in ("deploy_lock", "deploy", "deploy_record"))
    assert "job_id" not in in_awx["deploy_restore"]

"""What the systemd role derives from its unit specs and from what it finds on the host
(plugins/module_utils/_unit_specs.py) through its filters: the resolved units and their files,
which of them differ from what is installed, which systemd-analyze verify refuses, and what the
service tasks start, stop, restart or hand a socket's port over to."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
if str(ROOT / "collections") not in sys.path:
    sys.path.insert(0, str(ROOT / "collections"))

from ansible_collections.stagecraft.webapp.plugins.filter.systemd_changed_units import FilterModule as ChangedFilters  # noqa: E402
from ansible_collections.stagecraft.webapp.plugins.filter.systemd_found import FilterModule as FoundFilters  # noqa: E402
from ansible_collections.stagecraft.webapp.plugins.filter.systemd_handover_stops import FilterModule as HandoverFilters  # noqa: E402
from ansible_collections.stagecraft.webapp.plugins.filter.systemd_resolve import FilterModule as ResolveFilters  # noqa: E402
from ansible_collections.stagecraft.webapp.plugins.filter.systemd_service_plan import FilterModule as PlanFilters  # noqa: E402
from ansible_collections.stagecraft.webapp.plugins.filter.systemd_stale_dropins import FilterModule as StaleFilters  # noqa: E402
from ansible_collections.stagecraft.webapp.plugins.filter.systemd_verify_refusals import FilterModule as RefusalFilters  # noqa: E402

resolve_with_header = ResolveFilters().filters()["systemd_resolve"]
changed_units = ChangedFilters().filters()["systemd_changed_units"]
handover_stops = HandoverFilters().filters()["systemd_handover_stops"]
stale_dropins = StaleFilters().filters()["systemd_stale_dropins"]
found_units = FoundFilters().filters()["systemd_found"]
verify_refusals = RefusalFilters().filters()["systemd_verify_refusals"]
service_plan = PlanFilters().filters()["systemd_service_plan"]
DIR = "/etc/systemd/system"
# What the role's header.j2 renders with ansible-core's default ansible_managed.
HEADER = "#\n# Ansible managed\n#\n# Managed by stagecraft.webapp.systemd: edits here are overwritten on the next run.\n"
PROFILE = {"NoNewPrivileges": True, "ProtectSystem": "strict", "ReadWritePaths": "/var/log/app"}
INSTALL = {"Install": {"WantedBy": "multi-user.target"}}
WEB = {"name": "web.service", "sections": {"Service": {"ExecStart": "/usr/bin/true", "ProtectSystem": "full"}, **INSTALL},
       "hardening_overrides": {"NoNewPrivileges": None}, "read_write_paths": ["/srv/app"],
       "dropins": [{"name": "limits.conf", "sections": {"Service": {"LimitNOFILE": 4096}}}]}
SOCKET = {"name": "web.socket", "sections": {"Socket": {"ListenStream": 8000}, **INSTALL}}
TIMER = {"name": "clean.timer", "sections": {"Timer": {"OnCalendar": "daily"}}, "dropins": [{"name": "on.conf", "sections": INSTALL}]}
TEMPLATE = {"name": "job@.service", "sections": {"Service": {"ExecStart": "/usr/bin/true %i"}, **INSTALL}, "hardening": False}
GONE = {"name": "old.service", "present": False, "dropins": [{"name": "x.conf", "sections": INSTALL}]}


def resolve(units, profile, unit_dir):
    return resolve_with_header(units, profile, unit_dir, HEADER)


def by_name(resolved):
    return {unit["name"]: unit for unit in resolved["units"]}


def test_a_service_gets_the_hardening_under_its_own_settings_and_the_overrides_over_them():
    web = by_name(resolve([WEB], PROFILE, DIR))["web.service"]
    assert web["sections"]["Service"] == {"NoNewPrivileges": None, "ProtectSystem": "full", "ReadWritePaths": ["/var/log/app", "/srv/app"],
                                          "ExecStart": "/usr/bin/true"}
    assert web["sections"]["Install"] == INSTALL["Install"]
    assert (web["kind"], web["order"], web["template"], web["enabled"], web["state"], web["section_order"]) == (
        "service", 2, False, True, "started", ["Unit", "Service", "Install"])
    assert [(file["path"], file["relative"], file["unit"], file["sections"]) for file in web["files"]] == [
        (DIR + "/web.service", "web.service", "web.service", web["sections"]),
        (DIR + "/web.service.d/limits.conf", "web.service.d/limits.conf", "web.service", {"Service": {"LimitNOFILE": 4096}})]
    assert web["files"][1]["content"] == HEADER + "\n[Service]\nLimitNOFILE=4096\n"
    listed = by_name(resolve([dict(WEB, read_write_paths=["/srv/b"])], dict(PROFILE, ReadWritePaths=["/a"]), DIR))["web.service"]
    assert listed["sections"]["Service"]["ReadWritePaths"] == ["/a", "/srv/b"]


def test_specs_the_role_cannot_render_are_named_and_nothing_is_resolved_from_them():
    assert resolve([WEB, SOCKET], PROFILE, DIR)["problems"] == []
    bad = resolve([WEB, dict(SOCKET, name="web")], PROFILE, DIR)
    assert bad["problems"] and all(problem.startswith("systemd_units[web]") for problem in bad["problems"]), bad["problems"]
    assert (bad["units"], bad["files"], bad["dropin_dirs"], bad["dropin_files"]) == ([], [], [], [])


def test_only_a_service_is_hardened_and_a_unit_without_hardening_keeps_its_own_settings():
    units = by_name(resolve([SOCKET, TEMPLATE, TIMER], PROFILE, DIR))
    assert units["web.socket"]["sections"] == SOCKET["sections"] and units["web.socket"]["order"] == 1
    assert units["job@.service"]["sections"]["Service"] == {"ExecStart": "/usr/bin/true %i"}
    assert units["clean.timer"]["order"] == 3 and units["clean.timer"]["section_order"] == ["Unit", "Timer", "Install"]


def test_enabled_and_state_follow_install_sections_and_templates():
    units = by_name(resolve([TEMPLATE, TIMER, {"name": "once.service", "sections": {"Service": {"ExecStart": "/bin/true"}}}], {}, DIR))
    assert (units["job@.service"]["template"], units["job@.service"]["enabled"], units["job@.service"]["state"]) == (True, None, None)
    assert units["clean.timer"]["enabled"] is True  # its [Install] comes from a drop-in
    assert units["once.service"]["enabled"] is None


def test_absent_units_keep_their_drop_in_directory_but_no_drop_ins():
    resolved = resolve([WEB, GONE], PROFILE, DIR)
    assert by_name(resolved)["old.service"]["dropins"] == [] and len(by_name(resolved)["old.service"]["files"]) == 1
    assert resolved["dropin_dirs"] == [DIR + "/web.service.d", DIR + "/old.service.d"]
    assert resolved["dropin_files"] == [DIR + "/web.service.d/limits.conf"]
    assert [file["path"] for file in resolved["files"]] == [DIR + "/web.service", DIR + "/web.service.d/limits.conf"]


def test_a_unit_file_is_written_as_the_role_always_rendered_it():
    """Byte for byte what the role's former Jinja template (trim_blocks) wrote, so that hosts see no change: sections
    in their kind's order after a blank line, a list repeating its directive, booleans as yes/no, None left out."""
    unit = by_name(resolve([{"name": "web.service", "hardening": False, "sections": {
        "Install": {"WantedBy": "multi-user.target"},
        "Service": {"ExecStart": "/usr/bin/true x", "LimitNOFILE": 4096, "CPUWeight": 1.5, "NoNewPrivileges": True, "PrivateTmp": False,
                    "Nice": None, "Environment": ["A=1", "B=ü"]},
        "Unit": {"After": ["a.target", "b.target"], "Description": "Web"}}}], {}, DIR))["web.service"]
    assert unit["files"][0]["content"] == HEADER + (
        "\n[Unit]\nAfter=a.target\nAfter=b.target\nDescription=Web\n"
        "\n[Service]\nExecStart=/usr/bin/true x\nLimitNOFILE=4096\nCPUWeight=1.5\nNoNewPrivileges=yes\nPrivateTmp=no\nEnvironment=A=1\nEnvironment=B=ü\n"
        "\n[Install]\nWantedBy=multi-user.target\n")
    assert unit["files"][0]["checksum"] == hashlib.sha1(unit["files"][0]["content"].encode("utf-8")).hexdigest()


# The checksums of the files as the role writes them, by path.
CHECKSUMS = {file["path"]: file["checksum"] for file in resolve([WEB, SOCKET, GONE], PROFILE, DIR)["files"]}


def installed(path, checksum=None, mode="0644", uid=0, gid=0):
    return {"path": path, "isreg": True, "isdir": False, "checksum": checksum or CHECKSUMS.get(path, "other"), "mode": mode, "uid": uid, "gid": gid}


def directory(path, mode="0755"):
    return {"path": path, "isreg": False, "isdir": True, "mode": mode, "uid": 0, "gid": 0}


AS_WANTED = [installed(DIR + "/web.service"), directory(DIR + "/web.service.d"), installed(DIR + "/web.service.d/limits.conf"),
             installed(DIR + "/web.socket")]


@pytest.mark.parametrize("found, pending", [
    (AS_WANTED, []),
    (AS_WANTED[1:], ["web.service"]),
    ([installed(DIR + "/web.service", checksum="b")] + AS_WANTED[1:], ["web.service"]),
    ([installed(DIR + "/web.service", mode="0664")] + AS_WANTED[1:], ["web.service"]),
    ([installed(DIR + "/web.service", uid=1000)] + AS_WANTED[1:], ["web.service"]),
    ([installed(DIR + "/web.service", gid=1000)] + AS_WANTED[1:], ["web.service"]),
    ([AS_WANTED[0], directory(DIR + "/web.service.d", mode="0700")] + AS_WANTED[2:], ["web.service"]),
    ([AS_WANTED[0], AS_WANTED[3]], ["web.service"]),
    ([directory(DIR + "/web.socket")] + AS_WANTED[:3], ["web.socket"]),
    (AS_WANTED[:3], ["web.socket"]),
])
def test_units_whose_files_are_missing_or_differ_are_pending(found, pending):
    result = found_units(resolve([WEB, SOCKET, GONE], PROFILE, DIR), found, DIR)
    assert [unit["name"] for unit in result["pending"]] == pending
    # Nothing pending and nothing to remove: the install tasks are skipped.
    assert result["changes"] == bool(pending)


def test_what_is_installed_and_which_drop_ins_left_their_spec():
    found = AS_WANTED + [directory(DIR + "/old.service.d"), installed(DIR + "/old.service.d/x.conf"), installed(DIR + "/old.service"),
                         installed(DIR + "/web.service.d/zz-old.conf"), installed(DIR + "/other.service.d/keep.conf"),
                         directory(DIR + "/multi-user.target.wants")]
    result = found_units(resolve([WEB, SOCKET, GONE], PROFILE, DIR), found, DIR)
    assert result["installed_names"] == ["web.service", "web.socket", "old.service"]
    assert result["installed_dropin_dirs"] == ["web.service", "old.service"]
    assert result["unlisted_dropins"] == [DIR + "/old.service.d/x.conf", DIR + "/web.service.d/zz-old.conf"]
    assert result["stopping"] == ["old.service"] and result["pending"] == []
    assert result["writes"] == [{"path": DIR + "/old.service", "state": "absent"}, {"path": DIR + "/old.service.d", "state": "absent"}]
    assert result["changes"]


def test_a_drop_in_left_beside_units_as_wanted_is_a_change_to_look_at():
    found = AS_WANTED + [installed(DIR + "/web.service.d/zz-old.conf")]
    result = found_units(resolve([WEB, SOCKET], PROFILE, DIR), found, DIR)
    assert result["writes"] == [] and result["changes"]


def test_a_template_unit_no_longer_present_is_removed_but_not_stopped():
    gone = dict(TEMPLATE, present=False)
    result = found_units(resolve([gone], PROFILE, DIR), [installed(DIR + "/job@.service")], DIR)
    assert result["stopping"] == [] and result["writes"] == [{"path": DIR + "/job@.service", "state": "absent"}]


def test_pending_units_are_staged_and_written_unit_files_first_then_their_drop_ins():
    result = found_units(resolve([WEB, SOCKET, GONE], PROFILE, DIR), [], DIR)
    resolved = by_name(resolve([WEB, SOCKET], PROFILE, DIR))
    assert result["pending_names"] == ["web.service", "web.socket"] and result["pending_dropin_dirs"] == ["web.service.d"]
    assert [file["relative"] for file in result["pending_files"]] == ["web.service", "web.socket", "web.service.d/limits.conf"]
    assert result["stopping"] == []
    root = {"owner": "root", "group": "root"}
    assert result["writes"] == [
        dict(root, path=DIR + "/web.service.d", state="directory", mode="0755"),
        dict(root, path=DIR + "/web.service", state="file", mode="0644", content=resolved["web.service"]["files"][0]["content"]),
        dict(root, path=DIR + "/web.socket", state="file", mode="0644", content=resolved["web.socket"]["files"][0]["content"]),
        dict(root, path=DIR + "/web.service.d/limits.conf", state="file", mode="0644", content=resolved["web.service"]["files"][1]["content"])]


def test_stale_drop_ins_are_the_managed_ones_their_specs_no_longer_list():
    managed = [{"path": DIR + "/web.service.d/zz-old.conf"}, {"path": DIR + "/web.service.d/limits.conf"}, {"path": DIR + "/old.service.d/x.conf"},
               {"path": DIR + "/other.service.d/keep.conf"}, {"path": DIR + "/web.service.d/deeper/y.conf"}]
    assert stale_dropins(resolve([WEB, SOCKET, GONE], PROFILE, DIR), managed) == [DIR + "/old.service.d/x.conf", DIR + "/web.service.d/zz-old.conf"]
    assert stale_dropins(resolve([WEB], PROFILE, DIR), []) == []


def test_the_changed_units_are_named_once_from_the_paths_written_and_removed():
    written = {"changed": True, "changed_paths": [DIR + "/web.service.d", DIR + "/web.service.d/limits.conf", DIR + "/job@.service", DIR + "/old.service"]}
    stale = {"results": [{"item": DIR + "/api.service.d/zz.conf", "changed": True}, {"item": DIR + "/db.service.d/a.conf", "changed": False}]}
    assert changed_units([written, stale]) == ["api.service", "job@.service", "old.service", "web.service"]
    assert changed_units([{"skipped": True}, {"results": []}]) == []


def verified(unit, rc, stdout=(), stderr=()):
    """The unit verified and the loop's result for it (its item is the unit's name)."""
    return unit, {"item": unit["name"], "rc": rc, "stdout_lines": list(stdout), "stderr_lines": list(stderr)}


APP = {"name": "app.service", "kind": "service", "template": False, "verify_allow_missing": ["/srv/app/venv/"]}
WORKER = {"name": "worker@.service", "kind": "service", "template": True, "verify_allow_missing": ["/srv/app/venv/"]}
STAGING = "/tmp/ansible.x.systemd-verify"
MISSING = ": Command /srv/app/venv/bin/gunicorn is not executable: No such file or directory"


@pytest.mark.parametrize("results, strict, refused", [
    ([verified(APP, 0)], False, []),
    ([verified(APP, 1, stderr=["app.service" + MISSING])], False, []),
    ([verified(WORKER, 1, stderr=["worker@i.service" + MISSING])], False, []),
    ([verified(APP, 1, stderr=["app.service: Command /usr/bin/nope is not executable: No such file or directory"])], False,
     ["app.service (rc 1): app.service: Command /usr/bin/nope is not executable: No such file or directory"]),
    ([verified(dict(APP, verify_allow_missing=[]), 1, stderr=["app.service" + MISSING])], False, ["app.service (rc 1): app.service" + MISSING]),
    ([verified(APP, 1)], False, ["app.service (rc 1): no output"]),
    ([verified(APP, 1, stdout=["", "app.service" + MISSING], stderr=["bad thing"])], False, ["app.service (rc 1): bad thing"]),
    ([verified(APP, 0, stderr=[STAGING + "/app.service:3: Unknown key name 'Foo'"])], False, []),
    ([verified(APP, 0, stderr=[STAGING + "/app.service:3: Unknown key name 'Foo'"])], True,
     ["app.service (rc 0): " + STAGING + "/app.service:3: Unknown key name 'Foo'"]),
    ([verified(APP, 0, stderr=["something general"])], True, []),
])
def test_verify_refuses_what_systemd_analyze_refuses_but_a_command_still_to_be_deployed(results, strict, refused):
    assert verify_refusals([result for unused_unit, result in results], [unit for unit, unused_result in results], STAGING, strict) == refused


def test_the_service_plan_compares_settled_units_hands_ports_over_and_restarts_changed_ones():
    units = resolve([WEB, SOCKET, TIMER, TEMPLATE, GONE, {"name": "off.service", "sections": {"Service": {"ExecStart": "/bin/true"}}, "state": "stopped"},
                     {"name": "api.socket", "sections": {"Socket": {"ListenStream": 8001, "Service": "api-main.service"}}},
                     {"name": "quiet.socket", "sections": {"Socket": {"ListenStream": 8002}}, "state": "stopped"},
                     {"name": "once.service", "sections": {"Service": {"ExecStart": "/bin/true"}}, "restart_on_change": False}],
                    PROFILE, DIR)["units"]
    plan = service_plan(units, ["web.service", "web.socket", "api.socket", "quiet.socket", "once.service"])
    assert [unit["name"] for unit in plan["settled"]] == ["clean.timer", "off.service"]
    assert plan["settled_services"] == [{"name": "clean.timer", "enabled": True, "active": True}, {"name": "off.service", "enabled": None, "active": False}]
    assert plan["socket_handovers"] == [{"socket": "web.socket", "service": "web.service"}, {"socket": "api.socket", "service": "api-main.service"}]
    assert [(unit["name"], unit["state"]) for unit in plan["run"]] == [
        ("web.socket", "restarted"), ("api.socket", "restarted"), ("quiet.socket", "stopped"), ("web.service", "restarted"),
        ("off.service", "stopped"), ("once.service", "started"), ("clean.timer", "started")]
    assert plan["handover_units"] == ["web.socket", "api.socket", "web.service", "api-main.service"]
    assert service_plan(units, [])["socket_handovers"] == [] and service_plan(units, [])["handover_units"] == []


HANDOVERS = [{"socket": "web.socket", "service": "web.service"}, {"socket": "api.socket", "service": "api.service"}]


@pytest.mark.parametrize("states, stops", [
    (["inactive", "inactive", "active", "active"], HANDOVERS),
    (["active", "inactive", "active", "inactive"], []),
    (["inactive", "active", "active", "active"], HANDOVERS[:1]),
    (["inactive", "inactive", "inactive", "failed"], []),
    ([], []),
    (["inactive", "active"], []),
])
def test_a_service_running_without_its_new_socket_stops_first(states, stops):
    assert handover_stops(HANDOVERS, states) == stops

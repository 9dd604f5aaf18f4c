"""What the systemd role derives from its unit specs and from what it finds on the host
(plugins/module_utils/_unit_specs.py) through its filters: the resolved units and their files,
which of them differ from what is installed, which systemd-analyze verify refuses, and what the
service tasks start, stop, restart or hand a socket's port over to."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
if str(ROOT / "collections") not in sys.path:
    sys.path.insert(0, str(ROOT / "collections"))

from ansible_collections.stagecraft.webapp.plugins.filter.systemd_found import FilterModule as FoundFilters  # noqa: E402
from ansible_collections.stagecraft.webapp.plugins.filter.systemd_resolve import FilterModule as ResolveFilters  # noqa: E402
from ansible_collections.stagecraft.webapp.plugins.filter.systemd_service_plan import FilterModule as PlanFilters  # noqa: E402
from ansible_collections.stagecraft.webapp.plugins.filter.systemd_verify_refusals import FilterModule as RefusalFilters  # noqa: E402

resolve = ResolveFilters().filters()["systemd_resolve"]
found_units = FoundFilters().filters()["systemd_found"]
verify_refusals = RefusalFilters().filters()["systemd_verify_refusals"]
service_plan = PlanFilters().filters()["systemd_service_plan"]
DIR = "/etc/systemd/system"
PROFILE = {"NoNewPrivileges": True, "ProtectSystem": "strict", "ReadWritePaths": "/var/log/app"}
INSTALL = {"Install": {"WantedBy": "multi-user.target"}}
WEB = {"name": "web.service", "sections": {"Service": {"ExecStart": "/usr/bin/true", "ProtectSystem": "full"}, **INSTALL},
       "hardening_overrides": {"NoNewPrivileges": None}, "read_write_paths": ["/srv/app"],
       "dropins": [{"name": "limits.conf", "sections": {"Service": {"LimitNOFILE": 4096}}}]}
SOCKET = {"name": "web.socket", "sections": {"Socket": {"ListenStream": 8000}, **INSTALL}}
TIMER = {"name": "clean.timer", "sections": {"Timer": {"OnCalendar": "daily"}}, "dropins": [{"name": "on.conf", "sections": INSTALL}]}
TEMPLATE = {"name": "job@.service", "sections": {"Service": {"ExecStart": "/usr/bin/true %i"}, **INSTALL}, "hardening": False}
GONE = {"name": "old.service", "present": False, "dropins": [{"name": "x.conf", "sections": INSTALL}]}


def by_name(resolved):
    return {unit["name"]: unit for unit in resolved["units"]}


def test_a_service_gets_the_hardening_under_its_own_settings_and_the_overrides_over_them():
    web = by_name(resolve([WEB], PROFILE, DIR))["web.service"]
    assert web["sections"]["Service"] == {"NoNewPrivileges": None, "ProtectSystem": "full", "ReadWritePaths": ["/var/log/app", "/srv/app"],
                                          "ExecStart": "/usr/bin/true"}
    assert web["sections"]["Install"] == INSTALL["Install"]
    assert (web["kind"], web["order"], web["template"], web["enabled"], web["state"], web["section_order"]) == (
        "service", 2, False, True, "started", ["Unit", "Service", "Install"])
    assert web["files"] == [{"path": DIR + "/web.service", "sections": web["sections"]},
                            {"path": DIR + "/web.service.d/limits.conf", "sections": {"Service": {"LimitNOFILE": 4096}}}]
    listed = by_name(resolve([dict(WEB, read_write_paths=["/srv/b"])], dict(PROFILE, ReadWritePaths=["/a"]), DIR))["web.service"]
    assert listed["sections"]["Service"]["ReadWritePaths"] == ["/a", "/srv/b"]


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


def installed(path, checksum="a", mode="0644", uid=0, gid=0):
    return {"path": path, "isreg": True, "isdir": False, "checksum": checksum, "mode": mode, "uid": uid, "gid": gid}


def directory(path, mode="0755"):
    return {"path": path, "isreg": False, "isdir": True, "mode": mode, "uid": 0, "gid": 0}


CHECKSUMS = {DIR + "/web.service": "a", DIR + "/web.service.d/limits.conf": "a", DIR + "/web.socket": "a"}
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
    result = found_units(resolve([WEB, SOCKET, GONE], PROFILE, DIR), found, CHECKSUMS, DIR)
    assert [unit["name"] for unit in result["pending"]] == pending


def test_what_is_installed_and_which_drop_ins_left_their_spec():
    found = AS_WANTED + [directory(DIR + "/old.service.d"), installed(DIR + "/old.service.d/x.conf"), installed(DIR + "/old.service"),
                         installed(DIR + "/web.service.d/zz-old.conf"), installed(DIR + "/other.service.d/keep.conf"),
                         directory(DIR + "/multi-user.target.wants")]
    result = found_units(resolve([WEB, SOCKET, GONE], PROFILE, DIR), found, CHECKSUMS, DIR)
    assert result["installed_names"] == ["web.service", "web.socket", "old.service"]
    assert result["installed_dropin_dirs"] == ["web.service", "old.service"]
    assert result["unlisted_dropins"] == [DIR + "/old.service.d/x.conf", DIR + "/web.service.d/zz-old.conf"]


def verified(unit, rc, stdout=(), stderr=()):
    return {"item": unit, "rc": rc, "stdout_lines": list(stdout), "stderr_lines": list(stderr)}


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
    assert verify_refusals(results, STAGING, strict) == refused


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
    assert service_plan(units, [])["socket_handovers"] == []

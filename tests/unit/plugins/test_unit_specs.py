"""The systemd role's unit-spec rules (plugins/module_utils/_unit_specs.py) through its filter:
every message its preflight can give, and none for specs the role renders."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

# The collection by FQCN through the checkout's self-link (see module_utils/conftest.py).
ROOT = Path(__file__).resolve().parents[3]
if str(ROOT / "collections") not in sys.path:
    sys.path.insert(0, str(ROOT / "collections"))

from ansible_collections.stagecraft.webapp.plugins.filter.systemd_unit_problems import FilterModule  # noqa: E402

unit_problems = FilterModule().filters()["systemd_unit_problems"]
ROLE = ROOT / "roles" / "systemd"
PROFILE = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())["systemd_hardening_profile"]
SERVICE = {"Service": {"ExecStart": "/usr/bin/true"}}
NAME_RULE = '(letters, digits, ":_.-\\", an optional "@instance", at most 255 characters)'
VALUE_RULE = "must be a string, number, boolean, null or a list of those"
DROPIN_RULE = 'a file name ending in .conf (letters, digits, ":_.@-")'


def unit(name="web.service", **fields):
    return {"name": name, "sections": SERVICE, **fields}


def test_specs_the_role_renders_have_no_problem():
    units = [
        unit(dropins=[{"name": "limits.conf", "sections": {"Service": {"LimitNOFILE": 4096}}}], read_write_paths=["/srv/app"],
             verify_allow_missing=["/srv/app/.venv/"], hardening_overrides={"ProtectSystem": None, "PrivateUsers": True}),
        {"name": "web.socket", "sections": {"Socket": {"ListenStream": 8000}, "Install": {"WantedBy": "sockets.target"}}},
        {"name": "app@.service", "sections": {"Service": {"ExecStart": ["", "/srv/%i/run"], "Nice": 5, "CPUQuota": 1.5, "Slice": None}}},
        {"name": "x\\x2dy.timer", "sections": {"Unit": {"Description": "stamp"}, "Timer": {"OnCalendar": "daily"}}, "state": "stopped",
         "enabled": False, "restart_on_change": False, "hardening": False},
        # An absent unit needs no sections.
        {"name": "gone.service", "present": False},
    ]
    assert unit_problems(units, PROFILE) == []
    assert unit_problems([], {}) == []


@pytest.mark.parametrize("units, expected", [
    ("abc", ["systemd_units: must be a list of unit specs, got str"]),
    ({"name": "web.service"}, ["systemd_units: must be a list of unit specs, got dict"]),
    (None, ["systemd_units: must be a list of unit specs, got NoneType"]),
    (["x", {"sections": SERVICE}, {"name": 5}, {"name": None}], [
        "systemd_units[0].name: every unit spec needs a name (a string)",
        "systemd_units[1].name: every unit spec needs a name (a string)",
        "systemd_units[5].name: every unit spec needs a name (a string)",
        "systemd_units[None].name: every unit spec needs a name (a string)",
    ]),
    ([unit("webdemo.servce")], ['systemd_units[webdemo.servce].name: must end in .service, .socket or .timer, got "webdemo.servce"']),
    ([unit("web")], ['systemd_units[web].name: must end in .service, .socket or .timer, got "web"']),
    ([unit("web demo.service"), unit("a@b@c.service"), unit("a" * 248 + ".service"), unit("web.service\n")], [
        'systemd_units[web demo.service].name: "web demo.service" is not a valid systemd unit name ' + NAME_RULE,
        'systemd_units[a@b@c.service].name: "a@b@c.service" is not a valid systemd unit name ' + NAME_RULE,
        'systemd_units[{0}].name: "{0}" is not a valid systemd unit name {1}'.format("a" * 248 + ".service", NAME_RULE),
        'systemd_units[web.service\n].name: must end in .service, .socket or .timer, got "web.service\n"',
    ]),
    # Each copy is named: the same message twice.
    ([unit(), unit(), unit("other.service")], ["systemd_units[web.service].name: the same unit appears more than once in systemd_units"] * 2),
    ([unit(hardening="yes", enabled=1, restart_on_change=None, present="no")], [
        "systemd_units[web.service].hardening: must be true or false, got yes",
        "systemd_units[web.service].enabled: must be true or false, got 1",
        "systemd_units[web.service].restart_on_change: must be true or false, got None",
        "systemd_units[web.service].present: must be true or false, got no",
    ]),
    ([unit(state="running")], ['systemd_units[web.service].state: must be one of started, stopped, restarted, reloaded, got "running"']),
    ([{"name": "web.service"}, {"name": "b.socket", "sections": {}}, {"name": "c.timer", "sections": None}], [
        "systemd_units[web.service].sections: required when the unit is present (at least one section, e.g. Service)",
        "systemd_units[b.socket].sections: required when the unit is present (at least one section, e.g. Socket)",
        "systemd_units[c.timer].sections: required when the unit is present (at least one section, e.g. Timer)",
    ]),
    ([unit(sections="x"), unit("b.service", sections=["Service"])], [
        "systemd_units[web.service].sections: must be a mapping of section name to directives, got str",
        "systemd_units[b.service].sections: must be a mapping of section name to directives, got list",
    ]),
    ([unit("stamp.timer", sections={"Service": {"A": 1}, "Timer": {"B": 2}}), unit("k.socket", sections={"Foo": {}})], [
        "systemd_units[stamp.timer].sections.Service: a .timer unit has no such section (allowed: Unit, Timer, Install)",
        "systemd_units[k.socket].sections.Foo: a .socket unit has no such section (allowed: Unit, Socket, Install)",
    ]),
    ([unit(sections={"Service": "x", "Unit": ["a"], "Install": None})], [
        "systemd_units[web.service].sections.Service: must be a mapping of directive to value, got str",
        "systemd_units[web.service].sections.Unit: must be a mapping of directive to value, got list",
        "systemd_units[web.service].sections.Install: must be a mapping of directive to value, got NoneType",
    ]),
    ([unit(sections={"Service": {"execStart": "/x", "Exec-Start": "/y", 5: "z", "A": {"b": 1}, "B": [1, {"c": 2}], "C": [None], "D": [1, "a", True]}})], [
        "systemd_units[web.service].sections.Service.execStart: not a systemd directive name (a capital letter, then letters and digits)",
        "systemd_units[web.service].sections.Service.Exec-Start: not a systemd directive name (a capital letter, then letters and digits)",
        "systemd_units[web.service].sections.Service.5: not a systemd directive name (a capital letter, then letters and digits)",
        "systemd_units[web.service].sections.Service.A: " + VALUE_RULE + ", got dict",
        "systemd_units[web.service].sections.Service.B: " + VALUE_RULE + ", got list",
        "systemd_units[web.service].sections.Service.C: " + VALUE_RULE + ", got list",
    ]),
    ([unit(dropins="x"), unit("b.service", dropins={"name": "a.conf"})], [
        "systemd_units[web.service].dropins: must be a list of {name, sections}",
        "systemd_units[b.service].dropins: must be a list of {name, sections}",
    ]),
    ([unit(dropins=["a.conf", {"name": "a.txt"}, {"sections": SERVICE}, {"name": 5}, {"name": "b.conf"}, {"name": "b.conf", "sections": SERVICE},
                    {"name": "c.conf", "sections": {}}, {"name": "d.conf", "sections": "x"}, {"name": "e.conf", "sections": {"Socket": {"A": 1}}},
                    {"name": "f.conf", "sections": {"Service": {"a": 1}}}])], [
        'systemd_units[web.service].dropins[0].name: ' + DROPIN_RULE + ', got "a.conf"',
        'systemd_units[web.service].dropins[1].name: ' + DROPIN_RULE + ', got "a.txt"',
        'systemd_units[web.service].dropins[2].name: ' + DROPIN_RULE + ', got ""',
        'systemd_units[web.service].dropins[3].name: ' + DROPIN_RULE + ', got "5"',
        "systemd_units[web.service].dropins[b.conf]: the same drop-in appears more than once",
        "systemd_units[web.service].dropins[b.conf]: the same drop-in appears more than once",
        "systemd_units[web.service].dropins[c.conf].sections: required (at least one section)",
        "systemd_units[web.service].dropins[d.conf].sections: must be a mapping of section name to directives, got str",
        "systemd_units[web.service].dropins[e.conf].sections.Socket: a .service unit has no such section (allowed: Unit, Service, Install)",
        "systemd_units[web.service].dropins[f.conf].sections.Service.a: not a systemd directive name (a capital letter, then letters and digits)",
    ]),
    ([{"name": "a.socket", "sections": {"Socket": {"ListenStream": 1}}, "read_write_paths": ["/x"]},
      {"name": "b.timer", "sections": {"Timer": {"OnCalendar": "daily"}}, "hardening_overrides": {"A": 1}},
      unit("web.servce", hardening_overrides={"A": 1})], [
        "systemd_units[a.socket]: hardening_overrides and read_write_paths apply to .service units only",
        "systemd_units[b.timer]: hardening_overrides and read_write_paths apply to .service units only",
        'systemd_units[web.servce].name: must end in .service, .socket or .timer, got "web.servce"',
        "systemd_units[web.servce]: hardening_overrides and read_write_paths apply to .service units only",
    ]),
    ([unit(hardening_overrides="x"), unit("b.service", hardening_overrides={"ProtectSystem": {"level": "strict"}, "bad": 1}),
      unit("c.service", hardening_overrides=None)], [
        "systemd_units[web.service].hardening_overrides: must be a mapping of directive to value (null removes one), got str",
        "systemd_units[b.service].hardening_overrides.ProtectSystem: " + VALUE_RULE + ", got dict",
        "systemd_units[b.service].hardening_overrides.bad: not a systemd directive name (a capital letter, then letters and digits)",
        "systemd_units[c.service].hardening_overrides: must be a mapping of directive to value (null removes one), got NoneType",
    ]),
    ([unit(read_write_paths="x", verify_allow_missing="/opt/"),
      unit("b.service", read_write_paths=["rel", 5, "/ok"], verify_allow_missing=["/", "/opt", "opt/", 5, "/ok/"])], [
        "systemd_units[web.service].read_write_paths: must be a list of absolute paths",
        "systemd_units[web.service].verify_allow_missing: must be a list of absolute paths",
        'systemd_units[b.service].read_write_paths: "rel" is not an absolute path',
        'systemd_units[b.service].read_write_paths: "5" is not an absolute path',
        'systemd_units[b.service].verify_allow_missing: "opt/" is not an absolute path',
        'systemd_units[b.service].verify_allow_missing: "5" is not an absolute path',
        'systemd_units[b.service].verify_allow_missing: "/" must be a directory other than / and end in "/"',
        'systemd_units[b.service].verify_allow_missing: "/opt" must be a directory other than / and end in "/"',
    ]),
    # An absent unit still has a state and paths to check, but no sections.
    ([{"name": "x.service", "present": False, "state": "bogus", "read_write_paths": ["rel"]}], [
        'systemd_units[x.service].state: must be one of started, stopped, restarted, reloaded, got "bogus"',
        'systemd_units[x.service].read_write_paths: "rel" is not an absolute path',
    ]),
])
def test_each_problem_is_named(units, expected):
    assert unit_problems(units, PROFILE) == expected


@pytest.mark.parametrize("profile, expected", [
    (["ProtectSystem=strict"], ["systemd_hardening_profile: must be a mapping of directive to value"]),
    ({"ProtectSystem": "strict", "bad": 1, "A": {"x": 1}}, [
        "systemd_hardening_profile.bad: not a systemd directive name (a capital letter, then letters and digits)",
        "systemd_hardening_profile.A: " + VALUE_RULE + ", got dict",
    ]),
])
def test_hardening_profile_problems_follow_the_units(profile, expected):
    assert unit_problems([unit(state="running")], profile) == [
        'systemd_units[web.service].state: must be one of started, stopped, restarted, reloaded, got "running"'] + expected

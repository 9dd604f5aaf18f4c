"""Every boolean a user may pass as `-e key=value` works that way.

`-e deploy_lock_break=true` gives the string "true": ansible-core 2.19 refuses it as a conditional
("Conditional result (True) was derived from value of type 'str'"), a role's argument spec checks it
but does not convert it, and in an expression the string "false" is true. So every use of a role's
bool option in tasks, vars, templates and playbooks goes through `| bool`.
"""

from __future__ import annotations

from pathlib import Path

import jinja2
import yaml

ROOT = Path(__file__).resolve().parents[2]
CONDITIONAL_KEYS = ("when", "changed_when", "failed_when", "until", "that")
SKIPPED_TOKENS = ("whitespace",)


class _AnyTagLoader(yaml.SafeLoader):
    """Reads !vault and other tags as plain values."""


_AnyTagLoader.add_multi_constructor("!", lambda loader, suffix, node: loader.construct_scalar(node) if isinstance(node, yaml.ScalarNode) else None)


def bool_options():
    names = set()
    for spec_file in ROOT.glob("roles/*/meta/argument_specs.yml"):
        for entry_point in yaml.safe_load(spec_file.read_text())["argument_specs"].values():
            names.update(name for name, option in (entry_point.get("options") or {}).items() if option.get("type") == "bool")
    return names


def expressions(data, key=None):
    """The Jinja text of a parsed YAML document: conditionals wrapped in {{ }}, templated strings as they are."""
    if isinstance(data, dict):
        for child_key, value in data.items():
            yield from expressions(value, child_key)
    elif isinstance(data, list):
        for value in data:
            yield from expressions(value, key)
    elif isinstance(data, str):
        if key in CONDITIONAL_KEYS:
            yield "{{ " + data + " }}"
        elif "{{" in data or "{%" in data:
            yield data


def unfiltered_uses(source, names):
    """The names among `names` that `source` (Jinja) uses without `| bool` right after them."""
    tokens = [(kind, value) for dummy, kind, value in jinja2.Environment().lex(source) if kind not in SKIPPED_TOKENS]
    found = []
    for index, (kind, value) in enumerate(tokens):
        if kind == "name" and value in names and tokens[index + 1:index + 3] != [("operator", "|"), ("name", "bool")]:
            found.append(value)
    return found


def sources():
    for path in sorted(ROOT.glob("roles/*/tasks/*.yml")) + sorted(ROOT.glob("roles/*/vars/*.yml")) + sorted(ROOT.glob("roles/*/handlers/*.yml")) + sorted(
            ROOT.glob("playbooks/*.yml")):
        for text in expressions(yaml.load(path.read_text(), Loader=_AnyTagLoader)):
            yield path, text
    for path in sorted(ROOT.glob("roles/*/templates/*.j2")):
        yield path, path.read_text()


def test_the_scan_sees_a_bare_bool_and_accepts_a_filtered_one():
    names = {"deploy_lock_break"}
    assert unfiltered_uses("{{ deploy_lock_break }}", names) == ["deploy_lock_break"]
    assert unfiltered_uses("{{ not settings.deploy_lock_break and x }}", names) == ["deploy_lock_break"]
    assert unfiltered_uses("{{ deploy_lock_break | bool }}", names) == []
    assert unfiltered_uses("{{ 'deploy_lock_break must be true' }}", names) == []
    assert list(expressions({"when": "deploy_lock_break", "name": "deploy_lock_break"})) == ["{{ deploy_lock_break }}"]


def test_bool_options_are_found():
    assert {"deploy_lock_break", "deploy_rollback", "stack_firewall", "nginx_gzip"} <= bool_options()


def test_every_use_of_a_bool_option_goes_through_the_bool_filter():
    names = bool_options()
    bare = ["{0}: {1}".format(path.relative_to(ROOT), name) for path, text in sources() for name in unfiltered_uses(text, names)]
    assert bare == [], "a bool option used without | bool fails (or is wrong) when given as -e key=value"

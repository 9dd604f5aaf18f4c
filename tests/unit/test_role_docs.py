"""Every role's defaults, argument specs and README agree."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("role_docs", ROOT / "docs" / "role_docs.py")
role_docs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(role_docs)

ROLES = role_docs.roles()
ROLE_IDS = [role.name for role in ROLES]


def main_options(role: Path) -> dict:
    specs = yaml.safe_load((role / "meta" / "argument_specs.yml").read_text())
    return specs["argument_specs"]["main"].get("options", {})


def defaults(role: Path) -> dict:
    path = role / "defaults" / "main.yml"
    return (yaml.safe_load(path.read_text()) or {}) if path.is_file() else {}


def walk(options: dict, prefix: str = ""):
    for name, option in options.items():
        yield f"{prefix}{name}", option
        yield from walk(option.get("options", {}), f"{prefix}{name}.")


def test_there_are_roles_to_check():
    assert ROLES, "no roles/*/meta/argument_specs.yml found"


@pytest.mark.parametrize("role", ROLES, ids=ROLE_IDS)
def test_every_default_is_specified_with_the_same_value(role):
    options = main_options(role)
    mismatched = {
        name: (value, options.get(name, {}).get("default", "<not in argument_specs>"))
        for name, value in defaults(role).items()
        if options.get(name, {}).get("default", object()) != value
    }
    assert mismatched == {}


@pytest.mark.parametrize("role", ROLES, ids=ROLE_IDS)
def test_every_optional_top_level_option_has_a_default(role):
    missing = [name for name, option in main_options(role).items() if not option.get("required") and name not in defaults(role)]
    assert missing == []


@pytest.mark.parametrize("role", ROLES, ids=ROLE_IDS)
def test_every_option_is_described(role):
    specs = yaml.safe_load((role / "meta" / "argument_specs.yml").read_text())
    undescribed = [
        f"{entry}:{name}"
        for entry, spec in specs["argument_specs"].items()
        for name, option in walk(spec.get("options", {}))
        if not option.get("description")
    ]
    assert undescribed == []


@pytest.mark.parametrize("role", ROLES, ids=ROLE_IDS)
def test_every_option_carries_the_role_prefix(role):
    unprefixed = [name for name in main_options(role) if not name.startswith(f"{role.name}_")]
    assert unprefixed == []


@pytest.mark.parametrize("role", ROLES, ids=ROLE_IDS)
def test_readme_reference_matches_the_specs(role):
    assert (role / "README.md").read_text() == role_docs.expected_readme(role), "run: python docs/role_docs.py"


def test_render_shows_nested_options_defaults_and_choices():
    specs = {
        "argument_specs": {
            "main": {
                "short_description": "Demo",
                "options": {
                    "demo_items": {
                        "type": "list",
                        "elements": "dict",
                        "default": [],
                        "description": "Items | with a pipe.",
                        "options": {"mode": {"choices": ["a", "b"], "default": "a", "description": "Mode."}},
                    },
                    "demo_name": {"required": True, "description": ["Two", "lines."]},
                },
            }
        }
    }
    table = role_docs.render(specs)
    assert "| `demo_items` | list of dict | `[]` | Items \\| with a pipe. |" in table
    assert "| `demo_items[].mode` | str | `a` | Mode. Choices: `a`, `b`. |" in table
    assert "| `demo_name` | str | required | Two lines. |" in table


def test_tags_list_each_part_with_its_tasks_but_not_the_role_tag(tmp_path):
    tasks = [
        {"name": "Preflight", "tags": ["demo", "demo-preflight"]},
        {"name": "Read", "tags": ["demo", "demo-install", "demo-config"]},
        {"name": "Install", "tags": ["demo", "demo-install"]},
        {"name": "Untagged"},
    ]
    role = tmp_path / "demo"
    (role / "tasks").mkdir(parents=True)
    (role / "tasks" / "main.yml").write_text(yaml.safe_dump(tasks))
    assert role_docs.role_part_tags(role) == {"demo-preflight": ["Preflight"], "demo-install": ["Read", "Install"], "demo-config": ["Read"]}
    rendered = role_docs.render_tags(role)
    assert "`--tags demo` runs the whole role" in rendered
    assert "| `demo-install` | Read; Install |" in rendered

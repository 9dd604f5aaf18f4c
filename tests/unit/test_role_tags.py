"""A role's part tags reach the roles it includes: `--tags gunicorn-service` must run the systemd
role's tasks that install and restart gunicorn's units, not only the include itself.

Ansible gives the tags of an include_role to the include alone; the included role's tasks get
them only through `apply` (measured: `--tags <part>` skipped every task of the included role).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
INCLUDES = ("ansible.builtin.include_tasks", "ansible.builtin.import_tasks")


def tasks_of(tasks: list[dict]):
    """Every task, also those inside blocks (block, rescue, always), with the tags of the blocks around it."""
    for task in tasks or []:
        yield task
        for section in ("block", "rescue", "always"):
            for inner in tasks_of(task.get(section)):
                yield {**inner, "tags": list(task.get("tags", [])) + list(inner.get("tags", []))}


def part_tags(role: Path, name: str = "main.yml", tags: frozenset = frozenset(), parts: dict | None = None) -> dict[str, set[str]]:
    """The tags each task file of the role runs under: those main.yml's import or include gives it (its own, or those it
    applies), with those of the files that import it in turn."""
    parts = {} if parts is None else parts
    for task in tasks_of(yaml.safe_load((role / "tasks" / name).read_text())):
        for key in INCLUDES:
            if key in task:
                source = task[key] if isinstance(task[key], str) else task[key].get("file")
                applied = (task[key].get("apply") or {}).get("tags", []) if isinstance(task[key], dict) else []
                parts[source] = set(tags) | set(task.get("tags", [])) | set(applied)
                part_tags(role, source, frozenset(parts[source]), parts)
    return parts


def collection_role_includes() -> list:
    """Every include_role of a collection role in a role's tasks: (its arguments, the part tags it must pass on)."""
    found = []
    for role in sorted(path.parent.parent for path in (ROOT / "roles").glob("*/tasks/main.yml")):
        parts = part_tags(role)
        for path in sorted((role / "tasks").glob("*.yml")):
            for task in tasks_of(yaml.safe_load(path.read_text())):
                include = task.get("ansible.builtin.include_role")
                if include and include["name"].startswith("stagecraft.webapp."):
                    wanted = (parts.get(path.name, set()) | set(task.get("tags", []))) - {"always"}
                    # An include tagged `always` alone (the stack role's) lets the included role's own tags choose its tasks.
                    if wanted:
                        found.append(pytest.param(include, wanted, id=f"{role.name}/{path.name}:{task['name']}"))
    return found


@pytest.mark.parametrize("include, wanted", collection_role_includes())
def test_an_included_role_runs_under_the_part_tags_of_its_include(include, wanted):
    assert wanted <= set((include.get("apply") or {}).get("tags", [])), f"apply: tags: {sorted(wanted)} is missing"

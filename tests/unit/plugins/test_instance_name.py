"""The first stagecraft.webapp filter a process uses loads all of the collection's filter files
(about 70 ms of CPU). Ansible templates a task's name in the controller's main process before it
forks the workers that run the task, so a role whose first task is named through a collection
filter has them loaded once per run; else every worker, one per task and host, loads them again
(30 tasks with a filter on one host: 3.3 CPU s without, 1.25 with)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
if str(ROOT / "collections") not in sys.path:
    sys.path.insert(0, str(ROOT / "collections"))

from ansible_collections.stagecraft.webapp.plugins.filter.instance_name import FilterModule  # noqa: E402

# The roles with an app and environment to name; the others run within them or within a composition.
NAMED_ROLES = ("deploy", "gunicorn", "nginx", "stack", "watchdog")


@pytest.mark.parametrize("role", NAMED_ROLES)
def test_first_task_is_named_through_a_collection_filter(role):
    first = yaml.safe_load((ROOT / "roles" / role / "tasks" / "main.yml").read_text(encoding="utf-8"))[0]
    assert "stagecraft.webapp.instance_name" in first["name"]


def test_instance_name():
    assert FilterModule().filters()["instance_name"]("shop", "prod") == "shop-prod"

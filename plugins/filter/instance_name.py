# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

from __future__ import annotations

DOCUMENTATION = r"""
name: instance_name
short_description: The name an app's environment goes by on a host (C(<app>-<env>))
version_added: 0.1.0
author: Stagecraft maintainers
description:
  - The name of the app's units, user, directories and records for one environment, as every role derives it.
  - The roles name their first task with it. A task's name is templated in the controller's main process before the task
    is handed to the workers, and the first stagecraft.webapp filter a process uses loads all of the collection's filter
    files (about 70 ms of CPU). Used in a name, that happens once per run, not once per task and host.
positional: env
options:
  _input:
    description: The app's name.
    type: str
    required: true
  env:
    description: The environment's name.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: "Preflight of {{ gunicorn_app_name | stagecraft.webapp.instance_name(gunicorn_app_env) }}"
  ansible.builtin.include_tasks: check.yml
"""

RETURN = r"""
_value:
  description: C(<app>-<env>).
  type: str
  sample: shop-prod
"""

from ansible_collections.stagecraft.webapp.plugins.module_utils._instance import instance_name


class FilterModule:
    """Filters of stagecraft.webapp."""

    def filters(self):
        return {"instance_name": instance_name}

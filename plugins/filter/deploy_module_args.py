# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

from __future__ import annotations

DOCUMENTATION = r"""
name: deploy_module_args
short_description: The arguments the deploy role's lock, deploy, record and restore tasks share
version_added: 0.1.0
author: Stagecraft maintainers
description:
  - Per module, what the settings decide (the layout) and what the run does (its release time, lock holder, who deploys
    and the AWX job), for the role's C(module_defaults); each task adds what only it decides.
positional: run, who, job_id
options:
  _input:
    description: The deploy role's layout (filter C(stagecraft.webapp.deploy_layout)).
    type: dict
    required: true
  run:
    description: The run's C(time) (release time) and C(holder) (lock holder), the same for every host and batch.
    type: dict
    required: true
  who:
    description: Who deploys (filter C(stagecraft.webapp.deployer)).
    type: str
    required: true
  job_id:
    description: The AWX or Automation Controller job; left out when empty.
    type: str
    default: ""
"""

EXAMPLES = r"""
- name: Deploy
  module_defaults:
    stagecraft.webapp.deploy: "{{ (_deploy_layout | stagecraft.webapp.deploy_module_args(_deploy_run, _deploy_who)).deploy }}"
  block:
    - name: Make, build and switch
      stagecraft.webapp.deploy:
        phase: all
"""

RETURN = r"""
_value:
  description:
    - C(deploy_lock), C(deploy), C(deploy_record) and C(deploy_restore), each the arguments of that stagecraft.webapp module.
  type: dict
"""

from ansible_collections.stagecraft.webapp.plugins.module_utils._deploy_layout import module_args


class FilterModule:
    """Filters of stagecraft.webapp."""

    def filters(self):
        return {"deploy_module_args": module_args}

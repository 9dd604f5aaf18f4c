# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

from __future__ import annotations

DOCUMENTATION = r"""
name: deployer
short_description: Who deploys, for the deploy lock and record, asked on the controller
version_added: 0.1.0
author: Stagecraft maintainers
description:
  - The name given; else the AWX or Automation Controller user; else the account the controller runs
    as (as C(id -un) says it, never C($USER), which CI containers, cron and AWX leave unset); else the
    git identity (C(user.name <user.email>)) of the controller's checkout; else C(unknown).
options:
  _input:
    description:
      - C(who) (the name given, may be empty), C(awx_user) (C(awx_user_name) or C(tower_user_name), may be
        empty) and C(checkout) (a directory of the controller's checkout, for its git identity).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Who deploys from this controller
  ansible.builtin.debug:
    msg: "{{ {'who': '', 'awx_user': awx_user_name | default(''), 'checkout': playbook_dir} | stagecraft.webapp.deployer }}"
"""

RETURN = r"""
_value:
  description: The name.
  type: str
  sample: alice
"""

from ansible_collections.stagecraft.webapp.plugins.module_utils._who import deployer


class FilterModule:
    """Filters of stagecraft.webapp."""

    def filters(self):
        return {"deployer": deployer}

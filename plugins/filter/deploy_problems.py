# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

from __future__ import annotations

DOCUMENTATION = r"""
name: deploy_problems
short_description: Check the settings of stagecraft.webapp.deploy before anything changes on a host
version_added: 0.1.0
author: Stagecraft maintainers
description:
  - Checks the settings of stagecraft.webapp.deploy that its argument spec cannot and returns one
    message per problem, each naming the variable at fault. An empty list means they are fine.
  - "Refused: an app name or environment that cannot be part of a unit and user name; a relative
    C(deploy_root); an empty C(deploy_repo), or one with credentials in its URL; a C(deploy_version)
    git would not take for a ref; unknown hook phases; fewer than 1 release kept; a health path
    without a leading C(/), a health timeout of 0 or less; both C(deploy_ssh_key) and
    C(deploy_token), a key without C(deploy_known_hosts), a token for a repository not on
    C(https://); C(deploy_rollback_to) without C(deploy_rollback); balancers with a
    C(deploy_balancer_member) that is not C(HOST:PORT), or that the inventory does not have."
  - C(deploy_ssh_key) and C(deploy_token) are only read to see whether they are set.
options:
  _input:
    description:
      - The role's variables by name (C(deploy_app_name), C(deploy_repo), ...) and
        C(inventory_hosts), every host of the inventory. The role's C(_deploy_settings) holds them.
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Check names, repository, hooks and numbers
  ansible.builtin.assert:
    that: _problems | length == 0
    fail_msg: "{{ _problems | join('; ') }}"
    quiet: true
  vars:
    _problems: "{{ _deploy_settings | stagecraft.webapp.deploy_problems }}"
"""

RETURN = r"""
_value:
  description: One message per problem; empty when the settings are fine.
  type: list
  elements: string
  sample:
    - "deploy_repo carries credentials in its URL; use deploy_token or deploy_ssh_key"
"""

from ansible_collections.stagecraft.webapp.plugins.module_utils._deploy_settings import settings_problems


class FilterModule:
    """Filters of stagecraft.webapp."""

    def filters(self):
        return {"deploy_problems": settings_problems}

# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

from __future__ import annotations

DOCUMENTATION = r"""
name: starter_files
short_description: A new app's inventory (hosts.yml, group_vars/webapp/main.yml) from a few answers
version_added: 0.1.0
author: Stagecraft maintainers
description:
  - What C(playbooks/starter.yml) writes for the dev or prod composition, with the framework's usual settings
    (gunicorn's app and worker class, Django's hooks and static files, the health check).
  - Check the answers with P(stagecraft.webapp.starter_problems#filter) first.
options:
  _input:
    description: C(app), C(env) (dev or prod), C(repo), C(host), C(domain), C(framework) (flask, django, fastapi),
      C(module) (empty for the framework's usual one) and C(email) (Let's Encrypt's account, prod).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: The files of a new Flask app's prod inventory
  ansible.builtin.debug:
    msg: >-
      {{ {'app': 'shop', 'env': 'prod', 'repo': 'https://github.com/example/shop.git', 'host': 'app1.example.com',
          'domain': 'shop.example.com', 'framework': 'flask', 'module': '', 'email': 'ops@example.com'}
         | stagecraft.webapp.starter_files }}
"""

RETURN = r"""
_value:
  description: The text of each file by its path relative to the inventory.
  type: dict
"""

from ansible_collections.stagecraft.webapp.plugins.module_utils._starter import starter_files


class FilterModule:
    """Filters of stagecraft.webapp."""

    def filters(self):
        return {"starter_files": starter_files}

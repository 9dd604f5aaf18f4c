# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

from __future__ import annotations

DOCUMENTATION = r"""
name: stack_layout
short_description: What stagecraft.webapp.stack derives for a composition (names, paths, where the report asks)
version_added: 0.1.0
author: Stagecraft maintainers
description:
  - Derives from the composed roles' settings and the stack role's own variables, in one place, what the role's tasks
    and the compositions' shared variables (C(playbooks/vars/stagecraft.yml)) use.
  - The origin the report and the watchdog ask is nginx on this host with the first of C(nginx_server_names) a client
    can ask for (neither a wildcard nor a regular expression; C(localhost) when none is).
positional: own
options:
  _input:
    description: The composed roles' settings, as P(stagecraft.webapp.stack_settings#filter) returns them.
    type: dict
    required: true
  own:
    description:
      - The stack role's variables by name (C(stack_app), C(stack_env), C(stack_composition), C(stack_tunnel),
        C(stack_firewall), C(stack_prod_allow), C(stack_dev_branch), C(stack_playbook_composition), C(stack_url),
        C(stack_release_only)) and C(inventory_hostname).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: The environment directory
  ansible.builtin.debug:
    msg: "{{ (_stack_settings | stagecraft.webapp.stack_layout(_stack_own)).base }}"
  # /srv/shop/prod
"""

RETURN = r"""
_value:
  description:
    - C(composition), C(instance) (<app>-<env>), C(composed_roles) (in the order they run), C(roles_to_check),
      C(host_read) (what the check reads on the host for their preflight, C(facts), C(records) or nothing), C(base)
      (the environment directory), C(origin), C(health_url), C(connect_address) (where the report connects), C(url) and
      C(heading) (what the report shows), C(watchdog_state) (its state file in prod, else empty) and C(checked) (what
      P(stagecraft.webapp.stack_problems#filter) reads).
  type: dict
"""

from ansible_collections.stagecraft.webapp.plugins.module_utils._stack_settings import layout


class FilterModule:
    """Filters of stagecraft.webapp."""

    def filters(self):
        return {"stack_layout": layout}

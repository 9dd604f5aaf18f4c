# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

from __future__ import annotations

DOCUMENTATION = r"""
name: watchdog_layout
short_description: The names, paths, program config and unit specs of a stagecraft.webapp.watchdog instance
version_added: 0.1.0
author: Stagecraft maintainers
description:
  - Derives from the role's variables, in one place, what the role's tasks use.
options:
  _input:
    description: The role's variables by name and C(inventory_hostname) (the role's C(_watchdog_settings)).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: The program's config file
  ansible.builtin.debug:
    msg: "{{ (_watchdog_settings | stagecraft.webapp.watchdog_layout).config }}"
  # /etc/stagecraft/watchdog/shop-prod.json
"""

RETURN = r"""
_value:
  description:
    - C(instance) (<app>-<env>), C(unit) (the timer's and service's name without suffix), C(program), C(config),
      C(state_dir), C(directories) (the program's, the config's and the state's); C(config_content), what one run
      reads; C(service) and C(timer), the unit specs for stagecraft.webapp.systemd.
  type: dict
"""

from ansible_collections.stagecraft.webapp.plugins.module_utils._watchdog_layout import layout


class FilterModule:
    """Filters of stagecraft.webapp."""

    def filters(self):
        return {"watchdog_layout": layout}

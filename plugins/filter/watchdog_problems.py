# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

from __future__ import annotations

DOCUMENTATION = r"""
name: watchdog_problems
short_description: Check the settings of stagecraft.webapp.watchdog before anything changes on a host
version_added: 0.1.0
author: Stagecraft maintainers
description:
  - Checks the settings of stagecraft.webapp.watchdog that its argument spec cannot and returns one
    message per problem, each naming the variable at fault. An empty list means they are fine.
  - "Refused: a health URL that is not http(s):// with a host name and a valid port; fewer than one
    failure, a timeout under one second, negative warning days; an alert command with an empty part.
    Nothing is refused when C(watchdog_present) is false."
options:
  _input:
    description:
      - The role's variables by name (C(watchdog_present), C(watchdog_health_url), C(watchdog_failures),
        C(watchdog_timeout), C(watchdog_certificate_warn_days), C(watchdog_alert_command)).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Check the watchdog's settings
  ansible.builtin.assert:
    that: _problems | length == 0
    fail_msg: "{{ _problems | join('; ') }}"
    quiet: true
  vars:
    _problems: "{{ dict(_names | zip(q('ansible.builtin.vars', *_names))) | stagecraft.webapp.watchdog_problems }}"
    _names: [watchdog_present, watchdog_health_url, watchdog_failures, watchdog_timeout, watchdog_certificate_warn_days, watchdog_alert_command]
"""

RETURN = r"""
_value:
  description: One message per problem; empty when the settings are fine.
  type: list
  elements: string
  sample:
    - "watchdog_failures: must be a whole number of at least 1, got 0"
"""

from ansible_collections.stagecraft.webapp.plugins.module_utils._watchdog import settings_problems


class FilterModule:
    """Filters of stagecraft.webapp."""

    def filters(self):
        return {"watchdog_problems": settings_problems}

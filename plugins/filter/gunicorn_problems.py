# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

from __future__ import annotations

DOCUMENTATION = r"""
name: gunicorn_problems
short_description: Check the settings of stagecraft.webapp.gunicorn before anything changes on a host
version_added: 0.1.0
author: Stagecraft maintainers
description:
  - Checks the settings of stagecraft.webapp.gunicorn that its argument spec cannot and returns one
    message per problem, each naming the variable at fault. An empty list means they are fine.
  - "Refused: the removed C(gunicorn_start_limit_burst) and C(gunicorn_start_limit_interval_sec);
    C(gunicorn_restart_max_delay_sec) below C(gunicorn_restart_sec); an app name or environment
    that cannot be part of a unit and user name, or that make a user name longer than 32
    characters; a module that is not C(package.module:callable); an unknown worker class; fewer
    than 1 worker or thread; a TCP port outside 1-65535; relative paths; a socket systemd holds
    inside the service's RuntimeDirectory; environment variable names a shell would refuse, and
    values with a line break."
  - The values of C(gunicorn_secrets) are read but never written into a message; a message names
    their keys only.
options:
  _input:
    description:
      - The role's variables by name (C(gunicorn_app_name), C(gunicorn_port), ...), the names the
        role derives from them (C(_gunicorn_instance), C(_gunicorn_socket_path),
        C(_gunicorn_run_dir), C(_gunicorn_socket_dir)) and C(removed_settings), the names of
        removed variables that are still set. The role's C(_gunicorn_settings) holds them.
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Check names, module, numbers, paths and the environment
  ansible.builtin.assert:
    that: _problems | length == 0
    fail_msg: "{{ _problems | join('; ') }}"
    quiet: true
  vars:
    _problems: "{{ _gunicorn_settings | stagecraft.webapp.gunicorn_problems }}"
"""

RETURN = r"""
_value:
  description: One message per problem; empty when the settings are fine.
  type: list
  elements: string
  sample:
    - "gunicorn_workers must be at least 1 (got 0)"
"""

from ansible_collections.stagecraft.webapp.plugins.module_utils._gunicorn_settings import settings_problems


class FilterModule:
    """Filters of stagecraft.webapp."""

    def filters(self):
        return {"gunicorn_problems": settings_problems}

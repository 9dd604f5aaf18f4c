# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

from __future__ import annotations

DOCUMENTATION = r"""
name: gunicorn_layout
short_description: The names, paths, record, files and units of a stagecraft.webapp.gunicorn instance
version_added: 0.1.0
author: Stagecraft maintainers
description:
  - Derives from the role's variables, in one place, what the role's tasks and templates use.
positional: facts, differ_paths, changed_paths
options:
  _input:
    description: The role's variables by name and C(removed_settings) (the role's C(_gunicorn_settings)).
    type: dict
    required: true
  facts:
    description: The host's C(ansible_facts); C(processor_vcpus) makes the default worker count, C(systemd.version) the restart back-off.
    type: dict
    default: {}
  differ_paths:
    description: The paths the drift read found differing (the executable among them means it is not installed yet).
    type: list
    elements: str
    default: []
  changed_paths:
    description: The paths stagecraft.webapp.files changed this run (they decide whether the service restarts or reloads).
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
- name: The environment file's path
  ansible.builtin.debug:
    msg: "{{ (_gunicorn_settings | stagecraft.webapp.gunicorn_layout(ansible_facts)).env_file }}"
  # /etc/stagecraft/shop-prod/env
"""

RETURN = r"""
_value:
  description:
    - C(instance), C(user), C(group), C(unit), C(socket_unit), C(candidate_unit), C(app_dir), C(base), C(current), C(shared),
      C(media_dir), C(venv), C(executable), C(etc), C(config), C(env_file), C(record), C(logrotate), C(run_dir), C(log_dir),
      C(socket_dir), C(socket_path), C(candidate_socket), C(bind), C(listen_stream), C(comment), C(workers).
    - C(record_content) (what the role records about the instance) and C(record_text) (that as the file holds it).
    - C(account), the user's fields (name, group, groups, home, shell, comment).
    - C(state), the service's state this run (stopped, restarted, reloaded or started).
    - C(files), the directories and files for stagecraft.webapp.files; C(units), the socket, service and candidate unit specs for
      stagecraft.webapp.systemd.
  type: dict
"""

from ansible_collections.stagecraft.webapp.plugins.module_utils._gunicorn_layout import layout


class FilterModule:
    """Filters of stagecraft.webapp."""

    def filters(self):
        return {"gunicorn_layout": layout}

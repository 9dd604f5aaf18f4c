# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

from __future__ import annotations

DOCUMENTATION = r"""
name: deploy_layout
short_description: The names, paths, packages, snapshot units and deploy module arguments of a stagecraft.webapp.deploy instance
version_added: 0.1.0
author: Stagecraft maintainers
description:
  - Derives from the deploy role's variables, in one place, what its tasks use.
options:
  _input:
    description: The role's variables by name (the role's C(_deploy_settings)).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Where the releases live
  ansible.builtin.debug:
    msg: "{{ (_deploy_settings | stagecraft.webapp.deploy_layout).base }}"
  # /srv/shop/prod
"""

RETURN = r"""
_value:
  description:
    - C(instance) (<app>-<env>), C(user), C(base), C(etc), C(env_file), C(service_record), C(ssh_key_file), C(known_hosts_file),
      C(ssh_key_content), C(known_hosts_content), C(maintenance_dir), C(maintenance_file), C(maintenance) (whether the page is on
      for the run), C(packages), C(node_packages), C(drift_packages), C(drift_paths) (what the drift read compares), C(local_repo),
      C(ref_key), C(release_phase), C(lock_across_tasks), C(log_files), C(snapshot) (C(unit), C(timer_path), C(config), C(code_dir),
      C(code), C(dir), C(settings), C(service) and C(timer), the unit specs for stagecraft.webapp.systemd), C(deploy_args) (the
      stagecraft.webapp.deploy arguments the settings decide).
  type: dict
"""

from ansible_collections.stagecraft.webapp.plugins.module_utils._deploy_layout import layout


class FilterModule:
    """Filters of stagecraft.webapp."""

    def filters(self):
        return {"deploy_layout": layout}

#!/usr/bin/python
# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

from __future__ import annotations

DOCUMENTATION = r"""
module: activate
short_description: Put a release into service only once it answers its health check, or roll back to an earlier one
version_added: 0.1.0
description:
  - Runs the O(hooks) C(before_switch) (for example Django's C(migrate)), then starts the release as a candidate, the
    template unit C(<app>-<env>@<release id>.service) that the M(stagecraft.webapp.gunicorn) role installs (same
    hardening, the release's own environment, one worker, its own Unix socket), and probes its health URL there while the
    old release keeps serving. A candidate that does not answer O(health_status) in O(health_timeout) seconds is stopped,
    the release is marked C(failed) and the task fails; nothing else changed.
  - Then switches C(current) atomically and restarts the service (gunicorn's HUP would keep the old environment). With
    the gunicorn role's socket activation, systemd holds the socket through the restart and no connection is refused.
  - Then probes the service itself. A failure switches C(current) back, restarts the previous release, marks the new one
    C(failed), and fails the task saying it rolled back.
  - On success the release is marked C(good) and the hooks C(after_switch) run.
  - With O(rollback), activates the newest good release older than the current one (or the good release named by
    O(release_id)) through the same gate.
  - When the release is current and good already, asks the service for its health check once. If it does not answer
    O(health_status) (stopped, or left failed by systemd), resets the service and its socket, restarts it and probes it
    again (RV(repaired)); the task fails when it still does not answer. In check mode it only says whether it would.
author: Stagecraft maintainers (@stagecraft)
extends_documentation_fragment:
  - stagecraft.webapp.deploy
  - stagecraft.webapp.deploy.attributes
  - stagecraft.webapp.deploy.app
  - stagecraft.webapp.deploy.once
  - stagecraft.webapp.deploy.health
options:
  release_id:
    description: The release to activate; with O(rollback), the good release to roll back to (empty means the previous one).
    type: str
    default: ""
  who:
    description: Who activates, written in the once-hook record.
    type: str
    default: unknown
seealso:
  - module: stagecraft.webapp.build
  - module: stagecraft.webapp.prune
"""

EXAMPLES = r"""
- name: Put the new release into service
  stagecraft.webapp.activate:
    path: /srv/shop/prod
    release_id: "{{ release.release_id }}"
    user: shop-prod
    env_file: /etc/stagecraft/shop-prod/env
    hooks:
      before_switch:
        - python manage.py migrate --noinput

- name: Roll back to the previous good release
  stagecraft.webapp.activate:
    path: /srv/shop/prod
    rollback: true
"""

RETURN = r"""
release_id:
  description: The release now serving (or that would serve, in check mode).
  returned: always
  type: str
  sample: 20261122T190507Z-1a2b3c4
previous_release_id:
  description: The release that served before.
  returned: always
  type: str
  sample: 20261120T101010Z-0f0e0d0
commit:
  description: The commit of RV(release_id).
  returned: always
  type: str
candidate:
  description: The health check of the candidate (healthy, answer, attempts, seconds; journal lines when it failed).
  returned: when a release was activated
  type: dict
service:
  description:
    - The health check of the service after the switch.
    - When the release was current already, the one request that asked it (healthy, answer, repaired) and, after a
      repair, the health check of the restarted service (repair).
  returned: when a release was activated or was current already
  type: dict
once_hooks:
  description: The once-hooks that ran (in check mode, would run), by name.
  returned: always
  type: list
  elements: str
  sample: [init-db]
repaired:
  description: Whether the current release's service did not answer its health check and was restarted (in check mode, would be).
  returned: always
  type: bool
rolled_back:
  description: On failure, whether the previous release was put back and answers its health check.
  returned: on failure after the switch
  type: bool
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.stagecraft.webapp.plugins.module_utils._steps import APP_SPEC, HEALTH_SPEC, ONCE_SPEC, activate, run_as_module


def main():
    module = AnsibleModule(argument_spec=dict(path=dict(type="path", required=True), release_id=dict(type="str", default=""),
                                              who=dict(type="str", default="unknown"), **APP_SPEC, **ONCE_SPEC, **HEALTH_SPEC),
                           supports_check_mode=True)
    run_as_module(module, activate)


if __name__ == "__main__":
    main()

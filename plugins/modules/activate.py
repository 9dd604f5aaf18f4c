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
  - Does nothing when the release is current and good already.
author: Stagecraft maintainers (@stagecraft)
extends_documentation_fragment:
  - stagecraft.webapp.deploy
  - stagecraft.webapp.deploy.attributes
options:
  release_id:
    description: The release to activate; with O(rollback), the good release to roll back to (empty means the previous one).
    type: str
    default: ""
  rollback:
    description: Roll back instead of activating a new release.
    type: bool
    default: false
  service_record:
    description:
      - What the gunicorn role recorded about the app's service (units, sockets, how it listens).
      - Default C(/etc/stagecraft/<app>-<env>/gunicorn.json), with C(<app>) and C(<env>) the last two parts of O(path).
    type: path
  health_path:
    description: Path of the health URL, asked with C(GET).
    type: str
    default: /healthz
  health_status:
    description: The HTTP status that means healthy.
    type: int
    default: 200
  health_host:
    description: The C(Host) header of the health check (Django checks it against C(ALLOWED_HOSTS)).
    type: str
    default: localhost
  health_timeout:
    description: Seconds a release gets to answer, as a candidate and again after the switch.
    type: float
    default: 60
  user:
    description: The app's user, who runs the hooks. Default is the module's user.
    type: str
  env_file:
    description: The app's environment file (systemd format), loaded for the hooks.
    type: path
  hooks:
    description: Shell commands per phase, as for M(stagecraft.webapp.build); this module runs C(before_switch) and C(after_switch).
    type: dict
    default: {}
    suboptions:
      before_build:
        description: Run by M(stagecraft.webapp.build).
        type: list
        elements: str
        default: []
      after_build:
        description: Run by M(stagecraft.webapp.build).
        type: list
        elements: str
        default: []
      before_switch:
        description: Before the candidate starts, while the old release serves, for example C(python manage.py migrate --noinput).
        type: list
        elements: str
        default: []
      after_switch:
        description: After the release is proved healthy and serving.
        type: list
        elements: str
        default: []
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
  description: The health check of the service after the switch.
  returned: when a release was activated
  type: dict
rolled_back:
  description: On failure, whether the previous release was put back and answers its health check.
  returned: on failure after the switch
  type: bool
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.stagecraft.webapp.plugins.module_utils._activate import Activator, Health, ServiceRecord
from ansible_collections.stagecraft.webapp.plugins.module_utils._commands import Runner, module_run_command
from ansible_collections.stagecraft.webapp.plugins.module_utils._errors import run_module
from ansible_collections.stagecraft.webapp.plugins.module_utils._hooks import HOOK_OPTIONS, Hooks
from ansible_collections.stagecraft.webapp.plugins.module_utils._release import read_marker


def default_record(path):
    env_dir = os.path.normpath(path)
    return "/etc/stagecraft/{0}-{1}/gunicorn.json".format(os.path.basename(os.path.dirname(env_dir)), os.path.basename(env_dir))


def run(module):
    params = module.params
    base = params["path"]
    if module.check_mode and not params["rollback"] and not os.path.isdir(os.path.join(base, "releases", params["release_id"] or ".")):
        # The release step would make this release in this run; activating it would change everything.
        return {"changed": True, "release_id": params["release_id"], "previous_release_id": "", "commit": ""}
    runner = Runner(module_run_command(module))
    hooks = Hooks(runner, user=params["user"], env_file=params["env_file"], hooks=params["hooks"], home=base)
    health = Health(params["health_path"], params["health_status"], params["health_host"], params["health_timeout"])
    # The record is read only to act: in check mode on a new host the gunicorn role has not written it yet.
    activator = Activator(base, lambda: ServiceRecord.load(params["service_record"] or default_record(base)), health, runner, hooks)
    release_id, current_id = activator.choose(params["release_id"] or None, params["rollback"])
    commit = (read_marker(os.path.join(base, "releases", release_id)) or {}).get("commit", "")
    result = {"release_id": release_id, "previous_release_id": current_id or "", "commit": commit,
              "diff": {"before": {"current": current_id or ""}, "after": {"current": release_id}}}
    if not activator.needed(release_id, current_id):
        return dict(result, changed=False)
    if module.check_mode:
        return dict(result, changed=True)
    return dict(result, changed=True, **activator.activate(release_id, current_id))


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            release_id=dict(type="str", default=""),
            rollback=dict(type="bool", default=False),
            service_record=dict(type="path"),
            health_path=dict(type="str", default="/healthz"),
            health_status=dict(type="int", default=200),
            health_host=dict(type="str", default="localhost"),
            health_timeout=dict(type="float", default=60),
            user=dict(type="str"),
            env_file=dict(type="path"),
            hooks=dict(type="dict", default={}, options=HOOK_OPTIONS),
        ),
        supports_check_mode=True,
    )
    run_module(module, run)


if __name__ == "__main__":
    main()

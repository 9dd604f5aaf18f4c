#!/usr/bin/python
# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

from __future__ import annotations

DOCUMENTATION = r"""
module: deploy_lock
short_description: Take, give back or break the deploy lock of one app in one environment
version_added: 0.1.0
description:
  - The lock is the file C(<path>/deploy.lock) (mode 0640), made with an exclusive create, holding who took it, on which
    host, when, the process, the AWX job id and a holder id.
  - C(present) takes it; taking it again with the same O(holder_id) changes nothing, anyone else fails with the
    holder's details. C(absent) gives it back, only for its holder. C(broken) removes a stale lock on purpose,
    optionally only when it is older than O(older_than) seconds.
author: Stagecraft maintainers (@stagecraft)
extends_documentation_fragment:
  - stagecraft.webapp.deploy
  - stagecraft.webapp.deploy.attributes
options:
  state:
    description: Take (C(present)), give back (C(absent)) or break (C(broken)) the lock.
    type: str
    choices: [present, absent, broken]
    default: present
  holder_id:
    description: Names the holder for the whole run (a deploy spans many tasks); the run's release time is a good choice.
    type: str
  owner:
    description: Who deploys, recorded in the lock.
    type: str
    default: unknown
  job_id:
    description: The AWX / Automation Controller job id, if any.
    type: str
  older_than:
    description: With C(broken), refuse to break a lock younger than this many seconds.
    type: int
notes:
  - In check mode the lock is not taken, but a lock held by someone else still fails the task.
"""

EXAMPLES = r"""
- name: Take the deploy lock for this run
  stagecraft.webapp.deploy_lock:
    path: /srv/shop/prod
    holder_id: "{{ deploy_timestamp }}"
    owner: "{{ lookup('ansible.builtin.env', 'USER') }}"

- name: Break a lock left by a deploy that died more than an hour ago
  stagecraft.webapp.deploy_lock:
    path: /srv/shop/prod
    state: broken
    older_than: 3600
"""

RETURN = r"""
holder:
  description: Who holds the lock now (after C(present)), or held it (after C(absent) or C(broken)); null when unlocked.
  returned: always
  type: dict
  sample: {owner: alice, host: web1, pid: 4242, time: "2026-11-22T19:05:07Z", job_id: null, holder_id: "20261122T190507Z"}
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.stagecraft.webapp.plugins.module_utils import _lock
from ansible_collections.stagecraft.webapp.plugins.module_utils._errors import DeployError, run_module


def run(module):
    params = module.params
    path = os.path.join(params["path"], "deploy.lock")
    holder = _lock.read_lock(path)
    state = params["state"]
    if state == "present":
        if holder is not None and not (holder and params["holder_id"] and holder.get("holder_id") == params["holder_id"]):
            raise DeployError("deploy lock {0} is held by {1}; wait for that deploy, or break the lock if it is stale".format(path, _lock.describe(holder)),
                              details={"lock": path, "holder": holder})
        if module.check_mode or holder is not None:
            return {"changed": holder is None, "holder": holder}
        changed, holder = _lock.acquire(path, params["owner"], params["holder_id"], params["job_id"])
        return {"changed": changed, "holder": holder}
    if state == "absent":
        if holder is not None and holder.get("holder_id") != params["holder_id"]:
            raise DeployError("deploy lock {0} is held by {1}, not by {2}; not releasing it".format(path, _lock.describe(holder), params["holder_id"]),
                              details={"lock": path, "holder": holder})
        changed = holder is not None if module.check_mode else _lock.release(path, params["holder_id"])
        return {"changed": changed, "holder": holder}
    if module.check_mode:
        age = _lock.lock_age(path)
        if holder is not None and params["older_than"] is not None and age is not None and age < params["older_than"]:
            raise DeployError("deploy lock {0} is {1:.0f} s old, younger than {2} s".format(path, age, params["older_than"]), details={"holder": holder})
        return {"changed": holder is not None, "holder": holder}
    changed, holder = _lock.break_lock(path, params["older_than"])
    return {"changed": changed, "holder": holder}


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            state=dict(type="str", choices=["present", "absent", "broken"], default="present"),
            holder_id=dict(type="str"),
            owner=dict(type="str", default="unknown"),
            job_id=dict(type="str"),
            older_than=dict(type="int"),
        ),
        required_if=[("state", "present", ["holder_id"]), ("state", "absent", ["holder_id"])],
        supports_check_mode=True,
    )
    run_module(module, run)


if __name__ == "__main__":
    main()

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
  - While the M(stagecraft.webapp.deploy) module runs, its process holds the lock, named exactly (pid, its start time
    from C(/proc/<pid>/stat) and the host's boot id). When that process is gone (killed, or the host restarted), the next
    C(present) takes the lock over by itself, with a warning, and writes the dead run's line to the deploy record with
    the outcome C(interrupted). A lock whose process still runs, that another host holds, or that this module took (no
    process holds it between the tasks of a run) still refuses; the message says which.
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
  sample: {owner: alice, host: web1, pid: 4242, pid_start: 1234567, boot_id: 6f1c0a52-8a5b-4d5e-9a40-3c2b1d0e9f11,
           time: "2026-11-22T19:05:07Z", job_id: null, holder_id: "20261122T190507Z"}
taken_over:
  description: After C(present), the holder whose process was gone and whose lock was taken over, with the C(reason); null otherwise.
  returned: always
  type: dict
  sample: {owner: bob, host: web1, pid: 4100, holder_id: "20261122T180000Z-17", reason: its process 4100 no longer runs}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.stagecraft.webapp.plugins.module_utils._steps import lock, run_as_module


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
    run_as_module(module, lock)


if __name__ == "__main__":
    main()

#!/usr/bin/python
# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

from __future__ import annotations

DOCUMENTATION = r"""
module: deploy
short_description: Deploy a release in one call, under the deploy lock; make, build, health-gated switch, prune and record
version_added: 0.2.0
description:
  - Runs the steps of M(stagecraft.webapp.release), M(stagecraft.webapp.build), M(stagecraft.webapp.activate),
    M(stagecraft.webapp.prune) and M(stagecraft.webapp.deploy_record) in order, under the lock of M(stagecraft.webapp.deploy_lock),
    on the host in a single module run. Over SSH each module run costs a round trip, so a code-only deploy takes
    one instead of seven.
  - With O(phase=all) it takes the lock, makes and builds the release (not for O(rollback)), activates it, prunes, records
    the deploy when something changed, and gives the lock back.
  - When the release is current already (a pipeline's per-push run with nothing new), the activate step still asks the
    service for its health check. A service that does not answer (stopped, or left failed by systemd) is reset and
    restarted and must then answer, or the task fails saying so; RV(repaired) reports such a repair, which is not a deploy
    and is not recorded.
  - With O(phase=build) it stops after the build and keeps the lock, so that the play can take the host out of its load
    balancers; O(phase=activate) with the same O(holder_id) does the rest.
  - Before it takes the lock it checks what the deploy role and the gunicorn role prepare (git unless nothing is fetched,
    the service record unless in check mode, the O(ssh_key) and O(known_hosts) files when given) and that a O(repo) on the
    host itself is a git repository. Anything missing fails the task with step C(check), naming each, before anything
    changes or is recorded.
  - A failing step is recorded (C(failed), or C(rolled_back) when the previous release serves again), the lock is given
    back, and the task fails naming the step. A lock held by another deploy fails the task before anything happens, unless
    that deploy's process is gone; then the lock is taken over with a warning and that deploy recorded as C(interrupted)
    (see M(stagecraft.webapp.deploy_lock)).
  - A controller that dies hangs up the module's SSH session; the module ignores that hang-up and runs to its end,
    switched or not, recorded, lock given back.
  - Check mode runs every step in check mode; the diff has one part per step that would change.
author: Stagecraft maintainers (@stagecraft)
extends_documentation_fragment:
  - stagecraft.webapp.deploy
  - stagecraft.webapp.deploy.attributes
  - stagecraft.webapp.deploy.release
  - stagecraft.webapp.deploy.app
  - stagecraft.webapp.deploy.once
  - stagecraft.webapp.deploy.build
  - stagecraft.webapp.deploy.health
  - stagecraft.webapp.deploy.snapshot
options:
  phase:
    description: The steps to run; see the description.
    type: str
    choices: [all, build, activate]
    default: all
  release_id:
    description:
      - With O(phase=activate), the release the build phase made.
      - With O(rollback), the good release to roll back to; empty means the previous good one.
    type: str
    default: ""
  ref:
    description:
      - The ref as asked for, which the record names; default O(version).
      - For a play that resolved the ref once for many hosts and gives each the commit as O(version).
    type: str
    default: ""
  keep:
    description: How many good releases to keep, the current one included; at least 1.
    type: int
    default: 5
  who:
    description: Who deploys, written in the lock, the record and a rollback's mark.
    type: str
    default: unknown
  allow_rolled_back:
    description:
      - A rollback (asked for with O(rollback), or automatic after the service failed its health check after the switch)
        marks the commit it took out of service in C(<path>/rolled-back.json), with when and by whom.
      - A deploy that would put a marked commit back fails before anything changes, unless this is true; such a deploy
        removes the mark. The commit that serves already is never refused.
    type: bool
    default: false
  job_id:
    description: The AWX / Automation Controller job id, if any.
    type: str
  holder_id:
    description: Names this run as the lock's holder, the same for both phases; the run's release time and a random part are a good choice.
    type: str
    required: true
  built_changed:
    description: With O(phase=activate), whether the build phase changed something; the deploy is recorded when either phase did.
    type: bool
    default: false
notes:
  - The modules of each step remain for plays that put other tasks between them.
seealso:
  - module: stagecraft.webapp.release
  - module: stagecraft.webapp.build
  - module: stagecraft.webapp.activate
  - module: stagecraft.webapp.prune
  - module: stagecraft.webapp.deploy_record
  - module: stagecraft.webapp.deploy_lock
"""

EXAMPLES = r"""
- name: Deploy the main branch
  stagecraft.webapp.deploy:
    path: /srv/shop/prod
    repo: https://git.example.com/shop.git
    version: main
    timestamp: "{{ deploy_timestamp }}"
    holder_id: "{{ deploy_timestamp }}"
    owner: shop-prod
    user: shop-prod
    env_file: /etc/stagecraft/shop-prod/env
    who: alice
    hooks:
      before_switch:
        - python manage.py migrate --noinput
    once_hooks:
      - name: first-admin
        command: python manage.py createsuperuser --noinput

- name: Roll back to the previous good release
  stagecraft.webapp.deploy:
    path: /srv/shop/prod
    repo: https://git.example.com/shop.git
    timestamp: "{{ deploy_timestamp }}"
    holder_id: "{{ deploy_timestamp }}"
    rollback: true
"""

RETURN = r"""
release_id:
  description: The release that serves now (or would, in check mode); after O(phase=build), the release made.
  returned: always
  type: str
  sample: 20261122T190507Z-1a2b3c4
commit:
  description: The commit of RV(release_id).
  returned: always
  type: str
previous_release_id:
  description: The release that served before this call.
  returned: always
  type: str
previous_commit:
  description: Its commit.
  returned: always
  type: str
once_hooks:
  description: The once-hooks that ran (in check mode, would run), by name; see O(once_hooks).
  returned: always
  type: list
  elements: str
  sample: [init-db]
repaired:
  description: Whether the release that was current already did not answer its health check and was restarted, and now answers
    (in check mode, whether it would be restarted).
  returned: always
  type: bool
snapshot:
  description:
    - The snapshot of the app's data this run took for its release (see O(snapshot_databases)), as
      M(stagecraft.webapp.deploy_info) lists it; null when none was taken (nothing to snapshot, no new release, check mode).
  returned: always
  type: dict
  sample:
    release_id: 20261122T190507Z-1a2b3c4
    taken: "2026-11-22T19:05:31Z"
    bytes: 20480
    holds: db.sqlite3 (20480 bytes)
    summary: "20261122T190507Z-1a2b3c4 taken 2026-11-22T19:05:31Z: db.sqlite3 (20480 bytes)"
restored:
  description:
    - With O(rollback) and O(restore_data), what the restore did, with the release whose snapshot it put back (C(release_id)), when that
      snapshot was taken (C(taken)), what it holds (C(holds)), the paths restored and left alone, and C(lost), the sentence saying
      which data written since the snapshot is lost (also a warning); null otherwise.
  returned: always
  type: dict
steps:
  description:
    - What each step that ran returned, by step (lock, release, snapshot, build, restore, activate, prune, record), as its own module returns
      it (snapshot and restore have no module of their own).
    - Each step's C(seconds) says how long it took.
  returned: always
  type: dict
lock_taken_over:
  description: The holder whose process was gone when this run took the lock over (its deploy is recorded as C(interrupted)); null otherwise.
  returned: always
  type: dict
step:
  description: The step that failed.
  returned: on failure
  type: str
  sample: build
recorded:
  description: On failure, whether the failure was written to the deploy record.
  returned: on failure
  type: bool
rolled_back:
  description: On a failure after the switch, whether the previous release was put back and answers its health check.
  returned: on failure after the switch
  type: bool
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.stagecraft.webapp.plugins.module_utils._steps import (
    APP_SPEC, BUILD_SPEC, HEALTH_SPEC, ONCE_SPEC, PHASES, RELEASE_RULES, RELEASE_SPEC, SNAPSHOT_SPEC, deploy, run_as_module)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            phase=dict(type="str", choices=PHASES, default="all"),
            release_id=dict(type="str", default=""),
            ref=dict(type="str", default=""),
            keep=dict(type="int", default=5),
            who=dict(type="str", default="unknown"),
            job_id=dict(type="str"),
            holder_id=dict(type="str", required=True),
            built_changed=dict(type="bool", default=False),
            allow_rolled_back=dict(type="bool", default=False),
            **dict(RELEASE_SPEC, **APP_SPEC, **ONCE_SPEC, **BUILD_SPEC, **HEALTH_SPEC, **SNAPSHOT_SPEC)
        ),
        supports_check_mode=True,
        **RELEASE_RULES
    )
    run_as_module(module, deploy)


if __name__ == "__main__":
    main()

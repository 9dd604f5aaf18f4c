#!/usr/bin/python
# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

from __future__ import annotations

DOCUMENTATION = r"""
module: deploy_record
short_description: Append one deploy to the record of an app in one environment
version_added: 0.1.0
description:
  - Appends one JSON line to C(<path>/deploys.jsonl) (mode 0640) with a single atomic append, naming who deployed, the ref, the
    commit and the previous one, the release, when it started, how long it took, the outcome and the AWX job id.
  - M(stagecraft.webapp.deploy_info) reads it back from its end.
author: Stagecraft maintainers (@stagecraft)
extends_documentation_fragment:
  - stagecraft.webapp.deploy
  - stagecraft.webapp.deploy.attributes
options:
  who:
    description: Who deployed.
    type: str
    required: true
  ref:
    description: The ref asked for.
    type: str
    default: ""
  commit:
    description: The commit deployed.
    type: str
    default: ""
  previous_commit:
    description: The commit that served before.
    type: str
    default: ""
  release_id:
    description: The release deployed.
    type: str
    default: ""
  started:
    description: When the deploy started (ISO 8601 with a time zone, epoch seconds, or C(yyyymmddTHHMMSSZ)).
    type: str
    required: true
  outcome:
    description:
      - How it ended.
      - C(interrupted) is written by the next run for a deploy whose process died holding the lock (see M(stagecraft.webapp.deploy_lock)).
    type: str
    required: true
    choices: [success, unchanged, failed, rolled_back, interrupted]
  job_id:
    description: The AWX / Automation Controller job id, if any.
    type: str
"""

EXAMPLES = r"""
- name: Record the deploy
  stagecraft.webapp.deploy_record:
    path: /srv/shop/prod
    who: alice
    ref: main
    commit: "{{ release.commit }}"
    previous_commit: "{{ release.previous_commit }}"
    release_id: "{{ release.release_id }}"
    started: "{{ deploy_timestamp }}"
    outcome: success
"""

RETURN = r"""
entry:
  description: The line appended (or that would be, in check mode).
  returned: always
  type: dict
  sample:
    who: alice
    ref: main
    commit: 1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d
    previous_commit: 0f0e0d0c0b0a09080706050403020100f0e0d0c0
    release_id: 20261122T190507Z-1a2b3c4
    started: "2026-11-22T19:05:07Z"
    duration: 42.5
    outcome: success
    job_id: null
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.stagecraft.webapp.plugins.module_utils._steps import OUTCOMES, record, run_as_module


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            who=dict(type="str", required=True),
            ref=dict(type="str", default=""),
            commit=dict(type="str", default=""),
            previous_commit=dict(type="str", default=""),
            release_id=dict(type="str", default=""),
            started=dict(type="str", required=True),
            outcome=dict(type="str", required=True, choices=OUTCOMES),
            job_id=dict(type="str"),
        ),
        supports_check_mode=True,
    )
    run_as_module(module, record)


if __name__ == "__main__":
    main()

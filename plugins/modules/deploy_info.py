#!/usr/bin/python
# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

from __future__ import annotations

DOCUMENTATION = r"""
module: deploy_info
short_description: Show the releases, the current one, the lock and the last deploys of an app in one environment
version_added: 0.1.0
description:
  - Reads the release markers, the C(current) link, C(deploy.lock), the end of C(deploys.jsonl), the rollback marks and the
    manifests of the data's snapshots; changes nothing.
  - With O(unit), also the release the app's service runs (RV(serving)), which is what serves; it differs from RV(current)
    when a deploy stopped between its switch and its restart (RV(serving_mismatch), with a warning).
author: Stagecraft maintainers (@stagecraft)
extends_documentation_fragment:
  - stagecraft.webapp.deploy
  - stagecraft.webapp.deploy.no_diff_attributes
options:
  records:
    description: How many of the last deploys to return.
    type: int
    default: 10
  unit:
    description: The app's systemd service, for example C(shop-prod.service); empty to leave RV(serving) empty.
    type: str
    default: ""
"""

EXAMPLES = r"""
- name: Read the deploy status
  stagecraft.webapp.deploy_info:
    path: /srv/shop/prod
  register: status

- name: Show what serves
  ansible.builtin.debug:
    msg: "{{ status.current }} ({{ status.releases | selectattr('release_id', 'eq', status.current) | map(attribute='commit') | first }})"
"""

RETURN = r"""
current:
  description: The release C(current) points to; empty when there is none.
  returned: always
  type: str
  sample: 20261122T190507Z-1a2b3c4
rollback_target:
  description: The release a rollback would go back to; empty when there is none.
  returned: always
  type: str
releases:
  description: Every release, oldest first, with its state (pending, good, failed, unknown), commit, ref and creation time.
  returned: always
  type: list
  elements: dict
serving:
  description:
    - The release the main process of O(unit) runs in (its working directory, taken from C(current) when it started);
      empty without O(unit), when it does not run or runs outside the releases.
  returned: always
  type: str
serving_commit:
  description: The commit of RV(serving); empty when that is empty.
  returned: always
  type: str
serving_mismatch:
  description: Whether the service runs another release than RV(current).
  returned: always
  type: bool
serving_error:
  description: Why RV(serving) is unknown although the service runs (its working directory could not be read); null otherwise.
  returned: always
  type: str
rolled_back:
  description:
    - The commits rollbacks took out of service, newest first, which a deploy refuses to put back unless told to; each as
      M(stagecraft.webapp.app_status) describes it (RV(stagecraft.webapp.app_status#module:rolled_back)).
  returned: always
  type: list
  elements: dict
snapshots:
  description:
    - The snapshots of the app's data (C(snapshots/<release id>/)), oldest release first; each was taken before its release's
      first hook that may change data, and goes when that release is pruned.
    - They name paths relative to C(shared/) and sizes, never a file's name inside a directory nor any content.
  returned: always
  type: list
  elements: dict
  contains:
    release_id:
      description: The release it was taken for (a rollback away from that release with C(restore_data) restores it).
      type: str
    taken:
      description: When (UTC, ISO 8601).
      type: str
    bytes:
      description: What it holds, in bytes (hard-linked files included).
      type: int
    holds:
      description: What it holds, as a sentence part.
      type: str
      sample: db.sqlite3 (20480 bytes), media (12 files, 3145728 bytes)
    summary:
      description: All that in one line.
      type: str
      sample: "20261122T190507Z-1a2b3c4 taken 2026-11-22T19:05:31Z: db.sqlite3 (20480 bytes)"
lock:
  description: The holder of the deploy lock, or null when nobody holds it.
  returned: always
  type: dict
deploys:
  description: The last deploys from the record, oldest first.
  returned: always
  type: list
  elements: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.stagecraft.webapp.plugins.module_utils._commands import module_run_command
from ansible_collections.stagecraft.webapp.plugins.module_utils._errors import run_module
from ansible_collections.stagecraft.webapp.plugins.module_utils._status import deploy_state, serving_warnings, service_status, serving_state


def run(module):
    params = module.params
    state = deploy_state(params["path"], params["records"])
    service = service_status(params["unit"], module_run_command(module), module.get_bin_path) if params["unit"] else None
    state.update(serving_state(params["path"], state["current"], service))
    for warning in serving_warnings(params["unit"], state):
        module.warn(warning)
    return dict(state, changed=False)


def main():
    module = AnsibleModule(
        argument_spec=dict(path=dict(type="path", required=True), records=dict(type="int", default=10), unit=dict(type="str", default="")),
        supports_check_mode=True,
    )
    run_module(module, run)


if __name__ == "__main__":
    main()

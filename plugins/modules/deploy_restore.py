#!/usr/bin/python
# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

from __future__ import annotations

DOCUMENTATION = r"""
module: deploy_restore
short_description: Put a snapshot of an app's data back into its shared directory
version_added: 0.1.0
description:
  - Restores the snapshot O(snapshot) from C(<path>/snapshots/<snapshot>/), one a deploy took for its release or one the
    deploy role's timer took (C(scheduled-<time>)), as M(stagecraft.webapp.deploy_info) lists them. SQLite databases are
    written back through SQLite's backup API (the live file, its owner and mode stay); directories are replaced by a rename.
  - Data written since the snapshot is lost; the module says which paths changed since, as a warning, before (check mode)
    and after.
  - An id that is no snapshot's name (a path, C(..), a hidden name) is refused before anything is read, an unknown one
    before anything changes, naming the snapshots there are.
  - It neither takes the deploy lock nor turns the maintenance page on; C(playbooks/restore.yml) does both around it.
author: Stagecraft maintainers (@stagecraft)
extends_documentation_fragment:
  - stagecraft.webapp.deploy
  - stagecraft.webapp.deploy.attributes
options:
  snapshot:
    description: The snapshot's id, its directory's name in C(<path>/snapshots/) (a release id or C(scheduled-<time>)).
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Put the data back as the scheduled snapshot of 03:15 held it
  stagecraft.webapp.deploy_restore:
    path: /srv/shop/prod
    snapshot: scheduled-20261206T031500Z
"""

RETURN = r"""
snapshot:
  description: The snapshot restored (or, in check mode, that would be).
  returned: success
  type: str
  sample: scheduled-20261206T031500Z
taken:
  description: When it was taken (UTC).
  returned: success
  type: str
  sample: "2026-12-06T03:15:00Z"
holds:
  description: What it holds, paths relative to C(shared/) with their sizes (never file names inside a directory, nor contents).
  returned: success
  type: str
  sample: db.sqlite3 (12288 bytes), media (3 files, 2048 bytes)
lost:
  description: The sentence saying which data written since the snapshot is lost (also the warning).
  returned: success
  type: str
  sample: "data written to db.sqlite3 since 2026-12-06T03:15:00Z is lost (changed since the snapshot: db.sqlite3)"
written_since:
  description: The snapshot's paths whose live data changed after it was taken; empty in check mode.
  returned: success
  type: list
  elements: str
restored:
  description: The paths put back; empty in check mode.
  returned: success
  type: list
  elements: str
left:
  description: The paths absent when the snapshot was taken, left as they are now.
  returned: success
  type: list
  elements: str
snapshots:
  description: When the snapshot is refused, the ids of those there are.
  returned: failure
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.stagecraft.webapp.plugins.module_utils._steps import restore_snapshot, run_as_module


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            snapshot=dict(type="str", required=True),
        ),
        supports_check_mode=True,
    )
    run_as_module(module, restore_snapshot)


if __name__ == "__main__":
    main()

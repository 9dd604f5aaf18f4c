#!/usr/bin/python
# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

from __future__ import annotations

DOCUMENTATION = r"""
module: prune
short_description: Remove old, failed and leftover releases, and the virtual environments no kept release uses
version_added: 0.1.0
description:
  - Keeps the newest O(keep) good releases, the current release and those in O(protect); removes every other release
    (failed and pending ones never count towards O(keep)), hidden leftovers of interrupted deploys, and the
    environments in C(venvs/) that no kept release links to.
  - The snapshot of the app's data taken for a release (C(snapshots/<release id>/)) goes with that release; a snapshot whose
    release is gone, and leftovers of interrupted snapshots, go too.
  - A directory in C(releases/) without a valid marker (made by something else) is reported and left alone.
  - Each release is renamed to a hidden name before it is deleted, so none is ever half there.
author: Stagecraft maintainers (@stagecraft)
extends_documentation_fragment:
  - stagecraft.webapp.deploy
  - stagecraft.webapp.deploy.attributes
options:
  keep:
    description: How many good releases to keep, the current one included; at least 1.
    type: int
    default: 5
  protect:
    description: Releases never removed this time, such as the one a running deploy works on.
    type: list
    elements: str
    default: []
seealso:
  - module: stagecraft.webapp.activate
"""

EXAMPLES = r"""
- name: Keep the five newest good releases
  stagecraft.webapp.prune:
    path: /srv/shop/prod
    keep: 5
    protect: ["{{ release.release_id }}"]
"""

RETURN = r"""
kept:
  description: Releases kept, oldest first.
  returned: always
  type: list
  elements: str
removed:
  description: Releases removed (or that would be, in check mode).
  returned: always
  type: list
  elements: str
removed_venvs:
  description: Environments removed from C(venvs/) (or that would be).
  returned: always
  type: list
  elements: str
removed_snapshots:
  description: Releases whose snapshot in C(snapshots/) was removed (or would be).
  returned: always
  type: list
  elements: str
  version_added: 0.3.0
removed_node_modules:
  description: Shared frontend dependencies removed from C(node_modules/) (or that would be), by lockfile hash.
  returned: always
  type: list
  elements: str
leftovers:
  description: Hidden directories of interrupted deploys that were cleared.
  returned: always
  type: list
  elements: str
unknown:
  description: Directories in C(releases/) that are not releases; left alone.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.stagecraft.webapp.plugins.module_utils._steps import prune_releases, run_as_module


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            keep=dict(type="int", default=5),
            protect=dict(type="list", elements="str", default=[]),
        ),
        supports_check_mode=True,
    )
    run_as_module(module, prune_releases)


if __name__ == "__main__":
    main()

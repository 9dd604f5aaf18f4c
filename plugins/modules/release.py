#!/usr/bin/python
# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

from __future__ import annotations

DOCUMENTATION = r"""
module: release
short_description: Make a release directory from a git ref, through a mirror of the repository kept on the host
version_added: 0.1.0
description:
  - Keeps a bare mirror of the app's repository in C(<path>/repo.git) (branches and tags only) and fetches only what is new.
  - Resolves O(version) (a branch, a tag or a full or short commit id) to a commit, and fails naming the ref, before
    anything changes, when it does not exist.
  - Creates C(<path>/releases/<release id>) from that commit (no C(.git) inside), in a hidden directory renamed into place
    once complete, with shared directories and files linked in, the commit id in a C(REVISION) file (as Capistrano
    writes it), and the tree owned by O(owner).
  - Reuses an intact release of the same commit whatever the run's id, so deploying the same commit again changes nothing.
  - The release starts in state C(pending); M(stagecraft.webapp.activate) marks it C(good) or C(failed).
author: Stagecraft maintainers (@stagecraft)
extends_documentation_fragment:
  - stagecraft.webapp.deploy
  - stagecraft.webapp.deploy.attributes
  - stagecraft.webapp.deploy.release
seealso:
  - module: stagecraft.webapp.build
  - module: stagecraft.webapp.activate
"""

EXAMPLES = r"""
- name: Compute the run's release time once, on the controller
  ansible.builtin.set_fact:
    deploy_timestamp: "{{ now(utc=true).isoformat() }}Z"
  run_once: true
  delegate_to: localhost

- name: Make a release of the main branch
  stagecraft.webapp.release:
    path: /srv/shop/prod
    repo: https://github.com/example/shop.git
    version: main
    timestamp: "{{ deploy_timestamp }}"
    owner: shop-prod
    shared_dirs: [media]

- name: Make a release of a tag from a private repository over SSH
  stagecraft.webapp.release:
    path: /srv/shop/prod
    repo: git@github.com:example/shop.git
    version: v1.4.2
    timestamp: "{{ deploy_timestamp }}"
    ssh_key: /etc/stagecraft/shop-prod/deploy_key
    known_hosts: /etc/stagecraft/shop-prod/known_hosts
"""

RETURN = r"""
release_id:
  description: The release to activate (a reused one keeps its id). Empty in check mode when the commit is not known yet.
  returned: always
  type: str
  sample: 20261122T190507Z-1a2b3c4
release_path:
  description: Its directory.
  returned: always
  type: str
  sample: /srv/shop/prod/releases/20261122T190507Z-1a2b3c4
commit:
  description: The commit O(version) resolves to (in check mode as the remote answers, when it is a branch or tag).
  returned: always
  type: str
  sample: 1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d
kind:
  description: What O(version) named, C(branch), C(tag) or C(commit).
  returned: always
  type: str
  sample: branch
created:
  description: Whether a new release directory was made.
  returned: always
  type: bool
fetched:
  description: Whether the mirror was created or got new refs.
  returned: always
  type: bool
previous_release_id:
  description: The release C(current) points to, if any.
  returned: always
  type: str
  sample: 20261120T101010Z-0f0e0d0
previous_commit:
  description: Its commit, if known.
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.stagecraft.webapp.plugins.module_utils._steps import RELEASE_RULES, RELEASE_SPEC, release, run_as_module


def main():
    module = AnsibleModule(argument_spec=dict(path=dict(type="path", required=True), **RELEASE_SPEC), supports_check_mode=True, **RELEASE_RULES)
    run_as_module(module, release)


if __name__ == "__main__":
    main()

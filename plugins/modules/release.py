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
options:
  repo:
    description:
      - The app's git repository URL (C(https://), C(ssh://), C(git@host:path) or a path on the host).
      - Never put credentials in the URL; use O(token) or O(ssh_key).
    type: str
    required: true
  version:
    description: Branch, tag, or full or short (7 or more hex digits) commit id to deploy.
    type: str
    default: main
  timestamp:
    description:
      - The time that names a new release, C(<yyyymmddTHHMMSSZ>-<short commit>). Compute it once per run on the
        controller and give every host the same value, so all hosts and batches share the release id.
      - A timezone-aware ISO 8601 time, epoch seconds, or the C(yyyymmddTHHMMSSZ) form.
    type: str
    required: true
  owner:
    description: User that owns a new release tree (the app's user, who builds in it). Default is the module's user.
    type: str
  group:
    description: Group of a new release tree. Default is the primary group of O(owner).
    type: str
  shared_dirs:
    description:
      - Directories of the release replaced by links into C(<path>/shared/) (made there, owned by O(owner), when missing).
      - Paths relative to the release, such as C(media) or C(var/uploads).
    type: list
    elements: str
    default: []
  shared_files:
    description: Files of the release replaced by links into C(<path>/shared/); they must exist there already.
    type: list
    elements: str
    default: []
  ssh_key:
    description: Private deploy key on the host for an SSH URL; mode 0600 or narrower. Needs O(known_hosts).
    type: path
  known_hosts:
    description: known_hosts file on the host with the git server's key; host keys are always checked.
    type: path
  token:
    description: Access token for an C(https://) URL. Sent through git's environment only, never logged nor stored.
    type: str
  token_user:
    description: User name that goes with O(token).
    type: str
    default: x-access-token
notes:
  - Submodules are not included (C(git archive) leaves them out).
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

import grp
import os
import pwd

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.stagecraft.webapp.plugins.module_utils._commands import module_run_command
from ansible_collections.stagecraft.webapp.plugins.module_utils._errors import DeployError, run_module
from ansible_collections.stagecraft.webapp.plugins.module_utils._release import (
    GitAuth, GitMirror, chown_tree, create_release, find_release, read_marker, release_id, shared_links)
from ansible_collections.stagecraft.webapp.plugins.module_utils._releases import current_release


def owner_ids(owner, group):
    if not owner:
        return None
    try:
        entry = pwd.getpwnam(owner)
        gid = grp.getgrnam(group).gr_gid if group else entry.pw_gid
    except KeyError as exc:
        raise DeployError("owner or group does not exist on the host: {0}".format(exc), details={"owner": owner, "group": group})
    return entry.pw_uid, gid


def check_mode_answer(mirror, version):
    """The commit the version names without changing anything: from the mirror when it is current, else from the remote."""
    if mirror.exists() and not mirror.needs_fetch(version):
        return mirror.resolve(version).commit, False
    return mirror.resolve_remote(version), True


def run(module):
    result = make_release(module)
    result["diff"] = {
        "before": {"release": result["previous_release_id"], "commit": result["previous_commit"]},
        "after": {"release": result["release_id"], "commit": result["commit"]},
    }
    return result


def make_release(module):
    params = module.params
    base = params["path"]
    releases_dir, shared_dir = os.path.join(base, "releases"), os.path.join(base, "shared")
    auth = GitAuth(ssh_key=params["ssh_key"], known_hosts=params["known_hosts"], token=params["token"], token_user=params["token_user"])
    mirror = GitMirror(os.path.join(base, "repo.git"), params["repo"], run_command=module_run_command(module), auth=auth)
    ids = owner_ids(params["owner"], params["group"])
    previous_id = current_release(os.path.join(base, "current"), releases_dir)
    previous_commit = (read_marker(os.path.join(releases_dir, previous_id)) or {}).get("commit") if previous_id else None
    result = {"previous_release_id": previous_id or "", "previous_commit": previous_commit or ""}

    if module.check_mode:
        commit, fetched = check_mode_answer(mirror, params["version"])
        if commit is None and not fetched:
            raise DeployError("ref {0!r} is not a branch, tag or commit of {1}".format(params["version"], params["repo"]))
        existing = find_release(releases_dir, commit) if commit else None
        new_id = release_id(commit, params["timestamp"]) if commit and not existing else (existing or "")
        result.update(release_id=new_id, release_path=os.path.join(releases_dir, new_id) if new_id else "", commit=commit or "",
                      kind="", created=not existing, fetched=fetched, changed=fetched or not existing)
        return result

    fetched = mirror.fetch() if mirror.needs_fetch(params["version"]) else False
    resolved = mirror.resolve(params["version"])
    new_id = release_id(resolved.commit, params["timestamp"])

    def prepare(staging):
        with open(os.path.join(staging, "REVISION"), "w") as handle:
            handle.write(resolved.commit + "\n")
        made = shared_links(staging, os.path.join(releases_dir, new_id), shared_dir, params["shared_dirs"], params["shared_files"])
        if ids:
            chown_tree(staging, *ids)
            for directory in made:
                os.chown(directory, *ids)

    made = create_release(mirror, releases_dir, resolved, new_id, prepare=prepare)
    result.update(release_id=made.release_id, release_path=made.path, commit=resolved.commit, kind=resolved.kind, created=made.changed,
                  fetched=fetched, changed=fetched or made.changed)
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            repo=dict(type="str", required=True),
            version=dict(type="str", default="main"),
            timestamp=dict(type="str", required=True),
            owner=dict(type="str"),
            group=dict(type="str"),
            shared_dirs=dict(type="list", elements="str", default=[]),
            shared_files=dict(type="list", elements="str", default=[]),
            ssh_key=dict(type="path"),
            known_hosts=dict(type="path"),
            token=dict(type="str", no_log=True),
            token_user=dict(type="str", default="x-access-token", no_log=False),
        ),
        mutually_exclusive=[("ssh_key", "token")],
        required_by={"ssh_key": "known_hosts"},
        supports_check_mode=True,
    )
    run_module(module, run)


if __name__ == "__main__":
    main()

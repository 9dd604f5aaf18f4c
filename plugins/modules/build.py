#!/usr/bin/python
# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

from __future__ import annotations

DOCUMENTATION = r"""
module: build
short_description: Build a release, reusing the virtual environment of every release with the same dependencies
version_added: 0.1.0
description:
  - Gives the release a virtual environment through a relative link C(.venv -> ../../venvs/<hash>). The hash covers the
    Python version, O(pip_args) and the content of every dependency file (those in O(requirements) and the files they
    include with C(-r) or C(-c)), so releases whose dependencies hash the same share one environment and a code-only
    deploy installs nothing.
  - A new environment is built in place as O(user) (the app's user, never root), with pip's cache in
    C(<path>/cache/pip); it counts only once complete, and a half-built one is built again.
  - Optionally runs C(npm ci) and C(npm run <script>) in a frontend folder of the release, with npm's cache in
    C(<path>/cache/npm); done again only for a new release or a changed C(package-lock.json).
  - Runs the O(hooks) C(before_build) and C(after_build) in the release as O(user), with the app's environment file
    loaded and the environment's C(bin/) first on C(PATH) (Django's C(collectstatic) is an C(after_build) hook).
  - A failed step names itself and shows the tail of its output; the live release is never touched.
  - Does nothing for a release that is built already.
author: Stagecraft maintainers (@stagecraft)
extends_documentation_fragment:
  - stagecraft.webapp.deploy
  - stagecraft.webapp.deploy.attributes
options:
  release_id:
    description: The release to build, as M(stagecraft.webapp.release) returned it.
    type: str
    required: true
  user:
    description: The app's user, who runs every step. Default is the module's user.
    type: str
  env_file:
    description: The app's environment file (systemd format), loaded for the hooks.
    type: path
  python:
    description: Interpreter that creates the virtual environments.
    type: path
    default: /usr/bin/python3
  requirements:
    description:
      - Dependency files relative to the release, installed with C(pip install --requirement). A C(pyproject.toml) listed
        here contributes its C([project].dependencies); the project itself is not installed into the shared environment.
    type: list
    elements: str
    default: [requirements.txt]
  pip_args:
    description: Further arguments for C(pip install), such as C(--only-binary=:all:). They are part of the hash.
    type: list
    elements: str
    default: []
  pip_env:
    description: Environment for pip, such as C(PIP_INDEX_URL) or C(PIP_CERT) for a proxy's CA bundle.
    type: dict
    default: {}
  npm_dir:
    description: Frontend folder of the release with a C(package-lock.json). Empty means no npm build.
    type: str
    default: ""
  npm_script:
    description: The npm script that builds the frontend.
    type: str
    default: build
  hooks:
    description:
      - Shell commands per phase; this module runs C(before_build) and C(after_build), M(stagecraft.webapp.activate) the
        others. Each runs in the release as O(user) through C(/bin/sh -c) and must exit 0.
    type: dict
    default: {}
    suboptions:
      before_build:
        description: Before the environment is made.
        type: list
        elements: str
        default: []
      after_build:
        description: After the environment and the npm build, for example C(python manage.py collectstatic --noinput).
        type: list
        elements: str
        default: []
      before_switch:
        description: Run by M(stagecraft.webapp.activate); listed here so one dict serves both modules.
        type: list
        elements: str
        default: []
      after_switch:
        description: Run by M(stagecraft.webapp.activate).
        type: list
        elements: str
        default: []
seealso:
  - module: stagecraft.webapp.release
  - module: stagecraft.webapp.activate
"""

EXAMPLES = r"""
- name: Build the release
  stagecraft.webapp.build:
    path: /srv/shop/prod
    release_id: "{{ release.release_id }}"
    user: shop-prod
    env_file: /etc/stagecraft/shop-prod/env
    hooks:
      after_build:
        - python manage.py collectstatic --noinput

- name: Build a release with a frontend, through a package index proxy
  stagecraft.webapp.build:
    path: /srv/shop/prod
    release_id: "{{ release.release_id }}"
    user: shop-prod
    npm_dir: frontend
    pip_env:
      PIP_INDEX_URL: https://pypi.internal.example/simple
"""

RETURN = r"""
venv:
  description: The release's virtual environment.
  returned: always
  type: str
  sample: /srv/shop/prod/venvs/3f2a9c0d1e4b5a69
venv_hash:
  description: The hash of its dependency set.
  returned: always
  type: str
  sample: 3f2a9c0d1e4b5a69
venv_built:
  description: Whether the environment was built now (false when an existing one was reused).
  returned: always
  type: bool
npm_built:
  description: Whether the npm build ran.
  returned: always
  type: bool
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.stagecraft.webapp.plugins.module_utils._build import Builder
from ansible_collections.stagecraft.webapp.plugins.module_utils._commands import Runner, module_run_command
from ansible_collections.stagecraft.webapp.plugins.module_utils._errors import DeployError, run_module
from ansible_collections.stagecraft.webapp.plugins.module_utils._hooks import HOOK_OPTIONS, Hooks


def run(module):
    params = module.params
    release_path = os.path.join(params["path"], "releases", params["release_id"])
    hooks = Hooks(Runner(module_run_command(module)), user=params["user"], env_file=params["env_file"], hooks=params["hooks"], home=params["path"])
    builder = Builder(params["path"], hooks, python=params["python"], requirements=params["requirements"], pip_args=params["pip_args"],
                      pip_env=params["pip_env"], npm_dir=params["npm_dir"] or None, npm_script=params["npm_script"])
    if not os.path.isdir(release_path):
        if module.check_mode:
            # The release step would make it in this run: everything would be built or linked.
            return {"changed": True, "venv": "", "venv_hash": "", "venv_built": True, "npm_built": bool(params["npm_dir"])}
        raise DeployError("release {0} does not exist in {1}".format(params["release_id"], params["path"]), details={"path": release_path})
    plan = builder.plan(release_path)
    if not module.check_mode:
        builder.build(release_path, plan)
    return {"changed": plan.changed, "venv": plan.venv_path, "venv_hash": plan.venv_hash, "venv_built": plan.build_venv,
            "npm_built": plan.build_npm, "diff": {"before": {}, "after": plan.as_dict()} if plan.changed else {}}


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            release_id=dict(type="str", required=True),
            user=dict(type="str"),
            env_file=dict(type="path"),
            python=dict(type="path", default="/usr/bin/python3"),
            requirements=dict(type="list", elements="str", default=["requirements.txt"]),
            pip_args=dict(type="list", elements="str", default=[]),
            pip_env=dict(type="dict", default={}),
            npm_dir=dict(type="str", default=""),
            npm_script=dict(type="str", default="build"),
            hooks=dict(type="dict", default={}, options=HOOK_OPTIONS),
        ),
        supports_check_mode=True,
    )
    run_module(module, run)


if __name__ == "__main__":
    main()

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
  - Optionally builds a frontend folder of the release with npm, with O(npm_env) and npm's cache in C(<path>/cache/npm).
    First it refuses, saying what to do, a host whose C(node --version) does not meet the frontend's C(engines.node)
    or its bundler's (read from C(package-lock.json)). C(npm ci) runs once per lockfile, its C(node_modules) kept in
    C(<path>/node_modules/<lockfile hash>/) and linked from each release with that lockfile; C(npm run <script>) runs
    for every new release.
  - Runs the O(hooks) C(before_build) and C(after_build) in the release as O(user), with the app's environment file
    loaded and the environment's C(bin/) first on C(PATH) (Django's C(collectstatic) is an C(after_build) hook).
  - A failed step names itself and shows its output's first error lines and its tail; the live release is never touched.
  - Does nothing for a release that is built already.
author: Stagecraft maintainers (@stagecraft)
extends_documentation_fragment:
  - stagecraft.webapp.deploy
  - stagecraft.webapp.deploy.attributes
  - stagecraft.webapp.deploy.app
  - stagecraft.webapp.deploy.build
options:
  release_id:
    description: The release to build, as M(stagecraft.webapp.release) returned it.
    type: str
    required: true
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

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.stagecraft.webapp.plugins.module_utils._steps import APP_SPEC, BUILD_SPEC, build, run_as_module


def main():
    module = AnsibleModule(argument_spec=dict(path=dict(type="path", required=True), release_id=dict(type="str", required=True), **APP_SPEC, **BUILD_SPEC),
                           supports_check_mode=True)
    run_as_module(module, build)


if __name__ == "__main__":
    main()

#!/usr/bin/python
# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

from __future__ import annotations

DOCUMENTATION = r"""
module: deploy_run
short_description: Run a one-off command in the serving release, as the app's user, with its environment and venv
version_added: 0.3.0
description:
  - Runs O(command) through C(/bin/sh -c), as written, in the release C(current) points at, as O(user), with the app's
    environment file loaded and the release's venv first on C(PATH); exactly what the deploy hooks get. For Django's
    C(createsuperuser --noinput), C(flask shell -c ...) or a data fix. C(playbooks/run.yml) is the way to call it.
  - Records the run in C(<path>/runs.jsonl), beside the deploy record, as one JSON line (who, command, release, commit,
    started, duration, exit status, job id), never its output.
  - Returns the command's output with every secret of the environment file replaced by C(********). A command that exits
    non-zero fails the task, with its output and RV(rc).
  - Check mode runs nothing and says in which release it would run.
author: Stagecraft maintainers (@stagecraft)
extends_documentation_fragment:
  - stagecraft.webapp.deploy
  - stagecraft.webapp.deploy.no_diff_attributes
options:
  command:
    description: The command, given to C(/bin/sh -c) untouched (no C(~) or C($VARIABLE) expanded before the shell sees it).
    type: str
    required: true
  user:
    description: The app's user, who runs the command. Default is the module's user.
    type: str
  env_file:
    description: The app's environment file (systemd format), loaded for the command; the values it names as secrets are hidden in the output.
    type: path
  who:
    description: Who runs the command, for the record.
    type: str
    default: unknown
  job_id:
    description: The AWX / Automation Controller job id, if any.
    type: str
seealso:
  - module: stagecraft.webapp.deploy
"""

EXAMPLES = r"""
- name: Create the first admin in the serving release
  stagecraft.webapp.deploy_run:
    path: /srv/shop/prod
    command: python manage.py createsuperuser --noinput --username admin --email admin@example.com
    user: shop-prod
    env_file: /etc/stagecraft/shop-prod/env
    who: alice
"""

RETURN = r"""
rc:
  description: The command's exit status; null in check mode.
  returned: always
  type: int
  sample: 0
stdout:
  description: What it printed on stdout, secrets hidden.
  returned: always
  type: str
stderr:
  description: What it printed on stderr, secrets hidden.
  returned: always
  type: str
release_id:
  description: The release it ran in (in check mode, would run in).
  returned: always
  type: str
  sample: 20261122T190507Z-1a2b3c4
release_path:
  description: That release's directory, the command's working directory.
  returned: always
  type: str
commit:
  description: The commit of RV(release_id).
  returned: always
  type: str
entry:
  description: The line written to C(runs.jsonl).
  returned: when the command ran
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.stagecraft.webapp.plugins.module_utils._oneoff import run_command_once
from ansible_collections.stagecraft.webapp.plugins.module_utils._steps import run_as_module


def main():
    module = AnsibleModule(
        argument_spec=dict(path=dict(type="path", required=True), command=dict(type="str", required=True), user=dict(type="str"),
                           env_file=dict(type="path"), who=dict(type="str", default="unknown"), job_id=dict(type="str")),
        supports_check_mode=True,
    )
    run_as_module(module, run_command_once)


if __name__ == "__main__":
    main()

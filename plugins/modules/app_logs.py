#!/usr/bin/python
# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

from __future__ import annotations

DOCUMENTATION = r"""
module: app_logs
short_description: Read an app's recent log lines - its service's, its deploy candidates', and log files such as nginx's
version_added: 0.3.0
description:
  - Reads the last O(lines) journal lines of C(<instance>.service) and of its deploy candidates C(<instance>@*.service),
    and the last O(lines) lines of each of O(files) that exists (nginx's access and error logs of the app's server block,
    gunicorn's log files when it writes files).
  - Every value the environment file names as a secret is replaced by C(********). Reads only; never changes anything.
  - C(playbooks/logs.yml) is the way to call it.
author: Stagecraft maintainers (@stagecraft)
extends_documentation_fragment:
  - stagecraft.webapp.deploy.no_diff_attributes
options:
  instance:
    description: The app's instance name, C(<app>-<env>), which names its units.
    type: str
    required: true
  files:
    description: Log files to read the end of; those that do not exist are left out.
    type: list
    elements: path
    default: []
  lines:
    description: How many lines of each source, the newest; at least 1.
    type: int
    default: 50
  env_file:
    description: The app's environment file; the values it names as secrets are hidden.
    type: path
seealso:
  - module: stagecraft.webapp.app_status
"""

EXAMPLES = r"""
- name: Read the last 100 lines of shop-prod's logs
  stagecraft.webapp.app_logs:
    instance: shop-prod
    lines: 100
    env_file: /etc/stagecraft/shop-prod/env
    files:
      - /var/log/nginx/shop-prod.access.log
      - /var/log/nginx/shop-prod.error.log
"""

RETURN = r"""
logs:
  description: Each source's lines, oldest first, by source (a unit, or a file's path).
  returned: always
  type: dict
  sample: {"shop-prod.service": ["2026-12-06T10:00:00+0000 host gunicorn[42]: [INFO] Booting worker with pid: 42"]}
shown:
  description: Every source's lines after a C(==> source <==) line, for a person to read.
  returned: always
  type: list
  elements: str
sources:
  description: The sources read, in order.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.stagecraft.webapp.plugins.module_utils._oneoff import recent_logs
from ansible_collections.stagecraft.webapp.plugins.module_utils._steps import run_as_module


def main():
    module = AnsibleModule(
        argument_spec=dict(instance=dict(type="str", required=True), files=dict(type="list", elements="path", default=[]),
                           lines=dict(type="int", default=50), env_file=dict(type="path")),
        supports_check_mode=True,
    )
    run_as_module(module, recent_logs)


if __name__ == "__main__":
    main()

#!/usr/bin/python
# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

from __future__ import annotations

DOCUMENTATION = r"""
module: host_records
short_description: Read what the collection's roles recorded on a host for every app, environment and tunnel
version_added: 0.1.0
description:
  - Reads, in one pass and changing nothing, the records the roles write for their other instances' preflight.
  - C(/etc/stagecraft/<app>-<env>/gunicorn.json), by the gunicorn role, says the port or socket an app listens on.
  - C(/etc/nginx/stagecraft/records/<app>-<env>.json), by the nginx role, says a server block's names and ports.
  - C(/etc/stagecraft/cloudflared/<name>.json), by the cloudflared role, says a connector's metrics port.
  - A directory that does not exist holds no records (a fresh host); a record that is not a JSON object fails,
    naming the file.
  - M(stagecraft.webapp.host_facts) reads the same and the facts the gunicorn role's defaults need; this module
    stays small (no fact collectors in its payload) for the per-push path.
author: Stagecraft maintainers (@stagecraft)
extends_documentation_fragment:
  - stagecraft.webapp.deploy.host_read
  - stagecraft.webapp.deploy.no_diff_attributes
"""

EXAMPLES = r"""
- name: Read what the roles recorded on this host
  stagecraft.webapp.host_records:
  register: host

- name: Show the ports other apps' gunicorn listen on
  ansible.builtin.debug:
    msg: "{{ host.records.gunicorn | selectattr('listen', 'equalto', 'tcp') | map(attribute='port') | list }}"
"""

RETURN = r"""
repository_problems:
  description: For each of O(repositories) on the host that is no git repository, why (it names the repository).
  returned: always
  type: list
  elements: str
  sample: ["/srv/git/shop.git is not a git repository on the host (it has neither HEAD nor .git): a path or file:// URL names a repository on the host itself"]
records:
  description:
    - The records by role (C(gunicorn), C(nginx), C(cloudflared)), each a list sorted by path; every record is the
      file's object with its C(path) on the host added.
  returned: always
  type: dict
  sample: {gunicorn: [{instance: shop-prod, listen: tcp, port: 8000, path: /etc/stagecraft/shop-prod/gunicorn.json}], nginx: [], cloudflared: []}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.stagecraft.webapp.plugins.module_utils._errors import run_module
from ansible_collections.stagecraft.webapp.plugins.module_utils._host_records import read_records
from ansible_collections.stagecraft.webapp.plugins.module_utils._repository import repository_problems


def run(module):
    return dict(records=read_records(), repository_problems=repository_problems(module.params["repositories"]), changed=False)


def main():
    module = AnsibleModule(argument_spec=dict(repositories=dict(type="list", elements="str", default=[])), supports_check_mode=True)
    run_module(module, run)


if __name__ == "__main__":
    main()

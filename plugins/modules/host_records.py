#!/usr/bin/python
# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

from __future__ import annotations

DOCUMENTATION = r"""
module: host_records
short_description: Read what the collection's roles recorded on a host for every app, environment and tunnel, and its CPUs and systemd
version_added: 0.1.0
description:
  - Reads, in one pass and changing nothing, the records the roles write for their other instances' preflight.
  - C(/etc/stagecraft/<app>-<env>/gunicorn.json), by the gunicorn role, says the port or socket an app listens on.
  - C(/etc/nginx/stagecraft/records/<app>-<env>.json), by the nginx role, says a server block's names and ports.
  - C(/etc/stagecraft/cloudflared/<name>.json), by the cloudflared role, says a connector's metrics port.
  - A directory that does not exist holds no records (a fresh host); a record that is not a JSON object fails,
    naming the file.
  - With O(facts), also sets the facts the gunicorn role's defaults read, gathered by the same code as
    M(ansible.builtin.setup)'s C(hardware) and C(systemd) subsets, so that no play needs a fact-gathering task of its
    own - C(processor_vcpus) (the default worker count) and C(systemd) (its version decides the restart back-off).
author: Stagecraft maintainers (@stagecraft)
options:
  facts:
    description: Also set the facts C(processor_vcpus) and C(systemd).
    type: bool
    default: false
extends_documentation_fragment:
  - stagecraft.webapp.deploy.no_diff_attributes
"""

EXAMPLES = r"""
- name: Read what the roles recorded on this host, its CPUs and systemd's version
  stagecraft.webapp.host_records:
    facts: true
  register: host

- name: Show the ports other apps' gunicorn listen on
  ansible.builtin.debug:
    msg: "{{ host.records.gunicorn | selectattr('listen', 'equalto', 'tcp') | map(attribute='port') | list }}"
"""

RETURN = r"""
records:
  description:
    - The records by role (C(gunicorn), C(nginx), C(cloudflared)), each a list sorted by path; every record is the
      file's object with its C(path) on the host added.
  returned: always
  type: dict
  sample: {gunicorn: [{instance: shop-prod, listen: tcp, port: 8000, path: /etc/stagecraft/shop-prod/gunicorn.json}], nginx: [], cloudflared: []}
ansible_facts:
  description: C(processor_vcpus), and C(systemd) (C(version), C(features)) where systemd manages the host.
  returned: with O(facts)
  type: dict
  sample: {processor_vcpus: 2, systemd: {version: 252, features: +PAM +AUDIT +SELINUX}}
"""

import platform

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.stagecraft.webapp.plugins.module_utils._errors import run_module
from ansible_collections.stagecraft.webapp.plugins.module_utils._host_records import read_records


def host_facts(module):
    """processor_vcpus and systemd, as ansible.builtin.setup gathers them (on Linux its architecture is the machine's)."""
    # Imported only when asked: the fact collectors' imports cost the host a few tenths of a second.
    from ansible.module_utils.facts.hardware.linux import LinuxHardware
    from ansible.module_utils.facts.system.systemd import SystemdFactCollector

    cpus = LinuxHardware(module).get_cpu_facts(collected_facts={"ansible_architecture": platform.machine()})
    facts = {"processor_vcpus": cpus["processor_vcpus"]} if "processor_vcpus" in cpus else {}
    facts.update(SystemdFactCollector().collect(module=module))
    return facts


def run(module):
    facts = dict(ansible_facts=host_facts(module)) if module.params["facts"] else {}
    return dict(records=read_records(), changed=False, **facts)


def main():
    module = AnsibleModule(argument_spec=dict(facts=dict(type="bool", default=False)), supports_check_mode=True)
    run_module(module, run)


if __name__ == "__main__":
    main()

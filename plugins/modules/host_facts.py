#!/usr/bin/python
# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

from __future__ import annotations

DOCUMENTATION = r"""
module: host_facts
short_description: Read what the roles recorded on a host, and the CPU and systemd facts the gunicorn role needs
version_added: 0.1.0
description:
  - Reads, changing nothing, what M(stagecraft.webapp.host_records) reads (the records of every app, environment and
    tunnel on the host) and sets the facts the gunicorn role's defaults read, so that no play needs a fact-gathering
    task of its own - C(processor_vcpus) (the default worker count) and C(systemd) (its version decides the restart
    back-off).
  - The facts come from the same code as M(ansible.builtin.setup)'s C(hardware) and C(systemd) subsets. That code
    doubles the module's payload, so the per-push path reads the records with M(stagecraft.webapp.host_records).
author: Stagecraft maintainers (@stagecraft)
extends_documentation_fragment:
  - stagecraft.webapp.deploy.host_read
  - stagecraft.webapp.deploy.no_diff_attributes
"""

EXAMPLES = r"""
- name: Read what the roles recorded on this host, its CPUs and systemd's version
  stagecraft.webapp.host_facts:
  register: host

- name: Show the default worker count
  ansible.builtin.debug:
    msg: "{{ ansible_facts['processor_vcpus'] * 2 + 1 }}"
"""

RETURN = r"""
repository_problems:
  description: As M(stagecraft.webapp.host_records) returns them.
  returned: always
  type: list
  elements: str
records:
  description: As M(stagecraft.webapp.host_records) returns them.
  returned: always
  type: dict
  sample: {gunicorn: [{instance: shop-prod, listen: tcp, port: 8000, path: /etc/stagecraft/shop-prod/gunicorn.json}], nginx: [], cloudflared: []}
ansible_facts:
  description: C(processor_vcpus), and C(systemd) (C(version), C(features)) where systemd manages the host.
  returned: always
  type: dict
  sample: {processor_vcpus: 2, systemd: {version: 252, features: +PAM +AUDIT +SELINUX}}
"""

import platform

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.facts.hardware.linux import LinuxHardware
from ansible.module_utils.facts.system.systemd import SystemdFactCollector

from ansible_collections.stagecraft.webapp.plugins.module_utils._errors import run_module
from ansible_collections.stagecraft.webapp.plugins.module_utils._host_records import read_records
from ansible_collections.stagecraft.webapp.plugins.module_utils._repository import repository_problems


def host_facts(module):
    """processor_vcpus and systemd, as ansible.builtin.setup gathers them (on Linux its architecture is the machine's)."""
    cpus = LinuxHardware(module).get_cpu_facts(collected_facts={"ansible_architecture": platform.machine()})
    facts = {"processor_vcpus": cpus["processor_vcpus"]} if "processor_vcpus" in cpus else {}
    facts.update(SystemdFactCollector().collect(module=module))
    return facts


def run(module):
    return dict(records=read_records(), repository_problems=repository_problems(module.params["repositories"]), ansible_facts=host_facts(module),
                changed=False)


def main():
    module = AnsibleModule(argument_spec=dict(repositories=dict(type="list", elements="str", default=[])), supports_check_mode=True)
    run_module(module, run)


if __name__ == "__main__":
    main()

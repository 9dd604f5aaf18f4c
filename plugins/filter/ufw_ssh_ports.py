# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

from __future__ import annotations

DOCUMENTATION = r"""
name: ufw_ssh_ports
short_description: The ports stagecraft.webapp.ufw keeps open for SSH, from what the host says
version_added: 0.1.0
author: Stagecraft maintainers
description:
  - The ports come from the host, not from C(ansible_port), which is the controller's end of the
    connection and behind a port forward (Docker's published ports, NAT, Vagrant's 2222->22, a
    bastion) is not the port sshd listens on.
  - C(ufw_ssh_port) when given; else the port the connection Ansible uses arrives on (the 4th
    field of C(SSH_CONNECTION) on the host) and every port sshd listens on (C(sshd -T)); 22 when
    neither is known (no SSH connection and no sshd).
options:
  _input:
    description:
      - C(ufw_ssh_port) (int or null), C(ufw_ssh_sources) (list), C(ssh_connection) (C(SSH_CONNECTION)
        as read on the host, empty without SSH) and C(sshd) (the result of C(sshd -T) with C(rc),
        C(stdout) and C(stderr); null when sshd is not installed).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: sshd listens on 22, Ansible came in through a port forward on 127.0.0.1:32770
  ansible.builtin.debug:
    msg: >-
      {{ {'ufw_ssh_port': none, 'ufw_ssh_sources': ['any'], 'ssh_connection': '172.17.0.1 40000 172.17.0.2 22',
          'sshd': {'rc': 0, 'stdout': 'port 22', 'stderr': ''}} | stagecraft.webapp.ufw_ssh_ports }}
  # [22]
"""

RETURN = r"""
_value:
  description: The ports, sorted.
  type: list
  elements: int
  sample: [22, 2200]
"""

from ansible_collections.stagecraft.webapp.plugins.module_utils._ufw_ssh import ssh_ports


class FilterModule:
    """Filters of stagecraft.webapp."""

    def filters(self):
        return {"ufw_ssh_ports": ssh_ports}

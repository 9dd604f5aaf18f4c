# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

from __future__ import annotations

DOCUMENTATION = r"""
name: ufw_ssh_problems
short_description: SSH settings of stagecraft.webapp.ufw that would lock people, or Ansible itself, out
version_added: 0.1.0
author: Stagecraft maintainers
description:
  - One message per problem, each naming the variable at fault; an empty list when the settings
    keep SSH reachable.
  - "Refused: C(ufw_ssh_port) outside 1-65535; an empty C(ufw_ssh_sources), or C(any) beside
    other sources; sources that leave out the address the connection Ansible uses comes from;
    C(ufw_ssh_port) other than the port that connection arrives on (the 4th field of
    C(SSH_CONNECTION) on the host); without C(ufw_ssh_port), an sshd whose ports C(sshd -T)
    cannot tell."
  - Without an SSH connection (docker, local) nothing about the connection is checked.
options:
  _input:
    description:
      - As for P(stagecraft.webapp.ufw_ssh_ports#filter).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Refuse SSH settings that would shut out this very connection, before anything changes
  ansible.builtin.assert:
    that: _problems | length == 0
    fail_msg: "{{ _problems | join('; ') }}"
    quiet: true
  vars:
    # As the host read them: SSH_CONNECTION of Ansible's session, `sshd -T` (registered).
    _problems: >-
      {{ {'ufw_ssh_port': ufw_ssh_port, 'ufw_ssh_sources': ufw_ssh_sources,
          'ssh_connection': ssh_connection_read.stdout, 'sshd': sshd_config_read}
         | stagecraft.webapp.ufw_ssh_problems }}
"""

RETURN = r"""
_value:
  description: One message per problem.
  type: list
  elements: string
  sample:
    - "ufw_ssh_port 2222 leaves out port 22, where Ansible's SSH connection from 203.0.113.7 arrives: its next connection
      would be refused; leave ufw_ssh_port unset (the ports sshd listens on and this connection's are then kept open) or make
      it 22"
"""

from ansible_collections.stagecraft.webapp.plugins.module_utils._ufw_ssh import ssh_problems


class FilterModule:
    """Filters of stagecraft.webapp."""

    def filters(self):
        return {"ufw_ssh_problems": ssh_problems}

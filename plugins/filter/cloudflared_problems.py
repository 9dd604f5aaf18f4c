# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

from __future__ import annotations

DOCUMENTATION = r"""
name: cloudflared_problems
short_description: The rules of stagecraft.webapp.cloudflared that its argument spec cannot express
version_added: 0.1.0
author: Stagecraft maintainers
description:
  - Checks the connector's name, metrics address and port (also against the other instances on the host),
    timers, version, install method and the file it installs, the mode against the secrets given, the
    account-wide cert.pem kept off the host, and in C(local) mode the tunnel ID, the credentials and the
    ingress rules (as C(cloudflared_ingress_problems) does).
  - Returns one message per problem, each naming the variable and saying what to do; an empty list when
    the settings are fine. No secret appears in a message.
positional: secrets, records, provided_is_file, cert_variables
options:
  _input:
    description: The role's variables by name (the role's C(_cloudflared_settings)).
    type: dict
    required: true
  secrets:
    description: What C(cloudflared_secrets) read from the token and the credentials.
    type: dict
    required: true
  records:
    description: The cloudflared records on the host (C(stagecraft.webapp.host_records)); this instance's own is left out.
    type: list
    elements: dict
    default: []
  provided_is_file:
    description: Whether the C(deb) or C(binary) file to install is a regular file on the controller.
    type: bool
    default: false
  cert_variables:
    description: Names of variables that look like the account-wide cert.pem (C(cloudflared_*cert*), C(cloudflared_*pem*)).
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
- name: Check the settings before anything changes
  ansible.builtin.assert:
    that: _problems | length == 0
    fail_msg: "{{ _problems | join('; ') }}"
    quiet: true
  vars:
    _problems: "{{ _cloudflared_settings | stagecraft.webapp.cloudflared_problems(_cloudflared_secrets, records.cloudflared, false, []) }}"
"""

RETURN = r"""
_value:
  description: One message per problem; empty when the settings are fine.
  type: list
  elements: string
  sample:
    - 'cloudflared_metrics_address "0.0.0.0" is not a loopback address: the metrics server also serves /debug/pprof, so it stays on 127.0.0.1 or ::1'
"""

from ansible_collections.stagecraft.webapp.plugins.module_utils._cloudflared_settings import settings_problems


class FilterModule:
    """Filters of stagecraft.webapp."""

    def filters(self):
        return {"cloudflared_problems": settings_problems}

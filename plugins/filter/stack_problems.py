# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

from __future__ import annotations

DOCUMENTATION = r"""
name: stack_problems
short_description: Check a composition of stagecraft.webapp (dev, prod, balanced) across its roles
version_added: 0.1.0
author: Stagecraft maintainers
description:
  - Checks what no single role can see and returns one message per problem; an empty list means
    the composition is fine.
  - "First the composition itself: it must be C(dev), C(prod) or C(balanced), the one of the
    playbook that was run, and C(stack_tunnel) only with C(prod). When that holds, its rules:
    C(prod) refuses debug settings, a self-signed certificate, plain HTTP without the tunnel,
    gunicorn on an address other than loopback, no HSTS header, no socket activation and the dev
    branch, unless C(stack_prod_allow) names the exception (each message names it); behind the
    tunnel, a firewall profile other than C(tunnel), ACME, and (C(cloudflared_mode=local)) an
    ingress rule for nginx's names whose HTTP(S) service is not where nginx listens. C(balanced) keeps prod's rules on
    debug settings, socket activation and the dev branch, and needs gunicorn on TCP at an address
    the balancers reach and lets them in, C(deploy_balancers), C(deploy_balancer_member), no
    maintenance page, and with the firewall the C(internal) profile opening gunicorn's port.
    C(dev) must be reachable from allowed networks only."
options:
  _input:
    description:
      - The composed roles' settings (as P(stagecraft.webapp.stack_settings#filter) returns them),
        the stack role's own (C(stack_env), C(stack_composition), C(stack_tunnel),
        C(stack_firewall), C(stack_prod_allow), C(stack_dev_branch), C(stack_playbook_composition)),
        C(inventory_hostname), and C(_stack_composition) and C(_stack_instance) as the role derives them.
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Check the composition and its rules
  ansible.builtin.assert:
    that: _problems | length == 0
    fail_msg: "{{ _problems | join('; ') }}"
    quiet: true
  vars:
    _problems: "{{ stack_settings | stagecraft.webapp.stack_problems }}"
"""

RETURN = r"""
_value:
  description: One message per problem; empty when the composition is fine.
  type: list
  elements: string
  sample:
    - "nginx_tls_mode is selfsigned, which browsers warn about; use provided, acme or cloudflare_origin [stack_prod_allow: selfsigned]"
"""

from ansible_collections.stagecraft.webapp.plugins.module_utils._stack_settings import stack_problems


class FilterModule:
    """Filters of stagecraft.webapp."""

    def filters(self):
        return {"stack_problems": stack_problems}

# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

from __future__ import annotations

DOCUMENTATION = r"""
name: cloudflared_ingress_problems
short_description: Check a Cloudflare Tunnel's ingress rules on the controller, as cloudflared would
version_added: 0.1.0
author: Stagecraft maintainers
description:
  - Checks the C(ingress) rules of a locally managed Cloudflare Tunnel, and optionally the
    C(originRequest) defaults, against the rules of cloudflared's own ingress parser, so that
    a bad rule fails a play before anything reaches a host.
  - Returns a list of messages, one per problem, each naming the rule by its number and its
    hostname. Rules are numbered from 1, as C(cloudflared tunnel ingress validate) numbers them
    (C(cloudflared tunnel ingress rule URL) counts from 0). An empty list means the rules are fine.
  - "What is checked: there is at least one rule; the last rule, and only the last one, matches
    every request (no C(hostname) or C(*), and no C(path)); a hostname has no
    port, at most one C(*) and only as the whole first label (C(*.example.com)); a path is a
    regular expression in Go's RE2 syntax (regexp/syntax, checked by a parser of that grammar, not
    by Python's C(re)); a service is a URL with a scheme and a host and no path
    (C(http), C(https), C(ws), C(wss), C(tcp), C(ssh), C(rdp), C(smb)), or C(unix:/path),
    C(unix+tls:/path), C(http_status:NNN), C(hello_world) (or C(hello-world)), C(bastion) or
    C(socks-proxy), and may be left out only in C(bastionMode); C(originRequest) has only keys
    cloudflared knows, each of its type (durations as strings such as C(30s); C(ipRules) prefixes
    in CIDR form)."
  - "Stricter than cloudflared where it would accept what can only be a mistake, and the message
    says so: unknown keys (cloudflared ignores them), a rule that never matches because an earlier
    rule takes all its requests, a wildcard that is not a whole label, a hostname that is an IPv6
    address, ends with a dot or is no DNS name (a label over 63 characters), an unknown URL scheme
    (cloudflared proxies it as raw TCP), a relative socket or CA path, a status outside 100-599,
    credentials, a query or a fragment in a service URL, C(access.required) without C(teamName)."
positional: origin_request
options:
  _input:
    description:
      - The rules, as they go under C(ingress:) in cloudflared's config.yml.
    type: list
    elements: dict
    required: true
  origin_request:
    description:
      - The top-level C(originRequest) defaults of the same config.yml, checked too. Their
        C(bastionMode) applies to every rule.
    type: dict
    default: {}
seealso:
  - name: cloudflared configuration file
    description: Ingress rules of a locally managed tunnel.
    link: https://developers.cloudflare.com/tunnel/advanced/local-management/configuration-file/
  - name: Origin parameters
    description: The originRequest settings.
    link: https://developers.cloudflare.com/tunnel/reference/origin-parameters/
"""

EXAMPLES = r"""
- name: Refuse bad ingress rules before anything changes
  ansible.builtin.assert:
    that: _problems | length == 0
    fail_msg: "{{ _problems | join('; ') }}"
    quiet: true
  vars:
    _problems: "{{ cloudflared_ingress | stagecraft.webapp.cloudflared_ingress_problems(cloudflared_origin_request) }}"

- name: A rule after the catch-all
  ansible.builtin.debug:
    msg: >-
      {{ [{'service': 'http://127.0.0.1:8000'},
          {'hostname': 'app.example.com', 'service': 'http://127.0.0.1:8001'}]
         | stagecraft.webapp.cloudflared_ingress_problems }}
  # ['ingress rule 1: matches every request (no hostname, or "*", and no path), so rule 2 after it
  #   would never be used; only the last rule may be a catch-all',
  #  'ingress rule 2 (app.example.com): the last rule must match every request ...']
"""

RETURN = r"""
_value:
  description:
    - One message per problem, in rule order; empty when cloudflared would accept the rules.
  type: list
  elements: string
  sample:
    - 'ingress rule 2 (api.example.com): path: "*/v1" is not a valid regular expression in Go''s RE2 syntax, which cloudflared uses:
      missing argument to repetition operator `*`'
"""

from ansible_collections.stagecraft.webapp.plugins.module_utils._ingress import ingress_problems


def cloudflared_ingress_problems(rules, origin_request=None):
    """The problems of `rules` and the `origin_request` defaults, as a list of messages."""
    return ingress_problems(rules, origin_request)


class FilterModule:
    """Filters of stagecraft.webapp."""

    def filters(self):
        return {"cloudflared_ingress_problems": cloudflared_ingress_problems}

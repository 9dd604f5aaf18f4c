# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

from __future__ import annotations

DOCUMENTATION = r"""
name: nginx_listen_prefixes
short_description: The addresses nginx's listen directives name for one or more server blocks
version_added: 0.1.0
author: Stagecraft maintainers
description:
  - Turns the C(nginx_listen_addresses) of stagecraft.webapp.nginx for one or more server blocks into
    what goes before the port in nginx's C(listen) directives, once each. An empty list means every address
    (C(listen 80) and C(listen [::]:80)) and the loopback addresses by name (C(listen 127.0.0.1:80) and
    C(listen [::1]:80)), as nginx hands a connection to a specific address only to the server blocks that
    name it, so that a server block on every address still answers on 127.0.0.1 beside one behind a tunnel. The
    default server gets the union over every instance on the host.
options:
  _input:
    description:
      - A list of address lists, one per server block.
    type: list
    elements: list
    required: true
"""

EXAMPLES = r"""
- name: A public instance and one behind a tunnel on the same host
  ansible.builtin.debug:
    msg: "{{ [[], ['127.0.0.1']] | stagecraft.webapp.nginx_listen_prefixes }}"
  # ['', '[::]:', '127.0.0.1:', '[::1]:']
"""

RETURN = r"""
_value:
  description:
    - Every address first (C("") and C("[::]:")) when any list is empty, then the specific addresses (with
      C(127.0.0.1) and C(::1) when any list is empty), IPv4 before IPv6, each followed by C(:) (IPv6 in brackets).
  type: list
  elements: str
  sample: ["127.0.0.1:"]
"""

from ansible_collections.stagecraft.webapp.plugins.module_utils._nginx_settings import listen_prefixes


def nginx_listen_prefixes(address_lists):
    """See DOCUMENTATION."""
    return listen_prefixes(address_lists)


class FilterModule:
    """Filters of stagecraft.webapp."""

    def filters(self):
        return {"nginx_listen_prefixes": nginx_listen_prefixes}

# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

from __future__ import annotations

DOCUMENTATION = r"""
name: nginx_problems
short_description: Check the settings of stagecraft.webapp.nginx before anything changes on a host
version_added: 0.1.0
author: Stagecraft maintainers
description:
  - Checks the settings of stagecraft.webapp.nginx that its argument spec cannot, together with
    what the role's preflight read (other server blocks on the host, a provided certificate and
    key, the static directories on the host, the gunicorn role's record), and returns one message
    per problem, each naming the variable at fault. An empty list means they are fine.
  - "Refused: an app name or environment that cannot be part of a file name; no server name, one
    that is no host name, a wildcard with acme, a name listed twice or served by another app on
    the same port; ports outside 1-65535, or the same port for http and https; for acme no
    contact address, terms not agreed, a directory that is no URL, a relative CA bundle; for
    provided and cloudflare_origin a missing, unreadable or expired certificate, or a key that is
    missing, unreadable or not the certificate's; a body size nginx would not take; allowed
    addresses that are no address or network; the problems of
    P(stagecraft.webapp.nginx_location_problems#filter); upstream servers that are not
    C(HOST:PORT), listed twice or given with C(nginx_upstream); no upstream for a proxy location."
options:
  _input:
    description:
      - The role's variables by name (C(nginx_app_name), C(nginx_server_names), ...) and the names
        the role derives from them with C(nginx_layout) (C(instance), C(app_base), C(gunicorn_record),
        C(tls), C(ports), C(proxies)), as the role's C(_nginx_settings) combined with its C(_nginx_layout) hold them.
    type: dict
    required: true
  others:
    description: The other server blocks' records on the host (C(instance), C(server_names), C(ports)).
    type: list
    elements: dict
    default: []
  certificate:
    description: What community.crypto.x509_certificate_info answered for C(nginx_tls_certificate).
    type: dict
  private_key:
    description: What community.crypto.openssl_privatekey_info answered for C(nginx_tls_private_key).
    type: dict
  resolved:
    description:
      - The static directories, the app's base and its C(current) and C(shared), mapped to what
        C(realpath) made of them on the host.
    type: dict
  gunicorn:
    description: The gunicorn role's record of this instance; empty when there is none.
    type: dict
"""

EXAMPLES = r"""
- name: Check names, ports, TLS settings, locations and the upstream
  ansible.builtin.assert:
    that: _problems | length == 0
    fail_msg: "{{ _problems | join('; ') }}"
    quiet: true
  vars:
    _problems: >-
      {{ _nginx_settings | combine(_nginx_layout)
         | stagecraft.webapp.nginx_problems(other_records, cert_info, key_info, realpaths, gunicorn_record) }}
"""

RETURN = r"""
_value:
  description: One message per problem; empty when the settings are fine.
  type: list
  elements: string
  sample:
    - "nginx_server_names: www.shop.test on port 80, 443 is already served by shop-prod on this host; choose another name or port"
"""

from ansible_collections.stagecraft.webapp.plugins.module_utils._nginx_settings import settings_problems


class FilterModule:
    """Filters of stagecraft.webapp."""

    def filters(self):
        return {"nginx_problems": settings_problems}

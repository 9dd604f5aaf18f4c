# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

from __future__ import annotations

DOCUMENTATION = r"""
name: nginx_selfsigned_current
short_description: Whether a self-signed certificate and its key are as stagecraft.webapp.nginx wants them
version_added: 0.1.0
author: Stagecraft maintainers
description:
  - Compares what C(community.crypto.x509_certificate_info) and C(community.crypto.openssl_privatekey_info) read on
    the host with what the role wants, so that a run which finds them as wanted neither signs nor writes anything.
  - True when the certificate is the key's, for the server names (the first as its common name, all as DNS names),
    and the key has the wanted type, curve and size. False when either could not be read.
positional: key, server_names, wanted
options:
  _input:
    description: What C(community.crypto.x509_certificate_info) answered for the certificate.
    type: dict
    required: true
  key:
    description: What C(community.crypto.openssl_privatekey_info) answered for its key (a skipped result when it did not run).
    type: dict
    required: true
  server_names:
    description: The names the certificate is for (C(nginx_server_names)).
    type: list
    elements: str
    required: true
  wanted:
    description: The key wanted, C(type), C(curve) and C(size) (the role's C(_nginx_key_options) entry); a null curve or size is not compared.
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Note whether the self-signed certificate and its key are as wanted
  ansible.builtin.set_fact:
    _current: "{{ cert_info | stagecraft.webapp.nginx_selfsigned_current(key_info, ['shop.test'], {'type': 'ECC', 'curve': 'secp256r1', 'size': none}) }}"
"""

RETURN = r"""
_value:
  description: Whether the certificate and its key are as wanted.
  type: bool
"""

from ansible_collections.stagecraft.webapp.plugins.module_utils._nginx_layout import selfsigned_current


class FilterModule:
    """Filters of stagecraft.webapp."""

    def filters(self):
        return {"nginx_selfsigned_current": selfsigned_current}

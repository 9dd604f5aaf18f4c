# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

from __future__ import annotations

DOCUMENTATION = r"""
name: nginx_layout
short_description: The names, paths, locations, headers and record of a stagecraft.webapp.nginx instance
version_added: 0.1.0
author: Stagecraft maintainers
description:
  - Derives from the nginx role's variables, in one place, what its tasks and templates use.
positional: gunicorn
options:
  _input:
    description: The role's variables by name (the role's C(_nginx_settings)).
    type: dict
    required: true
  gunicorn:
    description: The gunicorn role's record of this instance (the upstream follows from it); empty when there is none.
    type: dict
    default: {}
"""

EXAMPLES = r"""
- name: Where the server block goes
  ansible.builtin.debug:
    msg: "{{ (_nginx_settings | stagecraft.webapp.nginx_layout).site }}"
  # /etc/nginx/stagecraft/sites/shop-prod.conf
"""

RETURN = r"""
_value:
  description:
    - C(instance) (<app>-<env>), C(id) (the same for nginx identifiers), C(dir), C(sites_dir), C(site), C(record), C(tls),
      C(tls_dir), C(key), C(fullchain), C(client_ca), C(acme_dir), C(acme_webroot), C(service_dropin), C(maintenance_file),
      C(upstreams_dir), C(gunicorn_record), C(app_base), C(current), C(log_prefix), C(ports), C(packages), C(host_dirs),
      C(instance_dirs), C(locations) (every field filled in), C(location_dirs), C(proxies), C(headers), C(media_inline),
      C(acme_spec), C(upstream_server), C(selfsigned_files), C(record_fields) (what the server block claims).
  type: dict
"""

from ansible_collections.stagecraft.webapp.plugins.module_utils._nginx_layout import layout


class FilterModule:
    """Filters of stagecraft.webapp."""

    def filters(self):
        return {"nginx_layout": layout}

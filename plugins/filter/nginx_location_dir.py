# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

from __future__ import annotations

DOCUMENTATION = r"""
name: nginx_location_dir
short_description: Where a static, SPA or media location of the nginx role serves files from
version_added: 0.1.0
author: Stagecraft maintainers
description:
  - Writes out the C(dir) of one of stagecraft.webapp.nginx's locations as an absolute directory
    (relative to C(<app_base>/current)), without following symlinks, and names the release or
    shared root it lies in. C(stagecraft.webapp.nginx_location_problems) refuses a directory
    outside them; the server block checks symlinks below that root on every request.
  - A C(media) location serves C(<app_base>/media) (the app's uploads), confined from C(<app_base>) on.
positional: app_base, kind
options:
  _input:
    description:
      - The location's C(dir).
    type: str
    required: true
  app_base:
    description:
      - The app's directory on the host, C(<nginx_root>/<app>/<env>).
    type: str
    required: true
  kind:
    description:
      - The location's C(type).
    type: str
    default: static
    choices: [static, spa, media]
"""

EXAMPLES = r"""
- name: The directory of a Django app's static files
  ansible.builtin.debug:
    msg: "{{ 'staticfiles' | stagecraft.webapp.nginx_location_dir('/srv/shop/prod') }}"
  # {'root': '/srv/shop/prod/current/staticfiles/', 'confine': '/srv/shop/prod/current'}
"""

RETURN = r"""
_value:
  description:
    - C(root) is the absolute directory ending in one C(/), as nginx's C(alias) gets it; C(confine)
      is C(<app_base>/current) or C(<app_base>/shared) when it lies below one, else empty
      (C(<app_base>) for a media location).
  type: dict
  sample: {root: /srv/shop/prod/current/staticfiles/, confine: /srv/shop/prod/current}
"""

from ansible_collections.stagecraft.webapp.plugins.module_utils._locations import location_dir


def nginx_location_dir(directory, app_base, kind="static"):
    """Where a location of type `kind` with `directory` serves from for the app at `app_base`: {"root", "confine"}."""
    return location_dir(app_base, directory, kind)


class FilterModule:
    """Filters of stagecraft.webapp."""

    def filters(self):
        return {"nginx_location_dir": nginx_location_dir}

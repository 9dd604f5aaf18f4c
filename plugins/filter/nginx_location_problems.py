# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

from __future__ import annotations

DOCUMENTATION = r"""
name: nginx_location_problems
short_description: Check the nginx role's locations, above all where static and SPA locations serve files from
version_added: 0.1.0
author: Stagecraft maintainers
description:
  - Checks the C(nginx_locations) of stagecraft.webapp.nginx and returns one message per problem,
    each naming the entry and field (C(nginx_locations[2].dir)). An empty list means the locations
    are fine.
  - "A path starts with C(/) and holds no spaces, braces or C(;); a static, SPA or media path ends with
    C(/) (its alias always does; without it C(<path>../) would reach the parent directory); no
    path appears twice; a rate is C(<n>r/s) or C(<n>r/m)."
  - "A static or SPA location has a C(dir) that holds no C(..), no whitespace, quotes, braces, C($)
    or C(;), and lies strictly inside the current release (C(<app_base>/current), where a relative
    C(dir) points) or the shared directory (C(<app_base>/shared)). Where the host resolved it
    (O(resolved)), it still lies inside them with every symlink followed."
  - "A media location takes no C(dir): it serves C(<app_base>/media), which, where the host resolved
    it, must still be the media directory of C(<app_base>) with every symlink followed."
positional: app_base, resolved
options:
  _input:
    description:
      - The locations, as in C(nginx_locations).
    type: list
    elements: dict
    required: true
  app_base:
    description:
      - The app's directory on the host, C(<nginx_root>/<app>/<env>).
    type: str
    required: true
  resolved:
    description:
      - What the host's C(realpath) answered for each location directory (as
        C(stagecraft.webapp.nginx_location_dir) writes it out, without the trailing C(/)) and for
        C(<app_base>/current) and C(<app_base>/shared) (and C(<app_base>/media) for a media location).
        Directories left out are checked as written.
    type: dict
    default: {}
"""

EXAMPLES = r"""
- name: A static location that climbs out of the release
  ansible.builtin.debug:
    msg: "{{ [{'path': '/files/', 'type': 'static', 'dir': '../../../../../etc'}] | stagecraft.webapp.nginx_location_problems('/srv/shop/prod') }}"
  # ['nginx_locations[0].dir "../../../../../etc" climbs with ".."; name a directory inside the release or /srv/shop/prod/shared']
"""

RETURN = r"""
_value:
  description:
    - One message per problem, in the order of the locations; empty when they are fine.
  type: list
  elements: string
  sample:
    - 'nginx_locations[0].dir "/etc" is outside this app''s release and shared directories: ...'
"""

from ansible_collections.stagecraft.webapp.plugins.module_utils._locations import location_problems


def nginx_location_problems(locations, app_base, resolved=None):
    """The problems of `locations` for the app at `app_base`, as a list of messages."""
    return location_problems(locations, app_base, resolved)


class FilterModule:
    """Filters of stagecraft.webapp."""

    def filters(self):
        return {"nginx_location_problems": nginx_location_problems}

# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

from __future__ import annotations

DOCUMENTATION = r"""
name: deploy_served
short_description: The line stagecraft.webapp.deploy says on what serves after a deploy
version_added: 0.1.0
author: Stagecraft maintainers
description:
  - "Says which release serves (or would), its commit and ref, whether it changed and from which release, and what the
    deploy module did besides: once-hooks, the restart of a service that did not answer its health check, a data snapshot,
    a data restore."
positional: layout, check_mode
options:
  _input:
    description: The result of the stagecraft.webapp.deploy task that switched (or would switch) the release.
    type: dict
    required: true
  layout:
    description: The deploy role's layout (filter C(stagecraft.webapp.deploy_layout)).
    type: dict
    required: true
  check_mode:
    description: Whether the play runs in check mode.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Say what serves
  ansible.builtin.debug:
    msg: "{{ __deploy_built | stagecraft.webapp.deploy_served(_deploy_layout, ansible_check_mode) }}"
  # shop-prod: serves release 20261122T190507Z (commit 1a2b3c4d5e6f, main); changed from 20261121T080000Z
"""

RETURN = r"""
_value:
  description: The line.
  type: str
"""

from ansible_collections.stagecraft.webapp.plugins.module_utils._deploy_report import served


class FilterModule:
    """Filters of stagecraft.webapp."""

    def filters(self):
        return {"deploy_served": served}

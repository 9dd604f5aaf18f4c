# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

from __future__ import annotations

DOCUMENTATION = r"""
name: deploy_failed
short_description: What stagecraft.webapp.deploy says when a deploy failed
version_added: 0.1.0
author: Stagecraft maintainers
description:
  - "Says at which task the deploy failed (not why: that task said it), whether the maintenance page stays on and, for a
    host taken out of its balancers, whether it is back in them: it is when what serves answered the balancers' health
    check."
positional: layout, drained, health
options:
  _input:
    description: The name of the task that failed.
    type: str
    required: true
  layout:
    description: The deploy role's layout (filter C(stagecraft.webapp.deploy_layout)).
    type: dict
    required: true
  drained:
    description: Whether the host was taken out of its balancers for its switch (not in check mode).
    type: bool
    default: false
  health:
    description: The result of the balancers' health check after the failure (M(ansible.builtin.uri)).
    type: dict
    default: {}
"""

EXAMPLES = r"""
- name: Fail with what went wrong
  ansible.builtin.fail:
    msg: "{{ ansible_failed_task.name | stagecraft.webapp.deploy_failed(_deploy_layout) }}"
  # Deploy of shop-prod failed at "Make and build the release" (its error is above).
"""

RETURN = r"""
_value:
  description: The message.
  type: str
"""

from ansible_collections.stagecraft.webapp.plugins.module_utils._deploy_report import failed


class FilterModule:
    """Filters of stagecraft.webapp."""

    def filters(self):
        return {"deploy_failed": failed}

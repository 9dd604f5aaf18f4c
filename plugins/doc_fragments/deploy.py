# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

from __future__ import annotations


class ModuleDocFragment:
    # The environment's directory, which every deploy module works in.
    DOCUMENTATION = r"""
options:
  path:
    description:
      - The directory of one app in one environment, C(<root>/<app>/<env>), for example C(/srv/shop/prod).
      - It holds C(repo.git), C(releases/), C(shared/), C(venvs/), the C(current) link, C(deploy.lock) and C(deploys.jsonl);
        see the collection's C(docs/deploy.md).
    type: path
    required: true
"""

    ATTRIBUTES = r"""
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
"""

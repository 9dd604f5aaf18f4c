# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The name an app's environment goes by on a host: its units, user, directories and records."""

from __future__ import annotations


def instance_name(app, env):
    """`<app>-<env>`, e.g. shop-prod."""
    return "{0}-{1}".format(app, env)

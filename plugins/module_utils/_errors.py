# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The one exception type of the deploy logic, and the one way a module turns it into fail_json."""

from __future__ import annotations


class DeployError(Exception):
    """A deploy step cannot go on. `message` is for a person; `details` (a dict) for fail_json."""

    def __init__(self, message, details=None):
        super().__init__(message)
        self.message = message
        self.details = dict(details or {})

    def __str__(self):
        return self.message


def run_module(module, run):
    """Exit `module` with the result dict of `run(module)`, or fail it with a DeployError's message and details."""
    try:
        result = run(module)
    except DeployError as exc:
        module.fail_json(msg=exc.message, **exc.details)
    module.exit_json(**result)

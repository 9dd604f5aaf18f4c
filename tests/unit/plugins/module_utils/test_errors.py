from __future__ import annotations

import pytest

from ansible_collections.stagecraft.webapp.plugins.module_utils._errors import DeployError


@pytest.mark.parametrize("details, expected", [(None, {}), ({"ref": "main"}, {"ref": "main"})])
def test_deploy_error_carries_message_and_details(details, expected):
    error = DeployError("ref main is missing", details)
    assert str(error) == error.message == "ref main is missing"
    assert error.details == expected

from __future__ import annotations

import os
import pwd

import pytest

from ansible_collections.stagecraft.webapp.plugins.filter.deployer import FilterModule
from ansible_collections.stagecraft.webapp.plugins.module_utils._who import deployer as decide, git_identity, login_name

deployer = FilterModule().filters()["deployer"]


@pytest.fixture
def no_user(monkeypatch):
    """As in CI containers, cron and AWX: no $USER, $LOGNAME or $USERNAME."""
    for name in ("USER", "LOGNAME", "USERNAME", "LNAME"):
        monkeypatch.delenv(name, raising=False)


def test_the_name_given_wins(no_user):
    assert deployer({"who": "release-bot", "awx_user": "alice", "checkout": "/nowhere"}) == "release-bot"


def test_the_awx_user_comes_before_the_controllers_account(no_user):
    assert deployer({"who": "", "awx_user": "alice", "checkout": "/nowhere"}) == "alice"


def test_without_user_the_controllers_account_is_named(no_user):
    assert deployer({"who": "", "awx_user": "", "checkout": "/nowhere"}) == pwd.getpwuid(os.getuid()).pw_name != "unknown"


def test_an_account_without_a_name_falls_back_to_the_checkouts_git_identity(no_user, tmp_path, origin):
    origin.git("config", "user.name", "Alice Example")
    origin.git("config", "user.email", "alice@example.invalid")
    checkout = str(origin.path)
    assert git_identity(checkout) == "Alice Example <alice@example.invalid>"
    assert login_name(uid=2 ** 31 - 7) == ""  # a uid with no name, as an execution environment runs under
    assert decide({"who": "", "awx_user": "", "checkout": checkout}, login=lambda: "") == "Alice Example <alice@example.invalid>"
    assert decide({"who": "", "awx_user": "", "checkout": str(tmp_path)}, login=lambda: "", identity=lambda checkout: "") == "unknown"

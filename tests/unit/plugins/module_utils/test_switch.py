from __future__ import annotations

import os

import pytest

from ansible_collections.stagecraft.webapp.plugins.module_utils._errors import DeployError
from ansible_collections.stagecraft.webapp.plugins.module_utils._switch import needs_switch, read_link, switch


@pytest.fixture
def env_dir(tmp_path):
    for name in ("r1", "r2"):
        (tmp_path / "releases" / name).mkdir(parents=True)
    return tmp_path


def test_first_switch_has_no_previous(env_dir):
    result = switch(str(env_dir / "current"), "releases/r1")
    assert result.as_dict() == {"changed": True, "previous": None, "current": "releases/r1"}
    assert os.readlink(env_dir / "current") == "releases/r1"


def test_switch_returns_previous_target_and_leaves_nothing_beside(env_dir):
    switch(str(env_dir / "current"), "releases/r1")
    result = switch(str(env_dir / "current"), "releases/r2")
    assert (result.changed, result.previous, result.current) == (True, "releases/r1", "releases/r2")
    assert sorted(os.listdir(env_dir)) == ["current", "releases"]
    assert (env_dir / "current").resolve() == (env_dir / "releases" / "r2").resolve()


@pytest.mark.parametrize("spelling", ["releases/r1", "./releases/r1", "ABSOLUTE"])
def test_no_change_when_already_pointing_there(env_dir, spelling):
    switch(str(env_dir / "current"), "releases/r1")
    target = str(env_dir / "releases" / "r1") if spelling == "ABSOLUTE" else spelling
    assert not needs_switch(str(env_dir / "current"), target)
    assert switch(str(env_dir / "current"), target).changed is False


def test_check_mode_changes_nothing(env_dir):
    switch(str(env_dir / "current"), "releases/r1")
    result = switch(str(env_dir / "current"), "releases/r2", check_mode=True)
    assert (result.changed, result.previous) == (True, "releases/r1")
    assert read_link(str(env_dir / "current")) == "releases/r1"


def test_switch_is_a_rename_over_the_old_link(env_dir, monkeypatch):
    switch(str(env_dir / "current"), "releases/r1")
    seen = []
    real_replace = os.replace

    def spy(src, dst):
        seen.append((os.readlink(src), os.readlink(dst)))  # both links exist until the rename
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    switch(str(env_dir / "current"), "releases/r2")
    assert seen == [("releases/r2", "releases/r1")]


@pytest.mark.parametrize("setup, target, message", [
    ("dir", "releases/r1", "not a symlink"),
    (None, "releases/missing", "no such directory"),
])
def test_refusals(env_dir, setup, target, message):
    if setup == "dir":
        (env_dir / "current").mkdir()
    with pytest.raises(DeployError, match=message):
        switch(str(env_dir / "current"), target)

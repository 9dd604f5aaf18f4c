from __future__ import annotations

import json
import os

import pytest

from ansible_collections.stagecraft.webapp.plugins.module_utils._errors import DeployError
from ansible_collections.stagecraft.webapp.plugins.module_utils._release import MARKER
from ansible_collections.stagecraft.webapp.plugins.module_utils._releases import (
    current_release, list_releases, prune, prune_plan, rollback_target,
)


def make(releases, states):
    """Releases r0..rN (ids sort by age) in the given states; 'unknown' makes a directory without marker."""
    ids = []
    for index, state in enumerate(states):
        rid = "20261122T19{0:02d}00Z-{0:07x}".format(index)
        path = releases / rid
        path.mkdir(parents=True)
        if state != "unknown":
            (path / MARKER).write_text(json.dumps({"release_id": rid, "commit": "{0:07x}".format(index) + "0" * 33, "ref": "main", "state": state}))
        ids.append(rid)
    return ids


def test_list_releases_reads_states_and_skips_hidden(tmp_path):
    ids = make(tmp_path, ["good", "failed", "pending", "unknown"])
    (tmp_path / ".partial-x").mkdir()
    assert [(r.release_id, r.state) for r in list_releases(str(tmp_path))] == list(zip(ids, ["good", "failed", "pending", "unknown"]))
    assert list_releases(str(tmp_path / "missing")) == []


@pytest.mark.parametrize("target, expected", [("releases/R", "R"), ("ABS", "R"), ("/elsewhere", None), (None, None)])
def test_current_release(tmp_path, target, expected):
    rid = make(tmp_path / "releases", ["good"])[0]
    if target:
        os.symlink({"ABS": str(tmp_path / "releases" / rid)}.get(target, target.replace("R", rid)), tmp_path / "current")
    assert current_release(str(tmp_path / "current"), str(tmp_path / "releases")) == (rid if expected else None)


@pytest.mark.parametrize("states, current, expected", [
    (["good", "good", "good"], 2, 1),
    (["good", "failed", "good"], 2, 0),      # a failed release is never a target
    (["good", "pending", "good"], 2, 0),
    (["good", "good", "failed"], 2, 1),     # current failed: the newest good before it
    (["good", "good", "good"], 1, 0),       # after a rollback, go further back
    (["good", "good"], None, 1),
])
def test_rollback_target_is_the_previous_good_release(tmp_path, states, current, expected):
    ids = make(tmp_path, states)
    releases = list_releases(str(tmp_path))
    assert rollback_target(releases, None if current is None else ids[current]).release_id == ids[expected]


@pytest.mark.parametrize("states, current", [(["failed", "good"], 1), (["good"], 0), ([], None)])
def test_no_rollback_target(tmp_path, states, current):
    ids = make(tmp_path, states)
    with pytest.raises(DeployError, match="no good release"):
        rollback_target(list_releases(str(tmp_path)), None if current is None else ids[current])


@pytest.mark.parametrize("name, message", [(0, None), (1, "its state is failed"), ("missing", "no such release")])
def test_named_rollback_target_must_exist_and_be_good(tmp_path, name, message):
    ids = make(tmp_path, ["good", "failed", "good"])
    releases = list_releases(str(tmp_path))
    wanted = ids[name] if isinstance(name, int) else name
    if message:
        with pytest.raises(DeployError, match=message):
            rollback_target(releases, ids[2], wanted)
    else:
        assert rollback_target(releases, ids[2], wanted).release_id == wanted


@pytest.mark.parametrize("states, current, keep, kept", [
    (["good"] * 5, 4, 2, [3, 4]),
    (["good", "failed", "good", "failed", "good"], 4, 2, [2, 4]),   # failed never count, always removed
    (["good", "good", "good", "pending"], 3, 1, [2, 3]),            # current kept besides N good
    (["good", "good", "good"], 0, 1, [0, 2]),                       # current kept (after a rollback) and the last good
    (["good", "good", "failed"], 2, 1, [1, 2]),                     # a failed current is never removed
    (["good", "pending", "good"], 2, 5, [0, 2]),                    # a pending leftover is removed
    (["good", "unknown", "good"], 2, 1, [1, 2]),                    # unknown directories are left alone
])
def test_prune_plan(tmp_path, states, current, keep, kept):
    ids = make(tmp_path, states)
    plan = prune_plan(str(tmp_path), keep, current_id=ids[current])
    assert plan.keep == [ids[i] for i in kept if states[i] != "unknown"]
    assert plan.remove == [rid for i, rid in enumerate(ids) if i not in kept and states[i] != "unknown"]


def test_protected_release_is_kept(tmp_path):
    ids = make(tmp_path, ["good", "good", "pending"])
    assert prune_plan(str(tmp_path), 1, current_id=ids[1], protect=[ids[2]]).remove == [ids[0]]


@pytest.mark.parametrize("keep", [0, -1, "2", True, None])
def test_keep_must_be_at_least_one(tmp_path, keep):
    with pytest.raises(DeployError, match="keep must be"):
        prune_plan(str(tmp_path), keep)


def test_prune_removes_what_the_plan_says_and_leftovers(tmp_path):
    ids = make(tmp_path, ["good", "failed", "good", "good"])
    (tmp_path / ".partial-crashed").mkdir()
    (tmp_path / ".partial-crashed.tar").write_text("")
    plan = prune_plan(str(tmp_path), 2, current_id=ids[3])
    assert plan.as_dict() == {"keep": ids[2:], "remove": ids[:2], "leftovers": [".partial-crashed", ".partial-crashed.tar"], "unknown": []}
    before = sorted(os.listdir(tmp_path))
    assert plan.changed and before == sorted(ids + [".partial-crashed", ".partial-crashed.tar"])  # planning changed nothing
    assert prune(str(tmp_path), plan) is True
    assert sorted(os.listdir(tmp_path)) == ids[2:]
    again = prune_plan(str(tmp_path), 2, current_id=ids[3])
    assert not again.changed and prune(str(tmp_path), again) is False

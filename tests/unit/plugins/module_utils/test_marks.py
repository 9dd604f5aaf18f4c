"""Rollback marks: written and read on the host, and the rule a deploy follows with them."""

from __future__ import annotations

import datetime
import os

import pytest

from ansible_collections.stagecraft.webapp.plugins.module_utils._errors import DeployError
from ansible_collections.stagecraft.webapp.plugins.module_utils._marks import (
    add_mark, make_mark, read_marks, remove_mark, rolled_back_problem)

BAD, GOOD, NEWER = "b" * 40, "a" * 40, "c" * 40
WHEN = datetime.datetime(2026, 12, 6, 6, 0, 0, tzinfo=datetime.timezone.utc)


def test_a_mark_is_kept_on_the_host_readable_by_root_and_the_group_only(tmp_path):
    assert read_marks(str(tmp_path)) == {}
    add_mark(str(tmp_path), make_mark(BAD, "20261206T055900Z-bbbbbbb", WHEN, "alice", job_id="42"))
    marks = read_marks(str(tmp_path))
    assert marks == {BAD: {"commit": BAD, "release_id": "20261206T055900Z-bbbbbbb", "rolled_back": "2026-12-06T06:00:00Z", "by": "alice",
                           "job_id": "42", "automatic": False}}
    assert os.stat(tmp_path / "rolled-back.json").st_mode & 0o777 == 0o640
    assert os.listdir(tmp_path) == ["rolled-back.json"]


def test_marks_add_up_and_one_is_removed_alone(tmp_path):
    add_mark(str(tmp_path), make_mark(BAD, "r1", WHEN, "alice"))
    add_mark(str(tmp_path), make_mark(GOOD, "r2", WHEN, "bob", automatic=True))
    assert remove_mark(str(tmp_path), BAD)
    assert not remove_mark(str(tmp_path), BAD)
    assert list(read_marks(str(tmp_path))) == [GOOD]


def test_an_unreadable_marks_file_is_an_error_naming_it(tmp_path):
    (tmp_path / "rolled-back.json").write_text("{not json")
    with pytest.raises(DeployError, match="cannot read the rollback marks .*rolled-back.json"):
        read_marks(str(tmp_path))


def test_putting_a_rolled_back_commit_back_is_refused_saying_when_by_whom_and_how_to_go_on():
    marks = {BAD: make_mark(BAD, "r1", WHEN, "alice", job_id="42")}
    problem = rolled_back_problem(marks, BAD, GOOD)
    assert problem == ("commit bbbbbbbbbbbb was rolled back on 2026-12-06T06:00:00Z by alice (job 42); deploying it would put it back "
                       "into service. Deploy a newer commit, or put this one back on purpose with -e deploy_allow_rolled_back=true")


def test_an_automatic_rollback_says_so():
    marks = {BAD: make_mark(BAD, "r1", WHEN, "alice", automatic=True)}
    assert "was rolled back automatically, its health check having failed after the switch, on 2026-12-06T06:00:00Z by alice;" in (
        rolled_back_problem(marks, BAD, GOOD))


@pytest.mark.parametrize("commit, serving, allow", [
    (NEWER, GOOD, False),  # a newer commit deploys as always
    (BAD, BAD, False),  # what serves already: nothing is put back
    (BAD, GOOD, True),  # on purpose
    ("", GOOD, False),  # not known yet (check mode on a new host)
])
def test_what_is_not_refused(commit, serving, allow):
    assert rolled_back_problem({BAD: make_mark(BAD, "r1", WHEN, "alice")}, commit, serving, allow) is None

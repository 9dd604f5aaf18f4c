from __future__ import annotations

import datetime
import json
import os
import stat
from concurrent.futures import ThreadPoolExecutor

import pytest

from ansible_collections.stagecraft.webapp.plugins.module_utils import _record
from ansible_collections.stagecraft.webapp.plugins.module_utils._errors import DeployError
from ansible_collections.stagecraft.webapp.plugins.module_utils._record import FIELDS, append, make_entry, read_last

T0 = datetime.datetime(2026, 11, 22, 19, 0, 0, tzinfo=datetime.timezone.utc)


def entry(index=0, outcome="success"):
    return make_entry("alice", "main", "c{0}".format(index), "p{0}".format(index), "r{0}".format(index),
                      T0, T0 + datetime.timedelta(seconds=12.3456), outcome, job_id="awx-{0}".format(index))


def test_entry_format():
    assert entry() == {"who": "alice", "ref": "main", "commit": "c0", "previous_commit": "p0", "release_id": "r0",
                       "started": "2026-11-22T19:00:00Z", "duration": 12.346, "outcome": "success", "job_id": "awx-0"}
    assert set(entry()) == set(FIELDS)


def test_append_writes_one_json_line_with_mode_0640(tmp_path):
    path = tmp_path / "deploys.jsonl"
    old = os.umask(0)
    try:
        append(str(path), entry(0))
        append(str(path), entry(1, "rolled_back"))
    finally:
        os.umask(old)
    lines = path.read_text().splitlines()
    assert [json.loads(line) for line in lines] == [entry(0), entry(1, "rolled_back")]
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


@pytest.mark.parametrize("count, expected", [(1, [29]), (3, [27, 28, 29]), (100, list(range(30)))])
def test_read_last_entries(tmp_path, monkeypatch, count, expected):
    monkeypatch.setattr(_record, "READ_BLOCK", 64)  # several blocks, lines cut across them
    path = str(tmp_path / "deploys.jsonl")
    for index in range(30):
        append(path, entry(index))
    assert [item["commit"] for item in read_last(path, count)] == ["c{0}".format(i) for i in expected]


def test_read_skips_a_torn_line_and_missing_file(tmp_path):
    path = tmp_path / "deploys.jsonl"
    assert read_last(str(path)) == []
    append(str(path), entry(0))
    with open(path, "a") as handle:
        handle.write('{"who": "cut')
    assert read_last(str(path)) == [entry(0)]


def test_concurrent_appends_never_interleave(tmp_path):
    path = str(tmp_path / "deploys.jsonl")
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda i: append(path, dict(entry(i), ref="x" * 5000)), range(64)))
    entries = read_last(path, 1000)
    assert sorted(item["commit"] for item in entries) == sorted("c{0}".format(i) for i in range(64))


@pytest.mark.parametrize("change, message", [({"outcome": "great"}, "outcome must be"), ({"started": datetime.datetime(2026, 1, 1)}, "time zone")])
def test_bad_entries(change, message):
    values = dict(who="a", ref="main", commit="c", previous_commit=None, release_id="r", started=T0, finished=T0, outcome="success")
    values.update(change)
    with pytest.raises(DeployError, match=message):
        make_entry(**values)


def test_append_refuses_incomplete_entries(tmp_path):
    with pytest.raises(DeployError, match="lacks"):
        append(str(tmp_path / "r"), {"who": "a"})

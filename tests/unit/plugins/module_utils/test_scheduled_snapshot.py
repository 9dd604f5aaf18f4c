from __future__ import annotations

import datetime
import json
import os
import stat

import pytest
from test_snapshot import CANARY, make_database, rows

from ansible_collections.stagecraft.webapp.plugins.module_utils import _scheduled_snapshot, _snapshot

NOW = datetime.datetime(2026, 12, 6, 12, 0, 0, tzinfo=datetime.timezone.utc)


@pytest.fixture
def config(tmp_path):
    (tmp_path / "shared" / "media").mkdir(parents=True)
    (tmp_path / "shared" / "media" / "a.txt").write_text("a\n")
    make_database(tmp_path / "shared" / "db.sqlite3", rows=["one"])
    return {"base": str(tmp_path), "databases": ["db.sqlite3"], "dirs": ["media"], "max_bytes": 10 ** 9, "keep": 2, "max_age_days": 30,
            "ship_command": ""}


def at(hours):
    return NOW + datetime.timedelta(hours=hours)


def test_a_scheduled_run_takes_a_listed_snapshot_and_keeps_the_newest(config):
    for hours in range(3):
        status, lines = _scheduled_snapshot.run(config, now=at(hours))
        assert status == 0, lines
    listed = [manifest["release_id"] for manifest in _snapshot.list_snapshots(config["base"])]
    assert listed == [_snapshot.scheduled_id(at(1)), _snapshot.scheduled_id(at(2))]
    assert lines[0].startswith("took scheduled-20261206T140000Z taken 2026-12-06T14:00:00Z: db.sqlite3 (")
    assert lines[-1] == "retention (the newest 2, at most 30 days old): removed scheduled-20261206T120000Z"
    restored = _snapshot.restore(config["base"], listed[0])
    assert restored["restored"] == ["db.sqlite3", "media"]


def test_the_ship_command_gets_the_snapshots_path_and_its_output_stays_out_of_what_is_printed(config):
    config["ship_command"] = "echo token={0}; test -f \"$1/manifest.json\" && test \"$1\" = \"$SNAPSHOT_DIR\" && echo \"$1\" > ../../shipped".format(CANARY)
    status, lines = _scheduled_snapshot.run(config, now=NOW)
    assert status == 0, lines
    path = _snapshot.snapshot_dir(config["base"], _snapshot.scheduled_id(NOW))
    assert open(os.path.join(config["base"], "shipped")).read() == path + "\n"
    assert lines[1] == "shipped scheduled-20261206T120000Z with the ship command"
    assert CANARY not in json.dumps(lines)
    log = _snapshot.command_log(config["base"], "ship")
    assert CANARY in open(log).read() and stat.S_IMODE(os.stat(log).st_mode) == 0o600


def test_a_failing_ship_command_fails_the_run_keeps_the_snapshot_and_still_applies_the_retention(config):
    config["ship_command"] = "echo password={0} >&2; exit 3".format(CANARY)
    for hours in range(3):
        status, lines = _scheduled_snapshot.run(config, now=at(hours))
    assert status == _scheduled_snapshot.SHIP_FAILED
    assert "the ship command failed for scheduled-20261206T140000Z (exit status 3); the snapshot stays here" in lines[1]
    assert CANARY not in json.dumps(lines)
    assert len(_snapshot.list_snapshots(config["base"])) == 2


def test_a_snapshot_that_cannot_be_taken_fails_the_run_and_removes_nothing(config):
    _scheduled_snapshot.run(config, now=NOW)
    config["max_bytes"] = 1
    status, lines = _scheduled_snapshot.run(config, now=at(1))
    assert status == _scheduled_snapshot.SNAPSHOT_FAILED
    assert lines[0].startswith("snapshot not taken: a snapshot would hold ")
    assert [manifest["release_id"] for manifest in _snapshot.list_snapshots(config["base"])] == [_snapshot.scheduled_id(NOW)]


def test_main_reads_its_config_file_and_prints_no_content(config, tmp_path, capsys):
    make_database(tmp_path / "shared" / "db.sqlite3", rows=[CANARY])
    (tmp_path / "snapshot.json").write_text(json.dumps(config))
    assert _scheduled_snapshot.main([str(tmp_path / "snapshot.json")]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("took scheduled-") and CANARY not in printed
    assert rows(tmp_path / "shared" / "db.sqlite3") == ["one", CANARY]


def test_a_pre_snapshot_command_writes_into_the_snapshot_before_it_is_shipped(config):
    config["pre_command"] = "echo dump-of-the-other-database > \"$1/other.sql\"; echo connecting with {0}".format(CANARY)
    config["ship_command"] = "test -f \"$1/pre_snapshot/other.sql\""
    status, lines = _scheduled_snapshot.run(config, now=NOW)
    assert status == 0, lines
    assert "pre_snapshot (1 files, 27 bytes)" in lines[0] and CANARY not in json.dumps(lines)
    assert CANARY in open(_snapshot.command_log(config["base"], _snapshot.PRE_SNAPSHOT)).read()

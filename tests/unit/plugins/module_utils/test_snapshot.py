from __future__ import annotations

import contextlib
import datetime
import json
import os
import sqlite3
import threading

import pytest

from ansible_collections.stagecraft.webapp.plugins.module_utils import _snapshot
from ansible_collections.stagecraft.webapp.plugins.module_utils._errors import DeployError

RELEASE = "20261206T091500Z-abcdef1"
CANARY = "canary-s3cr3t-7f1e9a"


@pytest.fixture
def base(tmp_path):
    (tmp_path / "shared" / "media" / "photos").mkdir(parents=True)
    (tmp_path / "shared" / "media" / "photos" / "a.jpg").write_bytes(b"x" * 1000)
    (tmp_path / "shared" / "media" / "notes.txt").write_text("first\n")
    make_database(tmp_path / "shared" / "db.sqlite3", rows=["before"])
    # Written a day before the snapshot, as an app's data mostly is.
    a_day_ago = datetime.datetime.now().timestamp() - 86400
    for root, dirs, names in os.walk(str(tmp_path / "shared")):
        for name in dirs + names:
            os.utime(os.path.join(root, name), (a_day_ago, a_day_ago))
    return tmp_path


def make_database(path, rows):
    with contextlib.closing(sqlite3.connect(str(path))) as db:
        db.execute("CREATE TABLE IF NOT EXISTS item (name TEXT)")
        db.executemany("INSERT INTO item VALUES (?)", [(row,) for row in rows])
        db.commit()


def rows(path):
    with contextlib.closing(sqlite3.connect(str(path))) as db:
        return [row[0] for row in db.execute("SELECT name FROM item ORDER BY rowid")]


def take(base, **kwargs):
    return _snapshot.take(str(base), kwargs.pop("release_id", RELEASE), kwargs.pop("databases", ["db.sqlite3"]), kwargs.pop("dirs", ["media"]),
                          kwargs.pop("max_bytes", 10 ** 9), **kwargs)


@pytest.mark.parametrize("journal_mode", ["wal", "delete"])
def test_snapshot_holds_a_consistent_database_while_a_writer_commits(tmp_path, journal_mode):
    (tmp_path / "shared").mkdir()
    live = tmp_path / "shared" / "app.db"
    with contextlib.closing(sqlite3.connect(str(live))) as db:
        db.execute("PRAGMA journal_mode={0}".format(journal_mode))
        db.execute("CREATE TABLE item (name TEXT, version INTEGER)")
        db.executemany("INSERT INTO item VALUES (?, 0)", [("z" * 1000,)] * 3000)
        db.commit()
    stop = threading.Event()
    commits = []

    def writer():
        # Each transaction rewrites every page of the table: a copy torn by a commit holds two versions.
        with contextlib.closing(sqlite3.connect(str(live), timeout=30)) as db:
            while not stop.is_set() and len(commits) < 100000:
                db.execute("UPDATE item SET version = version + 1")
                db.commit()
                commits.append(1)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while len(commits) < 3:
            stop.wait(0.01)
        manifests = [_snapshot.take(str(tmp_path), "r{0}".format(index), ["app.db"], [], 10 ** 9) for index in range(8)]
    finally:
        stop.set()
        thread.join(60)
    for manifest in manifests:
        copy = tmp_path / "snapshots" / manifest["release_id"] / "shared" / "app.db"
        with contextlib.closing(sqlite3.connect(str(copy))) as db:
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            assert db.execute("SELECT count(*), count(DISTINCT version) FROM item").fetchone() == (3000, 1)


def test_directories_are_hard_linked_and_keep_replaced_files(base):
    manifest = take(base)
    copied = base / "snapshots" / RELEASE / "shared" / "media" / "photos" / "a.jpg"
    assert os.stat(copied).st_ino == os.stat(base / "shared" / "media" / "photos" / "a.jpg").st_ino
    media = next(item for item in manifest["items"] if item["path"] == "media")
    assert media == {"kind": "directory", "path": "media", "present": True, "bytes": 1006, "files": 2, "linked": 2, "copied": 0}
    # The app replaces a file (as uploads and Django's storage do): the snapshot keeps the old one.
    replacement = base / "shared" / "media" / "notes.new"
    replacement.write_text("second\n")
    os.replace(replacement, base / "shared" / "media" / "notes.txt")
    assert (base / "snapshots" / RELEASE / "shared" / "media" / "notes.txt").read_text() == "first\n"


def test_a_filesystem_without_hard_links_gets_copies(base, monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr(_snapshot.os, "link", refuse)
    manifest = take(base)
    media = next(item for item in manifest["items"] if item["path"] == "media")
    assert (media["linked"], media["copied"]) == (0, 2)
    assert (base / "snapshots" / RELEASE / "shared" / "media" / "notes.txt").read_text() == "first\n"


def test_links_inside_a_directory_are_copied_as_links_not_followed(base, tmp_path_factory):
    outside = tmp_path_factory.mktemp("outside")
    (outside / "secret").write_text(CANARY)
    os.symlink(str(outside / "secret"), str(base / "shared" / "media" / "escape"))
    take(base)
    copied = base / "snapshots" / RELEASE / "shared" / "media" / "escape"
    assert os.path.islink(str(copied)) and os.readlink(str(copied)) == str(outside / "secret")


def test_a_snapshot_above_the_bound_is_refused_before_anything_is_copied(base):
    with pytest.raises(DeployError) as caught:
        take(base, max_bytes=1500)
    message = caught.value.message
    assert "above the bound of 1500 (deploy_snapshot_max_bytes)" in message
    assert "media 1006 bytes" in message and "db.sqlite3" in message
    assert not (base / "snapshots" / RELEASE).exists()
    assert os.listdir(str(base / "snapshots")) == [] if (base / "snapshots").exists() else True


def test_restore_puts_data_back_and_says_what_is_lost(base):
    manifest = take(base)
    # What the new release did after the snapshot: a column, a row, an upload, a removed file.
    with contextlib.closing(sqlite3.connect(str(base / "shared" / "db.sqlite3"))) as db:
        db.execute("ALTER TABLE item ADD COLUMN price INTEGER")
        db.execute("INSERT INTO item VALUES ('after', 3)")
        db.commit()
    (base / "shared" / "media" / "upload.png").write_bytes(b"new")
    (base / "shared" / "media" / "notes.txt").unlink()
    inode = os.stat(base / "shared" / "db.sqlite3").st_ino

    result = _snapshot.restore(str(base), RELEASE)

    assert rows(base / "shared" / "db.sqlite3") == ["before"]
    with contextlib.closing(sqlite3.connect(str(base / "shared" / "db.sqlite3"))) as db:
        assert [column[1] for column in db.execute("PRAGMA table_info(item)")] == ["name"]
    assert os.stat(base / "shared" / "db.sqlite3").st_ino == inode
    assert sorted(os.listdir(str(base / "shared" / "media"))) == ["notes.txt", "photos"]
    assert (base / "shared" / "media" / "notes.txt").read_text() == "first\n"
    assert result["restored"] == ["db.sqlite3", "media"]
    assert result["lost"] == ("data written to db.sqlite3, media since {0} is lost "
                              "(changed since the snapshot: db.sqlite3, media)".format(manifest["taken"]))
    assert sorted(os.listdir(str(base / "shared"))) == ["db.sqlite3", "media"]
    # The snapshot stays whole: it can be restored again.
    (base / "shared" / "media" / "late.txt").write_text("late")
    _snapshot.restore(str(base), RELEASE)
    assert sorted(os.listdir(str(base / "shared" / "media"))) == ["notes.txt", "photos"]


def test_restore_without_a_snapshot_fails_naming_the_release(base):
    with pytest.raises(DeployError, match="release {0} has no snapshot to restore".format(RELEASE)):
        _snapshot.restore(str(base), RELEASE)


def test_an_absent_path_is_recorded_and_left_alone_on_restore(base):
    manifest = take(base, databases=["later.sqlite3"], dirs=[])
    assert manifest["items"] == [{"kind": "database", "path": "later.sqlite3", "present": False, "bytes": 0}]
    make_database(base / "shared" / "later.sqlite3", rows=["made later"])
    result = _snapshot.restore(str(base), RELEASE)
    assert result["left"] == ["later.sqlite3"] and rows(base / "shared" / "later.sqlite3") == ["made later"]


@pytest.mark.parametrize("databases, dirs, expected", [
    (["/etc/shadow"], [], "snapshot database \"/etc/shadow\" must be a relative path inside shared/"),
    (["../../etc/passwd"], [], "snapshot database \"../../etc/passwd\" must be a relative path"),
    ([], ["media/../.."], "snapshot directory \"media/../..\" must be a relative path"),
    ([], ["escape"], "snapshot directory \"escape\" leads out of"),
    (["escape/db.sqlite3"], [], "snapshot database \"escape/db.sqlite3\" leads out of"),
    (["media/app.db"], ["media"], "snapshot database \"media/app.db\" lies inside snapshot directory \"media\""),
])
def test_hostile_paths_are_refused(base, tmp_path_factory, databases, dirs, expected):
    outside = tmp_path_factory.mktemp("outside")
    make_database(outside / "db.sqlite3", rows=[CANARY])
    os.symlink(str(outside), str(base / "shared" / "escape"))
    with pytest.raises(DeployError) as caught:
        take(base, databases=databases, dirs=dirs)
    assert expected in caught.value.message
    assert not (base / "snapshots" / RELEASE).exists()


def test_restore_refuses_a_database_swapped_for_a_link_out_of_shared(base, tmp_path_factory):
    take(base, dirs=[])
    outside = tmp_path_factory.mktemp("outside")
    make_database(outside / "victim.db", rows=["untouched"])
    os.unlink(str(base / "shared" / "db.sqlite3"))
    os.symlink(str(outside / "victim.db"), str(base / "shared" / "db.sqlite3"))
    with pytest.raises(DeployError, match="leads out of"):
        _snapshot.restore(str(base), RELEASE)
    assert rows(outside / "victim.db") == ["untouched"]


def test_manifest_and_listing_name_no_file_and_no_secret(base):
    # A secret in a shared directory (an uploaded key, a copied .env) and in the database.
    (base / "shared" / "media" / (CANARY + ".env")).write_text("SECRET_KEY={0}\n".format(CANARY))
    make_database(base / "shared" / "db.sqlite3", rows=[CANARY])
    manifest = take(base)
    listing = _snapshot.list_snapshots(str(base))
    text = json.dumps([manifest, listing, _snapshot.describe(manifest)]) + (base / "snapshots" / RELEASE / "manifest.json").read_text()
    assert CANARY not in text
    assert listing == [manifest]
    assert _snapshot.describe(manifest).startswith("db.sqlite3 (") and "media (3 files," in _snapshot.describe(manifest)


def test_a_second_snapshot_of_a_release_replaces_the_first(base):
    take(base)
    make_database(base / "shared" / "db.sqlite3", rows=["second"])
    take(base)
    assert rows(base / "snapshots" / RELEASE / "shared" / "db.sqlite3") == ["before", "second"]
    assert os.listdir(str(base / "snapshots")) == [RELEASE]


def test_prune_removes_snapshots_of_releases_no_longer_kept_and_leftovers(base):
    for release_id in ("r1", "r2", "r3"):
        take(base, release_id=release_id)
    (base / "snapshots" / ".taking-r4-x").mkdir()
    remove, leftovers = _snapshot.prune_plan(str(base), ["r2", "r3"])
    assert (remove, leftovers) == (["r1"], [".taking-r4-x"])
    _snapshot.prune(str(base), remove, leftovers)
    assert sorted(os.listdir(str(base / "snapshots"))) == ["r2", "r3"]
    assert [manifest["release_id"] for manifest in _snapshot.list_snapshots(str(base))] == ["r2", "r3"]
    # The live data the snapshots linked to is untouched.
    assert (base / "shared" / "media" / "photos" / "a.jpg").read_bytes() == b"x" * 1000


def test_a_restore_names_hard_linked_files_the_app_rewrote_in_place(base):
    take(base)
    with open(str(base / "shared" / "media" / "notes.txt"), "a") as handle:
        handle.write("appended in place\n")
    result = _snapshot.restore(str(base), RELEASE)
    assert result["lost"].endswith("; 1 file(s) of media were rewritten in place since the snapshot and keep their new content (hard links)")


NOW = datetime.datetime(2026, 12, 6, 12, 0, 0, tzinfo=datetime.timezone.utc)


def scheduled(days_ago, hours=0):
    moment = NOW - datetime.timedelta(days=days_ago, hours=hours)
    return {"release_id": _snapshot.scheduled_id(moment), "taken": moment.strftime(_snapshot.TIME_FORMAT)}


@pytest.mark.parametrize("ages, keep, max_age_days, removed", [
    ([0, 1, 2, 3], 2, 0, [2, 3]),               # by count: the newest two stay
    ([0, 1, 2, 40], 10, 30, [40]),              # by age: older than 30 days goes
    ([0, 1, 40], 1, 30, [1, 40]),               # both
    ([45, 50], 5, 30, [50]),                    # the newest stays, however old (the timer stopped for a while)
    ([0, 1], 5, 0, []),                         # within both
])
def test_retention_keeps_the_newest_by_count_and_age(ages, keep, max_age_days, removed):
    manifests = [scheduled(age) for age in ages] + [{"release_id": RELEASE, "taken": "2020-01-01T00:00:00Z"}]
    assert _snapshot.retention_plan(manifests, keep, max_age_days, NOW) == sorted(scheduled(age)["release_id"] for age in removed)


def test_a_deploys_prune_leaves_scheduled_snapshots_to_their_retention(base):
    take(base, release_id=_snapshot.scheduled_id(NOW))
    take(base, release_id="r1")
    assert _snapshot.prune_plan(str(base), []) == (["r1"], [])


@pytest.mark.parametrize("snapshot_id", ["", "..", "../shared", "a/b", ".taking-r1-x", "-rf", "r1\n", "x" * 129, "scheduled-..", "/etc"])
def test_a_hostile_or_malformed_snapshot_id_is_refused_before_anything_is_read(base, snapshot_id):
    take(base)
    before = rows(base / "shared" / "db.sqlite3")
    assert _snapshot.id_problem(snapshot_id).startswith("snapshot id ")
    with pytest.raises(DeployError, match="is not a snapshot's name"):
        _snapshot.restore(str(base), snapshot_id)
    assert rows(base / "shared" / "db.sqlite3") == before


@pytest.mark.parametrize("snapshot_id", [RELEASE, "scheduled-20261206T120000Z"])
def test_release_and_scheduled_ids_are_snapshot_names(snapshot_id):
    assert _snapshot.id_problem(snapshot_id) is None


def test_a_failing_pre_snapshot_command_stops_the_snapshot_and_its_output_stays_in_its_log(base):
    with pytest.raises(DeployError) as failed:
        take(base, pre_command="echo 'password {0}' >&2; exit 4".format(CANARY))
    assert str(failed.value).startswith("the pre_snapshot command failed (exit status 4), so no snapshot was taken; its output is in ")
    assert CANARY not in str(failed.value) + json.dumps(failed.value.details)
    assert os.listdir(str(base / "snapshots")) == [".pre_snapshot.log"]
    assert CANARY in (base / "snapshots" / ".pre_snapshot.log").read_text()


def test_a_restore_leaves_what_the_pre_snapshot_command_wrote_to_the_user_and_says_so(base):
    manifest = take(base, pre_command='test "$1" = "$SNAPSHOT_DIR" && test "$PWD" = "$1" && env > "$1/env.txt"')
    assert manifest["items"][-1]["kind"] == "pre_snapshot" and manifest["items"][-1]["files"] == 1
    # The command sees none of the caller's environment.
    assert "PYTEST" not in (base / "snapshots" / RELEASE / "pre_snapshot" / "env.txt").read_text()
    result = _snapshot.restore(str(base), RELEASE)
    assert result["restored"] == ["db.sqlite3", "media"]
    assert result["lost"].endswith("; what the pre_snapshot command wrote is not restored: restore it yourself from snapshots/{0}/pre_snapshot/ "
                                   "(pg_restore, ...)".format(RELEASE))
    assert "data written to db.sqlite3, media since" in result["lost"]

from __future__ import annotations

import datetime
import os
import stat
from concurrent.futures import ThreadPoolExecutor

import pytest

from ansible_collections.stagecraft.webapp.plugins.module_utils._errors import DeployError
from ansible_collections.stagecraft.webapp.plugins.module_utils._lock import acquire, break_lock, lock_age, read_lock, release

T0 = datetime.datetime(2026, 11, 22, 19, 0, 0, tzinfo=datetime.timezone.utc)


@pytest.fixture
def lock(tmp_path):
    return str(tmp_path / "deploy.lock")


def test_acquire_writes_the_holder(lock):
    changed, holder = acquire(lock, "alice", holder_id="run-1", job_id="awx-42", now=T0)
    assert changed
    on_disk = read_lock(lock)
    assert on_disk == holder
    assert {k: on_disk[k] for k in ("owner", "time", "job_id", "holder_id", "pid")} == {
        "owner": "alice", "time": "2026-11-22T19:00:00Z", "job_id": "awx-42", "holder_id": "run-1", "pid": os.getpid()}
    assert on_disk["host"] and stat.S_IMODE(os.stat(lock).st_mode) & 0o007 == 0


def test_second_acquire_fails_with_the_holders_details(lock):
    acquire(lock, "alice", holder_id="run-1", job_id="awx-42", now=T0)
    with pytest.raises(DeployError) as raised:
        acquire(lock, "bob", holder_id="run-2")
    assert "alice" in raised.value.message and "awx-42" in raised.value.message and "2026-11-22T19:00:00Z" in raised.value.message
    assert raised.value.details["holder"]["holder_id"] == "run-1"


def test_same_holder_acquiring_again_is_no_change(lock):
    acquire(lock, "alice", holder_id="run-1")
    assert acquire(lock, "alice", holder_id="run-1")[0] is False


def test_concurrent_acquires_only_one_wins(lock):
    def attempt(index):
        try:
            return acquire(lock, "user{0}".format(index), holder_id="run-{0}".format(index))[0]
        except DeployError:
            return False

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(attempt, range(16)))
    assert results.count(True) == 1


def test_generated_holder_id_releases(lock):
    dummy, holder = acquire(lock, "alice")
    assert len(holder["holder_id"]) == 32
    assert release(lock, holder["holder_id"]) is True and read_lock(lock) is None


def test_only_the_holder_releases(lock):
    acquire(lock, "alice", holder_id="run-1")
    with pytest.raises(DeployError, match="not by run-2"):
        release(lock, "run-2")
    assert read_lock(lock)["owner"] == "alice"
    assert release(lock, "run-1") is True
    assert release(lock, "run-1") is False


@pytest.mark.parametrize("age, older_than, broken", [(3600, None, True), (3600, 600, True), (60, 600, False)])
def test_break_lock(lock, age, older_than, broken):
    acquire(lock, "alice", holder_id="run-1", now=T0)
    now = T0 + datetime.timedelta(seconds=age)
    assert lock_age(lock, now) == age
    if broken:
        holder = read_lock(lock)
        assert break_lock(lock, older_than, now) == (True, holder)
        assert read_lock(lock) is None
        acquire(lock, "bob", holder_id="run-2")
    else:
        with pytest.raises(DeployError, match="60 s old, younger than 600 s"):
            break_lock(lock, older_than, now)
        assert read_lock(lock)["owner"] == "alice"


def test_break_lock_when_unlocked_is_no_change(lock):
    assert break_lock(lock) == (False, None)


def test_an_empty_lock_file_is_held_by_an_unknown_holder_and_breakable_by_age(lock):
    with open(lock, "w"):
        pass
    os.utime(lock, (T0.timestamp(), T0.timestamp()))
    with pytest.raises(DeployError, match="unknown holder"):
        acquire(lock, "bob")
    assert lock_age(lock, T0 + datetime.timedelta(seconds=900)) == 900
    assert break_lock(lock, 600, T0 + datetime.timedelta(seconds=900)) == (True, {})

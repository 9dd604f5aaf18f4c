from __future__ import annotations

import datetime
import json
import os
import stat
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from ansible_collections.stagecraft.webapp.plugins.module_utils._errors import DeployError
from ansible_collections.stagecraft.webapp.plugins.module_utils._lock import acquire, break_lock, lock_age, read_lock, release, update

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


def acquired_by_16_at_once(lock):
    """How many of 16 runs acquiring `lock` at once, 8 at a time, got it."""
    def attempt(index):
        try:
            return acquire(lock, "user{0}".format(index), holder_id="run-{0}".format(index))[0]
        except DeployError:
            return False

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(attempt, range(16))).count(True)


def test_concurrent_acquires_only_one_wins(lock):
    assert acquired_by_16_at_once(lock) == 1


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


# A lock's holder is the process that took it: a dead one is taken over by the next acquire.

COLLECTIONS = os.path.join(os.path.dirname(__file__), *[os.pardir] * 4, "collections")
TAKE_AND_WAIT = """
import sys
from ansible_collections.stagecraft.webapp.plugins.module_utils._lock import acquire
acquire(sys.argv[1], "alice", holder_id="run-1", job_id="awx-7")
print("locked", flush=True)
sys.stdin.read()
"""


@pytest.fixture
def holder_process(lock):
    """Another process that takes the lock the way the deploy module does and keeps running until killed."""
    process = subprocess.Popen([sys.executable, "-c", TAKE_AND_WAIT, lock], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                               env=dict(os.environ, PYTHONPATH=COLLECTIONS))
    assert process.stdout.readline() == "locked\n"
    yield process
    process.kill()
    process.wait()


def test_the_lock_names_its_holder_process_exactly(lock):
    acquire(lock, "alice", holder_id="run-1")
    holder = read_lock(lock)
    with open("/proc/self/stat") as handle:
        start = int(handle.read().rsplit(")", 1)[1].split()[19])
    with open("/proc/sys/kernel/random/boot_id") as handle:
        boot_id = handle.read().strip()
    assert (holder["pid"], holder["pid_start"], holder["boot_id"]) == (os.getpid(), start, boot_id)


def test_a_live_holder_still_refuses_saying_it_runs(lock, holder_process):
    with pytest.raises(DeployError, match=r"held by alice .*pid {0}.*; that process still runs".format(holder_process.pid)):
        acquire(lock, "bob", holder_id="run-2")
    assert read_lock(lock)["holder_id"] == "run-1"


def test_a_killed_holder_is_taken_over_and_named(lock, holder_process):
    holder_process.kill()
    holder_process.wait()
    changed, holder = acquire(lock, "bob", holder_id="run-2")
    assert changed and read_lock(lock) == holder and holder["holder_id"] == "run-2"
    stale = holder["took_over"]
    assert (stale["owner"], stale["holder_id"], stale["job_id"], stale["pid"]) == ("alice", "run-1", "awx-7", holder_process.pid)
    assert stale["reason"] == "its process {0} no longer runs".format(holder_process.pid)


def _stale(lock, **changes):
    """The lock as this process wrote it, then changed as another holder's would be."""
    if read_lock(lock) is None:
        acquire(lock, "alice", holder_id="run-1")
    holder = dict(read_lock(lock), **changes)
    with open(lock, "w") as handle:
        json.dump(holder, handle)
    return holder


def test_a_pid_reused_by_another_process_is_no_holder(lock):
    """The pid runs (this very test), but that process started at another time than the one that took the lock."""
    acquire(lock, "alice", holder_id="run-1")
    stale = _stale(lock, pid_start=read_lock(lock)["pid_start"] + 1)
    assert acquire(lock, "bob", holder_id="run-2")[1]["took_over"]["reason"] == "its pid {0} now belongs to another process".format(stale["pid"])


def test_a_holder_from_before_a_restart_of_the_host_is_gone(lock):
    _stale(lock, boot_id="00000000-0000-0000-0000-000000000000")
    assert acquire(lock, "bob", holder_id="run-2")[1]["took_over"]["reason"] == "the host has restarted since"


@pytest.mark.parametrize("changes, why", [
    ({"host": "elsewhere", "pid": 1}, "its process runs on elsewhere, not on this host"),
    ({"pid": None, "pid_start": None}, "no process holds it between the tasks of a run"),
])
def test_a_holder_that_cannot_be_checked_refuses_and_says_how_to_break(lock, changes, why):
    _stale(lock, **changes)
    with pytest.raises(DeployError) as refused:
        acquire(lock, "bob", holder_id="run-2")
    assert why in refused.value.message and "deploy_lock_break=true" in refused.value.message
    assert read_lock(lock)["holder_id"] == "run-1"


def test_a_lock_held_across_tasks_names_no_process(lock):
    changed, holder = acquire(lock, "alice", holder_id="run-1", process=False)
    assert changed and (holder["pid"], holder["pid_start"]) == (None, None)


def test_concurrent_takeovers_of_a_dead_holder_only_one_wins(lock, holder_process):
    holder_process.kill()
    holder_process.wait()
    assert acquired_by_16_at_once(lock) == 1


def test_update_changes_only_the_holders_lock(lock):
    acquire(lock, "alice", holder_id="run-1")
    update(lock, "run-1", commit="abc", pid=None)
    assert (read_lock(lock)["commit"], read_lock(lock)["pid"]) == ("abc", None)
    with pytest.raises(DeployError, match="not by run-2"):
        update(lock, "run-2", commit="def")

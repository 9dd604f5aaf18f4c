"""The test host's half of benchmarks/snapshot_cost.py: run there with Debian's python3 only.

    snapshot_host.py data BASE --db-mb N --files N --file-kb N --journal wal|delete
        an app's shared/ under BASE: app.db of about N MB, uploads/ with the files
    snapshot_host.py write BASE --stop FILE
        the app writing: one row and a commit every few milliseconds until FILE exists (at most
        WRITE_LIMIT_S); prints how many writes, how many failed and the longest wait (JSON)
    snapshot_host.py take BASE --release ID
        one snapshot with the deploy's own code (plugins/module_utils/_snapshot.py next to this
        file); prints its seconds, its bytes, the disk it added and the copy's integrity (JSON)

The code under measurement is the collection's: the tree holding this file has
ansible_collections/stagecraft/webapp/plugins/module_utils/ copied in by the controller.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sqlite3
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ansible_collections.stagecraft.webapp.plugins.module_utils import _snapshot  # noqa: E402

ROW_BYTES = 4096
WRITE_INTERVAL_S = 0.005
# The writer never outlives a lost controller by much.
WRITE_LIMIT_S = 600
# The snapshot bound is not what is measured here.
NO_BOUND = 1 << 50


def make_data(base: str, db_mb: int, files: int, file_kb: int, journal: str) -> dict:
    shared = os.path.join(base, "shared")
    uploads = os.path.join(shared, "uploads")
    os.makedirs(uploads, exist_ok=True)
    database = os.path.join(shared, "app.db")
    with contextlib.closing(sqlite3.connect(database)) as connection:
        connection.execute(f"PRAGMA journal_mode={journal}")
        connection.execute("CREATE TABLE IF NOT EXISTS rows (id INTEGER PRIMARY KEY, body BLOB)")
        rows = db_mb * 1024 * 1024 // ROW_BYTES
        for start in range(0, rows, 1000):
            connection.executemany("INSERT INTO rows (body) VALUES (?)", ((os.urandom(ROW_BYTES),) for _row in range(min(1000, rows - start))))
            connection.commit()
    for number in range(files):
        with open(os.path.join(uploads, f"upload-{number:05d}.bin"), "wb") as handle:
            handle.write(os.urandom(file_kb * 1024))
    return {"database_bytes": os.path.getsize(database), "files": files, "journal": journal}


def write(base: str, stop: str) -> dict:
    database = os.path.join(base, "shared", "app.db")
    writes, failed, longest = 0, 0, 0.0
    deadline = time.monotonic() + WRITE_LIMIT_S
    with contextlib.closing(sqlite3.connect(database, timeout=30)) as connection:
        while not os.path.exists(stop) and time.monotonic() < deadline:
            started = time.monotonic()
            try:
                connection.execute("INSERT INTO rows (body) VALUES (?)", (os.urandom(256),))
                connection.commit()
                writes += 1
            except sqlite3.OperationalError:
                failed += 1
            longest = max(longest, time.monotonic() - started)
            time.sleep(WRITE_INTERVAL_S)
    return {"writes": writes, "failed": failed, "longest_wait_ms": round(longest * 1000, 1)}


def disk_bytes_added(directory: str) -> int:
    """The blocks a snapshot took: its files with one link only (hard links share shared/'s blocks)."""
    total = 0
    for root, _dirs, names in os.walk(directory):
        for name in names:
            info = os.lstat(os.path.join(root, name))
            if info.st_nlink == 1:
                total += info.st_blocks * 512
    return total


def take(base: str, release: str) -> dict:
    started = time.monotonic()
    manifest = _snapshot.take(base, release, ["app.db"], ["uploads"], NO_BOUND)
    seconds = time.monotonic() - started
    directory = _snapshot.snapshot_dir(base, release)
    with contextlib.closing(sqlite3.connect(os.path.join(directory, "shared", "app.db"))) as copy:
        integrity = copy.execute("PRAGMA integrity_check").fetchone()[0]
    links = next(item for item in manifest["items"] if item["kind"] == "directory")
    return {"seconds": round(seconds, 3), "bytes": manifest["bytes"], "disk_bytes_added": disk_bytes_added(directory),
            "integrity": integrity, "linked": links["linked"], "copied": links["copied"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=("data", "write", "take"))
    parser.add_argument("base")
    parser.add_argument("--db-mb", type=int, default=300)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--file-kb", type=int, default=100)
    parser.add_argument("--journal", choices=("wal", "delete"), default="wal")
    parser.add_argument("--stop")
    parser.add_argument("--release")
    options = parser.parse_args()
    if options.action == "data":
        result = make_data(options.base, options.db_mb, options.files, options.file_kb, options.journal)
    elif options.action == "write":
        result = write(options.base, options.stop)
    else:
        result = take(options.base, options.release)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())

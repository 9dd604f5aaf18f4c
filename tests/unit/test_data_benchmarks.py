"""benchmarks/snapshot_cost.py and watchdog_cost.py: their pure parts, and the snapshot's host half (snapshot_host.py) run here on a small app."""

from __future__ import annotations

import importlib.util
import json
import sqlite3
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# The host half imports the collection's snapshot code as the test host has it: by its full name.
sys.path.insert(0, str(ROOT / "collections"))


def load(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


host_half = load("snapshot_host")
cost = load("snapshot_cost")


def test_a_snapshot_of_the_made_data_is_intact_and_links_the_uploads(tmp_path):
    data = host_half.make_data(str(tmp_path), db_mb=1, files=5, file_kb=4, journal="wal")
    result = host_half.take(str(tmp_path), "r1")
    assert data["database_bytes"] >= 1024 * 1024
    assert result["integrity"] == "ok"
    assert (result["linked"], result["copied"]) == (5, 0)
    # The uploads share their blocks with shared/: only the database's copy takes room.
    assert data["database_bytes"] <= result["disk_bytes_added"] < data["database_bytes"] + 5 * 4096
    with sqlite3.connect(tmp_path / "snapshots" / "r1" / "shared" / "app.db") as copy:
        assert copy.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_the_writer_stops_at_its_stop_file(tmp_path):
    host_half.make_data(str(tmp_path), db_mb=1, files=0, file_kb=1, journal="delete")
    stop = tmp_path / "stop"
    stop.touch()
    assert host_half.write(str(tmp_path), str(stop)) == {"writes": 0, "failed": 0, "longest_wait_ms": 0.0}


def snapshot(seconds, integrity="ok", wait=5.0):
    return {"seconds": seconds, "bytes": 300 << 20, "disk_bytes_added": 200 << 20, "integrity": integrity, "linked": 10, "copied": 0,
            "writer": {"writes": 100, "failed": 0, "longest_wait_ms": wait}}


def results(deploy):
    summary = cost.summarize([snapshot(1.0), snapshot(3.0)], [snapshot(2.0, wait=900.0)], [{"longest_wait_ms": 20.0}])
    return {"date": "2026-12-06T00:00:00+00:00", "data": {"db_mb": 300, "files": 10, "file_kb": 100, "repetitions": 2, "writer": "w"},
            "machine": {"cores": 2, "cpu_model": "cpu", "loadavg_start": [0.5], "loadavg_end": [0.7]},
            "test_host": {"image": "img", "os": "Debian", "sqlite": "3.40", "filesystem": "overlayfs"},
            "journals": [{"journal": "delete", "summary": summary}], "deploy": deploy}


def test_the_table_shows_medians_the_worst_wait_and_intact_copies():
    _header, rows = cost.table(results(None))
    assert rows == [["delete", "2.00 s", "2.00 s", "300 MB", "200 MB", "900 ms / 20 ms", "0 of 100", "yes"]]


def test_a_damaged_copy_says_so():
    summary = cost.summarize([snapshot(1.0, integrity="*** in database main ***")], [snapshot(1.0)], [{"longest_wait_ms": 1.0}])
    assert summary["intact"] is False


def test_the_deploy_comparison_names_its_source_or_its_absence(tmp_path):
    assert cost.deploy_sentence(results(None)) == "No results/deploy_ssh.json to compare with a deploy's time."
    sentence = cost.deploy_sentence(results({"per_push_code_only_s": 4.0, "date": "2026-11-24"}))
    assert "4.0 s" in sentence and "2.0 s" in sentence and "0.50x" in sentence and "2026-11-24" in sentence
    deploy_results = tmp_path / "deploy_ssh.json"
    deploy_results.write_text(json.dumps({"date": "d", "summary": {"code_only_faster": {"ours_per_push_s": 3.5}}}))
    assert cost.deploy_context(deploy_results) == {"per_push_code_only_s": 3.5, "date": "d"}
    assert cost.deploy_context(tmp_path / "absent.json") is None


def test_the_docs_section_sits_between_its_markers():
    section = cost.render_docs_section(results(None))
    assert section.startswith(cost.DOCS_BEGIN) and section.endswith(cost.DOCS_END)
    assert "| delete | 2.00 s |" in section


watchdog = load("watchdog_cost")


def test_the_watchdog_table_says_cpu_per_run_and_per_day():
    variant = {"name": "https", "url": "u", "cpu_seconds": [0.08, 0.1, 0.09], "passed": 3,
               "summary": {"median_s": 0.09, "min_s": 0.08, "max_s": 0.1, "per_day_s": 0.09 * 1440}}
    results = {"runs_per_day": 1440, "runs": 3, "variants": [variant], "date": "d",
               "machine": {"cores": 2, "cpu_model": "cpu", "loadavg_start": [0.5], "loadavg_end": [0.7]},
               "test_host": {"image": "img", "os": "Debian", "python": "3.11"}}
    _header, rows = watchdog.table(results)
    assert rows == [["https", "90 ms (80-100)", "2.2 min", "0.15%", "3 of 3"]]
    section = watchdog.render_docs_section(results)
    assert section.startswith(watchdog.DOCS_BEGIN) and section.endswith(watchdog.DOCS_END)


def test_the_watchdog_config_is_the_roles():
    """The benchmark's config is the one the role writes for the same settings (plugins/module_utils/_watchdog_layout.py)."""
    from ansible_collections.stagecraft.webapp.plugins.module_utils._watchdog_layout import layout

    url = "https://bench.test:8443/healthz"
    settings = {"watchdog_app_name": "bench", "watchdog_app_env": "prod", "inventory_hostname": "bench", "watchdog_present": True,
                "watchdog_health_url": url, "watchdog_connect_address": "127.0.0.1", "watchdog_health_status": 200, "watchdog_connector": "",
                "watchdog_deploy_dir": "/srv/bench/prod", "watchdog_failures": 3, "watchdog_interval": "1min", "watchdog_timeout": 10,
                "watchdog_certificate_warn_days": 14, "watchdog_alert_command": []}
    assert watchdog.config(url) == layout(settings)["config_content"]

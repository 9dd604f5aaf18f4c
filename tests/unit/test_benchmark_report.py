"""The pure parts of benchmarks/gunicorn_servers.py: wrk's report, ratios, the docs table.

The wrk reports below are real: wrk 4.1 (Debian 12) inside a test host against a Flask app under
the development server and gunicorn, including a 404 endpoint, a server slower than wrk's
timeout, a server killed during the run, and one connection (latencies in microseconds).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "gunicorn_servers.py"


def load_script():
    spec = importlib.util.spec_from_file_location("gunicorn_servers", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


bench = load_script()

DEV_SERVER = """\
Running 5s test @ http://127.0.0.1:5000/
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    30.88ms   21.04ms 171.03ms   87.35%
    Req/Sec   560.97    240.52     1.10k    63.27%
  Latency Distribution
     50%   24.16ms
     75%   33.34ms
     90%   57.86ms
     99%  112.44ms
  5561 requests in 5.07s, 0.96MB read
Requests/sec:   1097.30
Transfer/sec:    193.96KB
"""

GUNICORN = """\
Running 5s test @ http://127.0.0.1:8080/
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    14.74ms    7.78ms  82.94ms   76.24%
    Req/Sec     1.12k   456.89     2.33k    73.00%
  Latency Distribution
     50%   13.31ms
     75%   17.39ms
     90%   24.01ms
     99%   43.13ms
  11155 requests in 5.02s, 1.71MB read
Requests/sec:   2220.22
Transfer/sec:    349.08KB
"""

NOT_FOUND = """\
Running 3s test @ http://127.0.0.1:8080/missing
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    15.47ms    4.45ms  93.69ms   81.96%
    Req/Sec     1.04k   178.31     1.64k    83.33%
  Latency Distribution
     50%   14.90ms
     75%   16.55ms
     90%   19.70ms
     99%   30.49ms
  6216 requests in 3.02s, 2.18MB read
  Non-2xx or 3xx responses: 6216
Requests/sec:   2061.51
Transfer/sec:    740.86KB
"""

TIMEOUTS = """\
Running 4s test @ http://127.0.0.1:8081/
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   613.03ms  302.46ms 915.36ms   66.67%
    Req/Sec     2.69      0.85     3.00     92.31%
  Latency Distribution
     50%  613.28ms
     75%  915.36ms
     90%  915.36ms
     99%  915.36ms
  13 requests in 4.07s, 1.96KB read
  Socket errors: connect 0, read 0, write 0, timeout 10
Requests/sec:      3.19
Transfer/sec:     491.98B
"""

SERVER_KILLED = """\
Running 4s test @ http://127.0.0.1:8080/
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    26.86ms   27.21ms 175.46ms   87.46%
    Req/Sec   629.78    323.40     1.12k    60.98%
  Latency Distribution
     50%   14.52ms
     75%   27.54ms
     90%   61.78ms
     99%  138.68ms
  2620 requests in 4.10s, 411.93KB read
  Socket errors: connect 0, read 32, write 6853, timeout 0
Requests/sec:    639.06
Transfer/sec:    100.48KB
"""

MICROSECONDS = """\
Running 2s test @ http://127.0.0.1:5000/
  1 threads and 1 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.05ms    3.15ms  29.26ms   90.27%
    Req/Sec   693.15    392.32     1.60k    70.00%
  Latency Distribution
     50%  685.00us
     75%    2.42ms
     90%    5.04ms
     99%   15.94ms
  1383 requests in 2.00s, 244.46KB read
Requests/sec:    690.79
Transfer/sec:    122.10KB
"""


# gunicorn.conf.py as the role rendered it in the benchmark's test host (role defaults, 2 CPUs).
ROLE_CONF = """\
#
# Ansible managed
#
# gunicorn settings of flask (prod), loaded by flask-prod.service.
# A change here reloads the service (HUP); one to the listening socket or worker class restarts it.
wsgi_app = "app:app"
# Explicit: workers chdir into the `current` symlink each time they start, so a reload serves
# the release `current` points to now (gunicorn would otherwise resolve it once).
chdir = "/srv/flask/prod/current"
proc_name = "flask-prod"

bind = ["127.0.0.1:8000"]
# gunicornc's control socket, in the service's runtime directory.
control_socket = "/run/flask-prod/gunicorn.ctl"

workers = 5
worker_class = "sync"
threads = 1
timeout = 30
graceful_timeout = 30
keepalive = 2
max_requests = 1000
max_requests_jitter = 100
forwarded_allow_ips = "127.0.0.1,::1"

loglevel = "info"
# stdout and stderr go to the journal: journalctl -u flask-prod.service
accesslog = "-"
errorlog = "-"
"""


def test_a_clean_report_gives_requests_rate_and_latencies_in_milliseconds():
    result = bench.parse_wrk(DEV_SERVER)
    assert result.requests == 5561
    assert result.duration_s == pytest.approx(5.07)
    assert result.rps == pytest.approx(1097.30)
    assert result.latency_avg_ms == pytest.approx(30.88)
    assert result.latency_max_ms == pytest.approx(171.03)
    assert result.percentiles_ms == pytest.approx({"50": 24.16, "75": 33.34, "90": 57.86, "99": 112.44})
    assert result.failed == 0


def test_microsecond_latencies_are_converted():
    result = bench.parse_wrk(MICROSECONDS)
    assert result.percentiles_ms["50"] == pytest.approx(0.685)
    assert result.percentiles_ms["99"] == pytest.approx(15.94)
    assert result.duration_s == pytest.approx(2.0)


def test_non_2xx_responses_count_as_failed():
    result = bench.parse_wrk(NOT_FOUND)
    assert result.non_2xx_3xx == 6216
    assert result.failed == 6216


@pytest.mark.parametrize(
    ("report", "sockets", "failed"),
    [
        (TIMEOUTS, {"connect": 0, "read": 0, "write": 0, "timeout": 10}, 10),
        (SERVER_KILLED, {"connect": 0, "read": 32, "write": 6853, "timeout": 0}, 6885),
    ],
)
def test_every_socket_error_counts_as_failed(report, sockets, failed):
    result = bench.parse_wrk(report)
    assert result.socket_errors == sockets
    assert result.failed == failed
    assert result.as_dict()["failed"] == failed


@pytest.mark.parametrize(
    "text",
    [
        "",
        "unable to connect to 127.0.0.1:5999 Connection refused\n",
        DEV_SERVER.replace("Requests/sec:   1097.30\n", ""),
    ],
)
def test_what_is_not_a_complete_report_is_refused(text):
    with pytest.raises(bench.BenchmarkError, match="not a complete wrk report"):
        bench.parse_wrk(text)


def test_a_report_without_latency_distribution_is_refused():
    without = "\n".join(line for line in GUNICORN.splitlines() if "%   " not in line or "Latency " in line)
    with pytest.raises(bench.BenchmarkError, match="--latency"):
        bench.parse_wrk(without)


def variant(name, reports, cpu=None):
    """A measured variant; cpu: (server, journald) CPU seconds of each run."""
    runs = [bench.parse_wrk(report).as_dict() for report in reports]
    for run, (server, journald) in zip(runs, cpu or []):
        run.update(cpu_s_server=server, cpu_s_journald=journald)
    return {"name": name, "label": f"label of {name}", "command": f"run {name}", "workers": 4, "runs": runs, "summary": bench.summarize(runs)}


def test_summary_takes_medians_and_totals():
    summary = bench.summarize([bench.parse_wrk(report).as_dict() for report in (GUNICORN, DEV_SERVER, MICROSECONDS)])
    assert summary["repetitions"] == 3
    assert summary["rps_median"] == pytest.approx(1097.30)
    assert (summary["rps_min"], summary["rps_max"]) == pytest.approx((690.79, 2220.22))
    assert summary["p50_ms_median"] == pytest.approx(13.31)
    assert summary["p99_ms_median"] == pytest.approx(43.13)
    assert summary["requests_total"] == 11155 + 5561 + 1383
    assert summary["failed_total"] == 0


def test_ratios_are_relative_to_the_development_server():
    variants = [variant("flask-dev", [DEV_SERVER], cpu=[(4.0, 0.1)]), variant("gunicorn-seeds", [GUNICORN], cpu=[(5.0, 0.2)])]
    rel = bench.ratios(variants)
    assert rel["flask-dev"] == pytest.approx({"rps": 1.0, "rps_min": 1.0, "rps_max": 1.0, "p50": 1.0, "p99": 1.0, "cpu": 1.0})
    assert rel["gunicorn-seeds"]["rps"] == pytest.approx(2220.22 / 1097.30)
    assert rel["gunicorn-seeds"]["p99"] == pytest.approx(43.13 / 112.44)
    assert rel["gunicorn-seeds"]["cpu"] == pytest.approx((5.2 / 11155) / (4.1 / 5561))


def test_cpu_per_request_counts_journald_and_is_unknown_when_not_measured():
    measured = variant("gunicorn-role", [GUNICORN, GUNICORN, GUNICORN], cpu=[(5.0, 1.0), (4.0, 0.5), (6.0, 2.0)])
    assert measured["summary"]["cpu_ms_per_request_median"] == pytest.approx(6000.0 / 11155)
    assert variant("flask-dev", [DEV_SERVER])["summary"]["cpu_ms_per_request_median"] is None
    rel = bench.ratios([variant("flask-dev", [DEV_SERVER]), measured])
    assert rel["gunicorn-role"]["cpu"] is None


def test_ratios_need_the_baseline():
    with pytest.raises(bench.BenchmarkError, match="baseline"):
        bench.ratios([variant("gunicorn-seeds", [GUNICORN])])


def test_a_zero_baseline_gives_no_ratio():
    assert bench.ratio(5.0, 0.0) is None
    assert bench.format_ratio(None) == "-"
    assert bench.format_ratio(2.0237) == "2.02x"
    assert bench.format_ratio(12.34) == "12.3x"


def results_of(variants):
    return {
        "date": "2026-11-22T18:00:00+00:00",
        "machine": {"cores": 2, "cpu_model": "Some CPU", "kernel": "6.1.0", "loadavg_start": [0.5, 0.4, 0.3], "loadavg_end": [1.5, 1.0, 0.5]},
        "test_host": {"image": "stagecraft-testbed:debian12", "os": "Debian GNU/Linux 12 (bookworm)", "python": "3.11.2"},
        "app": {"path": "examples/flask", "endpoint": "/", "packages": {"Flask": "3.1.3", "gunicorn": "27.0.1"}},
        "load": {"threads": 2, "connections": 32, "duration_s": 15, "warmup_s": 5, "repetitions": 1},
        "variants": variants,
    }


def test_markdown_table_shows_ratios_and_failed_requests_not_absolute_rates():
    table = bench.render_markdown_table(
        results_of(
            [
                variant("flask-dev", [DEV_SERVER], cpu=[(4.0, 0.1)]),
                variant("gunicorn-seeds", [GUNICORN], cpu=[(5.0, 0.2)]),
                variant("gunicorn-role", [NOT_FOUND]),
            ]
        )
    )
    lines = table.splitlines()
    assert lines[0].startswith("| variant | how it runs | workers | req/s vs dev server")
    assert lines[1] == "| --- | --- | --- | --- | --- | --- | --- | --- |"
    assert lines[2] == "| `flask-dev` | label of flask-dev | 4 | 1.00x (1.00x-1.00x) | 1.00x | 1.00x | 1.00x | 0 of 5561 |"
    assert lines[3] == "| `gunicorn-seeds` | label of gunicorn-seeds | 4 | 2.02x (2.02x-2.02x) | 0.55x | 0.38x | 0.63x | 0 of 11155 |"
    assert lines[4].endswith("| 6216 of 12432 |")
    assert "2220" not in table and "1097" not in table


def test_docs_section_says_how_to_reproduce_and_that_machines_are_noisy():
    section = bench.render_docs_section(results_of([variant("flask-dev", [DEV_SERVER]), variant("gunicorn-seeds", [GUNICORN])]))
    assert section.startswith(bench.DOCS_BEGIN)
    assert section.endswith(bench.DOCS_END)
    assert ".venv/bin/python benchmarks/gunicorn_servers.py" in section
    assert "shared and noisy" in section
    assert "`wrk -t2 -c32 -d15s --latency`" in section


def test_docs_section_is_replaced_in_place_and_appended_once():
    section = bench.render_docs_section(results_of([variant("flask-dev", [DEV_SERVER])]))
    appended = bench.replace_docs_section("# Benchmarks\n\nIntro.\n", section)
    assert appended == "# Benchmarks\n\nIntro.\n\n" + section + "\n"
    document = appended + "\n## Another benchmark\n"
    newer = section.replace("2026-11-22", "2026-12-01")
    replaced = bench.replace_docs_section(document, newer)
    assert replaced == "# Benchmarks\n\nIntro.\n\n" + newer + "\n\n## Another benchmark\n"
    assert bench.replace_docs_section(replaced, newer) == replaced


def test_a_docs_file_with_one_marker_is_not_touched():
    with pytest.raises(bench.BenchmarkError, match="markers"):
        bench.replace_docs_section(f"# Benchmarks\n{bench.DOCS_BEGIN}\n", "section")


def test_console_table_lines_up():
    table = bench.render_console_table(results_of([variant("flask-dev", [DEV_SERVER]), variant("gunicorn-seeds", [GUNICORN])]))
    header, rule, *rows = table.splitlines()
    assert header.split()[:2] == ["variant", "workers"]
    assert set(rule.replace(" ", "")) == {"-"}
    assert rows[1].startswith("gunicorn-seeds") and rows[1].endswith("2.02x")


def test_pins_come_from_the_requirements_file_and_must_match(tmp_path):
    (tmp_path / "requirements.txt").write_text("# pinned\nFlask==3.1.3\ngunicorn[gevent]==27.0.1  # server\n\n")
    pins = bench.pinned_requirements(tmp_path)
    assert pins == {"Flask": "3.1.3", "gunicorn": "27.0.1"}
    assert bench.check_pins(pins, {"flask": "3.1.3", "gunicorn": "27.0.1", "pip": "23.0"}) == pins
    with pytest.raises(bench.BenchmarkError, match="gunicorn"):
        bench.check_pins(pins, {"Flask": "3.1.3", "gunicorn": "23.0.0"})


def test_quick_is_short_and_leaves_the_real_results_and_docs_alone():
    options = bench.parse_args(["--quick"])
    assert (options.duration, options.warmup, options.repetitions) == (3, 1, 1)
    assert options.results == bench.QUICK_RESULTS
    assert options.docs is None
    full = bench.parse_args([])
    assert (full.duration, full.warmup, full.repetitions, full.threads, full.connections) == (15, 5, 3, 2, 32)
    assert (full.results, full.docs) == (bench.RESULTS, bench.DOCS)


def test_the_test_host_runs_with_molecules_container_options():
    platform = yaml.safe_load((ROOT / ".config" / "molecule" / "config.yml").read_text())["platforms"][0]
    expected = {f"--cgroupns={platform['cgroupns_mode']}"}
    expected |= {f"--cap-add={cap}" for cap in platform["capabilities"]}
    expected |= {f"--security-opt={opt}" for opt in platform["security_opts"]}
    expected |= {f"--volume={volume}" for volume in platform["volumes"]}
    expected |= {f"--tmpfs={path}" for path in platform["tmpfs"]}
    assert set(bench.CONTAINER_OPTIONS) == expected
    assert bench.CONTAINER_COMMAND == platform["command"]
    assert bench.IMAGE == platform["image"]


def test_the_roles_settings_are_described_in_words():
    assert bench.describe_gunicorn_conf(ROLE_CONF) == "sync workers, access log to the journal, max_requests 1000 (+ up to 100), keepalive 2 s"
    quiet = ROLE_CONF.replace('accesslog = "-"', "accesslog = None").replace("max_requests = 1000", "max_requests = 0")
    assert bench.describe_gunicorn_conf(quiet.replace("threads = 1", "threads = 4")) == "sync workers, 4 threads each, no access log, keepalive 2 s"


def test_docs_section_lists_how_each_variant_runs_with_its_notes():
    dev = {**variant("flask-dev", [DEV_SERVER]), "command": "python app.py", "notes": "debug mode on"}
    seeds = {**variant("gunicorn-seeds", [GUNICORN]), "command": "gunicorn -w 4"}
    section = bench.render_docs_section(results_of([dev, seeds]))
    assert "  - `flask-dev`: `python app.py`; debug mode on\n  - `gunicorn-seeds`: `gunicorn -w 4`\n" in section


def test_role_variables_from_the_command_line_are_read_as_json():
    options = bench.parse_args(["--role-var", "gunicorn_max_requests=0", "--role-var", "gunicorn_log_target=file", "--no-docs"])
    assert options.role_vars == {"gunicorn_max_requests": 0, "gunicorn_log_target": "file"}
    assert options.docs is None
    with pytest.raises(SystemExit):
        bench.parse_args(["--role-var", "workers=4"])


def test_a_run_on_a_busy_machine_says_so():
    quiet = {"cores": 2, "loadavg_start": [0.5, 0.4, 0.3], "loadavg_end": [1.5, 1.0, 0.5]}
    assert bench.contention_note(quiet) == ""
    busy = {**quiet, "loadavg_end": [9.25, 7.0, 5.0]}
    assert bench.contention_note(busy).startswith("During this run the load average (9.2) was above the number of cores (2)")
    results = results_of([variant("flask-dev", [DEV_SERVER])])
    results["machine"]["loadavg_end"] = [9.25, 7.0, 5.0]
    assert "load average (9.2)" in bench.render_docs_section(results)


def test_the_serving_target_compares_the_role_with_the_seeds_gunicorn_in_the_same_run():
    # Issue 22: req/s at least 1.0x the seeds' gunicorn and CPU per request at most 1.1x.
    seeds = variant("gunicorn-seeds", [GUNICORN, DEV_SERVER, GUNICORN], cpu=[(5.0, 0.0), (3.0, 0.0), (5.0, 0.0)])
    role = variant("gunicorn-role", [DEV_SERVER, GUNICORN, GUNICORN], cpu=[(3.0, 0.1), (5.0, 0.1), (5.0, 0.1)])
    for run, load in zip(seeds["runs"] + role["runs"], (3.0, 5.0, 4.0, 6.0, 2.5, 4.5)):
        run["loadavg"] = [load, 1.0, 1.0]
    line = bench.serving_target(results_of([variant("flask-dev", [DEV_SERVER]), seeds, role]))
    # Medians: 2220.22 both; repetition by repetition 0.49x, 2.02x, 1.00x; CPU per request a little more for the role's journald.
    assert line.startswith("- Issue 22's serving target (`gunicorn-role` against `gunicorn-seeds`, this run): req/s 1.00x "
                           "(repetition by repetition 0.49x-2.02x, median 1.00x; target at least 1.0x): **met**; CPU per request 1.02x")
    assert "(target at most 1.1x): **met**" in line
    assert "load average 2.5-6.0 during the measurements" in line
    slower = variant("gunicorn-role", [DEV_SERVER], cpu=[(9.0, 0.0)])
    line = bench.serving_target(results_of([variant("flask-dev", [DEV_SERVER]), variant("gunicorn-seeds", [GUNICORN], cpu=[(5.0, 0.0)]), slower]))
    assert "req/s 0.49x (repetition by repetition 0.49x-0.49x, median 0.49x; target at least 1.0x): **missed**" in line
    assert "CPU per request 3.61x (target at most 1.1x): **missed**" in line
    assert bench.serving_target(results_of([variant("flask-dev", [DEV_SERVER]), seeds])) == ""
    assert line in bench.render_docs_section(results_of([variant("flask-dev", [DEV_SERVER]), variant("gunicorn-seeds", [GUNICORN], cpu=[(5.0, 0.0)]), slower]))

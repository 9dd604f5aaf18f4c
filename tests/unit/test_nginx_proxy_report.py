"""The pure parts of benchmarks/nginx_proxy.py: the docs table, the 90% verdict and its own
docs section beside gunicorn_servers.py's. wrk reports and summaries are shared with
benchmarks/gunicorn_servers.py (tests/unit/test_benchmark_report.py)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from test_benchmark_report import DEV_SERVER, GUNICORN, results_of, variant

ROOT = Path(__file__).resolve().parents[2]


def load_script():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    spec = importlib.util.spec_from_file_location("nginx_proxy", ROOT / "benchmarks" / "nginx_proxy.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


proxy = load_script()


def results(http_report: str) -> dict:
    measured = results_of([variant("gunicorn", [GUNICORN]), variant("nginx-http", [http_report]), variant("nginx-https", [DEV_SERVER])])
    measured["test_host"]["os"] = "Debian GNU/Linux 12 (bookworm)"
    measured["roles"] = {"nginx": "nginx version: nginx/1.22.1"}
    return measured


def test_table_is_relative_to_gunicorn_alone():
    lines = proxy.render_markdown_table(results(DEV_SERVER)).splitlines()
    assert lines[0].startswith("| variant | how it runs | req/s vs gunicorn alone (min-max) | p99 latency vs gunicorn alone")
    assert lines[2].startswith("| `gunicorn` | label of gunicorn | 1.00x (1.00x-1.00x) | 1.00x |")
    assert lines[3].startswith("| `nginx-http` | label of nginx-http | 0.49x (0.49x-0.49x) | 2.61x |")
    assert "2220" not in "\n".join(lines)


def test_verdict_says_whether_nginx_kept_ninety_percent():
    assert "kept 49%" in proxy.verdict(results(DEV_SERVER)) and "**not met**" in proxy.verdict(results(DEV_SERVER))
    assert "(target: at least 90%); met." in proxy.verdict(results(GUNICORN))


def test_verdict_reads_cpu_per_request_as_the_bound_on_a_busy_host():
    measured = proxy.base.ratios(results(GUNICORN)["variants"], "gunicorn")
    assert measured["nginx-http"]["cpu"] is None  # the sample reports carry no CPU times
    with_cpu = results(GUNICORN)
    for variant, seconds in zip(with_cpu["variants"], (10.0, 12.5, 14.0)):
        variant["runs"][0].update(cpu_s_server=seconds, cpu_s_journald=0.0)
        variant["summary"] = proxy.base.summarize(variant["runs"])
    assert "CPU per request is 1.25x gunicorn's alone" in proxy.verdict(with_cpu)
    assert "near 80%" in proxy.verdict(with_cpu)


def test_docs_section_has_its_own_markers_and_leaves_the_gunicorn_section_alone():
    document = "# Benchmarks\n\nIntro.\n\n<!-- BEGIN gunicorn_servers: x -->\ngunicorn table\n<!-- END gunicorn_servers -->\n"
    section = proxy.render_docs_section(results(GUNICORN))
    assert section.startswith(proxy.DOCS_BEGIN) and section.endswith(proxy.DOCS_END)
    updated = proxy.base.replace_docs_section(document, section, proxy.DOCS_BEGIN, proxy.DOCS_END)
    assert "gunicorn table" in updated and updated.count(proxy.DOCS_BEGIN) == 1
    assert proxy.base.replace_docs_section(updated, section, proxy.DOCS_BEGIN, proxy.DOCS_END) == updated
    assert ".venv/bin/python benchmarks/nginx_proxy.py" in section


def test_quick_runs_keep_the_real_results_and_docs():
    options = proxy.parse_args(["--quick"])
    assert options.results == proxy.QUICK_RESULTS and options.docs is None
    assert (options.duration, options.repetitions) == (3, 1)
    assert proxy.parse_args([]).results == proxy.RESULTS

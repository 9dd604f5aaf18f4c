"""What the one-host benchmarks (snapshot_cost.py, watchdog_cost.py) share: their output options,
their tables on the console and in markdown, and the lines that end their docs section."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gunicorn_servers as base  # noqa: E402  (the test host image and the docs file)


def new_parser(doc: str, name: str, quick: str) -> argparse.ArgumentParser:
    """The command line's parser with --quick (whose help says what it shortens), --render-docs, the test host and the outputs."""
    parser = argparse.ArgumentParser(description=doc.split("\n", 1)[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--quick", action="store_true", help=f"smoke run: {quick}; separate results file, docs untouched")
    parser.add_argument("--render-docs", action="store_true", help="only rebuild the docs section from the results file; no measurement")
    parser.add_argument("--image", default=base.IMAGE, help="test host image (make testbed)")
    parser.add_argument("--container", default=f"bench-{name}-{os.getpid()}", help="name of the test host container this run creates and removes")
    parser.add_argument("--results", type=Path, help="results file")
    parser.add_argument("--docs", type=Path, help="markdown file whose generated section is rewritten")
    parser.add_argument("--no-docs", action="store_true", help="leave the docs alone")
    return parser


def resolve_outputs(options: argparse.Namespace, results: Path, quick_results: Path) -> argparse.Namespace:
    """A quick run writes its own results file and leaves the docs alone unless told otherwise."""
    options.results = options.results or (quick_results if options.quick else results)
    options.docs = None if options.no_docs or (options.quick and options.docs is None) else options.docs or base.DOCS
    return options


def console_table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(row[column]) for row in [header, *rows]) for column in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in [header, *rows]]
    return "\n".join([lines[0], "  ".join("-" * width for width in widths), *lines[1:]])


def markdown_table(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _column in header) + " |", *("| " + " | ".join(row) + " |" for row in rows)]


def contention_note(machine: dict) -> str:
    """A sentence (with a trailing space) when the machine was busier than its cores; else ''."""
    busiest = max(machine["loadavg_start"][0], machine["loadavg_end"][0])
    if busiest <= machine["cores"]:
        return ""
    return (f"During this run the load average ({busiest:.1f}) was above the number of cores ({machine['cores']}): other jobs shared "
            "the cores, so seconds are longer than on a quiet machine; CPU time and bytes move less. ")


def closing_lines(results: dict, host: str, script: str, kept: str, minutes: int) -> list[str]:
    """Where and when it was measured (host: the test host's description), the caveat, the command that reproduces the section."""
    machine = results["machine"]
    return [
        f"- Measured {results['date']} on {machine['cores']} cores ({machine['cpu_model']}); load average "
        f"{machine['loadavg_start'][0]:.2f} at the start, {machine['loadavg_end'][0]:.2f} at the end. Test host {host}.",
        "",
        "**Caveat:** shared, noisy machines. " + contention_note(machine) + f"Every {kept} is in `benchmarks/results/{script}.json`.",
        "",
        f"Reproduce after `make setup testbed` (about {minutes} minutes; the section is rewritten from the new results): "
        f"`.venv/bin/python benchmarks/{script}.py`.",
    ]

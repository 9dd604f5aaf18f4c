"""How much of each role's task and vars files is Jinja: the share issue 22 targets (at most 25%).

Counted as issue 22 defines it: of the non-blank, non-comment lines of roles/*/tasks/**/*.yml and
roles/*/vars/**/*.yml, those holding any character inside `{{ }}` or `{% %}`, the delimiters
included; an expression spanning lines counts on each of its lines. A comment line is one whose
first non-blank character is "#". Conditions written without braces (`when:`, `that:`) are Jinja
too, but are not counted: the figure measures templated text, and the anchors' figures (geerlingguy
10%, prometheus-community 20%, ansistrano 27%) were counted the same way.

Run from the repository root:

    .venv/bin/python benchmarks/jinja_share.py           # a table per role and the total
    .venv/bin/python benchmarks/jinja_share.py --files   # per file as well

It reports and never fails on the figure. Only the Python standard library is imported.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROLES = ROOT / "roles"
# An expression or statement, delimiters included; an unclosed one runs to the end of the file.
JINJA = re.compile(r"\{\{.*?(\}\}|\Z)|\{%.*?(%\}|\Z)", re.DOTALL)


def role_files(roles: Path) -> dict[str, list[Path]]:
    """The counted files of each role: tasks/**/*.yml and vars/**/*.yml, sorted."""
    files: dict[str, list[Path]] = {}
    for role in sorted(path for path in roles.iterdir() if path.is_dir()):
        found = sorted(path for folder in ("tasks", "vars") for path in (role / folder).glob("**/*.yml"))
        if found:
            files[role.name] = found
    return files


def count(text: str) -> tuple[int, int]:
    """(Jinja lines, counted lines) of one file's text."""
    jinja_lines = set()
    for match in JINJA.finditer(text):
        first = text.count("\n", 0, match.start())
        jinja_lines.update(range(first, first + match.group(0).count("\n") + 1))
    counted = [number for number, line in enumerate(text.split("\n")) if line.strip() and not line.lstrip().startswith("#")]
    return sum(1 for number in counted if number in jinja_lines), len(counted)


def share(jinja: int, total: int) -> str:
    return "{0:.1f}%".format(100.0 * jinja / total) if total else "-"


def report(roles: Path, per_file: bool = False) -> list[str]:
    """The table: one row per role (and per file if asked), then the total."""
    rows = []
    totals = [0, 0]
    for role, files in role_files(roles).items():
        counts = {path: count(path.read_text(encoding="utf-8")) for path in files}
        jinja = sum(each[0] for each in counts.values())
        lines = sum(each[1] for each in counts.values())
        totals = [totals[0] + jinja, totals[1] + lines]
        rows.append((role, jinja, lines))
        if per_file:
            rows.extend(("  " + str(path.relative_to(roles / role)), *counts[path]) for path in files)
    rows.append(("total", *totals))
    width = max(len(row[0]) for row in rows)
    lines = ["{0:<{width}}  {1:>6}  {2:>6}  {3:>6}".format("role", "jinja", "lines", "share", width=width)]
    lines.extend("{0:<{width}}  {1:>6}  {2:>6}  {3:>6}".format(name, jinja, total, share(jinja, total), width=width)
                 for name, jinja, total in rows)
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--files", action="store_true", help="list every file under its role")
    parser.add_argument("--roles", type=Path, default=ROLES, help="the roles directory (default: this checkout's)")
    args = parser.parse_args(argv)
    print("\n".join(report(args.roles, args.files)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""benchmarks/jinja_share.py: the lines it counts as Jinja are the ones issue 22's target names."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
import jinja_share  # noqa: E402  (a script, not a package: found through sys.path)


@pytest.mark.parametrize(("text", "expected"), [
    ("- name: plain\n  ansible.builtin.debug:\n    msg: hello\n", (0, 3)),
    ("---\n# a comment with {{ braces }}\n\n- x: \"{{ y }}\"\n", (1, 2)),
    # An expression spanning lines counts on each of them, the closing line included.
    ("a: >-\n  {{ [1,\n     2]\n  }}\nb: 1\n", (3, 5)),
    ("a: >-\n  {%- if x -%}\n  y\n  {%- endif -%}\n", (2, 4)),
    # A condition without braces is not counted; a Jinja comment neither.
    ("when: x is defined\nc: \"{# note #}\"\n", (0, 2)),
    # Two expressions on one line count once.
    ("a: \"{{ x }}-{{ y }}\"\n", (1, 1)),
])
def test_count(text, expected):
    assert jinja_share.count(text) == expected


def test_report_lists_each_role_and_the_total(tmp_path):
    (tmp_path / "one" / "tasks" / "sub").mkdir(parents=True)
    (tmp_path / "one" / "tasks" / "sub" / "main.yml").write_text("a: \"{{ x }}\"\nb: 1\n")
    (tmp_path / "one" / "vars").mkdir()
    (tmp_path / "one" / "vars" / "main.yml").write_text("c: \"{{ y }}\"\n")
    (tmp_path / "one" / "defaults").mkdir()
    (tmp_path / "one" / "defaults" / "main.yml").write_text("d: \"{{ z }}\"\n")
    (tmp_path / "two" / "tasks").mkdir(parents=True)
    (tmp_path / "two" / "tasks" / "main.yml").write_text("e: 1\n")
    rows = [line.split() for line in jinja_share.report(tmp_path)]
    assert rows == [["role", "jinja", "lines", "share"], ["one", "2", "3", "66.7%"], ["two", "0", "1", "0.0%"], ["total", "2", "4", "50.0%"]]

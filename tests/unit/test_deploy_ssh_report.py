"""The pure parts of benchmarks/deploy_ssh.py: reading ansible-playbook's recap and the task
times ansible.posix.profile_tasks prints after it."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
import deploy_ssh as ssh  # noqa: E402  (a script, not a package: found through sys.path)

COLUMNS = 80


def profile_line(name: str, seconds: float) -> str:
    """One task's line as profile_tasks prints it (its own format string): the dashes before the
    seconds fill 9 columns, so 10 s or more leaves two of them, 100 s or more one, 1000 s none."""
    return "{0:-<{2}}{1:->9}".format(name + " ", f" {seconds:.02f}s", COLUMNS - 9)


def playbook_output(*tasks: tuple[str, float]) -> str:
    return "\n".join(
        [
            "TASK [stagecraft.webapp.deploy : Make the release] ****************************",
            "changed: [bench]",
            "",
            "PLAY RECAP *********************************************************************",
            "bench                      : ok=40   changed=1    unreachable=0    failed=0    skipped=100  rescued=0    ignored=0",
            "",
            "Sunday 06 December 2026  12:40:00 +0000 (0:00:00.120)       0:20:09.600 *******",
            "===============================================================================",
            *(profile_line(name, seconds) for name, seconds in tasks),
        ]
    )


def test_profile_reads_every_task_whatever_its_time_takes_to_print():
    output = playbook_output(
        ("stagecraft.webapp.deploy : Make and build the release, then switch to it once healthy", 1234.5),
        ("stagecraft.webapp.deploy : Install the requirements", 123.45),
        ("stagecraft.webapp.deploy : Build the frontend", 12.34),
        ("Gathering Facts", 0.52),
        ("stagecraft.webapp.nginx : A task whose name is longer than the whole terminal line is wide, as some of ours are", 9.99),
        ("stagecraft.webapp.nginx : Another name longer than the whole terminal line is wide, and slower than 1000 s", 1000.0),
    )
    assert ssh.parse_profile(output) == [
        {"task": "Make and build the release, then switch to it once healthy", "role": "stagecraft.webapp.deploy", "seconds": 1234.5},
        {"task": "Another name longer than the whole terminal line is wide, and slower than 1000 s", "role": "stagecraft.webapp.nginx", "seconds": 1000.0},
        {"task": "Install the requirements", "role": "stagecraft.webapp.deploy", "seconds": 123.45},
        {"task": "Build the frontend", "role": "stagecraft.webapp.deploy", "seconds": 12.34},
        {"task": "A task whose name is longer than the whole terminal line is wide, as some of ours are", "role": "stagecraft.webapp.nginx",
         "seconds": 9.99},
        {"task": "Gathering Facts", "role": "", "seconds": 0.52},
    ]


def test_a_task_name_wider_than_the_line_leaves_only_the_dashes_before_the_seconds():
    # The forms the parser has to read, as profile_tasks prints them at 80 columns: a short name is
    # padded with dashes; a long one (as many of ours are) keeps three below 10 s, two from 10 s on.
    long_name = "stagecraft.webapp.deploy : Make and build the release, then switch to it once healthy"
    assert profile_line("Gathering Facts", 12.34) == "Gathering Facts " + "-" * 57 + " 12.34s"
    assert profile_line(long_name, 9.99) == long_name + " --- 9.99s"
    assert profile_line(long_name, 12.34) == long_name + " -- 12.34s"
    assert profile_line(long_name, 1234.5) == long_name + "  1234.50s"


def test_profile_and_recap_ignore_what_comes_before_the_recap():
    output = "ok: [bench] => 3.00s\n" + playbook_output(("Gathering Facts", 0.52))
    assert ssh.parse_profile(output) == [{"task": "Gathering Facts", "role": "", "seconds": 0.52}]
    assert ssh.parse_recap(output) == {"ok": 40, "changed": 1, "unreachable": 0, "failed": 0, "skipped": 100, "rescued": 0, "ignored": 0}
    assert ssh.parse_profile("no recap here\nGathering Facts --------- 0.52s") == []

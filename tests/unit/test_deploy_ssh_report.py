"""The pure parts of benchmarks/deploy_ssh.py: reading ansible-playbook's recap and the task
times ansible.posix.profile_tasks prints after it, the floor's costs, and issue 22's targets met or
missed, by how much and why."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

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


def ours_run(seconds: float, ok: int, skipped: int, profile: list[float]) -> dict:
    return {"seconds": seconds, "recap": {"ok": ok, "changed": 0, "skipped": skipped},
            "profile": [{"task": f"task {index}", "role": "stagecraft.webapp.deploy" if index % 2 else "", "seconds": value}
                        for index, value in enumerate(profile)]}


def deploy_results(targets: dict | None = None, floor: dict | None = None) -> dict:
    """ours and the script in every step the targets judge; the whole playbook 80 tasks listed."""
    whole = ours_run(10.0, 50, 30, [2.0, 1.0, 0.5] + [0.05] * 20)
    per_push = ours_run(2.0, 10, 5, [1.0] + [0.05] * 14)
    steps = [("no-change", whole, 4.0), ("code-only", whole, 8.0), ("code-only-per-push", per_push, 4.0)]
    results = {"steps": [{"name": name, "runs": {"ours": ours, "script": {"seconds": script}}} for name, ours, script in steps]}
    if targets is not None:
        results["targets"] = targets
    if floor is not None:
        results["floor"] = floor
    results["summary"] = ssh.summarize(results)
    return results


def test_targets_are_the_issues_unless_the_results_name_their_own():
    targets = deploy_results()["summary"]["issue_targets"]
    assert {key: target["max"] for key, target in targets.items()} == ssh.ISSUE_TARGETS
    assert (targets["tasks_max"]["value"], targets["tasks_max"]["met"]) == (80, False)
    assert (targets["no_change_max_ratio"]["value"], targets["no_change_max_ratio"]["met"]) == (2.5, False)
    assert (targets["code_only_max_ratio"]["value"], targets["code_only_max_ratio"]["met"]) == (1.25, True)
    assert (targets["per_push_max_ratio"]["value"], targets["per_push_max_ratio"]["met"]) == (0.5, True)
    # An older results file's own targets (here the 15 s no-change one) judge nothing now.
    older = deploy_results(targets={"no_change_max_s": 15.0, "tasks_max": 100})["summary"]["issue_targets"]
    assert (older["tasks_max"]["max"], older["tasks_max"]["met"], older["no_change_max_ratio"]["max"]) == (100, True, 1.0)


def test_a_missed_target_says_by_how_much_and_why():
    tasks, no_change, code_only, per_push = ssh.target_lines(deploy_results())
    assert tasks.startswith("No-change run of the whole playbook, tasks listed (ok + skipped in the recap; ok counts the changed "
                            "ones): 80, target at most 60: **missed** by 20 (25% of them would have to go). Why: 50 ran and 30 were "
                            "skipped; the task profile names 23 of them, by role (play) 12, deploy 11.")
    assert no_change.startswith("No-change run of the whole playbook against the script: 10.0 s against the script's 4.0 s, 2.50x; "
                                "target at most 1.0x (4.0 s): **missed**: the run would have to take 60% less time (6.0 s less). "
                                "Why: of its 80 tasks listed, 50 ran and 30 were skipped; 3 round trips took 3.5 s together, and "
                                "5.5 s passed outside any task.")
    assert no_change.endswith(" No floor in this results file to say what such a run costs at the least.")
    assert code_only.endswith("target at most 1.5x (12.0 s): **met**.")
    assert per_push.endswith("target at most 0.6x (2.4 s): **met**.")


def test_the_floor_gives_a_runs_fixed_cost_and_a_module_tasks():
    runs = [{"tasks": 1, "seconds": 2.0, "cpu_s": 1.5, "loadavg": [0.5, 0.7]}, {"tasks": 41, "seconds": 6.0, "cpu_s": 5.5, "loadavg": [0.7, 1.5]}]
    assert ssh.floor_costs(runs) == {"fixed_s": 1.9, "per_task_s": 0.1, "fixed_cpu_s": 1.4, "per_task_cpu_s": 0.1}
    floor = {"module": "ansible.builtin.command", "runs": runs, **ssh.floor_costs(runs)}
    note = ssh.floor_note({"floor": floor})
    assert "with each number of tasks: 1 task(s) 2.0 s and 1.5 CPU s, 41 task(s) 6.0 s and 5.5 CPU s (CPU: the controller's, " in note
    assert note.endswith("a run's fixed cost (Python's start, the inventory, the first SSH connection, the recap) 1.9 s and 1.4 CPU s, "
                         "each module task 0.10 s and 0.10 CPU s.")
    assert "ssh clients; load average 0.5-1.5). The line through them" in note
    assert ssh.floor_note({}) == "Floor: not measured in this results file."
    assert ssh.floor_note({"floor": {**floor, "problems": ["41 task(s): exit status 2"]}}).endswith(
        "It went wrong (41 task(s): exit status 2): no costs from it.")


@pytest.mark.parametrize(("fixed_s", "ending"), [
    (1.9, "puts that run at 1.9 + 3 × 0.10 = 2.2 s were every round trip a no-op, within the 4.0 s allowed: what goes over is the "
          "round trips' own work (3.2 s beyond no-ops) and the other 20 tasks (1.0 s)."),
    (3.9, "puts that run at 3.9 + 3 × 0.10 = 4.2 s were every round trip a no-op: above the 4.0 s allowed already."),
])
def test_the_why_sets_the_round_trips_beside_the_floor(fixed_s, ending):
    floor = {"fixed_s": fixed_s, "per_task_s": 0.1}
    no_change = ssh.target_lines(deploy_results(floor=floor))[1]
    assert no_change.endswith(f"The floor on this host, a run's fixed cost {fixed_s:.1f} s and a no-op module task's 0.10 s, " + ending)


def test_the_results_file_renders_with_and_without_a_floor():
    results = json.loads((ROOT / "benchmarks" / "results" / "deploy_ssh.json").read_text(encoding="utf-8"))
    results["summary"] = ssh.summarize(results)
    section = ssh.render_docs_section(results)
    assert section.startswith(ssh.DOCS_BEGIN) and section.endswith(ssh.DOCS_END)
    assert f"- {ssh.TARGETS_HEADING}" in section and section.count("\n  - ") >= 4
    assert "Floor: not measured in this results file." in section or "The line through them" in section


def test_the_floor_runs_a_play_of_no_op_module_tasks_as_ours_runs_its_playbook(tmp_path, monkeypatch):
    class Host:
        name = "bench-deploy-1-ours"

    ours = ssh.Ours(Host(), key=None, scratch=tmp_path, inventory=tmp_path / "inventory")
    recaps = {1: 1, 41: 40}  # the second run stops a task short

    def deploy(self, step):
        tasks = int(step.removeprefix("floor-"))
        return {"seconds": 1.0 + 0.1 * tasks, "rc": 0, "recap": {"ok": recaps[tasks], "skipped": 0}, "argv": self.argv(step)}

    monkeypatch.setattr(ssh.Floor, "deploy", deploy)
    floor = ssh.measure_floor(ours)
    assert floor["problems"] == ["41 task(s): exit status 0, 40 of 41 task(s) ran"] and "per_task_s" not in floor
    first = floor["runs"][0]
    assert first["argv"][-3:] == ["--limit", Host.name, str(tmp_path / "floor-1.yml")] and len(first["loadavg"]) == 2
    [play] = json.loads((tmp_path / "floor-41.yml").read_text(encoding="utf-8"))
    assert (play["hosts"], play["become"], play["gather_facts"], len(play["tasks"])) == ("webapp", True, False, 41)
    assert play["tasks"][0] == {"name": "Run /bin/true (1)", "ansible.builtin.command": {"argv": ["/bin/true"]}, "changed_when": False}
    recaps[41] = 41
    assert ssh.measure_floor(ours)["per_task_s"] == pytest.approx(0.1)

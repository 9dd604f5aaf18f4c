"""The stagecraft.webapp.files action: its decisions (plugins/module_utils/_files.py) and the action itself run by
ansible-playbook on localhost over files in a temporary folder (check mode, apply, again, --diff, a secret entry)."""

from __future__ import annotations

import grp
import hashlib
import json
import os
import pwd
import subprocess
import sys
from pathlib import Path

import pytest

from ansible_collections.stagecraft.webapp.plugins.module_utils._files import (
    drift_paths, entries_to_write, entry_problems, outcome, shown, write_step)

ROOT = Path(__file__).resolve().parents[4]
ME = pwd.getpwuid(os.getuid()).pw_name
MY_GROUP = grp.getgrgid(os.getgid()).gr_name
SECRET = "s3cret-Value-7f3a"


@pytest.mark.parametrize("entry, problem", [
    ({"path": "etc/app", "content": ""}, "entry 1 (etc/app): path must be an absolute path"),
    ({"path": "/etc/app", "state": "file"}, "entry 1 (/etc/app): a file needs exactly one of template and content"),
    ({"path": "/etc/app", "template": "a.j2", "content": "x"}, "entry 1 (/etc/app): a file needs exactly one of template and content"),
    ({"path": "/etc/app", "state": "directory", "content": "x"}, "entry 1 (/etc/app): state directory takes no content"),
    ({"path": "/etc/app", "state": "absent", "template": "a.j2"}, "entry 1 (/etc/app): state absent takes no template"),
    ({"path": "/etc/app", "state": "directory", "validate": "true %s"}, "entry 1 (/etc/app): validate is for files"),
    ({"path": "/etc/app", "state": "directory", "mode": "u=rwx"}, "entry 1 (/etc/app): mode 'u=rwx' is not an octal mode such as 0644"),
    ({"path": "/etc/app", "state": "link"}, "entry 1 (/etc/app): state 'link' is not one of directory, file, absent"),
])
def test_a_bad_entry_is_named_by_its_path(entry, problem):
    assert entry_problems([entry]) == [problem]


def test_a_path_given_twice_is_refused():
    entries = [{"path": "/etc/app", "state": "directory"}, {"path": "/etc/app", "content": "x"}]
    assert entry_problems(entries) == ["entry 2 (/etc/app): the path is given twice"]


def test_good_entries_have_no_problem():
    entries = [{"path": "/etc/app", "state": "directory", "mode": "0750"}, {"path": "/etc/app/env", "template": "env.j2", "mode": "640"},
               {"path": "/etc/logrotate.d/app", "state": "absent"}]
    assert entry_problems(entries) == []


def test_the_host_is_asked_for_each_entry_with_the_checksum_of_its_content():
    entries = [{"path": "/etc/app", "state": "directory", "owner": "root", "group": "app", "mode": "0750"},
               {"path": "/etc/app/env", "state": "file", "owner": "root", "group": "app", "mode": "0640", "secret": True},
               {"path": "/etc/logrotate.d/app", "state": "absent", "owner": None, "group": None, "mode": None}]
    assert drift_paths(entries, {"/etc/app/env": "A=1\n"}) == [
        {"path": "/etc/app", "state": "directory", "owner": "root", "group": "app", "mode": "0750"},
        {"path": "/etc/app/env", "state": "file", "owner": "root", "group": "app", "mode": "0640", "checksum": hashlib.sha1(b"A=1\n").hexdigest()},
        {"path": "/etc/logrotate.d/app", "state": "absent"},
    ]


def test_only_what_differs_is_written_in_the_order_given():
    entries = [{"path": "/a"}, {"path": "/b"}, {"path": "/c"}]
    assert entries_to_write(entries, ["/c", "/a"]) == [{"path": "/a"}, {"path": "/c"}]


def test_a_file_is_copied_a_directory_and_an_absent_path_go_to_file():
    assert write_step({"path": "/e/f", "state": "file", "owner": "root", "group": None, "mode": "0640", "validate": "v %s"}, "x") == (
        "copy", {"dest": "/e/f", "content": "x", "owner": "root", "mode": "0640", "validate": "v %s"})
    assert write_step({"path": "/e", "state": "directory", "owner": "root", "group": "g", "mode": "0750"}) == (
        "file", {"path": "/e", "state": "directory", "owner": "root", "group": "g", "mode": "0750"})
    assert write_step({"path": "/e/f", "state": "absent", "owner": "root"}) == ("file", {"path": "/e/f", "state": "absent"})


def test_a_secret_write_shows_neither_diff_nor_message():
    result = {"changed": True, "failed": True, "msg": "failed to validate: " + SECRET, "diff": [{"after": SECRET}]}
    report = shown({"path": "/e/env", "secret": True}, result)
    assert SECRET not in json.dumps(report)
    assert report == {"path": "/e/env", "changed": True, "failed": True, "msg": "writing /e/env failed; its output is hidden, as the entry is secret"}


def test_a_write_shows_its_diff_and_the_outcome_names_the_changed_paths():
    reports = [shown({"path": "/e"}, {"changed": True, "diff": {"before": {"mode": "0755"}, "after": {"mode": "0750"}}}),
               shown({"path": "/e/f"}, {"changed": False, "diff": []}),
               shown({"path": "/e/g"}, {"changed": True, "diff": [{"before": "a\n", "after": "b\n"}]})]
    result = outcome(reports)
    assert result["changed"] is True and "failed" not in result
    assert result["changed_paths"] == ["/e", "/e/g"]
    assert result["diff"] == [{"before": {"mode": "0755"}, "after": {"mode": "0750"}}, {"before": "a\n", "after": "b\n"}]


def test_nothing_to_write_is_no_change():
    assert outcome([]) == {"changed": False, "changed_paths": [], "diff": [], "files": []}


def test_a_failed_write_fails_the_outcome_with_its_message():
    result = outcome([shown({"path": "/e/f"}, {"failed": True, "msg": "failed to validate"})])
    assert result["failed"] is True and result["msg"] == "failed to validate"


# The action itself, run by ansible-playbook on localhost.

@pytest.fixture
def playbook(tmp_path):
    """A play over tmp_path/app with a directory, a template, a secret template, a content and an absent path."""
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "app.conf.j2").write_text("# {{ ansible_managed }}\nname = {{ app_name }}\n{% if app_name %}\nset\n{% endif %}\n")
    (tmp_path / "templates" / "env.j2").write_text("SECRET_KEY={{ app_secret }}\n")
    base = tmp_path / "app"
    entries = [
        {"path": str(base), "state": "directory", "owner": ME, "group": MY_GROUP, "mode": "0750"},
        {"path": str(base / "app.conf"), "template": "app.conf.j2", "owner": ME, "group": MY_GROUP, "mode": "0640",
         "validate": "/bin/grep -q name %s"},
        {"path": str(base / "env"), "template": "env.j2", "mode": "0600", "secret": True},
        {"path": str(base / "record.json"), "content": '{"app": "{{ app_name }}"}\n', "mode": "0644"},
        {"path": str(base / "old.conf"), "state": "absent"},
    ]
    play = [{"hosts": "localhost", "gather_facts": False, "vars": {"app_name": "shop", "app_secret": SECRET},
             "tasks": [{"name": "Files", "stagecraft.webapp.files": {"entries": entries}, "register": "files"},
                       {"name": "Show", "ansible.builtin.debug": {"var": "files.changed_paths"}}]}]
    path = tmp_path / "play.yml"
    path.write_text(json.dumps(play))
    return path


def run_play(path, *options):
    completed = subprocess.run(
        [sys.executable, str(Path(sys.executable).parent / "ansible-playbook"), "-c", "local", "-i", "localhost,",
         "-e", f"ansible_python_interpreter={sys.executable}", *options, str(path)],
        cwd=ROOT, capture_output=True, text=True, check=False,
        env=dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_STDOUT_CALLBACK="json"))
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert SECRET not in completed.stdout + completed.stderr
    return json.loads(completed.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]


def test_the_action_checks_writes_and_then_changes_nothing(playbook):
    base = playbook.parent / "app"
    (playbook.parent / "templates" / "old.conf").write_text("unused")
    written = [str(base), str(base / "app.conf"), str(base / "env"), str(base / "record.json")]

    checked = run_play(playbook, "--check", "--diff")
    assert checked["changed"] is True and checked["changed_paths"] == written
    assert not base.exists()

    applied = run_play(playbook, "--diff")
    assert applied["changed_paths"] == written
    assert (base / "app.conf").read_text() == "# Ansible managed\nname = shop\nset\n"
    assert (base / "env").read_text() == "SECRET_KEY={0}\n".format(SECRET)
    assert oct((base / "env").stat().st_mode & 0o777) == "0o600"
    assert (base / "record.json").read_text() == '{"app": "shop"}\n'
    # The diff of the template is shown, the secret's is not.
    assert [diff.get("after_header") for diff in applied["diff"] if "after_header" in diff] == [str(base / "app.conf"), str(base / "record.json")]

    again = run_play(playbook, "--check", "--diff")
    assert again["changed"] is False and again["changed_paths"] == []
    assert run_play(playbook)["changed"] is False

    (base / "old.conf").write_text("stale")
    (base / "env").chmod(0o644)
    repaired = run_play(playbook, "--diff")
    assert repaired["changed_paths"] == [str(base / "env"), str(base / "old.conf")]
    assert not (base / "old.conf").exists() and oct((base / "env").stat().st_mode & 0o777) == "0o600"


def test_a_failed_validation_leaves_the_file_and_names_it(playbook):
    (playbook.parent / "templates" / "app.conf.j2").write_text("nothing to find\n")
    completed = subprocess.run(
        [sys.executable, str(Path(sys.executable).parent / "ansible-playbook"), "-c", "local", "-i", "localhost,",
         "-e", f"ansible_python_interpreter={sys.executable}", str(playbook)],
        cwd=ROOT, capture_output=True, text=True, check=False, env=dict(os.environ, ANSIBLE_NOCOLOR="1"))
    assert completed.returncode != 0 and "failed to validate" in completed.stdout, completed.stdout
    assert not (playbook.parent / "app" / "app.conf").exists()
    # Stopped at the first failure: the secret file after it is not written.
    assert not (playbook.parent / "app" / "env").exists()

"""The deploy role's facts for the whole run (release time, lock holder) reach every host, whatever
the inventory calls the hosts: one named 127.0.0.1 is what the starter wrote for a VM or container
reached through a forwarded port, and its first deploy failed with "object of type 'HostVarsVars'
has no attribute '_deploy_run_facts'"."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1].parent
PLAY = """
- name: The deploy role's run facts, as deploy.yml fixes them
  hosts: webapp
  # A batch at a time, as a rolling deploy goes: the second batch reads what the first fixed.
  serial: 1
  gather_facts: false
  tasks:
    - name: Fix them
      ansible.builtin.include_role:
        name: stagecraft.webapp.deploy
        tasks_from: run_facts
        public: true
    - name: Show what a host reads
      ansible.builtin.debug:
        msg: "run time {{ _deploy_run.time }} holder {{ _deploy_run.holder }}"
"""


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "app1", "localhost"])
def test_every_host_reads_the_run_facts(tmp_path, host):
    (tmp_path / "hosts.ini").write_text("[webapp]\n{0} ansible_connection=local\napp2 ansible_connection=local\n".format(host))
    (tmp_path / "play.yml").write_text(PLAY)
    ran = subprocess.run([str(Path(sys.executable).with_name("ansible-playbook")), "-i", str(tmp_path / "hosts.ini"), str(tmp_path / "play.yml"),
                          "-e", "deploy_timestamp=20261206T101500Z"], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert ran.returncode == 0, ran.stdout[-2000:]
    holders = re.findall(r"run time 20261206T101500Z holder (\S+)", ran.stdout)
    assert len(holders) == 2 and holders[0] == holders[1], ran.stdout[-2000:]

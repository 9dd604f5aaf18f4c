"""What several unit tests share: deploy.yml's input check, run on the controller."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# The input check deploy.yml runs first (the stack role: every composed role's argument spec and
# the rules across roles), on the controller: nothing is read from a host.
CHECK = """
- name: Check the input as deploy.yml does
  hosts: webapp
  connection: local
  gather_facts: false
  vars_files: [{playbooks}/vars/stagecraft.yml]
  roles:
    - role: stagecraft.webapp.stack
"""


@pytest.fixture
def check_input(tmp_path):
    """A function that runs deploy.yml's input check on an inventory (more ansible-playbook arguments after it)."""
    playbook = tmp_path / "check.yml"
    playbook.write_text(CHECK.format(playbooks=ROOT / "playbooks"))

    def run(inventory: Path, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["ansible-playbook", "-i", str(inventory), *args, str(playbook)],
                              cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    return run

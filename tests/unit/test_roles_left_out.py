"""A role a composition leaves out (`stack_firewall: false`, no tunnel, dev without the watchdog)
shows up in the run only as skipped tasks: Ansible still templates each skipped task's name, so a
name that needs what the role's own tasks would have read prints a template-error warning to every
user who turned that role off. Run as a user would, on localhost, every role left out at once."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
ROLES = sorted(role.name for role in (ROOT / "roles").iterdir() if (role / "tasks" / "main.yml").is_file())


def test_roles_left_out_warn_of_nothing(tmp_path):
    playbook = tmp_path / "left_out.yml"
    play = {"name": "Every role left out", "hosts": "localhost", "gather_facts": False,
            "roles": [{"role": f"stagecraft.webapp.{name}", "when": False} for name in ROLES]}
    playbook.write_text(yaml.safe_dump([play]))
    run = subprocess.run(["ansible-playbook", "-i", "localhost,", "-c", "local", str(playbook)], cwd=ROOT, capture_output=True, text=True,
                         check=False, timeout=300, env={**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg")})
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-3000:]
    assert "ok=0" in output and "failed=0" in output, output[-3000:]
    assert "WARNING]" not in output, [line for line in output.splitlines() if "WARNING]" in line or "error" in line]

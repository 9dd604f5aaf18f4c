"""playbooks/starter.yml writes an inventory that passes every composed role's argument specs and
the rules across them, for each framework and environment; bad answers change nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
# The collection by FQCN through the checkout's self-link (see module_utils/conftest.py).
if str(ROOT / "collections") not in sys.path:
    sys.path.insert(0, str(ROOT / "collections"))

from ansible_collections.stagecraft.webapp.plugins.module_utils._starter import starter_files, starter_problems  # noqa: E402

ANSWERS = {"app": "shop", "env": "prod", "framework": "flask", "module": "", "repo": "https://github.com/example/shop.git",
           "host": "app1.example.com", "domain": "shop.example.com", "email": "ops@example.com"}
PASSWORD = "starter-test-password"
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


def starter(target: Path, answers: dict) -> subprocess.CompletedProcess:
    extra = {f"starter_{name}": value for name, value in answers.items()} | {"starter_dir": str(target), "starter_vault_password": PASSWORD}
    return subprocess.run(["ansible-playbook", "playbooks/starter.yml", "-e", json.dumps(extra)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)


@pytest.mark.parametrize("framework", ["flask", "django", "fastapi"])
@pytest.mark.parametrize("env", ["prod", "dev"])
def test_the_inventory_passes_the_checks_deploy_yml_runs_first(tmp_path, framework, env):
    target = tmp_path / "inventories" / f"shop-{env}"
    written = starter(target, ANSWERS | {"framework": framework, "env": env})
    assert written.returncode == 0, written.stdout[-3000:]
    assert PASSWORD not in written.stdout + written.stderr
    vault = target / "group_vars/webapp/vault.yml"
    assert vault.stat().st_mode & 0o077 == 0 and "$ANSIBLE_VAULT" in vault.read_text()
    (tmp_path / "password").write_text(PASSWORD)
    (tmp_path / "check.yml").write_text(CHECK.format(playbooks=ROOT / "playbooks"))
    checked = subprocess.run(["ansible-playbook", "-i", str(target), "--vault-password-file", str(tmp_path / "password"), str(tmp_path / "check.yml")],
                             cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert checked.returncode == 0, checked.stdout[-3000:]


def test_bad_answers_are_refused_naming_each_and_nothing_is_written(tmp_path):
    target = tmp_path / "shop"
    bad = ANSWERS | {"app": "Shop", "repo": "https://me:pw@github.com/example/shop.git", "domain": "localhost", "email": ""}
    refused = starter(target, bad)
    assert refused.returncode != 0 and not target.exists()
    for answer in ("app", "repo carries credentials", "domain", "email"):
        assert answer in refused.stdout, refused.stdout[-2000:]
    assert "me:pw" not in refused.stdout


def test_an_inventory_that_exists_is_never_overwritten(tmp_path):
    target = tmp_path / "shop"
    target.mkdir()
    (target / "hosts.yml").write_text("mine\n")
    refused = starter(target, ANSWERS)
    assert refused.returncode != 0 and "exists already" in refused.stdout
    assert (target / "hosts.yml").read_text() == "mine\n"


@pytest.mark.parametrize("changes, expected", [
    ({"env": "staging"}, 'env "staging" is not dev or prod'),
    ({"framework": "rails"}, 'framework "rails" is not one of flask, django, fastapi'),
    ({"module": "app"}, 'module "app" is not "package.module:callable"'),
    ({"repo": "github.com/example/shop"}, "is not a git URL"),
    ({"host": "-x"}, 'host "-x" is not a host name or address'),
])
def test_each_problem_names_the_answer(changes, expected):
    assert any(expected in problem for problem in starter_problems(ANSWERS | changes)), starter_problems(ANSWERS | changes)


def test_a_private_repository_over_ssh_asks_for_a_deploy_key_and_a_dev_environment_deploys_develop():
    settings = yaml.safe_load(starter_files(ANSWERS | {"repo": "git@github.com:example/shop.git", "env": "dev"})["group_vars/webapp/main.yml"])
    assert settings["deploy_ssh_key"] == "{{ vault_deploy_key }}" and settings["deploy_version"] == "develop"
    assert settings["nginx_tls_mode"] == "selfsigned"

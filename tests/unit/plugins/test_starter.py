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


def starter(target: Path, answers: dict) -> subprocess.CompletedProcess:
    extra = {f"starter_{name}": value for name, value in answers.items()} | {"starter_dir": str(target), "starter_vault_password": PASSWORD}
    return subprocess.run(["ansible-playbook", "playbooks/starter.yml", "-e", json.dumps(extra)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)


def check(tmp_path: Path, check_input, target: Path) -> subprocess.CompletedProcess:
    """deploy.yml's input check on the inventory written to target."""
    (tmp_path / "password").write_text(PASSWORD)
    return check_input(target, "--vault-password-file", str(tmp_path / "password"))


@pytest.mark.parametrize("framework", ["flask", "django", "fastapi"])
@pytest.mark.parametrize("env", ["prod", "dev"])
def test_the_inventory_passes_the_checks_deploy_yml_runs_first(tmp_path, check_input, framework, env):
    target = tmp_path / "inventories" / f"shop-{env}"
    written = starter(target, ANSWERS | {"framework": framework, "env": env})
    assert written.returncode == 0, written.stdout[-3000:]
    assert PASSWORD not in written.stdout + written.stderr
    vault = target / "group_vars/webapp/vault.yml"
    assert vault.stat().st_mode & 0o077 == 0 and "$ANSIBLE_VAULT" in vault.read_text()
    checked = check(tmp_path, check_input, target)
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
    ({"tls": "letsencrypt"}, 'tls "letsencrypt" is not acme (Let\'s Encrypt) or selfsigned'),
    ({"email": ""}, "is not an address: Let's Encrypt's account"),
])
def test_each_problem_names_the_answer(changes, expected):
    assert any(expected in problem for problem in starter_problems(ANSWERS | changes)), starter_problems(ANSWERS | changes)


def test_a_private_repository_over_ssh_asks_for_a_deploy_key_and_a_dev_environment_deploys_develop():
    settings = yaml.safe_load(starter_files(ANSWERS | {"repo": "git@github.com:example/shop.git", "env": "dev"})["group_vars/webapp/main.yml"])
    assert settings["deploy_ssh_key"] == "{{ vault_deploy_key }}" and settings["deploy_version"] == "develop"
    assert settings["nginx_tls_mode"] == "selfsigned"


def test_a_repository_on_the_host_is_a_path_or_a_file_url():
    for repo in ("/srv/git/shop.git", "file:///srv/git/shop.git"):
        assert starter_problems(ANSWERS | {"repo": repo}) == []


def test_django_settings_get_a_writable_data_directory():
    """The release is read-only to the app: a db.sqlite3 beside manage.py cannot be written."""
    settings = yaml.safe_load(starter_files(ANSWERS | {"framework": "django"})["group_vars/webapp/main.yml"])
    assert settings["gunicorn_env_vars"]["DJANGO_DATA_DIR"] == "/srv/shop/prod/shared"


def test_a_trial_host_on_loopback_without_dns_passes_the_checks_as_the_readme_says(tmp_path, check_input):
    """A host reached through a forwarded port on 127.0.0.1 (a VM, a container) with no DNS name:
    README step 2's self-signed certificate for prod, by the starter's answer or by hand; hosts.yml
    shows where the SSH user and port go."""
    readme = " ".join((ROOT / "README.md").read_text().split())
    assert ("answer the starter's certificate question with `selfsigned`, or set `nginx_tls_mode: selfsigned` with"
            " `stack_prod_allow: [selfsigned]` and remove the `nginx_acme_*` lines") in readme
    by_answer = tmp_path / "answered"
    written = starter(by_answer, ANSWERS | {"tls": "selfsigned", "email": ""})
    assert written.returncode == 0, written.stdout[-3000:]
    settings = yaml.safe_load((by_answer / "group_vars/webapp/main.yml").read_text())
    assert settings["nginx_tls_mode"] == "selfsigned" and settings["stack_prod_allow"] == ["selfsigned"]
    assert not [name for name in settings if name.startswith("nginx_acme_")]
    checked = check(tmp_path, check_input, by_answer)
    assert checked.returncode == 0, checked.stdout[-3000:]
    target = tmp_path / "shop-prod"
    written = starter(target, ANSWERS | {"framework": "django", "host": "127.0.0.1", "repo": "file:///srv/git/shop.git"})
    assert written.returncode == 0, written.stdout[-3000:]
    assert "read on the host" in written.stdout
    hosts = (target / "hosts.yml").read_text()
    assert yaml.safe_load(hosts) == {"webapp": {"hosts": {"127.0.0.1": None}}}
    assert "# ansible_user: " in hosts and "# ansible_port: 22 " in hosts
    settings = target / "group_vars/webapp/main.yml"
    kept = [line for line in settings.read_text().splitlines() if not line.startswith(("nginx_tls_mode:", "nginx_acme_"))]
    settings.write_text("\n".join(kept + ["nginx_tls_mode: selfsigned", "stack_prod_allow: [selfsigned]"]) + "\n")
    checked = check(tmp_path, check_input, target)
    assert checked.returncode == 0, checked.stdout[-3000:]

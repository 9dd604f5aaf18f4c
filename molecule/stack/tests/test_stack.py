"""The prod and dev compositions side by side on one host (debian12), as converge.yml deploys them
with one inventory each; debian13 is a client on the scenario's network. The tests run in order:
redeploy prod, break dev, roll prod back, read the status, then feed bad input."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
from conftest import output_tail, run_playbook

HERE = Path(__file__).resolve().parent
INVENTORIES = HERE.parent / "inventories"
DEPLOY = "../../playbooks/deploy.yml"
CA = "/etc/ssl/stagecraft-stack-ca.pem"
PROD = "https://shop.test/"
DEV = "https://dev.shop.test/"


def run(playbook: str, *environments: str, args: tuple[str, ...] = (), **extra_vars):
    """ansible-playbook with molecule's hosts and the named inventories, limited to the stack host."""
    inventories = [f"--inventory={INVENTORIES / name}" for name in environments]
    return run_playbook(playbook, *inventories, "--limit=debian12", *args, extra_vars=extra_vars or None)


def request(host, url: str, *options: str, address: str = "127.0.0.1") -> tuple[int, dict[str, str], str]:
    """(status, lower-cased headers, body) of one GET from `host`, the URL's name resolved to `address`."""
    name = url.split("://", 1)[1].split("/", 1)[0]
    answer = host.run(shlex.join(["curl", "-sS", "--max-time", "10", "--resolve", f"{name}:443:{address}", "-D", "/dev/stderr", *options, url]))
    status = 0
    headers: dict[str, str] = {}
    for line in answer.stderr.splitlines():
        if line.startswith("HTTP/"):
            status, headers = int(line.split()[1]), {}
        elif ":" in line:
            key, value = line.split(":", 1)
            headers[key.strip().lower()] = value.strip()
    return status, headers, answer.stdout


def serving(host, url: str, *options: str) -> str:
    """The commit the app behind `url` answers its health check with."""
    status, dummy, body = request(host, url + "healthz", *options)
    assert status == 200, body
    return json.loads(body)["commit"]


def environment_of(host, unit: str) -> list[str]:
    """The environment the unit's main process runs with."""
    pid = host.check_output(f"systemctl show --property=MainPID --value {unit}")
    return host.check_output(f"tr '\\0' '\\n' < /proc/{pid}/environ").splitlines()


# --- What converge.yml left ---------------------------------------------------------------------

def test_prod_answers_over_https_with_its_certificate_and_headers(stack, commits):
    status, headers, body = request(stack, PROD + "healthz", "--cacert", CA)
    assert status == 200, body
    assert json.loads(body)["commit"] == commits["main"]
    assert headers["strict-transport-security"].startswith("max-age=")
    assert headers["x-content-type-options"] == "nosniff"


def test_dev_answers_with_its_self_signed_certificate_and_no_hsts(stack, commits):
    assert request(stack, DEV + "healthz", "--cacert", CA)[0] == 0, "dev's certificate is not the CA's"
    status, headers, body = request(stack, DEV + "healthz", "--insecure")
    assert status == 200, body
    assert json.loads(body)["commit"] == commits["main"]
    assert "strict-transport-security" not in headers


def test_environments_share_nothing_but_nginx(stack):
    for env in ("prod", "dev"):
        assert stack.user(f"shop-{env}").exists
        assert stack.service(f"shop-{env}.service").is_running
        assert stack.file(f"/srv/shop/{env}/current").is_symlink
        assert stack.file(f"/etc/nginx/stagecraft/sites/shop-{env}.conf").exists
    assert stack.user("shop-prod").uid != stack.user("shop-dev").uid
    assert stack.file("/run/stagecraft/shop-dev.sock").group == "www-data"
    dev_config = stack.file("/etc/stagecraft/shop-dev/gunicorn.conf.py").content_string
    assert "reload = True" in dev_config and "workers = 1" in dev_config
    assert "APP_DEBUG=1" in environment_of(stack, "shop-dev.service")
    assert "APP_DEBUG" not in environment_of(stack, "shop-prod.service")


def test_from_another_machine_prod_answers_dev_refuses_and_the_app_port_is_closed(stack, client):
    address = stack.check_output("hostname -I").split()[0]
    assert request(client, PROD + "healthz", "--insecure", address=address)[0] == 200
    assert request(client, DEV + "healthz", "--insecure", address=address)[0] == 403
    probe = client.run(f"python3 -c 'import socket; socket.create_connection((\"{address}\", 8000), timeout=3)'")
    assert probe.rc != 0, "gunicorn's port 8000 answered from another machine"
    assert re.search(r"^8000\b.*ALLOW", stack.check_output("ufw status"), re.MULTILINE) is None


# --- Runs ----------------------------------------------------------------------------------------

def test_code_deploy_to_prod_leaves_dev_alone(stack, commits):
    deployed, recap = run(DEPLOY, "prod", args=("--tags", "deploy"), deploy_version="code")
    assert deployed.returncode == 0, output_tail(deployed)
    assert serving(stack, PROD, "--cacert", CA) == commits["code"]
    assert serving(stack, DEV, "--insecure") == commits["main"]
    assert re.search(r"shop-prod \(prod\) https://shop\.test/", deployed.stdout), deployed.stdout[-2000:]


def test_a_broken_dev_release_rolls_back_and_prod_keeps_serving(stack, commits):
    broken, recap = run(DEPLOY, "dev", deploy_version="unhealthy")
    assert broken.returncode != 0
    assert "health" in output_tail(broken)
    assert serving(stack, DEV, "--insecure") == commits["main"]
    assert serving(stack, PROD, "--cacert", CA) == commits["code"]


def test_rollback_puts_prods_previous_release_back(stack, commits):
    rolled, recap = run("../../playbooks/rollback.yml", "prod")
    assert rolled.returncode == 0, output_tail(rolled)
    assert serving(stack, PROD, "--cacert", CA) == commits["main"]
    assert serving(stack, DEV, "--insecure") == commits["main"]


def test_status_reports_both_environments(commits):
    status, recap = run("../../playbooks/status.yml", "prod")
    assert status.returncode == 0, output_tail(status)
    assert recap and all(counts["changed"] == 0 for counts in recap.values())
    text = " ".join(status.stdout.split())
    assert f"commit {commits['main'][:12]}" in text
    assert "last deploy: rolled_back" in text
    assert "service active (running)" in text
    assert "health 200" in text
    assert re.search(r"certificate expires \S+ \((89|90) days\)", text), text[-2000:]
    dev, recap = run("../../playbooks/status.yml", "dev")
    assert dev.returncode == 0, output_tail(dev)
    assert "shop-dev (dev) https://dev.shop.test/" in " ".join(dev.stdout.split())


# --- Bad input: refused before anything changes -------------------------------------------------

@pytest.mark.parametrize(("environment", "playbook", "extra_vars", "message"), [
    ("prod", DEPLOY, {"nginx_tls_mode": "selfsigned"}, "nginx_tls_mode is selfsigned"),
    ("prod", DEPLOY, {"nginx_tls_mode": "none"}, "nginx_tls_mode is none: plain HTTP to the world"),
    ("prod", DEPLOY, {"gunicorn_env_vars": {"DJANGO_DEBUG": "true"}}, "debug settings are on"),
    ("prod", DEPLOY, {"deploy_version": "develop"}, "deploy_version is the dev branch develop"),
    ("prod", DEPLOY, {"gunicorn_bind_address": "0.0.0.0"}, "not on loopback"),
    ("dev", DEPLOY, {"nginx_allow": []}, "dev is reachable only from allowed networks"),
    ("dev", "../../playbooks/prod.yml", {}, "this is the prod playbook, but the inventory gives"),
    ("prod", DEPLOY, {"nginx_tls_mode": "letsencrypt"}, "nginx_tls_mode"),
], ids=["prod-selfsigned", "prod-plain-http", "prod-debug", "prod-dev-branch", "prod-public-app-port", "dev-open", "wrong-playbook", "bad-role-variable"])
def test_bad_input_is_refused_before_anything_changes(stack, environment, playbook, extra_vars, message):
    before = stack.check_output("ls -l --time-style=+%s /srv/shop/*/current /etc/nginx/stagecraft/sites")
    refused, recap = run(playbook, environment, **extra_vars)
    assert refused.returncode != 0
    assert message in " ".join(output_tail(refused).split())
    assert all(counts["changed"] == 0 for counts in recap.values()), recap
    assert stack.check_output("ls -l --time-style=+%s /srv/shop/*/current /etc/nginx/stagecraft/sites") == before

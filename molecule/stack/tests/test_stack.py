"""The prod and dev compositions side by side on one host (debian12), as converge.yml deploys them
with one inventory each; debian13 is a client on the scenario's network. The tests run in order:
redeploy prod, break dev, roll prod back, read the status, put back changes made by hand, run
each part of a role alone, deploy prod as AWX runs it, then feed bad input."""

from __future__ import annotations

import configparser
import json
import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest
from conftest import changed_tasks, forwarded_port, new_ssh_session, output_tail, role_part_tags, run_playbook, ssh_connection

HERE = Path(__file__).resolve().parent
INVENTORIES = HERE.parent / "inventories"
PROJECT = HERE.parents[2]
DEPLOY = "../../playbooks/deploy.yml"
CA = "/etc/ssl/stagecraft-stack-ca.pem"
PROD = "https://shop.test/"
DEV = "https://dev.shop.test/"


def run(playbook: str, *environments: str, args: tuple[str, ...] = (), config: Path | None = None, **extra_vars):
    """ansible-playbook with molecule's hosts and the named inventories, limited to the stack host."""
    inventories = [f"--inventory={INVENTORIES / name}" for name in environments]
    return run_playbook(playbook, *inventories, "--limit=debian12", *args, extra_vars=extra_vars or None, config=config)


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


def last_deploy(host, environment: str) -> dict:
    """The newest entry of the environment's deploy record (roles/deploy appends one per deploy)."""
    return json.loads(host.check_output(f"tail -n 1 /srv/shop/{environment}/deploys.jsonl"))


def environment_of(host, unit: str) -> list[str]:
    """The environment the unit's main process runs with."""
    pid = host.check_output(f"systemctl show --property=MainPID --value {unit}")
    return host.check_output(f"tr '\\0' '\\n' < /proc/{pid}/environ").splitlines()


def changed_since(marker: str) -> str:
    """The command that lists what changed since `marker` was touched where the roles write: by
    modification, or by change of owner or mode. Not the watchdog's state: its timer writes it
    every minute, whatever a run does (a new file in the state directory, which changes too)."""
    return (f"find $(ls -d /etc /srv /var/lib/stagecraft /usr/local 2>/dev/null) \\( -newer {marker} -o -cnewer {marker} \\)"
            " -not -path /etc/ld.so.cache -not -path '/var/lib/stagecraft/*/watchdog.json*'"
            " -not \\( -type d -path '/var/lib/stagecraft/*' \\)")


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


def test_the_dev_playbook_run_alone_changes_nothing_and_ends_with_the_report(stack, commits):
    # README's `ansible-playbook playbooks/dev.yml -i inventories/dev`: the composition's one play
    # (playbooks/composition.yml) checks its own input, then reports, since deploy.yml did not.
    # The first run after the broken dev release above prunes it; the second has nothing to do.
    for attempt in ("first", "second"):
        alone, recap = run("../../playbooks/dev.yml", "dev")
        assert alone.returncode == 0, (attempt, output_tail(alone))
    assert recap[stack.backend.get_hostname()]["changed"] == 0, changed_tasks(alone.stdout)
    assert "PLAY [Composition: dev]" in alone.stdout
    assert "stagecraft.webapp.stack : Check the composition against the inventory, then its rules" in alone.stdout
    report = alone.stdout[alone.stdout.rindex("TASK [stagecraft.webapp.stack : Report]"):]
    assert re.search(r"shop-dev \(dev\) https://dev\.shop\.test/", report), report
    assert f"serves commit {commits['main'][:12]}" in report, report


def test_rollback_puts_prods_previous_release_back(stack, commits):
    # tower_job_id: Ansible Tower's name for the job id, which AWX still sets beside awx_job_id.
    rolled, recap = run("../../playbooks/rollback.yml", "prod", tower_job_id=4241)
    assert rolled.returncode == 0, output_tail(rolled)
    assert serving(stack, PROD, "--cacert", CA) == commits["main"]
    assert serving(stack, DEV, "--insecure") == commits["main"]
    assert last_deploy(stack, "prod")["job_id"] == "4241"


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


# --- Drift: what was changed by hand is reported, then put back ------------------------------------

# The roles read what differs in one task (stagecraft.webapp.drift) and run only the tasks for it:
# each change by hand must still make its task report (in check mode too) and put it back.
TAMPER = (
    "chmod 0700 /etc/nginx/stagecraft/sites"
    " && echo '# by hand' >> /etc/nginx/stagecraft/sites/shop-prod.conf"
    " && chmod 0644 /etc/stagecraft/shop-prod/gunicorn.conf.py"
    " && usermod --comment 'by hand' shop-prod"
    " && systemctl --quiet disable nginx"
)
LOOK = (
    "stat -c '%a %n' /etc/nginx/stagecraft/sites /etc/stagecraft/shop-prod/gunicorn.conf.py;"
    " grep -c '^# by hand' /etc/nginx/stagecraft/sites/shop-prod.conf; getent passwd shop-prod | cut -d: -f5; systemctl is-enabled nginx || true"
)
DRIFT_TASKS = {
    "stagecraft.webapp.gunicorn : Create the app's system user (no login shell)",
    "stagecraft.webapp.gunicorn : Keep the role's directories and files",
    # gunicorn.conf.py changed: the service is reloaded.
    "stagecraft.webapp.systemd : Enable and start, stop, restart or reload the units",
    "stagecraft.webapp.nginx : Create the role's directories and sandbox nginx's service with a systemd drop-in",
    "stagecraft.webapp.nginx : Start nginx and enable it at boot",
    "stagecraft.webapp.nginx : Install the server block",
    "stagecraft.webapp.nginx : Reload nginx when its configuration or a certificate changed (restart it to move between every address and named ones)",
}


def test_changes_by_hand_are_reported_in_check_mode_then_put_back(stack):
    stack.check_output(TAMPER)
    tampered = stack.check_output(LOOK)
    checked, recap = run(DEPLOY, "prod", args=("--check",))
    assert checked.returncode == 0, output_tail(checked)
    assert changed_tasks(checked.stdout) == DRIFT_TASKS
    assert stack.check_output(LOOK) == tampered, "check mode changed the host"
    applied, recap = run(DEPLOY, "prod")
    assert applied.returncode == 0, output_tail(applied)
    assert changed_tasks(applied.stdout) == DRIFT_TASKS
    assert stack.check_output(LOOK).splitlines() == [
        "755 /etc/nginx/stagecraft/sites", "640 /etc/stagecraft/shop-prod/gunicorn.conf.py", "0", "gunicorn shop prod (stagecraft)", "enabled"]
    assert serving(stack, PROD, "--cacert", CA)


DEV_TLS = "/etc/nginx/stagecraft/tls/shop-dev"
# nginx reads the self-signed certificate and its key, and makes them again only when they differ.
FOREIGN_CERTIFICATE = (
    f"chmod 0640 {DEV_TLS}/privkey.pem && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
    f" -keyout /dev/null -subj /CN=other.test -days 2 -out {DEV_TLS}/fullchain.pem 2>/dev/null"
)
TLS_TASKS = {
    "stagecraft.webapp.nginx : Make the private key",
    "stagecraft.webapp.nginx : Sign the certificate with its own key",
    "stagecraft.webapp.nginx : Reload nginx when its configuration or a certificate changed (restart it to move between every address and named ones)",
}


def test_a_foreign_certificate_and_a_loose_key_mode_are_put_back(stack):
    stack.check_output(FOREIGN_CERTIFICATE)
    applied, recap = run(DEPLOY, "dev")
    assert applied.returncode == 0, output_tail(applied)
    assert {task for task in changed_tasks(applied.stdout) if "webapp.nginx" in task} == TLS_TASKS
    assert stack.check_output(f"stat -c %a {DEV_TLS}/privkey.pem") == "600"
    assert "dev.shop.test" in stack.check_output(f"openssl x509 -in {DEV_TLS}/fullchain.pem -noout -subject")
    assert serving(stack, DEV, "--insecure")


# --- One part of a role at a time ----------------------------------------------------------------

# The tags of the prod composition's roles that run one part of a role (each role's README lists
# them; the cloudflared role's are run by the prod-tunnel scenario).
PART_TAGS = [tag for role in ("gunicorn", "nginx", "ufw", "deploy") for tag in role_part_tags(role)]


@pytest.mark.parametrize("tag", PART_TAGS)
def test_each_part_of_a_role_runs_alone_on_a_set_up_host_and_changes_nothing(stack, tag):
    done, recap = run(DEPLOY, "prod", args=(f"--tags={tag}",))
    assert done.returncode == 0, output_tail(done)
    assert f"TASK [stagecraft.webapp.{tag.split('-')[0]} : " in done.stdout, "none of the role's tasks ran"
    assert recap and all(counts["changed"] == 0 for counts in recap.values()), changed_tasks(done.stdout)
    assert serving(stack, PROD, "--cacert", CA)


def test_a_run_with_nothing_to_do_is_short_warns_of_nothing_and_ends_with_the_report(stack):
    """As a user runs it from the checkout, with the repository's ansible.cfg: no warning (unmatched
    host patterns of compositions no host uses, a missing directory), no line per skipped task,
    and the last thing before the recap is what serves."""
    done, recap = run(DEPLOY, "prod", config=PROJECT / "ansible.cfg")
    assert done.returncode == 0 and all(counts["changed"] == 0 for counts in recap.values()), output_tail(done)
    assert "WARNING]" not in done.stdout + done.stderr, [line for line in (done.stdout + done.stderr).splitlines() if "WARNING]" in line]
    assert not re.search(r"^skipping: \[", done.stdout, re.MULTILINE)
    assert re.findall(r"^TASK \[(.*?)\]", done.stdout, re.MULTILINE)[-1] == "stagecraft.webapp.stack : Report"
    assert "shop-prod (prod) https://shop.test/" in done.stdout
    assert len(done.stdout.splitlines()) < 300, len(done.stdout.splitlines())


# --- As AWX runs it -------------------------------------------------------------------------------

def run_as_awx(folder: Path, playbook: str, environment: str, job_id: int, limit: str, extravars: dict) -> Path:
    """Run a playbook of the project the way AWX runs a job: ansible-runner on a private data dir with
    the project (this checkout, unchanged), the inventory as AWX serves it after a sync (the export of
    molecule's hosts and the scenario's inventory, printed by a script), the job's extra variables
    and AWX's collections path; the project's ansible.cfg rather than molecule's. Returns the job's
    artifacts folder."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("ANSIBLE_")}
    exported = subprocess.run(
        ["ansible-inventory", f"--inventory={os.environ['MOLECULE_INVENTORY_FILE']}", f"--inventory={INVENTORIES / environment}", "--list", "--export"],
        env=env, capture_output=True, text=True, check=True, timeout=120,
    )
    (folder / "inventory.json").write_text(exported.stdout)
    (folder / "inventory").mkdir()
    (folder / "inventory" / "hosts").write_text(f"#!/bin/sh\nexec cat {shlex.quote(str(folder / 'inventory.json'))}\n")
    (folder / "inventory" / "hosts").chmod(0o755)
    (folder / "project").symlink_to(PROJECT)
    config = configparser.ConfigParser()
    config.read(PROJECT / "ansible.cfg")
    (folder / "env").mkdir()
    (folder / "env" / "envvars").write_text(json.dumps({
        # AWX puts the collections it installed from collections/requirements.yml before the
        # project's own collections_path; from the project folder, ./collections still finds ours.
        "ANSIBLE_COLLECTIONS_PATH": f"{folder / 'requirements_collections'}:{config['defaults']['collections_path']}",
        # The test host is reached through Docker, whose connection does not read ansible.cfg's
        # [ssh_connection]: the pipelining that section gives SSH hosts.
        "ANSIBLE_PIPELINING": config["ssh_connection"]["pipelining"],
    }))
    (folder / "env" / "extravars").write_text(json.dumps(extravars))
    job = subprocess.run(
        ["ansible-runner", "run", str(folder), "--playbook", playbook, "--ident", str(job_id), "--limit", limit],
        env=env, capture_output=True, text=True, check=False, timeout=900,
    )
    artifacts = folder / "artifacts" / str(job_id)
    assert artifacts.is_dir(), job.stdout[-2000:] + job.stderr[-2000:]
    return artifacts


def test_awx_deploys_prod_with_the_playbook_unchanged_and_records_its_job(stack, commits, tmp_path):
    job_id = 4242
    artifacts = run_as_awx(tmp_path, "playbooks/deploy.yml", "prod", job_id, limit="debian12",
                           extravars={"awx_job_id": job_id, "awx_user_name": "awx-operator", "deploy_version": "code",
                                      # The rollback test before took code out of service: put back on purpose.
                                      "deploy_allow_rolled_back": True})
    stdout = re.sub(r"\x1b\[[0-9;]*m", "", (artifacts / "stdout").read_text())
    assert (artifacts / "status").read_text() == "successful", stdout[-4000:]
    assert (artifacts / "rc").read_text() == "0"
    events = [json.loads(path.read_text()) for path in (artifacts / "job_events").glob("*.json")]
    stats = next(event["event_data"] for event in events if event["event"] == "playbook_on_stats")
    host = stack.backend.get_hostname()
    assert set(stats["processed"]) == {host}, "the job's limit was not kept"
    assert stats["failures"] == {} and stats["dark"] == {}
    changed = [event["event_data"] for event in events if event["event"] == "runner_on_ok" and event["event_data"]["res"].get("changed")]
    assert stats["changed"][host] == len(changed) > 0
    # New code, nothing else: only the deploy step changes the host.
    assert {each["role"] for each in changed} == {"deploy"}, [each["task"] for each in changed]
    assert stats["ok"][host] > stats["changed"][host]
    text = " ".join(stdout.split())
    assert "shop-prod (prod) https://shop.test/" in text, stdout[-4000:]
    assert f"commit {commits['code'][:12]}" in text
    assert re.search(rf"last deploy: success of code by awx-operator at \S+ \(\S+ s\), job {job_id}", text), stdout[-4000:]
    record = last_deploy(stack, "prod")
    assert (record["job_id"], record["who"], record["ref"], record["commit"]) == (str(job_id), "awx-operator", "code", commits["code"])
    assert serving(stack, PROD, "--cacert", CA) == commits["code"]


# --- Check mode on a fresh host ---------------------------------------------------------------

def test_check_mode_on_a_fresh_host_runs_to_the_end_shows_the_changes_and_makes_none(client):
    """debian13 has nothing of ours (only the repository): --check --diff of the whole prod
    composition goes through every role, says what each would change, and changes nothing."""
    client.check_output("touch /run/check-marker")
    checked, recap = run_playbook(DEPLOY, f"--inventory={INVENTORIES / 'prod'}", "--limit=debian13", "--check", "--diff")
    assert checked.returncode == 0, output_tail(checked)
    assert recap[client.backend.get_hostname()]["changed"] > 0
    # Each role says what it would do; the gunicorn unit's diff is shown.
    assert {"stagecraft.webapp.gunicorn : Keep the role's directories and files", "stagecraft.webapp.nginx : Install nginx.conf",
            "stagecraft.webapp.ufw : Install ufw",
            "stagecraft.webapp.deploy : Make and build the release, then switch to it once healthy, prune and record",
            } <= changed_tasks(checked.stdout)
    assert "+ExecStart=/srv/shop/prod/current/.venv/bin/gunicorn" in checked.stdout
    assert client.check_output(changed_since("/run/check-marker")) == ""
    assert not client.exists("/srv/shop") and client.run("systemctl cat shop-prod.service").rc != 0


# --- Over SSH as users reach hosts: through a port that is not sshd's --------------------------

def test_prod_over_ssh_through_a_forwarded_port_lets_a_new_connection_in(stack, tmp_path):
    """The whole prod composition, firewall included, over SSH to 127.0.0.1:<some port> forwarded
    to sshd's 22 (NAT, a cloud port forward, a bastion): port 22 stays open and a brand-new
    connection gets in after the run, not only the session the run held."""
    address = stack.check_output("hostname -I").split()[0]
    with forwarded_port(address, 22) as port:
        # An inventory of its own, not extra vars, which would send the tasks delegated to the
        # controller over SSH too.
        over_ssh = tmp_path / "over_ssh.yml"
        over_ssh.write_text(json.dumps({"all": {"hosts": {stack.backend.get_hostname(): ssh_connection(port)}}}))
        deployed, recap = run(DEPLOY, "prod", args=(f"--inventory={over_ssh}",))
        session = new_ssh_session(port)
    assert deployed.returncode == 0 and recap[next(iter(recap))]["failed"] == 0, output_tail(deployed)
    assert "shop-prod (prod) https://shop.test/" in " ".join(deployed.stdout.split())
    assert session.returncode == 0 and session.stdout.strip() == stack.check_output("hostname"), session.stderr
    rules = stack.check_output("ufw status")
    assert re.search(r"^22/tcp\s+LIMIT", rules, re.MULTILINE) and f"{port}/tcp" not in rules, rules


# --- Bad input: refused before anything changes -------------------------------------------------

# A change the run would make if the input were good: gunicorn's config and nginx's site (the
# roles that run first). A refusal must come before either reaches the host.
LEGITIMATE_CHANGE = {"gunicorn_threads": 3, "nginx_client_max_body_size": "11m"}
TUNNEL = {"stack_tunnel": True, "ufw_profile": "tunnel", "nginx_tls_mode": "none", "cloudflared_mode": "token"}


def test_the_legitimate_change_alone_would_change_the_host(stack):
    stack.check_output("touch /run/bad-input-marker")
    checked, recap = run(DEPLOY, "prod", args=("--check",), **LEGITIMATE_CHANGE)
    assert checked.returncode == 0, output_tail(checked)
    assert {"Keep the role's directories and files", "Install the server block"} <= {task.split(" : ")[-1] for task in changed_tasks(checked.stdout)}
    assert stack.check_output(changed_since("/run/bad-input-marker")) == ""


@pytest.mark.parametrize(("environment", "playbook", "extra_vars", "message"), [
    ("prod", DEPLOY, {"nginx_tls_mode": "selfsigned"}, "nginx_tls_mode is selfsigned"),
    ("prod", DEPLOY, {"nginx_tls_mode": "none"}, "nginx_tls_mode is none: plain HTTP to the world"),
    ("prod", DEPLOY, {"gunicorn_env_vars": {"DJANGO_DEBUG": "true"}}, "debug settings are on"),
    ("prod", DEPLOY, {"deploy_version": "develop"}, "deploy_version is the dev branch develop"),
    ("prod", DEPLOY, {"gunicorn_bind_address": "0.0.0.0"}, "not on loopback"),
    ("prod", DEPLOY, {"gunicorn_socket_activation": False}, "gunicorn_socket_activation is false: every restart refuses connections"),
    ("dev", DEPLOY, {"nginx_allow": []}, "dev is reachable only from allowed networks"),
    ("dev", "../../playbooks/prod.yml", {}, "this is the prod playbook, but the inventory gives"),
    ("prod", DEPLOY, {"nginx_tls_mode": "letsencrypt"}, "nginx_tls_mode"),
    ("prod", DEPLOY, {"stack_composition": "balanced", "deploy_maintenance": True}, "deploy_maintenance: the app hosts run no nginx"),
    ("prod", DEPLOY, {"nginx_locations": [{"path": "/media/", "type": "media"}, {"path": "/"}]},
     "nginx_locations has a media location (/media/) but gunicorn_media is false: set gunicorn_media: true"),
    # Each role's own rules, the last roles' first: they ran after the first roles changed the host.
    ("prod", DEPLOY, {"deploy_keep_releases": 0}, "deploy_keep_releases must be at least 1 (got 0)"),
    ("prod", DEPLOY, {"deploy_repo": "https://deployer:canary-password@git.example.com/shop.git"}, "deploy_repo carries credentials in its URL"),
    ("prod", DEPLOY, {"deploy_repo": "file:///etc"}, "deploy_repo file:///etc is not a git repository on the host"),
    ("prod", "../../playbooks/prod.yml", {"deploy_repo": "/etc"}, "deploy_repo /etc is not a git repository on the host"),
    # The per-push path leaves the preflight's read out: the deploy module refuses before it changes anything.
    ("prod", "../../playbooks/release.yml", {"deploy_repo": "/etc"}, "repo /etc is not a git repository on the host"),
    ("prod", DEPLOY, {"ufw_rules": [{"port": 70000}]}, 'ufw_rules[0].port 70000 is not a port (1-65535) or a range "LOW:HIGH"'),
    ("prod", DEPLOY, {"nginx_locations": [{"path": "/files/", "type": "static", "dir": "../../../../../etc"}]},
     'nginx_locations[0].dir "../../../../../etc" climbs with ".."'),
    ("prod", DEPLOY, {**TUNNEL, "cloudflared_token": "not-a-token"}, "cloudflared_token is not a tunnel token"),
    ("dev", DEPLOY, {"gunicorn_workers": 0}, "gunicorn_workers must be at least 1 (got 0)"),
], ids=["prod-selfsigned", "prod-plain-http", "prod-debug", "prod-dev-branch", "prod-public-app-port", "prod-no-socket-activation", "dev-open",
        "wrong-playbook", "bad-role-variable", "balanced-maintenance", "media-without-gunicorn-media",
        "deploy-keep-none", "deploy-repo-password", "deploy-repo-file-url", "deploy-repo-path-prod-playbook", "deploy-repo-path-per-push",
        "ufw-bad-port",
        "nginx-location-climbs", "cloudflared-bad-token", "gunicorn-no-workers"])
def test_bad_input_with_a_legitimate_change_is_refused_before_anything_changes(stack, environment, playbook, extra_vars, message):
    stack.check_output("touch /run/bad-input-marker")
    refused, recap = run(playbook, environment, **{**LEGITIMATE_CHANGE, **extra_vars})
    assert refused.returncode != 0
    assert message in " ".join(output_tail(refused).split())
    assert all(counts["changed"] == 0 for counts in recap.values()), recap
    assert stack.check_output(changed_since("/run/bad-input-marker")) == ""
    assert "canary-password" not in refused.stdout + refused.stderr

"""What the compositions' shared variables (playbooks/vars/stagecraft.yml) give the roles for an
inventory, read as a play of the compositions reads them: ansible-playbook on the controller,
nothing on any host."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
READ = """
- name: Read the variables as the compositions' plays do
  hosts: webapp
  connection: local
  gather_facts: false
  vars_files: [{playbooks}/vars/stagecraft.yml]
  # The variables and defaults of the roles named, as in a composition's play; none of their tasks.
  roles: {roles}
  tasks:
    - name: Write them down
      ansible.builtin.copy:
        content: "{{{{ dict(names | zip(q('ansible.builtin.vars', *names))) | to_json }}}}"
        dest: "{out}"
        mode: "0600"
      vars:
        names: {names}
"""
NAMES = ("nginx_listen_addresses", "nginx_forwarded_proto", "deploy_health_scheme", "deploy_health_host")
PROD = {"stack_app": "shop", "stack_env": "prod", "nginx_server_names": ["shop.example.com"]}


def inventory(tmp_path: Path, inventory_vars: dict) -> Path:
    """An inventory of host web1 in group webapp with `inventory_vars`."""
    path = tmp_path / "hosts.yml"
    path.write_text(yaml.safe_dump({"webapp": {"hosts": {"web1": {"ansible_python_interpreter": sys.executable}}, "vars": inventory_vars}}))
    return path


def composition_vars(tmp_path: Path, inventory_vars: dict, names: tuple[str, ...] = NAMES, roles: tuple[str, ...] = ()) -> dict:
    """The variables `names` a composition's play sees on host web1 whose inventory sets `inventory_vars`, with `roles`' variables."""
    out = tmp_path / "vars.json"
    applied = json.dumps([{"role": f"stagecraft.webapp.{role}", "when": False} for role in roles])
    (tmp_path / "read.yml").write_text(READ.format(playbooks=ROOT / "playbooks", out=out, roles=applied, names=json.dumps(list(names))))
    run = subprocess.run(["ansible-playbook", "-i", str(inventory(tmp_path, inventory_vars)), str(tmp_path / "read.yml")],
                         cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stdout[-3000:]
    return json.loads(out.read_text())


@pytest.mark.parametrize("inventory_vars, expected", [
    # Behind the tunnel nginx listens on loopback and passes on the edge's scheme...
    ({"stack_tunnel": True}, {"nginx_listen_addresses": ["127.0.0.1"], "nginx_forwarded_proto": "https", "deploy_health_scheme": "https"}),
    ({"stack_tunnel": False, "nginx_tls_mode": "none"}, {"nginx_listen_addresses": [], "nginx_forwarded_proto": "", "deploy_health_scheme": "http"}),
    # ...unless the inventory says otherwise: what it sets wins.
    ({"stack_tunnel": True, "nginx_listen_addresses": ["10.0.0.2"], "nginx_forwarded_proto": "http"},
     {"nginx_listen_addresses": ["10.0.0.2"], "nginx_forwarded_proto": "http", "deploy_health_scheme": "http"}),
    ({"stack_tunnel": True, "nginx_listen_addresses": ["127.0.0.1", "::1"]},
     {"nginx_listen_addresses": ["127.0.0.1", "::1"], "nginx_forwarded_proto": "https", "deploy_health_scheme": "https"}),
    ({"stack_tunnel": False, "nginx_listen_addresses": ["10.0.0.2"], "nginx_forwarded_proto": "https"},
     {"nginx_listen_addresses": ["10.0.0.2"], "nginx_forwarded_proto": "https", "deploy_health_scheme": "https"}),
])
def test_the_inventory_wins_over_the_tunnels_defaults(tmp_path, inventory_vars, expected):
    assert composition_vars(tmp_path, PROD | inventory_vars) == expected | {"deploy_health_host": "shop.example.com"}


@pytest.mark.parametrize("inventory_vars, host, scheme", [
    # Django refuses a Host outside ALLOWED_HOSTS: the check asks as nginx passes it on.
    ({"nginx_server_names": ["*.example.com", "~^api[.]", "shop.example.com"]}, "shop.example.com", "https"),
    ({"nginx_server_names": ["*.example.com"]}, "localhost", "https"),
    ({"deploy_health_host": "internal.example.com", "deploy_health_scheme": "http"}, "internal.example.com", "http"),
])
def test_the_health_check_asks_with_the_host_nginx_passes_on_unless_the_inventory_names_one(tmp_path, inventory_vars, host, scheme):
    seen = composition_vars(tmp_path, PROD | inventory_vars)
    assert (seen["deploy_health_host"], seen["deploy_health_scheme"]) == (host, scheme)


@pytest.mark.parametrize("inventory_vars, url", [
    # The watchdog asks nginx on this host what a client asks: a name a client can ask for, never a
    # wildcard or a regular expression (the same name the deploy step's health check sends).
    ({"nginx_server_names": ["*.example.com", "~^api[.]", "shop.example.com"]}, "https://shop.example.com/healthz"),
    ({"nginx_server_names": ["*.example.com"], "nginx_tls_mode": "none", "nginx_http_port": 8080}, "http://localhost:8080/healthz"),
    ({"nginx_https_port": 8443}, "https://shop.example.com:8443/healthz"),
    ({"watchdog_health_url": "https://other.example.com/up"}, "https://other.example.com/up"),
])
def test_the_watchdog_asks_for_a_name_a_client_can_ask_for(tmp_path, inventory_vars, url):
    seen = composition_vars(tmp_path, PROD | {"stack_composition": "prod"} | inventory_vars, ("watchdog_health_url",), ("stack", "watchdog"))
    assert seen == {"watchdog_health_url": url}


SNAPSHOT = {"deploy_snapshot_databases": ["db.sqlite3"]}


@pytest.mark.parametrize("inventory_vars, schedule", [
    # Prod takes a nightly snapshot of what the deploy snapshots...
    (PROD | SNAPSHOT, "*-*-* 03:15:00"),
    (PROD | {"deploy_snapshot_pre_command": "pg_dump shop > $1/shop.sql"}, "*-*-* 03:15:00"),
    # ...when there is something to take; the inventory's own value wins; dev has none.
    (PROD, ""),
    (PROD | SNAPSHOT | {"deploy_snapshot_schedule": ""}, ""),
    (PROD | SNAPSHOT | {"deploy_snapshot_schedule": "hourly"}, "hourly"),
    (PROD | SNAPSHOT | {"stack_env": "dev"}, ""),
])
def test_prod_snapshots_the_data_every_night_unless_the_inventory_says_otherwise(tmp_path, inventory_vars, schedule):
    seen = composition_vars(tmp_path, inventory_vars, ("deploy_snapshot_schedule",), ("stack", "deploy"))
    assert seen == {"deploy_snapshot_schedule": schedule}


TUNNEL = PROD | {"stack_tunnel": True, "nginx_tls_mode": "none", "ufw_profile": "tunnel", "cloudflared_mode": "local",
                 "gunicorn_app_module": "shop:app", "deploy_repo": "https://github.com/example/shop.git"}


@pytest.mark.parametrize("service, refused", [("http://127.0.0.1:80", False), ("http://192.0.2.5:80", True)])
def test_the_check_refuses_ingress_that_misses_nginx_on_loopback(tmp_path, check_input, service, refused):
    rules = [{"hostname": "shop.example.com", "service": service}, {"service": "http_status:404"}]
    run = check_input(inventory(tmp_path, TUNNEL | {"cloudflared_ingress": rules}))
    assert (run.returncode != 0) == refused, run.stdout[-3000:]
    if refused:
        assert ('cloudflared_ingress rule 1 (shop.example.com): service "http://192.0.2.5:80" is not an address nginx listens on'
                " (nginx_listen_addresses: 127.0.0.1; nginx_http_port: 80): name http://127.0.0.1:80") in run.stdout

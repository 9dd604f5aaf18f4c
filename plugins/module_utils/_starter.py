# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""A new app's inventory from a few answers (playbooks/starter.yml): the files of
inventories/<app>-<env>/ for the dev or prod composition, with a framework's usual settings, so a
user edits a working file rather than assembling one.

`answers`: app, env (dev or prod), repo, host, domain, framework (flask, django, fastapi), module
(gunicorn's `module:callable`; empty for the framework's usual one), tls (prod's certificate: acme,
Let's Encrypt, or selfsigned, for a trial host without a DNS name; dev's is always self-signed) and
email (Let's Encrypt's account, prod with acme only). The vault (the app's secret key) is written by the playbook, encrypted.
"""

from __future__ import annotations

import json
import re

from ansible_collections.stagecraft.webapp.plugins.module_utils._rules import APP_NAME, matches, quoted

# What each framework usually needs: gunicorn's app and worker class, the name its settings read
# the secret key from, hooks, and what nginx serves itself.
FRAMEWORKS = {
    "flask": {
        "module": "app:app",
        "worker_class": "gthread",
        "secret": "SECRET_KEY",
        "note": "An app factory is \"package:create_app()\"; the module imports from the release's top directory.",
    },
    "django": {
        "module": "project.wsgi:application",
        "worker_class": "gthread",
        "secret": "DJANGO_SECRET_KEY",
        "note": "Your project's wsgi module. Its settings must read DJANGO_SECRET_KEY, DJANGO_ALLOWED_HOSTS,\n"
                "DJANGO_CSRF_TRUSTED_ORIGINS and DJANGO_DATA_DIR (where db.sqlite3 goes) from the environment: Django reads none.",
        "env": lambda answers: {"DJANGO_ALLOWED_HOSTS": answers["domain"],
                                "DJANGO_CSRF_TRUSTED_ORIGINS": "https://" + answers["domain"],
                                "DJANGO_DATA_DIR": shared_dir(answers)},
        "hooks": {"after_build": ["python manage.py collectstatic --noinput"], "before_switch": ["python manage.py migrate --noinput"]},
        # STATIC_ROOT = BASE_DIR / "staticfiles", filled by collectstatic in each release.
        "locations": [{"path": "/", "type": "proxy"}, {"path": "/static/", "type": "static", "dir": "staticfiles"}],
    },
    "fastapi": {
        "module": "app.main:app",
        # The maintained home of uvicorn's gunicorn worker: uvicorn-worker in the app's requirements.
        "worker_class": "uvicorn_worker.UvicornWorker",
        "secret": "SECRET_KEY",
        "note": "ASGI through uvicorn's worker: the app's requirements need gunicorn and uvicorn-worker.",
    },
}
ENVIRONMENTS = ("dev", "prod")
TLS_MODES = ("acme", "selfsigned")
MODULE = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_]\w*(\(.*\))?")
DOMAIN = re.compile(r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")
HOST = re.compile(r"[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?")
# git's forms: scheme://host/path, user@host:path; a path on the host, or its file:// URL.
REPO = re.compile(r"(https://|ssh://|git@|file:///)[^\s]+|/[^\s]+")
CREDENTIALS_IN_URL = re.compile(r"[a-z+]+://[^/@]*:[^/@]*@")
PRIVATE_NETWORKS = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def starter_problems(answers):
    """What is wrong with the answers, each message naming the answer and what it must be."""
    missing = [name for name in ("app", "repo", "host", "domain") if not answers.get(name)]
    if missing:
        return ["not given: {0} (asked for when the playbook runs in a terminal, else -e starter_<name>=...)".format(", ".join(missing))]
    answers = dict(answers, module=answers.get("module") or "", email=answers.get("email") or "", tls=answers.get("tls") or "acme")
    problems = []
    if not matches(APP_NAME, answers["app"]):
        problems.append('app {0} is not valid: lowercase letters, digits, "_" and "-", starting with a letter'.format(quoted(answers["app"])))
    if answers["env"] not in ENVIRONMENTS:
        problems.append("env {0} is not dev or prod".format(quoted(answers["env"])))
    if answers["framework"] not in FRAMEWORKS:
        problems.append("framework {0} is not one of {1}".format(quoted(answers["framework"]), ", ".join(FRAMEWORKS)))
    if not matches(REPO, answers["repo"]):
        problems.append("repo {0} is not a git URL (https://, ssh://, git@host:path) or a path on the host (/path or file:///path)".format(
            quoted(answers["repo"])))
    elif CREDENTIALS_IN_URL.match(answers["repo"]):
        problems.append("repo carries credentials in its URL: give the URL without them (deploy_token or a deploy key carries them)")
    if not matches(HOST, answers["host"]):
        problems.append("host {0} is not a host name or address".format(quoted(answers["host"])))
    if not matches(DOMAIN, answers["domain"]):
        problems.append("domain {0} is not a DNS name such as shop.example.com".format(quoted(answers["domain"])))
    if answers["module"] and not matches(MODULE, answers["module"]):
        problems.append('module {0} is not "package.module:callable"'.format(quoted(answers["module"])))
    if answers["tls"] not in TLS_MODES:
        problems.append("tls {0} is not acme (Let's Encrypt) or selfsigned (a trial host without a DNS name)".format(quoted(answers["tls"])))
    elif answers["env"] == "prod" and answers["tls"] == "acme" and not matches(EMAIL, answers["email"]):
        problems.append("email {0} is not an address: Let's Encrypt's account for the prod certificate".format(quoted(answers["email"])))
    return problems


def shared_dir(answers):
    """The environment's writable directory (gunicorn_root's default /srv): the release is read-only to the app."""
    return "/srv/{app}/{env}/shared".format(**answers)


def _yaml(value):
    """A YAML value in flow style: JSON is YAML, and reads the same to a person here."""
    return json.dumps(value)


def _main_yml(answers):
    framework = FRAMEWORKS[answers["framework"]]
    prod = answers["env"] == "prod"
    ssh_repo = answers["repo"].startswith(("git@", "ssh://"))
    env_vars = {"APP_ENV": answers["env"]}
    env_vars.update(framework.get("env", lambda answers: {})(answers))
    lines = [
        "---",
        "# Written by playbooks/starter.yml for {0} ({1}): edit what does not fit. Each role's README".format(answers["framework"], answers["env"]),
        "# lists its variables; secrets live in vault.yml (ansible-vault; names start with vault_).",
        "stack_app: " + answers["app"],
        "stack_env: " + answers["env"],
        "",
        *("# " + line for line in framework["note"].split("\n")),
        "gunicorn_app_module: " + _yaml(answers["module"] or framework["module"]),
        "gunicorn_worker_class: " + _yaml(framework["worker_class"]),
        "gunicorn_listen: unix",
        "gunicorn_socket_activation: true",
        "gunicorn_socket_group: www-data",
        "gunicorn_env_vars: " + _yaml(env_vars),
        "gunicorn_secrets:",
        "  {0}: \"{{{{ vault_secret_key }}}}\"".format(framework["secret"]),
        "# The release is read-only to the app: a database, uploads or logs go to {0} (point the app's".format(shared_dir(answers)),
        "# settings there, or link a folder of the release there with deploy_shared_dirs: [logs]).",
        "",
        "nginx_server_names: " + _yaml([answers["domain"]]),
    ]
    if prod and (answers.get("tls") or "acme") == "acme":
        lines += ["# Let's Encrypt (HTTP-01: the name must point at the host and port 80 be open), renewed by a timer.",
                  "nginx_tls_mode: acme", "nginx_acme_email: " + _yaml(answers["email"]), "nginx_acme_terms_agreed: true"]
    elif prod:
        lines += ["# Self-signed, for a trial host without a DNS name (browsers warn once); prod's rules allow it only",
                  "# when told. With a DNS name pointing at the host: nginx_tls_mode: acme and nginx_acme_email.",
                  "nginx_tls_mode: selfsigned", "stack_prod_allow: [selfsigned]"]
    else:
        lines += ["# Self-signed: browsers warn once. dev answers only the networks you reach it from: put yours here.",
                  "nginx_tls_mode: selfsigned", "nginx_allow: " + _yaml(list(PRIVATE_NETWORKS))]
    if framework.get("locations"):
        lines.append("nginx_locations: " + _yaml(framework["locations"]))
    lines += [
        "",
        "# SSH from anywhere, rate limited; list your networks in ufw_ssh_sources to narrow it.",
        "ufw_profile: public",
        "",
        "deploy_repo: " + _yaml(answers["repo"]),
        "deploy_version: " + ("main" if prod else "develop"),
    ]
    if ssh_repo:
        lines += ["# A private repository over SSH: the deploy key in vault.yml (vault_deploy_key) and the git",
                  "# server's host key (ssh-keyscan -t ed25519 <server>) in deploy_known_hosts.",
                  "deploy_ssh_key: \"{{ vault_deploy_key }}\"",
                  "deploy_known_hosts: []"]
    if framework.get("hooks"):
        lines.append("deploy_hooks: " + _yaml(framework["hooks"]))
    lines += [
        "# The health check: a URL of the release that answers 200 once it can serve (asked with this Host);",
        "# without a /healthz, any page that answers 200 without a login (/, /login).",
        "deploy_health_path: /healthz",
        "deploy_health_host: " + _yaml(answers["domain"]),
    ]
    return "\n".join(lines) + "\n"


def _hosts_yml(answers):
    return "\n".join([
        "---",
        "# The hosts of {app}'s {env} environment.".format(**answers),
        "webapp:",
        "  hosts:",
        "    {0}:".format(answers["host"]),
        "      # ansible_user: deploy   # the SSH user (it needs sudo), when it is not your login name",
        "      # ansible_port: 22       # sshd's port, when it is not 22",
    ]) + "\n"


def starter_files(answers):
    """{path relative to the inventory: text} for hosts.yml and group_vars/webapp/main.yml."""
    return {
        "hosts.yml": _hosts_yml(answers),
        "group_vars/webapp/main.yml": _main_yml(answers),
    }

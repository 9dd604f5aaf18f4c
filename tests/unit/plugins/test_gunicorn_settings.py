"""The gunicorn role's preflight rules (plugins/module_utils/_gunicorn_settings.py) through its two
filters: every message, none for settings the role takes, and no secret value in any message."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

# The collection by FQCN through the checkout's self-link (see module_utils/conftest.py).
COLLECTIONS = Path(__file__).resolve().parents[3] / "collections"
if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))

from ansible_collections.stagecraft.webapp.plugins.filter.gunicorn_clash_problems import FilterModule as ClashFilter  # noqa: E402
from ansible_collections.stagecraft.webapp.plugins.filter.gunicorn_problems import FilterModule as ProblemsFilter  # noqa: E402

problems = ProblemsFilter().filters()["gunicorn_problems"]
clash_problems = ClashFilter().filters()["gunicorn_clash_problems"]
WORKER_CLASSES = ("sync, gthread, gevent, asgi, uvicorn_worker.UvicornWorker, uvicorn_worker.UvicornH11Worker, uvicorn.workers.UvicornWorker,"
                  " uvicorn.workers.UvicornH11Worker")
REMOVED = ("gunicorn_start_limit_burst and gunicorn_start_limit_interval_sec were removed: a start limit left the service and its socket failed"
           " for good after a crash loop; the service now restarts after any number of crashes, waiting gunicorn_restart_sec and, on systemd"
           " 254 and later, up to gunicorn_restart_max_delay_sec")
SECRET = 'm0lecule-"s3cret"-$HOME-\\x-7f3a9c'


def settings(**changes):
    """The role's defaults for app "shop" in "prod", as vars/main.yml's _gunicorn_settings hands them over, with `changes`."""
    values = {
        "gunicorn_app_name": "shop", "gunicorn_app_env": "prod", "gunicorn_app_module": "app:app", "gunicorn_worker_class": "sync",
        "gunicorn_workers": None, "gunicorn_threads": 1, "gunicorn_listen": "tcp", "gunicorn_port": 8000, "gunicorn_bind_address": "127.0.0.1",
        "gunicorn_root": "/srv",
        "gunicorn_venv": "", "gunicorn_socket_path": "", "gunicorn_socket_activation": True, "gunicorn_env_vars": {}, "gunicorn_secrets": {},
        "gunicorn_restart_sec": 2, "gunicorn_restart_max_delay_sec": 30, "gunicorn_media": False, "gunicorn_media_group": "www-data",
        "removed_settings": [],
    }
    values.update(changes)
    return values


# The usual cause, and the way out (README.md's vault recipe).
FROM_A_FILE = ("; a value read from a file keeps the file's last line break: encrypt it without"
               " (tr -d '\\n' < FILE | ansible-vault encrypt_string --stdin-name NAME)")


@pytest.mark.parametrize("changes", [
    {},
    {"gunicorn_listen": "unix", "gunicorn_port": 0, "gunicorn_workers": 3, "gunicorn_venv": "/opt/venv",
     "gunicorn_worker_class": "uvicorn_worker.UvicornWorker"},
    {"gunicorn_app_name": "a", "gunicorn_app_env": "dev_2", "gunicorn_app_module": "shop.wsgi:create_app(debug=False)", "gunicorn_port": "65535"},
    {"gunicorn_env_vars": {"DJANGO_SETTINGS_MODULE": "shop.settings", "WORKERS": 2, "_PRIVATE": ""}, "gunicorn_secrets": {"SECRET_KEY": SECRET}},
    # Without socket activation gunicorn binds the socket itself, inside its RuntimeDirectory.
    {"gunicorn_listen": "unix", "gunicorn_socket_activation": "no"},
    {"gunicorn_restart_sec": "5", "gunicorn_restart_max_delay_sec": "5", "gunicorn_app_name": "a" * 27},
    {"gunicorn_media": "yes"},
    # Unused without a media directory.
    {"gunicorn_media_group": "shop-prod"},
])
def test_settings_the_role_takes_have_no_problem(changes):
    assert problems(settings(**changes)) == []


@pytest.mark.parametrize("changes, expected", [
    ({"removed_settings": ["gunicorn_start_limit_burst"]}, [REMOVED]),
    ({"gunicorn_restart_max_delay_sec": "1", "gunicorn_restart_sec": "5"}, ["gunicorn_restart_max_delay_sec (1) must be at least gunicorn_restart_sec (5)"]),
    ({"gunicorn_app_name": "Shop.App"}, [
        'gunicorn_app_name "Shop.App" is not a valid unit and user name part: lowercase letters, digits, "_" and "-", starting with a letter']),
    ({"gunicorn_app_name": "shop-"}, [
        'gunicorn_app_name "shop-" is not a valid unit and user name part: lowercase letters, digits, "_" and "-", starting with a letter']),
    # A trailing line break once passed "^...$".
    ({"gunicorn_app_name": "shop\n"}, [
        'gunicorn_app_name "shop\\n" is not a valid unit and user name part: lowercase letters, digits, "_" and "-", starting with a letter']),
    ({"gunicorn_app_name": "caf\u00e9"}, [
        'gunicorn_app_name "caf\\u00e9" is not a valid unit and user name part: lowercase letters, digits, "_" and "-", starting with a letter']),
    ({"gunicorn_app_env": "pro-d"}, ['gunicorn_app_env "pro-d" is not valid: lowercase letters, digits and "_", starting with a letter (no "-")']),
    ({"gunicorn_app_name": "a" * 28}, [
        'gunicorn_app_name and gunicorn_app_env make the user name "{0}-prod" of 33 characters; at most 32 are allowed'.format("a" * 28)]),
    ({"gunicorn_app_module": "app"}, ['gunicorn_app_module "app" is not "package.module:callable"']),
    ({"gunicorn_app_module": "shop.:app"}, ['gunicorn_app_module "shop.:app" is not "package.module:callable"']),
    ({"gunicorn_worker_class": "tornado"}, ['gunicorn_worker_class "tornado" is unknown; one of: ' + WORKER_CLASSES]),
    ({"gunicorn_workers": 0, "gunicorn_threads": 0, "gunicorn_port": 70000}, [
        "gunicorn_workers must be at least 1 (got 0)", "gunicorn_threads must be at least 1 (got 0)", "gunicorn_port must be within 1-65535 (got 70000)"]),
    # Read as Jinja's int filter reads them: what is no number counts as 0.
    ({"gunicorn_workers": "abc", "gunicorn_threads": "-1", "gunicorn_port": "0"}, [
        "gunicorn_workers must be at least 1 (got abc)", "gunicorn_threads must be at least 1 (got -1)", "gunicorn_port must be within 1-65535 (got 0)"]),
    ({"gunicorn_root": "srv", "gunicorn_venv": "venv"}, [
        'gunicorn_root must be an absolute path (got "srv")', 'gunicorn_venv must be empty or an absolute path (got "venv")']),
    ({"gunicorn_listen": "unix", "gunicorn_socket_path": "x.sock"}, ['gunicorn_socket_path must be an absolute path (got "x.sock")']),
    ({"gunicorn_listen": "unix", "gunicorn_socket_path": "/run/shop-prod/g.sock"}, [
        'gunicorn_socket_path "/run/shop-prod/g.sock" is inside the service\'s RuntimeDirectory /run/shop-prod, which systemd hands to the'
        " app's user and group on start, taking the socket from gunicorn_socket_group; leave it empty for /run/stagecraft/shop-prod.sock"]),
    ({"gunicorn_env_vars": {"A-B": "1", "OK": "2", "1X": "3"}, "gunicorn_secrets": {"my secret": SECRET}}, [
        "gunicorn_env_vars/gunicorn_secrets: not valid variable names: A-B, 1X, my secret"]),
    ({"gunicorn_env_vars": {"A": "a\nb", "B": "ok", "C": ["x\ny"]}, "gunicorn_secrets": {"S": SECRET + "\r", "T": "fine"}}, [
        "gunicorn_env_vars/gunicorn_secrets: a value contains a line break, which an environment file cannot hold (A, S)" + FROM_A_FILE]),
    # nginx in the app's own group would read its environment file (the secrets).
    ({"gunicorn_media": True, "gunicorn_media_group": "shop-prod"}, [
        'gunicorn_media_group "shop-prod" must be the group nginx runs as (www-data), not the app\'s own group nor root\'s']),
    ({"gunicorn_media": True, "gunicorn_media_group": "root"}, [
        'gunicorn_media_group "root" must be the group nginx runs as (www-data), not the app\'s own group nor root\'s']),
])
def test_each_problem_names_the_variable(changes, expected):
    assert problems(settings(**changes)) == expected


def test_every_problem_is_reported_at_once_in_the_rules_order():
    found = problems(settings(removed_settings=["gunicorn_start_limit_interval_sec"], gunicorn_restart_max_delay_sec=0, gunicorn_app_module="app",
                              gunicorn_threads=0, gunicorn_secrets={"bad key": "x\ny"}))
    assert found == [
        REMOVED, "gunicorn_restart_max_delay_sec (0) must be at least gunicorn_restart_sec (2)",
        'gunicorn_app_module "app" is not "package.module:callable"', "gunicorn_threads must be at least 1 (got 0)",
        "gunicorn_env_vars/gunicorn_secrets: not valid variable names: bad key",
        "gunicorn_env_vars/gunicorn_secrets: a value contains a line break, which an environment file cannot hold (bad key)" + FROM_A_FILE,
    ]


@pytest.mark.parametrize("secret", [SECRET, SECRET + "\n", "\n" + SECRET, "s3cret\r\n"])
def test_no_message_holds_a_secret_value(secret):
    """Whatever else is wrong, a message names a secret's key, never its value."""
    found = problems(settings(gunicorn_app_name="Bad", gunicorn_secrets={"SECRET_KEY": secret, "bad-key": secret}))
    assert "bad-key" in " ".join(found)
    assert not any(secret.strip() in message or "s3cret" in message for message in found)


OTHERS = [
    {"instance": "flask-prod", "listen": "tcp", "port": 8000, "socket": None},
    {"instance": "flask-dev", "listen": "unix", "port": None, "socket": "/run/stagecraft/flask-dev.sock"},
    {"instance": "api-prod", "listen": "tcp", "port": 8001, "socket": None},
]


@pytest.mark.parametrize("changes, expected", [
    ({}, ["gunicorn_port 8000 is already used by flask-prod on this host; choose another one."]),
    ({"gunicorn_port": "8000"}, ["gunicorn_port 8000 is already used by flask-prod on this host; choose another one."]),
    ({"gunicorn_port": 8002}, []),
    ({"gunicorn_listen": "unix", "gunicorn_socket_path": "/run/stagecraft/flask-dev.sock"}, [
        "gunicorn_socket_path /run/stagecraft/flask-dev.sock is already used by flask-dev on this host; choose another one."]),
    # A TCP app on port 8000 does not clash with a socket.
    ({"gunicorn_listen": "unix", "gunicorn_port": 8000}, []),
])
def test_a_port_or_socket_another_app_uses_is_refused(changes, expected):
    assert clash_problems(settings(**changes), OTHERS) == expected
    assert clash_problems(settings(**changes), []) == []


def test_every_app_on_the_port_is_named():
    assert clash_problems(settings(), OTHERS + [{"instance": "old-prod", "listen": "tcp", "port": 8000}]) == [
        "gunicorn_port 8000 is already used by flask-prod, old-prod on this host; choose another one."]


def test_the_role_hands_over_every_setting_the_rules_read():
    role_vars = yaml.safe_load((COLLECTIONS.parent / "roles" / "gunicorn" / "vars" / "main.yml").read_text())
    specs = yaml.safe_load((COLLECTIONS.parent / "roles" / "gunicorn" / "meta" / "argument_specs.yml").read_text())
    assert role_vars["_gunicorn_setting_names"] == list(specs["argument_specs"]["main"]["options"])
    assert set(settings()) <= set(role_vars["_gunicorn_setting_names"]) | {"removed_settings"}

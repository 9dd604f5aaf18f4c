# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The settings of stagecraft.webapp.gunicorn, checked before anything changes on a host.

`settings` holds the role's variables by name (gunicorn_app_name, gunicorn_port, ...) and
`removed_settings`, the names of removed variables that are still set. The names derived from them
(instance <app>-<env>, socket_path, run_dir, the service's RuntimeDirectory, socket_dir) come from
_gunicorn_layout.names, as the role's tasks get them.

gunicorn_secrets' values are read (a line break in one would break the environment file) but
never written into a message: a message names the keys only.
"""

from __future__ import annotations

import re

from ansible_collections.stagecraft.webapp.plugins.module_utils._gunicorn_layout import names
from ansible_collections.stagecraft.webapp.plugins.module_utils._rules import APP_NAME, ENV_NAME, as_bool, as_int, matches, quoted

# "pkg.module:callable" or "pkg.module:factory(...)".
MODULE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*(\(.*\))?")
ENV_VAR = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
WORKER_CLASSES = (
    "sync",
    "gthread",
    "gevent",
    "asgi",
    "uvicorn_worker.UvicornWorker",
    "uvicorn_worker.UvicornH11Worker",
    "uvicorn.workers.UvicornWorker",
    "uvicorn.workers.UvicornH11Worker",
)
# useradd refuses longer user names.
USER_MAX_LENGTH = 32
LINE_BREAK = re.compile(r"[\r\n]")


def _restart_problems(settings):
    problems = []
    if settings.get("removed_settings"):
        problems.append("gunicorn_start_limit_burst and gunicorn_start_limit_interval_sec were removed: a start limit left the service and its"
                        " socket failed for good after a crash loop; the service now restarts after any number of crashes, waiting"
                        " gunicorn_restart_sec and, on systemd 254 and later, up to gunicorn_restart_max_delay_sec")
    delay, longest = settings["gunicorn_restart_sec"], settings["gunicorn_restart_max_delay_sec"]
    if as_int(longest) < as_int(delay):
        problems.append("gunicorn_restart_max_delay_sec ({0}) must be at least gunicorn_restart_sec ({1})".format(longest, delay))
    return problems


def _name_problems(settings):
    problems = []
    name, env, instance = settings["gunicorn_app_name"], settings["gunicorn_app_env"], names(settings)["instance"]
    if not matches(APP_NAME, name):
        problems.append('gunicorn_app_name {0} is not a valid unit and user name part: lowercase letters, digits, "_" and "-",'
                        " starting with a letter".format(quoted(name)))
    if not matches(ENV_NAME, env):
        problems.append('gunicorn_app_env {0} is not valid: lowercase letters, digits and "_", starting with a letter (no "-")'.format(quoted(env)))
    if len(instance) > USER_MAX_LENGTH:
        problems.append("gunicorn_app_name and gunicorn_app_env make the user name {0} of {1} characters; at most {2} are allowed".format(
            quoted(instance), len(instance), USER_MAX_LENGTH))
    if not matches(MODULE, settings["gunicorn_app_module"]):
        problems.append('gunicorn_app_module {0} is not "package.module:callable"'.format(quoted(settings["gunicorn_app_module"])))
    if settings["gunicorn_worker_class"] not in WORKER_CLASSES:
        problems.append("gunicorn_worker_class {0} is unknown; one of: {1}".format(quoted(settings["gunicorn_worker_class"]), ", ".join(WORKER_CLASSES)))
    return problems


def _number_and_path_problems(settings):
    problems = []
    workers, threads, port = settings["gunicorn_workers"], settings["gunicorn_threads"], settings["gunicorn_port"]
    unix = settings["gunicorn_listen"] == "unix"
    if workers is not None and as_int(workers) < 1:
        problems.append("gunicorn_workers must be at least 1 (got {0})".format(workers))
    if as_int(threads) < 1:
        problems.append("gunicorn_threads must be at least 1 (got {0})".format(threads))
    if settings["gunicorn_listen"] == "tcp" and not 1 <= as_int(port) <= 65535:
        problems.append("gunicorn_port must be within 1-65535 (got {0})".format(port))
    if not str(settings["gunicorn_root"]).startswith("/"):
        problems.append("gunicorn_root must be an absolute path (got {0})".format(quoted(settings["gunicorn_root"])))
    venv = settings["gunicorn_venv"]
    if venv and not str(venv).startswith("/"):
        problems.append("gunicorn_venv must be empty or an absolute path (got {0})".format(quoted(venv)))
    derived = names(settings)
    socket_path, run_dir = derived["socket_path"], derived["run_dir"]
    if unix and not socket_path.startswith("/"):
        problems.append("gunicorn_socket_path must be an absolute path (got {0})".format(quoted(settings["gunicorn_socket_path"])))
    if unix and as_bool(settings["gunicorn_socket_activation"]) and socket_path.startswith(run_dir + "/"):
        problems.append("gunicorn_socket_path {0} is inside the service's RuntimeDirectory {1}, which systemd hands to the app's user and group"
                        " on start, taking the socket from gunicorn_socket_group; leave it empty for {2}/{3}.sock".format(
                            quoted(socket_path), run_dir, derived["socket_dir"], derived["instance"]))
    return problems


def _environment_problems(settings):
    problems = []
    variables = list(settings["gunicorn_env_vars"].items()) + list(settings["gunicorn_secrets"].items())
    invalid = [key for key, _value in variables if not matches(ENV_VAR, key)]
    if invalid:
        problems.append("gunicorn_env_vars/gunicorn_secrets: not valid variable names: {0}".format(", ".join(str(key) for key in invalid)))
    # The keys only: a value may be a secret. str() reads a vaulted value (not a str) decrypted.
    broken = [str(key) for key, value in variables if LINE_BREAK.search(str(value))]
    if broken:
        problems.append("gunicorn_env_vars/gunicorn_secrets: a value contains a line break, which an environment file cannot hold ({0});"
                        " a value read from a file keeps the file's last line break: encrypt it without"
                        " (tr -d '\\n' < FILE | ansible-vault encrypt_string --stdin-name NAME)".format(", ".join(broken)))
    return problems


def _media_problems(settings):
    """The media directory's group is nginx's: the app's own group (or root's) would defeat it."""
    group = str(settings.get("gunicorn_media_group", ""))
    if not as_bool(settings.get("gunicorn_media", False)):
        return []
    if group in ("", "root", names(settings)["instance"]):
        return ["gunicorn_media_group {0} must be the group nginx runs as (www-data), not the app's own group nor root's".format(quoted(group))]
    return []


def settings_problems(settings):
    """One message per problem of the gunicorn role's `settings`, each naming the variable at fault."""
    return (_restart_problems(settings) + _name_problems(settings) + _number_and_path_problems(settings) + _environment_problems(settings)
            + _media_problems(settings))


def clash_problems(settings, records):
    """Where this instance would listen on a port or socket another app or environment on the host
    already uses: `records` are the other instances' gunicorn.json records (as the role writes them)."""
    if settings["gunicorn_listen"] == "tcp":
        named, field, value = "gunicorn_port {0}".format(settings["gunicorn_port"]), "port", as_int(settings["gunicorn_port"])
    else:
        socket_path = names(settings)["socket_path"]
        named, field, value = "gunicorn_socket_path {0}".format(socket_path), "socket", socket_path
    users = [str(record.get("instance")) for record in records if record.get("listen") == settings["gunicorn_listen"] and record.get(field) == value]
    if not users:
        return []
    return ["{0} is already used by {1} on this host; choose another one.".format(named, ", ".join(users))]

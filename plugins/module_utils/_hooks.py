# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Running things as the app's user: build steps and the deploy hooks.

The deploy runs as root; everything that executes the app's code or its dependencies' build
scripts (pip, npm, migrate, collectstatic) runs as the app's own unprivileged user through
`setpriv` (util-linux), with the app's environment file loaded, the release's venv first on PATH
and the release as the working directory, the way the service itself will run.
"""

from __future__ import annotations

import os
import pwd
import tempfile

from ansible_collections.stagecraft.webapp.plugins.module_utils._commands import Runner
from ansible_collections.stagecraft.webapp.plugins.module_utils._errors import DeployError

PHASES = ("before_build", "after_build", "before_switch", "after_switch")
# The `hooks` option of the modules that run them: one list of commands per phase.
HOOK_OPTIONS = dict((phase, dict(type="list", elements="str", default=[])) for phase in PHASES)
DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"
# What the app's service creates files with (UMask in the systemd role's hardening profile): a
# database a migration hook creates is then no more readable than one the app creates. The build's
# hooks make the release, whose files nginx serves (collectstatic): they keep the build's umask.
SERVICE_UMASK = "0027"
BUILD_UMASK = "0022"
BUILD_PHASES = ("before_build", "after_build")
ESCAPED_IN_DOUBLE_QUOTES = '"\\$`'


# The line on which the gunicorn role names the secrets among the file's values (names only).
SECRETS_LINE = "# stagecraft-secrets:"


def _env_lines(path):
    try:
        with open(path) as handle:
            return [line.strip() for line in handle.read().splitlines()]
    except OSError as exc:
        raise DeployError("cannot read the environment file {0}: {1}".format(path, exc.strerror), details={"path": path})


def read_env_file(path):
    """KEY=VALUE pairs of a systemd EnvironmentFile (comments, blank lines, single and double quotes)."""
    values = {}
    if not path:
        return values
    for line in _env_lines(path):
        if not line or line.startswith(("#", ";")) or "=" not in line:
            continue
        name, value = line.split("=", 1)
        values[name.strip()] = _unquote(value.strip())
    return values


def read_secrets(path):
    """The values the file names on its `# stagecraft-secrets: NAME ...` lines, by name; what every output must hide.

    No file, no secrets: no command can be given their values.
    """
    if not path or not os.path.exists(path):
        return {}
    names = [name for line in _env_lines(path) if line.startswith(SECRETS_LINE) for name in line[len(SECRETS_LINE):].split()]
    values = read_env_file(path)
    return dict((name, values[name]) for name in names if name in values)


def _unquote(value):
    if len(value) >= 2 and value[0] == value[-1] == "'":
        return value[1:-1]
    if len(value) >= 2 and value[0] == value[-1] == '"':
        inner, result, position = value[1:-1], [], 0
        while position < len(inner):
            char = inner[position]
            if char == "\\" and position + 1 < len(inner) and inner[position + 1] in ESCAPED_IN_DOUBLE_QUOTES:
                position += 1
                char = inner[position]
            result.append(char)
            position += 1
        return "".join(result)
    return value


class Hooks:
    """Runs commands as `user` (None: as whoever runs the module) for one environment."""

    def __init__(self, runner=None, user=None, env_file=None, hooks=None, home=None):
        self.runner = runner or Runner()
        self.user = user if user and user != pwd.getpwuid(os.geteuid()).pw_name else None
        self.env_file = env_file
        self.hooks = dict((phase, list((hooks or {}).get(phase) or [])) for phase in PHASES)
        unknown = sorted(set(hooks or {}) - set(PHASES))
        if unknown:
            raise DeployError("unknown hook phase(s) {0}; the phases are {1}".format(", ".join(unknown), ", ".join(PHASES)))
        self.home = home
        self._ids = None
        if self.user:
            try:
                entry = pwd.getpwnam(self.user)
            except KeyError:
                raise DeployError("user {0} does not exist on the host (the gunicorn role creates it)".format(self.user), details={"user": self.user})
            self._ids = (entry.pw_uid, entry.pw_gid)

    def _argv(self, argv):
        if not self.user:
            return list(argv)
        return ["setpriv", "--reuid", self.user, "--regid", str(self._ids[1]), "--init-groups", "--no-new-privs", "--"] + list(argv)

    def _env(self, env=None):
        environment = {"HOME": self.home or "/nonexistent", "PATH": DEFAULT_PATH}
        if self.user:
            environment.update({"USER": self.user, "LOGNAME": self.user})
        environment.update(env or {})
        return environment

    def run_as_user(self, argv, step, cwd=None, env=None, check=True):
        """One build step as the app's user; with `check`, a failure names the step and shows its output's tail."""
        return self.runner.run(self._argv(argv), step=step, cwd=cwd, env=self._env(env), check=check)

    def shell(self, command, step, release_path, venv_path=None, check=True, umask=SERVICE_UMASK):
        """One command through sh, untouched, in the release, with the app's environment and its venv first on PATH:
        what every hook, once-hook and one-off command (playbooks/run.yml) gets. Returns (rc, stdout, stderr), secrets hidden."""
        env = read_env_file(self.env_file)
        if venv_path:
            env.update({"VIRTUAL_ENV": venv_path, "PATH": os.path.join(venv_path, "bin") + ":" + DEFAULT_PATH})
        # The command reaches the inner sh untouched, as an argument, under the service's umask.
        argv = ["/bin/sh", "-c", 'umask {0} && exec /bin/sh -c "$1"'.format(umask), "sh", command]
        return self.run_as_user(argv, step=step, cwd=release_path, env=env, check=check)

    def run(self, phase, release_path, venv_path=None):
        """Each hook of `phase`, in order; the first that fails raises."""
        for number, command in enumerate(self.hooks[phase], 1):
            self.shell(command, "{0} hook {1} ({2})".format(phase, number, command), release_path, venv_path,
                       umask=BUILD_UMASK if phase in BUILD_PHASES else SERVICE_UMASK)
        return list(self.hooks[phase])

    def make_directory(self, path, mode=0o750):
        """A directory owned by the app's user (it builds there), made if missing."""
        if not os.path.isdir(path):
            os.makedirs(path, mode)
        if self._ids:
            os.chown(path, *self._ids)

    def write_file(self, path, content, mode=0o644):
        """Write atomically, owned by the app's user."""
        descriptor, temporary = tempfile.mkstemp(prefix=".stagecraft-", dir=os.path.dirname(path))
        try:
            os.fchmod(descriptor, mode)
            if self._ids:
                os.fchown(descriptor, *self._ids)
            with os.fdopen(descriptor, "w") as handle:
                handle.write(content)
            os.replace(temporary, path)
        except BaseException:
            if os.path.exists(temporary):
                os.unlink(temporary)
            raise

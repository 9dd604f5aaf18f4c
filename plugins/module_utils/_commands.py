# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Command lines from named pieces, run through an injected `run_command`.

`run_command(argv, cwd=None, env=None) -> (rc, out, err)` is the only way the deploy logic runs a
program. `env` updates the inherited environment (AnsibleModule.run_command's `environ_update`);
`module_run_command(module)` adapts a module, `subprocess_run_command` serves tests and plain use,
`redacting(run_command, secrets)` hides secrets in whatever a program prints.
Argument lists only: nothing here builds or runs a shell string.
"""

from __future__ import annotations

import os
import re
import subprocess
from urllib.parse import quote, quote_plus, unquote, urlsplit

from ansible_collections.stagecraft.webapp.plugins.module_utils._errors import DeployError

REDACTED = "********"
OUTPUT_TAIL_LINES = 20
# A failing build's cause is often far above its last lines (a SyntaxError, then a stack, then npm's own
# epilogue): the first lines that say error are shown too, this many of them.
CAUSE_LINES = 6
ERROR_LINE = re.compile(r"^(npm ERR!|npm error|error|ERROR)\b|\b[A-Z]\w*(Error|Exception)\b")
# Shorter values are not hidden: one to three characters occur by chance in any output, so
# hiding them would hide the output rather than the value (and so short a value is no secret).
MIN_SECRET_LENGTH = 4


def subprocess_run_command(argv, cwd=None, env=None):
    """Default `run_command`: the program's rc, stdout and stderr as text; never a shell."""
    environment = dict(os.environ)
    environment.update(env or {})
    try:
        completed = subprocess.run(list(argv), cwd=cwd, env=environment, capture_output=True, text=True, check=False)
    except OSError as exc:
        return 127, "", "cannot run {0}: {1}".format(argv[0], exc)
    return completed.returncode, completed.stdout, completed.stderr


def systemctl_show(systemctl, units, properties, run_command):
    """`systemctl show` of `properties` for each of `units`: (rc, one dict per unit in order, err).

    systemctl prints one block of KEY=VALUE lines per unit, separated by blank lines; on failure
    (rc not 0) the list is empty.
    """
    argv = [systemctl, "show", "--property=" + ",".join(properties), "--"] + list(units)
    rc, out, err = run_command(argv)
    if rc != 0:
        return rc, [], err or out
    blocks = (out or "").strip("\n").split("\n\n")
    return rc, [dict((key.strip(), value.strip()) for key, sep, value in (line.partition("=") for line in block.splitlines()) if sep)
                for block in blocks], err


def url_password(value):
    """The password of a URL with credentials (scheme://user:password@host/...), as the URL spells it; else None."""
    if "://" not in value:
        return None
    try:
        return urlsplit(value).password
    except ValueError:
        return None


def hidden_forms(secrets):
    """Every spelling of the secrets to hide, longest first (a URL goes whole before its password alone).

    A value, each line of a multi-line value (a key printed in part), their URL-encoded forms, and
    the password of a URL with credentials, as written and decoded; none shorter than MIN_SECRET_LENGTH.
    """
    forms = set()
    for secret in filter(None, secrets):
        for value in [secret] + [line.strip() for line in secret.splitlines()]:
            password = url_password(value)
            for piece in [value] + ([password, unquote(password)] if password else []):
                forms.update((piece, quote(piece), quote(piece, safe=""), quote_plus(piece), unquote(piece)))
    return sorted((form for form in forms if len(form) >= MIN_SECRET_LENGTH), key=lambda form: (-len(form), form))


def redact(text, forms):
    """`text` with every one of `forms` (from hidden_forms) replaced by REDACTED."""
    if not text:
        return text
    for form in forms:
        text = text.replace(form, REDACTED)
    return text


def redacting(run_command, secrets):
    """A `run_command` whose programs' output never shows the secrets: every caller gets it hidden."""
    forms = hidden_forms(secrets)

    def run(argv, cwd=None, env=None):
        rc, out, err = run_command(argv, cwd=cwd, env=env)
        return rc, redact(out, forms), redact(err, forms)

    return run


def module_run_command(module):
    """A `run_command` backed by AnsibleModule.run_command (the module is duck-typed).

    AnsibleModule expands `~` and `$VARIABLES` in every argument with its own environment (root's)
    unless told not to; the programs (a hook's `sh -c` above all) must get the text as written.
    """

    def run_command(argv, cwd=None, env=None):
        return module.run_command(list(argv), cwd=cwd, environ_update=dict(env or {}), check_rc=False, expand_user_and_vars=False)

    return run_command


# Formats: each turns one named value into argv pieces; None (or False for flags) gives nothing.
def as_option(option):
    """`--option VALUE` as two items."""
    return lambda value: [] if value is None else [option, str(value)]


def as_flag(option):
    """`--option` when the value is true."""
    return lambda value: [option] if value else []


def as_config():
    """`-c key=value` for each pair of a dict or list of pairs, in order (git's per-command configuration)."""

    def pieces(value):
        pairs = sorted(value.items()) if isinstance(value, dict) else list(value or [])
        return [piece for key, setting in pairs for piece in ("-c", "{0}={1}".format(key, setting))]

    return pieces


def as_args():
    """The value itself (a string or a list of strings) as positional arguments."""

    def pieces(value):
        if value is None:
            return []
        if isinstance(value, (list, tuple)):
            return [str(item) for item in value]
        return [str(value)]

    return pieces


class CommandLine:
    """A program and the formats of its named pieces; `argv(order, **values)` builds one command."""

    def __init__(self, program, formats):
        self.program = program
        self.formats = dict(formats)

    def argv(self, order, **values):
        names = order.split() if isinstance(order, str) else list(order)
        unknown = sorted(set(names) - set(self.formats)) + sorted(set(values) - set(names))
        if unknown:
            raise DeployError("internal: unknown or unused command pieces for {0}: {1}".format(self.program, ", ".join(unknown)))
        argv = [self.program]
        for name in names:
            argv.extend(self.formats[name](values.get(name)))
        return argv


def tail(text, lines=OUTPUT_TAIL_LINES):
    """The last lines of a program's output, for error messages."""
    return "\n".join((text or "").rstrip().splitlines()[-lines:])


def cause_and_tail(text, lines=OUTPUT_TAIL_LINES):
    """The last lines of a program's output, after its first error lines when those come before them (each line once)."""
    every = (text or "").rstrip().splitlines()
    start = max(len(every) - lines, 0)
    first = next((number for number, line in enumerate(every[:start]) if ERROR_LINE.search(line)), None)
    if first is None:
        return tail(text, lines)
    return "\n".join(every[first:min(first + CAUSE_LINES, start)] + (["..."] if first + CAUSE_LINES < start else []) + every[start:])


class Runner:
    """Runs argv lists through `run_command`, adds `env`, hides `secrets` in anything it returns."""

    def __init__(self, run_command=None, env=None, secrets=()):
        self.run_command = run_command or subprocess_run_command
        self.env = dict(env or {})
        self.forms = hidden_forms(secrets)

    def redact(self, text):
        """`text` with every secret replaced (also applied to argv, which should never hold one)."""
        return redact(text, self.forms)

    def run(self, argv, step, cwd=None, env=None, check=True):
        """Run one command; with `check`, a non-zero rc raises DeployError naming `step`."""
        environment = dict(self.env)
        environment.update(env or {})
        rc, out, err = self.run_command(list(argv), cwd=cwd, env=environment)
        out, err = self.redact(out or ""), self.redact(err or "")
        if check and rc != 0:
            raise DeployError(
                "{0} failed (rc={1}): {2}".format(step, rc, cause_and_tail(err or out) or "no output"),
                # The output's tail is in the message only: Ansible prints stdout and stderr again, and as lines.
                details={"step": step, "rc": rc, "cmd": [self.redact(arg) for arg in argv]},
            )
        return rc, out, err

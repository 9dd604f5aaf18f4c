# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The health-gated switch: a release takes traffic only after it has answered its health check.

1. The release runs as a candidate, `<app>-<env>@<release id>.service` (a template unit the gunicorn
   role installs: the same hardening, the release's own venv, one worker, its own Unix socket), and
   its health URL is probed there while the old release keeps serving. A failed probe stops the
   candidate, marks the release failed and changes nothing else.
2. `current` is switched atomically and the service restarted. gunicorn's HUP would keep the old
   venv and master; a restart starts the new release's own. With socket activation systemd holds the
   listening socket through the restart, so clients wait in its backlog instead of being refused.
3. The service is probed again; a failure switches `current` back, restarts and probes the previous
   release, marks the new one failed and reports the rollback.

The gunicorn role's record (/etc/stagecraft/<app>-<env>/gunicorn.json) names the units and sockets.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import time

from ansible_collections.stagecraft.webapp.plugins.module_utils._errors import DeployError
from ansible_collections.stagecraft.webapp.plugins.module_utils._release import read_marker, set_state
from ansible_collections.stagecraft.webapp.plugins.module_utils._releases import current_release, list_releases, rollback_target
from ansible_collections.stagecraft.webapp.plugins.module_utils._switch import switch

PROBE_TIMEOUT = 5.0
JOURNAL_LINES = 20
# Lines of the journal an error message shows (and the exception that ended a traceback before them).
SHOWN_LINES = 8
# A definite wrong answer this many times in a row fails the probe; 503 is HTTP's "not ready yet".
WRONG_ANSWERS_TO_FAIL = 3
NOT_READY_STATUSES = (503,)
ANY_ADDRESS = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}


class ServiceRecord:
    """What the gunicorn role recorded about an app's instance."""

    def __init__(self, data, path):
        missing = [key for key in ("unit", "listen", "candidate_unit", "candidate_socket") if not data.get(key)]
        if missing:
            raise DeployError("{0} lacks {1}: run the gunicorn role of this app and environment first".format(path, ", ".join(missing)),
                              details={"path": path})
        self.path = path
        self.unit = data["unit"]
        self.socket_unit = data["unit"].rsplit(".", 1)[0] + ".socket" if data.get("socket_activation") else None
        self.listen = data["listen"]
        self.address = data.get("address")
        self.port = data.get("port")
        self.socket = data.get("socket")
        self.candidate_unit = data["candidate_unit"]
        self.candidate_socket = data["candidate_socket"]

    @classmethod
    def load(cls, path):
        try:
            with open(path) as handle:
                return cls(json.load(handle), path)
        except (OSError, ValueError) as exc:
            raise DeployError("cannot read {0} ({1}): run the gunicorn role of this app and environment first".format(path, exc), details={"path": path})

    def service_target(self):
        if self.listen == "unix":
            return self.socket
        return (ANY_ADDRESS.get(self.address, self.address), int(self.port))

    def candidate(self, release_id):
        """The candidate unit and its socket for one release (the template's %i is the release id)."""
        return self.candidate_unit.replace("@.", "@" + release_id + "."), self.candidate_socket.replace("%i", release_id)


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout):
        super().__init__("localhost", timeout=timeout)
        self.socket_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.socket_path)


def probe_headers(host, scheme, extra=None):
    """The headers nginx's server block sends the app (roles/nginx/templates/site.conf.j2) for a request
    from this host to `host` over `scheme`, then `extra` (names compared case-insensitively)."""
    headers = {"Host": host, "X-Forwarded-Proto": scheme, "X-Forwarded-Host": host, "X-Forwarded-For": "127.0.0.1", "X-Real-IP": "127.0.0.1",
               "User-Agent": "stagecraft-health-check"}
    for name, value in (extra or {}).items():
        headers = dict((key, given) for key, given in headers.items() if key.lower() != name.lower())
        headers[name] = str(value)
    return headers


class Health:
    """The health check: GET `path` as nginx would ask it (`probe_headers`) must answer `status` within `timeout` seconds.

    No answer (refused, reset, timed out) and 503 mean "not up yet": the probe waits. Any other answer
    that is not `status`, WRONG_ANSWERS_TO_FAIL times in a row, is the app's definite answer: it fails at once.
    """

    def __init__(self, path="/healthz", status=200, host="localhost", timeout=60.0, interval=0.2, scheme="http", headers=None):
        if not path.startswith("/"):
            raise DeployError("the health check path must start with /, not {0!r}".format(path))
        self.path, self.status, self.host, self.timeout, self.interval = path, int(status), host, float(timeout), float(interval)
        self.headers = probe_headers(host, scheme, headers)

    def ask(self, target):
        """One request; (status, "HTTP <status>" and where it redirects) or (None, error text)."""
        if isinstance(target, tuple):
            connection = http.client.HTTPConnection(target[0], target[1], timeout=PROBE_TIMEOUT)
        else:
            connection = _UnixConnection(target, PROBE_TIMEOUT)
        try:
            connection.request("GET", self.path, headers=self.headers)
            answer = connection.getresponse()
            answer.read()
            location = answer.getheader("Location")
            return answer.status, "HTTP {0}".format(answer.status) + (" to {0}".format(location) if location else "")
        except (OSError, http.client.HTTPException) as exc:
            return None, "{0}: {1}".format(type(exc).__name__, exc)
        finally:
            connection.close()

    def answer(self, target):
        """One request; (whether it answered the expected status, "HTTP <status>" or the error text)."""
        status, said = self.ask(target)
        return status == self.status, said

    def definite(self, status):
        """Whether an answer that is not the expected one is the app's final word rather than "not up yet"."""
        return status is not None and status != self.status and status not in NOT_READY_STATUSES

    def wait(self, target, still_running=None, sleep=time.sleep, clock=time.monotonic):
        """Probe until the expected status, WRONG_ANSWERS_TO_FAIL definite wrong answers in a row, the deadline,
        or `still_running()` says the server died."""
        started = clock()
        attempts = wrong = 0
        while True:
            attempts += 1
            status, said = self.ask(target)
            wrong = wrong + 1 if self.definite(status) else 0
            outcome = {"healthy": status == self.status, "answer": said, "attempts": attempts, "wrong_in_a_row": wrong}
            if outcome["healthy"] or wrong >= WRONG_ANSWERS_TO_FAIL or clock() - started >= self.timeout or (
                    still_running is not None and not still_running()):
                return dict(outcome, seconds=round(clock() - started, 2))
            sleep(self.interval)


def last_words(lines, count=SHOWN_LINES):
    """The last `count` lines of a process's output, preceded by the exception that ended the last Python
    traceback when it is earlier than those (gunicorn logs its shutdown after a worker's ImportError)."""
    shown = list(lines)[-count:]
    cause, in_traceback = None, False
    for line in lines:
        if line.startswith("Traceback (most recent call last):"):
            in_traceback = True
        elif in_traceback and line and not line.startswith((" ", "\t")):
            cause, in_traceback = line, False
    return ([cause] if cause and cause not in shown else []) + shown


class Systemd:
    def __init__(self, runner):
        self.runner = runner

    def act(self, verb, unit):
        self.runner.run(["systemctl", verb, unit], step="systemctl {0} {1}".format(verb, unit))

    def stop(self, unit, wait=True):
        """Stop `unit`, unchecked (it may be gone already); without `wait`, systemd stops it in the background."""
        self.runner.run(["systemctl", "stop"] + ([] if wait else ["--no-block"]) + [unit], step="stop the candidate", check=False)

    def reset_failed(self, pattern):
        """Forget units left `failed` (a failed unit stays so, and the host `degraded`, until reset); unchecked."""
        self.runner.run(["systemctl", "reset-failed", pattern], step="systemctl reset-failed", check=False)

    def state(self, unit):
        _rc, out, _err = self.runner.run(["systemctl", "is-active", unit], step="systemctl is-active", check=False)
        return out.strip()

    def journal(self, unit, since):
        """The unit's newest JOURNAL_LINES lines since `since`. Cut here, not by journalctl: with --since,
        --lines gives the OLDEST lines on systemd 252."""
        _rc, out, err = self.runner.run(["journalctl", "--unit", unit, "--since", "@{0}".format(int(since)), "--no-pager", "--output", "cat"],
                                        step="journalctl", check=False)
        return (out or err).rstrip().splitlines()[-JOURNAL_LINES:]


class Activator:
    """Switches one environment (`base`) to a release, gated by `health`, hooks around the switch.

    `once` (a OnceHooks) runs its pending once-hooks after the `before_switch` hooks, before the candidate starts.

    `load_record` is a callable returning the ServiceRecord, so questions work before the service exists.
    """

    def __init__(self, base, load_record, health, runner, hooks, clock=time.time, once=None):
        self.base = base
        self.once = once
        self._load_record = load_record
        self._record = None
        self.releases_dir = os.path.join(base, "releases")
        self.current_link = os.path.join(base, "current")
        self.health = health
        self.systemd = Systemd(runner)
        self.hooks = hooks
        self.clock = clock

    @property
    def record(self):
        """The service record, read when first needed (`load_record()` returns a ServiceRecord)."""
        if self._record is None:
            self._record = self._load_record()
        return self._record

    def choose(self, release_id=None, rollback=False):
        """The release to activate: the one named, or with `rollback` the previous good one (or the named good one)."""
        current_id = current_release(self.current_link, self.releases_dir)
        releases = list_releases(self.releases_dir)
        if rollback:
            return rollback_target(releases, current_id, release_id).release_id, current_id
        if not release_id:
            raise DeployError("name the release to activate, or ask for a rollback")
        known = dict((release.release_id, release) for release in releases)
        if release_id not in known:
            raise DeployError("there is no release {0} in {1}".format(release_id, self.releases_dir), details={"release": release_id})
        if known[release_id].state not in ("pending", "good"):
            raise DeployError("release {0} is {1}: it cannot take traffic; deploy its commit again to make a fresh release".format(
                release_id, known[release_id].state), details={"release": release_id, "state": known[release_id].state})
        return release_id, current_id

    def needed(self, release_id, current_id):
        """Question: does activating change anything? (not current, or current but not yet proved good)"""
        marker = read_marker(os.path.join(self.releases_dir, release_id)) or {}
        return release_id != current_id or marker.get("state") != "good"

    def activate(self, release_id, current_id):
        """Prove, switch, restart, prove again; returns what happened or raises DeployError after undoing the switch."""
        release_path = os.path.join(self.releases_dir, release_id)
        venv_path = os.path.join(release_path, ".venv")
        result = {"release_id": release_id, "previous_release_id": current_id, "rolled_back": False}
        self.hooks.run("before_switch", release_path, venv_path)
        result["once_hooks"] = self.once.run(release_path, venv_path) if self.once else []
        result["candidate"] = self._prove_candidate(release_id)
        switch(self.current_link, os.path.join("releases", release_id))
        try:
            result["service"] = self._restart_and_prove()
        finally:
            # The candidate stops while the service restarts; this waits for what is left of it.
            self.systemd.stop(self.record.candidate(release_id)[0])
            self.systemd.reset_failed(self.record.candidate("*")[0])
        if not result["service"]["healthy"]:
            self._undo(release_id, current_id, result["service"])
        set_state(release_path, "good")
        self.hooks.run("after_switch", release_path, venv_path)
        return result

    def prove_serving(self, release_id, check_mode=False):
        """Nothing to switch: the service must still answer. One request; when it does not answer as expected (a crash
        loop's dead end, a stopped unit), the service and its socket are reset, started and probed again, or this raises.
        `repaired` says whether a repair was made (in check mode: would be)."""
        healthy, answer = self.health.answer(self.record.service_target())
        outcome = {"healthy": healthy, "answer": answer, "repaired": not healthy}
        if healthy or check_mode:
            return outcome
        outcome["repair"] = self._restart_and_prove()
        if not outcome["repair"]["healthy"]:
            raise DeployError(
                "release {0} is current but {1} does not answer its health check ({2}); a restart did not help ({3}). Last log lines:\n{4}".format(
                    release_id, self.record.unit, answer, self._verdict(outcome["repair"]), "\n".join(last_words(outcome["repair"]["journal"]))),
                details={"release_id": release_id, "service": outcome, "repair": outcome["repair"], "rolled_back": False})
        return outcome

    def _prove_candidate(self, release_id):
        unit, sock = self.record.candidate(release_id)
        since = self.clock()
        try:
            self.systemd.act("start", unit)
            outcome = self.health.wait(sock, still_running=lambda: self.systemd.state(unit) in ("active", "activating", "reloading"))
        except DeployError as exc:
            outcome = {"healthy": False, "answer": exc.message, "attempts": 0, "seconds": 0}
        # A healthy candidate's graceful stop need not hold up the switch: activate() waits for it after the restart.
        self.systemd.stop(unit, wait=not outcome["healthy"])
        if not outcome["healthy"]:
            # Read once it has stopped, so that its last words are in; then no candidate of this app stays failed.
            outcome["journal"] = self.systemd.journal(unit, since)
            self.systemd.reset_failed(self.record.candidate("*")[0])
            set_state(os.path.join(self.releases_dir, release_id), "failed")
            raise DeployError(
                "release {0} failed its health check before taking traffic ({1}); nothing was switched, the previous release still "
                "serves. Last log lines of {2}:\n{3}".format(release_id, self._verdict(outcome), unit, "\n".join(last_words(outcome["journal"]))),
                details={"release_id": release_id, "candidate": outcome, "rolled_back": False})
        return outcome

    def _verdict(self, outcome):
        if not outcome["attempts"]:
            return "it did not start: " + outcome["answer"].splitlines()[0]
        times = " {0} times in a row".format(outcome["wrong_in_a_row"]) if outcome.get("wrong_in_a_row", 0) > 1 else ""
        # An answer is "HTTP <status>"; anything else is why there was none (nothing listening, a timeout).
        said = ("answered {0}" if outcome["answer"].startswith("HTTP ") else "got no answer ({0})").format(outcome["answer"])
        return "GET {0} {1}{2} after {3} s ({4} attempts), expected HTTP {5}".format(
            self.health.path, said, times, outcome["seconds"], outcome["attempts"], self.health.status)

    def _restart_and_prove(self):
        since = self.clock()
        outcome = None
        try:
            # A unit left failed (by a start limit, or a socket whose service failed) refuses to
            # start until it is reset; a deliberate restart must not find it so.
            self.systemd.act("reset-failed", self.record.unit)
            if self.record.socket_unit:
                self.systemd.act("reset-failed", self.record.socket_unit)
                self.systemd.act("start", self.record.socket_unit)
            self.systemd.act("restart", self.record.unit)
        except DeployError as exc:
            outcome = {"healthy": False, "answer": exc.message, "attempts": 0, "seconds": 0}
        if outcome is None:
            outcome = self.health.wait(self.record.service_target())
        if not outcome["healthy"]:
            outcome["journal"] = self.systemd.journal(self.record.unit, since)
        return outcome

    def _undo(self, release_id, previous_id, failed):
        set_state(os.path.join(self.releases_dir, release_id), "failed")
        details = {"release_id": release_id, "service": failed, "rolled_back": False, "previous_release_id": previous_id}
        if not previous_id:
            raise DeployError("release {0} passed as a candidate but the service failed its health check ({1}); there is no previous "
                              "release to go back to".format(release_id, self._verdict(failed)), details=details)
        switch(self.current_link, os.path.join("releases", previous_id))
        back = self._restart_and_prove()
        details.update({"rolled_back": back["healthy"], "rollback": back})
        raise DeployError(
            "release {0} failed its health check after the switch ({1}); rolled back to {2}, which {3}".format(
                release_id, self._verdict(failed), previous_id, "serves again" if back["healthy"] else "fails its health check too: " + self._verdict(back)),
            details=details)

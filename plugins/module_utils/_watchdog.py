# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The watchdog between deploys: its rules, its probe and the program its timer runs.

Standard library only: stagecraft.webapp.watchdog installs this very file on the host and its
systemd timer runs it (`python3 watchdog.py CONFIG`), and app_status imports its HTTP pieces.

One run reads the JSON config the role wrote, and unless a deploy runs (deploy.lock) or the
maintenance page is on, asks each check's URL once (the app's health through nginx, as a
client would: the server name as SNI and Host; the tunnel connector's /ready), then `decide()`s
per check: after `failures` failed runs in a row it restarts the check's unit once and alerts
("down"); it does not restart again until the check has passed ("recovered", alerted too).
A certificate that expires within `certificate_warn_days` is alerted once. The alert command
gets one event as JSON on stdin. The state (counters, the last result, the last alerts) is a
JSON file that status.yml reads.
"""

from __future__ import annotations

import datetime
import http.client
import json
import os
import ssl
import subprocess
import sys
import tempfile
from urllib.parse import urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}
BODY_LIMIT = 65536
USER_AGENT = "stagecraft-watchdog"
ALERTS_KEPT = 10
ALERT_TIMEOUT = 60
RESTART_TIMEOUT = 180
# A check's counters between runs: failed runs in a row, whether "down" was alerted, whether its unit was restarted since it last passed.
FRESH = {"failures": 0, "down": False, "restarted": False}


class HealthTarget:
    """Where a health URL is asked: the address connected to, the name sent as SNI and Host, the request path.

    Raises ValueError for a URL that is not http(s):// with a host name, or has an invalid port.
    """

    def __init__(self, url, connect_address="127.0.0.1"):
        parts = urlsplit(url or "")
        self.url = url
        self.scheme = parts.scheme.lower()
        if self.scheme not in DEFAULT_PORTS or not parts.hostname:
            raise ValueError("health_url must be an http:// or https:// URL with a host name, not {0!r}".format(url))
        try:
            self.port = parts.port or DEFAULT_PORTS[self.scheme]
        except ValueError:
            raise ValueError("health_url {0!r} has an invalid port".format(url))
        self.server_name = parts.hostname
        self.connect_address = connect_address or "127.0.0.1"
        name = "[{0}]".format(self.server_name) if ":" in self.server_name else self.server_name
        self.host_header = name if self.port == DEFAULT_PORTS[self.scheme] else "{0}:{1}".format(name, self.port)
        self.path = (parts.path or "/") + ("?" + parts.query if parts.query else "")


class PinnedConnection(http.client.HTTPConnection):
    """HTTP(S) to a fixed address; with a TLS context, the handshake names `server_name` (SNI), not the address."""

    def __init__(self, address, port, timeout, server_name=None, context=None):
        super().__init__(address, port, timeout=timeout)
        self.server_name = server_name
        self.context = context

    def connect(self):
        super().connect()
        if self.context is not None:
            self.sock = self.context.wrap_socket(self.sock, server_hostname=self.server_name)

    def peer_certificate(self):
        """The peer's certificate as DER bytes, or None (plain HTTP, or no certificate)."""
        if self.context is None or self.sock is None:
            return None
        return self.sock.getpeercert(binary_form=True)


def no_verify_context():
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # development hosts use self-signed certificates; the certificate is read, not trusted
    return context


def ask(target, timeout, user_agent=USER_AGENT):
    """One GET of a HealthTarget: (status (0 without an answer), error (None when the server answered), the peer certificate's DER or None)."""
    context = no_verify_context() if target.scheme == "https" else None
    connection = PinnedConnection(target.connect_address, target.port, timeout, target.server_name, context)
    status, error, der = 0, None, None
    try:
        connection.connect()
        der = connection.peer_certificate()
        connection.request("GET", target.path, headers={"Host": target.host_header, "User-Agent": user_agent, "Accept": "*/*", "Connection": "close"})
        response = connection.getresponse()
        status = response.status
        response.read(BODY_LIMIT)
    except (OSError, http.client.HTTPException) as exc:  # socket.timeout and ssl.SSLError are OSErrors
        error = "{0}: {1}".format(type(exc).__name__, exc)
        if status:  # the answer broke off after its status line
            error = "answer with status {0} broke off: {1}".format(status, error)
    finally:
        connection.close()
    return status, error, der


def http_get(url, timeout, user_agent=USER_AGENT):
    """(status, body) of one plain GET of an http:// URL; (0, the error) without an answer."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port or DEFAULT_PORTS["http"], timeout=timeout)
    try:
        connection.request("GET", parts.path or "/", headers={"User-Agent": user_agent, "Connection": "close"})
        response = connection.getresponse()
        return response.status, response.read(BODY_LIMIT).decode("utf-8", "replace")
    except (OSError, http.client.HTTPException) as exc:
        return 0, "{0}: {1}".format(type(exc).__name__, exc)
    finally:
        connection.close()


def _der_element(der, offset):
    """(tag, start of the content, end of the content) of the DER element at `offset`."""
    tag, length = der[offset], der[offset + 1]
    offset += 2
    if length & 0x80:
        count = length & 0x7F
        length = int.from_bytes(der[offset:offset + count], "big")
        offset += count
    if offset + length > len(der):
        raise ValueError("truncated DER element")
    return tag, offset, offset + length


def certificate_not_after(der):
    """The end of an X.509 certificate's validity (aware UTC datetime), read from its DER without a crypto library.

    Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version OPTIONAL, serialNumber, signature,
    issuer, validity SEQUENCE { notBefore, notAfter }, ... }, ... }. Raises ValueError for what is no certificate.
    """
    try:
        dummy, start, dummy = _der_element(der, 0)
        dummy, position, dummy = _der_element(der, start)
        if der[position] == 0xA0:  # the explicit version
            position = _der_element(der, position)[2]
        for dummy in range(3):  # serialNumber, signature, issuer
            position = _der_element(der, position)[2]
        dummy, validity, dummy = _der_element(der, position)
        not_before_end = _der_element(der, validity)[2]
        tag, start, end = _der_element(der, not_before_end)
        text = der[start:end].decode("ascii")
    except (IndexError, UnicodeDecodeError) as exc:
        raise ValueError("not a DER certificate: {0}".format(exc))
    if tag == 0x17:  # UTCTime, YYMMDDHHMMSSZ: years 50-99 are 19xx (RFC 5280)
        moment = datetime.datetime.strptime(text, "%y%m%d%H%M%SZ")
        if moment.year >= 2050:
            moment = moment.replace(year=moment.year - 100)
    elif tag == 0x18:  # GeneralizedTime
        moment = datetime.datetime.strptime(text, "%Y%m%d%H%M%SZ")
    else:
        raise ValueError("not a DER certificate: notAfter has tag {0:#x}".format(tag))
    return moment.replace(tzinfo=datetime.timezone.utc)


def utc_text(moment):
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def settings_problems(settings):
    """The problems of stagecraft.webapp.watchdog's settings (its variables by name) that its argument spec cannot see, each naming
    the variable; empty when they are fine."""
    if not settings.get("watchdog_present", True):
        return []
    problems = []
    try:
        HealthTarget(settings.get("watchdog_health_url"))
    except ValueError as exc:
        problems.append("watchdog_health_url: {0}".format(exc))
    for name, least in (("watchdog_failures", 1), ("watchdog_timeout", 1), ("watchdog_certificate_warn_days", 0)):
        if not isinstance(settings.get(name), int) or settings[name] < least:
            problems.append("{0}: must be a whole number of at least {1}, got {2!r}".format(name, least, settings.get(name)))
    if any(not isinstance(part, str) or not part for part in settings.get("watchdog_alert_command") or []):
        problems.append("watchdog_alert_command: a command and its arguments, each a non-empty string")
    return problems


def record_url(record_file):
    """The ready URL the cloudflared role recorded for a connector (its record, a JSON file)."""
    with open(record_file, encoding="utf-8") as handle:
        return json.load(handle)["ready_url"]


def probe(check, timeout, now):
    """One GET of `check` (url, or record: the cloudflared record naming it; connect_address; status: the answer wanted).
    {ok, status, error, not_after (ISO or None)}."""
    if check.get("record"):
        try:
            check = dict(check, url=record_url(check["record"]))
        except (OSError, ValueError, KeyError) as exc:
            return {"ok": False, "status": 0, "error": "cannot read {0}: {1}".format(check["record"], exc), "not_after": None}
    target = HealthTarget(check["url"], check.get("connect_address") or urlsplit(check["url"]).hostname)
    status, error, der = ask(target, timeout)
    result = {"ok": error is None and status == check.get("status", 200), "status": status, "error": error, "not_after": None}
    if error is None and not result["ok"]:
        result["error"] = "answered {0}, not {1}".format(status, check.get("status", 200))
    if der:
        try:
            result["not_after"] = utc_text(certificate_not_after(der))
        except ValueError as exc:
            result["certificate_error"] = str(exc)
    return result


def decide(counters, passed, threshold):
    """One check's next counters and what to do, from its counters (FRESH's keys) and whether it passed this run.

    Returns (counters, actions): actions among "restart", "alert-down" (after `threshold` failed runs in a row,
    once per outage; "restart" only when the unit was not restarted since the check last passed) and
    "alert-recovered" (the first pass after a "down" alert).
    """
    state = dict(FRESH, **counters)
    if passed:
        return dict(FRESH), (["alert-recovered"] if state["down"] else [])
    state["failures"] += 1
    actions = []
    if state["failures"] >= threshold and not state["down"]:
        if not state["restarted"]:
            actions.append("restart")
            state["restarted"] = True
        actions.append("alert-down")
        state["down"] = True
    return state, actions


def suppressed_counters(counters):
    """The counters while a deploy runs or maintenance is on: the streak starts again afterwards (a deploy restarts the app),
    an outage already alerted stays one (its recovery is alerted), and a unit restarted in it is not restarted again."""
    return dict(FRESH, **dict(counters, failures=0))


def days_left(not_after, now):
    """Whole days from `now` until `not_after` (ISO 8601 UTC text), negative once expired."""
    moment = datetime.datetime.strptime(not_after, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
    return (moment - now).days


def certificate_due(not_after, now, warn_days, warned_for):
    """Whether to warn about the certificate valid until `not_after`: it expires within `warn_days`
    and was not warned about yet (`warned_for` is the not_after of the last certificate warned about)."""
    return bool(not_after) and warn_days > 0 and not_after != warned_for and days_left(not_after, now) <= warn_days


def exists(path):
    """Whether `path` exists; True when that cannot be told (a directory not searchable): the watchdog then stays quiet rather than
    restart an app a deploy may be working on."""
    try:
        os.stat(path)
    except FileNotFoundError:
        return False
    except OSError:
        return True
    return True


def suppression(config, exists=exists):
    """Why nothing may fire now (a deploy runs, the maintenance page is on), or None."""
    if exists(config["lock_file"]):
        return "a deploy runs ({0} exists)".format(config["lock_file"])
    if exists(config["maintenance_file"]):
        return "the maintenance page is on ({0} exists)".format(config["maintenance_file"])
    return None


def read_state(path):
    """The state file's content; an empty state when it is missing or unreadable (the first run)."""
    try:
        with open(path, encoding="utf-8") as handle:
            state = json.load(handle)
    except (OSError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}


def write_state(path, state):
    """Write atomically: a temporary file beside it, renamed over it."""
    handle, temporary = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".watchdog-")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            json.dump(state, stream, sort_keys=True)
            stream.write("\n")
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def run_command(argv, stdin_text=None, timeout=ALERT_TIMEOUT):
    """(rc, error text) of one command; rc -1 when it could not run or timed out."""
    try:
        done = subprocess.run(argv, input=stdin_text, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        return -1, str(exc)
    return done.returncode, (done.stderr or "").strip()[-500:]


def event(config, kind, check, result, now, **extra):
    """The short description an alert gets: what, where, when and why; nothing of the app's settings or answers' bodies."""
    described = {"event": kind, "app": config["app"], "env": config["env"], "host": config.get("host", ""), "check": check["name"],
                 "url": check.get("url") or check.get("record"), "time": utc_text(now), "status": result.get("status"), "error": result.get("error")}
    described.update(extra)
    return described


def run_once(config, now, probe_check=probe, command=run_command, exists=exists):
    """One watchdog run: the state it leaves (also written to config["state_file"])."""
    state = read_state(config["state_file"])
    counters = state.get("checks", {})
    alerts = list(state.get("alerts", []))
    last = {"time": utc_text(now), "suppressed": suppression(config, exists), "results": {}}
    fired = []
    if last["suppressed"]:
        counters = dict((name, suppressed_counters(value)) for name, value in counters.items())
    else:
        for check in config["checks"]:
            result = probe_check(check, config["timeout"], now)
            last["results"][check["name"]] = result
            counters[check["name"]], actions = decide(counters.get(check["name"], {}), result["ok"], config["failures"])
            extra = {"failures": counters[check["name"]]["failures"]}
            if "restart" in actions:
                rc, error = command(["systemctl", "restart", check["unit"]], timeout=RESTART_TIMEOUT)
                extra.update(restarted=check["unit"], restart_error=None if rc == 0 else "rc {0}: {1}".format(rc, error))
            if "alert-down" in actions:
                fired.append(event(config, "down", check, result, now, **extra))
            if "alert-recovered" in actions:
                fired.append(event(config, "recovered", check, result, now))
            if certificate_due(result["not_after"], now, config["certificate_warn_days"], state.get("certificate_warned")):
                fired.append(event(config, "certificate", check, result, now, not_after=result["not_after"],
                                   days_left=days_left(result["not_after"], now)))
                state["certificate_warned"] = result["not_after"]
    for described in fired:
        if config["alert_command"]:
            rc, error = command(config["alert_command"], json.dumps(described, sort_keys=True) + "\n")
            described["alert_error"] = None if rc == 0 else "rc {0}: {1}".format(rc, error)
        alerts = (alerts + [described])[-ALERTS_KEPT:]
    state.update(checks=counters, last=last, alerts=alerts)
    write_state(config["state_file"], state)
    return state, fired


def summary(state):
    """What status.yml shows: {last: one line on the last run, alerts: one line per alert kept, newest last}."""
    last = state.get("last")
    if not last:
        return {"last": "no run yet", "alerts": []}
    if last.get("suppressed"):
        line = "{0}: nothing checked, {1}".format(last["time"], last["suppressed"])
    else:
        line = "{0}: {1}".format(last["time"], "; ".join(
            "{0} {1}".format(name, "ok" if result["ok"] else "failing ({0})".format(result["error"]))
            + (", certificate until {0}".format(result["not_after"]) if result.get("not_after") else "")
            for name, result in sorted(last["results"].items())))
    alerts = ["{0} {1} {2}{3}{4}".format(
        alert["time"], alert["event"], alert["check"],
        " ({0})".format(alert["error"]) if alert.get("error") and alert["event"] == "down" else "",
        " after {0} failed runs, restarted {1}".format(alert["failures"], alert["restarted"]) if alert.get("restarted") else "")
        for alert in state.get("alerts", [])]
    return {"last": line, "alerts": alerts}


def main(argv):
    """`watchdog.py CONFIG`: one run; prints the run's result and alerts as one JSON line (the journal keeps it)."""
    if len(argv) != 1:
        sys.stderr.write("usage: watchdog.py CONFIG.json\n")
        return 2
    with open(argv[0], encoding="utf-8") as handle:
        config = json.load(handle)
    state, fired = run_once(config, datetime.datetime.now(datetime.timezone.utc))
    sys.stdout.write(json.dumps({"last": state["last"], "alerts": fired}, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

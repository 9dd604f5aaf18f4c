# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""What a status view shows for one app in one environment, read on the host in one go; changes nothing.

`deploy_state` reads the environment directory (releases, `current`, lock, record; deploy_info
returns it as is), `service_status` asks systemd about a unit, `probe_health` sends one GET to an
address of our choosing with the URL's name as TLS SNI and `Host` (what a browser reaching that name
would get from nginx, even where the name does not resolve) and reads the peer certificate without
verifying it. `app_status` puts them together. `connector_status` adds, behind a Cloudflare Tunnel, what the
cloudflared role recorded for the connector: its unit's state, its /ready answer, the number of edge
connections its /metrics counts, and its journal's last error line while it is not ready. Plain
functions: the tests call them without Ansible.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import shutil
import time

from ansible_collections.stagecraft.webapp.plugins.module_utils._commands import subprocess_run_command, systemctl_show
from ansible_collections.stagecraft.webapp.plugins.module_utils._errors import DeployError
from ansible_collections.stagecraft.webapp.plugins.module_utils._lock import read_lock
from ansible_collections.stagecraft.webapp.plugins.module_utils._marks import read_marks
from ansible_collections.stagecraft.webapp.plugins.module_utils._record import FIELDS, read_last
from ansible_collections.stagecraft.webapp.plugins.module_utils._release import read_marker
from ansible_collections.stagecraft.webapp.plugins.module_utils._releases import current_release, list_releases, rollback_target
from ansible_collections.stagecraft.webapp.plugins.module_utils._snapshot import list_snapshots, summary
from ansible_collections.stagecraft.webapp.plugins.module_utils._watchdog import HealthTarget, ask, http_get, read_state
from ansible_collections.stagecraft.webapp.plugins.module_utils._watchdog import summary as watchdog_summary

SYSTEMD_PROPERTIES = ("LoadState", "ActiveState", "SubState", "UnitFileState", "MainPID")
ENABLED_STATES = ("enabled", "enabled-runtime")
UNKNOWN = "unknown"
USER_AGENT = "stagecraft-app-status"
# Where the cloudflared role records each connector (its unit is <name>.service).
CONNECTOR_RECORDS = "/etc/stagecraft/cloudflared"
# cloudflared's gauge of the connections it holds to Cloudflare's edge (one per edge location, 4 by default).
HA_CONNECTIONS = re.compile(r"^cloudflared_tunnel_ha_connections(?:\{[^}]*\})?\s+([0-9.eE+-]+)\s*$", re.MULTILINE)
# cloudflared's log lines at error level and above ("2025-08-01T00:00:00Z ERR ...").
ERROR_LINE = re.compile(r"(^|\s)(ERR|FTL|PNC)\s")
JOURNAL_LINES = 200


def _utc_text(moment):
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def deploy_state(base, records=10):
    """The releases (oldest first), `current`, the rollback target ("" for none), the lock holder, the last deploys, the rollback
    marks and the data's snapshots (oldest release first)."""
    releases_dir = os.path.join(base, "releases")
    releases = list_releases(releases_dir)
    current_id = current_release(os.path.join(base, "current"), releases_dir)
    try:
        target = rollback_target(releases, current_id).release_id
    except DeployError:
        target = ""
    return {"current": current_id or "", "rollback_target": target, "releases": [release.as_dict() for release in releases],
            "lock": read_lock(os.path.join(base, "deploy.lock")), "deploys": read_last(os.path.join(base, "deploys.jsonl"), records),
            "rolled_back": rolled_back_commits(base), "snapshots": [summary(manifest) for manifest in list_snapshots(base)]}


def rolled_back_commits(base):
    """The rollback marks (commits a deploy will not put back by routine), newest first, each with a one-line `summary`."""
    marks = sorted(read_marks(base).values(), key=lambda mark: mark.get("rolled_back", ""), reverse=True)
    return [dict(mark, summary="{0} on {1} by {2}{3}".format(
        mark.get("commit", "")[:12], mark.get("rolled_back"), mark.get("by"), " (automatic)" if mark.get("automatic") else "")) for mark in marks]


def release_status(base):
    """current, its commit ("" when unknown), rollback target, the last deploy record entry (or None), the lock holder (or None),
    the rollback marks and the snapshots."""
    state = deploy_state(base, records=1)
    commit = next((release["commit"] for release in state["releases"] if release["release_id"] == state["current"]), None)
    last = state["deploys"][-1] if state["deploys"] else None
    return {
        "current": state["current"],
        "current_commit": commit or "",
        "rollback_target": state["rollback_target"],
        "last_deploy": None if last is None else dict((field, last.get(field)) for field in FIELDS),
        "lock": state["lock"],
        "rolled_back": state["rolled_back"],
        "snapshots": state["snapshots"],
    }


def serving_release(base, pid, proc="/proc"):
    """(release, error): the release process `pid` runs in ("" when it runs elsewhere or not at all), and why it is unknown.

    gunicorn changes into `current` (--chdir) when it starts, and the kernel keeps the directory that
    link led to then: /proc/<pid>/cwd names the release that serves, whatever `current` says now.
    Reading another user's needs root with CAP_SYS_PTRACE (root on a host has it; docker drops it).
    """
    if not pid:
        return "", None
    link = os.path.join(proc, str(pid), "cwd")
    try:
        cwd = os.readlink(link)
    except FileNotFoundError:
        return "", None  # it ended meanwhile
    except OSError as exc:
        return "", "cannot read {0} ({1}), so what serves is unknown; this needs root with CAP_SYS_PTRACE".format(link, exc.strerror)
    releases_dir = os.path.realpath(os.path.join(base, "releases"))
    return (os.path.basename(cwd) if os.path.dirname(cwd) == releases_dir else ""), None


def _unknown_service(unit, error):
    return {"unit": unit, "load_state": UNKNOWN, "active_state": UNKNOWN, "sub_state": UNKNOWN, "unit_file_state": UNKNOWN,
            "enabled": None, "main_pid": 0, "error": error}


def service_status(unit, run_command=None, which=shutil.which):
    """systemd's view of `unit`; states are "unknown" with `error` set when systemctl is missing or fails.

    `which(name)` finds systemctl (AnsibleModule.get_bin_path in the module), `run_command` runs it
    (see _commands.py). A unit systemd does not know has load_state not-found and `error` set.
    """
    systemctl = which("systemctl")
    if not systemctl:
        return _unknown_service(unit, "systemctl not found on this host; cannot read the state of {0}".format(unit))
    rc, units, err = systemctl_show(systemctl, [unit], SYSTEMD_PROPERTIES, run_command or subprocess_run_command)
    if rc != 0:
        return _unknown_service(unit, "systemctl show {0} failed (rc={1}): {2}".format(unit, rc, (err or "").strip() or "no output"))
    properties = units[0]
    unit_file_state = properties.get("UnitFileState", "")
    result = {
        "unit": unit,
        "load_state": properties.get("LoadState") or UNKNOWN,
        "active_state": properties.get("ActiveState") or UNKNOWN,
        "sub_state": properties.get("SubState") or UNKNOWN,
        "unit_file_state": unit_file_state,
        "enabled": unit_file_state in ENABLED_STATES,
        "main_pid": int(properties.get("MainPID") or 0),
        "error": None,
    }
    if result["load_state"] != "loaded":
        result["error"] = "systemd cannot load {0}: LoadState={1}".format(unit, result["load_state"])
    return result


def load_x509():
    """cryptography's x509 module, or None when the library is not installed.

    Imported on first use: it costs a tenth of a second or more, which deploy_info (sharing this file) never needs.
    """
    try:
        from cryptography import x509
    except ImportError:
        return None
    return x509


def certificate_info(der, now=None, x509=None):
    """not_after (ISO 8601 UTC), days_left (whole days, negative once expired), subject and issuer of a DER certificate.

    Needs `cryptography` (`x509` is its module, load_x509() by default); raises ValueError for bytes that are no certificate.
    """
    certificate = (x509 or load_x509()).load_der_x509_certificate(der)
    not_after = getattr(certificate, "not_valid_after_utc", None)
    if not_after is None:  # cryptography < 42: a naive datetime in UTC
        not_after = certificate.not_valid_after.replace(tzinfo=datetime.timezone.utc)
    moment = now or datetime.datetime.now(datetime.timezone.utc)
    return {"not_after": _utc_text(not_after), "days_left": (not_after - moment).days,
            "subject": certificate.subject.rfc4514_string(), "issuer": certificate.issuer.rfc4514_string()}


def probe_health(url, connect_address="127.0.0.1", timeout=5.0, now=None, clock=time.monotonic, x509_loader=load_x509):
    """One GET of `url` sent to `connect_address`; returns (health, certificate, warnings).

    health is {url, status (0 without an answer), error (None when the server answered), elapsed (s)};
    certificate is certificate_info() of the peer, or None for http URLs and when it cannot be read
    (without cryptography, `x509_loader()` returns None: a warning says so).
    """
    try:
        target = HealthTarget(url, connect_address)
    except ValueError as exc:
        raise DeployError(str(exc), details={"health_url": url})
    if not timeout or timeout <= 0:
        raise DeployError("timeout must be a number of seconds above 0, not {0!r}".format(timeout), details={"timeout": timeout})
    started = clock()
    status, error, der = ask(target, timeout, USER_AGENT)
    elapsed = round(clock() - started, 3)
    warnings = []
    certificate = None
    if der:
        x509 = x509_loader()
        if x509 is None:
            warnings.append("the Python library cryptography is not installed on the host; the certificate of {0} was not read".format(url))
        else:
            try:
                certificate = certificate_info(der, now, x509)
            except Exception as exc:  # ValueError for bytes that are no certificate; a status view never fails on one it half understands
                warnings.append("cannot parse the certificate of {0}: {1}".format(url, exc))
    health = {"url": url, "status": status, "error": error, "elapsed": elapsed}
    return health, certificate, warnings


def serving_state(base, current_id, service):
    """serving (the release the service's main process runs in, "" when unknown), its commit, whether it is not `current`, and serving_error."""
    serving, error = serving_release(base, service["main_pid"]) if service else ("", None)
    marker = read_marker(os.path.join(base, "releases", serving)) if serving else None
    return {"serving": serving, "serving_commit": (marker or {}).get("commit") or "", "serving_mismatch": bool(serving) and serving != current_id,
            "serving_error": error}


def serving_warnings(unit, state):
    """What a person should know about what serves (a state with serving_state()): a mismatch with `current`, or why it is unknown."""
    if state["serving_error"]:
        return [state["serving_error"]]
    if not state["serving_mismatch"]:
        return []
    return ["{0} runs release {1}, but current points at {2}: a deploy stopped between its switch and its restart; deploy again to serve {2}".format(
        unit, state["serving"], state["current"])]


def app_status(base, unit="", health_url="", connect_address="127.0.0.1", timeout=5.0, run_command=None, which=shutil.which, now=None, connector="",
               watchdog_state=""):
    """Everything a status view needs: release_status(), service (None without unit), serving_state(), health and certificate (None without URL),
    connector (connector_status(), None without a connector's name), watchdog (its last run and alerts, None without its state file's path),
    warnings."""
    result = release_status(base)
    result["watchdog"] = watchdog_summary(read_state(watchdog_state)) if watchdog_state else None
    result["connector"] = connector_status(connector, timeout, run_command, which) if connector else None
    result["service"] = service_status(unit, run_command, which) if unit else None
    result["health"], result["certificate"], result["warnings"] = None, None, []
    if health_url:
        result["health"], result["certificate"], result["warnings"] = probe_health(health_url, connect_address, timeout, now)
    result.update(serving_state(base, result["current"], result["service"]))
    result["warnings"] += serving_warnings(unit, result)
    return result


def ha_connections(metrics):
    """The value of cloudflared_tunnel_ha_connections in a Prometheus text page, or None when it has none."""
    match = HA_CONNECTIONS.search(metrics or "")
    return int(float(match.group(1))) if match else None


def last_error_line(journal):
    """The last line of `journal` at cloudflared's error level or above, or None."""
    errors = [line.strip() for line in (journal or "").splitlines() if ERROR_LINE.search(line)]
    return errors[-1] if errors else None


def connector_status(name, timeout=5.0, run_command=None, which=shutil.which, records=CONNECTOR_RECORDS):
    """The connector `name` as the cloudflared role recorded it: its service, whether /ready answers 200,
    the edge connections /metrics counts (None without an answer), and while not ready the last error
    line of its journal (`last_error`). `error` says why nothing could be asked (no record)."""
    result = {"name": name, "service": None, "ready": False, "ready_status": 0, "connections": None, "last_error": None, "error": None}
    path = os.path.join(records, name + ".json")
    try:
        with open(path, encoding="utf-8") as handle:
            record = json.load(handle)
    except (OSError, ValueError) as exc:
        result["error"] = "cannot read the cloudflared role's record {0}: {1}".format(path, exc)
        return result
    unit = name + ".service"
    result["service"] = service_status(unit, run_command, which)
    result["ready_status"], ready_body = http_get(record["ready_url"], timeout, USER_AGENT)
    result["ready"] = result["ready_status"] == 200
    metrics_status, metrics = http_get(record["metrics_url"], timeout, USER_AGENT)
    result["connections"] = ha_connections(metrics) if metrics_status == 200 else None
    if not result["ready"]:
        journalctl = which("journalctl")
        journal = (run_command or subprocess_run_command)([journalctl, "--no-pager", "--output=cat", "--lines={0}".format(JOURNAL_LINES), "--unit", unit])[1] \
            if journalctl else ""
        result["last_error"] = last_error_line(journal) or (ready_body if result["ready_status"] == 0 else None)
    return result


def _short(commit):
    """A commit as the report shows it: its first 12 characters, or none."""
    return (commit or "")[:12] or "none"


def _connector_text(connector):
    """The connector's part of the service line: its state, /ready, edge connections and last error."""
    if not connector:
        return ""
    text = "; connector " + connector["name"]
    if connector["error"]:
        return text + ": " + connector["error"]
    service = connector["service"]
    connections = connector["connections"] if connector["connections"] is not None else "no"
    return text + " {0} ({1}), {2}, {3} edge connections{4}".format(
        service["active_state"], service["sub_state"], "ready" if connector["ready"] else "not ready", connections,
        "; last error: {0}".format(connector["last_error"]) if connector["last_error"] else "")


def _last_deploy_text(last):
    """The last deploy's line: outcome, ref, who, when, how long and the job that ran it."""
    text = "last deploy: {0}".format(last.get("outcome", "none"))
    if last:
        text += " of {0} by {1} at {2} ({3} s)".format(last["ref"], last["who"], last["started"], last["duration"])
    return text + (", job {0}".format(last["job_id"]) if last.get("job_id") else "")


def report_lines(status, heading):
    """The report of what serves (stagecraft.webapp.stack), from app_status()'s `status`, under `heading`."""
    last = status["last_deploy"] or {}
    health, certificate, watchdog = status["health"] or {}, status["certificate"], status["watchdog"]
    serving = "serves commit {0} (release {1}); previous {2}; rollback target {3}".format(
        _short(status["serving_commit"] or status["current_commit"]), status["serving"] or status["current"] or "none",
        _short(last.get("previous_commit")), status["rollback_target"] or "none")
    if status["serving_mismatch"]:
        serving += "; MISMATCH: current points at {0}, which the service does not run (deploy again)".format(status["current"])
    health_text = "health {0}".format(health.get("status") or "no answer") + (" ({0})".format(health["error"]) if health.get("error") else "")
    if certificate:
        health_text += "; certificate expires {0} ({1} days)".format(certificate["not_after"], certificate["days_left"])
    return [
        heading,
        # What the service runs is what serves; `current` alone says what the last switch pointed at.
        serving,
        _last_deploy_text(last),
        # Commits a deploy will not put back unless told to (deploy_allow_rolled_back).
        "rolled back: " + ("; ".join(commit["summary"] for commit in status["rolled_back"]) or "none"),
        # The data's snapshots: those taken before a release's first data-changing hook (restore_data on a rollback) and the timer's.
        "snapshots: " + ("; ".join(snapshot["summary"] for snapshot in status.get("snapshots") or []) or "none"),
        "service {0} ({1}){2}".format(status["service"]["active_state"], status["service"]["sub_state"], _connector_text(status["connector"])),
        health_text,
        "deploy lock held by " + json.dumps(status["lock"]) if status["lock"] is not None else "not locked",
        "watchdog: last run {0}".format(watchdog["last"]) if watchdog else "no watchdog",
        "watchdog alerts: " + ("; ".join((watchdog or {}).get("alerts") or []) or "none"),
    ]


def fleet_lines(results):
    """One line per host of app_status()'s loop `results` (stagecraft.webapp.stack's fleet): the commit
    and release it serves and the health nginx answers; none and no answer where the host said nothing."""
    return ["{0}: commit {1} (release {2}), health {3}".format(
        result["__stack_host"], _short(result.get("current_commit")), result.get("current") or "none",
        (result.get("health") or {}).get("status") or "no answer") for result in results]

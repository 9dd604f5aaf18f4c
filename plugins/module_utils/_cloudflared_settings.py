# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The cloudflared role's rules and derived names, on the controller.

`secrets_summary(token, credentials)` reads the secrets into what holds nothing secret: whether
each is given and well formed, which tunnel it names, whether a PEM block (the account-wide
cert.pem) hides in them. `settings_problems(settings, secrets, ...)` returns one message per
broken rule, each naming the variable and saying what to do. `layout(settings, ...)` derives the
instance's names, paths and its unit spec for stagecraft.webapp.systemd. `settings` maps the
role's variables by name (vars/main.yml's _cloudflared_settings).
"""

from __future__ import annotations

import base64
import binascii
import json
import posixpath
import re
from collections.abc import Mapping

from ansible_collections.stagecraft.webapp.plugins.module_utils._files import json_content
from ansible_collections.stagecraft.webapp.plugins.module_utils._ingress import ingress_problems
from ansible_collections.stagecraft.webapp.plugins.module_utils._rules import as_bool, as_int, matches, quoted, unique

# "cloudflared" or "cloudflared-<suffix>": the unit, user, group and /etc directory are named after it.
NAME = re.compile(r"cloudflared(-[a-z0-9][a-z0-9_-]*)?")
NAME_MAX_LENGTH = 32
UUID = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")
TOKEN_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
VERSION = re.compile(r"[0-9][0-9A-Za-z.+~-]*")
LOOPBACK = ("127.0.0.1", "::1", "localhost")
CREDENTIALS_KEYS = ("AccountTag", "TunnelSecret", "TunnelID")
PEM = re.compile(r"-----BEGIN|ARGO TUNNEL TOKEN")
RECORDS_DIR = "/etc/stagecraft/cloudflared"
# The file each install method installs from the controller; apt installs from Cloudflare's repository.
PROVIDED = {"deb": "cloudflared_deb_file", "binary": "cloudflared_binary_file"}
# Settings that belong to a locally managed tunnel only (in token mode they live in Cloudflare).
LOCAL_ONLY = ("cloudflared_tunnel_id", "cloudflared_credentials", "cloudflared_ingress", "cloudflared_origin_request")
# cloudflared_ingress_problems names the rules as config.yml does; here they are named by variable.
INGRESS_PREFIXES = (
    (re.compile(r"^originRequest"), "cloudflared_origin_request"),
    (re.compile(r"^ingress: "), "cloudflared_ingress: "),
    (re.compile(r"^ingress rule"), "cloudflared_ingress: ingress rule"),
)


def credentials_mapping(credentials):
    """cloudflared_credentials as a mapping: given as one, or as the JSON text of the credentials file
    ({} when empty; None when the text is no JSON object)."""
    if isinstance(credentials, Mapping):
        return dict(credentials)
    if not credentials:
        return {}
    try:
        parsed = json.loads(credentials)
    except (TypeError, ValueError):
        return None
    return parsed if isinstance(parsed, dict) else None


def token_tunnel_id(token):
    """The UUID of the tunnel a tunnel token (base64 of {"a": account, "t": tunnel UUID, "s": secret})
    belongs to, in lowercase, or "" when `token` is not a tunnel token."""
    if not isinstance(token, str) or not token.strip():
        return ""
    try:
        document = json.loads(base64.b64decode(token.strip(), validate=True))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return ""
    if not isinstance(document, dict):
        return ""
    tunnel, account, secret = document.get("t"), document.get("a"), document.get("s")
    if not isinstance(tunnel, str) or not TOKEN_UUID.match(tunnel.lower()):
        return ""
    if not isinstance(account, str) or not account or not isinstance(secret, str) or not secret:
        return ""
    return tunnel.lower()


def secrets_summary(token, credentials):
    """What the preflight and the record need to know about the token and the credentials, without them."""
    token = token or ""
    mapping = credentials_mapping(credentials)
    given = mapping if mapping is not None else {}
    lacking = [key for key in CREDENTIALS_KEYS if key not in given]
    lacking += [key for key in CREDENTIALS_KEYS if key in given and (not isinstance(given[key], str) or given[key] == "")]
    text = json.dumps(mapping) if mapping is not None else str(credentials)
    return {
        "token_given": len(token) > 0,
        "token_tunnel": token_tunnel_id(token),
        "credentials_given": mapping is None or len(mapping) > 0,
        "credentials_json": mapping is not None,
        "credentials_lacking": unique(lacking),
        "credentials_tunnel": str(given.get("TunnelID", "")).lower(),
        "pem": PEM.search(str(token) + text) is not None,
    }


def _given(value):
    return value is not None and len(value) > 0


def _instance_problems(settings, records):
    name, address, port = settings["cloudflared_name"], settings["cloudflared_metrics_address"], settings["cloudflared_metrics_port"]
    problems = []
    if not matches(NAME, name) or len(str(name)) > NAME_MAX_LENGTH:
        problems.append('cloudflared_name {0} is not valid: "cloudflared" or "cloudflared-<suffix>" (lowercase letters, digits, "_" and "-"),'
                        ' at most {1} characters'.format(quoted(name), NAME_MAX_LENGTH))
    if address not in LOOPBACK and not str(address).startswith("127."):
        problems.append("cloudflared_metrics_address {0} is not a loopback address: the metrics server also serves /debug/pprof,"
                        " so it stays on 127.0.0.1 or ::1".format(quoted(address)))
    if not 1 <= as_int(port) <= 65535:
        problems.append("cloudflared_metrics_port must be within 1-65535 (got {0})".format(port))
    own_record = layout(settings)["record"]
    problems.extend("cloudflared_metrics_port {0} is already used by {1} on this host; each instance needs its own".format(port, other["name"])
                    for other in records if other.get("path") != own_record and other.get("metrics_port") == as_int(port))
    if as_int(settings["cloudflared_start_timeout_sec"]) < 0 or as_int(settings["cloudflared_restart_sec"]) < 0:
        problems.append("cloudflared_start_timeout_sec and cloudflared_restart_sec must be 0 or more")
    return problems


def _install_problems(settings, provided_is_file):
    method, version = settings["cloudflared_install_method"], settings["cloudflared_version"]
    problems = []
    if _given(version) and not matches(VERSION, version):
        problems.append('cloudflared_version {0} is not a package version such as "2025.8.0"'.format(quoted(version)))
    for each, variable in PROVIDED.items():
        given = _given(settings[variable])
        if method == each and not given:
            problems.append("{0} is empty: cloudflared_install_method {1} installs the file it names on the controller".format(variable, each))
        elif method == each and not provided_is_file:
            problems.append("{0} {1} is not a file on the controller".format(variable, quoted(settings[variable])))
        elif method != each and given:
            problems.append("{0} is set, but cloudflared_install_method is {1} (set it to {2} to install that file, or empty the variable)".format(
                variable, method, each))
    return problems


def _secret_problems(secrets, cert_variables):
    problems = []
    if cert_variables:
        problems.append("{0}: the account-wide cert.pem never goes to a host (it can create and delete every tunnel of the account);"
                        " a tunnel runs with its token or its credentials file only".format(", ".join(sorted(cert_variables))))
    if secrets["pem"]:
        problems.append("cloudflared_token/cloudflared_credentials contain a PEM block (the account-wide cert.pem?), which never goes to a host;"
                        " give the tunnel token or the tunnel credentials JSON")
    return problems


def _token_mode_problems(settings, secrets):
    problems = []
    if not secrets["token_given"]:
        problems.append("cloudflared_token is empty: cloudflared_mode token runs a remotely managed tunnel with its token")
    elif not secrets["token_tunnel"] and not secrets["pem"]:
        problems.append('cloudflared_token is not a tunnel token (base64 of {"a": account, "t": tunnel UUID, "s": secret});'
                        " copy it again from `cloudflared tunnel token <name>` or the dashboard")
    for variable in LOCAL_ONLY:
        # The credentials only through their summary: what reaches this function may be shown.
        if secrets["credentials_given"] if variable == "cloudflared_credentials" else _given(settings[variable]):
            problems.append("{0} is set, but cloudflared_mode token runs a remotely managed tunnel, whose ingress rules and settings live in"
                            " Cloudflare (set cloudflared_mode: local to manage them here)".format(variable))
    return problems


def _local_mode_problems(settings, secrets):
    tunnel_id = settings["cloudflared_tunnel_id"]
    problems = []
    if secrets["token_given"]:
        problems.append("cloudflared_token is set, but cloudflared_mode local runs with the credentials file"
                        " (set cloudflared_mode: token, or empty cloudflared_token)")
    if not matches(UUID, tunnel_id):
        problems.append("cloudflared_tunnel_id {0} is not a tunnel UUID: cloudflared_mode local needs the ID of the tunnel"
                        " (`cloudflared tunnel list`)".format(quoted(tunnel_id)))
    if not secrets["credentials_given"]:
        problems.append("cloudflared_credentials is empty: cloudflared_mode local needs the credentials file of the tunnel"
                        " (<UUID>.json from `cloudflared tunnel create`)")
    elif not secrets["credentials_json"]:
        problems.append("cloudflared_credentials is not a JSON object: give the credentials file of the tunnel"
                        " (<UUID>.json from `cloudflared tunnel create`) as a mapping or as its text")
    elif secrets["credentials_lacking"]:
        problems.append("cloudflared_credentials lacks {0} (a tunnel credentials file has AccountTag, TunnelSecret and TunnelID)".format(
            ", ".join(secrets["credentials_lacking"])))
    elif secrets["credentials_tunnel"] != str(tunnel_id).lower():
        problems.append("cloudflared_credentials belong to tunnel {0}, not to cloudflared_tunnel_id {1}".format(secrets["credentials_tunnel"], tunnel_id))
    for message in ingress_problems(settings["cloudflared_ingress"], settings["cloudflared_origin_request"]):
        for pattern, prefix in INGRESS_PREFIXES:
            message = pattern.sub(prefix, message)
        problems.append(message)
    return problems


def settings_problems(settings, secrets, records=(), provided_is_file=False, cert_variables=()):
    """Every broken rule of the role's `settings`, one message each.

    `secrets` is secrets_summary's answer, `records` the cloudflared records on the host (this
    instance's own is left out), `provided_is_file` whether the deb or binary file to install is a
    file on the controller, `cert_variables` the names of variables that look like cert.pem.
    """
    problems = _instance_problems(settings, records) + _install_problems(settings, provided_is_file)
    problems += _secret_problems(secrets, cert_variables)
    if settings["cloudflared_mode"] == "token":
        return problems + _token_mode_problems(settings, secrets)
    return problems + _local_mode_problems(settings, secrets)


def _metrics(settings):
    address = str(settings["cloudflared_metrics_address"])
    return "{0}:{1}".format("[" + address + "]" if ":" in address else address, settings["cloudflared_metrics_port"])


def layout(settings, token_from_file=True, token_tunnel="", check_mode=False):
    """The instance's names and paths, its record and its unit spec (without state, which the service tasks decide).

    `token_from_file`: the installed cloudflared reads --token-file (2025.4.0 and later), else the
    token goes through an environment file; `token_tunnel`: the tunnel the token names.
    """
    name, mode, method = settings["cloudflared_name"], settings["cloudflared_mode"], settings["cloudflared_install_method"]
    directory = "/etc/" + name
    tunnel_id = str(settings["cloudflared_tunnel_id"]).lower()
    token_file = directory + ("/token" if token_from_file else "/token.env")
    credentials_file = "{0}/{1}.json".format(directory, tunnel_id)
    # Cloudflare's package installs /usr/bin/cloudflared; a provided binary goes to /usr/local/bin.
    executable = "/usr/local/bin/cloudflared" if method == "binary" else "/usr/bin/cloudflared"
    metrics = _metrics(settings)
    names = {
        "unit": name + ".service",
        "user": name,
        "group": name,
        "dir": directory,
        "config": directory + "/config.yml",
        "token_file": token_file,
        "credentials_file": credentials_file,
        # The secret file this mode keeps; any other in the directory is stale.
        "secret_file": token_file if mode == "token" else credentials_file,
        "record": "{0}/{1}.json".format(RECORDS_DIR, name),
        "executable": executable,
        "provided_file": settings[PROVIDED[method]] if method in PROVIDED else "",
        "metrics": metrics,
        "ready_url": "http://{0}/ready".format(metrics),
    }
    names["record_content"] = {
        "name": name,
        "unit": names["unit"],
        "mode": mode,
        "tunnel_id": tunnel_id if mode == "local" else token_tunnel,
        "metrics_address": settings["cloudflared_metrics_address"],
        "metrics_port": as_int(settings["cloudflared_metrics_port"]),
        "ready_url": names["ready_url"],
        "metrics_url": "http://{0}/metrics".format(metrics),
    }
    names["service"] = _service_spec(settings, names, token_from_file, check_mode)
    names["files"] = _files(mode, names, token_from_file)
    return names


def _files(mode, names, token_from_file):
    """The directories and files of the instance, for stagecraft.webapp.files. The secret file is the connector user's own
    (0600); an environment file for a cloudflared before --token-file is root's, systemd reads it. config.yml holds no
    secret (the secrets are referenced by path or come from the environment); in local mode `cloudflared tunnel ingress
    validate` checks it before it replaces the old one."""
    user, group = names["user"], names["group"]
    if mode == "token":
        secret = {"path": names["token_file"], "template": "token.j2" if token_from_file else "token.env.j2",
                  "owner": user if token_from_file else "root", "group": group if token_from_file else "root"}
    else:
        secret = {"path": names["credentials_file"], "template": "credentials.json.j2", "owner": user, "group": group}
    return [
        {"path": names["dir"], "state": "directory", "owner": "root", "group": group, "mode": "0750"},
        {"path": posixpath.dirname(RECORDS_DIR), "state": "directory", "owner": "root", "group": "root", "mode": "0755"},
        {"path": RECORDS_DIR, "state": "directory", "owner": "root", "group": "root", "mode": "0755"},
        dict(secret, mode="0600", secret=True),
        {"path": names["config"], "template": "config.yml.j2", "owner": "root", "group": group, "mode": "0640",
         "validate": names["executable"] + " tunnel --config %s ingress validate" if mode == "local" else None},
        {"path": names["record"], "content": json_content(names["record_content"]), "owner": "root", "group": "root", "mode": "0644"},
    ]


def _service_spec(settings, names, token_from_file, check_mode):
    """The unit. Type=notify as in cloudflared's own unit: cloudflared tells systemd it is ready only
    once it holds a connection to Cloudflare's edge, so a start (and the play) waits for that, at
    most cloudflared_start_timeout_sec. It never gives up restarting (StartLimitIntervalSec=0): a
    tunnel that lost the edge for a while must come back by itself."""
    token_mode = settings["cloudflared_mode"] == "token"
    # Go needs no writable and executable memory; an address allow list only when one is given.
    overrides = {"MemoryDenyWriteExecute": True}
    if settings["cloudflared_ip_address_allow"]:
        overrides.update({"IPAddressDeny": "any", "IPAddressAllow": " ".join(settings["cloudflared_ip_address_allow"])})
    overrides.update(settings["cloudflared_hardening_overrides"])
    return {
        "name": names["unit"],
        "sections": {
            "Unit": {
                "Description": "Cloudflare Tunnel connector {0} ({1} managed)".format(settings["cloudflared_name"], "remotely" if token_mode else "locally"),
                "Documentation": "https://developers.cloudflare.com/tunnel/",
                "After": "network-online.target",
                "Wants": "network-online.target",
                "StartLimitIntervalSec": 0,
            },
            "Service": {
                "Type": "notify",
                "NotifyAccess": "main",
                "User": names["user"],
                "Group": names["group"],
                # The token never reaches argv: cloudflared reads its file, or (older versions)
                # systemd puts it in the environment (TUNNEL_TOKEN).
                "EnvironmentFile": names["token_file"] if token_mode and not token_from_file else None,
                "ExecStart": "{0} --no-autoupdate tunnel --config {1} --metrics {2} run{3}".format(
                    names["executable"], names["config"], names["metrics"], " --token-file " + names["token_file"] if token_mode and token_from_file else ""),
                "Restart": "on-failure",
                "RestartSec": settings["cloudflared_restart_sec"],
                "TimeoutStartSec": settings["cloudflared_start_timeout_sec"],
                # cloudflared drains connections for its grace period (30 s) on SIGTERM.
                "TimeoutStopSec": 40,
            },
            "Install": {"WantedBy": "multi-user.target"},
        },
        "hardening": True,
        "hardening_overrides": overrides,
        # In check mode on a new host the executable is not installed yet.
        "verify_allow_missing": [posixpath.dirname(names["executable"]) + "/"] if check_mode else [],
        "enabled": as_bool(settings["cloudflared_service_enabled"]),
    }

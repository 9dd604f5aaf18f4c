"""A STAND-IN for cloudflared, for the molecule scenario only. It is not cloudflared.

The real binary cannot be downloaded on the machines these tests run on (no route to Cloudflare's
download sites or apt repository, and no Cloudflare account to connect a tunnel to). prepare.yml
turns this file into an executable (a #!/usr/bin/python3 line in front) and a .deb of it; the
role installs them through its "provided binary" and "provided .deb" paths as if they were
cloudflared. It answers what the role and the tests ask, and claims nothing it does not do:

  cloudflared --version
      "cloudflared version 2025.8.0 (...)", and says it is a stand-in. With VERSION_MARKER on the
      host it reports the version that file holds instead, and stands for that older cloudflared
      where it matters: before 2025.4.0, `tunnel run` has no --token-file and refuses it, as the
      real one does (the token then comes from TUNNEL_TOKEN).
  cloudflared [--flags] tunnel --config FILE ingress validate
      Reads FILE and counts the rules under "ingress:". cloudflared's own checks do NOT run here;
      the output says so. Refuses a file without rules, as cloudflared does.
  cloudflared [--flags] tunnel --config FILE --metrics ADDRESS run [--token-file PATH]
      Checks what it was given the way cloudflared needs it: locally managed (config.yml names a
      tunnel), the credentials file must be readable by this process and name that tunnel;
      remotely managed, the token must come from --token-file (a file this process can read) or
      TUNNEL_TOKEN in the environment. The token is never printed.
      Then it looks for Cloudflare's edge. The real cloudflared exits within a second, status 1,
      when it cannot find the edge (`Could not lookup srv records ...`), which is the case on
      every test host; so does the stand-in, unless the host has EDGE_MARKER, which the
      scenarios' prepare.yml writes to stand for "the edge answers but no tunnel connection is
      ever registered". Then it serves ADDRESS as cloudflared's metrics server does: /ready
      answers 503 with readyConnections 0 (what cloudflared answers while it holds no connection
      to the edge), /metrics shows cloudflared_tunnel_ha_connections 0, /healthcheck answers OK.
      It makes NO connection to Cloudflare's edge, and therefore never sends systemd READY=1:
      under the role's Type=notify unit it stays "activating" until TimeoutStartSec, like a
      real cloudflared that keeps failing to connect.
      When EDGE_MARKER holds a line "connections: N" (1-4), it stands for a tunnel with N
      registered edge connections instead, still without connecting anywhere: /ready answers 200
      with readyConnections N, the gauge shows N and systemd is sent READY=1, as cloudflared does
      once its first connection is registered.

Standard library only (the test hosts have no PyYAML).
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import sys
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

VERSION = "2025.8.0"
STANDIN = "stagecraft test stand-in, not cloudflared"
VALUE_FLAGS = ("--config", "--metrics", "--loglevel", "--protocol", "--token", "--token-file")
# Present: the stand-in behaves as if Cloudflare's edge could be found (see the module's docstring).
EDGE_MARKER = "/etc/standin-cloudflared-edge"
# Present: the version it reports (the verify step's older cloudflared).
VERSION_MARKER = "/etc/standin-cloudflared-version"
TOKEN_FILE_SINCE = (2025, 4, 0)


def version():
    """The version this stand-in reports: VERSION, or the one VERSION_MARKER holds."""
    try:
        with open(VERSION_MARKER) as handle:
            return handle.read().strip()
    except OSError:
        return VERSION


def log(message):
    print(message, file=sys.stderr, flush=True)


def parse(argv):
    """(flags, words): --flag values (as "--flag value" or "--flag=value") and the subcommand words."""
    flags, words, position = {}, [], 0
    while position < len(argv):
        arg = argv[position]
        if arg.startswith("--"):
            name, equals, value = arg.partition("=")
            if not equals and name in VALUE_FLAGS and position + 1 < len(argv):
                position += 1
                value = argv[position]
            flags[name] = value if (equals or name in VALUE_FLAGS) else True
        else:
            words.append(arg)
        position += 1
    return flags, words


def top_level_value(text, key):
    """The value of a top-level "key: value" line of a YAML file, or None."""
    match = re.search(r"^{0}:[ \t]*(\S.*?)[ \t]*$".format(re.escape(key)), text, re.MULTILINE)
    return match.group(1).strip("'\"") if match else None


def ingress_rules(text):
    """How many list items sit directly under a top-level "ingress:" key (None without the key)."""
    lines = text.splitlines()
    if "ingress:" not in lines:
        return None
    count, indent = 0, None
    for line in lines[lines.index("ingress:") + 1:]:
        if line and not line[0].isspace() and not line.startswith("-"):
            break
        item = re.match(r"^(\s*)- ", line)
        if item and (indent is None or len(item.group(1)) == indent):
            indent = len(item.group(1))
            count += 1
    return count


def validate(config):
    with open(config) as handle:
        rules = ingress_rules(handle.read())
    print("Validating rules from {0}".format(config))
    if not rules:
        print("The config file doesn't contain any ingress rules")
        return 1
    print("stand-in: {0} rules found under \"ingress:\"; cloudflared's own validation did NOT run ({1})".format(rules, STANDIN))
    print("OK")
    return 0


def check_credentials(config_text, token_file):
    """None when what `run` needs is there; otherwise the reason, as a message."""
    tunnel = top_level_value(config_text, "tunnel")
    if tunnel is None:
        if os.environ.get("TUNNEL_TOKEN"):
            log("stand-in: remotely managed tunnel, TUNNEL_TOKEN is set ({0} characters; not shown)".format(len(os.environ["TUNNEL_TOKEN"])))
            return None
        if not isinstance(token_file, str):
            return "\"cloudflared tunnel run\" requires the ID or name of the tunnel to run, or a token"
        try:
            with open(token_file) as handle:
                token = handle.read().strip()
        except OSError as exc:
            return "Failed to read token file: {0}".format(exc)
        log("stand-in: remotely managed tunnel, token read from --token-file ({0} characters; not shown)".format(len(token)))
        return None
    path = top_level_value(config_text, "credentials-file")
    try:
        with open(path) as handle:
            credentials = json.load(handle)
    except (OSError, TypeError, ValueError) as exc:
        return "Tunnel credentials file '{0}' doesn't exist or is not a file: {1}".format(path, exc)
    if str(credentials.get("TunnelID", "")).lower() != tunnel.lower():
        return "credentials file {0} is for tunnel {1}, not {2}".format(path, credentials.get("TunnelID"), tunnel)
    log("stand-in: locally managed tunnel {0}, credentials file readable".format(tunnel))
    return None


def edge_connections():
    """The connections the edge marker says are registered (0 when it says none; see the module's docstring)."""
    with open(EDGE_MARKER) as handle:
        match = re.search(r"^connections:\s*([1-4])\s*$", handle.read(), re.MULTILINE)
    return int(match.group(1)) if match else 0


def notify_ready():
    """sd_notify READY=1, as cloudflared does once a connection is registered (under Type=notify)."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as notify:
        notify.connect("\0" + address[1:] if address.startswith("@") else address)
        notify.sendall(b"READY=1")


class MetricsHandler(BaseHTTPRequestHandler):
    """/ready, /metrics and /healthcheck as cloudflared's metrics server answers them with `connections` edge connections."""

    connector_id = str(uuid.uuid4())
    connections = 0

    def do_GET(self):  # pylint: disable=invalid-name
        if self.path == "/ready":
            status = 200 if self.connections else 503
            self.answer(status, "application/json", json.dumps({"status": status, "readyConnections": self.connections, "connectorId": self.connector_id},
                                                               separators=(",", ":")))
        elif self.path == "/metrics":
            self.answer(200, "text/plain; version=0.0.4", "\n".join([
                "# {0}: no connection to Cloudflare's edge is made".format(STANDIN),
                "# HELP build_info Build and version information",
                "# TYPE build_info gauge",
                'build_info{{goversion="none",revision="stand-in",type="stand-in",version="{0}"}} 1'.format(version()),
                "# HELP cloudflared_tunnel_ha_connections Number of active ha connections",
                "# TYPE cloudflared_tunnel_ha_connections gauge",
                "cloudflared_tunnel_ha_connections {0}".format(self.connections),
                "",
            ]))
        elif self.path == "/healthcheck":
            self.answer(200, "text/plain", "OK\n")
        else:
            self.answer(404, "text/plain", "404 page not found\n")

    def answer(self, status, content_type, body):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        """No access log (cloudflared logs none for its metrics server)."""


def serve(address):
    host, separator, port = address.rpartition(":")
    if not separator:
        raise SystemExit("--metrics needs host:port, got {0!r}".format(address))
    host = host.strip("[]")

    class Server(ThreadingHTTPServer):
        address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        daemon_threads = True

    MetricsHandler.connections = edge_connections()
    server = Server((host, int(port)), MetricsHandler)
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    log("INF Starting metrics server on {0}/metrics".format(address))
    if MetricsHandler.connections:
        for index in range(MetricsHandler.connections):
            log("INF Registered tunnel connection connIndex={0} (stand-in: {1}, no connection made)".format(index, STANDIN))
        notify_ready()
    else:
        log("stand-in: {0}. It makes no connection to Cloudflare's edge, so /ready answers 503 and systemd is never"
            " told READY=1: a Type=notify unit stays activating until its start times out.".format(STANDIN))
    server.serve_forever()


def main(argv):
    flags, words = parse(argv)
    if flags.get("--version") or words[:1] == ["version"] or "-v" in argv:
        print("cloudflared version {0} (built 2025-08-01-0000 UTC) [{1}]".format(version(), STANDIN))
        return 0
    if "--token-file" in flags and tuple(int(part) for part in version().split(".")[:3]) < TOKEN_FILE_SINCE:
        log("Incorrect Usage: flag provided but not defined: -token-file (stand-in for cloudflared {0})".format(version()))
        return 1
    if "--token" in flags:
        log("stand-in: refusing --token on the command line (it would show in the process list)")
        return 1
    config = flags.get("--config")
    if words[:1] != ["tunnel"] or not isinstance(config, str):
        log("stand-in: only --version, tunnel --config F ingress validate and tunnel --config F --metrics A run are answered")
        return 2
    if words[1:] == ["ingress", "validate"]:
        return validate(config)
    if words[1:] == ["run"]:
        with open(config) as handle:
            problem = check_credentials(handle.read(), flags.get("--token-file"))
        if problem:
            log("ERR " + problem)
            return 1
        if not isinstance(flags.get("--metrics"), str):
            log("stand-in: no --metrics address; nothing to serve")
            return 1
        if not os.path.exists(EDGE_MARKER):
            log("ERR Could not lookup srv records on _v2-origintunneld._tcp.argotunnel.com"
                " (stand-in: no {0}, so no edge is found and it exits as cloudflared does)".format(EDGE_MARKER))
            return 1
        serve(flags["--metrics"])
        return 0
    log("stand-in: unknown command {0}".format(" ".join(words)))
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

from __future__ import annotations

import http.server
import json
import os
import socket
import socketserver
import threading

import pytest

from ansible_collections.stagecraft.webapp.plugins.module_utils._activate import Activator, Health, ServiceRecord
from ansible_collections.stagecraft.webapp.plugins.module_utils._commands import Runner
from ansible_collections.stagecraft.webapp.plugins.module_utils._errors import DeployError
from ansible_collections.stagecraft.webapp.plugins.module_utils._hooks import Hooks
from ansible_collections.stagecraft.webapp.plugins.module_utils._release import MARKER

RECORD = {"unit": "shop-prod.service", "listen": "tcp", "address": "0.0.0.0", "port": 8001, "socket": None, "socket_activation": True,
          "candidate_unit": "shop-prod@.service", "candidate_socket": "/run/shop-prod-%i/gunicorn.sock"}


class UnixHTTPServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


@pytest.fixture
def server(tmp_path):
    """A real HTTP server on a Unix socket answering /healthz with the status in `answers` (and remembering Host)."""
    state = {"status": 200, "hosts": []}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            state["hosts"].append(self.headers.get("Host"))
            self.send_response(state["status"] if self.path == "/healthz" else 404)
            self.end_headers()

        def address_string(self):
            return "unix"

        def log_message(self, *args):
            pass

    path = str(tmp_path / "app.sock")
    httpd = UnixHTTPServer(path, Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield path, state
    httpd.shutdown()
    httpd.server_close()


def test_healthy_answer_over_a_unix_socket(server):
    path, state = server
    outcome = Health(host="shop.example.com", timeout=5).wait(path)
    assert outcome["healthy"] is True and outcome["answer"] == "HTTP 200"
    assert state["hosts"] == ["shop.example.com"]


def test_wrong_status_until_the_deadline(server):
    path, state = server
    state["status"] = 500
    outcome = Health(timeout=0.3, interval=0.05).wait(path)
    assert outcome["healthy"] is False and outcome["answer"] == "HTTP 500" and outcome["attempts"] >= 2


def test_nothing_listening_is_an_answer_too(tmp_path):
    outcome = Health(timeout=0.2, interval=0.05).wait(str(tmp_path / "nothing.sock"))
    assert outcome["healthy"] is False and "FileNotFoundError" in outcome["answer"]


def test_a_dead_server_ends_the_wait_early(tmp_path):
    outcome = Health(timeout=30, interval=0.05).wait(str(tmp_path / "nothing.sock"), still_running=lambda: False)
    assert outcome["healthy"] is False and outcome["seconds"] < 5


def test_tcp_probe_on_loopback():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    listener.close()
    outcome = Health(timeout=0.1, interval=0.05).wait(("127.0.0.1", port))
    assert outcome["healthy"] is False and "ConnectionRefusedError" in outcome["answer"]


def test_health_path_must_be_absolute():
    with pytest.raises(DeployError, match="must start with /"):
        Health(path="healthz")


def test_service_record_names_units_sockets_and_targets(tmp_path):
    record = ServiceRecord(RECORD, "gunicorn.json")
    assert record.socket_unit == "shop-prod.socket"
    assert record.service_target() == ("127.0.0.1", 8001)
    expected = ("shop-prod@20261122T190507Z-1a2b3c4.service", "/run/shop-prod-20261122T190507Z-1a2b3c4/gunicorn.sock")
    assert record.candidate("20261122T190507Z-1a2b3c4") == expected
    unix = ServiceRecord(dict(RECORD, listen="unix", socket="/run/shop-prod/gunicorn.sock", socket_activation=False), "gunicorn.json")
    assert unix.service_target() == "/run/shop-prod/gunicorn.sock" and unix.socket_unit is None


def test_service_record_missing_keys_or_file(tmp_path):
    with pytest.raises(DeployError, match="lacks candidate_unit, candidate_socket: run the gunicorn role"):
        ServiceRecord({"unit": "x.service", "listen": "tcp"}, "old.json")
    with pytest.raises(DeployError, match="cannot read .*run the gunicorn role"):
        ServiceRecord.load(str(tmp_path / "missing.json"))


def releases(tmp_path, states):
    ids = []
    for index, state in enumerate(states):
        rid = "20261122T19{0:02d}00Z-{0:07x}".format(index)
        (tmp_path / "releases" / rid).mkdir(parents=True)
        marker = {"release_id": rid, "commit": "{0:07x}".format(index) * 5 + "00000", "state": state}
        (tmp_path / "releases" / rid / MARKER).write_text(json.dumps(marker))
        ids.append(rid)
    return ids


def activator(tmp_path):
    def no_record():
        raise AssertionError("questions must not need the service record")
    return Activator(str(tmp_path), no_record, Health(), Runner(), Hooks())


def test_choose_and_needed_answer_without_the_service(tmp_path):
    ids = releases(tmp_path, ["good", "failed", "good", "pending"])
    os.symlink("releases/" + ids[2], str(tmp_path / "current"))
    chooser = activator(tmp_path)
    assert chooser.choose(ids[3]) == (ids[3], ids[2])
    assert chooser.needed(ids[3], ids[2]) is True
    assert chooser.needed(ids[2], ids[2]) is False
    # Rollback skips the failed release; a failed release cannot be activated.
    assert chooser.choose(rollback=True) == (ids[0], ids[2])
    with pytest.raises(DeployError, match="is failed: it cannot take traffic"):
        chooser.choose(ids[1])
    with pytest.raises(DeployError, match="no release 20991231T000000Z-0000000"):
        chooser.choose("20991231T000000Z-0000000")


def test_the_candidate_stops_while_the_service_restarts(tmp_path, server, monkeypatch):
    """Stand-in: a `systemctl` on PATH that logs its arguments (and says every unit is active); the
    candidate and the service answer from the real HTTP server. The healthy candidate's stop is not
    waited for before the switch, and is waited for once the restarted service answers."""
    socket_path, unused_state = server
    ids = releases(tmp_path, ["good", "pending"])
    os.symlink("releases/" + ids[0], str(tmp_path / "current"))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "systemctl").write_text('#!/bin/sh\necho "$*" >> "$(dirname "$0")/calls.txt"\necho active\n')
    (bin_dir / "systemctl").chmod(0o755)
    monkeypatch.setenv("PATH", "{0}:{1}".format(bin_dir, os.environ["PATH"]))
    record = ServiceRecord(dict(RECORD, listen="unix", socket=socket_path, socket_activation=False, candidate_socket=socket_path), "gunicorn.json")

    done = Activator(str(tmp_path), lambda: record, Health(), Runner(), Hooks()).activate(ids[1], ids[0])

    assert done["candidate"]["healthy"] and done["service"]["healthy"]
    assert os.readlink(str(tmp_path / "current")) == "releases/" + ids[1]
    candidate = "shop-prod@{0}.service".format(ids[1])
    assert (bin_dir / "calls.txt").read_text().splitlines() == [
        "start " + candidate, "stop --no-block " + candidate, "reset-failed shop-prod.service", "restart shop-prod.service", "stop " + candidate]

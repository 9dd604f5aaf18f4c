from __future__ import annotations

import http.server
import json
import os
import socket
import socketserver
import threading

import pytest

from ansible_collections.stagecraft.webapp.plugins.module_utils._activate import Activator, Health, ServiceRecord, Systemd, last_words
from ansible_collections.stagecraft.webapp.plugins.module_utils._commands import Runner, subprocess_run_command
from ansible_collections.stagecraft.webapp.plugins.module_utils._errors import DeployError
from ansible_collections.stagecraft.webapp.plugins.module_utils._hooks import Hooks
from ansible_collections.stagecraft.webapp.plugins.module_utils._release import MARKER
from ansible_collections.stagecraft.webapp.plugins.module_utils._steps import SNAPSHOT_SPEC, Call, activate, deploy

RECORD = {"unit": "shop-prod.service", "listen": "tcp", "address": "0.0.0.0", "port": 8001, "socket": None, "socket_activation": True,
          "candidate_unit": "shop-prod@.service", "candidate_socket": "/run/shop-prod-%i/gunicorn.sock"}


class UnixHTTPServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


@pytest.fixture
def server(tmp_path):
    """A real HTTP server on a Unix socket answering /healthz with the status in `answers` (and remembering Host)."""
    state = {"status": 200, "hosts": [], "headers": [], "secure_redirect": False}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            state["hosts"].append(self.headers.get("Host"))
            state["headers"].append(dict(self.headers.items()))
            if state["secure_redirect"] and self.headers.get("X-Forwarded-Proto") != "https":
                # Django's SECURE_SSL_REDIRECT behind a proxy that says the request came over https.
                self.send_response(301)
                self.send_header("Location", "https://{0}{1}".format(self.headers.get("Host"), self.path))
            else:
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


def test_the_probe_asks_as_nginx_does_for_its_server_block(server):
    path, state = server
    outcome = Health(host="shop.example.com", scheme="https", headers={"x-real-ip": "10.0.0.9", "X-Tenant": "eu"}, timeout=5).wait(path)
    assert outcome["healthy"] is True
    sent = state["headers"][0]
    assert (sent["Host"], sent["X-Forwarded-Proto"], sent["X-Forwarded-Host"], sent["X-Forwarded-For"]) == (
        "shop.example.com", "https", "shop.example.com", "127.0.0.1")
    # Extra headers replace the probe's own of the same name, whatever their case.
    names = [name.lower() for name in sent]
    assert (sent["x-real-ip"], sent["X-Tenant"]) == ("10.0.0.9", "eu") and names.count("x-real-ip") == 1


@pytest.mark.parametrize("scheme, healthy, answer", [("https", True, "HTTP 200"), ("http", False, "HTTP 301 to https://shop.example.com/healthz")])
def test_an_app_that_redirects_plain_http_passes_when_nginx_speaks_tls(server, scheme, healthy, answer):
    path, state = server
    state["secure_redirect"] = True
    outcome = Health(host="shop.example.com", scheme=scheme, timeout=30, interval=0.01).wait(path)
    assert (outcome["healthy"], outcome["answer"]) == (healthy, answer)


@pytest.mark.parametrize("status", [500, 404, 301, 400])
def test_a_definite_wrong_answer_three_times_in_a_row_fails_at_once(server, status):
    path, state = server
    state["status"] = status
    outcome = Health(timeout=600, interval=0.01).wait(path)
    assert (outcome["healthy"], outcome["answer"].split(" to ")[0], outcome["attempts"]) == (False, "HTTP {0}".format(status), 3)


def test_not_ready_yet_waits_until_the_deadline(server):
    """503 is HTTP's "not ready yet" (an app warming up): the probe waits for it as for a closed socket."""
    path, state = server
    state["status"] = 503
    ticks = iter(range(1000))
    outcome = Health(timeout=10, interval=0).wait(path, sleep=lambda seconds: None, clock=lambda: next(ticks))
    assert (outcome["healthy"], outcome["answer"], outcome["attempts"]) == (False, "HTTP 503", 10)


def test_a_wrong_answer_between_others_starts_the_count_again():
    answers = iter([(500, "HTTP 500"), (500, "HTTP 500"), (None, "ConnectionRefusedError"), (500, "HTTP 500"), (500, "HTTP 500"), (200, "HTTP 200")])
    health = Health(timeout=600, interval=0)
    health.ask = lambda target: next(answers)
    expected = {"healthy": True, "answer": "HTTP 200", "attempts": 6, "wrong_in_a_row": 0}
    assert dict(health.wait("unused", sleep=lambda seconds: None), seconds=None) == dict(expected, seconds=None)


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
        "start " + candidate, "stop --no-block " + candidate, "reset-failed shop-prod.service", "restart shop-prod.service", "stop " + candidate,
        "reset-failed shop-prod@*.service"]


@pytest.fixture
def serving_release(tmp_path, monkeypatch):
    """A release that is current and good, and a service behind a real HTTP server on a Unix socket that
    answers /healthz 200 once `up` exists, 503 before. Stand-in: a `systemctl` on PATH that logs its
    arguments, says every unit is active, and creates `up` on a restart when `repairable` exists."""
    ids = releases(tmp_path, ["good"])
    os.symlink("releases/" + ids[0], str(tmp_path / "current"))

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200 if (tmp_path / "up").exists() else 503)
            self.end_headers()

        def address_string(self):
            return "unix"

        def log_message(self, *args):
            pass

    httpd = UnixHTTPServer(str(tmp_path / "app.sock"), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "systemctl").write_text('#!/bin/sh\nhere="$(dirname "$0")"\necho "$*" >> "$here/calls.txt"\n'
                                       'if [ "$1" = restart ] && [ -e "$here/../repairable" ]; then touch "$here/../up"; fi\necho active\n')
    (bin_dir / "systemctl").chmod(0o755)
    monkeypatch.setenv("PATH", "{0}:{1}".format(bin_dir, os.environ["PATH"]))
    record = ServiceRecord(dict(RECORD, listen="unix", socket=str(tmp_path / "app.sock")), "gunicorn.json")
    yield ids[0], Activator(str(tmp_path), lambda: record, Health(timeout=0.5, interval=0.05), Runner(), Hooks())
    httpd.shutdown()
    httpd.server_close()


def systemctl_calls(tmp_path):
    calls = tmp_path / "bin" / "calls.txt"
    return calls.read_text().splitlines() if calls.exists() else []


def test_a_release_that_serves_is_asked_and_left_alone(tmp_path, serving_release):
    release_id, activator = serving_release
    (tmp_path / "up").touch()
    assert activator.prove_serving(release_id) == {"healthy": True, "answer": "HTTP 200", "repaired": False}
    assert systemctl_calls(tmp_path) == []


def test_a_release_that_does_not_serve_is_repaired_and_proved(tmp_path, serving_release):
    """The crash loop's dead end: a failed service and socket are reset, started, and proved."""
    release_id, activator = serving_release
    (tmp_path / "repairable").touch()
    outcome = activator.prove_serving(release_id)
    assert (outcome["healthy"], outcome["answer"], outcome["repaired"]) == (False, "HTTP 503", True)
    assert outcome["repair"]["healthy"] is True
    assert systemctl_calls(tmp_path) == ["reset-failed shop-prod.service", "reset-failed shop-prod.socket", "start shop-prod.socket",
                                         "restart shop-prod.service"]


def test_a_release_that_a_repair_cannot_heal_fails_loudly(tmp_path, serving_release):
    release_id, activator = serving_release
    with pytest.raises(DeployError, match=r"release {0} is current but shop-prod.service does not answer its health check \(HTTP 503\); "
                                          r"a restart did not help \(GET /healthz answered HTTP 503".format(release_id)) as failed:
        activator.prove_serving(release_id)
    assert failed.value.details["repair"]["healthy"] is False


def test_check_mode_says_a_repair_is_needed_and_touches_nothing(tmp_path, serving_release):
    release_id, activator = serving_release
    outcome = activator.prove_serving(release_id, check_mode=True)
    assert (outcome["healthy"], outcome["repaired"]) == (False, True)
    assert systemctl_calls(tmp_path) == []


@pytest.mark.parametrize("up, changed, repaired", [(True, False, False), (False, True, True)])
def test_the_activate_step_proves_a_current_release_serves(tmp_path, serving_release, up, changed, repaired):
    """The per-push deploy of an unchanged version: never 'unchanged' for a service that does not answer."""
    release_id, unused_activator = serving_release
    (tmp_path / "repairable").touch()
    if up:
        (tmp_path / "up").touch()
    record = tmp_path / "gunicorn.json"
    record.write_text(json.dumps(dict(RECORD, listen="unix", socket=str(tmp_path / "app.sock"))))
    params = dict(path=str(tmp_path), release_id=release_id, rollback=False, service_record=str(record), user=None, env_file=None, hooks={},
                  once_hooks=[], rerun_once=[], who="alice", health_path="/healthz", health_status=200, health_host="localhost", health_scheme="http",
                  health_headers={}, health_timeout=1.0)
    done = activate(Call(params, False, subprocess_run_command))
    assert (done["changed"], done["repaired"], done["service"]["repaired"]) == (changed, repaired, repaired)
    assert (tmp_path / "up").exists()


def test_a_deploy_that_repairs_the_serving_release_says_so_and_records_no_deploy(tmp_path, serving_release):
    release_id, unused_activator = serving_release
    (tmp_path / "repairable").touch()
    record = tmp_path / "gunicorn.json"
    record.write_text(json.dumps(dict(RECORD, listen="unix", socket=str(tmp_path / "app.sock"))))
    params = dict(path=str(tmp_path), phase="activate", release_id=release_id, rollback=False, built_changed=False, service_record=str(record),
                  holder_id="run-1", who="alice", job_id=None, ref="main", version="main", timestamp="20261122T190507Z", ssh_key=None,
                  known_hosts=None, user=None, env_file=None, hooks={}, once_hooks=[], rerun_once=[], health_path="/healthz", health_status=200,
                  health_host="localhost",
                  health_scheme="http", health_headers={}, health_timeout=1.0, keep=5,
                  **dict((name, option["default"]) for name, option in SNAPSHOT_SPEC.items()))
    done = deploy(Call(params, False, subprocess_run_command))
    assert (done["changed"], done["repaired"], done["release_id"]) == (True, True, release_id)
    assert "record" not in done["steps"] and not (tmp_path / "deploys.jsonl").exists()


GUNICORN_IMPORT_FAILURE = """[INFO] Booting worker with pid: 9
[ERROR] Exception in worker process
Traceback (most recent call last):
  File "/srv/app/prod/releases/r/.venv/lib/python3.11/site-packages/gunicorn/arbiter.py", line 608, in spawn_worker
    worker.init_process()
ModuleNotFoundError: No module named 'nosuchmodule'
[INFO] Worker exiting (pid: 9)
[ERROR] Worker (pid:9) exited with code 3
[ERROR] Shutting down: Master
[ERROR] Reason: Worker failed to boot.
app-prod@r.service: Main process exited, code=exited, status=3/NOTIMPLEMENTED
app-prod@r.service: Failed with result 'exit-code'.""".splitlines()


def test_last_words_keep_the_exception_that_ended_a_traceback():
    assert last_words(GUNICORN_IMPORT_FAILURE, 4) == ["ModuleNotFoundError: No module named 'nosuchmodule'"] + GUNICORN_IMPORT_FAILURE[-4:]
    assert last_words(GUNICORN_IMPORT_FAILURE, 8) == GUNICORN_IMPORT_FAILURE[-8:]
    assert last_words(["a", "b", "c"], 2) == ["b", "c"]


def test_the_journal_is_read_newest_last_without_journalctls_line_limit(tmp_path, monkeypatch):
    """journalctl --since T --lines N gives the OLDEST N lines on systemd 252: the cut is made here."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "journalctl").write_text('#!/bin/sh\necho "$*" > "$(dirname "$0")/args.txt"\nseq 1 50\n')
    (bin_dir / "journalctl").chmod(0o755)
    monkeypatch.setenv("PATH", "{0}:{1}".format(bin_dir, os.environ["PATH"]))
    assert Systemd(Runner()).journal("app-prod@r.service", 1700000000.5) == [str(number) for number in range(31, 51)]
    assert "--lines" not in (bin_dir / "args.txt").read_text().split()


def test_a_failed_candidate_is_reset_and_its_last_words_name_the_cause(tmp_path, monkeypatch):
    """Stand-ins: a `systemctl` that logs its arguments and says every unit has failed, a `journalctl` that prints
    gunicorn's boot failure. The release is marked failed, no candidate stays failed, the message shows the cause."""
    ids = releases(tmp_path, ["good", "pending"])
    os.symlink("releases/" + ids[0], str(tmp_path / "current"))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "systemctl").write_text('#!/bin/sh\necho "$*" >> "$(dirname "$0")/calls.txt"\necho failed\n')
    (bin_dir / "journalctl").write_text("#!/bin/sh\ncat <<'EOF'\n" + "\n".join(GUNICORN_IMPORT_FAILURE) + "\nEOF\n")
    for name in ("systemctl", "journalctl"):
        (bin_dir / name).chmod(0o755)
    monkeypatch.setenv("PATH", "{0}:{1}".format(bin_dir, os.environ["PATH"]))
    record = ServiceRecord(dict(RECORD, listen="unix", socket=str(tmp_path / "none.sock"), candidate_socket=str(tmp_path / "none.sock")), "gunicorn.json")

    with pytest.raises(DeployError) as raised:
        Activator(str(tmp_path), lambda: record, Health(timeout=30, interval=0.01), Runner(), Hooks()).activate(ids[1], ids[0])

    assert "ModuleNotFoundError: No module named 'nosuchmodule'" in raised.value.message
    assert raised.value.message.count("ModuleNotFoundError") == 1
    # Nothing listened: the probe got no answer, which is not an answer of the app's.
    assert "GET /healthz got no answer (FileNotFoundError: " in raised.value.message and " answered " not in raised.value.message
    candidate = "shop-prod@{0}.service".format(ids[1])
    calls = (bin_dir / "calls.txt").read_text().splitlines()
    assert calls[0] == "start " + candidate and calls[-2:] == ["stop " + candidate, "reset-failed shop-prod@*.service"]
    assert os.readlink(str(tmp_path / "current")) == "releases/" + ids[0]
    assert json.loads((tmp_path / "releases" / ids[1] / MARKER).read_text())["state"] == "failed"

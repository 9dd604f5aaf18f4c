"""stagecraft.webapp.nginx on a live host: one server block per TLS mode, as converge.yml sets them up,
checked the way a client sees them (curl and small Python clients running on the host itself,
always against 127.0.0.1)."""

from __future__ import annotations

import json
import shlex
import threading
from pathlib import Path

import pytest
from conftest import assert_bad_input_case, journal, run_bad_input, run_playbook

HERE = Path(__file__).resolve().parent
PKI = Path(__import__("os").environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "/nonexistent")) / "pki"
TEST_CA = "/usr/local/share/stagecraft-test-ca.pem"
PEBBLE_ROOT = "/tmp/pebble-root.pem"
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "strict-origin-when-cross-origin",
    "x-frame-options": "DENY",
    "content-security-policy": "default-src 'self'; base-uri 'self'; object-src 'none'; frame-ancestors 'none'; form-action 'self'",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
}
HSTS = "max-age=63072000"


def curl(host, url: str, *options: str, resolve: bool = True):
    """(status, headers, body, curl's exit code) of one request from the host to 127.0.0.1.

    Headers are lower-cased names to lists of values, so a header sent twice shows up twice.
    """
    name_port = url.split("://", 1)[1].split("/", 1)[0]
    name, dummy, port = name_port.partition(":")
    port = port or ("443" if url.startswith("https") else "80")
    target = ["--resolve", f"{name}:{port}:127.0.0.1"] if resolve else []
    command = ["curl", "-sS", "--max-time", "10", "-D", "/dev/stderr", "-o", "/dev/stdout", *target, *options, url]
    answer = host.run(shlex.join(command))
    headers: dict[str, list[str]] = {}
    status = 0
    for line in answer.stderr.splitlines():
        if line.startswith("HTTP/"):
            status, headers = int(line.split()[1]), {}
        elif ":" in line:
            key, value = line.split(":", 1)
            headers.setdefault(key.strip().lower(), []).append(value.strip())
    return status, headers, answer.stdout, answer.rc


def python_on_host(host, script: str, *args: str) -> dict:
    run = host.run(f"python3 -c {shlex.quote((HERE / script).read_text())} {shlex.join(args)}")
    assert run.rc == 0, run.stderr
    return json.loads(run.stdout)


@pytest.fixture(scope="module")
def pebble_root(host) -> str:
    """pebble's root of this run (it makes a new one each start), saved on the host for curl."""
    host.check_output(f"curl -sS --cacert {TEST_CA} https://localhost:15000/roots/0 -o {PEBBLE_ROOT}")
    return PEBBLE_ROOT


# --- TLS modes -------------------------------------------------------------------------------

def test_provided_certificate_is_served_and_verifies(host):
    cert = python_on_host(host, "peer_certificate.py", "shop.test", "443")
    assert (cert["subject"], cert["issuer"]) == ("shop.test", "Stagecraft molecule test CA")
    assert curl(host, "https://shop.test/healthz", "--cacert", TEST_CA)[0] == 200
    assert curl(host, "https://www.shop.test/healthz", "--cacert", TEST_CA)[0] == 200


def test_selfsigned_certificate_is_served_for_dev(host):
    cert = python_on_host(host, "peer_certificate.py", "dev.shop.test", "443")
    assert cert["subject"] == cert["issuer"] == "dev.shop.test"
    assert cert["sans"] == ["dev.shop.test"]
    host.check_output("python3 -c 'import ssl; print(ssl.get_server_certificate((\"127.0.0.1\", 443), sni_hostname=\"dev.shop.test\"))'"
                      " > /tmp/dev.pem 2>/dev/null || true")
    status = curl(host, "https://dev.shop.test/healthz", "--cacert", "/etc/nginx/stagecraft/tls/shop-dev/fullchain.pem")[0]
    assert status == 200


def test_acme_certificate_comes_from_pebble(host, pebble_root):
    cert = python_on_host(host, "peer_certificate.py", "flask.test", "443")
    assert cert["subject"] == "flask.test" or cert["sans"] == ["flask.test"]
    assert cert["issuer"].startswith("Pebble Intermediate CA"), cert
    status, dummy, body, rc = curl(host, "https://flask.test/healthz", "--cacert", pebble_root)
    assert (status, rc) == (200, 0), body
    assert json.loads(body)["commit"] == "molecule-flask"


def test_cloudflare_origin_certificate_and_authenticated_origin_pulls(host):
    """The certificate is the scenario's stand-in for a Cloudflare origin certificate (same
    issuer and subject names, made by tasks/pki.yml), not one from Cloudflare; so is the
    origin-pull client certificate."""
    cert = python_on_host(host, "peer_certificate.py", "edge.test", "443")
    assert (cert["subject"], cert["issuer"], cert["subject_o"]) == (
        "CloudFlare Origin Certificate", "CloudFlare Origin SSL Certificate Authority", ["CloudFlare, Inc."])
    host.run("mkdir -p /tmp/pull")
    for name in ("origin-ca.crt", "pull-client.crt", "pull-client.key"):
        host.run(f"cat > /tmp/pull/{name} <<'EOF'\n{(PKI / name).read_text()}\nEOF")
    with_client = curl(host, "https://edge.test/healthz", "--cacert", "/tmp/pull/origin-ca.crt",
                       "--cert", "/tmp/pull/pull-client.crt", "--key", "/tmp/pull/pull-client.key")
    assert with_client[0] == 200, with_client
    assert curl(host, "https://edge.test/healthz", "--cacert", "/tmp/pull/origin-ca.crt")[0] == 400


def test_plain_http_mode_serves_without_tls(host):
    status, headers, dummy, dummy = curl(host, "http://tunnel.test/healthz")
    assert status == 200
    assert "strict-transport-security" not in headers
    assert "error" in python_on_host(host, "peer_certificate.py", "tunnel.test", "443")


def test_loopback_only_and_public_server_blocks_share_the_host(host):
    """tunnel-prod listens on 127.0.0.1 only, the others on every address: nginx hands a connection
    to 127.0.0.1 only to the server blocks naming 127.0.0.1, so the public ones name it too (the
    health probe of the deploy and the report ask them there), and tunnel-prod answers nowhere else."""
    assert curl(host, "http://shop.test/healthz")[0] == 308
    assert curl(host, "https://shop.test/healthz", "--cacert", TEST_CA)[0] == 200
    assert curl(host, "https://dev.shop.test/healthz", "-k")[0] == 200
    own = host.check_output("hostname -I").split()[0]
    assert curl(host, "http://tunnel.test/healthz", "--resolve", f"tunnel.test:80:{own}", resolve=False)[3] == 52
    assert curl(host, "https://shop.test/healthz", "-k", "--resolve", f"shop.test:443:{own}", resolve=False)[0] == 200


def test_tls_1_0_and_1_1_are_refused_and_1_3_is_offered(host):
    assert curl(host, "https://shop.test/healthz", "--cacert", TEST_CA, "--tlsv1.0", "--tls-max", "1.1")[3] != 0
    assert curl(host, "https://shop.test/healthz", "--cacert", TEST_CA, "--tlsv1.3")[0] == 200
    assert python_on_host(host, "peer_certificate.py", "shop.test", "443")["protocol"] == "TLSv1.3"


def test_http2_is_offered(host):
    assert host.run(f"curl -sS --http2 --cacert {TEST_CA} --resolve shop.test:443:127.0.0.1 -o /dev/null -w '%{{http_version}}' "
                    "https://shop.test/healthz").stdout == "2"


# --- Redirect, default server, headers -------------------------------------------------------

def test_http_redirects_to_https_with_308(host):
    status, headers, dummy, dummy = curl(host, "http://shop.test/some/path?x=1")
    assert status == 308
    assert headers["location"] == ["https://shop.test/some/path?x=1"]


def test_unknown_host_names_get_no_answer(host):
    # 444: the connection closes without a response (curl: "Empty reply from server", exit 52).
    assert curl(host, "http://127.0.0.1/", "-H", "Host: unknown.test", resolve=False)[3] == 52
    # TLS for an unknown name: the handshake is refused (no certificate is shown).
    assert "error" in python_on_host(host, "peer_certificate.py", "unknown.test", "443")


@pytest.mark.parametrize("path", ["/healthz", "/static/css/site.css", "/static/css/site.3f9a1c2b7d4e.css", "/app/", "/app/deep/route",
                                  "/app/assets/index-4f2a9c1e.js", "/no/such/page"])
def test_security_headers_reach_every_kind_of_location_once(host, path):
    status, headers, dummy, dummy = curl(host, f"https://shop.test{path}", "--cacert", TEST_CA)
    assert status in (200, 404)
    for name, value in {**SECURITY_HEADERS, "strict-transport-security": HSTS}.items():
        assert headers.get(name) == [value], (path, name, headers)
    assert headers["server"] == ["nginx"]  # server_tokens off: no version


def test_dev_sends_security_headers_but_no_hsts(host):
    status, headers, dummy, dummy = curl(host, "https://dev.shop.test/healthz", "-k")
    assert status == 200
    assert "strict-transport-security" not in headers
    assert headers["x-frame-options"] == ["DENY"]


def test_request_id_is_made_or_passed_on(host):
    made = curl(host, "https://shop.test/healthz", "--cacert", TEST_CA)[1]["x-request-id"][0]
    assert len(made) == 32
    given = curl(host, "https://shop.test/healthz", "--cacert", TEST_CA, "-H", "X-Request-ID: trace-42")[1]
    assert given["x-request-id"] == ["trace-42"]


def test_gzip_compresses_json(host):
    headers = host.check_output(f"curl -sS -D - -o /dev/null --cacert {TEST_CA} --resolve shop.test:443:127.0.0.1"
                                " -H 'Accept-Encoding: gzip' https://shop.test/openapi.json")
    assert "content-encoding: gzip" in headers.lower()


# --- Static files and the SPA ----------------------------------------------------------------

@pytest.mark.parametrize(("path", "cache"), [
    ("/static/css/site.3f9a1c2b7d4e.css", "public, max-age=31536000, immutable"),
    ("/static/css/site.css", "public, max-age=3600"),
    ("/app/assets/index-4f2a9c1e.js", "public, max-age=31536000, immutable"),
    ("/app/", "no-cache"),
])
def test_static_files_are_served_by_nginx_with_cache_headers(host, path, cache):
    status, headers, body, dummy = curl(host, f"https://shop.test{path}", "--cacert", TEST_CA)
    assert status == 200
    assert headers["cache-control"] == [cache]
    assert "etag" in headers or "last-modified" in headers
    assert body


def test_spa_answers_unknown_paths_with_its_index(host):
    status, headers, body, dummy = curl(host, "https://shop.test/app/orders/42", "--cacert", TEST_CA)
    assert status == 200
    assert "<title>shop spa</title>" in body
    assert headers["cache-control"] == ["no-cache"]


def test_static_file_that_does_not_exist_is_404(host):
    assert curl(host, "https://shop.test/static/nope.css", "--cacert", TEST_CA)[0] == 404


def test_shared_directory_linked_into_the_release_is_served(host):
    status, dummy, body, dummy = curl(host, "https://shop.test/media/hello.txt", "--cacert", TEST_CA)
    assert (status, body) == (200, "shared media\n")


# Each location kind the role renders: static (alias), SPA (alias, try_files), media (alias), proxy, proxy
# with an address list, the ACME challenges (root) and the maintenance page (exact alias). canary.txt
# lies beside staticfiles/, frontend/dist/ and media/ (prepare.yml): one level up, where the alias trap leads.
LOCATIONS = ["https://shop.test/static/", "https://shop.test/app/", "https://shop.test/uploads/", "https://shop.test/", "https://shop.test/internal/",
             "http://shop.test/.well-known/acme-challenge/", "https://shop.test/.stagecraft-maintenance.html/"]
CLIMBS = ["{name}../canary.txt", "{path}../canary.txt", "{name}..%2fcanary.txt", "{name}%2e%2e/canary.txt", "{path}%2e%2e/canary.txt",
          "{path}%2e%2e%2fcanary.txt", "{path}..%2f..%2f..%2f..%2f..%2f..%2f..%2fetc%2fpasswd",
          "{name}../../../../../../../etc/passwd", "{path}%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
          "{path}.%2e/.%2e/.%2e/.%2e/.%2e/.%2e/.%2e/etc/passwd", "{path}%252e%252e%252fcanary.txt"]


@pytest.mark.parametrize("location", LOCATIONS)
def test_no_request_climbs_out_of_a_location(host, location):
    path = location.split("shop.test", 1)[1]
    for shape in CLIMBS:
        url = location.split("shop.test", 1)[0] + "shop.test" + shape.format(path=path, name=path.rstrip("/"))
        status, dummy, body, dummy = curl(host, url, "--cacert", TEST_CA, "--path-as-is")
        assert "outside-canary" not in body and "root:x:0:0" not in body, (url, status, body[:200])


def test_symlink_in_a_release_to_a_file_of_another_owner_is_not_served(host):
    """A later release (owned by the app's user, as the deploy step leaves it) may bring a link
    that leads out: nginx must not follow it, neither to a file nor as the served directory."""
    release = host.check_output("readlink -f /srv/shop/prod/current")
    host.check_output(f"ln -sfn /etc/passwd {release}/staticfiles/leak && chown -h shop-prod {release}/staticfiles/leak"
                      f" && mv {release}/media {release}/media.away && ln -sfn /etc {release}/media && chown -h shop-prod {release}/media")
    try:
        for url in ("https://shop.test/static/leak", "https://shop.test/media/passwd"):
            status, dummy, body, dummy = curl(host, url, "--cacert", TEST_CA)
            assert "root:x:0:0" not in body and status in (403, 404), (url, status, body[:200])
    finally:
        host.run(f"rm -f {release}/staticfiles/leak {release}/media && mv {release}/media.away {release}/media")
    assert curl(host, "https://shop.test/media/hello.txt", "--cacert", TEST_CA)[0] == 200


def test_an_upload_the_app_wrote_is_served_and_a_link_in_the_media_directory_is_not(host):
    """The media location (gunicorn_media): what the app's user writes there, with the service's umask,
    nginx serves as what it is; a link the app's user puts there leads nowhere; the secrets stay closed."""
    media = "/srv/shop/prod/media"
    host.check_output(f"runuser -u shop-prod -- sh -c 'umask 0027 && printf GIF89a-upload > {media}/pixel.gif && ln -sfn /etc/passwd {media}/passwd'")
    try:
        status, headers, body, dummy = curl(host, "https://shop.test/uploads/pixel.gif", "--cacert", TEST_CA)
        link = curl(host, "https://shop.test/uploads/passwd", "--cacert", TEST_CA)
    finally:
        host.run(f"rm -f {media}/pixel.gif {media}/passwd")
    assert (status, headers["content-type"], body) == (200, ["image/gif"], "GIF89a-upload")
    assert link[0] in (403, 404) and "root:x:0:0" not in link[2], link
    assert host.run("runuser -u www-data -- cat /etc/stagecraft/shop-prod/env").rc != 0


# --- Proxy: WebSocket, limits, access --------------------------------------------------------

def test_websocket_upgrade_through_the_proxy(host):
    answer = python_on_host(host, "websocket_echo.py", "shop.test", "/ws", "hello through nginx")
    assert answer["status_line"].startswith("HTTP/1.1 101"), answer
    assert answer["echo"] == "hello through nginx"


def test_rate_limited_location_answers_429_beyond_the_burst(host):
    statuses = [curl(host, "https://shop.test/limited/", "--cacert", TEST_CA)[0] for attempt in range(6)]
    assert 429 in statuses, statuses
    assert statuses[0] != 429


def test_address_restrictions(host):
    # /internal/ allows only 192.0.2.1; dev allows only the loopback addresses.
    assert curl(host, "https://shop.test/internal/", "--cacert", TEST_CA)[0] == 403
    assert curl(host, "https://dev.shop.test/healthz", "-k")[0] == 200
    own = host.check_output("hostname -I").split()[0]
    outside = curl(host, "https://dev.shop.test/healthz", "-k", "--resolve", f"dev.shop.test:443:{own}", resolve=False)
    assert outside[0] == 403, outside


# --- Maintenance mode ------------------------------------------------------------------------

def test_maintenance_file_switches_the_server_block_to_503(host):
    page = "<h1>Back soon</h1>"
    directory = host.file("/var/lib/stagecraft/shop-prod")
    assert (directory.user, directory.group, directory.mode) == ("root", "root", 0o755)
    host.check_output(f"printf '%s' {shlex.quote(page)} > /var/lib/stagecraft/shop-prod/.m.tmp"
                      " && mv /var/lib/stagecraft/shop-prod/.m.tmp /var/lib/stagecraft/shop-prod/maintenance.html")
    try:
        for path, method in (("/healthz", "GET"), ("/static/css/site.css", "GET"), ("/app/x", "GET"), ("/api/form", "POST")):
            status, headers, body, dummy = curl(host, f"https://shop.test{path}", "--cacert", TEST_CA, "-X", method)
            assert (status, body) == (503, page), (path, method, status, body)
            assert headers["retry-after"] == ["120"]
            assert headers["strict-transport-security"] == [HSTS]
        # ACME challenges still get through (404 here: no token), and the other apps are untouched.
        assert curl(host, "http://shop.test/.well-known/acme-challenge/none")[0] == 404
        assert curl(host, "https://dev.shop.test/healthz", "-k")[0] == 200
    finally:
        host.run("rm -f /var/lib/stagecraft/shop-prod/maintenance.html")
    assert curl(host, "https://shop.test/healthz", "--cacert", TEST_CA)[0] == 200


# --- Files on the host -----------------------------------------------------------------------

@pytest.mark.parametrize("instance", ["shop-prod", "shop-dev", "flask-prod", "edge-prod"])
def test_private_keys_are_root_only(host, instance):
    key = host.file(f"/etc/nginx/stagecraft/tls/{instance}/privkey.pem")
    assert (key.user, key.group, key.mode) == ("root", "root", 0o600)
    assert host.file(f"/etc/nginx/stagecraft/tls/{instance}").mode == 0o700


def test_one_server_block_per_app_and_environment(host):
    sites = sorted(host.check_output("ls /etc/nginx/stagecraft/sites").split())
    assert sites == ["edge-prod.conf", "flask-prod.conf", "shop-dev.conf", "shop-prod.conf", "tunnel-prod.conf"]
    assert not host.file("/etc/nginx/sites-enabled/default").exists
    assert "unix:/run/stagecraft/shop-prod.sock" in host.file("/etc/nginx/stagecraft/sites/shop-prod.conf").content_string
    assert "server 127.0.0.1:8000;" in host.file("/etc/nginx/stagecraft/sites/flask-prod.conf").content_string


def test_socket_keeps_nginx_group_when_its_units_start_afresh(host):
    """As after a boot (/run is empty): the socket starts first, the service on nginx's first request.
    The service's start hands its RuntimeDirectory to the app's user and group; the socket is not in it."""
    host.check_output("systemctl stop shop-prod.service shop-prod.socket"
                      " && rm -rf /run/shop-prod /run/stagecraft/shop-prod.sock && systemctl start shop-prod.socket")
    assert not host.service("shop-prod.service").is_running
    assert curl(host, "https://shop.test/healthz", "--cacert", TEST_CA)[0] == 200
    assert host.service("shop-prod.service").is_running
    sock = host.file("/run/stagecraft/shop-prod.sock")
    assert (sock.user, sock.group, sock.mode) == ("shop-prod", "www-data", 0o660)
    assert host.file("/run/shop-prod").group == "shop-prod"


def test_ocsp_stapling_only_where_the_certificate_names_a_responder(host):
    assert "ssl_stapling on;" in host.file("/etc/nginx/stagecraft/sites/flask-prod.conf").content_string
    for instance in ("shop-prod", "shop-dev", "edge-prod"):
        assert "ssl_stapling" not in host.file(f"/etc/nginx/stagecraft/sites/{instance}.conf").content_string


# --- ACME renewal ----------------------------------------------------------------------------

def nginx_workers(host) -> list[int]:
    master = host.check_output("cat /run/nginx.pid")
    return sorted(int(pid) for pid in host.check_output(f"ps --ppid {master} -o pid=").split())


def test_renewal_timer_is_active(host):
    timer = host.service("stagecraft-acme-renew.timer")
    assert timer.is_enabled and timer.is_running


def test_renewal_that_is_not_due_changes_nothing_and_does_not_reload(host):
    before_cert = python_on_host(host, "peer_certificate.py", "flask.test", "443")["serial"]
    before_workers = nginx_workers(host)
    run = host.run("systemctl start stagecraft-acme-renew.service")
    assert run.rc == 0, journal(host, "stagecraft-acme-renew.service", 60)
    assert python_on_host(host, "peer_certificate.py", "flask.test", "443")["serial"] == before_cert
    assert nginx_workers(host) == before_workers


def test_forced_renewal_replaces_the_certificate_without_dropping_requests(host, pebble_root):
    before = python_on_host(host, "peer_certificate.py", "flask.test", "443")["serial"]
    command = ("systemctl set-environment STAGECRAFT_ACME_FORCE=1 && systemctl start stagecraft-acme-renew.service;"
               " rc=$?; systemctl unset-environment STAGECRAFT_ACME_FORCE; exit $rc")
    summary = python_on_host(host, "https_loop.py", "flask.test", pebble_root, command)
    assert summary["command_rc"] == 0, (summary, journal(host, "stagecraft-acme-renew.service", 60))
    assert summary["failed"] == 0, summary
    after = python_on_host(host, "peer_certificate.py", "flask.test", "443")["serial"]
    assert after != before
    assert summary["serials"][0] == before and summary["serials"][-1] == after, summary


# --- nginx's own service, hardened ----------------------------------------------------------

def test_nginx_service_exposure_is_at_most_5(host):
    report = host.check_output("systemd-analyze security nginx.service --no-pager")
    overall = [line for line in report.splitlines() if "Overall exposure level for nginx.service" in line]
    assert overall, report[-2000:]
    assert float(overall[0].split(":", 1)[1].split()[0]) <= 5.0, report


def test_running_nginx_is_the_hardened_one(host):
    """The drop-in reached the running master (a sandbox applies at start, not at reload)."""
    assert "10-stagecraft-hardening.conf" in host.check_output("systemctl show nginx.service -p DropInPaths --value")
    status = host.file(f"/proc/{host.check_output('cat /run/nginx.pid')}/status").content_string
    assert "NoNewPrivs:\t1" in status, status
    verify = host.run("systemd-analyze verify nginx.service")
    assert "nginx.service.d" not in verify.stdout + verify.stderr, verify.stdout + verify.stderr


def test_hardened_nginx_reloads_into_a_new_privileged_port_and_still_proxies(host):
    """A reload after a config change: the master (root, sandboxed) binds a new port below 1024 and
    the new workers still reach the app's unix socket under /run."""
    master = host.check_output("cat /run/nginx.pid")
    extra = "/etc/nginx/conf.d/zz-reload-check.conf"
    host.check_output(f"printf 'server {{ listen 81; return 200 \"reloaded\\\\n\"; }}\\n' > {extra} && systemctl reload nginx")
    try:
        # systemctl reload returns once the master has the signal; it binds the new port after.
        answers = []
        for attempt in range(20):
            answers.append(curl(host, "http://reload.test:81/")[2])
            if answers[-1] == "reloaded\n":
                break
            host.run("sleep 0.5")
        assert answers[-1] == "reloaded\n", (answers, journal(host, "nginx.service"))
        assert curl(host, "https://shop.test/healthz", "--cacert", TEST_CA)[0] == 200, journal(host, "nginx.service")
        assert host.check_output("cat /run/nginx.pid") == master
    finally:
        host.run(f"rm -f {extra} && systemctl reload nginx")
    assert curl(host, "https://shop.test/healthz", "--cacert", TEST_CA)[0] == 200


def test_hardened_nginx_reopens_and_writes_its_logs(host):
    """What logrotate does (USR1): the master reopens the logs, which belong to www-data."""
    marker = "log-check-" + host.check_output("cat /proc/sys/kernel/random/uuid")
    assert curl(host, "https://shop.test/healthz", "--cacert", TEST_CA, "-H", f"X-Request-ID: {marker}")[0] == 200
    host.check_output("kill -USR1 $(cat /run/nginx.pid)")
    found = host.run(f"for attempt in $(seq 20); do grep -q {marker} /var/log/nginx/shop-prod.access.log && exit 0; sleep 0.5; done; exit 1")
    assert found.rc == 0, host.run("tail -5 /var/log/nginx/error.log").stdout
    assert host.run("grep -i 'permission denied' /var/log/nginx/error.log").rc == 1


# --- nginx -t, idempotence, check mode, bad input --------------------------------------------

@pytest.fixture(scope="session")
def refused(all_hosts) -> dict:
    """refuse.yml on every host once; the tunnel's file, nginx's master pid and the tunnel's
    answer before and after."""
    def state():
        return {name: {"site": host.file("/etc/nginx/stagecraft/sites/tunnel-prod.conf").md5sum,
                       "master": host.check_output("cat /run/nginx.pid")}
                for name, host in all_hosts.items()}
    before = state()
    run = run_playbook("refuse.yml")
    return {"before": before, "run": run, "after": state()}


def test_change_refused_by_nginx_t_keeps_the_old_config_serving(refused, host, inventory_name):
    run, recap = refused["run"]
    assert run.returncode != 0 and recap[inventory_name]["failed"] == 1
    output = " ".join((run.stdout + run.stderr).split())
    assert "nginx -t refused" in output and "host not found in upstream" in output, output[-3000:]
    assert refused["after"][inventory_name] == refused["before"][inventory_name]
    assert curl(host, "http://tunnel.test/healthz")[0] == 200


def test_check_mode_reports_no_change(testssl_running, check_mode_recap, inventory_name):
    assert check_mode_recap[inventory_name] == {"changed": 0, "unreachable": 0, "failed": 0}


# --- testssl.sh ------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def testssl_running(all_hosts) -> dict:
    """testssl.sh against shop.test (prod, provided certificate) on every host at once, started in
    the background: protocols, cipher categories, forward secrecy, server defaults, headers and
    vulnerabilities (--fast skips the slowest checks), with the scenario's CA added to its trust.
    It only reads, so the check-mode run overlaps it (test_check_mode_reports_no_change starts it
    first); the `testssl` fixture waits for the JSON findings."""
    def run(name, host):
        command = (f"rm -f /tmp/testssl.json; testssl --quiet --color 0 --warnings off --fast --add-ca {TEST_CA}"
                   " --ip 127.0.0.1 --jsonfile /tmp/testssl.json --protocols --std --fs --server-defaults --headers --vulnerable"
                   " https://shop.test/ >/tmp/testssl.log 2>&1; echo rc=$?")
        output = host.run(command).stdout
        findings = json.loads(host.file("/tmp/testssl.json").content_string or "[]")
        results[name] = {"rc": output.strip(), "findings": findings}

    results: dict = {}
    threads = [threading.Thread(target=run, args=item) for item in all_hosts.items()]
    for thread in threads:
        thread.start()
    return {"threads": threads, "results": results}


@pytest.fixture(scope="session")
def testssl(testssl_running) -> dict:
    """Each host's testssl.sh exit line and findings, once every run has ended."""
    for thread in testssl_running["threads"]:
        thread.join(timeout=600)
    return testssl_running["results"]


def test_testssl_finds_nothing_high_or_critical(testssl, inventory_name):
    findings = testssl[inventory_name]["findings"]
    assert findings, testssl[inventory_name]["rc"]
    severe = [f for f in findings if f.get("severity") in ("HIGH", "CRITICAL")]
    assert severe == [], severe


def test_testssl_sees_old_protocols_refused_and_hsts(testssl, inventory_name):
    by_id = {f["id"]: f for f in testssl[inventory_name]["findings"]}
    for protocol in ("SSLv2", "SSLv3", "TLS1", "TLS1_1"):
        assert "not offered" in by_id[protocol]["finding"], by_id[protocol]
    assert "offered" in by_id["TLS1_3"]["finding"] and "not" not in by_id["TLS1_3"]["finding"]
    assert by_id["HSTS_time"]["severity"] == "OK", by_id["HSTS_time"]


BAD_INPUT = {
    "acme without contact": (
        {"nginx_app_name": "flask", "nginx_server_names": ["flask.test"], "nginx_tls_mode": "acme", "nginx_acme_terms_agreed": True},
        'nginx_acme_email "" is not an e-mail address'),
    "acme without domain": (
        {"nginx_app_name": "flask", "nginx_server_names": [], "nginx_tls_mode": "acme", "nginx_acme_email": "ops@flask.test",
         "nginx_acme_terms_agreed": True},
        "nginx_server_names is empty"),
    "certificate and key differ": (
        {"nginx_app_name": "shop", "nginx_server_names": ["shop.test"], "nginx_tls_mode": "provided",
         "nginx_tls_certificate": "@provided.crt", "nginx_tls_private_key": "@other.key"},
        "nginx_tls_private_key does not match nginx_tls_certificate"),
    "expired certificate": (
        {"nginx_app_name": "shop", "nginx_server_names": ["shop.test"], "nginx_tls_mode": "provided",
         "nginx_tls_certificate": "@expired.crt", "nginx_tls_private_key": "@expired.key"},
        "nginx_tls_certificate expired on"),
    "invalid server name": (
        {"nginx_app_name": "shop", "nginx_server_names": ["shop_test!"]},
        'nginx_server_names: "shop_test!" is not a valid host name'),
    # A static location must serve from this app's release or shared directory only.
    "static dir climbing out": (
        {"nginx_app_name": "shop", "nginx_server_names": ["shop.test"],
         "nginx_locations": [{"path": "/files/", "type": "static", "dir": "../../../../../etc"}, {"path": "/"}]},
        'nginx_locations[0].dir "../../../../../etc" climbs with ".."'),
    "static dir elsewhere": (
        {"nginx_app_name": "shop", "nginx_server_names": ["shop.test"], "nginx_locations": [{"path": "/files/", "type": "spa", "dir": "/etc"}]},
        'nginx_locations[0].dir "/etc" is outside this app\'s release and shared directories'),
    "static dir linked out": (
        {"nginx_app_name": "shop", "nginx_server_names": ["shop.test"], "nginx_locations": [{"path": "/files/", "type": "static", "dir": "etc-link"}]},
        'nginx_locations[0].dir "etc-link" leads out of this app\'s release and shared directories through a symlink: on the host it is /etc'),
    "static path without slash": (
        {"nginx_app_name": "shop", "nginx_server_names": ["shop.test"], "nginx_locations": [{"path": "/static", "type": "static", "dir": "staticfiles"}]},
        'nginx_locations[0].path "/static" must end with "/" for a static location'),
    "name and port of another app": (
        {"nginx_app_name": "clash", "nginx_server_names": ["www.shop.test"]},
        "nginx_server_names: www.shop.test on port 80, 443 is already served by shop-prod"),
}
SNAPSHOT = (
    "find /etc/nginx /var/lib/stagecraft /etc/systemd/system -xdev -printf '%p %m %u %g %s %T@\\n' | sort;"
    " cat /run/nginx.pid; systemctl list-units --all --no-legend --plain 'stagecraft*'"
)


@pytest.fixture(scope="session")
def bad_input(all_hosts, tmp_path_factory) -> dict:
    """conftest.run_bad_input with BAD_INPUT's cases, each given an upstream; "@file" values are
    the scenario's PEM files."""
    def value(item):
        return (PKI / item[1:]).read_text() if isinstance(item, str) and item.startswith("@") else item

    cases = {case: {"nginx_upstream": "127.0.0.1:8000", **{key: value(item) for key, item in BAD_INPUT[case][0].items()}} for case in BAD_INPUT}
    return run_bad_input(all_hosts, tmp_path_factory.mktemp("bad_input"), "stagecraft.webapp.nginx", cases, SNAPSHOT)


@pytest.mark.parametrize("case", BAD_INPUT)
def test_bad_input_fails_naming_the_variable_and_changes_nothing(bad_input, inventory_name, case):
    done = assert_bad_input_case(bad_input, inventory_name, case, BAD_INPUT[case][1])
    assert done["task"].startswith("Check names"), done
    assert "PRIVATE KEY" not in bad_input["run"][0].stdout

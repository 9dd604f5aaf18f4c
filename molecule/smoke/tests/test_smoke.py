"""The test bed works: systemd runs, the converge held, the host reaches PyPI over HTTPS."""

from __future__ import annotations


def test_systemd_is_running_as_pid_1(host):
    assert host.process.get(pid=1).comm == "systemd"
    state = host.run("systemctl is-system-running")
    assert state.stdout.strip() == "running", host.run("systemctl --failed --no-pager").stdout


def test_converge_wrote_the_marker_file(host):
    marker = host.file("/etc/stagecraft-smoke")
    assert marker.is_file
    assert marker.user == "root"
    assert marker.mode == 0o640
    release = host.system_info.release.split(".")[0]
    assert marker.content_string == f"Debian {release}\n"


def test_package_installed_from_debian(host):
    assert host.package("tzdata").is_installed


def test_tools_later_roles_rely_on(host):
    for command in ("sysctl", "ip", "curl", "sudo", "python3"):
        assert host.exists(command), command


def test_outbound_https_trusts_the_configured_ca_bundle(host):
    """TESTBED_CA_BUNDLE reached the image: pip's index answers over verified TLS."""
    answer = host.run("curl -sS -o /dev/null -w '%{http_code}' https://pypi.org/simple/pip/")
    assert answer.rc == 0, answer.stderr
    assert answer.stdout == "200"


def test_check_mode_reports_no_change(check_mode_recap, inventory_name):
    assert check_mode_recap[inventory_name] == {"changed": 0, "unreachable": 0, "failed": 0}

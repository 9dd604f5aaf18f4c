"""The cloudflared role's rules and derived names (plugins/module_utils/_cloudflared_settings.py)
through its filters: every message, none for settings the role takes, the secrets read without
showing them, and the names, record and unit spec the role's tasks use."""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path

import pytest
import yaml

COLLECTIONS = Path(__file__).resolve().parents[3] / "collections"
if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))

from ansible_collections.stagecraft.webapp.plugins.filter.cloudflared_layout import FilterModule as LayoutFilters  # noqa: E402
from ansible_collections.stagecraft.webapp.plugins.filter.cloudflared_problems import FilterModule as ProblemFilters  # noqa: E402
from ansible_collections.stagecraft.webapp.plugins.filter.cloudflared_secrets import FilterModule as SecretFilters  # noqa: E402

problems = ProblemFilters().filters()["cloudflared_problems"]
secrets = SecretFilters().filters()["cloudflared_secrets"]
layout = LayoutFilters().filters()["cloudflared_layout"]
ROLE = Path(__file__).resolve().parents[3] / "roles" / "cloudflared"
TUNNEL = "6ff42ae2-765d-4adf-8112-31c55c1551ef"
OTHER_TUNNEL = "0b2c9c4e-1111-4b9e-9e9e-000000000001"
TOKEN = base64.b64encode(json.dumps({"a": "5c0ffee5", "t": TUNNEL, "s": "c2VjcmV0"}).encode()).decode()
CREDENTIALS = {"AccountTag": "5c0ffee5", "TunnelSecret": "c2VjcmV0", "TunnelID": TUNNEL.upper()}
INGRESS = [{"hostname": "shop.test", "service": "http://127.0.0.1:8000"}, {"service": "http_status:404"}]
DEFAULTS = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text(encoding="utf-8"))


def settings(**changes):
    """The role's defaults (token mode), with `changes`."""
    return {**DEFAULTS, "cloudflared_token": TOKEN, **changes}


def local(**changes):
    return settings(**{"cloudflared_mode": "local", "cloudflared_token": "", "cloudflared_tunnel_id": TUNNEL, "cloudflared_credentials": CREDENTIALS,
                       "cloudflared_ingress": INGRESS, **changes})


def check(values, records=(), provided_is_file=False, cert_variables=()):
    return problems(values, secrets(values["cloudflared_token"], values["cloudflared_credentials"]), list(records), provided_is_file, list(cert_variables))


def test_the_setting_names_are_the_argument_specs_options():
    names = yaml.safe_load((ROLE / "vars" / "main.yml").read_text(encoding="utf-8"))["_cloudflared_setting_names"]
    options = yaml.safe_load((ROLE / "meta" / "argument_specs.yml").read_text(encoding="utf-8"))["argument_specs"]["main"]["options"]
    assert names == list(options)


@pytest.mark.parametrize("values", [settings(), local(), local(cloudflared_credentials=json.dumps(CREDENTIALS)),
                                    settings(cloudflared_metrics_address="::1"), settings(cloudflared_metrics_address="127.0.0.2"),
                                    settings(cloudflared_name="cloudflared-shop_prod", cloudflared_version="2025.8.0")])
def test_settings_the_role_takes_have_no_problems(values):
    assert check(values) == []


@pytest.mark.parametrize("changes, message", [
    ({"cloudflared_name": "tunnel"}, 'cloudflared_name "tunnel" is not valid: "cloudflared" or "cloudflared-<suffix>"'
                                     ' (lowercase letters, digits, "_" and "-"), at most 32 characters'),
    ({"cloudflared_name": "cloudflared-" + "a" * 21}, "at most 32 characters"),
    ({"cloudflared_name": "cloudflared-Shop"}, 'cloudflared_name "cloudflared-Shop" is not valid'),
    ({"cloudflared_metrics_address": "0.0.0.0"}, 'cloudflared_metrics_address "0.0.0.0" is not a loopback address: the metrics server also'
                                                 " serves /debug/pprof, so it stays on 127.0.0.1 or ::1"),
    ({"cloudflared_metrics_port": 0}, "cloudflared_metrics_port must be within 1-65535 (got 0)"),
    ({"cloudflared_metrics_port": 65536}, "cloudflared_metrics_port must be within 1-65535 (got 65536)"),
    ({"cloudflared_restart_sec": -1}, "cloudflared_start_timeout_sec and cloudflared_restart_sec must be 0 or more"),
    ({"cloudflared_start_timeout_sec": -1}, "cloudflared_start_timeout_sec and cloudflared_restart_sec must be 0 or more"),
    ({"cloudflared_version": "latest"}, 'cloudflared_version "latest" is not a package version such as "2025.8.0"'),
    ({"cloudflared_install_method": "deb"}, "cloudflared_deb_file is empty: cloudflared_install_method deb installs the file it names on the controller"),
    ({"cloudflared_install_method": "binary"}, "cloudflared_binary_file is empty: cloudflared_install_method binary installs the file it names"),
    ({"cloudflared_install_method": "binary", "cloudflared_binary_file": "/nowhere"}, 'cloudflared_binary_file "/nowhere" is not a file on the controller'),
    ({"cloudflared_deb_file": "/tmp/c.deb"}, "cloudflared_deb_file is set, but cloudflared_install_method is apt"
                                             " (set it to deb to install that file, or empty the variable)"),
    ({"cloudflared_token": ""}, "cloudflared_token is empty: cloudflared_mode token runs a remotely managed tunnel with its token"),
    ({"cloudflared_token": "not-a-token"}, 'cloudflared_token is not a tunnel token (base64 of {"a": account, "t": tunnel UUID, "s": secret});'
                                           " copy it again from `cloudflared tunnel token <name>` or the dashboard"),
    ({"cloudflared_token": "-----BEGIN ARGO TUNNEL TOKEN-----\nabc\n"},
     "cloudflared_token/cloudflared_credentials contain a PEM block (the account-wide cert.pem?), which never goes to a host"),
    ({"cloudflared_tunnel_id": TUNNEL}, "cloudflared_tunnel_id is set, but cloudflared_mode token runs a remotely managed tunnel, whose ingress"
                                        " rules and settings live in Cloudflare (set cloudflared_mode: local to manage them here)"),
    ({"cloudflared_credentials": "{}"}, None),
    ({"cloudflared_credentials": CREDENTIALS}, "cloudflared_credentials is set, but cloudflared_mode token"),
    ({"cloudflared_ingress": INGRESS}, "cloudflared_ingress is set, but cloudflared_mode token"),
    ({"cloudflared_origin_request": {"noTLSVerify": True}}, "cloudflared_origin_request is set, but cloudflared_mode token"),
])
def test_each_rule_of_token_mode_and_of_every_mode_names_its_variable(changes, message):
    found = check(settings(**changes))
    if message is None:
        assert found == []
    else:
        assert len(found) == 1 and message in found[0], found


@pytest.mark.parametrize("changes, message", [
    ({"cloudflared_token": TOKEN}, "cloudflared_token is set, but cloudflared_mode local runs with the credentials file"
                                   " (set cloudflared_mode: token, or empty cloudflared_token)"),
    ({"cloudflared_tunnel_id": "tunnel"}, 'cloudflared_tunnel_id "tunnel" is not a tunnel UUID: cloudflared_mode local needs the ID of the tunnel'
                                          " (`cloudflared tunnel list`)"),
    ({"cloudflared_credentials": {}}, "cloudflared_credentials is empty: cloudflared_mode local needs the credentials file of the tunnel"
                                      " (<UUID>.json from `cloudflared tunnel create`)"),
    ({"cloudflared_credentials": ""}, "cloudflared_credentials is empty"),
    ({"cloudflared_credentials": "{not json"}, "cloudflared_credentials is not a JSON object: give the credentials file of the tunnel"),
    ({"cloudflared_credentials": "[]"}, "cloudflared_credentials is not a JSON object"),
    ({"cloudflared_credentials": {"AccountTag": "a", "TunnelSecret": ""}}, "cloudflared_credentials lacks TunnelID, TunnelSecret"
                                                                           " (a tunnel credentials file has AccountTag, TunnelSecret and TunnelID)"),
    ({"cloudflared_credentials": {**CREDENTIALS, "AccountTag": 5}}, "cloudflared_credentials lacks AccountTag ("),
    ({"cloudflared_tunnel_id": OTHER_TUNNEL}, "cloudflared_credentials belong to tunnel {0}, not to cloudflared_tunnel_id {1}".format(TUNNEL, OTHER_TUNNEL)),
    ({"cloudflared_credentials": {**CREDENTIALS, "TunnelSecret": "-----BEGIN PRIVATE KEY-----"}}, "contain a PEM block"),
    ({"cloudflared_ingress": []}, "cloudflared_ingress: no rules; a locally managed tunnel needs at least the catch-all rule"),
    ({"cloudflared_ingress": INGRESS[::-1]}, "cloudflared_ingress: ingress rule 1: matches every request"),
    ({"cloudflared_origin_request": {"noTlsVerify": True}}, "cloudflared_origin_request"),
])
def test_each_rule_of_local_mode_names_its_variable(changes, message):
    found = check(local(**changes))
    assert found and message in found[0], found


def test_another_instance_on_the_host_with_the_same_metrics_port_is_named():
    records = [{"name": "cloudflared-dev", "path": "/etc/stagecraft/cloudflared/cloudflared-dev.json", "metrics_port": 20241},
               {"name": "cloudflared", "path": "/etc/stagecraft/cloudflared/cloudflared.json", "metrics_port": 20241},
               {"name": "cloudflared-qa", "path": "/etc/stagecraft/cloudflared/cloudflared-qa.json", "metrics_port": 20242}]
    assert check(settings(), records) == ["cloudflared_metrics_port 20241 is already used by cloudflared-dev on this host; each instance needs its own"]


def test_a_provided_file_on_the_controller_and_cert_pem_variables():
    assert check(settings(cloudflared_install_method="deb", cloudflared_deb_file="/tmp/c.deb"), provided_is_file=True) == []
    assert check(settings(), cert_variables=["cloudflared_pem", "cloudflared_origincert"]) == [
        "cloudflared_origincert, cloudflared_pem: the account-wide cert.pem never goes to a host (it can create and delete every tunnel"
        " of the account); a tunnel runs with its token or its credentials file only"]


def test_problems_are_all_reported_at_once_and_never_show_a_secret():
    values = local(cloudflared_token=TOKEN, cloudflared_tunnel_id=OTHER_TUNNEL, cloudflared_metrics_address="0.0.0.0", cloudflared_ingress=[])
    found = check(values)
    assert len(found) == 4, found
    assert not any(secret in message for message in found for secret in (TOKEN, CREDENTIALS["TunnelSecret"]))


def test_the_secrets_summary_holds_no_secret():
    summary = secrets(TOKEN, json.dumps(CREDENTIALS))
    assert summary == {"token_given": True, "token_tunnel": TUNNEL, "credentials_given": True, "credentials_json": True, "credentials_lacking": [],
                       "credentials_tunnel": TUNNEL, "pem": False}
    assert secrets("", {})["credentials_given"] is False


def test_the_layout_names_paths_and_record_in_token_mode():
    names = layout(settings(cloudflared_name="cloudflared-shop"), True, TUNNEL)
    assert {key: names[key] for key in ("unit", "user", "dir", "config", "token_file", "secret_file", "record", "executable", "provided_file")} == {
        "unit": "cloudflared-shop.service", "user": "cloudflared-shop", "dir": "/etc/cloudflared-shop", "config": "/etc/cloudflared-shop/config.yml",
        "token_file": "/etc/cloudflared-shop/token", "secret_file": "/etc/cloudflared-shop/token",
        "record": "/etc/stagecraft/cloudflared/cloudflared-shop.json", "executable": "/usr/bin/cloudflared", "provided_file": ""}
    assert names["record_content"] == {
        "name": "cloudflared-shop", "unit": "cloudflared-shop.service", "mode": "token", "tunnel_id": TUNNEL, "metrics_address": "127.0.0.1",
        "metrics_port": 20241, "ready_url": "http://127.0.0.1:20241/ready", "metrics_url": "http://127.0.0.1:20241/metrics"}
    service = names["service"]["sections"]["Service"]
    assert service["ExecStart"] == ("/usr/bin/cloudflared --no-autoupdate tunnel --config /etc/cloudflared-shop/config.yml --metrics 127.0.0.1:20241"
                                    " run --token-file /etc/cloudflared-shop/token")
    assert service["EnvironmentFile"] is None
    assert names["service"]["hardening_overrides"] == {"MemoryDenyWriteExecute": True}
    assert names["service"]["verify_allow_missing"] == [] and names["service"]["enabled"] is True


def test_the_layout_of_an_older_cloudflared_takes_the_token_from_the_environment():
    names = layout(settings(), False)
    assert names["token_file"] == "/etc/cloudflared/token.env"
    assert names["service"]["sections"]["Service"]["EnvironmentFile"] == "/etc/cloudflared/token.env"
    assert names["service"]["sections"]["Service"]["ExecStart"].endswith(" run")


def test_the_layout_in_local_mode_with_a_provided_binary_in_check_mode():
    values = local(cloudflared_install_method="binary", cloudflared_binary_file="/tmp/cloudflared", cloudflared_tunnel_id=TUNNEL.upper(),
                   cloudflared_metrics_address="::1", cloudflared_ip_address_allow=["10.0.0.0/8", "::1"], cloudflared_service_enabled="no",
                   cloudflared_hardening_overrides={"MemoryDenyWriteExecute": False})
    names = layout(values, True, "", True)
    assert names["credentials_file"] == names["secret_file"] == "/etc/cloudflared/{0}.json".format(TUNNEL)
    assert names["executable"] == "/usr/local/bin/cloudflared" and names["provided_file"] == "/tmp/cloudflared"
    assert names["metrics"] == "[::1]:20241" and names["record_content"]["tunnel_id"] == TUNNEL
    assert names["service"]["sections"]["Unit"]["Description"] == "Cloudflare Tunnel connector cloudflared (locally managed)"
    assert names["service"]["sections"]["Service"]["EnvironmentFile"] is None
    assert names["service"]["hardening_overrides"] == {"MemoryDenyWriteExecute": False, "IPAddressDeny": "any", "IPAddressAllow": "10.0.0.0/8 ::1"}
    assert names["service"]["verify_allow_missing"] == ["/usr/local/bin/"] and names["service"]["enabled"] is False


def test_the_files_are_the_mode_s_secret_config_and_record_parents_first():
    token = {entry["path"]: entry for entry in layout(settings(), True, TUNNEL)["files"]}
    assert list(token) == ["/etc/cloudflared", "/etc/stagecraft", "/etc/stagecraft/cloudflared", "/etc/cloudflared/token",
                           "/etc/cloudflared/config.yml", "/etc/stagecraft/cloudflared/cloudflared.json"]
    assert token["/etc/cloudflared/token"] == {"path": "/etc/cloudflared/token", "template": "token.j2", "owner": "cloudflared",
                                               "group": "cloudflared", "mode": "0600", "secret": True}
    # Only local mode has ingress rules for cloudflared to validate.
    assert token["/etc/cloudflared/config.yml"]["validate"] is None
    assert json.loads(token["/etc/stagecraft/cloudflared/cloudflared.json"]["content"])["tunnel_id"] == TUNNEL
    older = {entry["path"]: entry for entry in layout(settings(), False)["files"]}["/etc/cloudflared/token.env"]
    assert (older["template"], older["owner"], older["group"], older["secret"]) == ("token.env.j2", "root", "root", True)
    local_files = layout(local(cloudflared_install_method="binary", cloudflared_tunnel_id=TUNNEL), True)["files"]
    secret, config = local_files[3], local_files[4]
    assert (secret["path"], secret["template"], secret["secret"]) == ("/etc/cloudflared/{0}.json".format(TUNNEL), "credentials.json.j2", True)
    assert config["validate"] == "/usr/local/bin/cloudflared tunnel --config %s ingress validate"
    # The role's secrets reach the host through its templates only: no entry carries one.
    assert not any(secret in repr(entry) for entry in local_files for secret in (TOKEN, CREDENTIALS["TunnelSecret"]))

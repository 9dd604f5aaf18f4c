from __future__ import annotations

import base64
import io
import json
import re
import zipfile

import pytest

from ansible_collections.stagecraft.webapp.plugins.module_utils._errors import DeployError
from ansible_collections.stagecraft.webapp.plugins.module_utils._host_records import read_records


def write(root, path, content):
    target = root / path.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(content if isinstance(content, str) else json.dumps(content))


def test_a_fresh_host_has_no_records(tmp_path):
    assert read_records(str(tmp_path)) == {"gunicorn": [], "nginx": [], "cloudflared": []}


def test_records_by_role_sorted_by_path_with_their_host_path(tmp_path):
    write(tmp_path, "/etc/stagecraft/shop-prod/gunicorn.json", {"instance": "shop-prod", "listen": "tcp", "port": 8000})
    write(tmp_path, "/etc/stagecraft/blog-dev/gunicorn.json", {"instance": "blog-dev", "listen": "unix"})
    write(tmp_path, "/etc/stagecraft/shop-prod/gunicorn.conf.py", "not a record")
    write(tmp_path, "/etc/nginx/stagecraft/records/shop-prod.json", {"instance": "shop-prod", "ports": [80, 443]})
    write(tmp_path, "/etc/stagecraft/cloudflared/cloudflared.json", {"name": "cloudflared", "metrics_port": 20241})
    records = read_records(str(tmp_path))
    assert [record["instance"] for record in records["gunicorn"]] == ["blog-dev", "shop-prod"]
    assert records["gunicorn"][1] == {"instance": "shop-prod", "listen": "tcp", "port": 8000, "path": "/etc/stagecraft/shop-prod/gunicorn.json"}
    assert records["nginx"] == [{"instance": "shop-prod", "ports": [80, 443], "path": "/etc/nginx/stagecraft/records/shop-prod.json"}]
    # The connector's records sit in /etc/stagecraft too, but are no app's gunicorn record.
    assert records["cloudflared"] == [{"name": "cloudflared", "metrics_port": 20241, "path": "/etc/stagecraft/cloudflared/cloudflared.json"}]


@pytest.mark.parametrize("content, reason", [("{not json", "cannot read"), ("[1, 2]", "not a JSON object")])
def test_a_broken_record_fails_naming_the_file(tmp_path, content, reason):
    write(tmp_path, "/etc/nginx/stagecraft/records/shop-prod.json", content)
    with pytest.raises(DeployError, match=r"^/etc/nginx/stagecraft/records/shop-prod\.json: ") as failure:
        read_records(str(tmp_path))
    assert reason in failure.value.message and "nginx role" in failure.value.message


def run_on_localhost(module_on_localhost, module, arguments=""):
    completed = module_on_localhost(module, arguments, ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_STDOUT_CALLBACK="json")
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return json.loads(completed.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]


def test_host_facts_sets_the_cpu_and_systemd_facts_as_setup_gathers_them(module_on_localhost):
    # The gunicorn role's default worker count comes from these facts: gathered by setup before, by this module now.
    ours = run_on_localhost(module_on_localhost, "stagecraft.webapp.host_facts")
    setup = run_on_localhost(module_on_localhost, "ansible.builtin.setup",
                             "gather_subset=!all,!min,hardware,systemd filter=ansible_processor_vcpus,ansible_systemd")
    assert ours["ansible_facts"]["processor_vcpus"] == setup["ansible_facts"]["ansible_processor_vcpus"] >= 1
    assert ours["ansible_facts"].get("systemd") == setup["ansible_facts"].get("ansible_systemd")
    assert ours["records"] == run_on_localhost(module_on_localhost, "stagecraft.webapp.host_records")["records"]


def test_host_records_sends_no_fact_collectors_to_the_host(module_on_localhost, tmp_path):
    """The per-push path's first read: the payload Ansible sends stays small (the collectors doubled it)."""
    sent = {}
    for module in ("host_records", "host_facts"):
        kept = tmp_path / module
        completed = module_on_localhost(f"stagecraft.webapp.{module}", "", ANSIBLE_KEEP_REMOTE_FILES="1", ANSIBLE_REMOTE_TMP=str(kept))
        assert completed.returncode == 0, completed.stdout + completed.stderr
        (payload,) = kept.glob(f"*/AnsiballZ_{module}.py")
        zipped = re.search(r"zip_data='([A-Za-z0-9+/=]+)'", payload.read_text()).group(1)
        with zipfile.ZipFile(io.BytesIO(base64.b64decode(zipped))) as archive:
            sent[module] = archive.namelist()
    assert not [name for name in sent["host_records"] if "/module_utils/facts/" in name]
    assert [name for name in sent["host_facts"] if name.endswith("module_utils/facts/hardware/linux.py")]


@pytest.mark.parametrize("module", ["stagecraft.webapp.host_records", "stagecraft.webapp.host_facts"])
def test_the_read_names_each_repository_on_the_host_that_is_none(module_on_localhost, tmp_path, module):
    """The stack's first read answers the deploy step's preflight: deploy_repo on the host must be a git repository."""
    (tmp_path / "etc").mkdir()
    (tmp_path / "bare.git").mkdir()
    (tmp_path / "bare.git" / "HEAD").write_text("ref: refs/heads/main\n")
    (tmp_path / "tree" / ".git").mkdir(parents=True)
    asked = [str(tmp_path / "etc"), "file://" + str(tmp_path / "bare.git"), str(tmp_path / "tree"), "https://git.example.com/shop.git"]
    found = run_on_localhost(module_on_localhost, module, "repositories=" + ",".join(asked))
    assert found["repository_problems"] == [
        "{0} is not a git repository on the host (it has neither HEAD nor .git): a path or file:// URL names a repository on the host itself"
        .format(tmp_path / "etc")]
    assert run_on_localhost(module_on_localhost, module)["repository_problems"] == []

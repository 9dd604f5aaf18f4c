from __future__ import annotations

import json

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

# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""What the roles recorded on a host for every app, environment and tunnel, read at once.

Each role writes a small JSON record of what its instance claims (gunicorn: the port or socket,
nginx: the server names and ports, cloudflared: the metrics port), so that another app's or
environment's preflight on the same host can refuse a clash before anything changes. A missing
directory means nothing is recorded yet (a fresh host); a record that is not JSON is an error
naming the file, as a preflight cannot decide on it.
"""

from __future__ import annotations

import glob
import json
import os

from ansible_collections.stagecraft.webapp.plugins.module_utils._errors import DeployError

# Kind -> the records' glob under the host's root; the roles' vars/main.yml name the same files.
SOURCES = {
    "gunicorn": "etc/stagecraft/*/gunicorn.json",
    "nginx": "etc/nginx/stagecraft/records/*.json",
    "cloudflared": "etc/stagecraft/cloudflared/*.json",
}


def read_records(root="/"):
    """{kind: [record, ...]} sorted by path; each record is the file's object plus its `path` (as on the host)."""
    found = {}
    for kind, pattern in SOURCES.items():
        found[kind] = []
        for path in sorted(glob.glob(os.path.join(root, pattern))):
            host_path = "/" + os.path.relpath(path, root)
            try:
                with open(path, encoding="utf-8") as handle:
                    record = json.load(handle)
            except (OSError, ValueError) as exc:
                raise DeployError("{0}: cannot read this record of the {1} role ({2}); fix or remove the file".format(host_path, kind, exc))
            if not isinstance(record, dict):
                raise DeployError("{0}: this record of the {1} role is not a JSON object; fix or remove the file".format(host_path, kind))
            found[kind].append(dict(record, path=host_path))
    return found

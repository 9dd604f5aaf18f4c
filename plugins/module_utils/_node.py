# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Whether the host's Node can build a frontend: the project's `engines.node` and its bundler's.

The bundler's requirement is read from package-lock.json, which records each installed package's
`engines` (`packages["node_modules/vite"].engines.node`): the version that `npm ci` would install,
not a guess. A too old Node fails late and obscurely (Vite 8 on Node 18: a SyntaxError about
`node:util` in the middle of a stack), so the build is refused before it starts, saying what to do.
"""

from __future__ import annotations

import json
import os

from ansible_collections.stagecraft.webapp.plugins.module_utils._semver import satisfies

# Bundlers whose own engines.node is checked, and the older major that still runs on Debian 12's Node 18.
BUNDLERS = {"vite": "6", "webpack": None, "rollup": None, "esbuild": None, "parcel": None}
HOW_TO_GET_A_NEWER_NODE = "use Debian 13 (Node 20.19) or install a newer Node from NodeSource"


def _read_json(path):
    try:
        with open(path) as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return {}


def _engines_node(package):
    engines = package.get("engines") if isinstance(package, dict) else None
    wanted = engines.get("node") if isinstance(engines, dict) else None
    return wanted if isinstance(wanted, str) and wanted.strip() else None


def node_requirements(frontend, label):
    """[(who, version or None, range, older major to pin or None)]: the project's engines.node, then each bundler's.

    `label` names the frontend folder in messages (the release's `frontend`, not a host path).
    """
    found = []
    project = _engines_node(_read_json(os.path.join(frontend, "package.json")))
    if project:
        found.append(("the project ({0}/package.json engines.node)".format(label), None, project, None))
    packages = _read_json(os.path.join(frontend, "package-lock.json")).get("packages") or {}
    for name, older in BUNDLERS.items():
        entry = packages.get("node_modules/" + name)
        wanted = _engines_node(entry)
        if wanted:
            found.append((name, entry.get("version"), wanted, older))
    return found


def node_problems(node_version, requirements):
    """One message per requirement the host's Node (`18.20.4`) does not meet, saying what to do.

    A range this module cannot read is left to npm (never a reason to refuse a build).
    """
    problems = []
    for who, version, wanted, older in requirements:
        try:
            if satisfies(node_version, wanted):
                continue
        except ValueError:
            continue
        named = "{0} {1}".format(who, version) if version else who
        pin = ", or pin {0} {1} (it runs on Node 18) in the frontend's package.json".format(who, older) if older else ""
        problems.append("Node {0} on this host; {1} needs {2}: {3}{4}".format(node_version, named, wanted, HOW_TO_GET_A_NEWER_NODE, pin))
    return problems

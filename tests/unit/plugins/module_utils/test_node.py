from __future__ import annotations

import json

from ansible_collections.stagecraft.webapp.plugins.module_utils._node import node_problems, node_requirements

VITE_8 = {"version": "8.4.1", "engines": {"node": "^20.19.0 || >=22.12.0"}}


def frontend(tmp_path, engines=None, packages=None):
    (tmp_path / "package.json").write_text(json.dumps({"name": "web", **({"engines": {"node": engines}} if engines else {})}))
    (tmp_path / "package-lock.json").write_text(json.dumps({"lockfileVersion": 3, "packages": {"": {}, **(packages or {})}}))
    return str(tmp_path)


def test_the_project_and_its_bundler_are_read_from_package_json_and_the_lockfile(tmp_path):
    found = node_requirements(frontend(tmp_path, ">=18", {"node_modules/vite": VITE_8, "node_modules/left-pad": {"engines": {"node": ">=99"}}}), "web")
    assert found == [("the project (web/package.json engines.node)", None, ">=18", None), ("vite", "8.4.1", "^20.19.0 || >=22.12.0", "6")]


def test_vite_8_on_debian_12_says_what_to_do(tmp_path):
    problems = node_problems("18.20.4", node_requirements(frontend(tmp_path, ">=18", {"node_modules/vite": VITE_8}), "frontend"))
    assert problems == ["Node 18.20.4 on this host; vite 8.4.1 needs ^20.19.0 || >=22.12.0: use Debian 13 (Node 20.19) or install a newer Node "
                        "from NodeSource, or pin vite 6 (it runs on Node 18) in the frontend's package.json"]
    assert node_problems("20.19.2", node_requirements(str(tmp_path), "frontend")) == []


def test_the_projects_own_engines_and_unreadable_ranges(tmp_path):
    requirements = node_requirements(frontend(tmp_path, ">=22", {"node_modules/webpack": {"version": "5.99.0", "engines": {"node": "node 10+"}}}), "web")
    assert node_problems("20.19.2", requirements) == [
        "Node 20.19.2 on this host; the project (web/package.json engines.node) needs >=22: use Debian 13 (Node 20.19) or install a newer Node "
        "from NodeSource"]


def test_no_package_files_no_requirements(tmp_path):
    assert node_requirements(str(tmp_path), "web") == []

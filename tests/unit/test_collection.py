"""The collection's metadata agrees with the environment `make setup` pins."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import ansible_collections
import pytest
import yaml
from packaging.specifiers import SpecifierSet
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
GALAXY = yaml.safe_load((ROOT / "galaxy.yml").read_text())
# Task keys written as FQCN: "- community.general.ufw:" or "  ansible.posix.sysctl:".
FQCN_TASK_KEY = re.compile(r"^\s*(?:- )?(?P<collection>[a-z0-9_]+\.[a-z0-9_]+)\.[a-z0-9_]+:", re.MULTILINE)


def shipped_collection_version(fqcn: str) -> Version:
    """Version of a collection as installed from the pinned `ansible` package."""
    namespace, name = fqcn.split(".")
    for root in map(Path, ansible_collections.__path__):
        manifest = root / namespace / name / "MANIFEST.json"
        if manifest.is_file():
            return Version(json.loads(manifest.read_text())["collection_info"]["version"])
    pytest.fail(f"{fqcn} is not installed in the virtual environment (make setup)")


def requirement_lines(name: str) -> list[str]:
    lines = (ROOT / name).read_text().splitlines()
    return [line for line in lines if line.strip() and not line.lstrip().startswith("#")]


@pytest.mark.parametrize("requirements", ["requirements.in", "requirements.txt"])
def test_every_python_dependency_is_pinned_exactly(requirements):
    unpinned = [line for line in requirement_lines(requirements) if not re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[A-Za-z0-9_.+\-]+", line)]
    assert unpinned == []


def locked_versions() -> dict[str, str]:
    """requirements.txt as {lower-cased name: version}."""
    return {name.lower(): version for name, version in (line.split("==") for line in requirement_lines("requirements.txt"))}


def test_lock_agrees_with_direct_pins():
    locked = locked_versions()
    for line in requirement_lines("requirements.in"):
        name, version = line.split("==")
        assert locked[re.sub(r"\[.*\]", "", name).lower()] == version, line


def test_installed_environment_matches_the_lock():
    for line in requirement_lines("requirements.txt"):
        name, version = line.split("==")
        assert metadata.version(name) == version, f"{name}: run make setup"


@pytest.mark.parametrize("collection", sorted(GALAXY["dependencies"]))
def test_dependency_range_admits_the_pinned_collection(collection):
    assert shipped_collection_version(collection) in SpecifierSet(GALAXY["dependencies"][collection])


def test_awx_collection_requirements_are_the_dependencies_at_the_tested_versions():
    """collections/requirements.yml (AWX's and the execution environment's) names galaxy.yml's
    dependencies at the versions the pinned `ansible` package ships, which the suite runs with."""
    requirements = yaml.safe_load((ROOT / "collections" / "requirements.yml").read_text())["collections"]
    assert {each["name"]: Version(str(each["version"])) for each in requirements} == {
        collection: shipped_collection_version(collection) for collection in GALAXY["dependencies"]
    }


def test_requires_ansible_admits_the_pinned_core():
    runtime = yaml.safe_load((ROOT / "meta" / "runtime.yml").read_text())
    assert Version(metadata.version("ansible-core")) in SpecifierSet(runtime["requires_ansible"])


def test_every_collection_used_by_content_is_a_declared_dependency():
    declared = set(GALAXY["dependencies"]) | {"ansible.builtin", f"{GALAXY['namespace']}.{GALAXY['name']}"}
    content = [p for folder in ("roles", "playbooks") for p in (ROOT / folder).rglob("*.yml")]
    used = {match["collection"]: path for path in content for match in FQCN_TASK_KEY.finditer(path.read_text())}
    undeclared = {collection: str(path.relative_to(ROOT)) for collection, path in used.items() if collection not in declared}
    assert undeclared == {}


def test_build_ignore_keeps_local_state_out_of_the_tarball():
    ignored = set(GALAXY["build_ignore"])
    assert {".venv", "build", ".pytest_cache", "collections/ansible_collections"} <= ignored


def run_from_checkout(*argv: str) -> subprocess.CompletedProcess:
    """Run an Ansible CLI from the repository root, as a user of a plain checkout would."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("ANSIBLE_")} | {"ANSIBLE_NOCOLOR": "1"}
    command = [str(Path(sys.executable).with_name(argv[0])), *argv[1:]]  # the venv's own CLI
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)


def test_checkout_resolves_the_collection_without_installing_it():
    listing = run_from_checkout("ansible-galaxy", "collection", "list", "stagecraft.webapp")
    assert listing.returncode == 0, listing.stderr
    assert str(ROOT / "collections" / "ansible_collections") in listing.stdout
    assert f"stagecraft.webapp {GALAXY['version']}" in " ".join(listing.stdout.split())


@pytest.mark.parametrize("role", sorted(path.parents[1].name for path in (ROOT / "roles").glob("*/meta/argument_specs.yml")) or ["<none yet>"])
def test_ansible_doc_renders_each_role_by_fqcn(role):
    if role == "<none yet>":
        pytest.skip("no roles yet")
    doc = run_from_checkout("ansible-doc", "-t", "role", f"stagecraft.webapp.{role}")
    assert doc.returncode == 0, doc.stderr
    assert re.search(r"ENTRY POINT: \W*main\W", doc.stdout), doc.stdout[:500]


def test_setup_run_again_has_nothing_to_do():
    """`make setup` is keyed on requirements.txt: a second run installs nothing."""
    question = subprocess.run(["make", "--question", "setup"], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert question.returncode == 0, "make setup would run again: " + question.stdout + question.stderr


@pytest.mark.parametrize("inventory", sorted(path.name for path in (ROOT / "inventories").iterdir() if path.is_dir()))
def test_inventory_reads_without_the_vault_password_as_awx_syncs_it(inventory):
    """AWX syncs an inventory with `ansible-inventory` and no vault password: secrets must be
    encrypted one value at a time (they stay encrypted in the export), never the whole file."""
    exported = run_from_checkout("ansible-inventory", "-i", f"inventories/{inventory}", "--list", "--export")
    assert exported.returncode == 0, exported.stderr
    secrets = {name: value for name, value in json.loads(exported.stdout)["webapp"]["vars"].items() if name.startswith("vault_")}
    assert secrets and all(value.get("__ansible_vault", "").startswith("$ANSIBLE_VAULT") for value in secrets.values()), secrets


def test_every_play_on_the_hosts_runs_as_root():
    """README: the SSH user needs sudo. The read-only checks too read what only root may (sshd -T
    reads the host keys, the roles' records are 0750): a play without become ran them as that user,
    and the first deploy over SSH as a non-root user failed with "sshd: no hostkeys available"."""
    plays = [
        (path.name, play.get("name"), play)
        for path in sorted((ROOT / "playbooks").glob("*.yml"))
        for play in yaml.safe_load(path.read_text())
        if "hosts" in play and play.get("connection") != "local"
    ]
    assert plays
    assert [(name, play_name) for name, play_name, play in plays if play.get("become") is not True] == []


def test_docs_deploy_md_names_every_module_util():
    """docs/deploy.md says what each file of plugins/module_utils holds: a new file is named there too."""
    text = (ROOT / "docs" / "deploy.md").read_text()
    unnamed = [path.name for path in sorted((ROOT / "plugins" / "module_utils").glob("_*.py")) if f"`{path.name}`" not in text]
    assert unnamed == []

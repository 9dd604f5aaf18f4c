"""execution-environment.yml gives ansible-builder a build context that installs what we name, at
the versions requirements.txt pins.

Only the build context is made and checked (`ansible-builder create`): an image cannot be built
here, because its base image comes from a container registry this machine cannot reach. What the
context installs is what `ansible-builder build` would install.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from test_collection import ROOT, locked_versions


@pytest.fixture(scope="module")
def context(tmp_path_factory) -> Path:
    """The build context ansible-builder makes from execution-environment.yml."""
    folder = tmp_path_factory.mktemp("ee")
    command = [
        str(Path(sys.executable).with_name("ansible-builder")), "create",
        "--file", str(ROOT / "execution-environment.yml"),
        "--context", str(folder),
        # Podman's name; without it the name depends on which engine is installed.
        "--output-filename", "Containerfile",
    ]
    made = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert made.returncode == 0, made.stdout + made.stderr
    return folder


@pytest.fixture(scope="module")
def containerfile(context) -> str:
    return (context / "Containerfile").read_text()


def test_ansible_core_and_runner_are_the_pinned_versions(containerfile):
    refs = re.search(r'^ARG ANSIBLE_INSTALL_REFS="(?P<refs>[^"]*)"$', containerfile, re.MULTILINE)
    assert refs, containerfile
    locked = locked_versions()
    assert sorted(refs["refs"].split()) == [f"ansible-core=={locked['ansible-core']}", f"ansible-runner=={locked['ansible-runner']}"]
    assert "pip install --no-cache-dir $ANSIBLE_INSTALL_REFS" in containerfile


def test_the_collections_are_our_requirements(context, containerfile):
    assert (context / "_build" / "requirements.yml").read_text() == (ROOT / "collections" / "requirements.yml").read_text()
    assert re.search(r"ansible-galaxy collection install .*-r requirements\.yml", containerfile), containerfile


def test_python_requirements_are_pinned_as_in_the_lock(context, containerfile):
    wanted = dict(line.split("==") for line in (context / "_build" / "requirements.txt").read_text().splitlines() if line.strip())
    locked = locked_versions()
    assert wanted, "execution-environment.yml names no Python requirement"
    assert {name: version for name, version in wanted.items() if locked.get(name.lower()) != version} == {}
    assert "--user-pip=requirements.txt" in containerfile


def test_system_packages_go_to_bindep(context, containerfile):
    definition = yaml.safe_load((ROOT / "execution-environment.yml").read_text())
    assert (context / "_build" / "bindep.txt").read_text().splitlines() == definition["dependencies"]["system"]
    assert "--user-bindep=bindep.txt" in containerfile

"""The test bed scripts fail with a message naming the cause, before doing anything else.

The Docker engine is replaced by stub executables on PATH here: the point is how the
scripts react to an engine that cannot start, which a real engine cannot be made to do
on demand.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

TESTBED = Path(__file__).resolve().parents[2] / "testbed"


def stub(directory: Path, name: str, script: str) -> None:
    path = directory / name
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(0o755)


def run_engine(tmp_path: Path, dockerd_script: str, wait: int = 5) -> subprocess.CompletedProcess:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    stub(bin_dir, "docker", "exit 1")  # no engine answers
    stub(bin_dir, "dockerd", dockerd_script)
    env = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "TESTBED_DOCKER_WAIT": str(wait),
        "TESTBED_DOCKERD_LOG": str(tmp_path / "dockerd.log"),
    }
    return subprocess.run([TESTBED / "engine.sh"], env=env, capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.skipif(os.geteuid() != 0, reason="starting dockerd is only attempted as root")
def test_engine_that_exits_while_starting_is_reported_with_its_log(tmp_path):
    result = run_engine(tmp_path, "echo 'failed to start daemon: permission denied' >&2; exit 1")
    assert result.returncode != 0
    assert "dockerd exited while starting" in result.stderr
    assert "failed to start daemon: permission denied" in result.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="starting dockerd is only attempted as root")
def test_engine_that_never_answers_fails_after_the_bound(tmp_path):
    result = run_engine(tmp_path, "sleep 30", wait=2)
    assert result.returncode != 0
    assert "did not answer within 2s" in result.stderr
    assert "TESTBED_DOCKER_WAIT" in result.stderr


def test_image_refuses_an_unreadable_ca_bundle(tmp_path):
    env = {**os.environ, "TESTBED_CA_BUNDLE": str(tmp_path / "missing.pem")}
    result = subprocess.run(
        [TESTBED / "image.sh", "bookworm", "debian12"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode != 0
    assert "TESTBED_CA_BUNDLE" in result.stderr

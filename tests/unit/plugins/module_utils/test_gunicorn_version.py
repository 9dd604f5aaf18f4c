"""The gunicorn a release's venv holds, read from its files, and the collection's rule about it."""

from __future__ import annotations

import pytest

from ansible_collections.stagecraft.webapp.plugins.module_utils._gunicorn_version import gunicorn_problem, installed_version, release_number


def install(venv, name, version, python="python3.11"):
    """What pip leaves of a distribution: its dist-info directory with METADATA."""
    info = venv / "lib" / python / "site-packages" / f"{name}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: x\n\nVersion: 0.0 in the long description\n")


@pytest.mark.parametrize("version", ["21.2.0", "22.0.0", "23.0.0", "27.0.1"])
def test_the_version_installed_is_read_from_the_venv(tmp_path, version):
    install(tmp_path, "gunicorn", version, python="python3.13")
    install(tmp_path, "gunicorn_extra", "1.0")
    assert installed_version(str(tmp_path)) == version


def test_a_venv_without_gunicorn_has_none(tmp_path):
    install(tmp_path, "flask", "3.1.3")
    assert installed_version(str(tmp_path)) is None
    assert installed_version(str(tmp_path / "missing")) is None


@pytest.mark.parametrize("version, numbers", [("23.0.0", (23, 0, 0)), ("22.0.0rc1", (22, 0, 0)), ("21", (21,)), ("dev", ())])
def test_release_numbers(version, numbers):
    assert release_number(version) == numbers


@pytest.mark.parametrize("version", ["21.0.0", "21.2.0", "22.0.0", "23.0.0", "25.1.0", "27.0.1", "100.0"])
def test_supported_versions_pass(version):
    assert gunicorn_problem(version) is None


@pytest.mark.parametrize("version", ["20.1.0", "19.9.0", "20.1.0.post1", "dev"])
def test_older_versions_are_refused_naming_the_minimum_and_the_version_found(version):
    problem = gunicorn_problem(version)
    assert f"has gunicorn {version}; the collection needs gunicorn 21.0 or later" in problem
    assert "gunicorn>=21.0" in problem


def test_no_gunicorn_says_so():
    assert gunicorn_problem(None) == ("the release's virtual environment has no gunicorn, which serves it: "
                                      "list gunicorn>=21.0 in its requirements")

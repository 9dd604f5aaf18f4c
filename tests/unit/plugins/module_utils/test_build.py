from __future__ import annotations

import json
import os
import shutil

import pytest

from ansible_collections.stagecraft.webapp.plugins.module_utils._build import (
    VENV_MARKER, Builder, dependency_files, dependency_hash, link_target, pyproject_dependencies, unused_node_modules, unused_venvs,
)
from ansible_collections.stagecraft.webapp.plugins.module_utils._errors import DeployError
from ansible_collections.stagecraft.webapp.plugins.module_utils._commands import Runner
from ansible_collections.stagecraft.webapp.plugins.module_utils._hooks import Hooks
from ansible_collections.stagecraft.webapp.plugins.module_utils._release import read_marker, write_marker


def release(base, name, files):
    """A release directory with a pending marker and the given files."""
    path = base / "releases" / name
    path.mkdir(parents=True)
    for relative, content in files.items():
        (path / relative).parent.mkdir(parents=True, exist_ok=True)
        (path / relative).write_text(content)
    write_marker(str(path), {"release_id": name, "commit": "a" * 40, "state": "pending"})
    return path


@pytest.fixture
def builder(tmp_path, pip_gunicorn):
    # An empty requirements file and a local gunicorn wheel: a real venv and a real pip run, without the network.
    return Builder(str(tmp_path), Hooks(), python="python3", pip_args=pip_gunicorn())


def test_hash_follows_includes_and_changes_with_content(tmp_path):
    path = release(tmp_path, "r1", {"requirements.txt": "-r base.txt\n--constraint=pins.txt\nflask\n", "base.txt": "click\n", "pins.txt": ""})
    files = dependency_files(str(path), ["requirements.txt"])
    assert [os.path.basename(name) for name in files] == ["requirements.txt", "base.txt", "pins.txt"]
    before = dependency_hash(str(path), ["requirements.txt"], "3.11.2")
    (path / "base.txt").write_text("click==8.1.7\n")
    after = dependency_hash(str(path), ["requirements.txt"], "3.11.2")
    assert before != after
    assert after != dependency_hash(str(path), ["requirements.txt"], "3.13.0")
    assert after != dependency_hash(str(path), ["requirements.txt"], "3.11.2", ["--only-binary=:all:"])
    assert after == dependency_hash(str(path), ["requirements.txt"], "3.11.2")


def test_missing_dependency_file_is_named(tmp_path):
    path = release(tmp_path, "r1", {"requirements.txt": "-r missing.txt\n"})
    with pytest.raises(DeployError, match="missing.txt does not exist in the release"):
        dependency_files(str(path), ["requirements.txt"])


def test_pyproject_dependencies(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "shop"\ndependencies = ["flask==3.1.3", "gunicorn==27.0.1"]\n')
    assert pyproject_dependencies(str(tmp_path / "pyproject.toml")) == ["flask==3.1.3", "gunicorn==27.0.1"]
    (tmp_path / "pyproject.toml").write_text("[project\n")
    with pytest.raises(DeployError, match="not valid TOML"):
        pyproject_dependencies(str(tmp_path / "pyproject.toml"))


def test_build_then_reuse_the_venv_for_a_code_only_release(tmp_path, builder):
    first = release(tmp_path, "20261122T190000Z-aaaaaaa", {"requirements.txt": "", "app.py": "v1"})
    plan = builder.plan(str(first))
    assert (plan.build_venv, plan.link_venv, plan.changed) == (True, True, True)
    assert builder.build(str(first), plan) is True
    assert os.readlink(first / ".venv") == link_target(plan.venv_hash)
    assert (first / ".venv" / "bin" / "python").exists()
    assert read_marker(str(first))["venv"] == plan.venv_hash
    assert builder.plan(str(first)).changed is False

    second = release(tmp_path, "20261122T191000Z-bbbbbbb", {"requirements.txt": "", "app.py": "v2"})
    reuse = builder.plan(str(second))
    assert reuse.venv_hash == plan.venv_hash
    assert (reuse.build_venv, reuse.link_venv) == (False, True)
    builder.build(str(second), reuse)
    assert os.listdir(tmp_path / "venvs") == [plan.venv_hash]


def test_a_half_built_venv_is_built_again(tmp_path, builder):
    path = release(tmp_path, "20261122T190000Z-aaaaaaa", {"requirements.txt": ""})
    plan = builder.plan(str(path))
    builder.build(str(path), plan)
    os.unlink(os.path.join(plan.venv_path, VENV_MARKER))
    again = builder.plan(str(path))
    assert again.build_venv is True


def test_failed_pip_names_the_step_and_marks_the_release_failed(tmp_path, builder):
    path = release(tmp_path, "20261122T190000Z-aaaaaaa", {"requirements.txt": "./no-such-project-dir\n"})
    with pytest.raises(DeployError) as failure:
        builder.build(str(path), builder.plan(str(path)))
    assert failure.value.message.startswith("pip install failed")
    assert failure.value.details["step"] == "pip install"
    assert read_marker(str(path))["state"] == "failed"


def test_hooks_run_in_the_release_with_the_venv_and_env_file(tmp_path, pip_gunicorn):
    env_file = tmp_path / "env"
    env_file.write_text('# app settings\nGREETING="say \\"hi\\" for \\$5"\nPLAIN=value\n')
    hooks = Hooks(env_file=str(env_file), hooks={"after_build": ['echo "$GREETING|$PLAIN|$VIRTUAL_ENV|$(pwd)" > hook.out']})
    builder = Builder(str(tmp_path), hooks, python="python3", pip_args=pip_gunicorn())
    path = release(tmp_path, "20261122T190000Z-aaaaaaa", {"requirements.txt": ""})
    plan = builder.plan(str(path))
    builder.build(str(path), plan)
    assert (path / "hook.out").read_text().strip() == 'say "hi" for $5|value|{0}|{1}'.format(plan.venv_path, path)


def test_failing_hook_is_named_with_its_output(tmp_path):
    hooks = Hooks(hooks={"before_build": ["echo migrating; echo 'no such table' >&2; exit 3"]})
    path = release(tmp_path, "20261122T190000Z-aaaaaaa", {"requirements.txt": ""})
    builder = Builder(str(tmp_path), hooks, python="python3")
    with pytest.raises(DeployError, match=r"before_build hook 1 .* failed \(rc=3\): no such table"):
        builder.build(str(path), builder.plan(str(path)))


def test_unknown_hook_phase_is_refused():
    with pytest.raises(DeployError, match="unknown hook phase"):
        Hooks(hooks={"after_deploy": ["true"]})


def test_unused_venvs_are_those_no_kept_release_links(tmp_path):
    for name in ("aaa", "bbb", "ccc"):
        (tmp_path / "venvs" / name).mkdir(parents=True)
    kept = release(tmp_path, "r1", {})
    marker = read_marker(str(kept))
    write_marker(str(kept), dict(marker, venv="bbb"))
    assert unused_venvs(str(tmp_path), [{"path": str(kept)}]) == ["aaa", "ccc"]
    assert json.loads((kept / ".stagecraft-release.json").read_text())["venv"] == "bbb"


WRITE_DIST = "require('fs').mkdirSync('dist');require('fs').writeFileSync('dist/index.html','built '+process.env.VITE_GREETING)"
PACKAGE_JSON = json.dumps({"name": "frontend", "version": "1.0.0", "private": True, "scripts": {"build": 'node -e "{0}"'.format(WRITE_DIST)}})
PACKAGE_LOCK = json.dumps({"name": "frontend", "version": "1.0.0", "lockfileVersion": 3, "requires": True,
                           "packages": {"": {"name": "frontend", "version": "1.0.0"}}})


@pytest.mark.skipif(shutil.which("npm") is None, reason="npm is not installed")
def test_npm_build_runs_per_release_and_installs_once_per_lockfile(tmp_path, pip_gunicorn):
    builder = Builder(str(tmp_path), Hooks(), python="python3", npm_dir="frontend", npm_env={"VITE_GREETING": "hello"}, pip_args=pip_gunicorn())
    files = {"requirements.txt": "", "frontend/package.json": PACKAGE_JSON, "frontend/package-lock.json": PACKAGE_LOCK}
    first, second = (release(tmp_path, name, files) for name in ("20261122T190000Z-aaaaaaa", "20261122T190100Z-bbbbbbb"))
    plan = builder.plan(str(first))
    assert plan.build_npm is True and plan.install_node_modules is True
    builder.build(str(first), plan)
    assert (first / "frontend" / "dist" / "index.html").read_text() == "built hello"
    assert (tmp_path / "cache" / "npm").is_dir()
    assert builder.plan(str(first)).changed is False
    # Same lockfile: the second release links the node_modules the first installed; npm ci does not run again.
    shared = tmp_path / "node_modules" / plan.npm_hash / "node_modules"
    (shared / "installed-once").write_text("")
    plan = builder.plan(str(second))
    assert plan.build_npm is True and plan.install_node_modules is False
    builder.build(str(second), plan)
    assert (second / "frontend" / "node_modules").resolve() == shared.resolve() and (shared / "installed-once").exists()
    assert os.readlink(second / "frontend" / "node_modules") == os.path.join("..", "..", "..", "node_modules", plan.npm_hash, "node_modules")
    assert (second / "frontend" / "dist" / "index.html").read_text() == "built hello"
    # A changed lockfile builds again, into node_modules of its own; prune keeps what kept releases use.
    (second / "frontend" / "package-lock.json").write_text(PACKAGE_LOCK.replace('"requires": true', '"requires": false'))
    changed = builder.plan(str(second))
    assert changed.build_npm is True and changed.install_node_modules is True
    assert unused_node_modules(str(tmp_path), [{"path": str(second)}]) == []
    assert unused_node_modules(str(tmp_path), []) == [plan.npm_hash]


@pytest.mark.skipif(shutil.which("npm") is None, reason="npm is not installed")
def test_a_bundler_that_needs_a_newer_node_is_refused_before_the_build(tmp_path):
    lock = json.loads(PACKAGE_LOCK)
    lock["packages"]["node_modules/vite"] = {"version": "99.0.0", "engines": {"node": ">=99"}}
    path = release(tmp_path, "20261122T190000Z-aaaaaaa", {"requirements.txt": "", "frontend/package.json": PACKAGE_JSON,
                                                          "frontend/package-lock.json": json.dumps(lock)})
    builder = Builder(str(tmp_path), Hooks(), python="python3", npm_dir="frontend")
    with pytest.raises(DeployError, match=r"the frontend build cannot run here: Node [0-9.]+ on this host; vite 99.0.0 needs >=99: use Debian 13"):
        builder.build(str(path), builder.plan(str(path)))
    assert not (tmp_path / "venvs").exists() and read_marker(str(path))["state"] == "failed"


def test_a_host_without_node_is_told_to_install_it(tmp_path):
    def no_node(argv, cwd=None, env=None):
        return (127, "", "cannot run node") if argv[0] in ("node", "npm") else (0, "3.11.2", "")

    path = release(tmp_path, "20261122T190000Z-aaaaaaa", {"requirements.txt": "", "frontend/package.json": PACKAGE_JSON,
                                                          "frontend/package-lock.json": PACKAGE_LOCK})
    builder = Builder(str(tmp_path), Hooks(Runner(no_node)), python="python3", npm_dir="frontend")
    with pytest.raises(DeployError, match="needs node and npm on the host: install Debian's nodejs and npm"):
        builder.build(str(path), builder.plan(str(path)))


def test_npm_build_needs_a_lockfile(tmp_path):
    builder = Builder(str(tmp_path), Hooks(), python="python3", npm_dir="frontend")
    path = release(tmp_path, "20261122T190000Z-aaaaaaa", {"requirements.txt": "", "frontend/package.json": PACKAGE_JSON})
    with pytest.raises(DeployError, match="needs frontend/package-lock.json"):
        builder.plan(str(path))


def test_a_venv_without_gunicorn_fails_the_build(tmp_path):
    builder = Builder(str(tmp_path), Hooks(), python="python3")
    path = release(tmp_path, "20261122T190000Z-aaaaaaa", {"requirements.txt": ""})
    with pytest.raises(DeployError, match="the release's virtual environment has no gunicorn, which serves it: list gunicorn>=21.0"):
        builder.build(str(path), builder.plan(str(path)))
    assert read_marker(str(path))["state"] == "failed"


def test_a_gunicorn_too_old_fails_the_build_and_again_in_a_release_that_reuses_its_venv(tmp_path, pip_gunicorn):
    builder = Builder(str(tmp_path), Hooks(), python="python3", pip_args=pip_gunicorn("20.1.0"))
    for name in ("20261122T190000Z-aaaaaaa", "20261122T191000Z-bbbbbbb"):
        path = release(tmp_path, name, {"requirements.txt": ""})
        plan = builder.plan(str(path))
        with pytest.raises(DeployError, match="has gunicorn 20.1.0; the collection needs gunicorn 21.0 or later: pin gunicorn>=21.0"):
            builder.build(str(path), plan)
        assert read_marker(str(path))["state"] == "failed"
    assert plan.build_venv is False

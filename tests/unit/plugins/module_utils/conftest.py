"""Fixtures for the module_utils tests: the collection importable by FQCN, isolated git, test repositories.

`ansible_collections.stagecraft.webapp...` resolves through the checkout's self-link
(collections/ansible_collections/stagecraft/webapp -> repository root, the same link ansible.cfg
uses): putting <root>/collections on sys.path extends the `ansible_collections` namespace package
that the pinned `ansible` package already provides, so no install and no Ansible loader is needed.
"""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

COLLECTIONS = Path(__file__).resolve().parents[4] / "collections"
if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))


def _module_on_localhost(module, arguments, *options, **environment):
    """`ansible localhost -m <module> -a <arguments> <options>` with this interpreter, from the checkout (its
    ansible.cfg finds the collection); the completed process, whatever its exit status."""
    return subprocess.run(
        [sys.executable, str(Path(sys.executable).parent / "ansible"), "localhost", "-c", "local", "-i", "localhost,", *options,
         "-e", f"ansible_python_interpreter={sys.executable}", "-m", module, "-a", arguments],
        cwd=COLLECTIONS.parent, capture_output=True, text=True, check=False, env=dict(os.environ, ANSIBLE_NOCOLOR="1", **environment),
    )


@pytest.fixture
def module_on_localhost():
    """Runs one module as Ansible does (_module_on_localhost): the modules tested from the outside."""
    return _module_on_localhost


@pytest.fixture(autouse=True)
def isolated_git(tmp_path_factory, monkeypatch):
    """No global or system git configuration, no prompts, a fixed identity."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_TERMINAL_PROMPT", "0")
    for role in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{role}_NAME", "Test Author")
        monkeypatch.setenv(f"GIT_{role}_EMAIL", "test@example.invalid")


class Repo:
    """A real git repository in a temporary folder, driven with the git CLI."""

    def __init__(self, path: Path):
        self.path = path
        path.mkdir(parents=True)
        self.git("init", "--quiet", "--initial-branch=main")

    def git(self, *args: str) -> str:
        return subprocess.run(["git", "-C", str(self.path), *args], check=True, capture_output=True, text=True).stdout.strip()

    def commit(self, message: str, files: dict[str, str] | None = None) -> str:
        for name, content in (files or {message.replace(" ", "_") + ".txt": message}).items():
            target = self.path / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content)
        self.git("add", "--all")
        self.git("commit", "--quiet", "-m", message)
        return self.sha()

    def sha(self, ref: str = "HEAD") -> str:
        return self.git("rev-parse", ref + "^{commit}")


@pytest.fixture
def origin(tmp_path):
    """The app's repository: main with two commits, tag v1 on the first, branch develop one ahead of main."""
    repo = Repo(tmp_path / "origin")
    repo.commit("first", {"app.py": "print('v1')\n", "requirements.txt": "flask==3.0.0\n"})
    repo.git("tag", "v1")
    repo.git("tag", "-a", "v1-annotated", "-m", "annotated")
    repo.commit("second", {"app.py": "print('v2')\n"})
    repo.git("branch", "develop")
    repo.git("checkout", "--quiet", "develop")
    repo.commit("on develop")
    repo.git("checkout", "--quiet", "main")
    return repo


class Recorder:
    """A run_command that runs the real program and remembers each argv and env."""

    def __init__(self):
        self.calls = []

    def __call__(self, argv, cwd=None, env=None):
        from ansible_collections.stagecraft.webapp.plugins.module_utils._commands import subprocess_run_command

        self.calls.append((list(argv), dict(env or {})))
        return subprocess_run_command(argv, cwd=cwd, env=env)

    def subcommands(self):
        git_calls = [argv for argv, dummy in self.calls if argv[0] == "git"]
        return [next(arg for arg in argv[1:] if not arg.startswith("-") and "/" not in arg and "=" not in arg) for argv in git_calls]


@pytest.fixture
def recorder():
    return Recorder()


def write_metadata_wheel(folder: Path, name: str, version: str) -> None:
    """A wheel holding only the distribution's metadata: pip installs it as it would the real one."""
    info = f"{name}-{version}.dist-info"
    files = {f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
             f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: stagecraft-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    record = [f"{path},sha256={base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b'=').decode()},{len(text.encode())}"
              for path, text in files.items()]
    files[f"{info}/RECORD"] = "\n".join(record + [f"{info}/RECORD,,"]) + "\n"
    with zipfile.ZipFile(folder / f"{name}-{version}-py3-none-any.whl", "w") as wheel:
        for path, text in files.items():
            wheel.writestr(path, text)


@pytest.fixture(scope="session")
def pip_gunicorn(tmp_path_factory):
    """pip arguments that install gunicorn `version` (27.0.1, or 20.1.0: older than the collection supports) without the network.

    The build refuses a venv without a supported gunicorn; the test venvs get one from a local wheel of its metadata
    (nothing here runs gunicorn; the molecule scenario deploy runs the real ones).
    """
    folder = tmp_path_factory.mktemp("wheels")
    for version in ("27.0.1", "20.1.0"):
        write_metadata_wheel(folder, "gunicorn", version)
    return lambda version="27.0.1": ["--no-index", "--find-links", str(folder), f"gunicorn=={version}"]

# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The build of a release: a virtual environment per dependency set, an optional npm build, hooks.

A venv lives in `venvs/<dependency hash>/` and is shared by every release whose dependency files
hash the same, so a code-only deploy installs nothing. A venv cannot be moved (its scripts' #! lines
name its path), so it is built in place and counts only once its marker exists; a directory without
the marker is a build that died and is made again. The release reaches it through a relative
`.venv` link. The npm build's node_modules are shared the same way: `node_modules/<lockfile hash>/`,
installed once by `npm ci` and reached through a relative link in the release's frontend folder.
Questions (`dependency_hash`, `plan_build`) change nothing; `build` acts.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import shutil

from ansible_collections.stagecraft.webapp.plugins.module_utils._errors import DeployError
from ansible_collections.stagecraft.webapp.plugins.module_utils._gunicorn_version import gunicorn_problem, installed_version
from ansible_collections.stagecraft.webapp.plugins.module_utils._node import node_problems, node_requirements
from ansible_collections.stagecraft.webapp.plugins.module_utils._release import read_marker, set_state, write_marker

VENV_MARKER = ".stagecraft-venv.json"
VENV_LINK = ".venv"
NPM_MARKER = ".stagecraft-npm.json"
NODE_MODULES = "node_modules"
INCLUDE_OPTIONS = ("-r", "--requirement", "-c", "--constraint")
PIP_QUIET = ["--no-input", "--disable-pip-version-check", "--quiet"]


def _included_files(path):
    """Files a requirements file pulls in with -r/-c, relative to it (they change the dependency set too)."""
    found = []
    with open(path) as handle:
        for line in handle:
            words = line.split("#", 1)[0].split()
            for position, word in enumerate(words):
                for option in INCLUDE_OPTIONS:
                    if word == option and position + 1 < len(words):
                        found.append(words[position + 1])
                    elif word.startswith(option + "=") and option.startswith("--"):
                        found.append(word.split("=", 1)[1])
    return [os.path.normpath(os.path.join(os.path.dirname(path), name)) for name in found if "://" not in name]


def dependency_files(release_path, requirements):
    """Every file that defines the dependency set, listed ones first, includes followed; missing ones refused."""
    pending = [os.path.join(release_path, name) for name in requirements]
    seen = []
    while pending:
        path = os.path.normpath(pending.pop(0))
        if path in seen:
            continue
        if not os.path.isfile(path):
            raise DeployError("dependency file {0} does not exist in the release".format(os.path.relpath(path, release_path)),
                              details={"path": path, "requirements": list(requirements)})
        seen.append(path)
        if not path.endswith(".toml"):
            pending.extend(_included_files(path))
    return seen


def dependency_hash(release_path, requirements, python_version, pip_args=()):
    """sha256 (first 16 hex) over the Python version, pip's extra arguments and each dependency file's name and content."""
    digest = hashlib.sha256()
    digest.update(python_version.encode() + b"\0")
    digest.update(json.dumps(list(pip_args)).encode() + b"\0")
    for path in dependency_files(release_path, requirements):
        digest.update(os.path.relpath(path, release_path).encode() + b"\0")
        with open(path, "rb") as handle:
            digest.update(handle.read() + b"\0")
    return digest.hexdigest()[:16]


def pyproject_dependencies(path):
    """[project].dependencies of a pyproject.toml (the project itself is not installed: the venv is shared)."""
    try:
        import tomllib
    except ImportError:
        raise DeployError("reading {0} needs Python 3.11 or later on the host (tomllib); list a requirements file instead".format(path))
    with open(path, "rb") as handle:
        try:
            data = tomllib.load(handle)
        except tomllib.TOMLDecodeError as exc:
            raise DeployError("{0} is not valid TOML: {1}".format(path, exc), details={"path": path})
    dependencies = data.get("project", {}).get("dependencies", [])
    if not isinstance(dependencies, list) or not all(isinstance(item, str) for item in dependencies):
        raise DeployError("{0}: [project].dependencies must be a list of strings".format(path), details={"path": path})
    return dependencies


def is_complete(path, wanted_hash, marker=VENV_MARKER):
    """Whether a shared directory (a venv, node_modules) was finished for `wanted_hash` (its marker is written last)."""
    try:
        with open(os.path.join(path, marker)) as handle:
            return json.load(handle).get("hash") == wanted_hash
    except (OSError, ValueError, AttributeError):
        return False


def link_target(venv_hash):
    """What releases/<id>/.venv points to: relative, so the tree can be moved."""
    return os.path.join("..", "..", "venvs", venv_hash)


class BuildPlan:
    """What a build would do for one release; `changed` when anything is missing."""

    def __init__(self, venv_hash, venv_path, build_venv, link_venv, npm_hash, build_npm, run_hooks, node_modules=None, install_node_modules=False):
        self.venv_hash = venv_hash
        self.venv_path = venv_path
        self.build_venv = build_venv
        self.link_venv = link_venv
        self.npm_hash = npm_hash
        self.build_npm = build_npm
        self.run_hooks = run_hooks
        self.node_modules = node_modules
        self.install_node_modules = install_node_modules

    @property
    def changed(self):
        return self.build_venv or self.link_venv or self.build_npm or self.run_hooks

    def as_dict(self):
        return {"venv_hash": self.venv_hash, "venv": self.venv_path, "build_venv": self.build_venv, "link_venv": self.link_venv,
                "npm_hash": self.npm_hash, "build_npm": self.build_npm, "node_modules": self.node_modules,
                "install_node_modules": self.install_node_modules, "run_hooks": self.run_hooks}


class Builder:
    """Builds releases of one environment (`base`: <root>/<app>/<env>) as `hooks.user` would by hand."""

    def __init__(self, base, hooks, python="/usr/bin/python3", requirements=("requirements.txt",), pip_args=(), pip_env=None, npm_dir=None,
                 npm_script="build", npm_env=None):
        self.base = base
        self.pip_env = dict(pip_env or {})
        self.hooks = hooks
        self.python = python
        self.requirements = list(requirements)
        self.pip_args = list(pip_args)
        self.npm_dir = npm_dir
        self.npm_script = npm_script
        self.npm_env = dict(npm_env or {})
        self.node_modules = os.path.join(base, NODE_MODULES)
        self.venvs = os.path.join(base, "venvs")
        self.cache = os.path.join(base, "cache")

    def python_version(self):
        _rc, out, _err = self.hooks.runner.run([self.python, "-c", "import sys; print(sys.version)"], step="ask {0} its version".format(self.python))
        return out.strip()

    def npm_hash(self, release_path):
        """The lockfile's hash: an npm build is redone when the release is new or its lockfile changed."""
        lockfile = os.path.join(release_path, self.npm_dir, "package-lock.json")
        if not os.path.isfile(lockfile):
            raise DeployError("npm build of {0} needs {1}/package-lock.json (npm ci installs exactly what it pins)".format(release_path, self.npm_dir),
                              details={"path": lockfile})
        with open(lockfile, "rb") as handle:
            return hashlib.sha256(handle.read()).hexdigest()[:16]

    def plan(self, release_path):
        """Questions only: which venv the release needs and what is missing."""
        marker = read_marker(release_path)
        if marker is None:
            raise DeployError("{0} is not a release (no marker); run the release step first".format(release_path), details={"path": release_path})
        venv_hash = dependency_hash(release_path, self.requirements, self.python_version(), self.pip_args)
        venv_path = os.path.join(self.venvs, venv_hash)
        link = os.path.join(release_path, VENV_LINK)
        linked = os.path.islink(link) and os.readlink(link) == link_target(venv_hash)
        npm_hash = self.npm_hash(release_path) if self.npm_dir else None
        build_npm = bool(self.npm_dir) and marker.get("npm") != npm_hash
        node_modules = os.path.join(self.node_modules, npm_hash) if npm_hash else None
        return BuildPlan(venv_hash, venv_path, not is_complete(venv_path, venv_hash), not linked,
                         npm_hash, build_npm, marker.get("built") is not True, node_modules,
                         build_npm and not is_complete(node_modules, npm_hash, NPM_MARKER))

    def check_node(self, release_path):
        """Refuse a frontend build, before anything is built, when the host's Node cannot do it; say what to do."""
        try:
            _rc, out, _err = self.hooks.run_as_user(["node", "--version"], step="ask node its version")
            self.hooks.run_as_user(["npm", "--version"], step="ask npm its version")
        except DeployError as exc:
            raise DeployError("the frontend build ({0}) needs node and npm on the host: install Debian's nodejs and npm packages (the deploy role does "
                              "when deploy_npm_dir is set and deploy_install_packages is true)".format(self.npm_dir), details=exc.details)
        node_version = out.strip().lstrip("v")
        problems = node_problems(node_version, node_requirements(os.path.join(release_path, self.npm_dir), self.npm_dir))
        if problems:
            raise DeployError("the frontend build cannot run here: " + "; ".join(problems), details={"node": node_version})

    def build(self, release_path, plan):
        """Carry out a plan; hooks run around it, in the release, as the app's user. A failure marks the release failed."""
        if not plan.changed:
            return False
        try:
            if plan.build_npm:
                self.check_node(release_path)
            self.hooks.run("before_build", release_path, plan.venv_path)
            if plan.build_venv:
                self._build_venv(release_path, plan)
            if plan.link_venv:
                self._link_venv(release_path, plan.venv_hash)
            self._check_gunicorn(plan.venv_path)
            if plan.build_npm:
                self._build_npm(release_path, plan)
            self.hooks.run("after_build", release_path, plan.venv_path)
        except DeployError:
            # Never a rollback target nor reused; the next deploy of the commit makes a fresh release.
            set_state(release_path, "failed")
            raise
        marker = read_marker(release_path)
        marker.update({"venv": plan.venv_hash, "built": True})
        if plan.npm_hash:
            marker["npm"] = plan.npm_hash
        write_marker(release_path, marker)
        return True

    def _build_venv(self, release_path, plan):
        for directory in (self.venvs, self.cache):
            self.hooks.make_directory(directory)
        if os.path.lexists(plan.venv_path):
            shutil.rmtree(plan.venv_path)
        run = self.hooks.run_as_user
        run([self.python, "-m", "venv", plan.venv_path], step="create the virtual environment", cwd=release_path)
        pip = os.path.join(plan.venv_path, "bin", "pip")
        env = dict(self.pip_env, PIP_CACHE_DIR=os.path.join(self.cache, "pip"))
        run([pip, "install"] + PIP_QUIET + self.pip_args + self._requirement_args(release_path, plan.venv_path),
            step="pip install", cwd=release_path, env=env)
        record = {"hash": plan.venv_hash, "created": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                  "requirements": self.requirements, "python": self.python}
        self.hooks.write_file(os.path.join(plan.venv_path, VENV_MARKER), json.dumps(record, sort_keys=True, indent=1) + "\n")

    @staticmethod
    def _check_gunicorn(venv_path):
        """The service and its candidate run the venv's gunicorn with the gunicorn role's settings: one the collection supports."""
        version = installed_version(venv_path)
        problem = gunicorn_problem(version)
        if problem:
            raise DeployError(problem, details={"venv": venv_path, "gunicorn": version})

    def _requirement_args(self, release_path, venv_path):
        """pip's arguments for the listed files; a pyproject.toml's dependencies go through a file in the venv."""
        args = []
        for name in self.requirements:
            path = os.path.join(release_path, name)
            if os.path.basename(name) == "pyproject.toml":
                listed = os.path.join(venv_path, ".stagecraft-pyproject-requirements.txt")
                self.hooks.write_file(listed, "".join(line + "\n" for line in pyproject_dependencies(path)))
                path = listed
            args.extend(["--requirement", path])
        return args

    def _link_venv(self, release_path, venv_hash):
        replace_link(os.path.join(release_path, VENV_LINK), link_target(venv_hash))

    def _build_npm(self, release_path, plan):
        """`npm ci` once per lockfile into the shared node_modules, linked from the release; `npm run` per release."""
        frontend = os.path.join(release_path, self.npm_dir)
        link = os.path.join(frontend, NODE_MODULES)
        shared = os.path.join(plan.node_modules, NODE_MODULES)
        self.hooks.make_directory(self.cache)
        # The user's build environment (VITE_*, NODE_ENV) wins over npm's quiet defaults; the app's
        # environment file is not passed on purpose: whatever a bundler reads may end up in the bundle.
        env = dict({"npm_config_cache": os.path.join(self.cache, "npm"), "npm_config_update_notifier": "false", "npm_config_fund": "false",
                    "npm_config_audit": "false"}, **self.npm_env)
        refuse_non_link(link)
        if plan.install_node_modules:
            if os.path.lexists(link):
                os.unlink(link)
            # npm ci in the frontend itself (its install scripts see the project), then moved to where releases share it.
            self.hooks.run_as_user(["npm", "ci", "--prefer-offline"], step="npm ci", cwd=frontend, env=env)
            self.hooks.make_directory(link)  # npm makes none for a project without dependencies
            self.hooks.make_directory(self.node_modules)
            if os.path.lexists(plan.node_modules):
                shutil.rmtree(plan.node_modules)
            self.hooks.make_directory(plan.node_modules)
            os.rename(link, shared)
            record = {"hash": plan.npm_hash, "created": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
            self.hooks.write_file(os.path.join(plan.node_modules, NPM_MARKER), json.dumps(record, sort_keys=True, indent=1) + "\n")
        replace_link(link, os.path.relpath(shared, frontend))
        self.hooks.run_as_user(["npm", "run", self.npm_script], step="npm run {0}".format(self.npm_script), cwd=frontend, env=env)


def refuse_non_link(link):
    """What the build links (.venv, node_modules) must not come with the repository."""
    if os.path.lexists(link) and not os.path.islink(link):
        raise DeployError("{0} exists in the release and is not a link; remove {1} from the repository".format(link, os.path.basename(link)),
                          details={"path": link})


def replace_link(link, target):
    """Point `link` at `target` atomically (a new link renamed over it); a file or directory there is refused."""
    refuse_non_link(link)
    staging = link + ".stagecraft-new"
    if os.path.lexists(staging):
        os.unlink(staging)
    os.symlink(target, staging)
    os.replace(staging, link)


def venvs_in_use(releases):
    """Hashes of the venvs the given releases (dicts with a path) link to."""
    used = set()
    for release in releases:
        marker = read_marker(release["path"]) or {}
        if marker.get("venv"):
            used.add(marker["venv"])
    return used


def unused_venvs(base, kept_releases):
    """Venv directories (complete or not) that no kept release uses."""
    venvs = os.path.join(base, "venvs")
    if not os.path.isdir(venvs):
        return []
    used = venvs_in_use(kept_releases)
    return sorted(name for name in os.listdir(venvs) if name not in used)


def unused_node_modules(base, kept_releases):
    """Shared node_modules directories (complete or not) whose lockfile hash no kept release built with."""
    shared = os.path.join(base, NODE_MODULES)
    if not os.path.isdir(shared):
        return []
    used = set((read_marker(release["path"]) or {}).get("npm") for release in kept_releases)
    return sorted(name for name in os.listdir(shared) if name not in used)

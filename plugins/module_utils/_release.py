# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""A release from git: the host's mirror of the app's repository, ref resolution, release directories.

Questions (`GitMirror.needs_fetch`, `GitMirror.resolve`, `find_release`) never change anything;
actions (`GitMirror.fetch`, `create_release`, `set_state`) do. See docs/deploy.md for the layout.
"""

from __future__ import annotations

import base64
import datetime
import json
import os
import re
import shlex
import shutil
import stat
import tempfile

from ansible_collections.stagecraft.webapp.plugins.module_utils._commands import CommandLine, Runner, as_args, as_config, as_flag, as_option
from ansible_collections.stagecraft.webapp.plugins.module_utils._errors import DeployError

MARKER = ".stagecraft-release.json"
STATES = ("pending", "good", "failed")
PARTIAL_PREFIX = ".partial-"
SHORT_SHA = 7
RELEASE_ID = re.compile(r"^(\d{8}T\d{6}Z)-([0-9a-f]{7,40})$")
FULL_SHA = re.compile(r"^[0-9a-f]{40}$")
SHORT_SHA_PATTERN = re.compile(r"^[0-9a-f]{7,39}$")
TOKEN_ENV = "STAGECRAFT_GIT_TOKEN"
# git runs this helper through sh; it reads the token from the environment, so argv names only the variable.
TOKEN_HELPER = "!f() { test \"$1\" = get || exit 0; echo username=\"${STAGECRAFT_GIT_USER}\"; echo password=\"${" + TOKEN_ENV + "}\"; }; f"

GIT = CommandLine("git", {
    "git_dir": as_option("--git-dir"),
    "config": as_config(),
    "subcommand": as_args(),
    "bare": as_flag("--bare"),
    "quiet": as_flag("--quiet"),
    "prune": as_flag("--prune"),
    "verify": as_flag("--verify"),
    "output": as_option("--output"),
    "format": as_option("--format"),
    "args": as_args(),
})
TAR = CommandLine("tar", {"extract": as_flag("-x"), "file": as_option("-f"), "directory": as_option("-C"), "owner": as_flag("--no-same-owner")})
REFSPECS = ("+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*")


def utc_timestamp(timestamp):
    """A timezone-aware UTC datetime from a datetime, epoch seconds or an ISO 8601 / yyyymmddTHHMMSSZ string."""
    if isinstance(timestamp, datetime.datetime):
        moment = timestamp
    elif isinstance(timestamp, (int, float)) and not isinstance(timestamp, bool):
        moment = datetime.datetime.fromtimestamp(timestamp, tz=datetime.timezone.utc)
    elif isinstance(timestamp, str):
        text = timestamp.strip()
        try:
            if re.match(r"^\d{8}T\d{6}Z$", text):
                moment = datetime.datetime.strptime(text, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
            else:
                moment = datetime.datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
        except ValueError:
            raise DeployError("timestamp {0!r} is neither ISO 8601 nor yyyymmddTHHMMSSZ".format(timestamp))
    else:
        raise DeployError("timestamp must be a datetime, epoch seconds or a string, not {0!r}".format(timestamp))
    if moment.tzinfo is None:
        raise DeployError("timestamp {0!r} has no time zone; give it in UTC".format(timestamp))
    return moment.astimezone(datetime.timezone.utc)


def release_id(commit, timestamp):
    """`<UTC yyyymmddTHHMMSSZ>-<short sha>`: computed once per run from the caller's timestamp."""
    if not FULL_SHA.match(commit or ""):
        raise DeployError("release_id needs a full 40-character commit id, not {0!r}".format(commit))
    return "{0}-{1}".format(utc_timestamp(timestamp).strftime("%Y%m%dT%H%M%SZ"), commit[:SHORT_SHA])


def check_ref(ref):
    """Refuse what git would read as an option or what no ref can be."""
    if not isinstance(ref, str) or not ref.strip() or ref.startswith("-") or re.search(r"[\s~^:?*\[\\]|\.\.|@\{", ref):
        raise DeployError("ref {0!r} is not a branch, tag or commit name".format(ref), details={"ref": ref})
    return ref


class GitAuth:
    """How git reaches a private repository: an SSH deploy key with known_hosts, or an HTTPS token.

    The token only ever travels in the environment of git (`env()`); `secrets()` lists what a
    Runner must redact from anything it returns.
    """

    def __init__(self, ssh_key=None, known_hosts=None, token=None, token_user="x-access-token"):
        if ssh_key and token:
            raise DeployError("give either an SSH deploy key or an HTTPS token, not both")
        self.ssh_key = ssh_key
        self.known_hosts = known_hosts
        self.token = token
        self.token_user = token_user

    def check(self, url):
        """Refuse a key file readable by others, a missing known_hosts, a token over a non-HTTPS URL."""
        if self.ssh_key:
            try:
                mode = stat.S_IMODE(os.stat(self.ssh_key).st_mode)
            except OSError as exc:
                raise DeployError("deploy key {0} cannot be read: {1}".format(self.ssh_key, exc.strerror), details={"ssh_key": self.ssh_key})
            if mode & 0o177:
                raise DeployError(
                    "deploy key {0} has mode {1:04o}; ssh and this collection require 0600 or narrower".format(self.ssh_key, mode),
                    details={"ssh_key": self.ssh_key, "mode": "{0:04o}".format(mode)},
                )
            if not self.known_hosts or not os.path.isfile(self.known_hosts):
                raise DeployError("an SSH deploy key needs a known_hosts file (host keys are always checked)", details={"known_hosts": self.known_hosts})
        if self.token and not url.startswith("https://"):
            raise DeployError("an HTTPS token is only sent to https:// URLs", details={"url": url})

    def config(self):
        """git `-c` settings as (key, value) pairs: with a token, a credential helper that reads it from the environment."""
        if not self.token:
            return []
        # The empty value resets helpers configured in files, so only ours answers.
        return [("credential.helper", ""), ("credential.helper", TOKEN_HELPER)]

    def env(self):
        """Environment for git: never prompts; the SSH command or the token."""
        environment = {"GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
        if self.ssh_key:
            ssh = ["ssh", "-i", self.ssh_key, "-o", "IdentitiesOnly=yes", "-o", "StrictHostKeyChecking=yes",
                   "-o", "UserKnownHostsFile=" + self.known_hosts, "-o", "BatchMode=yes"]
            environment["GIT_SSH_COMMAND"] = " ".join(shlex.quote(piece) for piece in ssh)
        if self.token:
            environment[TOKEN_ENV] = self.token
            environment["STAGECRAFT_GIT_USER"] = self.token_user
        return environment

    def secrets(self):
        if not self.token:
            return []
        basic = base64.b64encode("{0}:{1}".format(self.token_user, self.token).encode()).decode()
        return [self.token, basic]


class ResolvedRef:
    """A ref and the commit it names; `kind` is branch, tag or commit."""

    def __init__(self, ref, commit, kind):
        self.ref = ref
        self.commit = commit
        self.kind = kind

    def as_dict(self):
        return {"ref": self.ref, "commit": self.commit, "kind": self.kind}


class GitMirror:
    """The host's bare mirror (branches and tags) of one app's repository."""

    def __init__(self, path, url, run_command=None, auth=None):
        self.path = path
        self.url = url
        self.auth = auth or GitAuth()
        self.auth.check(url)
        self.runner = Runner(run_command, env=self.auth.env(), secrets=self.auth.secrets())

    def _git(self, step, subcommand, args=(), check=True, **pieces):
        pieces.setdefault("git_dir", self.path)
        order = "git_dir config subcommand " + " ".join(name for name in pieces if name not in ("git_dir",)) + " args"
        argv = GIT.argv(order, config=self.auth.config(), subcommand=subcommand, args=list(args), **pieces)
        return self.runner.run(argv, step=step, check=check)

    # Questions
    def exists(self):
        return os.path.isfile(os.path.join(self.path, "HEAD"))

    def configured_url(self):
        if not self.exists():
            return None
        rc, out, dummy = self._git("read the mirror's URL", ["config", "--get"], ["remote.origin.url"], check=False)
        return out.strip() if rc == 0 else None

    def local_refs(self):
        """{refname: object id} of the mirror's branches and tags."""
        if not self.exists():
            return {}
        dummy, out, dummy = self._git("list the mirror's refs", "for-each-ref", ["refs/heads", "refs/tags"], format="%(objectname) %(refname)")
        return dict(reversed(line.split(" ", 1)) for line in out.splitlines() if line.strip())

    def remote_refs(self):
        """{refname: object id} of the remote's branches and tags (git ls-remote: no objects move)."""
        argv = GIT.argv("config subcommand args", config=self.auth.config(), subcommand="ls-remote", args=["--heads", "--tags", self.url])
        dummy, out, dummy = self.runner.run(argv, step="list the refs of {0}".format(self.url))
        refs = {}
        for line in out.splitlines():
            parts = line.split("\t", 1)
            if len(parts) == 2 and not parts[1].endswith("^{}"):
                refs[parts[1]] = parts[0]
        return refs

    def has_commit(self, sha):
        if not self.exists():
            return False
        rc, dummy, dummy = self._git("look up a commit", "cat-file", ["-e", sha + "^{commit}"], check=False)
        return rc == 0

    def needs_fetch(self, ref):
        """Whether `ref` needs the mirror created or updated: a commit already here needs no network."""
        check_ref(ref)
        if not self.exists() or self.configured_url() != self.url:
            return True
        if FULL_SHA.match(ref) and self.has_commit(ref):
            return False
        names = self._names(ref)
        remote, local = self.remote_refs(), self.local_refs()
        if any(name in remote or name in local for name in names):
            return any(remote.get(name) != local.get(name) for name in names)
        return bool(SHORT_SHA_PATTERN.match(ref) or FULL_SHA.match(ref)) and remote != local

    def resolve_remote(self, ref):
        """The commit a branch or tag names on the remote, without fetching (for check mode); None if unknown."""
        check_ref(ref)
        remote = self.remote_refs()
        found = [remote[name] for name in self._names(ref) if name in remote]
        return found[0] if found else None

    def resolve(self, ref):
        """Branch, tag, full or short sha -> ResolvedRef; DeployError naming the ref when none matches."""
        check_ref(ref)
        if not self.exists():
            raise DeployError("the mirror {0} does not exist yet; fetch first".format(self.path), details={"ref": ref})
        local = self.local_refs()
        matches = {}
        for name in self._names(ref):
            if name in local:
                kind = "branch" if name.startswith("refs/heads/") else "tag"
                matches[kind] = self._peel(name)
        if len(set(matches.values())) > 1:
            raise DeployError("ref {0!r} is both a branch and a tag on different commits; write refs/heads/{0} or refs/tags/{0}".format(ref),
                              details={"ref": ref, "candidates": matches})
        if matches:
            kind = "branch" if "branch" in matches else "tag"
            return ResolvedRef(ref, matches[kind], kind)
        if SHORT_SHA_PATTERN.match(ref) or FULL_SHA.match(ref):
            rc, out, err = self._git("resolve a commit", "rev-parse", [ref + "^{commit}"], check=False, verify=True, quiet=True)
            if rc == 0 and FULL_SHA.match(out.strip()):
                return ResolvedRef(ref, out.strip(), "commit")
            if "ambiguous" in err:
                raise DeployError("short commit id {0!r} is ambiguous in {1}; give more characters".format(ref, self.url), details={"ref": ref})
        raise DeployError("ref {0!r} is not a branch, tag or commit of {1}".format(ref, self.url), details={"ref": ref, "url": self.url})

    @staticmethod
    def _names(ref):
        if ref.startswith("refs/heads/") or ref.startswith("refs/tags/"):
            return [ref]
        return ["refs/heads/" + ref, "refs/tags/" + ref]

    def _peel(self, refname):
        dummy, out, dummy = self._git("resolve " + refname, "rev-parse", [refname + "^{commit}"], verify=True, quiet=True)
        return out.strip()

    # Actions
    def fetch(self):
        """Create the mirror (in a temporary sibling, then renamed) or fetch with --prune; True when refs changed."""
        if not self.exists():
            parent = os.path.dirname(os.path.abspath(self.path))
            if not os.path.isdir(parent):
                os.makedirs(parent, 0o755)
            staging = tempfile.mkdtemp(prefix=".mirror-", dir=parent)
            final = self.path
            self.path = staging
            try:
                self._git("create the mirror", "init", bare=True, quiet=True)
                self._configure()
                self._git("fetch {0}".format(self.url), "fetch", ["origin"], quiet=True, prune=True)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                self.path = final
                raise
            self.path = final
            os.rename(staging, final)
            return True
        if self.configured_url() != self.url:
            # From the new URL first, the mirror pointed at it after: a URL that is no repository
            # (or refuses us) leaves the mirror as it was.
            self._git("fetch {0}".format(self.url), "fetch", [self.url] + list(REFSPECS), quiet=True, prune=True)
            self._configure()
            return True
        before = self.local_refs()
        self._git("fetch {0}".format(self.url), "fetch", ["origin"], quiet=True, prune=True)
        return self.local_refs() != before

    def _configure(self):
        self._git("set the mirror's URL", "config", ["remote.origin.url", self.url])
        self._git("set the mirror's refspecs", "config", ["--unset-all", "remote.origin.fetch"], check=False)
        for refspec in REFSPECS:
            self._git("set the mirror's refspecs", "config", ["--add", "remote.origin.fetch", refspec])

    def archive(self, commit, tarball):
        """Write the tree of `commit` (without .git, honouring export-ignore) to a tar file."""
        self._git("archive {0}".format(commit), "archive", [commit], format="tar", output=tarball)


# Release directories and their marker
def read_marker(release_path):
    """The marker of a release directory as a dict, or None when absent or unreadable."""
    try:
        with open(os.path.join(release_path, MARKER)) as handle:
            marker = json.load(handle)
    except (OSError, ValueError):
        return None
    return marker if isinstance(marker, dict) else None


def write_marker(release_path, marker):
    """Write the marker atomically (temp file beside it, then rename), mode 0644."""
    descriptor, temporary = tempfile.mkstemp(prefix=".marker-", dir=release_path)
    try:
        os.fchmod(descriptor, 0o644)
        with os.fdopen(descriptor, "w") as handle:
            json.dump(marker, handle, sort_keys=True, indent=1)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, os.path.join(release_path, MARKER))
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def set_state(release_path, state):
    """Mark a release pending, good or failed; returns (changed, previous state)."""
    if state not in STATES:
        raise DeployError("release state must be one of {0}, not {1!r}".format(", ".join(STATES), state))
    marker = read_marker(release_path)
    if marker is None:
        raise DeployError("{0} is not a release (no {1})".format(release_path, MARKER), details={"path": release_path})
    previous = marker.get("state")
    if previous == state:
        return False, previous
    marker["state"] = state
    write_marker(release_path, marker)
    return True, previous


def find_release(releases_dir, commit):
    """Newest intact release of `commit` that is not failed (marker matches its name): its id, or None."""
    if not os.path.isdir(releases_dir):
        return None
    for name in sorted(os.listdir(releases_dir), reverse=True):
        match = RELEASE_ID.match(name)
        if not match or not commit.startswith(match.group(2)):
            continue
        marker = read_marker(os.path.join(releases_dir, name))
        if marker and marker.get("commit") == commit and marker.get("release_id") == name and marker.get("state") in ("pending", "good"):
            return name
    return None


class ReleaseResult:
    """What create_release did: the release used, whether it was made now, and its marker."""

    def __init__(self, release_id, path, changed, marker):
        self.release_id = release_id
        self.path = path
        self.changed = changed
        self.marker = marker

    def as_dict(self):
        return {"release_id": self.release_id, "path": self.path, "changed": self.changed, "marker": self.marker}


def create_release(mirror, releases_dir, resolved, new_release_id, now=None, prepare=None):
    """Reuse an intact release of the commit, or build releases/<id> in a hidden sibling and rename it.

    `prepare(staging_path)` finishes a new release before it gets its name (shared links, owner).
    """
    existing = find_release(releases_dir, resolved.commit)
    if existing:
        path = os.path.join(releases_dir, existing)
        return ReleaseResult(existing, path, False, read_marker(path))
    match = RELEASE_ID.match(new_release_id or "")
    if not match or not resolved.commit.startswith(match.group(2)):
        raise DeployError("release id {0!r} does not name commit {1}".format(new_release_id, resolved.commit))
    final = os.path.join(releases_dir, new_release_id)
    if os.path.lexists(final):
        raise DeployError("{0} exists but is not an intact release of {1}; remove it or deploy with a new release id".format(final, resolved.commit),
                          details={"path": final, "marker": read_marker(final)})
    if not os.path.isdir(releases_dir):
        os.makedirs(releases_dir, 0o755)
    staging = tempfile.mkdtemp(prefix=PARTIAL_PREFIX + new_release_id + "-", dir=releases_dir)
    tarball = staging + ".tar"
    try:
        mirror.archive(resolved.commit, tarball)
        argv = TAR.argv("extract owner file directory", extract=True, owner=True, file=tarball, directory=staging)
        mirror.runner.run(argv, step="unpack {0}".format(resolved.commit))
        os.chmod(staging, 0o755)
        if prepare is not None:
            prepare(staging)
        created = (now or datetime.datetime.now(datetime.timezone.utc)).astimezone(datetime.timezone.utc)
        marker = {"commit": resolved.commit, "ref": resolved.ref, "release_id": new_release_id,
                  "created": created.strftime("%Y-%m-%dT%H:%M:%SZ"), "state": "pending"}
        write_marker(staging, marker)
        os.rename(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        if os.path.exists(tarball):
            os.unlink(tarball)
    return ReleaseResult(new_release_id, final, True, marker)


def check_relative(path, what):
    """A path inside the release: relative, normalised, no `..`."""
    if not path or os.path.isabs(path) or os.path.normpath(path) != path.rstrip("/") or path.split("/")[0] in ("..", "."):
        raise DeployError("{0} {1!r} must be a relative path inside the release, without '..'".format(what, path), details={"path": path})
    return path.rstrip("/")


def shared_links(release_path, final_path, shared_dir, shared_dirs=(), shared_files=()):
    """Replace each shared path in a new release with a relative link into shared/ (dirs made there if missing).

    Returns the directories it made in shared/, so the caller can hand them to the app's user.
    A shared file must exist already: the deploy cannot guess its content (an .env, a key).
    """
    made = []
    for name, is_dir in [(check_relative(item, "shared dir"), True) for item in shared_dirs] + \
            [(check_relative(item, "shared file"), False) for item in shared_files]:
        source = os.path.join(shared_dir, name)
        if is_dir and not os.path.isdir(source):
            os.makedirs(source, 0o750)
            made.append(source)
        elif not is_dir and not os.path.isfile(source):
            raise DeployError("shared file {0} does not exist; put it there before deploying".format(source), details={"path": source})
        link = os.path.join(release_path, name)
        if os.path.isdir(link) and not os.path.islink(link):
            shutil.rmtree(link)
        elif os.path.lexists(link):
            os.unlink(link)
        parent = os.path.dirname(link)
        if not os.path.isdir(parent):
            os.makedirs(parent, 0o755)
        os.symlink(os.path.relpath(source, os.path.dirname(os.path.join(final_path, name))), link)
    return made


def chown_tree(path, uid, gid):
    """Give a release tree (links included, not followed) to the app's user."""
    os.lchown(path, uid, gid)
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            os.lchown(os.path.join(root, name), uid, gid)

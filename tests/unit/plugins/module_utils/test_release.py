from __future__ import annotations

import datetime
import json
import os
import shlex
import subprocess

import pytest

from ansible_collections.stagecraft.webapp.plugins.module_utils._errors import DeployError
from ansible_collections.stagecraft.webapp.plugins.module_utils._release import (
    MARKER, GitAuth, GitMirror, ResolvedRef, create_release, find_release, read_marker, release_id, set_state, shared_links,
)

SHA = "0123456789abcdef0123456789abcdef01234567"
WHEN = datetime.datetime(2026, 11, 22, 19, 5, 7, tzinfo=datetime.timezone.utc)


@pytest.fixture
def mirror(tmp_path, origin, recorder):
    return GitMirror(str(tmp_path / "app" / "prod" / "repo.git"), str(origin.path), run_command=recorder)


@pytest.fixture
def fetched(mirror):
    mirror.fetch()
    return mirror


# Release ids
@pytest.mark.parametrize("timestamp", [
    WHEN, WHEN.timestamp(), int(WHEN.timestamp()), "2026-11-22T19:05:07Z", "2026-11-22T20:05:07+01:00", "20261122T190507Z",
])
def test_release_id_is_utc_time_and_short_sha(timestamp):
    assert release_id(SHA, timestamp) == "20261122T190507Z-0123456"


@pytest.mark.parametrize("commit, timestamp, message", [
    ("0123456", WHEN, "full 40-character"),
    (SHA, datetime.datetime(2026, 11, 22), "no time zone"),
    (SHA, "yesterday", "neither ISO"),
    (SHA, None, "must be a datetime"),
])
def test_release_id_bad_input(commit, timestamp, message):
    with pytest.raises(DeployError, match=message):
        release_id(commit, timestamp)


# Mirror and ref resolution
def test_fetch_creates_a_bare_mirror_of_branches_and_tags(fetched, origin):
    assert fetched.exists()
    assert set(fetched.local_refs()) == {"refs/heads/main", "refs/heads/develop", "refs/tags/v1", "refs/tags/v1-annotated"}
    assert not [name for name in os.listdir(os.path.dirname(fetched.path)) if name.startswith(".mirror-")]


@pytest.mark.parametrize("ref, expected, kind", [
    ("main", "main", "branch"),
    ("develop", "develop", "branch"),
    ("refs/heads/main", "main", "branch"),
    ("v1", "v1", "tag"),
    ("v1-annotated", "v1", "tag"),
    ("FULL", "main~1", "commit"),
    ("SHORT", "main~1", "commit"),
])
def test_resolve_branch_tag_full_and_short_sha(fetched, origin, ref, expected, kind):
    commit = origin.sha(expected)
    ref = {"FULL": commit, "SHORT": commit[:8]}.get(ref, ref)
    assert fetched.resolve(ref).as_dict() == {"ref": ref, "commit": commit, "kind": kind}


@pytest.mark.parametrize("ref", ["nope", "deadbeefdeadbeef", "0" * 40])
def test_missing_ref_names_it_and_changes_nothing(tmp_path, fetched, ref):
    before = sorted(os.listdir(tmp_path / "app" / "prod"))
    with pytest.raises(DeployError, match=repr(ref)) as raised:
        fetched.resolve(ref)
    assert raised.value.details["ref"] == ref
    assert sorted(os.listdir(tmp_path / "app" / "prod")) == before


@pytest.mark.parametrize("ref", ["", "-c", "--upload-pack=x", "a b", "main..develop", "main^", "HEAD@{1}"])
def test_malformed_ref_is_refused(fetched, ref):
    with pytest.raises(DeployError, match="is not a branch, tag or commit name"):
        fetched.resolve(ref)


def test_branch_and_tag_of_the_same_name_on_different_commits_is_ambiguous(tmp_path, origin):
    origin.git("tag", "develop", "main")
    mirror = GitMirror(str(tmp_path / "m.git"), str(origin.path))
    mirror.fetch()
    with pytest.raises(DeployError, match="both a branch and a tag"):
        mirror.resolve("develop")
    assert mirror.resolve("refs/tags/develop").commit == origin.sha("main")


def test_resolve_without_mirror_asks_for_a_fetch(mirror):
    with pytest.raises(DeployError, match="fetch first"):
        mirror.resolve("main")


def test_resolve_remote_answers_without_fetching(mirror, origin, recorder):
    assert mirror.resolve_remote("develop") == origin.sha("develop")
    assert mirror.resolve_remote("nope") is None
    assert not mirror.exists() and "fetch" not in recorder.subcommands()


# Fetch only when needed
def test_needs_fetch_when_no_mirror(mirror):
    assert mirror.needs_fetch("main")


@pytest.mark.parametrize("ref", ["main", "develop", "v1", "MAIN_SHA"])
def test_nothing_new_needs_no_fetch(fetched, origin, ref):
    assert fetched.needs_fetch({"MAIN_SHA": origin.sha("main")}.get(ref, ref)) is False


def test_a_known_full_sha_needs_no_network(fetched, origin, recorder):
    recorder.calls.clear()
    assert fetched.needs_fetch(origin.sha("main~1")) is False
    assert "ls-remote" not in recorder.subcommands()


@pytest.mark.parametrize("ref, changed_branch, expected", [
    ("main", "main", True),
    ("main", "develop", False),
    ("develop", "develop", True),
    ("NEW_SHA", "develop", True),
])
def test_new_commit_needs_fetch_only_for_its_ref(fetched, origin, ref, changed_branch, expected):
    origin.git("checkout", "--quiet", changed_branch)
    new = origin.commit("third")
    assert fetched.needs_fetch(new if ref == "NEW_SHA" else ref) is expected


def test_fetch_brings_new_commits_and_prunes_deleted_branches(fetched, origin):
    new = origin.commit("third")
    origin.git("branch", "-D", "develop")
    assert fetched.needs_fetch("develop")
    assert fetched.fetch() is True
    assert "refs/heads/develop" not in fetched.local_refs()
    assert fetched.resolve(new).commit == new
    assert fetched.fetch() is False


def test_a_new_tag_needs_fetch(fetched, origin):
    origin.git("tag", "v2")
    assert fetched.needs_fetch("v2")
    fetched.fetch()
    assert fetched.resolve("v2").commit == origin.sha("main")


def test_changed_url_is_reconfigured(tmp_path, fetched, origin):
    moved = tmp_path / "moved"
    subprocess.run(["git", "clone", "--quiet", "--bare", str(origin.path), str(moved)], check=True)
    again = GitMirror(fetched.path, str(moved))
    assert again.needs_fetch("main")
    assert again.fetch() is True and again.configured_url() == str(moved)


@pytest.mark.parametrize("url", ["file:///etc", "/etc", "/nonexistent/app.git"])
def test_a_url_that_is_no_repository_leaves_the_mirror_as_it_was(tmp_path, fetched, origin, url):
    refs = fetched.local_refs()
    again = GitMirror(fetched.path, url)
    with pytest.raises(DeployError):
        again.fetch()
    assert fetched.configured_url() == str(origin.path) and fetched.local_refs() == refs


# Releases
def resolved(mirror, ref):
    return mirror.resolve(ref)


def test_release_has_the_tree_without_git_and_a_pending_marker(tmp_path, fetched, origin):
    target = resolved(fetched, "v1")
    rid = release_id(target.commit, WHEN)
    result = create_release(fetched, str(tmp_path / "releases"), target, rid, now=WHEN)
    assert result.changed and result.path == str(tmp_path / "releases" / rid)
    assert sorted(os.listdir(result.path)) == sorted([MARKER, "app.py", "requirements.txt"])
    assert not os.path.exists(os.path.join(result.path, ".git"))
    assert (tmp_path / "releases" / rid / "app.py").read_text() == "print('v1')\n"
    assert read_marker(result.path) == {"commit": target.commit, "ref": "v1", "release_id": rid, "created": "2026-11-22T19:05:07Z", "state": "pending"}
    assert sorted(os.listdir(tmp_path / "releases")) == [rid]


@pytest.mark.parametrize("state, reused", [("pending", True), ("good", True), ("failed", False)])
def test_intact_release_of_the_same_commit_is_reused(tmp_path, fetched, state, reused):
    target = resolved(fetched, "main")
    first = create_release(fetched, str(tmp_path / "releases"), target, release_id(target.commit, WHEN))
    set_state(first.path, state)
    later = release_id(target.commit, WHEN + datetime.timedelta(hours=1))
    assert (find_release(str(tmp_path / "releases"), target.commit) == first.release_id) is reused
    second = create_release(fetched, str(tmp_path / "releases"), target, later)
    assert (second.changed, second.release_id) == ((False, first.release_id) if reused else (True, later))


def test_a_release_dir_without_marker_is_not_reused_nor_overwritten(tmp_path, fetched):
    target = resolved(fetched, "main")
    rid = release_id(target.commit, WHEN)
    (tmp_path / "releases" / rid).mkdir(parents=True)
    with pytest.raises(DeployError, match="not an intact release"):
        create_release(fetched, str(tmp_path / "releases"), target, rid)


def test_release_id_must_name_the_commit(tmp_path, fetched):
    target = resolved(fetched, "main")
    with pytest.raises(DeployError, match="does not name commit"):
        create_release(fetched, str(tmp_path / "releases"), target, release_id(SHA, WHEN))


def test_half_written_release_is_never_visible(tmp_path, fetched, origin):
    releases = tmp_path / "releases"
    target = resolved(fetched, "main")
    rid = release_id(target.commit, WHEN)
    seen = {}
    real = fetched.runner.run_command

    def failing_tar(argv, cwd=None, env=None):
        if argv[0] != "tar":
            return real(argv, cwd=cwd, env=env)
        seen["final_exists"] = (releases / rid).exists()
        seen["hidden"] = sorted(name for name in os.listdir(releases) if name.startswith("."))
        return 2, "", "tar: disk full"

    fetched.runner.run_command = failing_tar
    with pytest.raises(DeployError, match="unpack") as raised:
        create_release(fetched, str(releases), target, rid)
    assert raised.value.details["stderr"] == "tar: disk full"
    assert seen["final_exists"] is False and seen["hidden"] and all(name.startswith(".partial-" + rid) for name in seen["hidden"])
    assert os.listdir(releases) == []


@pytest.mark.parametrize("state, changed", [("good", True), ("pending", False)])
def test_set_state(tmp_path, fetched, state, changed):
    target = resolved(fetched, "main")
    result = create_release(fetched, str(tmp_path / "releases"), target, release_id(target.commit, WHEN))
    assert set_state(result.path, state) == (changed, "pending")
    assert read_marker(result.path)["state"] == state
    assert sorted(name for name in os.listdir(result.path) if name.startswith(".")) == [MARKER]


@pytest.mark.parametrize("state", ["done", None])
def test_set_state_refuses_unknown_states(tmp_path, state):
    with pytest.raises(DeployError, match="must be one of"):
        set_state(str(tmp_path), state)


def test_export_ignore_is_honoured(tmp_path, fetched, origin):
    origin.commit("attributes", {".gitattributes": "tests/ export-ignore\n", "tests/test_app.py": "x\n"})
    fetched.fetch()
    target = resolved(fetched, "main")
    result = create_release(fetched, str(tmp_path / "releases"), target, release_id(target.commit, WHEN))
    assert not os.path.exists(os.path.join(result.path, "tests"))


# Private repositories
@pytest.mark.parametrize("mode, accepted", [(0o600, True), (0o400, True), (0o640, False), (0o644, False), (0o606, False)])
def test_deploy_key_mode(tmp_path, mode, accepted):
    key, known_hosts = tmp_path / "id_deploy", tmp_path / "known_hosts"
    key.write_text("key")
    known_hosts.write_text("")
    key.chmod(mode)
    auth = GitAuth(ssh_key=str(key), known_hosts=str(known_hosts))
    if accepted:
        auth.check("git@example.com:org/app.git")
    else:
        with pytest.raises(DeployError, match="{0:04o}".format(mode)):
            auth.check("git@example.com:org/app.git")


def test_deploy_key_needs_known_hosts(tmp_path):
    key = tmp_path / "id_deploy"
    key.write_text("key")
    key.chmod(0o600)
    with pytest.raises(DeployError, match="known_hosts"):
        GitAuth(ssh_key=str(key), known_hosts=str(tmp_path / "missing")).check("git@example.com:org/app.git")


def test_ssh_command_pins_the_key_and_checks_host_keys(tmp_path):
    key, known_hosts = tmp_path / "a key", tmp_path / "known hosts"
    auth = GitAuth(ssh_key=str(key), known_hosts=str(known_hosts))
    assert shlex.split(auth.env()["GIT_SSH_COMMAND"]) == [
        "ssh", "-i", str(key), "-o", "IdentitiesOnly=yes", "-o", "StrictHostKeyChecking=yes",
        "-o", "UserKnownHostsFile=" + str(known_hosts), "-o", "BatchMode=yes"]


@pytest.mark.parametrize("url", ["http://example.com/app.git", "git@example.com:app.git", "/srv/app.git"])
def test_token_only_over_https(url):
    with pytest.raises(DeployError, match="https"):
        GitAuth(token="t0k3n-secret").check(url)


def test_key_and_token_together_are_refused():
    with pytest.raises(DeployError, match="not both"):
        GitAuth(ssh_key="/k", token="t")


TOKEN = "ghp_SECRETtoken1234567890"


def test_token_never_in_argv_nor_errors(tmp_path, recorder):
    # Port 9 (discard) refuses connections: the command fails as a real unreachable server would.
    mirror = GitMirror(str(tmp_path / "m.git"), "https://127.0.0.1:9/org/app.git", run_command=recorder, auth=GitAuth(token=TOKEN))
    with pytest.raises(DeployError) as raised:
        mirror.resolve_remote("main")
    with pytest.raises(DeployError) as fetch_raised:
        mirror.fetch()
    for error in (raised.value, fetch_raised.value):
        assert TOKEN not in str(error) and TOKEN not in json.dumps(error.details)
    assert recorder.calls and all(TOKEN not in " ".join(argv) for argv, dummy in recorder.calls)
    assert all(env.get("STAGECRAFT_GIT_TOKEN") == TOKEN for dummy, env in recorder.calls)
    assert not (tmp_path / "m.git").exists() and os.listdir(tmp_path) == []


def test_token_credential_helper_answers_git_from_the_environment():
    auth = GitAuth(token=TOKEN)
    argv = ["git"] + [piece for key, value in auth.config() for piece in ("-c", "{0}={1}".format(key, value))] + ["credential", "fill"]
    assert TOKEN not in " ".join(argv)
    answer = subprocess.run(argv, input="protocol=https\nhost=git.example.com\n\n", capture_output=True, text=True,
                            env={**os.environ, **auth.env()}, check=True).stdout
    assert "username=x-access-token\n" in answer and "password={0}\n".format(TOKEN) in answer


def test_runner_redacts_the_token_should_git_ever_print_it(tmp_path):
    mirror = GitMirror(str(tmp_path / "m.git"), "https://example.invalid/app.git", auth=GitAuth(token=TOKEN))
    assert mirror.runner.redact("fatal: " + TOKEN) == "fatal: ********"


def test_resolved_ref_as_dict():
    assert ResolvedRef("main", SHA, "branch").as_dict() == {"ref": "main", "commit": SHA, "kind": "branch"}


def test_shared_links_replace_release_paths_with_relative_links(tmp_path):
    release = tmp_path / "releases" / ".partial-x"
    (release / "media").mkdir(parents=True)
    (release / "media" / "from-git.txt").write_text("replaced")
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / ".env").write_text("A=1\n")
    made = shared_links(str(release), str(tmp_path / "releases" / "r1"), str(tmp_path / "shared"), ["media", "var/uploads"], [".env"])
    assert made == [str(tmp_path / "shared" / "media"), str(tmp_path / "shared" / "var/uploads")]
    assert os.readlink(release / "media") == "../../shared/media"
    assert os.readlink(release / "var" / "uploads") == "../../../shared/var/uploads"
    assert os.readlink(release / ".env") == "../../shared/.env"


@pytest.mark.parametrize("bad", ["../etc", "/etc", "a/../../b", "."])
def test_shared_paths_stay_inside_the_release(tmp_path, bad):
    with pytest.raises(DeployError, match="must be a relative path inside the release"):
        shared_links(str(tmp_path), str(tmp_path), str(tmp_path / "shared"), [bad])


def test_a_missing_shared_file_is_named(tmp_path):
    with pytest.raises(DeployError, match="shared file .*/shared/.env does not exist"):
        shared_links(str(tmp_path), str(tmp_path), str(tmp_path / "shared"), [], [".env"])

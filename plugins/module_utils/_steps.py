# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The deploy's steps, each the whole work of one module, and the deploy as one call that runs them.

Every step takes a `Call`: the module's parameters, whether it runs in check mode, and the
`run_command` it uses. The modules release, build, activate, prune, deploy_record and deploy_lock
run one step each; the module deploy runs them in order under the lock in a single round trip,
which is most of what a code-only deploy costs over SSH.
"""

from __future__ import annotations

import collections
import datetime
import grp
import json
import os
import pwd
import shutil
import signal
import time

from ansible_collections.stagecraft.webapp.plugins.module_utils import _lock, _snapshot
from ansible_collections.stagecraft.webapp.plugins.module_utils._activate import Activator, Health, ServiceRecord, Systemd
from ansible_collections.stagecraft.webapp.plugins.module_utils._build import Builder, unused_node_modules, unused_venvs
from ansible_collections.stagecraft.webapp.plugins.module_utils._commands import (
    MIN_SECRET_LENGTH, Runner, hidden_forms, module_run_command, redacting, url_password)
from ansible_collections.stagecraft.webapp.plugins.module_utils._errors import DeployError, run_module
from ansible_collections.stagecraft.webapp.plugins.module_utils._hooks import HOOK_OPTIONS, Hooks, read_secrets
from ansible_collections.stagecraft.webapp.plugins.module_utils._marks import add_mark, make_mark, read_marks, remove_mark, rolled_back_problem
from ansible_collections.stagecraft.webapp.plugins.module_utils._once import OnceHooks
from ansible_collections.stagecraft.webapp.plugins.module_utils._record import append, make_entry, read_last
from ansible_collections.stagecraft.webapp.plugins.module_utils._release import (
    GitAuth, GitMirror, chown_tree, create_release, find_release, read_marker, release_id as make_release_id, shared_links, utc_timestamp)
from ansible_collections.stagecraft.webapp.plugins.module_utils._releases import current_release, list_releases, prune, prune_plan, rollback_target
from ansible_collections.stagecraft.webapp.plugins.module_utils._repository import not_a_local_repository

Call = collections.namedtuple("Call", ["params", "check_mode", "run_command"])

# Argument specs shared by the one-step modules and the deploy module (their docs are the
# stagecraft.webapp.deploy doc fragments of the same names).
RELEASE_SPEC = dict(
    repo=dict(type="str", required=True),
    version=dict(type="str", default="main"),
    timestamp=dict(type="str", required=True),
    owner=dict(type="str"),
    group=dict(type="str"),
    shared_dirs=dict(type="list", elements="str", default=[]),
    shared_files=dict(type="list", elements="str", default=[]),
    ssh_key=dict(type="path"),
    known_hosts=dict(type="path"),
    token=dict(type="str", no_log=True),
    token_user=dict(type="str", default="x-access-token", no_log=False),
)
RELEASE_RULES = dict(mutually_exclusive=[("ssh_key", "token")], required_by={"ssh_key": "known_hosts"})
APP_SPEC = dict(
    user=dict(type="str"),
    env_file=dict(type="path"),
    hooks=dict(type="dict", default={}, options=HOOK_OPTIONS),
)
BUILD_SPEC = dict(
    python=dict(type="path", default="/usr/bin/python3"),
    requirements=dict(type="list", elements="str", default=["requirements.txt"]),
    pip_args=dict(type="list", elements="str", default=[]),
    pip_env=dict(type="dict", default={}),
    npm_dir=dict(type="str", default=""),
    npm_script=dict(type="str", default="build"),
    npm_env=dict(type="dict", default={}),
)
# Once-hooks: the activate step's and the deploy module's (doc fragment stagecraft.webapp.deploy.once).
ONCE_SPEC = dict(
    once_hooks=dict(type="list", elements="dict", default=[], options=dict(name=dict(type="str", required=True), command=dict(type="str", required=True))),
    rerun_once=dict(type="list", elements="str", default=[]),
)
HEALTH_SPEC = dict(
    rollback=dict(type="bool", default=False),
    service_record=dict(type="path"),
    health_path=dict(type="str", default="/healthz"),
    health_status=dict(type="int", default=200),
    health_host=dict(type="str", default="localhost"),
    health_scheme=dict(type="str", default="http", choices=["http", "https"]),
    health_headers=dict(type="dict", default={}),
    health_timeout=dict(type="float", default=60),
)
# Snapshots of the app's data (doc fragment stagecraft.webapp.deploy.snapshot): the deploy module's.
SNAPSHOT_SPEC = dict(
    snapshot_databases=dict(type="list", elements="str", default=[]),
    snapshot_dirs=dict(type="list", elements="str", default=[]),
    snapshot_max_bytes=dict(type="int", default=1073741824),
    snapshot_before=dict(type="str", default="before_switch", choices=list(_snapshot.STAGES)),
    # It may carry credentials (PGPASSWORD=...): never in Ansible's record of the module's arguments.
    snapshot_pre_command=dict(type="str", default="", no_log=True),
    restore_data=dict(type="bool", default=False),
)
OUTCOMES = ["success", "unchanged", "failed", "rolled_back", "interrupted"]
PHASES = ["all", "build", "activate"]


def secrets_of(params):
    """What no output may show, by name: the app's secrets (its environment file names them), the
    deploy key, the HTTPS token, and the passwords in URLs of pip's and npm's environments."""
    secrets = read_secrets(params.get("env_file"))
    if params.get("ssh_key") and os.path.isfile(params["ssh_key"]):
        try:
            with open(params["ssh_key"]) as handle:
                secrets["deploy key"] = handle.read()
        except OSError as exc:
            raise DeployError("deploy key {0} cannot be read: {1}".format(params["ssh_key"], exc.strerror), details={"ssh_key": params["ssh_key"]})
    secrets["token"] = params.get("token")
    for tool in ("pip_env", "npm_env"):
        secrets.update(("{0} {1}".format(tool, name), url_password(str(value))) for name, value in (params.get(tool) or {}).items())
    return dict((name, value) for name, value in secrets.items() if value)


def hiding_secrets(module):
    """The module's `run_command`, hiding the secrets of its parameters in what every program prints;
    the same spellings become Ansible's no_log values, masked in everything the module returns."""
    secrets = secrets_of(module.params)
    short = sorted(name for name, value in secrets.items() if len(value) < MIN_SECRET_LENGTH)
    if short:
        module.warn("secrets shorter than {0} characters are not hidden in output: {1}".format(MIN_SECRET_LENGTH, ", ".join(short)))
    module.no_log_values.update(hidden_forms(secrets.values()))
    return redacting(module_run_command(module), secrets.values())


def _warn(module, result):
    for warning in result.pop("warnings", []):
        module.warn(warning)


def run_as_module(module, step):
    """A step module's whole work: exit `module` with what `step` returns for its parameters, or fail it; `warnings` become the module's."""

    def run(module):
        try:
            result = step(Call(module.params, module.check_mode, hiding_secrets(module)))
        except DeployError as exc:
            _warn(module, exc.details)
            raise
        _warn(module, result)
        return result

    run_module(module, run)


def _current_id(base):
    return current_release(os.path.join(base, "current"), os.path.join(base, "releases")) or ""


def commit_of(base, release_id):
    """The commit a release was made from, from its marker; empty when there is no such release."""
    marker = read_marker(os.path.join(base, "releases", release_id)) if release_id else None
    return (marker or {}).get("commit") or ""


def serving_now(base):
    """(release id, commit) that `current` points at now; empty strings when nothing serves."""
    current_id = _current_id(base)
    return current_id, commit_of(base, current_id)


# ---------------------------------------------------------------------------------------------
# The lock
# ---------------------------------------------------------------------------------------------


def _taken(changed, holder, taken_over, check_mode):
    """The lock step's result; a takeover is said as a warning too."""
    result = {"changed": changed, "holder": holder, "taken_over": taken_over, "warnings": []}
    if taken_over:
        result["warnings"].append("{0} the deploy lock of {1} (holder id {2}): {3}; its deploy is {4} as interrupted".format(
            "would take over" if check_mode else "took over", taken_over.get("owner"), taken_over.get("holder_id"), taken_over["reason"],
            "would be recorded" if check_mode else "recorded"))
    return result


def lock(call):
    """Take (present), give back (absent) or break (broken) the deploy lock.

    Taking it over from a holder whose process is gone (see _lock) records that holder's deploy as
    interrupted and returns the holder as `taken_over`. With the internal parameter `process`, the
    caller's process holds the lock; `lock_details` go into the lock for such a record.
    """
    params = call.params
    path = os.path.join(params["path"], "deploy.lock")
    holder = _lock.read_lock(path)
    state = params["state"]
    if state == "present":
        process = params.get("process", False)
        mine = bool(holder) and bool(params["holder_id"]) and holder.get("holder_id") == params["holder_id"]
        gone = "" if holder is None or mine else _lock.holder_gone(holder)
        if holder is not None and not mine and not gone:
            raise _lock.refusal(path, holder)
        if call.check_mode:
            return _taken(not mine, holder, dict(holder, reason=gone) if gone else None, call.check_mode)
        if mine:
            # The same run's next phase: its process holds the lock now (or, between tasks, none).
            return _taken(False, _lock.update(path, params["holder_id"], **_lock.process_fields(process)), None, False)
        changed, holder = _lock.acquire(path, params["owner"], params["holder_id"], params["job_id"], process=process, details=params.get("lock_details"))
        if holder.get("took_over"):
            record_interrupted(params["path"], holder["took_over"])
        return _taken(changed, holder, holder.get("took_over"), False)
    if state == "absent":
        if holder is not None and holder.get("holder_id") != params["holder_id"]:
            raise DeployError("deploy lock {0} is held by {1}, not by {2}; not releasing it".format(path, _lock.describe(holder), params["holder_id"]),
                              details={"lock": path, "holder": holder})
        changed = holder is not None if call.check_mode else _lock.release(path, params["holder_id"])
        return {"changed": changed, "holder": holder}
    if call.check_mode:
        age = _lock.lock_age(path)
        if holder is not None and params["older_than"] is not None and age is not None and age < params["older_than"]:
            raise DeployError("deploy lock {0} is {1:.0f} s old, younger than {2} s".format(path, age, params["older_than"]), details={"holder": holder})
        return {"changed": holder is not None, "holder": holder}
    changed, holder = _lock.break_lock(path, params["older_than"])
    return {"changed": changed, "holder": holder}


# ---------------------------------------------------------------------------------------------
# Release
# ---------------------------------------------------------------------------------------------


def _owner_ids(owner, group):
    if not owner:
        return None
    try:
        entry = pwd.getpwnam(owner)
        gid = grp.getgrnam(group).gr_gid if group else entry.pw_gid
    except KeyError as exc:
        raise DeployError("owner or group does not exist on the host: {0}".format(exc), details={"owner": owner, "group": group})
    return entry.pw_uid, gid


def _check_mode_answer(mirror, version):
    """The commit the version names without changing anything: from the mirror when it is current, else from the remote."""
    if mirror.exists() and not mirror.needs_fetch(version):
        return mirror.resolve(version).commit, False
    return mirror.resolve_remote(version), True


def _refuse_rolled_back(params, commit, serving_commit):
    """The deploy's rule (internal parameter `refuse_rolled_back`): a commit a rollback took out is not put back by routine."""
    if params.get("refuse_rolled_back"):
        problem = rolled_back_problem(read_marks(params["path"]), commit, serving_commit)
        if problem:
            raise DeployError(problem, details={"commit": commit, "refused": True})


def release(call):
    """Fetch what is new into the host's mirror and make (or reuse) the release of the commit the version names."""
    params = call.params
    base = params["path"]
    releases_dir, shared_dir = os.path.join(base, "releases"), os.path.join(base, "shared")
    auth = GitAuth(ssh_key=params["ssh_key"], known_hosts=params["known_hosts"], token=params["token"], token_user=params["token_user"])
    mirror = GitMirror(os.path.join(base, "repo.git"), params["repo"], run_command=call.run_command, auth=auth)
    # Only a real run makes files; in check mode on a new host the account is still to come.
    ids = None if call.check_mode else _owner_ids(params["owner"], params["group"])
    previous_id, previous_commit = serving_now(base)
    result = {"previous_release_id": previous_id, "previous_commit": previous_commit}

    if call.check_mode and shutil.which("git") is None:
        # A new host: the deploy role installs git in this very run; which commit the version
        # names is known only then, and everything would be fetched and made.
        result.update(release_id="", release_path="", commit="", kind="", created=True, fetched=True, changed=True)
    elif call.check_mode:
        commit, fetched = _check_mode_answer(mirror, params["version"])
        if commit is None and not fetched:
            raise DeployError("ref {0!r} is not a branch, tag or commit of {1}".format(params["version"], params["repo"]))
        _refuse_rolled_back(params, commit, previous_commit)
        existing = find_release(releases_dir, commit) if commit else None
        new_id = make_release_id(commit, params["timestamp"]) if commit and not existing else (existing or "")
        result.update(release_id=new_id, release_path=os.path.join(releases_dir, new_id) if new_id else "", commit=commit or "",
                      kind="", created=not existing, fetched=fetched, changed=fetched or not existing)
    else:
        fetched = mirror.fetch() if mirror.needs_fetch(params["version"]) else False
        resolved = mirror.resolve(params["version"])
        _refuse_rolled_back(params, resolved.commit, previous_commit)
        new_id = make_release_id(resolved.commit, params["timestamp"])

        def prepare(staging):
            with open(os.path.join(staging, "REVISION"), "w") as handle:
                handle.write(resolved.commit + "\n")
            made = shared_links(staging, os.path.join(releases_dir, new_id), shared_dir, params["shared_dirs"], params["shared_files"])
            if ids:
                chown_tree(staging, *ids)
                for directory in made:
                    os.chown(directory, *ids)

        made = create_release(mirror, releases_dir, resolved, new_id, prepare=prepare)
        result.update(release_id=made.release_id, release_path=made.path, commit=resolved.commit, kind=resolved.kind, created=made.changed,
                      fetched=fetched, changed=fetched or made.changed)
    result["diff"] = {"before": {"release": result["previous_release_id"], "commit": result["previous_commit"]},
                      "after": {"release": result["release_id"], "commit": result["commit"]}}
    return result


# ---------------------------------------------------------------------------------------------
# Build
# ---------------------------------------------------------------------------------------------


def build(call):
    """Give the release its virtual environment (reused by dependency hash), the npm build and the build hooks."""
    params = call.params
    release_path = os.path.join(params["path"], "releases", params["release_id"])
    if not os.path.isdir(release_path):
        if call.check_mode:
            # The release step would make it in this run: everything would be built or linked.
            return {"changed": True, "venv": "", "venv_hash": "", "venv_built": True, "npm_built": bool(params["npm_dir"])}
        raise DeployError("release {0} does not exist in {1}".format(params["release_id"], params["path"]), details={"path": release_path})
    hooks = Hooks(Runner(call.run_command), user=params["user"], env_file=params["env_file"], hooks=params["hooks"], home=params["path"])
    builder = Builder(params["path"], hooks, python=params["python"], requirements=params["requirements"], pip_args=params["pip_args"],
                      pip_env=params["pip_env"], npm_dir=params["npm_dir"] or None, npm_script=params["npm_script"],
                      npm_env=params["npm_env"])
    plan = builder.plan(release_path)
    if not call.check_mode:
        builder.build(release_path, plan)
    return {"changed": plan.changed, "venv": plan.venv_path, "venv_hash": plan.venv_hash, "venv_built": plan.build_venv,
            "npm_built": plan.build_npm, "diff": {"before": {}, "after": plan.as_dict()} if plan.changed else {}}


# ---------------------------------------------------------------------------------------------
# Activate
# ---------------------------------------------------------------------------------------------


def service_record_path(params):
    """The service record given, else /etc/stagecraft/<app>-<env>/gunicorn.json for <root>/<app>/<env>."""
    env_dir = os.path.normpath(params["path"])
    return params["service_record"] or "/etc/stagecraft/{0}-{1}/gunicorn.json".format(
        os.path.basename(os.path.dirname(env_dir)), os.path.basename(env_dir))


def once_hooks_of(params, hooks):
    """The once-hooks the activate step runs through `hooks`; a rollback puts back what ran before and runs none."""
    if params["rollback"]:
        return OnceHooks(params["path"], hooks, who=params["who"])
    return OnceHooks(params["path"], hooks, params["once_hooks"], params["rerun_once"], params["who"])


def activate(call):
    """Prove the release healthy as a candidate, switch to it, prove the service, or roll back."""
    params = call.params
    base = params["path"]
    if call.check_mode and not params["rollback"] and not os.path.isdir(os.path.join(base, "releases", params["release_id"] or ".")):
        # The release step would make this release in this run; activating it would change everything.
        once = once_hooks_of(params, Hooks(Runner(call.run_command)))
        return {"changed": True, "release_id": params["release_id"], "previous_release_id": "", "commit": "", "repaired": False,
                "once_hooks": once.pending(), "warnings": once.warnings()}
    runner = Runner(call.run_command)
    hooks = Hooks(runner, user=params["user"], env_file=params["env_file"], hooks=params["hooks"], home=base)
    once = once_hooks_of(params, hooks)
    health = Health(params["health_path"], params["health_status"], params["health_host"], params["health_timeout"], scheme=params["health_scheme"],
                    headers=params["health_headers"])
    # The record is read only to act: in check mode on a new host the gunicorn role has not written it yet.
    activator = Activator(base, lambda: ServiceRecord.load(service_record_path(params)), health, runner, hooks, once=once)
    release_id, current_id = activator.choose(params["release_id"] or None, params["rollback"])
    result = {"release_id": release_id, "previous_release_id": current_id or "", "commit": commit_of(base, release_id),
              "once_hooks": once.pending(), "warnings": once.warnings(),
              "diff": {"before": {"current": current_id or ""}, "after": {"current": release_id}}}
    if not activator.needed(release_id, current_id):
        if not call.check_mode:
            # Nothing to switch: once-hooks added since run in the release that serves.
            release_path = os.path.join(base, "releases", release_id)
            result["once_hooks"] = once.run(release_path, os.path.join(release_path, ".venv"))
        service = activator.prove_serving(release_id, call.check_mode)
        return dict(result, changed=service["repaired"] or bool(result["once_hooks"]), repaired=service["repaired"], service=service)
    if call.check_mode:
        return dict(result, changed=True, repaired=False)
    return dict(result, changed=True, repaired=False, **activator.activate(release_id, current_id))


# ---------------------------------------------------------------------------------------------
# Prune and record
# ---------------------------------------------------------------------------------------------


def prune_releases(call):
    """Remove releases beyond the newest `keep` good ones (never current nor protected) and unused environments."""
    base = call.params["path"]
    releases_dir = os.path.join(base, "releases")
    plan = prune_plan(releases_dir, call.params["keep"], _current_id(base), call.params["protect"])
    kept = [{"path": os.path.join(releases_dir, release_id)} for release_id in plan.keep]
    venvs, node_modules = unused_venvs(base, kept), unused_node_modules(base, kept)
    # A snapshot goes with its release; those of releases left alone (unknown ones) stay.
    snapshots, snapshot_leftovers = _snapshot.prune_plan(base, plan.keep + plan.unknown)
    if not call.check_mode:
        prune(releases_dir, plan)
        for directory, names in (("venvs", venvs), ("node_modules", node_modules)):
            for name in names:
                shutil.rmtree(os.path.join(base, directory, name))
        _snapshot.prune(base, snapshots, snapshot_leftovers)
    changed = plan.changed or bool(venvs) or bool(node_modules) or bool(snapshots) or bool(snapshot_leftovers)
    return {"changed": changed, "kept": plan.keep, "removed": plan.remove, "removed_venvs": venvs,
            "removed_node_modules": node_modules, "removed_snapshots": snapshots, "leftovers": plan.leftovers, "unknown": plan.unknown,
            "diff": {"before": {"releases": plan.keep + plan.remove, "venvs": venvs}, "after": {"releases": plan.keep, "venvs": []}}}


# ---------------------------------------------------------------------------------------------
# The app's data: snapshot before a release's first data-changing hook, restore on a rollback
# ---------------------------------------------------------------------------------------------


def snapshot(call):
    """Snapshot the configured databases and shared directories for the release about to come in (see _snapshot)."""
    params = call.params
    args = (params["path"], params["snapshot_databases"], params["snapshot_dirs"], params["snapshot_max_bytes"])
    if call.check_mode:
        items = _snapshot.plan(*args)
        return {"changed": True, "release_id": params["release_id"], "bytes": sum(item["bytes"] for item in items), "items": items,
                "diff": {"before": {}, "after": {"snapshot": params["release_id"]}}}
    manifest = _snapshot.take(args[0], params["release_id"], *args[1:], pre_command=params["snapshot_pre_command"])
    return dict(manifest, changed=True, holds=_snapshot.describe(manifest), diff={"before": {}, "after": {"snapshot": params["release_id"]}})


def restore_data(call):
    """A rollback's restore: the snapshot of the release being left (taken before it came in) back into shared/.

    Refused before anything changes when there is nothing to roll back to or the release has no snapshot.
    Its warning says what data written since the snapshot is lost.
    """
    params = call.params
    base = params["path"]
    releases_dir = os.path.join(base, "releases")
    leaving = _current_id(base)
    target = rollback_target(list_releases(releases_dir), leaving or None, params["release_id"] or None).release_id
    manifest = _snapshot.read_manifest(base, leaving) if leaving else None
    if manifest is None:
        raise DeployError("cannot restore data: release {0}, which the rollback leaves, has no snapshot in {1} (restore_data needs "
                          "deploy_snapshot_databases or deploy_snapshot_dirs when that release was deployed); nothing was changed".format(
                              leaving or "(none)", os.path.join(base, _snapshot.SNAPSHOTS)), details={"release_id": leaving, "refused": True})
    result = dict(_put_back(call, base, manifest), release_id=leaving, rollback_to=target)
    result["warnings"] = ["{0} the snapshot taken {1} before release {2} was switched in ({3}): {4}{5}".format(
        "would restore" if call.check_mode else "restored", manifest["taken"], leaving, result["holds"], result["lost"], _left_alone(result))]
    return result


def restore_snapshot(call):
    """playbooks/restore.yml: the snapshot `snapshot` (a release's or a scheduled one) back into shared/.

    Refused before anything is read or changed when the id is no snapshot's name, and before anything changes when no
    such snapshot exists (the message lists those there are). Its warning says what data written since is lost.
    """
    params = call.params
    base, snapshot_id = params["path"], params["snapshot"]
    problem = _snapshot.id_problem(snapshot_id)
    manifest = None if problem else _snapshot.read_manifest(base, snapshot_id)
    if manifest is None:
        there = [listed["release_id"] for listed in _snapshot.list_snapshots(base)]
        raise DeployError("{0}; nothing was changed".format(problem or "there is no snapshot {0} in {1} (there: {2})".format(
            json.dumps(snapshot_id), os.path.join(base, _snapshot.SNAPSHOTS), ", ".join(there) or "none")), details={"refused": True, "snapshots": there})
    result = dict(_put_back(call, base, manifest), snapshot=snapshot_id)
    result["warnings"] = ["{0} snapshot {1} taken {2} ({3}): {4}{5}".format(
        "would restore" if call.check_mode else "restored", snapshot_id, manifest["taken"], result["holds"], result["lost"], _left_alone(result))]
    return result


def _put_back(call, base, manifest):
    """Restore the snapshot of `manifest` (in check mode, only say what that would lose): what it holds and lost, what it restored and left."""
    taken = manifest["taken"]
    result = {"changed": True, "taken": taken, "holds": _snapshot.describe(manifest),
              "diff": {"before": {"data": "as now"}, "after": {"data": "snapshot {0} ({1})".format(manifest["release_id"], taken)}}}
    if call.check_mode:
        lost = _snapshot.loss_sentence(manifest, _snapshot.written_since(base, manifest), _snapshot.rewritten_in_place(base, manifest))
        return dict(result, lost=lost, written_since=[], restored=[], left=[])
    restored = _snapshot.restore(base, manifest["release_id"])
    return dict(result, **{key: restored[key] for key in ("lost", "written_since", "restored", "left")})


def _left_alone(result):
    return "; left as they are (absent from the snapshot): {0}".format(", ".join(result["left"])) if result["left"] else ""


def kept_data_warning(base, leaving):
    """What a rollback without restore_data says when the release it leaves has a snapshot; None when it has none."""
    manifest = _snapshot.read_manifest(base, leaving) if leaving else None
    if manifest is None:
        return None
    return ("data written since release {0} was switched in stays as it is; its snapshot, taken {1} before the switch ({2}), exists in {3}: "
            "playbooks/rollback.yml -e restore_data=true restores it during a rollback".format(
                leaving, manifest["taken"], _snapshot.describe(manifest), _snapshot.snapshot_dir(base, leaving)))


def record(call):
    """Append one line to <path>/deploys.jsonl."""
    params = call.params
    entry = make_entry(params["who"], params["ref"], params["commit"], params["previous_commit"], params["release_id"],
                       utc_timestamp(params["started"]), datetime.datetime.now(datetime.timezone.utc), params["outcome"], params["job_id"])
    if not call.check_mode:
        append(os.path.join(params["path"], "deploys.jsonl"), entry)
    return {"changed": True, "entry": entry, "diff": {"before": "", "after": "{0}\n".format(entry)}}


def record_interrupted(base, stale):
    """The record's line for the deploy of a lock holder whose process died, unless that deploy wrote its own.

    What it was deploying (ref, commit, release) and what served when it started come from its lock;
    its duration runs until this run found it dead.
    """
    path = os.path.join(base, "deploys.jsonl")
    entry = make_entry(stale.get("owner"), stale.get("ref") or "", stale.get("commit") or "", stale.get("previous_commit") or "",
                       stale.get("release_id") or "", utc_timestamp(stale.get("started") or stale["time"]), datetime.datetime.now(datetime.timezone.utc),
                       "interrupted", stale.get("job_id"))
    if any((line.get("who"), line.get("started")) == (entry["who"], entry["started"]) for line in read_last(path, 5)):
        return None
    append(path, entry)
    return entry


# ---------------------------------------------------------------------------------------------
# The deploy as one call
# ---------------------------------------------------------------------------------------------


class Deploy:
    """Runs the steps of one phase under the lock and keeps what each returned.

    Phase `all` takes the lock, makes and builds the release (not for a rollback), activates it,
    prunes, records and gives the lock back. Phase `build` stops after the build and keeps the lock,
    so the caller can drain the host from its balancers; phase `activate` (same holder) does the rest.
    A failing step is recorded (`failed`, or `rolled_back` when the old release serves again), the
    lock given back, and the error names the step. A held lock fails before anything happens, unless
    its holder's process is gone: then it is taken over, that deploy recorded as `interrupted`, and a
    warning says so. While it runs, this process holds the lock; the lock names what it deploys.
    """

    def __init__(self, call):
        self.call = call
        self.params = call.params
        self.steps = {}
        self.step = None
        self.warnings = []
        self.previous_id, self.previous_commit = serving_now(self.params["path"])

    def run_step(self, name, function, **params):
        self.step = name
        started = time.monotonic()
        result = function(Call(dict(self.params, **params), self.call.check_mode, self.call.run_command))
        self.warnings += result.pop("warnings", [])
        result["seconds"] = round(time.monotonic() - started, 2)
        self.steps[name] = result
        return result

    def run(self):
        params, phase = self.params, self.params["phase"]
        self._check_host()
        try:
            self._take_lock()
        except DeployError as exc:
            # Someone else's deploy: nothing to record, and the lock is not ours to give back.
            raise DeployError("lock step: {0}".format(exc.message), details=dict(exc.details, step="lock", recorded=False))
        try:
            outcome = self._steps(phase)
        except DeployError as exc:
            self._record_failure(exc)
            self._give_lock_back()
            restored = self.steps.get("restore") if self.step != "restore" and not self.call.check_mode else None
            if restored:
                exc.message += "; the data had been restored to the snapshot of {0} ({1}) before this failure".format(restored["release_id"], restored["taken"])
            raise DeployError("{0} step: {1}".format(self.step, exc.message), details=dict(
                exc.details, step=self.step, recorded=not self.call.check_mode and not exc.details.get("refused"),
                lock_taken_over=self.steps["lock"]["taken_over"], warnings=self.warnings))
        except BaseException:
            self._give_lock_back()
            raise
        if phase != "build":
            self._give_lock_back()
        elif not self.call.check_mode:
            # Kept for the activate phase: between the tasks no process holds it, so it never looks abandoned.
            self._note_in_lock(**_lock.process_fields(False))
        return dict(outcome, lock_taken_over=self.steps["lock"]["taken_over"], warnings=self.warnings)

    def _take_lock(self):
        details = {"ref": self._ref(), "started": self.params["timestamp"], "previous_commit": self.previous_commit}
        taken = self.run_step("lock", lock, state="present", owner=self.params["who"], process=True, lock_details=details)
        stale = taken["taken_over"] or {}
        if stale and not self.call.check_mode:
            # Killed between starting its candidate and stopping it, that deploy left it running (or failed).
            candidates = ServiceRecord.load(service_record_path(self.params)).candidate("*")[0]
            systemd = Systemd(Runner(self.call.run_command))
            systemd.stop(candidates)
            systemd.reset_failed(candidates)
        current = read_marker(os.path.join(self.params["path"], "releases", self.previous_id)) if self.previous_id else None
        if stale.get("release_id") == self.previous_id and (current or {}).get("state") != "good":
            # Its switch never finished (no restart proved it): what served before that run is the previous commit.
            self.previous_commit = stale.get("previous_commit") or ""

    def _note_in_lock(self, **fields):
        _lock.update(os.path.join(self.params["path"], "deploy.lock"), self.params["holder_id"], **fields)

    def _check_host(self):
        """What the deploy role prepares and the gunicorn role writes, checked before the lock: one
        clear error (nothing recorded, nothing changed) instead of a step failing halfway."""
        params = self.params
        record = service_record_path(params)
        fetches = params["phase"] != "activate" and not params["rollback"]
        # In check mode on a new host the deploy role has not installed git yet.
        git_missing = fetches and not self.call.check_mode and shutil.which("git") is None
        missing = ["git is not installed (the deploy role installs it)"] if git_missing else []
        # The deploy role's preflight reads this only where other tasks change the host before this module.
        not_a_repository = not_a_local_repository(params["repo"]) if fetches else ""
        missing += ["repo " + not_a_repository] if not_a_repository else []
        # In check mode on a new host the gunicorn role has not written its record yet.
        if not self.call.check_mode and not os.path.isfile(record):
            missing.append("{0} does not exist (run the gunicorn role of this app and environment first)".format(record))
        missing += ["{0} does not exist (the deploy role writes it)".format(path) for path in (params["ssh_key"], params["known_hosts"])
                    if path and not os.path.isfile(path)]
        if missing:
            raise DeployError("this host is not ready to deploy: {0}".format("; ".join(missing)), details={"step": "check", "recorded": False})

    def _steps(self, phase):
        params = self.params
        release_id = params["release_id"]
        if phase == "activate" and not (release_id or params["rollback"]):
            raise DeployError("phase activate needs the release_id the build phase returned")
        if phase != "activate" and not params["rollback"]:
            made = self.run_step("release", release, refuse_rolled_back=not params["allow_rolled_back"])
            release_id = made["release_id"]
            if not self.call.check_mode:
                # What an interrupted run was deploying, for the record the next run writes.
                self._note_in_lock(release_id=release_id, commit=made["commit"])
            self._snapshot_before("build", release_id)
            self.run_step("build", build, release_id=release_id)
        if phase == "build":
            return self._result()
        self._snapshot_before("activate", release_id)
        if params["rollback"] and params["restore_data"]:
            self.run_step("restore", restore_data)
        elif params["rollback"]:
            kept = kept_data_warning(params["path"], self.previous_id)
            self.warnings += [kept] if kept else []
        active = self.run_step("activate", activate, release_id=release_id)
        self._note_rollback_marks(active)
        self.run_step("prune", prune_releases, protect=[active["release_id"]] if active["release_id"] else [])
        # Only a run that changed something is a deploy worth a line; restarting the release that serves is not a deploy.
        changed = [self.steps[name]["changed"] for name in ("release", "build") if name in self.steps] + [active["changed"] and not active["repaired"]]
        if (phase == "activate" and params["built_changed"]) or any(changed):
            self.run_step("record", record, **self._entry("rolled_back" if params["rollback"] else "success", active.get("commit", ""),
                                                          active["release_id"]))
        return self._result()

    def _snapshot_before(self, step, release_id):
        """The data's snapshot, before the step that runs the first hook stage that may change it, when a new release comes in."""
        params = self.params
        stage_step = "build" if params["snapshot_before"] in ("before_build", "after_build") else "activate"
        wanted = params["snapshot_databases"] or params["snapshot_dirs"] or params["snapshot_pre_command"]
        if wanted and step == stage_step and not params["rollback"] and release_id != self.previous_id:
            self.run_step("snapshot", snapshot, release_id=release_id)

    def _note_rollback_marks(self, active):
        """A rollback marks the commit it took out of service; a commit put back on purpose loses its mark."""
        if self.call.check_mode or not active["changed"] or active["repaired"]:
            return
        if self.params["rollback"]:
            self._mark(self.previous_commit, self.previous_id, automatic=False)
        elif self.params["allow_rolled_back"]:
            remove_mark(self.params["path"], active["commit"])

    def _mark(self, commit, release_id, automatic):
        if commit:
            add_mark(self.params["path"], make_mark(commit, release_id, datetime.datetime.now(datetime.timezone.utc), self.params["who"],
                                                    self.params.get("job_id"), automatic))

    def _ref(self):
        return "rollback" if self.params["rollback"] else self.params["ref"] or self.params["version"]

    def _entry(self, outcome, commit, release_id):
        return {"ref": self._ref(), "commit": commit, "previous_commit": self.previous_commit,
                "release_id": release_id, "started": self.params["timestamp"], "outcome": outcome}

    def _record_failure(self, exc):
        if self.call.check_mode or exc.details.get("refused"):
            return  # a refused deploy changed nothing: no line
        made = self.steps.get("release", {})
        release_id = made.get("release_id") or self.params["release_id"]
        commit = made.get("commit") or commit_of(self.params["path"], release_id)
        outcome = "rolled_back" if exc.details.get("rolled_back") else "failed"
        if exc.details.get("rolled_back") and not self.params["rollback"]:
            # It failed under real traffic after the switch: a routine redeploy would fail users again the same way.
            self._mark(commit, release_id, automatic=True)
        record(Call(dict(self.params, **self._entry(outcome, commit, release_id)), False, self.call.run_command))

    def _give_lock_back(self):
        lock(Call(dict(self.params, state="absent"), self.call.check_mode, self.call.run_command))

    def _result(self):
        """The top-level answer: what serves (or would), what served before, and each step's own result."""
        made = self.steps.get("release", {})
        active = self.steps.get("activate", {})
        steps, before, after = {}, {}, {}
        for name, result in self.steps.items():
            steps[name] = dict((key, value) for key, value in result.items() if key != "diff")
            if result.get("diff"):
                before[name], after[name] = result["diff"].get("before", {}), result["diff"].get("after", {})
        return {
            "changed": any(result["changed"] for name, result in self.steps.items() if name != "lock"),
            "release_id": active.get("release_id") or made.get("release_id", ""),
            "commit": active.get("commit") or made.get("commit", ""),
            "previous_release_id": self.previous_id,
            "previous_commit": self.previous_commit,
            "repaired": active.get("repaired", False),
            "once_hooks": active.get("once_hooks", []),
            "snapshot": _snapshot.summary(self.steps["snapshot"]) if "taken" in self.steps.get("snapshot", {}) else None,
            "restored": self.steps.get("restore"),
            "steps": steps,
            "diff": {"before": before, "after": after},
        }


def deploy(call):
    """The deploy module's work: see Deploy.

    A controller that dies closes its SSH session, which hangs up the module's terminal (a tty is the
    default for become): the deploy ignores that SIGHUP, as do the commands it starts, and runs to a
    coherent end (switched or not, recorded, lock given back) instead of dying halfway.
    """
    previous = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        return Deploy(call).run()
    finally:
        signal.signal(signal.SIGHUP, previous)

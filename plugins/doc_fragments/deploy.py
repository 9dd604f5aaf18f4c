# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

from __future__ import annotations


class ModuleDocFragment:
    # The environment's directory, which every deploy module works in.
    DOCUMENTATION = r"""
options:
  path:
    description:
      - The directory of one app in one environment, C(<root>/<app>/<env>), for example C(/srv/shop/prod).
      - It holds C(repo.git), C(releases/), C(shared/), C(venvs/), the C(current) link, C(deploy.lock) and C(deploys.jsonl);
        see the collection's C(docs/deploy.md).
    type: path
    required: true
"""

    ATTRIBUTES = r"""
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
"""

    # Modules that only read or run a person's command: no diff to show.
    NO_DIFF_ATTRIBUTES = r"""
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
"""

    # The options of each step, shared by its own module and the module deploy, which runs them all.
    # The option the stack's first read of the host (host_records, host_facts) shares.
    HOST_READ = r"""
options:
  repositories:
    description:
      - Repositories the deploy step names (C(deploy_repo)); each that is a path or C(file://) URL on the host itself and no
        git repository (neither C(HEAD) nor C(.git)) is named in C(repository_problems). Others are not looked at.
      - So that the stack's one read before any role changes the host answers the deploy step's preflight too.
    type: list
    elements: str
    default: []
"""

    RELEASE = r"""
options:
  repo:
    description:
      - The app's git repository URL (C(https://), C(ssh://), C(git@host:path) or a path on the host).
      - Never put credentials in the URL; use O(token) or O(ssh_key).
    type: str
    required: true
  version:
    description: Branch, tag, or full or short (7 or more hex digits) commit id to deploy.
    type: str
    default: main
  timestamp:
    description:
      - The time that names a new release, C(<yyyymmddTHHMMSSZ>-<short commit>). Compute it once per run on the
        controller and give every host the same value, so all hosts and batches share the release id.
      - A timezone-aware ISO 8601 time, epoch seconds, or the C(yyyymmddTHHMMSSZ) form.
    type: str
    required: true
  owner:
    description: User that owns a new release tree (the app's user, who builds in it). Default is the module's user.
    type: str
  group:
    description: Group of a new release tree. Default is the primary group of O(owner).
    type: str
  shared_dirs:
    description:
      - Directories of the release replaced by links into C(<path>/shared/) (made there, owned by O(owner), when missing).
      - Paths relative to the release, such as C(media) or C(var/uploads).
    type: list
    elements: str
    default: []
  shared_files:
    description: Files of the release replaced by links into C(<path>/shared/); they must exist there already.
    type: list
    elements: str
    default: []
  ssh_key:
    description: Private deploy key on the host for an SSH URL; mode 0600 or narrower. Needs O(known_hosts).
    type: path
  known_hosts:
    description: known_hosts file on the host with the git server's key; host keys are always checked.
    type: path
  token:
    description: Access token for an C(https://) URL. Sent through git's environment only, never logged nor stored.
    type: str
  token_user:
    description: User name that goes with O(token).
    type: str
    default: x-access-token
notes:
  - Submodules are not included (C(git archive) leaves them out).
"""

    APP = r"""
options:
  user:
    description: The app's user, who runs the build and the hooks. Default is the module's user.
    type: str
  env_file:
    description: The app's environment file (systemd format), loaded for the hooks.
    type: path
  hooks:
    description:
      - Shell commands per phase, each run in the release as O(user) through C(/bin/sh -c), with the app's environment
        file loaded and the environment's C(bin/) first on C(PATH); each must exit 0.
      - The build step runs C(before_build) and C(after_build), the activate step C(before_switch) and C(after_switch);
        one dict serves every module.
    type: dict
    default: {}
    suboptions:
      before_build:
        description: Before the environment is made.
        type: list
        elements: str
        default: []
      after_build:
        description: After the environment and the npm build, for example C(python manage.py collectstatic --noinput).
        type: list
        elements: str
        default: []
      before_switch:
        description: Before the candidate starts, while the old release serves, for example C(python manage.py migrate --noinput).
        type: list
        elements: str
        default: []
      after_switch:
        description: After the release is proved healthy and serving.
        type: list
        elements: str
        default: []
"""

    ONCE = r"""
options:
  once_hooks:
    description:
      - Shell commands that run once per environment (an C(init-db), a demo-data load, the first admin), each as a hook is run
        (O(user), the release, the app's environment file and venv), after the C(before_switch) hooks and before the candidate
        starts; when nothing is switched, in the release that serves. A rollback runs none.
      - Each that exits 0 is recorded in C(<path>/once-hooks.json) under its O(once_hooks[].name) (with its command, commit,
        release, time and who) and never runs again unless named in O(rerun_once). One that fails is not recorded, fails the
        task before the switch, and runs again next time.
      - The name says which hook it is; a recorded hook whose command changed does not run again, and a warning says so.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: The hook's name in the record; letters, digits, C(.), C(_) and C(-).
        type: str
        required: true
      command:
        description: The command, given to C(/bin/sh -c) as written.
        type: str
        required: true
  rerun_once:
    description: Names of O(once_hooks) to run again even though they ran.
    type: list
    elements: str
    default: []
"""

    BUILD = r"""
options:
  python:
    description: Interpreter that creates the virtual environments.
    type: path
    default: /usr/bin/python3
  requirements:
    description:
      - Dependency files relative to the release, installed with C(pip install --requirement). A C(pyproject.toml) listed
        here contributes its C([project].dependencies); the project itself is not installed into the shared environment.
    type: list
    elements: str
    default: [requirements.txt]
  pip_args:
    description: Further arguments for C(pip install), such as C(--only-binary=:all:). They are part of the hash.
    type: list
    elements: str
    default: []
  pip_env:
    description: Environment for pip, such as C(PIP_INDEX_URL) or C(PIP_CERT) for a proxy's CA bundle.
    type: dict
    default: {}
  npm_dir:
    description: Frontend folder of the release with a C(package-lock.json). Empty means no npm build.
    type: str
    default: ""
  npm_script:
    description: The npm script that builds the frontend.
    type: str
    default: build
  npm_env:
    description:
      - Environment for C(npm ci) and the npm build, such as C(NODE_ENV) or C(VITE_API_URL).
      - The app's environment file is not passed to npm, on purpose, since what a bundler reads can end up in the bundle.
    type: dict
    default: {}
"""

    # The snapshot of the app's data (plugins/module_utils/_snapshot.py).
    SNAPSHOT = r"""
options:
  snapshot_databases:
    description:
      - SQLite databases, relative to C(<path>/shared/), copied with SQLite's online backup API (consistent while the app
        writes) into C(<path>/snapshots/<release id>/) before a new release's first hook stage that may change data
        (O(snapshot_before)); the snapshot is pruned with its release.
      - Paths must stay inside C(shared/); an absolute path, C(..) or a symbolic link leading out fails the task.
      - Nothing is snapshotted while this and O(snapshot_dirs) are empty.
    type: list
    elements: str
    default: []
    version_added: 0.3.0
  snapshot_dirs:
    description:
      - Directories relative to C(<path>/shared/) the snapshot holds, hard-linked where the filesystem allows, else copied.
    type: list
    elements: str
    default: []
    version_added: 0.3.0
  snapshot_max_bytes:
    description: The most bytes a snapshot may hold; a larger one fails the task before any hook runs.
    type: int
    default: 1073741824
    version_added: 0.3.0
  snapshot_before:
    description:
      - The first hook stage that may change data. C(before_build) and C(after_build) take the snapshot before the build step,
        C(before_switch) and C(after_switch) before the activate step.
    type: str
    choices: [before_build, after_build, before_switch, after_switch]
    default: before_switch
    version_added: 0.3.0
  snapshot_pre_command:
    description:
      - A shell command run as root before the snapshot's copies, with the snapshot's C(pre_snapshot/) directory to write into as
        its C($1) (and C($SNAPSHOT_DIR), also its working directory) and nothing of the environment but C(PATH), so that a
        C(pg_dump) of a database this module does not copy becomes part of the snapshot. It alone also makes a snapshot.
      - When it fails, no snapshot is taken and the task fails naming its exit status; its output goes to
        C(<path>/snapshots/.pre_snapshot.log) (root only), never into a message, as it may hold credentials.
      - A restore leaves what it wrote to the user (C(pg_restore)) and says so.
    type: str
    default: ""
    version_added: 0.3.0
  restore_data:
    description:
      - With O(rollback), put the snapshot of the release being left (taken before it was switched in) back into C(shared/)
        before switching, databases through the backup API and directories replaced by a rename. A warning says which data
        written since the snapshot is lost.
      - Fails before anything changes when there is no release to roll back to or the release being left has no snapshot.
      - Without it, a rollback from a release that has a snapshot warns that the data stays as it is and that the snapshot exists.
    type: bool
    default: false
    version_added: 0.3.0
"""

    HEALTH = r"""
options:
  rollback:
    description: Roll back instead of activating a new release.
    type: bool
    default: false
  service_record:
    description:
      - What the gunicorn role recorded about the app's service (units, sockets, how it listens).
      - Default C(/etc/stagecraft/<app>-<env>/gunicorn.json), with C(<app>) and C(<env>) the last two parts of O(path).
    type: path
  health_path:
    description: Path of the health URL, asked with C(GET).
    type: str
    default: /healthz
  health_status:
    description: The HTTP status that means healthy.
    type: int
    default: 200
  health_host:
    description: The C(Host) header of the health check (Django checks it against C(ALLOWED_HOSTS)).
    type: str
    default: localhost
  health_scheme:
    description:
      - The C(X-Forwarded-Proto) header of the health check, as nginx sends it for the app's server block
        (C(https) when nginx speaks TLS). Django's C(SECURE_SSL_REDIRECT) answers C(301) to requests without C(https).
      - The check also sends C(X-Forwarded-Host) (O(health_host)), C(X-Forwarded-For) and C(X-Real-IP) (C(127.0.0.1)).
    type: str
    choices: [http, https]
    default: http
    version_added: 0.1.0
  health_headers:
    description: More headers of the health check; they replace those of the same name the check sends itself.
    type: dict
    default: {}
    version_added: 0.1.0
  health_timeout:
    description: Seconds a release gets to answer, as a candidate and again after the switch.
    type: float
    default: 60
"""

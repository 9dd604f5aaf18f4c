# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The settings of stagecraft.webapp.deploy, checked before anything changes on a host.

`settings` holds the role's variables by name (deploy_app_name, deploy_repo, ...) and
`inventory_hosts`, every host of the inventory (the balancers must be among them).
deploy_ssh_key and deploy_token are read to see whether they are set, never written into a message.
"""

from __future__ import annotations

import re

from ansible_collections.stagecraft.webapp.plugins.module_utils._once import once_hook_problems
from ansible_collections.stagecraft.webapp.plugins.module_utils._rules import app_and_env_problems, as_bool, as_float, as_int, matches, quoted, unique
from ansible_collections.stagecraft.webapp.plugins.module_utils._snapshot import STAGES, overlap_problems, path_problem

HOOK_PHASES = ("before_build", "after_build", "before_switch", "after_switch")
# A URL with "user:password@" (a scheme git knows, such as https:// or git+ssh://).
CREDENTIALS_IN_URL = re.compile(r"[a-z+]+://[^/@]*:[^/@]*@")
# Something git takes for a ref: not empty, no whitespace, not an option ("-...").
REF = re.compile(r"[^-\s]\S*")
# The balancers' name for this host: an IPv4 address or host name, or an IPv6 address in brackets, and a port.
MEMBER = re.compile(r"(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):[0-9]{1,5}")


def _name_problems(settings):
    problems = app_and_env_problems("deploy", settings["deploy_app_name"], settings["deploy_app_env"])
    root = settings["deploy_root"]
    if not str(root).startswith("/"):
        problems.append("deploy_root must be an absolute path (got {0})".format(quoted(root)))
    return problems


def _source_problems(settings):
    problems = []
    repo, version = str(settings["deploy_repo"]), settings["deploy_version"]
    if not repo.strip():
        problems.append("deploy_repo is empty")
    if CREDENTIALS_IN_URL.match(repo):
        problems.append("deploy_repo carries credentials in its URL; use deploy_token or deploy_ssh_key")
    if not matches(REF, version):
        problems.append('deploy_version {0} is not a ref name (empty, starts with "-" or holds spaces)'.format(quoted(version)))
    unknown = [phase for phase in settings["deploy_hooks"] if phase not in HOOK_PHASES]
    if unknown:
        problems.append("deploy_hooks has unknown phases: {0}; the phases are {1}".format(", ".join(unknown), ", ".join(HOOK_PHASES)))
    return problems + once_hook_problems(settings["deploy_once_hooks"], rerun_names(settings["deploy_rerun_once"]))


def rerun_names(value):
    """deploy_rerun_once as a list of names: from the command line it comes as a string, several separated by commas."""
    if isinstance(value, str):
        return [name.strip() for name in value.split(",") if name.strip()]
    return list(value or [])


def _number_problems(settings):
    problems = []
    if as_int(settings["deploy_keep_releases"]) < 1:
        problems.append("deploy_keep_releases must be at least 1 (got {0})".format(settings["deploy_keep_releases"]))
    if not str(settings["deploy_health_path"]).startswith("/"):
        problems.append('deploy_health_path must start with "/" (got {0})'.format(quoted(settings["deploy_health_path"])))
    if as_float(settings["deploy_health_timeout"]) <= 0:
        problems.append("deploy_health_timeout must be above 0 (got {0})".format(settings["deploy_health_timeout"]))
    return problems


def _access_problems(settings):
    problems = []
    ssh_key, token = settings["deploy_ssh_key"], settings["deploy_token"]
    if ssh_key and token:
        problems.append("deploy_ssh_key and deploy_token are both set; give one")
    if ssh_key and not settings["deploy_known_hosts"]:
        problems.append("deploy_ssh_key needs deploy_known_hosts (host keys are always checked)")
    if token and not str(settings["deploy_repo"]).startswith("https://"):
        problems.append("deploy_token is only sent to an https:// deploy_repo")
    if settings["deploy_rollback_to"] and not as_bool(settings["deploy_rollback"]):
        problems.append("deploy_rollback_to needs deploy_rollback: true")
    return problems


def _snapshot_problems(settings):
    """The snapshot's paths stay inside shared/ and do not overlap; a restore belongs to a rollback."""
    databases, dirs = settings["deploy_snapshot_databases"], settings["deploy_snapshot_dirs"]
    problems = [problem for name, paths in (("deploy_snapshot_databases", databases), ("deploy_snapshot_dirs", dirs))
                for problem in (path_problem(path, name + " item") for path in paths) if problem]
    problems += overlap_problems(databases, dirs, names=("deploy_snapshot_databases item", "deploy_snapshot_dirs item"))
    if as_int(settings["deploy_snapshot_max_bytes"]) < 1:
        problems.append("deploy_snapshot_max_bytes must be at least 1 (got {0})".format(quoted(settings["deploy_snapshot_max_bytes"])))
    if settings["deploy_snapshot_before"] not in STAGES:
        problems.append("deploy_snapshot_before {0} is no hook stage; the stages are {1}".format(quoted(settings["deploy_snapshot_before"]),
                                                                                                 ", ".join(STAGES)))
    if settings["deploy_snapshot_schedule"] and not (databases or dirs or settings["deploy_snapshot_pre_command"]):
        problems.append("deploy_snapshot_schedule needs deploy_snapshot_databases, deploy_snapshot_dirs or deploy_snapshot_pre_command: "
                        "a scheduled snapshot would hold nothing")
    if as_int(settings["deploy_snapshot_keep"]) < 1:
        problems.append("deploy_snapshot_keep must be at least 1 (got {0})".format(quoted(settings["deploy_snapshot_keep"])))
    if as_int(settings["deploy_snapshot_max_age_days"]) < 0:
        problems.append("deploy_snapshot_max_age_days must be 0 (no age limit) or more (got {0})".format(quoted(settings["deploy_snapshot_max_age_days"])))
    if as_bool(settings["deploy_restore_data"]) and not as_bool(settings["deploy_rollback"]):
        problems.append("deploy_restore_data needs deploy_rollback: true (playbooks/rollback.yml -e restore_data=true)")
    return problems


def _balancer_problems(settings):
    problems = []
    balancers, member = settings["deploy_balancers"], settings["deploy_balancer_member"]
    if balancers and not matches(MEMBER, member):
        problems.append('deploy_balancer_member {0} is not "HOST:PORT" (this host as the balancers list it)'.format(quoted(member)))
    unknown = unique(host for host in balancers if host not in settings["inventory_hosts"])
    if unknown:
        problems.append("deploy_balancers names hosts the inventory does not have: {0}".format(", ".join(str(host) for host in unknown)))
    return problems


def settings_problems(settings):
    """One message per problem of the deploy role's `settings`, each naming the variable at fault."""
    return (_name_problems(settings) + _source_problems(settings) + _number_problems(settings) + _access_problems(settings) + _snapshot_problems(settings)
            + _balancer_problems(settings))

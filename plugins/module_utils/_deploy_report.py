# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""What stagecraft.webapp.deploy says at the end of a deploy, a failed deploy, a command run in the
release, and a restore, from the results of its modules and its layout (plugins/module_utils/_deploy_layout.py).
"""

from __future__ import annotations


def served(done, layout, check_mode=False):
    """One line on what serves after a deploy: the release and its commit, what changed, and what the
    deploy module did besides (once-hooks, a repair of a stopped service, a snapshot, a data restore)."""
    said = "{0}: {1} release {2} (commit {3}, {4}); ".format(
        layout["instance"], "would serve" if check_mode else "serves", done["release_id"], done["commit"][:12] or "unknown", layout["ref_label"])
    if done.get("changed", False) and not done["repaired"]:
        said += "changed from " + (done["previous_release_id"] or "nothing")
    else:
        said += "unchanged"
    if done.get("once_hooks"):
        said += "; " + ("would run once-hooks " if check_mode else "once-hooks ran: ") + ", ".join(done["once_hooks"])
    if done["repaired"]:
        said += "; its service did not answer its health check ({0}) and {1}".format(
            done["steps"]["activate"]["service"]["answer"], "would be restarted" if check_mode else "was restarted: it answers again")
    if done.get("snapshot"):
        said += "; data snapshot taken for it: " + done["snapshot"]["holds"]
    if done.get("restored"):
        said += "; DATA RESTORED: " + done["restored"]["lost"]
    return said


def failed(task_name, layout, drained=False, health=None):
    """Why a deploy stopped, without its cause (the task that failed said it): where, whether the
    maintenance page stays on and, for a host taken out of its balancers (`drained`), whether it is back
    in them: it is when what serves answered the balancers' health check (`health`, the uri result)."""
    parts = ['Deploy of {0} failed at "{1}" (its error is above).'.format(layout["instance"], task_name)]
    if layout["maintenance"]:
        parts.append("The maintenance page stays on ({0}).".format(layout["maintenance_file"]))
    if drained:
        health = health or {}
        balancers = ", ".join(layout["balancer_check"]["balancers"])
        if health.get("status", 0) == layout["balancer_check"]["status"]:
            parts.append("Back in the balancers ({0}): what serves answers its health check.".format(balancers))
        else:
            parts.append("Left out of the balancers ({0}): its health check answered {1}.".format(balancers, health.get("msg", "nothing")))
    return " ".join(parts)


def run_shown(run, command, user, check_mode=False):
    """The lines a command run in the serving release shows: the command, its output (stderr apart) and
    its exit status; or only the deploy_run module's message when it ran nothing."""
    if "rc" not in run:
        return [run.get("msg", "")]
    shown = ["$ {0}   (as {1} in {2})".format(command, user, run["release_path"])] + list(run.get("stdout_lines", []))
    if run.get("stderr_lines"):
        shown += ["stderr:"] + list(run["stderr_lines"])
    return shown + ["would run: check mode" if check_mode else "exit status {0}".format(run["rc"])]

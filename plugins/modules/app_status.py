#!/usr/bin/python
# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

from __future__ import annotations

DOCUMENTATION = r"""
module: app_status
short_description: Show what serves, its service and its health for an app in one environment, in one call
version_added: 0.1.0
description:
  - Reads on the host, in one task (one SSH round trip), what a status view shows for one app in one environment.
  - From O(path), the release C(current) points to and its commit, the last entry of C(deploys.jsonl), the deploy lock's holder
    and the rollback target; with O(unit), the systemd state of the app's service and the release its main process runs
    (RV(serving), which is what serves, flagged when it is not C(current)); with O(health_url), the answer to one GET of
    that URL and the certificate the server presents for its name.
  - The GET goes to O(connect_address) on the URL's port, with the URL's host name as TLS SNI and as C(Host) header, so
    nginx answers from the server block of that name, as a browser reaching the name would see it, even where the name
    does not resolve on the host. The certificate is read, not verified (development hosts use self-signed ones).
  - Changes nothing. M(stagecraft.webapp.deploy_info) lists every release and the last N deploys instead.
author: Stagecraft maintainers (@stagecraft)
requirements:
  - The Python library C(cryptography) on the host to read the certificate (the C(stagecraft.webapp.nginx) role installs
    C(python3-cryptography)); without it RV(certificate) is null and a warning says why.
extends_documentation_fragment:
  - stagecraft.webapp.deploy
  - stagecraft.webapp.deploy.no_diff_attributes
options:
  unit:
    description:
      - The app's systemd service, for example C(shop-prod.service); its C(ActiveState), C(SubState), C(UnitFileState)
        and C(MainPID) come from C(systemctl show).
      - Empty to skip; RV(service) is then null.
    type: str
    default: ""
  health_url:
    description:
      - The URL a browser would use to reach the app's health check, for example C(https://shop.example.com/healthz);
        C(http) or C(https).
      - Empty to skip; RV(health) and RV(certificate) are then null.
    type: str
    default: ""
  connect_address:
    description: The address the health request connects to, on the port of O(health_url).
    type: str
    default: 127.0.0.1
  timeout:
    description: Seconds to wait for the health check's connection, handshake and each read.
    type: float
    default: 5
  connector:
    description:
      - The name of a cloudflared connector on the host (C(cloudflared_name) of stagecraft.webapp.cloudflared, for
        example C(cloudflared-shop-prod)), for an app behind a Cloudflare Tunnel. Its state, C(/ready), edge
        connections and last error are read as RV(connector); the URLs come from the role's record
        C(/etc/stagecraft/cloudflared/<name>.json).
      - Empty to skip; RV(connector) is then null.
    type: str
    default: ""
  watchdog_state:
    description:
      - The state file of stagecraft.webapp.watchdog for this app (C(/var/lib/stagecraft/<app>-<env>/watchdog.json));
        its last run and last alerts are read as RV(watchdog).
      - Empty to skip; RV(watchdog) is then null.
    type: str
    default: ""
notes:
  - A health check that gets no answer (refused, timed out, TLS failure) is not a task failure; RV(health.status) is then
    C(0) and RV(health.error) says why. Any status the server answers with is reported as is.
seealso:
  - module: stagecraft.webapp.deploy_info
"""

EXAMPLES = r"""
- name: Read the status of shop in prod
  stagecraft.webapp.app_status:
    path: /srv/shop/prod
    unit: shop-prod.service
    health_url: https://shop.example.com/healthz
  register: status

- name: Show it
  ansible.builtin.debug:
    msg: >-
      {{ status.current }} ({{ status.current_commit[:7] }}), {{ status.service.active_state }}/{{ status.service.sub_state }},
      health {{ status.health.status }}, certificate ends in {{ status.certificate.days_left | default('?') }} days
"""

RETURN = r"""
current:
  description: The release C(current) points to; empty when there is none.
  returned: always
  type: str
  sample: 20261122T190507Z-1a2b3c4
current_commit:
  description: The commit of the current release, from its marker; empty when there is no current release or no readable marker.
  returned: always
  type: str
  sample: 1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d
rollback_target:
  description: The release a rollback would go back to; empty when there is none.
  returned: always
  type: str
serving:
  description:
    - The release the service's main process runs in (its working directory, which gunicorn took from C(current) when
      it started); empty without O(unit), when the service does not run, or when it runs outside the releases.
    - This is what serves. It differs from RV(current) when a deploy stopped between its switch and its restart; then
      RV(serving_mismatch) is true and a warning says so.
  returned: always
  type: str
  sample: 20261122T190507Z-1a2b3c4
serving_commit:
  description: The commit of RV(serving); empty when that is empty.
  returned: always
  type: str
serving_mismatch:
  description: Whether the service runs another release than RV(current).
  returned: always
  type: bool
serving_error:
  description:
    - Why RV(serving) is unknown although the service runs, also given as a warning; null otherwise.
    - Reading the working directory of the app user's process needs root with C(CAP_SYS_PTRACE), which root on a host has.
  returned: always
  type: str
snapshots:
  description:
    - The snapshots of the app's data (C(snapshots/<release id>/)), oldest release first; each was taken before its release's
      first hook that may change data, and goes when that release is pruned.
    - They name paths relative to C(shared/) and sizes, never a file's name inside a directory nor any content.
  returned: always
  type: list
  elements: dict
  contains:
    release_id:
      description: The release it was taken for (a rollback away from that release with C(restore_data) restores it).
      type: str
    taken:
      description: When (UTC, ISO 8601).
      type: str
    bytes:
      description: What it holds, in bytes (hard-linked files included).
      type: int
    holds:
      description: What it holds, as a sentence part.
      type: str
      sample: db.sqlite3 (20480 bytes), media (12 files, 3145728 bytes)
    summary:
      description: All that in one line.
      type: str
      sample: "20261122T190507Z-1a2b3c4 taken 2026-11-22T19:05:31Z: db.sqlite3 (20480 bytes)"
rolled_back:
  description:
    - The commits rollbacks took out of service (C(rolled-back.json)), newest first; a deploy refuses to put one back unless
      told to (the deploy role's C(deploy_allow_rolled_back)).
  returned: always
  type: list
  elements: dict
  contains:
    commit:
      description: The commit.
      type: str
    release_id:
      description: The release that served it.
      type: str
    rolled_back:
      description: When (UTC, ISO 8601).
      type: str
    by:
      description: Who rolled back (or whose deploy, for an automatic rollback).
      type: str
    job_id:
      description: The AWX or CI job, when known.
      type: str
    automatic:
      description: Whether the rollback was the automatic one after a failed health check after the switch.
      type: bool
    summary:
      description: The above in one line.
      type: str
last_deploy:
  description: The last entry of C(deploys.jsonl), or null when nothing was recorded.
  returned: always
  type: dict
  contains:
    who:
      description: Who deployed.
      type: str
    ref:
      description: The ref asked for.
      type: str
    commit:
      description: The commit it resolved to.
      type: str
    previous_commit:
      description: The commit that served before.
      type: str
    release_id:
      description: The release deployed.
      type: str
    started:
      description: When the deploy started, ISO 8601 in UTC.
      type: str
    duration:
      description: Seconds the deploy took.
      type: float
    outcome:
      description: One of C(success), C(unchanged), C(failed), C(rolled_back), C(interrupted) (a deploy whose process died, recorded by the next run).
      type: str
    job_id:
      description: The job that ran it, when one was given.
      type: str
lock:
  description: The holder of the deploy lock, or null when nobody holds it (an empty dict for a lock file without readable content).
  returned: always
  type: dict
service:
  description:
    - The state of O(unit), or null without O(unit).
    - When C(systemctl) is missing or fails, the states are C(unknown) and RV(service.error) says why.
  returned: always
  type: dict
  contains:
    unit:
      description: The unit asked about.
      type: str
    load_state:
      description: systemd's C(LoadState); C(not-found) for a unit it does not know.
      type: str
    active_state:
      description: systemd's C(ActiveState), such as C(active), C(inactive), C(failed), C(activating).
      type: str
    sub_state:
      description: systemd's C(SubState), such as C(running), C(dead), C(exited).
      type: str
    unit_file_state:
      description: systemd's C(UnitFileState), such as C(enabled), C(disabled), C(static); empty when the unit has no unit file.
      type: str
    enabled:
      description: Whether the unit starts at boot (C(UnitFileState) C(enabled) or C(enabled-runtime)); null when unknown.
      type: bool
    main_pid:
      description: systemd's C(MainPID); C(0) when the service does not run or the state is unknown.
      type: int
    error:
      description: Why the state is unknown or the unit is not loaded; null otherwise.
      type: str
health:
  description: The answer to one GET of O(health_url), or null without O(health_url).
  returned: always
  type: dict
  contains:
    url:
      description: O(health_url).
      type: str
    status:
      description: The HTTP status of the answer; C(0) when there was none.
      type: int
    error:
      description: Why there was no (complete) answer; null when the server answered.
      type: str
    elapsed:
      description: Seconds from connecting to the end of the answer (or the failure).
      type: float
connector:
  description: The cloudflared connector of O(connector), or null without O(connector).
  returned: always
  type: dict
  contains:
    name:
      description: O(connector).
      type: str
    service:
      description: Its C(<name>.service) as RV(service) describes a unit; null without the role's record.
      type: dict
    ready:
      description: Whether its metrics server's C(/ready) answers 200 (cloudflared holds at least one connection to the edge).
      type: bool
    ready_status:
      description: The HTTP status of C(/ready); C(0) without an answer (the connector does not run).
      type: int
    connections:
      description: The connections to Cloudflare's edge its C(/metrics) counts (C(cloudflared_tunnel_ha_connections)); null without an answer.
      type: int
    last_error:
      description: While it is not ready, the last error line of its journal (or why C(/ready) gave no answer); null when ready.
      type: str
    error:
      description: Why nothing could be asked (the cloudflared role's record cannot be read); null otherwise.
      type: str
watchdog:
  description: What the watchdog's state file says, or null without O(watchdog_state).
  returned: always
  type: dict
  contains:
    last:
      description: Its last run in one line (when, and each check's result, or why nothing was checked); C(no run yet) without a state file.
      type: str
      sample: "2026-12-06T12:00:00Z: health ok, certificate until 2027-03-01T00:00:00Z"
    alerts:
      description: The last alerts, oldest first, one line each.
      type: list
      elements: str
      sample: ["2026-12-06T11:57:00Z down health (TimeoutError: timed out) after 3 failed runs, restarted shop-prod.service"]
certificate:
  description: The certificate the server presented for the URL's name, or null for an C(http) URL, without an answer, or when it cannot be read.
  returned: always
  type: dict
  contains:
    not_after:
      description: The end of its validity, ISO 8601 in UTC.
      type: str
      sample: "2027-02-20T12:00:00Z"
    days_left:
      description: Whole days until then; negative once it has expired.
      type: int
    subject:
      description: Its subject, as an RFC 4514 string.
      type: str
      sample: CN=shop.example.com
    issuer:
      description: Its issuer, as an RFC 4514 string.
      type: str
      sample: CN=R11,O=Let's Encrypt,C=US
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.stagecraft.webapp.plugins.module_utils._commands import module_run_command
from ansible_collections.stagecraft.webapp.plugins.module_utils._errors import run_module
from ansible_collections.stagecraft.webapp.plugins.module_utils._status import app_status


def run(module):
    params = module.params
    result = app_status(params["path"], unit=params["unit"], health_url=params["health_url"], connect_address=params["connect_address"],
                        timeout=params["timeout"], run_command=module_run_command(module), which=module.get_bin_path, connector=params["connector"],
                        watchdog_state=params["watchdog_state"])
    for warning in result.pop("warnings"):
        module.warn(warning)
    return dict(result, changed=False)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            unit=dict(type="str", default=""),
            health_url=dict(type="str", default=""),
            connect_address=dict(type="str", default="127.0.0.1"),
            timeout=dict(type="float", default=5),
            connector=dict(type="str", default=""),
            watchdog_state=dict(type="str", default=""),
        ),
        supports_check_mode=True,
    )
    run_module(module, run)


if __name__ == "__main__":
    main()

#!/usr/bin/python
# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

from __future__ import annotations

DOCUMENTATION = r"""
module: drift
short_description: Tell which wanted paths, packages, services and accounts differ from the host, in one call
version_added: 0.1.0
description:
  - Reads on the host, in one task (one SSH round trip), whether each path, Debian package, systemd unit, user, group
    and certificate given is as wanted, and returns the ones that are not.
  - The collection's roles ask it first, then run their M(ansible.builtin.file), M(ansible.builtin.template),
    M(ansible.builtin.apt), M(ansible.builtin.systemd_service), M(ansible.builtin.user) and M(ansible.builtin.group) tasks
    only for what differs. Those tasks still make every change, and report it in check mode and with C(--diff); a run that
    changes nothing costs one round trip instead of one a task.
  - Whatever cannot be read (a program missing, a file unreadable, an owner without a name) counts as differing, so the
    real task runs and decides.
  - Changes nothing.
author: Stagecraft maintainers (@stagecraft)
extends_documentation_fragment:
  - stagecraft.webapp.deploy.attributes
attributes:
  diff_mode:
    support: none
options:
  paths:
    description: Paths and the state wanted of each.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: The path, read itself (a symlink is not followed).
        type: path
        required: true
      state:
        description: A directory, a regular file, or nothing at that path.
        type: str
        choices: [directory, file, absent]
        default: file
      owner:
        description: The owning user's name; not compared when null.
        type: str
      group:
        description: The owning group's name; not compared when null.
        type: str
      mode:
        description: The permission bits as an octal string such as C(0644); not compared when null.
        type: str
      checksum:
        description:
          - The SHA-1 of the wanted content of a file, not compared when null or empty. For a template, that of the
            rendered text, C(lookup('ansible.builtin.template', 'x.j2') | hash('sha1')).
          - Never logged, as it says something of a file holding secrets.
        type: str
  packages:
    description: Debian packages that must be installed (C(dpkg-query) status C(ii)).
    type: list
    elements: str
    default: []
  services:
    description: systemd units and the state wanted of each, from C(systemctl show).
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: The unit, such as C(nginx.service) or C(nginx).
        type: str
        required: true
      enabled:
        description: C(UnitFileState) is C(enabled) (true) or C(disabled) (false); not compared when null.
        type: bool
      active:
        description: C(ActiveState) is C(active) (true) or C(inactive) (false); not compared when null.
        type: bool
  users:
    description: Users that must exist, with the fields given.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: The user's name.
        type: str
        required: true
      group:
        description: The name of its primary group; not compared when null.
        type: str
      groups:
        description: The names of all its supplementary groups (an empty list for none); not compared when null.
        type: list
        elements: str
      home:
        description: Its home directory; not compared when null.
        type: str
      shell:
        description: Its login shell; not compared when null.
        type: str
      comment:
        description: Its GECOS field; not compared when null.
        type: str
  certificates:
    description:
      - Certificates that must be of a private key on the host, for the names given, with a key of the type given (a
        self-signed certificate a role made). Only the public halves are compared, with the C(cryptography) library
        on the host; without it every certificate differs.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: The PEM certificate (the first of the file).
        type: path
        required: true
      key:
        description: The PEM private key, unencrypted.
        type: path
        required: true
      names:
        description: The names, the first the common name, all of them the DNS subject alternative names in this order.
        type: list
        elements: str
        required: true
      type:
        description: The key's type, as community.crypto names it.
        type: str
        choices: [ECC, RSA]
        required: true
      curve:
        description: The curve of an ECC key, such as C(secp256r1); not compared when null.
        type: str
      size:
        description: The key's size in bits; not compared when null.
        type: int
  groups:
    description: Groups that must exist.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: The group's name.
        type: str
        required: true
  listings:
    description:
      - Directories whose entries to list in the same read (RV(listed)), for files whose names a role does not know,
        such as drop-ins left by an earlier spec. Links are not followed and hidden names not shown, as
        M(ansible.builtin.find) does by default.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: The directory; one that does not exist lists nothing.
        type: path
        required: true
      patterns:
        description: Shell patterns, one of which an entry's name must match (C(*.conf)).
        type: list
        elements: str
        required: true
      depth:
        description: How many levels down to list, C(1) for the directory's own entries.
        type: int
        default: 1
seealso:
  - module: ansible.builtin.stat
  - module: ansible.builtin.package_facts
  - module: ansible.builtin.service_facts
"""

EXAMPLES = r"""
- name: Read what of nginx's package, directory and service the host already has
  stagecraft.webapp.drift:
    packages: [nginx]
    paths:
      - {path: /etc/nginx/stagecraft, state: directory, owner: root, group: root, mode: "0755"}
      - path: /etc/nginx/nginx.conf
        owner: root
        group: root
        mode: "0644"
        checksum: "{{ lookup('ansible.builtin.template', 'nginx.conf.j2') | hash('sha1') }}"
    services:
      - {name: nginx, enabled: true, active: true}
  register: nginx_drift

- name: Install nginx when it is missing
  ansible.builtin.apt:
    name: nginx
  when: nginx_drift.differ.packages | length > 0

- name: Install nginx.conf when it differs
  ansible.builtin.template:
    src: nginx.conf.j2
    dest: /etc/nginx/nginx.conf
    owner: root
    group: root
    mode: "0644"
  when: "'/etc/nginx/nginx.conf' in nginx_drift.differ.paths"
"""

RETURN = r"""
differ:
  description: What differs from the wanted state, in the order asked.
  returned: always
  type: dict
  contains:
    paths:
      description: The paths that differ.
      type: list
      elements: str
    packages:
      description: The packages not installed.
      type: list
      elements: str
    services:
      description: The units whose state differs.
      type: list
      elements: str
    users:
      description: The users missing or with other fields.
      type: list
      elements: str
    groups:
      description: The groups missing.
      type: list
      elements: str
    certificates:
      description: The paths of the certificates that differ.
      type: list
      elements: str
versions:
  description: The installed version of each package of O(packages) that is installed.
  returned: always
  type: dict
  sample: {nginx: 1.22.1-9+deb12u1}
listed:
  description:
    - The entries of O(listings) whose names match, in the order asked, each sorted by path, with the fields
      M(ansible.builtin.find) returns for them (C(checksum), the SHA-1, for regular files only).
  returned: always
  type: list
  elements: dict
  sample: [{path: /etc/systemd/system/shop-prod.service, isreg: true, isdir: false, islnk: false, mode: "0644", uid: 0, gid: 0, checksum: 4f1c0a}]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.stagecraft.webapp.plugins.module_utils._commands import module_run_command
from ansible_collections.stagecraft.webapp.plugins.module_utils._drift import drift
from ansible_collections.stagecraft.webapp.plugins.module_utils._errors import run_module


def run(module):
    params = module.params
    result = drift(paths=params["paths"], packages=params["packages"], services=params["services"], users=params["users"],
                   groups=params["groups"], certificates=params["certificates"], listings=params["listings"], run_command=module_run_command(module),
                   which=module.get_bin_path)
    return dict(result, changed=False)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            paths=dict(type="list", elements="dict", default=[], options=dict(
                path=dict(type="path", required=True),
                state=dict(type="str", choices=["directory", "file", "absent"], default="file"),
                owner=dict(type="str"),
                group=dict(type="str"),
                mode=dict(type="str"),
                checksum=dict(type="str", no_log=True),
            )),
            packages=dict(type="list", elements="str", default=[]),
            services=dict(type="list", elements="dict", default=[], options=dict(
                name=dict(type="str", required=True),
                enabled=dict(type="bool"),
                active=dict(type="bool"),
            )),
            users=dict(type="list", elements="dict", default=[], options=dict(
                name=dict(type="str", required=True),
                group=dict(type="str"),
                groups=dict(type="list", elements="str"),
                home=dict(type="str"),
                shell=dict(type="str"),
                comment=dict(type="str"),
            )),
            groups=dict(type="list", elements="dict", default=[], options=dict(
                name=dict(type="str", required=True),
            )),
            certificates=dict(type="list", elements="dict", default=[], options=dict(
                path=dict(type="path", required=True),
                key=dict(type="path", required=True, no_log=False),
                names=dict(type="list", elements="str", required=True),
                type=dict(type="str", choices=["ECC", "RSA"], required=True),
                curve=dict(type="str"),
                size=dict(type="int"),
            )),
            listings=dict(type="list", elements="dict", default=[], options=dict(
                path=dict(type="path", required=True),
                patterns=dict(type="list", elements="str", required=True),
                depth=dict(type="int", default=1),
            )),
        ),
        supports_check_mode=True,
    )
    run_module(module, run)


if __name__ == "__main__":
    main()

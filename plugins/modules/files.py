#!/usr/bin/python
# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

# The work is done by the action plugin of the same name (plugins/action/files.py); this file holds its documentation.

from __future__ import annotations

DOCUMENTATION = r"""
module: files
short_description: Keep a role's directories and files as wanted, declared once, read from the host in one call
version_added: 0.1.0
description:
  - Takes the wanted state of each of a role's directories and files once. Renders each template once (on the controller, as
    M(ansible.builtin.template) does), asks the host in one call (M(stagecraft.webapp.drift)) which entries differ, and writes
    only those, through M(ansible.builtin.copy) (files) and M(ansible.builtin.file) (directories, absent paths).
  - A run that changes nothing costs one round trip, and lists one task.
  - Check mode and C(--diff) behave as those of M(ansible.builtin.copy) and M(ansible.builtin.file); a secret entry shows no
    diff and its content is never logged.
  - Entries are handled in the order given, so a directory comes before what it holds. The first write that fails stops
    the others.
  - Bad entries (a relative path, a path given twice, a file without content, a mode that is not octal) fail the task before
    anything is read or written.
author: Stagecraft maintainers (@stagecraft)
extends_documentation_fragment:
  - stagecraft.webapp.deploy.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: A secret entry shows no diff.
  action:
    description: Indicates this has a corresponding action plugin so some parts of the options can be executed on the controller.
    support: full
options:
  entries:
    description: The directories and files, and the state wanted of each.
    type: list
    elements: dict
    required: true
    suboptions:
      path:
        description: The path (a symlink there is replaced, never followed).
        type: path
        required: true
      state:
        description: A regular file, a directory, or nothing at that path.
        type: str
        choices: [file, directory, absent]
        default: file
      template:
        description:
          - For a file, a template of the role (or of the playbook), found and rendered as M(ansible.builtin.template) finds and
            renders it (C(templates/) of the role first, C(trim_blocks)).
          - C(ansible_managed) is the variable when set, else C(Ansible managed).
          - Exactly one of O(entries[].template) and O(entries[].content) for a file.
        type: str
      content:
        description: For a file, its content. Never logged.
        type: str
      owner:
        description: The owning user's name; left as found when not given.
        type: str
      group:
        description: The owning group's name; left as found when not given.
        type: str
      mode:
        description: The permission bits as an octal string such as C("0640"); left as found when not given.
        type: str
      validate:
        description: For a file, a command that checks the new content before it replaces the old, C(%s) standing for the file.
        type: str
      secret:
        description:
          - The file holds secrets. Neither its content nor its diff is shown or logged (M(ansible.builtin.copy) runs with
            C(no_log) and without C(--diff)); a failure says which path failed, not why.
        type: bool
        default: false
notes:
  - Ownership and mode only are compared for a directory; a file differs when its type, owner, group, mode or content
    (SHA-1) does.
seealso:
  - module: stagecraft.webapp.drift
  - module: ansible.builtin.template
  - module: ansible.builtin.copy
  - module: ansible.builtin.file
"""

EXAMPLES = r"""
- name: Keep the app's directory, configuration and environment file
  stagecraft.webapp.files:
    entries:
      - {path: /etc/stagecraft/shop-prod, state: directory, owner: root, group: shop-prod, mode: "0750"}
      - path: /etc/stagecraft/shop-prod/gunicorn.conf.py
        template: gunicorn.conf.py.j2
        owner: root
        group: shop-prod
        mode: "0640"
        validate: /usr/bin/python3 -m py_compile %s
      - {path: /etc/stagecraft/shop-prod/env, template: env.j2, owner: root, group: shop-prod, mode: "0640", secret: true}
      - {path: /etc/logrotate.d/shop-prod, state: absent}
  register: shop_files

- name: Restart the app when its environment changed
  ansible.builtin.systemd_service:
    name: shop-prod.service
    state: restarted
  when: "'/etc/stagecraft/shop-prod/env' in shop_files.changed_paths"
"""

RETURN = r"""
changed_paths:
  description: The paths written (or, in check mode, that would be), in the order given.
  returned: always
  type: list
  elements: str
  sample: [/etc/stagecraft/shop-prod/env]
files:
  description: One entry per path written, with C(path), C(changed), C(failed), C(diff) (a list; none for a secret entry) and
    C(msg) when it failed.
  returned: always
  type: list
  elements: dict
diff:
  description: The diffs of all writes, as M(ansible.builtin.copy) and M(ansible.builtin.file) report them (none of a secret entry).
  returned: always
  type: list
  elements: dict
"""

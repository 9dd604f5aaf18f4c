# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

"""stagecraft.webapp.files: a role's directories and files, declared once, read from the host in one call,
written only where they differ, by ansible-core's own copy and file (check mode and --diff as theirs).

The decisions live in plugins/module_utils/_files.py; this plugin renders, asks and writes.
"""

from __future__ import annotations

import os

from ansible.errors import AnsibleActionFail, AnsibleError
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase
from ansible.template import trust_as_template

from ansible_collections.stagecraft.webapp.plugins.module_utils._files import (
    drift_paths, entries_to_write, entry_problems, outcome, shown, write_step)

ENTRY_SPEC = dict(
    path=dict(type="path", required=True),
    state=dict(type="str", choices=["file", "directory", "absent"], default="file"),
    template=dict(type="str"),
    content=dict(type="str", no_log=True),
    owner=dict(type="str"),
    group=dict(type="str"),
    mode=dict(type="str"),
    validate=dict(type="str"),
    secret=dict(type="bool", default=False),
)
ARGUMENT_SPEC = dict(entries=dict(type="list", elements="dict", required=True, options=ENTRY_SPEC))
# What ansible.builtin.template renders with by default.
TEMPLATE_OVERRIDES = dict(trim_blocks=True, lstrip_blocks=False, newline_sequence="\n")
# ansible-core 2.23 makes ansible_managed a plain variable with this default (DEFAULT_MANAGED_STR is deprecated).
ANSIBLE_MANAGED = "Ansible managed"


class ActionModule(ActionBase):

    TRANSFERS_FILES = True

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        del tmp
        try:
            unused_validation, arguments = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
            entries = arguments["entries"]
            problems = entry_problems(entries)
            if problems:
                raise AnsibleActionFail("; ".join(problems))
            contents = {entry["path"]: self._content(entry, task_vars) for entry in entries if entry["state"] == "file"}
            drift = self._execute_module(module_name="stagecraft.webapp.drift", module_args={"paths": drift_paths(entries, contents)},
                                         task_vars=task_vars)
            if drift.get("failed"):
                raise AnsibleActionFail("reading the files' state failed: {0}".format(drift.get("msg")))
            reports = []
            for entry in entries_to_write(entries, drift["differ"]["paths"]):
                reports.append(shown(entry, self._write(entry, contents.get(entry["path"]), task_vars)))
                if reports[-1]["failed"]:
                    break
            result.update(outcome(reports))
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return result

    def _content(self, entry, task_vars):
        """The entry's content, or its template rendered as ansible.builtin.template renders it."""
        if entry["content"] is not None:
            return entry["content"]
        try:
            source = self._find_needle("templates", entry["template"])
        except AnsibleError as error:
            raise AnsibleActionFail(to_text(error)) from error
        # Includes and imports in the template are searched as template's are.
        searchpath = []
        for directory in task_vars.get("ansible_search_path", []) + [self._loader.get_basedir(), os.path.dirname(source)]:
            searchpath.extend([os.path.join(directory, "templates"), directory])
        template_vars = dict(task_vars, template_path=entry["template"], template_fullpath=source, template_destpath=entry["path"])
        template_vars.setdefault("ansible_managed", ANSIBLE_MANAGED)
        templar = self._templar.copy_with_new_env(searchpath=searchpath, available_variables=template_vars)
        rendered = templar.template(trust_as_template(self._loader.get_text_file_contents(source)), escape_backslashes=False,
                                    overrides=TEMPLATE_OVERRIDES)
        return rendered or ""

    def _write(self, entry, content, task_vars):
        """Write one entry through ansible.legacy.copy (an action: it transfers, validates and diffs) or ansible.legacy.file."""
        step, arguments = write_step(entry, content)
        if step == "file":
            return self._execute_module(module_name="ansible.legacy.file", module_args=arguments, task_vars=task_vars)
        task = self._task.copy()
        task.args = arguments
        if entry["secret"]:
            task.no_log = True
            task.diff = False
        copy = self._shared_loader_obj.action_loader.get("ansible.legacy.copy", task=task, connection=self._connection,
                                                         play_context=self._play_context, loader=self._loader, templar=self._templar,
                                                         shared_loader_obj=self._shared_loader_obj)
        return copy.run(task_vars=task_vars)

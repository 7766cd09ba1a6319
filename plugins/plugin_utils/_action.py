# Copyright: (c) 2026, NNF kube_audit maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the collection's action plugins share: their base class, running a module on the master, the error boundary.

An action plugin plans on the controller and calls stdlib-only modules on the master (``manifest_io``). A failed
remote call ends the task with that module's own result (``RemoteFailure``); a KubeAuditError raised on the
controller becomes a failed result through ``_errors.failure``, the same function that makes modules' failures.
Ansible's own errors (invalid options: AnsibleActionFail) go to Ansible as they are.
"""

import json

from ansible.errors import AnsibleError
from ansible.plugins.action import ActionBase

from ansible_collections.nnf.kube_audit.plugins.module_utils import _errors

COLLECTION = "nnf.kube_audit"


class RemoteFailure(Exception):
    """A module on the master failed (or the master was unreachable): ``result`` is its result, as it is."""

    def __init__(self, result):
        super().__init__(result.get("msg", "failed"))
        self.result = result


def plain(value):
    """Task arguments as plain JSON data: Ansible hands action plugins tagged str/dict/list subclasses, which YAML
    libraries (and comparisons by type) must not see; a module gets its arguments through JSON, so do the same."""
    return json.loads(json.dumps(value))


def execute(action, module, module_args, task_vars):
    """Run the collection's ``module`` on the task's host; its result, or RemoteFailure."""
    result = action._execute_module(module_name=f"{COLLECTION}.{module}", module_args=module_args, task_vars=task_vars)
    if result.get("failed") or result.get("unreachable"):
        raise RemoteFailure(result)
    return result


def run(action, body, subject=None):
    """``body()``'s result; every failure becomes the task's failed result. Removes the remote temporary dir."""
    try:
        return body()
    except RemoteFailure as exc:
        return exc.result
    except AnsibleError:
        raise
    except Exception as exc:  # the one boundary: ours become messages, bugs keep their traceback
        return _errors.failure(exc, subject)
    finally:
        action._remove_tmp_path(action._connection._shell.tmpdir)


class Action(ActionBase):
    """Base of the collection's action plugins: ``task(task_vars)`` does the work, ``subject()`` names what it is on."""

    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False

    def subject(self):
        return None

    def task(self, task_vars):
        raise NotImplementedError

    def validated(self, argument_spec, **rules):
        """The task's options checked against ``argument_spec`` (Ansible's own checks and messages), as plain data."""
        _validation, params = self.validate_argument_spec(argument_spec=argument_spec, **rules)
        return plain(params)

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        result.update(run(self, lambda: self.task(task_vars), subject=self.subject()))
        if not result.get("warnings"):
            result.pop("warnings", None)  # as a module's result: no key when there is nothing to warn about
        return result

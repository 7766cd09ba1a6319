# Copyright: (c) 2026, NNF kube_audit maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin of ``nnf.kube_audit.audit_policy``: on the controller, validate in this process.

The roles validate the policy once, on the controller (``delegate_to: localhost``). Starting a module process for
that costs about half a second per play; the same code (``module_utils/_policy_task.py``) runs here instead, with
the same options, result and messages. On any other host (another connection than ``local``), the module runs
there as usual.
"""

from ansible_collections.nnf.kube_audit.plugins.module_utils import _policy_task
from ansible_collections.nnf.kube_audit.plugins.plugin_utils import _action


class ActionModule(_action.Action):
    def run(self, tmp=None, task_vars=None):
        if self._connection.transport != "local":
            result = super(_action.Action, self).run(tmp, task_vars)  # ActionBase's: the module, on its host
            result.update(self._execute_module(task_vars=task_vars))
            return result
        return super().run(tmp, task_vars)

    def subject(self):
        args = self._task.args
        return _policy_task.subject_of({key: args.get(key) for key in ("src", "content")})

    def task(self, task_vars):
        params = self.validated(_policy_task.ARGUMENT_SPEC, **_policy_task.ARGUMENT_RULES)
        return _policy_task.check(params, _policy_task.subject_of(params))

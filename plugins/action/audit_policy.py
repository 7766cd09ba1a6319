# Copyright: (c) 2026, NNF kube_audit maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin of ``nnf.kube_audit.audit_policy``: on the controller, validate in this process.

The roles validate the policy once, on the controller (``delegate_to: localhost``). Starting a module process for
that costs about half a second per play; the same code (``module_utils/_policy_task.py``) runs here instead, with
the same options, result and messages. On any other host (another connection than ``local``), the module runs
there as usual.
"""

from ansible.plugins.action import ActionBase

from ansible_collections.nnf.kube_audit.plugins.module_utils import _policy_task
from ansible_collections.nnf.kube_audit.plugins.plugin_utils import _action


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        if self._connection.transport != "local":
            result.update(self._execute_module(task_vars=task_vars))
            return result
        _validation, params = self.validate_argument_spec(
            argument_spec=_policy_task.ARGUMENT_SPEC, **_policy_task.ARGUMENT_RULES
        )
        params = _action.plain(params)
        subject = _policy_task.subject_of(params)
        result.update(_action.run(self, lambda: _policy_task.check(params, subject), subject=subject))
        return result

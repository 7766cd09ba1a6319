# Copyright: (c) 2026, NNF kube_audit maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin of ``nnf.kube_audit.audit_policy``: the policy is validated on the controller, in this process.

The policy engine reads YAML as kube-apiserver does (go-yaml v2 over PyYAML, ``plugin_utils/_goyaml.py``), which
only the controller is sure to have; masters have nothing but Python's standard library. So the checks never run
on the task's host: ``src`` is a file on the controller, whatever the host (``plugin_utils/_policy_task.py``).
"""

from ansible_collections.nnf.kube_audit.plugins.plugin_utils import _action, _policy_task


class ActionModule(_action.Action):
    def subject(self):
        args = self._task.args
        return _policy_task.subject_of({key: args.get(key) for key in ("src", "content")})

    def task(self, task_vars):
        params = self.validated(_policy_task.ARGUMENT_SPEC, **_policy_task.ARGUMENT_RULES)
        return _policy_task.check(params, _policy_task.subject_of(params))

# Copyright: (c) 2026, NNF kube_audit maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin of ``nnf.kube_audit.audit_webhook``: the webhook kubeconfig is built and checked on the controller.

Its certificates and keys are files on the controller (or text); ``cryptography``, which reads them, is only sure
to be there. Nothing runs on the task's host (``plugin_utils/_webhook_task.py``).
"""

from ansible.errors import AnsibleError

from ansible_collections.nnf.kube_audit.plugins.plugin_utils import _action, _webhook_task


class ActionModule(_action.Action):
    def subject(self):
        return self._task.args.get("kubeconfig_src") or "the audit webhook kubeconfig"

    def _search(self, path):
        try:
            return self._find_needle("files", path)
        except AnsibleError:
            return None

    def task(self, task_vars):
        params = self.validated(_webhook_task.ARGUMENT_SPEC, **_webhook_task.ARGUMENT_RULES)
        return _webhook_task.check(params, _webhook_task.find_in(self._search))

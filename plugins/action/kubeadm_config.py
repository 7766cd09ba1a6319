# Copyright: (c) 2026, NNF kube_audit maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin of ``nnf.kube_audit.kubeadm_config``: read on the master, edit here, write back on the master.

One ``kubeadm_config_io`` read, the edit with the byte-preserving editor (``kubeadm_config_update.plan``), and, when
something changes and not in check mode, one write with the resourceVersion that was read. When the ConfigMap
changed in between (409), it is read and edited again, ``retries`` times at most.
"""

from ansible_collections.nnf.kube_audit.plugins.module_utils import _defaults
from ansible_collections.nnf.kube_audit.plugins.module_utils._errors import KubeAuditError
from ansible_collections.nnf.kube_audit.plugins.plugin_utils import _action, kubeadm_config_update


def update(action, params, task_vars):
    for attempt in range(params["retries"] + 1):
        read = _action.execute(action, "kubeadm_config_io", {"kubeconfig": params["kubeconfig"]}, task_vars)
        read = read["kubeadm_config"]
        result, text = kubeadm_config_update.plan(params, read)
        if text is None or action._task.check_mode:
            break
        write = {"operation": "write", "kubeconfig": params["kubeconfig"], "configmap": read["configmap"]}
        try:
            written = _action.execute(action, "kubeadm_config_io", dict(write, cluster_configuration=text), task_vars)
        except _action.RemoteFailure as exc:
            if not exc.result.get("conflict"):
                raise
            if attempt == params["retries"]:
                raise KubeAuditError(
                    f"{kubeadm_config_update.OBJECT} kept changing while it was being written ({attempt + 1} "
                    f"attempts, each refused as stale): {exc.result.get('msg')}"
                ) from None
            continue
        result["resource_version"] = written["resource_version"]
        break
    if action._task.diff:
        result["diff"] = kubeadm_config_update.build_diff(result)
    warnings = result["warnings"]
    result = kubeadm_config_update.registered(result)
    if warnings:
        result["warnings"] = warnings
    return result


class ActionModule(_action.Action):
    def subject(self):
        return self._task.args.get("kubeconfig") or _defaults.KUBECONFIG_PATH

    def task(self, task_vars):
        params = self.validated(kubeadm_config_update.ARGUMENT_SPEC)
        return update(self, params, task_vars)

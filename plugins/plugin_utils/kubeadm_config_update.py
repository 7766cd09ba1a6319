# Copyright: (c) 2026, NNF kube_audit maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The ``kubeadm_config`` task, planned on the controller from what a master read (no network here).

``plan(params, read)`` takes the options and what ``_kubeadm_config.read`` reported on the master and returns the
task's result and the new ClusterConfiguration text to write (None: nothing to write). Used by the
``kubeadm_config`` action plugin and by ``audit_plan`` (the plan's read of the ConfigMap).
"""

from typing import Any, Dict, List, Optional, Tuple

from ansible_collections.nnf.kube_audit.plugins.module_utils import _defaults, _kubeadm_config
from ansible_collections.nnf.kube_audit.plugins.module_utils._errors import KubeAuditError
from ansible_collections.nnf.kube_audit.plugins.plugin_utils import manifest_update
from ansible_collections.nnf.kube_audit.plugins.plugin_utils.kubeadm_config_editor import edit_cluster_configuration

OBJECT = f"ConfigMap {_kubeadm_config.NAMESPACE}/{_kubeadm_config.NAME}"
ARGUMENT_SPEC = dict(
    kubeconfig=dict(type="path", default=_defaults.KUBECONFIG_PATH),
    args=dict(type="dict"),
    remove_args=dict(type="list", elements="str"),
    mounts=manifest_update.ARGUMENT_SPEC["mounts"],
    remove_mounts=dict(type="list", elements="str"),
    required=dict(type="bool", default=True),
    retries=dict(type="int", default=3),
)


def plan(params: Dict[str, Any], read: Dict[str, Any]) -> Tuple[Dict[str, Any], Optional[str]]:
    """The result for ``params`` given the master's ``read``, and the text to write (None: nothing to write).

    A kubeconfig or ConfigMap that is missing fails when ``required``, else it is a warning and nothing changes; a
    kubeconfig that cannot be used, an API server that cannot be reached or refuses, a text that does not parse:
    always a failure, naming what and where.
    """
    result: Dict[str, Any] = {
        "changed": False,
        "found": False,
        "changes": [],
        "warnings": [],
        "before": "",
        "after": "",
    }
    if read.get("error"):
        raise KubeAuditError(read["error"])
    if read.get("missing"):
        if params["required"]:
            raise KubeAuditError(f"{read['missing']}: cannot keep {OBJECT} in step")
        result["warnings"].append(f"{read['missing']}: {OBJECT} is left alone")
        return result, None
    edit = edit_cluster_configuration(
        read["cluster_configuration"],
        args=params["args"],
        remove_args=params["remove_args"],
        mounts=params["mounts"],
        remove_mounts=params["remove_mounts"],
        source=f"{OBJECT} {_kubeadm_config.KEY}",
    )
    result.update(
        changed=edit.changed,
        found=True,
        changes=list(edit.changes),
        warnings=list(edit.warnings),
        api_version=edit.api_version,
        resource_version=read.get("resource_version"),
        before=edit.before,
        after=edit.after,
    )
    return result, edit.after if edit.changed else None


def build_diff(result: Dict[str, Any]) -> List[Dict[str, str]]:
    if result["before"] == result["after"]:
        return []
    header = f"{OBJECT} {_kubeadm_config.KEY}"
    return [{"before_header": header, "after_header": header, "before": result["before"], "after": result["after"]}]


def registered(result: Dict[str, Any]) -> Dict[str, Any]:
    return {key: value for key, value in result.items() if key not in ("before", "after", "warnings")}

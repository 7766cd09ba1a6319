# Copyright: (c) 2026, NNF kube_audit maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The kube-system/kubeadm-config ConfigMap, read and written from a master (standard library only).

``kubeadm upgrade`` and ``kubeadm join --control-plane`` render kube-apiserver's manifest from its
``ClusterConfiguration``. The text is edited on the controller (``plugin_utils/kubeadm_config_editor.py``); here it is
only read (``read``: what the controller needs, problems as data so it can decide by ``kube_audit_kubeadm_config``)
and written back (``write``: a PUT with the resourceVersion that was read; the API server refuses a stale one, 409,
which ``write`` reports as ``conflict`` for the caller to read and edit again).
"""

import os

from ansible_collections.nnf.kube_audit.plugins.module_utils import _kube_client, _kubeconfig
from ansible_collections.nnf.kube_audit.plugins.module_utils._errors import KubeAuditError

NAMESPACE = "kube-system"
NAME = "kubeadm-config"
KEY = "ClusterConfiguration"


def kubeconfig_exists(path):
    """Whether there is a kubeconfig at ``path`` (kubeadm writes admin.conf when a node joins the control plane)."""
    return os.path.exists(path)


def read(path, timeout=_kube_client.DEFAULT_TIMEOUT):
    """What the controller needs to plan: never raises for the cluster's or the host's problems, reports them.

    ``kubeconfig_exists``; ``found`` (the ConfigMap exists and holds a ClusterConfiguration); ``configmap`` (the
    object as read), ``resource_version``, ``cluster_configuration`` (its text); ``error`` (why it could not be
    read, naming the kubeconfig and the server) and ``missing`` (what is missing, in words) otherwise.
    """
    result = {
        "kubeconfig": path,
        "kubeconfig_exists": True,
        "found": False,
        "configmap": None,
        "resource_version": None,
        "cluster_configuration": None,
        "error": None,
        "missing": None,
    }
    try:
        obj = _kube_client.get_configmap(path, NAMESPACE, NAME, timeout)
    except _kubeconfig.KubeconfigMissing:
        result.update(kubeconfig_exists=False, missing=f"no kubeconfig at {path}")
        return result
    except _kube_client.NotFound:
        result["missing"] = f"the cluster has no ConfigMap {NAMESPACE}/{NAME} (not a kubeadm cluster?)"
        return result
    except KubeAuditError as exc:
        result["error"] = str(exc)
        return result
    text = (obj.get("data") or {}).get(KEY)
    if not isinstance(text, str):
        result["missing"] = f"ConfigMap {NAMESPACE}/{NAME} has no {KEY}"
        return result
    result.update(
        found=True,
        configmap=obj,
        resource_version=obj["metadata"].get("resourceVersion"),
        cluster_configuration=text,
    )
    return result


def write(path, configmap, cluster_configuration, timeout=_kube_client.DEFAULT_TIMEOUT):
    """PUT ``configmap`` (as read) with ``cluster_configuration`` as its text; the stored object's resourceVersion.

    KubeAuditError with ``conflict: true`` in its result when the ConfigMap changed since it was read.
    """
    obj = dict(configmap)
    obj["data"] = dict(configmap.get("data") or {}, **{KEY: cluster_configuration})
    try:
        stored = _kube_client.put_configmap(path, obj, timeout)
    except _kube_client.Conflict as exc:
        raise KubeAuditError(str(exc), {"conflict": True}) from exc
    return {"resource_version": stored["metadata"].get("resourceVersion"), "conflict": False}

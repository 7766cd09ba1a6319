# Copyright: (c) 2026, NNF kube_audit maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin of ``nnf.kube_audit.apiserver_wait``: read the manifest on the controller, wait on the node.

The node has no YAML library: the manifest's bytes come back from one ``manifest_io`` read, are decoded here the
way the kubelet decodes them (go-yaml v2, ``_goyaml``), and the container's spec goes to the ``apiserver_wait``
module, which waits on the node (``/proc``, the readiness probe). In check mode the module returns at once.

With ``audit_proof``, the same read returns who the kubeconfig authenticates as (its client certificate, public),
and the request that proves the apiserver audits is chosen here, with the collection's policy evaluator
(``_audit_probe``); the module sends it and looks for its Audit-ID in the log. Without a request to send (logs on
standard output, no kubeconfig on the master, a policy that records no harmless read for that user) the proof is
skipped with a warning saying why.
"""

import base64
import uuid

from ansible_collections.nnf.kube_audit.plugins.module_utils import _defaults
from ansible_collections.nnf.kube_audit.plugins.module_utils._errors import KubeAuditError, ManifestError
from ansible_collections.nnf.kube_audit.plugins.module_utils.apiserver_process import PROCESS_NAME, find_container
from ansible_collections.nnf.kube_audit.plugins.plugin_utils import _action, _audit_probe, _goyaml, audit_policy


def container_spec(content_base64, path, name):
    """The container ``name`` of the manifest's bytes, as the kubelet reads it: plain data for the module."""
    try:
        document = _goyaml.load(base64.b64decode(content_base64).decode("utf-8"))
    except (UnicodeDecodeError, _goyaml.YamlError) as exc:
        raise ManifestError(f"Cannot read {path}: {exc}") from None
    try:
        return find_container(document, name)
    except ManifestError as exc:
        raise ManifestError(f"Cannot read {path}: {exc}") from None


def proof_request(proof, identity):
    """``(path, None)`` of the request that proves auditing, or ``(None, why the proof is skipped)``."""
    log_path = proof.get("log_path")
    if log_path in (None, ""):
        return (
            None,
            "there is no audit log (kube_audit_log_path null: the webhook backend only): no file to find the proof in",
        )
    if log_path == _defaults.LOG_TO_STDOUT:
        return None, "the audit log goes to standard output (kube_audit_log_path -): no file to find the proof in"
    if not identity["exists"]:
        return None, f"there is no kubeconfig at {proof['kubeconfig']} to send the proof request with"
    if identity["error"]:
        raise KubeAuditError(f"the proof request cannot be sent: {identity['error']}")
    if identity["client_certificate"] is None:
        return None, (
            f"user {identity['user']!r} of {proof['kubeconfig']} has no client certificate: the user the API server "
            "sees cannot be told here, so no request can be chosen that the policy records"
        )
    try:
        user, groups = _audit_probe.identity(identity["client_certificate"])
        policy, _warnings = audit_policy.load_policy(base64.b64decode(proof.get("policy_content_base64") or ""))
    except _audit_probe.ProbeIdentityError as exc:
        raise KubeAuditError(f"{proof['kubeconfig']}: {exc}") from None
    except audit_policy.PolicyError as exc:
        raise KubeAuditError(f"audit_proof.policy_content_base64: {exc}") from None
    chosen = _audit_probe.choose(policy, user, groups)
    if chosen is None:
        who = f"user {user!r}" + (f" (groups {', '.join(groups)})" if groups else "")
        return None, f"the audit policy records no harmless read by {who}, the user of {proof['kubeconfig']}"
    return chosen["path"], None


def wait(action, task_vars):
    args = _action.plain(action._task.args)
    proof = args.get("audit_proof")
    warnings = []
    if not action._task.check_mode:
        path = args.get("manifest_path") or _defaults.MANIFEST_PATH
        read = {"path": path}
        if proof:
            proof.setdefault("kubeconfig", _defaults.KUBECONFIG_PATH)
            read.update(kubeconfig=proof["kubeconfig"], kubeconfig_identity=True)
        snapshot_read = _action.execute(action, "manifest_io", read, task_vars)
        snapshot = snapshot_read["snapshot"]
        args["container_spec"] = container_spec(snapshot["content_base64"], path, args.get("container") or PROCESS_NAME)
        if args.get("changed_since") is None:
            args["changed_since"] = snapshot["mtime"]
        if proof:
            request_path, skipped = proof_request(proof, snapshot_read["kubeconfig_identity"])
            if request_path is None:
                # named after the host: Ansible prints a warning once, however many masters give it
                where = task_vars.get("inventory_hostname", "this master")
                warnings.append(f"No proof that kube-apiserver on {where} audits: {skipped}.")
                args.pop("audit_proof")
            else:
                proof.update(path=request_path, audit_id=str(uuid.uuid4()))
                proof.pop("policy_content_base64", None)  # the module needs only the request
    result = _action.execute(action, "apiserver_wait", args, task_vars)
    if warnings:
        result["warnings"] = list(result.get("warnings") or []) + warnings
        result["audit_proof"] = {"skipped": warnings[0]}
    return result


class ActionModule(_action.Action):
    def subject(self):
        return self._task.args.get("manifest_path") or _defaults.MANIFEST_PATH

    def task(self, task_vars):
        return wait(self, task_vars)

# Copyright: (c) 2026, NNF kube_audit maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin of ``nnf.kube_audit.audit_plan``: a master's whole plan from one remote call.

One ``manifest_io`` read returns the manifest, the stray candidates and, planned on the master in the same call,
the ``audit_files`` result (policy file and log directory); the manifest edit is then planned here, as
``apiserver_manifest`` plans it in check mode. Nothing is written.
"""

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.nnf.kube_audit.plugins.module_utils import _defaults
from ansible_collections.nnf.kube_audit.plugins.module_utils._errors import KubeAuditError
from ansible_collections.nnf.kube_audit.plugins.plugin_utils import _action, kubeadm_config_update, manifest_update


def manifest_params(options):
    """The ``manifest`` option checked as apiserver_manifest checks its options."""
    if not isinstance(options, dict):
        raise KubeAuditError(f"manifest must be a dict of apiserver_manifest options, got {options!r}")
    validator = ArgumentSpecValidator(
        manifest_update.ARGUMENT_SPEC, mutually_exclusive=manifest_update.MUTUALLY_EXCLUSIVE
    )
    validated = validator.validate(options)
    if validated.error_messages:
        raise KubeAuditError(f"manifest: {'; '.join(validated.error_messages)}")
    if validated.validated_parameters["restore_from"]:
        raise KubeAuditError("manifest: restore_from is not a plan; use apiserver_manifest to restore")
    return validated.validated_parameters


KUBEADM_CONFIG_SPEC = dict(
    kubeconfig=dict(type="path", default=_defaults.KUBECONFIG_PATH),
    read=dict(type="bool", default=False),
    required=dict(type="bool", default=False),
    identity=dict(type="bool", default=False),
)


def kubeadm_params(options):
    """The ``kubeadm_config`` option, checked."""
    if not isinstance(options, dict):
        raise KubeAuditError(
            f"kubeadm_config must be a dict of kubeconfig, read, required and identity, got {options!r}"
        )
    validated = ArgumentSpecValidator(KUBEADM_CONFIG_SPEC).validate(options)
    if validated.error_messages:
        raise KubeAuditError(f"kubeadm_config: {'; '.join(validated.error_messages)}")
    return validated.validated_parameters


def not_yet_a_master(params, kubeconfig):
    """The manifest part of the plan of a node that is no control-plane node yet: nothing to do, and why."""
    msg = (
        f"{params['path']} and {kubeconfig} do not exist: not a control-plane node yet. The manifest is skipped; the "
        "policy file and the log directory are prepared, and kubeadm join --control-plane renders the manifest from "
        "kubeadm-config."
    )
    return {
        "changed": False,
        "manifest_changed": False,
        "skipped": True,
        "path": params["path"],
        "stray_files": [],
        "warnings": [msg],
        "before": "",
        "after": "",
        "msg": msg,
    }


def plan(action, task_vars):
    args = _action.plain(action._task.args)
    unknown = sorted(set(args) - {"files", "manifest", "kubeadm_config"})
    if unknown:
        raise KubeAuditError(
            f"Unsupported parameters: {', '.join(unknown)} (supported: files, manifest, kubeadm_config)"
        )
    params = manifest_params(args.get("manifest") or {})
    kubeadm = kubeadm_params(args["kubeadm_config"]) if args.get("kubeadm_config") is not None else None
    read = manifest_update.read_options(params)
    if args.get("files") is not None:
        read["files"] = dict(args["files"])
        # manifest_io never logs it (it may hold a client key).
        secret = read["files"].pop("webhook_config_content_base64", None)
        if secret is not None:
            read["webhook_config_content_base64"] = secret
    if kubeadm is not None:
        read.update(kubeconfig=kubeadm["kubeconfig"], read_kubeadm_config=kubeadm["read"], missing_ok=True)
        read.update(kubeconfig_identity=kubeadm["identity"])
    remote = _action.execute(action, "manifest_io", read, task_vars)
    identity = remote.get("kubeconfig_identity")
    if identity and identity["exists"] and identity["error"]:
        # The wait would fail on it after the restart, and the master be put back: say it now, before any change.
        raise KubeAuditError(
            f"the rollout's proof request (kube_audit_verify) cannot be sent with {kubeadm['kubeconfig']}: "
            f"{identity['error']}"
        )
    snapshot = remote["snapshot"]
    if snapshot.get("exists", True):
        manifest, _write = manifest_update.plan(params, snapshot)
    elif remote["kubeconfig_exists"]:
        raise KubeAuditError(
            f"{params['path']} does not exist, but {kubeadm['kubeconfig']} does: this is a control-plane node "
            "without that manifest (is kube_audit_manifest_path right?)"
        )
    else:
        manifest = not_yet_a_master(params, kubeadm["kubeconfig"])
    files = remote.get("files")
    diff = list((files or {}).pop("diff", [])) + manifest_update.build_diff(manifest)
    warnings = list(manifest["warnings"])
    needs_change = bool(manifest["changed"] or (files or {}).get("changed"))
    result = {"changed": needs_change, "needs_change": needs_change, "manifest": manifest_update.registered(manifest)}
    if kubeadm is not None:
        result["kubeconfig_exists"] = remote["kubeconfig_exists"]
    if kubeadm is not None and kubeadm["read"]:
        config_params = dict(
            {key: params[key] for key in ("args", "remove_args", "mounts", "remove_mounts")},
            required=kubeadm["required"],
        )
        config, _text = kubeadm_config_update.plan(config_params, remote["kubeadm_config"])
        diff += kubeadm_config_update.build_diff(config)
        warnings += config["warnings"]
        result["kubeadm_config"] = kubeadm_config_update.registered(config)
        result["changed"] = result["changed"] or config["changed"]
    if files is not None:
        result["files"] = files
    if action._task.diff and diff:
        result["diff"] = diff
    if warnings:
        result["warnings"] = warnings
    return result


class ActionModule(_action.Action):
    def subject(self):
        manifest = self._task.args.get("manifest")
        return (manifest.get("path") if isinstance(manifest, dict) else None) or _defaults.MANIFEST_PATH

    def task(self, task_vars):
        return plan(self, task_vars)

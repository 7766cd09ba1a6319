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
from ansible_collections.nnf.kube_audit.plugins.plugin_utils import _action, manifest_update


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


def plan(action, task_vars):
    args = _action.plain(action._task.args)
    unknown = sorted(set(args) - {"files", "manifest"})
    if unknown:
        raise KubeAuditError(f"Unsupported parameters: {', '.join(unknown)} (supported: files, manifest)")
    params = manifest_params(args.get("manifest") or {})
    read = manifest_update.read_options(params)
    if args.get("files") is not None:
        read["files"] = args["files"]
    remote = _action.execute(action, "manifest_io", read, task_vars)
    manifest, _write = manifest_update.plan(params, remote["snapshot"])
    files = remote.get("files")
    diff = list((files or {}).pop("diff", [])) + manifest_update.build_diff(manifest)
    needs_change = bool(manifest["changed"] or (files or {}).get("changed"))
    result = {"changed": needs_change, "needs_change": needs_change, "manifest": manifest_update.registered(manifest)}
    if files is not None:
        result["files"] = files
    if action._task.diff and diff:
        result["diff"] = diff
    if manifest["warnings"]:
        result["warnings"] = manifest["warnings"]
    return result


class ActionModule(_action.Action):
    def subject(self):
        manifest = self._task.args.get("manifest")
        return (manifest.get("path") if isinstance(manifest, dict) else None) or _defaults.MANIFEST_PATH

    def task(self, task_vars):
        return plan(self, task_vars)

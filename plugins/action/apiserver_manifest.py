# Copyright: (c) 2026, NNF kube_audit maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin of ``nnf.kube_audit.apiserver_manifest``: edit on the controller, read and write on the master.

One ``manifest_io`` read (manifest, stray candidates, path guards), the edit here with ruamel.yaml
(``plugin_utils/manifest_update.py``), and, when something changes and not in check mode, one compare-and-swap
``manifest_io`` write. The master needs only Python's standard library.
"""

from ansible_collections.nnf.kube_audit.plugins.module_utils import _defaults
from ansible_collections.nnf.kube_audit.plugins.plugin_utils import _action, manifest_update


def edit(action, params, task_vars):
    """The apiserver_manifest task for validated ``params``: its result, with diff and warnings."""
    snapshot = _action.execute(action, "manifest_io", manifest_update.read_options(params), task_vars)["snapshot"]
    if params["restore_from"]:
        result, write = manifest_update.plan_restore(params, snapshot)
    else:
        result, write = manifest_update.plan(params, snapshot)
    if write is not None and not action._task.check_mode:
        try:
            written = _action.execute(action, "manifest_io", dict(write, operation="write"), task_vars)
        except _action.RemoteFailure as exc:
            # What the failed write already did (stray files moved) is reported, and is a change.
            merged = dict(exc.result)
            merged.update(manifest_update.registered(manifest_update.finish(result, exc.result)))
            merged.update(failed=True, changed=bool(merged["stray_files"]))
            raise _action.RemoteFailure(merged) from None
        manifest_update.finish(result, written)
    if action._task.diff:
        result["diff"] = manifest_update.build_diff(result)
    warnings = result["warnings"]
    result = manifest_update.registered(result)
    if warnings:
        result["warnings"] = warnings
    return result


class ActionModule(_action.Action):
    def subject(self):
        return self._task.args.get("path") or _defaults.MANIFEST_PATH

    def task(self, task_vars):
        params = self.validated(manifest_update.ARGUMENT_SPEC, mutually_exclusive=manifest_update.MUTUALLY_EXCLUSIVE)
        return edit(self, params, task_vars)

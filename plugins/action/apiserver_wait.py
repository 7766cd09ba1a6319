# Copyright: (c) 2026, NNF kube_audit maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin of ``nnf.kube_audit.apiserver_wait``: read the manifest on the controller, wait on the node.

The node has no YAML library: the manifest's bytes come back from one ``manifest_io`` read, are decoded here the
way the kubelet decodes them (go-yaml v2, ``_goyaml``), and the container's spec goes to the ``apiserver_wait``
module, which waits on the node (``/proc``, the readiness probe). In check mode the module returns at once.
"""

import base64

from ansible_collections.nnf.kube_audit.plugins.module_utils import _defaults
from ansible_collections.nnf.kube_audit.plugins.module_utils._errors import ManifestError
from ansible_collections.nnf.kube_audit.plugins.module_utils.apiserver_process import PROCESS_NAME, find_container
from ansible_collections.nnf.kube_audit.plugins.plugin_utils import _action, _goyaml


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


def wait(action, task_vars):
    args = _action.plain(action._task.args)
    if not action._task.check_mode:
        path = args.get("manifest_path") or _defaults.MANIFEST_PATH
        snapshot = _action.execute(action, "manifest_io", {"path": path}, task_vars)["snapshot"]
        args["container_spec"] = container_spec(snapshot["content_base64"], path, args.get("container") or PROCESS_NAME)
        if args.get("changed_since") is None:
            args["changed_since"] = snapshot["mtime"]
    return _action.execute(action, "apiserver_wait", args, task_vars)


class ActionModule(_action.Action):
    def subject(self):
        return self._task.args.get("manifest_path") or _defaults.MANIFEST_PATH

    def task(self, task_vars):
        return wait(self, task_vars)

# Copyright: (c) 2026, NNF kube_audit maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin of ``nnf.kube_audit.audit_status``: two reads of the master, the judging on the controller.

``manifest_io`` reads the manifest, its directory's stray candidates and kubeadm-config; the manifest is decoded
here and names the host paths ``audit_status_io`` then reads (policy file, audit log) with the running process.
``plugin_utils/audit_status.row`` puts the row together. Read-only: the same in check mode.
"""

from ansible_collections.nnf.kube_audit.plugins.module_utils import _defaults
from ansible_collections.nnf.kube_audit.plugins.plugin_utils import _action, _strays, audit_status

ARGUMENT_SPEC = dict(
    manifest_path=dict(type="path", default=_defaults.MANIFEST_PATH),
    container=dict(type="str", default=_defaults.CONTAINER),
    kubeconfig=dict(type="path", default=_defaults.KUBECONFIG_PATH),
    read_kubeadm_config=dict(type="bool", default=True),
    thresholds=dict(
        type="dict",
        default={},
        options=dict(
            maxage=dict(type="int", default=30),
            maxbackup=dict(type="int", default=10),
            maxsize=dict(type="int", default=100),
        ),
    ),
)


class ActionModule(_action.Action):
    def subject(self):
        return self._task.args.get("manifest_path") or _defaults.MANIFEST_PATH

    def task(self, task_vars):
        params = self.validated(ARGUMENT_SPEC)
        path = params["manifest_path"]
        read = _action.execute(
            self,
            "manifest_io",
            {
                "path": path,
                "missing_ok": True,
                "scan_strays": True,
                "max_candidate_bytes": _strays.MAX_SCAN_BYTES,
                "stray_dir": f"{_defaults.BACKUP_DIR}/{_defaults.STRAY_SUBDIR}",
                "kubeconfig": params["kubeconfig"],
                "read_kubeadm_config": params["read_kubeadm_config"],
            },
            task_vars,
        )
        pod, container = audit_status.decode_manifest(read["snapshot"], path, params["container"])
        items = audit_status.command_items(container) if container is not None else None
        node = _action.execute(
            self,
            "audit_status_io",
            {
                "files": audit_status.files_to_read(pod, container, items),
                "secret_files": audit_status.files_to_read(pod, container, items, secret=True),
                "log_path": audit_status.log_to_read(pod, container, items),
                "container": params["container"],
            },
            task_vars,
        )
        found = audit_status.row(
            read=read,
            node=node,
            manifest_path=path,
            container_name=params["container"],
            thresholds=params["thresholds"],
        )
        return dict(found, changed=False)

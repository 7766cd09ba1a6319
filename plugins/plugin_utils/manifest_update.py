# Copyright: (c) 2026, NNF kube_audit maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The ``apiserver_manifest`` task, planned on the controller from one read of the master (no file system here).

``read_options(params)`` says what to read from the master (``manifest_io`` operation ``read``); ``plan(params,
snapshot)`` (or ``plan_restore``) decides, from what was read, the task's result and the compare-and-swap write to
send back (``manifest_io`` operation ``write``), or None when nothing is to change; ``finish()`` adds what the
write reported. The result keys are the module's documented return values plus ``before``/``after``/``warnings``
for the diff and the warnings (``INTERNAL_KEYS``).
"""

import base64
import os
from typing import Any, Dict, List, Optional, Tuple

from ansible_collections.nnf.kube_audit.plugins.module_utils import _defaults
from ansible_collections.nnf.kube_audit.plugins.module_utils._errors import ManifestError
from ansible_collections.nnf.kube_audit.plugins.module_utils._fileops import sha256_hex
from ansible_collections.nnf.kube_audit.plugins.plugin_utils import _strays
from ansible_collections.nnf.kube_audit.plugins.plugin_utils.manifest_editor import (
    HOST_PATH_TYPES,
    MountSpec,
    edit_manifest_text,
    pod_of,
)

ARGUMENT_SPEC = dict(
    path=dict(type="path", default=_defaults.MANIFEST_PATH),
    container=dict(type="str", default=_defaults.CONTAINER),
    args=dict(type="dict"),
    remove_args=dict(type="list", elements="str"),
    mounts=dict(
        type="list",
        elements="dict",
        options=dict(
            name=dict(type="str", required=True),
            host_path=dict(type="str", required=True),
            mount_path=dict(type="str"),
            type=dict(type="str", choices=list(HOST_PATH_TYPES)),
            read_only=dict(type="bool", default=False),
        ),
    ),
    remove_mounts=dict(type="list", elements="str"),
    annotations=dict(type="dict"),
    backup=dict(type="bool", default=False),
    backup_dir=dict(type="path", default=_defaults.BACKUP_DIR),
    clean_stray=dict(type="bool", default=True),
    stray_dir=dict(type="path"),
    restore_from=dict(type="path"),
)
# What restore_from replaces: it puts bytes back instead of editing.
EDIT_OPTIONS = ("args", "remove_args", "mounts", "remove_mounts", "annotations")
MUTUALLY_EXCLUSIVE = [("restore_from", option) for option in EDIT_OPTIONS]
# Bulky or internal result keys that go into the diff and the warnings, not into the registered result.
INTERNAL_KEYS = ("before", "after", "warnings", "path")


def stray_dir(params: Dict[str, Any]) -> str:
    return params["stray_dir"] or os.path.join(params["backup_dir"], _defaults.STRAY_SUBDIR)


def read_options(params: Dict[str, Any]) -> Dict[str, Any]:
    """The ``manifest_io`` read that gives ``plan()`` (or ``plan_restore()``) everything it needs."""
    if params["restore_from"]:
        return {"path": params["path"], "restore_from": params["restore_from"]}
    host_paths = [m.get("host_path") for m in params["mounts"] or [] if isinstance(m, dict)]
    return {
        "path": params["path"],
        "scan_strays": params["clean_stray"],
        "max_candidate_bytes": _strays.MAX_SCAN_BYTES,
        "backup_dir": params["backup_dir"] if params["backup"] else None,
        "stray_dir": stray_dir(params) if params["clean_stray"] else None,
        "host_paths": sorted({path for path in host_paths if isinstance(path, str) and path}),
    }


def _text(data: bytes, path: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ManifestError(f"{path} is not UTF-8 text: {exc}") from exc


def manifest_bytes(snapshot: Dict[str, Any]) -> bytes:
    return base64.b64decode(snapshot["content_base64"])


def plan(params: Dict[str, Any], snapshot: Dict[str, Any]) -> Tuple[Dict[str, Any], Optional[Dict[str, Any]]]:
    """The result of the edit ``params`` ask for, and the write that makes it (None: nothing to write)."""
    path = params["path"]
    data = manifest_bytes(snapshot)
    edit = edit_manifest_text(
        _text(data, path),
        container=params["container"],
        args=params["args"],
        remove_args=params["remove_args"],
        mounts=params["mounts"],
        remove_mounts=params["remove_mounts"],
        annotations=params["annotations"],
        source=path,
    )
    after_bytes = edit.after.encode("utf-8") if edit.changed else data
    for position, raw in enumerate(params["mounts"] or []):
        mount = MountSpec.from_dict(raw, position)
        if (snapshot.get("host_paths") or {}).get(mount.host_path) == "/":
            raise ManifestError(
                f"mounts[{position}] ({mount.name}): host_path {mount.host_path} resolves to / on this host: "
                "mounting the host's root directory into the container is refused"
            )
    moves: List[Dict[str, Any]] = []
    warnings = list(edit.warnings)
    target = stray_dir(params)
    if params["clean_stray"]:
        scan = _strays.classify(snapshot["candidates"], os.path.basename(path), edit.pod_name, edit.pod_namespace)
        warnings.extend(scan.warnings)
        moves = _strays.plan_moves(scan.strays, target, snapshot["stray_dir_entries"])
    result: Dict[str, Any] = {
        "changed": edit.changed or bool(moves),
        "manifest_changed": edit.changed,
        "path": path,
        "backup_file": None,
        "stray_dir": target if params["clean_stray"] else None,
        "stray_files": [{key: move[key] for key in ("from", "to", "reason")} for move in moves],
        "changes": list(edit.changes),
        "command": edit.command,
        "args": edit.flags,
        "mounts": edit.mounts,
        "annotations": edit.annotations,
        "checksum_before": snapshot["sha256"],
        "checksum_after": sha256_hex(after_bytes),
        "warnings": warnings,
        "before": edit.before,
        "after": edit.after,
    }
    if not result["changed"]:
        return result, None
    write = {
        "path": path,
        "expected_sha256": snapshot["sha256"],
        "content_base64": base64.b64encode(after_bytes).decode("ascii") if edit.changed else None,
        "backup": params["backup"] and edit.changed,
        "backup_dir": params["backup_dir"],
        "stray_dir": target,
        "moves": [{key: move[key] for key in ("from", "name", "reason", "sha256")} for move in moves],
    }
    return result, write


def _check_same_pod(backup_text: str, backup_file: str, current_text: str, path: str, container: str) -> None:
    """``restore_from`` must be a manifest of the pod ``path`` defines (when ``path`` can still be read as one)."""
    wanted = pod_of(backup_text, backup_file, container)
    try:
        current = pod_of(current_text, path, None)
    except ManifestError:
        return  # the current manifest is broken: putting a Pod manifest of the container back is the repair
    if current != wanted:
        raise ManifestError(
            f"restore_from {backup_file} defines pod {wanted[0]}/{wanted[1]}, but {path} defines "
            f"{current[0]}/{current[1]}: refusing to replace one pod with another"
        )


def plan_restore(params: Dict[str, Any], snapshot: Dict[str, Any]) -> Tuple[Dict[str, Any], Optional[Dict[str, Any]]]:
    """Put the bytes of ``restore_from`` back at ``path``: the rollback of a change this module made.

    The write replaces the manifest the way an edit does (a dot-file the kubelet ignores, then a rename, keeping
    mode, owner and SELinux context). Nothing else in the manifests directory is touched. Unchanged when the bytes
    are already there.
    """
    path, backup_file = params["path"], params["restore_from"]
    current = manifest_bytes(snapshot)
    backup = base64.b64decode(snapshot["restore"]["content_base64"])
    backup_text = _text(backup, backup_file)
    current_text = _text(current, path)
    _check_same_pod(backup_text, backup_file, current_text, path, params["container"])
    changed = backup != current
    result: Dict[str, Any] = {
        "changed": changed,
        "manifest_changed": changed,
        "path": path,
        "restored_from": backup_file,
        "backup_file": None,
        "stray_dir": None,
        "stray_files": [],
        "changes": [f"restored from {backup_file}"] if changed else [],
        "checksum_before": snapshot["sha256"],
        "checksum_after": sha256_hex(backup),
        "warnings": [],
        "before": current_text,
        "after": backup_text,
    }
    if not changed:
        return result, None
    write = {
        "path": path,
        "expected_sha256": snapshot["sha256"],
        "content_base64": snapshot["restore"]["content_base64"],
        "backup": False,
        "moves": [],
    }
    return result, write


def finish(result: Dict[str, Any], written: Dict[str, Any]) -> Dict[str, Any]:
    """``result`` after the write (or its failure): where the backup went, and the strays as they landed."""
    result["backup_file"] = written.get("backup_file")
    result["stray_files"] = written.get("stray_files") or []  # a write refused before it began moved nothing
    return result


def build_diff(result: Dict[str, Any]) -> List[Dict[str, str]]:
    """Ansible's diff for ``ansible-playbook --diff``: the manifest, then the stray files moving out."""
    diff: List[Dict[str, str]] = []
    if result["before"] != result["after"]:
        diff.append(
            {
                "before_header": result["path"],
                "after_header": result["path"],
                "before": result["before"],
                "after": result["after"],
            }
        )
    if result["stray_files"]:
        manifests_dir = os.path.dirname(os.path.abspath(result["path"]))
        lines = [f"stray files moved out of {manifests_dir} (the kubelet reads every file there):\n"]
        for move in result["stray_files"]:
            lines.append(f"  {move['from']} -> {move['to']}  [{move['reason']}]\n")
        diff.append({"prepared": "".join(lines)})
    return diff


def registered(result: Dict[str, Any]) -> Dict[str, Any]:
    """What the task registers: the result without the internal keys."""
    return {key: value for key, value in result.items() if key not in INTERNAL_KEYS}

# Copyright: (c) 2026, NNF kube_audit maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Stray files in the kubelet's manifests directory: which must go, and where (controller side).

The master lists the candidates and sends their bytes (``module_utils/_static_pod_files.stray_candidates``); which
pod a file defines is read here, as the kubelet reads it (go-yaml v2, ``_goyaml``). A file goes when its name is a
leftover pattern, or when it defines the same pod (namespace/name) as the managed manifest. A leftover-named file
that is the only definition of some other static pod stays, with a warning: moving it would stop that pod. Files
that cannot be read as a manifest stay, with a warning.
"""

import base64
import binascii
import fnmatch
import os
from typing import Any, Dict, List, Optional, Set, Tuple

from ansible_collections.nnf.kube_audit.plugins.plugin_utils import _goyaml

# Names of editor/patch/package-manager leftovers. The kubelet reads every non-dot regular file in the
# manifests directory whatever its suffix, so these must not stay there. Matched case-insensitively.
# Ansible's own backups (name.12345.2024-05-28@13:39:50~) are covered by "*~".
STRAY_PATTERNS = (
    "*.orig",
    "*.rej",
    "*.bak",
    "*.old",
    "*.save",
    "*~",
    "*.swp",
    "*.dpkg-*",
    "*.rpmnew",
    "*.rpmsave",
    "*.rpmorig",
    "*.patch",
    "*.diff",
    "*.yaml-*",
    "*.yml-*",
    "#*#",
)

# Files larger than this are not read while looking for duplicate pods (a manifest is a few KiB).
MAX_SCAN_BYTES = 4 * 1024 * 1024


class StrayFile:
    """A file the kubelet would read that has to leave the manifests directory."""

    def __init__(self, path: str, reason: str, sha256: Optional[str] = None) -> None:
        self.path = path
        self.reason = reason
        self.sha256 = sha256  # as read; None when the file was too large to read

    def __repr__(self) -> str:
        return f"StrayFile({self.path!r}, {self.reason!r})"


class StrayScan:
    def __init__(self, strays: List[StrayFile], warnings: List[str]) -> None:
        self.strays = strays
        self.warnings = warnings


def stray_pattern(name: str) -> Optional[str]:
    """The leftover pattern ``name`` matches, if any."""
    lowered = name.lower()
    for pattern in STRAY_PATTERNS:
        if fnmatch.fnmatchcase(lowered, pattern):
            return pattern
    return None


def one_line(text: str) -> str:
    return " ".join(str(text).split())


def pod_identity(candidate: Dict[str, Any]) -> Tuple[Optional[Tuple[str, str]], Optional[str]]:
    """(namespace, name) of the pod a candidate file defines, as the kubelet would read it, or a read problem.

    The kubelet decodes the first YAML (or JSON) document and defaults the namespace to "default". A file that
    decodes but is not a Pod gives (None, None).
    """
    if candidate.get("problem"):
        return None, one_line(candidate["problem"])
    if candidate.get("content_base64") is None:
        return None, f"larger than {MAX_SCAN_BYTES} bytes, not read"
    try:
        text = base64.b64decode(candidate["content_base64"], validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        return None, one_line(str(exc))
    try:
        document = _goyaml.load(text)
    except _goyaml.YamlError as exc:
        return None, one_line(str(exc))
    if not isinstance(document, dict) or document.get("kind") != "Pod":
        return None, None
    metadata = document.get("metadata")
    if not isinstance(metadata, dict) or not isinstance(metadata.get("name"), str):
        return None, None
    namespace = metadata.get("namespace")
    return (namespace if isinstance(namespace, str) and namespace else "default", metadata["name"]), None


def classify(
    candidates: List[Dict[str, Any]], manifest_name: str, pod_name: str, pod_namespace: str = "kube-system"
) -> StrayScan:
    """The candidates that must go, and warnings about those left alone (see the module docstring)."""
    managed = (pod_namespace or "default", pod_name)
    entries = []
    for candidate in candidates:
        identity, problem = pod_identity(candidate)
        entries.append((candidate, stray_pattern(candidate["name"]), identity, problem))

    defined_elsewhere = {identity for _c, pattern, identity, _p in entries if pattern is None and identity}
    defined_elsewhere.add(managed)
    strays: List[StrayFile] = []
    warnings: List[str] = []
    for candidate, pattern, identity, problem in entries:
        path, digest = candidate["path"], candidate.get("sha256")
        if pattern is not None:
            if identity is not None and identity not in defined_elsewhere:
                warnings.append(
                    f"{path} looks like a leftover ({pattern}) but is the only definition of static pod "
                    f"{identity[0]}/{identity[1]}; left in place because moving it would stop that pod"
                )
                continue
            reason = f"leftover name ({pattern})"
            if identity == managed:
                reason += f", defines pod {managed[0]}/{managed[1]}"
            strays.append(StrayFile(path, reason, digest))
        elif identity == managed:
            strays.append(StrayFile(path, f"defines pod {managed[0]}/{managed[1]}, like {manifest_name}", digest))
        elif identity is not None and identity[1] == managed[1]:
            warnings.append(
                f"{path} defines a pod named {identity[1]} in namespace {identity[0]} "
                f"(the managed one is in {managed[0]}); left in place"
            )
        elif problem is not None:
            warnings.append(f"{path} is not a readable manifest ({problem}); left in place")
    return StrayScan(strays, warnings)


def plan_moves(strays: List[StrayFile], stray_dir: str, existing: List[str]) -> List[Dict[str, Any]]:
    """Destinations in ``stray_dir`` (whose entries are ``existing``); a taken name gets a numeric suffix."""
    taken: Set[str] = set(existing)
    moves = []
    for stray in strays:
        base = os.path.basename(stray.path)
        name, number = base, 0
        while name in taken:
            number += 1
            name = f"{base}.{number}"
        taken.add(name)
        moves.append(
            {
                "from": stray.path,
                "to": os.path.join(stray_dir, name),
                "name": name,
                "reason": stray.reason,
                "sha256": stray.sha256,
            }
        )
    return moves

# Copyright: (c) 2026, NNF kube_audit maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""One master's audit status row, put together on the controller from two reads of the master.

1. ``manifest_io`` read: the manifest (decoded here as the kubelet decodes it, ``_goyaml``), the stray candidates of
   its directory (judged by ``_strays``), and, with a kubeconfig, kubeadm-config.
2. ``audit_status_io``: the running kube-apiserver (``/proc``), the installed files the manifest's flags name (host
   paths through the pod's hostPath volumes, ``host_path``) and the audit log.

The row: ``live`` (the process, its audit flags), ``drift`` (``_audit_drift``), ``kubeadm_config`` (whether it
was compared, and why not), ``log`` (with the disk budget the
flags allow), ``benchmarks`` (``_audit_benchmarks``, judged on the live flags), and ``audited``/``ok``.
"""

import base64
import os

from ansible_collections.nnf.kube_audit.plugins.module_utils import _defaults, _flags
from ansible_collections.nnf.kube_audit.plugins.module_utils._errors import ManifestError
from ansible_collections.nnf.kube_audit.plugins.module_utils.apiserver_process import find_container
from ansible_collections.nnf.kube_audit.plugins.plugin_utils import (
    _audit_benchmarks,
    _audit_drift,
    _goyaml,
    _strays,
    audit_policy,
)

# The file each audit flag names, and the pod annotation that records its sha256 (as the roles write them). The
# webhook kubeconfig may hold a key: it is hashed on the master, never sent back.
CHECKSUM_ANNOTATION = "audit.nnf.cray.hpe.com/policy-checksum"
WEBHOOK_CHECKSUM_ANNOTATION = "audit.nnf.cray.hpe.com/webhook-config-checksum"
FILES = (
    ("audit-policy-file", CHECKSUM_ANNOTATION, False),
    ("audit-webhook-config-file", WEBHOOK_CHECKSUM_ANNOTATION, True),
)


def decode_manifest(snapshot, path, container_name):
    """``(pod, container)`` of the manifest bytes the master sent, or ``(None, None)`` when there is none."""
    if not snapshot.get("exists", True) or snapshot.get("content_base64") is None:
        return None, None
    try:
        pod = _goyaml.load(base64.b64decode(snapshot["content_base64"]).decode("utf-8"))
        return pod, find_container(pod, container_name)
    except (UnicodeDecodeError, _goyaml.YamlError, ManifestError) as exc:
        raise ManifestError(f"Cannot read {path}: {exc}") from None


def command_items(container):
    """``command[1:] + args`` of the container, as plain text (what follows argv[0])."""
    items = [str(item) for key in ("command", "args") for item in container.get(key) or []]
    return items[1:]


def host_path(container_path, pod, container):
    """The host path behind ``container_path`` through the container's hostPath mounts (the longest mount that
    holds it), or None when no hostPath volume holds it (the container's own file system)."""
    if not container_path:
        return None
    volumes = {v.get("name"): v for v in (pod.get("spec") or {}).get("volumes") or [] if isinstance(v, dict)}
    best = None
    for mount in container.get("volumeMounts") or []:
        mount_path = str(mount.get("mountPath") or "").rstrip("/") or "/"
        source = (volumes.get(mount.get("name")) or {}).get("hostPath")
        if not source:
            continue
        holds = container_path == mount_path or container_path.startswith(mount_path.rstrip("/") + "/")
        if holds and (best is None or len(mount_path) > len(best[0])):
            best = (mount_path, str(source.get("path") or ""))
    if best is None:
        return None
    mount_path, source_path = best
    rest = container_path[len(mount_path) :].lstrip("/")
    return os.path.join(source_path, rest) if rest else source_path.rstrip("/") or "/"


def audit_volumes(pod, container, items):
    """The volumes holding the files the audit flags name, as kubeadm's extraVolumes describe them, by name."""
    flags = _audit_drift.audit_flags(items)
    wanted = [
        flags.get("audit-policy-file"),
        flags.get("audit-webhook-config-file"),
        os.path.dirname(flags.get("audit-log-path") or "") or None,
    ]
    volumes = {v.get("name"): v for v in (pod.get("spec") or {}).get("volumes") or [] if isinstance(v, dict)}
    found = {}
    for mount in container.get("volumeMounts") or []:
        mount_path = str(mount.get("mountPath") or "")
        base = mount_path.rstrip("/")
        if not any(path and (path == base or path.startswith(base + "/")) for path in wanted):
            continue
        source = (volumes.get(mount.get("name")) or {}).get("hostPath") or {}
        found[mount.get("name")] = {
            "hostPath": source.get("path", ""),
            "mountPath": mount_path,
            "readOnly": bool(mount.get("readOnly", False)),
            "pathType": source.get("type", ""),
        }
    return found


def strays_of(read, manifest_path, pod):
    candidates = read["snapshot"].get("candidates") or []
    metadata = (pod or {}).get("metadata") or {}
    scan = _strays.classify(
        candidates,
        os.path.basename(manifest_path),
        str(metadata.get("name") or "kube-apiserver"),
        str(metadata.get("namespace") or "kube-system"),
    )
    return [{"path": stray.path, "reason": stray.reason} for stray in scan.strays]


def _named_files(pod, container, items):
    """``[(host path, annotation, secret)]`` of the files the manifest's audit flags name, in FILES order."""
    if pod is None:
        return []
    found = []
    for flag, annotation, secret in FILES:
        path = host_path(_flags.value_of(items, flag), pod, container)
        if path:
            found.append((path, annotation, secret))
    return found


def files_to_read(pod, container, items, secret=False):
    """Host paths the second read hashes: the policy file (and, with ``secret``, the webhook kubeconfig, whose
    content is never read back) the manifest names."""
    return [path for path, _annotation, is_secret in _named_files(pod, container, items) if is_secret == secret]


def log_to_read(pod, container, items):
    path = _flags.value_of(items, "audit-log-path") if items is not None else None
    if not path or path == _defaults.LOG_TO_STDOUT or pod is None:
        return path
    return host_path(path, pod, container)


def _policy(file_state):
    if not file_state or not file_state.get("content_base64"):
        return None
    try:
        policy, _warnings = audit_policy.load_policy(base64.b64decode(file_state["content_base64"]))
    except audit_policy.PolicyError:
        return None
    return policy


def row(*, read, node, manifest_path, container_name=_defaults.CONTAINER, thresholds=None):
    """The status of one master from its two reads (see the module docstring)."""
    pod, container = decode_manifest(read["snapshot"], manifest_path, container_name)
    items = command_items(container) if container is not None else None
    live = node["live"]
    live_items = live["argv"][1:] if live else []
    live_flags = _flags.values(live_items) if live else {}
    manifest_flags = _flags.values(items) if items is not None else None
    annotations = ((pod or {}).get("metadata") or {}).get("annotations") or {}
    # The node's files are files_to_read's, then the secret ones: the order of _named_files, public ones first.
    named = sorted(_named_files(pod, container, items), key=lambda named_file: named_file[2])
    files = [dict(state, annotation=annotation) for state, (_path, annotation, _secret) in zip(node["files"], named)]
    kubeadm_read = read.get("kubeadm_config") or {}
    kubeadm = kubeadm_read.get("cluster_configuration")
    cluster_configuration = _goyaml.load(kubeadm) if kubeadm else None
    if cluster_configuration is not None:
        kubeadm_compared = "compared with the manifest"
    else:  # said, so that "no kubeadm-config drift" is never read into a comparison that did not happen
        why = kubeadm_read.get("error") or kubeadm_read.get("missing") or "not asked for"
        kubeadm_compared = f"not compared: {why}"
    drift = _audit_drift.drift(
        manifest_items=items,
        manifest_changed=read["snapshot"].get("mtime"),
        manifest_volumes=audit_volumes(pod, container, items) if items is not None else {},
        annotations=annotations,
        live=live,
        files=files,
        cluster_configuration=cluster_configuration,
        strays=strays_of(read, manifest_path, pod) if pod is not None else [],
    )
    policy = _policy(next((state for state in files if state["annotation"] == CHECKSUM_ANNOTATION), None))
    benchmarks = _audit_benchmarks.evaluate(live_flags, manifest_flags, policy, thresholds)
    # A backend: the log, or the webhook (kube_audit_log_path null).
    backend = live_flags.get("audit-log-path") or live_flags.get("audit-webhook-config-file")
    audited = bool(live) and bool(live_flags.get("audit-policy-file")) and bool(backend)
    log = dict(node["log"], budget_bytes=_audit_benchmarks.disk_budget(live_flags))
    return {
        "audited": audited,
        "ok": audited and not drift,
        "live": None
        if live is None
        else {"pid": live["pid"], "started": live["started"], "audit_flags": _audit_drift.audit_flags(live_items)},
        "drift": drift,
        "kubeadm_config": kubeadm_compared,
        "log": log,
        "benchmarks": benchmarks,
    }

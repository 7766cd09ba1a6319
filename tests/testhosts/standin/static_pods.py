"""The kubelet's static-pod rules the stand-in follows (pkg/kubelet/config/file.go, pkg/volume/hostpath).

* Listing: every entry of the manifests directory whose name does not start with ``.``, sorted; ``stat`` (it
  follows symlinks) must say regular file; directories and anything else are skipped, as are files that do not
  decode as a valid Pod (logged, not fatal).
* Identity: a full listing fills an undelta store keyed by ``namespace/name`` in sorted order, so when two files
  define the same pod the one sorted last wins (between listings the kubelet applies inotify events one file at a
  time: see ``kubelet.py``). A static pod's UID is a hash of the node name, the file it came from and the decoded
  pod: any change to the parsed pod (spec, labels, annotations) or to the winning file makes a new pod, so the old
  container is killed and a new one started. Formatting and comments do not count.
* hostPath volumes: checked before the container starts (``checkTypeInternal``): ``DirectoryOrCreate`` and
  ``FileOrCreate`` create what is missing, the other types must already be there, with kube's messages.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from typing import Callable, Dict, List, NamedTuple, Optional, Tuple

try:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError
except ImportError:  # the stand-ins run under the project venv, which has it
    YAML = None
    YAMLError = Exception

HOST_PATH_TYPES = ("", "DirectoryOrCreate", "Directory", "FileOrCreate", "File", "Socket", "CharDevice", "BlockDevice")
APISERVER_POD = "kube-system/kube-apiserver"
APISERVER_CONTAINER = "kube-apiserver"


class ManifestError(Exception):
    """A manifest file the kubelet would skip ("Could not process manifest file")."""


def list_manifest_files(directory: str) -> List[str]:
    """The files the kubelet reads, in the order it reads them."""
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return []
    found = []
    for name in sorted(names):
        if name.startswith("."):
            continue
        path = os.path.join(directory, name)
        try:
            if stat.S_ISREG(os.stat(path).st_mode):
                found.append(path)
        except OSError:  # a dangling symlink, or gone since the listing
            continue
    return found


def _field_errors(pod: Dict) -> List[str]:
    """The part of ValidatePodCreate a hand-edited control-plane manifest can trip over."""
    errors = []
    metadata = pod.get("metadata") or {}
    if not metadata.get("name"):
        errors.append("metadata.name: Required value: name or generateName is required")
    spec = pod.get("spec")
    if not isinstance(spec, dict):
        return [*errors, "spec: Required value"]
    volumes = spec.get("volumes") or []
    volume_names = set()
    for index, volume in enumerate(volumes):
        name = (volume or {}).get("name")
        where = f"spec.volumes[{index}]"
        if not name:
            errors.append(f"{where}.name: Required value")
        elif name in volume_names:
            errors.append(f'{where}.name: Duplicate value: "{name}"')
        volume_names.add(name)
        host_path = (volume or {}).get("hostPath")
        if host_path is not None:
            if not host_path.get("path"):
                errors.append(f"{where}.hostPath.path: Required value")
            path_type = host_path.get("type") or ""
            if path_type not in HOST_PATH_TYPES:
                supported = ", ".join(f'"{value}"' for value in sorted(HOST_PATH_TYPES))
                errors.append(f'{where}.hostPath.type: Unsupported value: "{path_type}": supported values: {supported}')
    containers = spec.get("containers") or []
    if not containers:
        errors.append("spec.containers: Required value")
    for c_index, container in enumerate(containers):
        where = f"spec.containers[{c_index}]"
        if not (container or {}).get("name"):
            errors.append(f"{where}.name: Required value")
        if not (container or {}).get("image"):
            errors.append(f"{where}.image: Required value")
        mount_paths = set()
        for m_index, mount in enumerate((container or {}).get("volumeMounts") or []):
            m_where = f"{where}.volumeMounts[{m_index}]"
            name = (mount or {}).get("name")
            mount_path = (mount or {}).get("mountPath")
            if not name:
                errors.append(f"{m_where}.name: Required value")
            elif name not in volume_names:
                errors.append(f'{m_where}.name: Not found: "{name}"')
            if not mount_path:
                errors.append(f"{m_where}.mountPath: Required value")
            elif mount_path in mount_paths:
                errors.append(f'{m_where}.mountPath: Invalid value: "{mount_path}": must be unique')
            mount_paths.add(mount_path)
    return errors


def parse_pod(text: str, source: str) -> Dict:
    """Decode one manifest the way tryDecodeSinglePod does; raise ManifestError with the kubelet's wording."""
    if YAML is None:
        raise ManifestError("ruamel.yaml is not installed")
    try:
        documents = YAML(typ="safe", pure=True).load_all(text)
        pod = next(iter(documents), None)
    except YAMLError as exc:
        raise ManifestError(f"{source}: couldn't parse as pod({exc}), please check manifest file.") from exc
    if not isinstance(pod, dict) or pod.get("kind") != "Pod" or pod.get("apiVersion") != "v1":
        kind = pod.get("kind") if isinstance(pod, dict) else type(pod).__name__
        raise ManifestError(
            f"{source}: couldn't parse as pod(kind {kind!r} is not a v1 Pod), please check manifest file."
        )
    errors = _field_errors(pod)
    if errors:
        raise ManifestError("invalid pod: [" + " ".join(errors) + "]")
    return pod


def pod_key(pod: Dict) -> str:
    metadata = pod.get("metadata") or {}
    return f"{metadata.get('namespace') or 'default'}/{metadata.get('name')}"


def pod_uid(pod: Dict, source: str, node_name: str) -> str:
    """The static pod's UID: node, source file and the decoded pod, so formatting alone changes nothing.

    32 hex digits like the kubelet's (an MD5 of the Go object there; the decoded pod as canonical JSON here).
    """
    digest = hashlib.sha256()
    digest.update(f"host:{node_name}".encode())
    digest.update(f"file:{source}".encode())
    digest.update(json.dumps(pod, sort_keys=True, separators=(",", ":"), default=str).encode())
    return digest.hexdigest()[:32]


class StaticPod(NamedTuple):
    key: str
    source: str
    pod: Dict


def read_manifests(
    directory: str, read: Optional[Callable[[str], str]] = None
) -> Tuple[List[StaticPod], Dict[str, str]]:
    """extractFromDir: every valid pod in listing order, and the error of each file skipped."""
    read = read or _read_text
    found: List[StaticPod] = []
    errors: Dict[str, str] = {}
    for path in list_manifest_files(directory):
        try:
            pod = parse_pod(read(path), path)
        except (ManifestError, OSError, UnicodeDecodeError) as exc:
            errors[path] = str(exc)
            continue
        found.append(StaticPod(pod_key(pod), path, pod))
    return found, errors


def effective_pods(
    directory: str, read: Optional[Callable[[str], str]] = None
) -> Tuple[Dict[str, StaticPod], Dict[str, str]]:
    """(pods by key, the last file of each key winning; errors by file) after a full listing of the directory."""
    manifests, errors = read_manifests(directory, read)
    return {static_pod.key: static_pod for static_pod in manifests}, errors


def _read_text(path: str) -> str:
    with open(path, encoding="utf-8") as handle:
        return handle.read()


# --------------------------------------------------------------------------------------------------- container


def find_container(pod: Dict, name: str = APISERVER_CONTAINER) -> Dict:
    containers = (pod.get("spec") or {}).get("containers") or []
    for container in containers:
        if container.get("name") == name:
            return container
    return containers[0]


def container_argv(container: Dict) -> List[str]:
    """What the runtime executes: ``command`` then ``args`` (no image entrypoint to fall back on here)."""
    return [str(item) for item in (container.get("command") or []) + (container.get("args") or [])]


def probe_endpoint(container: Dict, node_address: str) -> Optional[Tuple[str, str, int, str]]:
    """(scheme, host, port, path) of the readiness probe (else startup, else liveness), or None."""
    for kind in ("readinessProbe", "startupProbe", "livenessProbe"):
        http_get = (container.get(kind) or {}).get("httpGet")
        if http_get and str(http_get.get("port", "")).isdigit():
            return (
                str(http_get.get("scheme") or "HTTP").upper(),
                str(http_get.get("host") or node_address),
                int(http_get["port"]),
                str(http_get.get("path") or "/"),
            )
    return None


class Mount(NamedTuple):
    volume: str
    mount_path: str
    host_path: Optional[str]  # None for volumes that are not hostPath (emptyDir, configMap...)
    host_path_type: str
    read_only: bool


def _clean(path: str) -> str:
    return path.rstrip("/") or "/"


def container_mounts(pod: Dict, container: Dict) -> List[Mount]:
    volumes = {volume.get("name"): volume for volume in (pod.get("spec") or {}).get("volumes") or []}
    mounts = []
    for mount in container.get("volumeMounts") or []:
        volume = volumes.get(mount.get("name")) or {}
        host_path = volume.get("hostPath") or None
        path = host_path.get("path") if host_path else None
        if path and mount.get("subPath"):
            path = os.path.join(path, mount["subPath"])
        mounts.append(
            Mount(
                volume=mount.get("name"),
                mount_path=_clean(str(mount.get("mountPath"))),
                host_path=_clean(path) if path else None,
                host_path_type=(host_path or {}).get("type") or "",
                read_only=bool(mount.get("readOnly")),
            )
        )
    return mounts


def covering_mount(mounts: List[Mount], path: str) -> Optional[Mount]:
    """The mount through which the container sees ``path`` (the deepest mountPath containing it), or None."""
    path = _clean(os.path.normpath(path))
    best = None
    for mount in mounts:
        inside = path == mount.mount_path or path.startswith(mount.mount_path.rstrip("/") + "/")
        if inside and (best is None or len(mount.mount_path) > len(best.mount_path)):
            best = mount
    return best


def host_side(mount: Mount, path: str) -> Optional[str]:
    """Where on the host the container's ``path`` (under ``mount``) really is; None when not a hostPath volume."""
    if mount.host_path is None:
        return None
    rest = _clean(os.path.normpath(path))[len(mount.mount_path) :].lstrip("/")
    return os.path.join(mount.host_path, rest) if rest else mount.host_path


# --------------------------------------------------------------------------------------------------- hostPath


def check_host_path(path: str, path_type: str, may_create: Callable[[str], bool] = lambda _path: True) -> Optional[str]:
    """checkTypeInternal: None when the volume can be set up, else the kubelet's error (creating as it does)."""
    if not path_type:
        return None
    exists = os.path.exists(path)
    if path_type == "DirectoryOrCreate" and not exists:
        if not may_create(path):
            return f"kubelet stand-in refuses to create {path} outside the test host's private filesystem"
        try:
            os.makedirs(path, mode=0o755)
        except OSError as exc:
            return f"mkdir {path}: {exc.strerror.lower()}"
        return None
    if path_type == "FileOrCreate" and not exists:
        if not may_create(path):
            return f"kubelet stand-in refuses to create {path} outside the test host's private filesystem"
        try:
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o644))  # no parent directories, like makeFile
        except OSError as exc:
            return f"open {path}: {exc.strerror.lower()}"
        return None
    tests = {
        "DirectoryOrCreate": (stat.S_ISDIR, "a directory"),
        "Directory": (stat.S_ISDIR, "a directory"),
        "FileOrCreate": (stat.S_ISREG, "a file"),
        "File": (stat.S_ISREG, "a file"),
        "Socket": (stat.S_ISSOCK, "a socket file"),
        "CharDevice": (stat.S_ISCHR, "a character device"),
        "BlockDevice": (stat.S_ISBLK, "a block device"),
    }
    if path_type not in tests:
        return f"{path_type} is an invalid volume type"
    test, what = tests[path_type]
    try:
        mode = os.stat(path).st_mode
    except OSError:
        mode = 0
    if not test(mode):
        return f"hostPath type check failed: {path} is not {what}"
    return None


def mount_volumes(pod: Dict, may_create: Callable[[str], bool]) -> List[Tuple[str, str]]:
    """Set up every hostPath volume of the pod: (volume, error) for each that fails, in volume order."""
    failures = []
    for volume in (pod.get("spec") or {}).get("volumes") or []:
        host_path = volume.get("hostPath")
        if not host_path:
            continue
        error = check_host_path(str(host_path.get("path")), host_path.get("type") or "", may_create)
        if error:
            failures.append((volume.get("name"), error))
    return failures

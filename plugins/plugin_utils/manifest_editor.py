# Copyright: (c) 2026, NNF kube_audit maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Edit one container of a kubelet static-pod manifest, as text, on the controller (ruamel.yaml round trip).

``edit_manifest_text()`` takes the manifest text and the wanted flags, mounts and annotations and returns a
``ManifestEdit``: the new text plus a summary. Every byte that is not edited stays identical (ruamel.yaml round
trip), and a request that changes nothing returns the input text unchanged. No file system access: the
``apiserver_manifest`` action plugin reads the file from the master and writes the result back
(``manifest_update.py``). How comments stay in place: ``_ruamel.py``.
"""

import fnmatch
import posixpath
import re
from collections import Counter
from typing import Any, Dict, List, Optional, Set, Tuple

from ansible_collections.nnf.kube_audit.plugins.module_utils import _defaults, _flags
from ansible_collections.nnf.kube_audit.plugins.module_utils._errors import ManifestError
from ansible_collections.nnf.kube_audit.plugins.plugin_utils import _goyaml, _ruamel
from ansible_collections.nnf.kube_audit.plugins.plugin_utils._ruamel import (
    CommentedMap,
    CommentedSeq,
    ScalarString,
    SingleQuotedScalarString,
    YAMLError,
)

DEFAULT_CONTAINER = _defaults.CONTAINER

HOST_PATH_TYPES = ("DirectoryOrCreate", "Directory", "FileOrCreate", "File", "Socket", "CharDevice", "BlockDevice")

_FLAG_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_FLAG_PATTERN_RE = re.compile(r"^[A-Za-z0-9._\-*?\[\]!]+$")
_DNS_LABEL_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_BARE_DOCUMENT_START_RE = re.compile(r"^---[ \t]*(#.*)?$")
_DOCUMENT_END_RE = re.compile(r"^\.\.\.[ \t]*(#.*)?$")


# --------------------------------------------------------------------------------------------------
# YAML round trip
# --------------------------------------------------------------------------------------------------


class Framing:
    """What ruamel.yaml does not reproduce around a document: kept aside and put back verbatim.

    That is the lines before the document content (comments, ``%`` directives, a bare ``---``, blank
    lines), a trailing ``...`` with what follows it, a missing final newline, and CRLF line ends.
    """

    def __init__(self, text: str) -> None:
        self.crlf = "\r\n" in text and text.count("\r\n") == text.count("\n")
        if self.crlf:
            text = text.replace("\r\n", "\n")
        self.final_newline = text.endswith("\n")
        lines = _ruamel.lines(text)
        start = 0
        for number, line in enumerate(lines):
            stripped = line.strip()
            if stripped and not stripped.startswith(("#", "%")) and not _BARE_DOCUMENT_START_RE.match(stripped):
                break
            start = number + 1
        end = len(lines)
        for number in range(len(lines) - 1, start - 1, -1):
            stripped = lines[number].strip()
            if _DOCUMENT_END_RE.match(stripped):
                end = number
                break
            if stripped and not stripped.startswith("#"):
                break
        self.head = "".join(lines[:start])
        self.body = "".join(lines[start:end])
        self.tail = "".join(lines[end:])
        if self.body and not self.body.endswith("\n"):
            self.body += "\n"

    def wrap(self, body: str) -> str:
        text = self.head + body + self.tail
        if not self.final_newline and text.endswith("\n"):
            text = text[:-1]
        if self.crlf:
            text = text.replace("\n", "\r\n")
        return text


_NEWLINES = "\r\n"


def _line_ending(line: str) -> str:
    if line.endswith("\r\n"):
        return "CRLF"
    return "LF" if line.endswith("\n") else "no line break"


def first_difference(before: str, after: str) -> str:
    """Where a rewrite of ``before`` would first differ from it, in words (line numbers from 1)."""
    before_lines = _ruamel.lines(before)
    after_lines = _ruamel.lines(after)
    for number, (old, new) in enumerate(zip(before_lines, after_lines), start=1):
        if old == new:
            continue
        if old.rstrip("\r\n") == new.rstrip("\r\n"):
            endings = {_line_ending(line) for line in before_lines}
            mixed = " (the file mixes CRLF and LF line endings)" if {"CRLF", "LF"} <= endings else ""
            return f"line {number} ends with {_line_ending(old)} but would end with {_line_ending(new)}{mixed}"
        return f"line {number} {old.rstrip(_NEWLINES)!r} would be rewritten as {new.rstrip(_NEWLINES)!r}"
    if len(before_lines) == len(after_lines):
        return "the text would change"
    return f"the line count would change from {len(before_lines)} to {len(after_lines)}"


def roundtrip_text(text: str) -> str:
    """Load and dump ``text`` without edits (what an edit does to the bytes it does not touch)."""
    framing = Framing(text)
    yaml = _ruamel.new_yaml()
    return framing.wrap(_ruamel.dump(yaml, yaml.load(framing.body)))


def load_single_document(text: str, source: str) -> Any:
    """Parse ``text`` as exactly one YAML document, or raise ManifestError naming ``source``."""
    yaml = _ruamel.new_yaml()
    try:
        documents = list(yaml.load_all(text))
    except YAMLError as exc:
        raise ManifestError(f"{source} is not valid YAML: {one_line(exc)}") from exc
    if not documents or all(document is None for document in documents):
        raise ManifestError(f"{source} is empty: it contains no YAML document")
    if len(documents) > 1:
        raise ManifestError(
            f"{source} contains {len(documents)} YAML documents; a static-pod manifest must hold exactly one Pod"
        )
    return documents[0]


def pod_of(text: str, source: str, container: Optional[str]) -> Tuple[str, str]:
    """(namespace, name) of the static pod ``text`` defines, or ManifestError naming ``source``."""
    document = load_single_document(text, source)
    if not isinstance(document, dict) or document.get("kind") != "Pod":
        kind = document.get("kind") if isinstance(document, dict) else type(document).__name__
        raise ManifestError(f"{source} is not a static-pod manifest (kind {kind!r}, not 'Pod')")
    metadata = document.get("metadata")
    if not isinstance(metadata, dict) or not isinstance(metadata.get("name"), str):
        raise ManifestError(f"{source} is not a static-pod manifest: metadata.name is missing")
    if container is not None:
        spec = document.get("spec")
        containers = spec.get("containers") if isinstance(spec, dict) else None
        names = [c.get("name") for c in containers or [] if isinstance(c, dict)] if isinstance(containers, list) else []
        if container not in names:
            raise ManifestError(f"{source} has no container named {container!r}: it is not a manifest of this pod")
    namespace = metadata.get("namespace")
    return (namespace if isinstance(namespace, str) and namespace else "default", metadata["name"])


def one_line(exc: BaseException) -> str:
    """A parser error in one line: what went wrong and where, without the echoed source."""
    problem = getattr(exc, "problem", None)
    mark = getattr(exc, "problem_mark", None)
    if problem and mark is not None:
        context = getattr(exc, "context", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}"
        return f"{context}: {problem} at {where}" if context else f"{problem} at {where}"
    return " ".join(str(exc).split())


def kubelet_safe(value: Any) -> Any:
    """A new string scalar as it must be written for the kubelet to read it back as that same string.

    The kubelet decodes manifests as YAML 1.1 (go-yaml v2): a plain ``yes``, ``on``, ``n``, ``0x1F`` or ``1_000``
    is no string there, and a Pod whose string field holds a boolean or number does not decode. Such a string is
    written double-quoted; every other value is returned unchanged.
    """
    if isinstance(value, str) and not isinstance(value, ScalarString) and not _goyaml.plain_scalar_is_string(value):
        return SingleQuotedScalarString(value)
    return value


def set_scalar(owner: Any, key: Any, value: Any) -> None:
    """Replace a scalar, keeping its quoting style (and its comments, which ruamel keeps by key)."""
    old = owner[key]
    value = type(old)(value) if isinstance(old, ScalarString) and isinstance(value, str) else kubelet_safe(value)
    if isinstance(owner, CommentedSeq):
        list.__setitem__(owner, key, value)
    else:
        owner[key] = value


def seq_append(seq: Any, items: Any) -> None:
    _ruamel.seq_append(seq, [kubelet_safe(item) for item in items])


def map_insert(mapping: Any, key: Any, value: Any) -> None:
    _ruamel.map_insert(mapping, kubelet_safe(key), kubelet_safe(value))


# --------------------------------------------------------------------------------------------------
# Request normalisation
# --------------------------------------------------------------------------------------------------


def normalize_flag_name(name: Any, option: str = "args") -> str:
    """``audit-log-path`` and ``--audit-log-path`` both name the flag ``audit-log-path``."""
    if not isinstance(name, str):
        raise ManifestError(f"{option}: flag name {name!r} is not a string")
    stripped = name.strip()
    if stripped.startswith("--"):
        stripped = stripped[2:]
    if not _FLAG_NAME_RE.match(stripped):
        raise ManifestError(f"{option}: {name!r} is not a flag name (expected e.g. audit-log-path or --audit-log-path)")
    return stripped


flag_key = _flags.flag_key


def render_flag_value(value: Any, what: str) -> str:
    """Render a value the way kube-apiserver reads it: true/false lowercase, numbers plain.

    Also used for annotation values, which Kubernetes stores as strings too.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        if "\n" in value or "\r" in value:
            raise ManifestError(f"{what}: the value must be a single line, got {value!r}")
        return str(value)  # a plain str, also for str subclasses
    raise ManifestError(
        f"{what}: value {value!r} is a {type(value).__name__}; use a string, number or boolean "
        "(write a list as one comma-separated string)"
    )


class MountSpec:
    """One wanted hostPath volume together with its volumeMount in the edited container."""

    def __init__(
        self,
        name: str,
        host_path: str,
        mount_path: Optional[str] = None,
        type: Optional[str] = None,
        read_only: bool = False,
    ) -> None:
        self.name = name
        self.host_path = host_path
        self.mount_path = mount_path if mount_path else host_path
        self.type = type
        self.read_only = read_only

    @classmethod
    def from_dict(cls, raw: Any, position: int) -> "MountSpec":
        where = f"mounts[{position}]"
        if isinstance(raw, MountSpec):
            raw = raw.as_dict()
        if not isinstance(raw, dict):
            raise ManifestError(f"{where}: expected a dict with name, host_path, mount_path, type, read_only")
        unknown = sorted(set(raw) - {"name", "host_path", "mount_path", "type", "read_only"})
        if unknown:
            raise ManifestError(f"{where}: unknown keys {', '.join(unknown)}")
        name = raw.get("name")
        if not isinstance(name, str) or len(name) > 63 or not _DNS_LABEL_RE.match(name):
            raise ManifestError(f"{where}: name {name!r} is not a valid volume name (a DNS label such as k8s-log)")
        host_path = raw.get("host_path")
        mount_path = raw.get("mount_path") or host_path
        for key, value in (("host_path", host_path), ("mount_path", mount_path)):
            if not isinstance(value, str) or not value.startswith("/") or "\n" in value:
                raise ManifestError(f"{where} ({name}): {key} must be an absolute path, got {value!r}")
            if is_root_path(value):
                raise ManifestError(
                    f"{where} ({name}): {key} {value!r} is the root directory: mounting the host's / into the "
                    "container, or anything over the container's /, is refused"
                )
        volume_type = raw.get("type")
        if volume_type is not None and volume_type not in HOST_PATH_TYPES:
            raise ManifestError(f"{where} ({name}): type {volume_type!r} is not one of {', '.join(HOST_PATH_TYPES)}")
        read_only = raw.get("read_only", False)
        if read_only is None:
            read_only = False
        if not isinstance(read_only, bool):
            raise ManifestError(f"{where} ({name}): read_only must be a boolean, got {read_only!r}")
        return cls(name, host_path, mount_path, volume_type, read_only)

    def as_dict(self) -> Dict[str, Any]:
        return {
            "name": self.name,
            "host_path": self.host_path,
            "mount_path": self.mount_path,
            "type": self.type,
            "read_only": self.read_only,
        }


def is_root_path(path: str) -> bool:
    """``/``, ``//``, ``/./``, ``/var/..``: the root directory, read lexically (no file system)."""
    return posixpath.normpath("/" + path.lstrip("/")) == "/"


def _normalize_mount_path(path: Any) -> Any:
    """Compare mount paths as the container runtime sees them: /var/log/x/ and /var/log/x are one."""
    return posixpath.normpath(path) if isinstance(path, str) and path else path


# --------------------------------------------------------------------------------------------------
# Flags in a command list
# --------------------------------------------------------------------------------------------------


def parse_flags(items: List[Any]) -> List[_flags.Flag]:
    """The flags of a command list, read the way kube-apiserver's flag parser (pflag) reads them."""
    return _flags.parse(items)


def flags_of(command: List[Any]) -> Dict[str, Optional[str]]:
    """The flags of a command list as {name: value}; the last occurrence wins, as in kube-apiserver."""
    return _flags.values(command)


# --------------------------------------------------------------------------------------------------
# The edit
# --------------------------------------------------------------------------------------------------


class ManifestEdit:
    """The result of ``edit_manifest_text``: texts, what changed, and the resulting state."""

    def __init__(
        self,
        *,
        before: str,
        after: str,
        changes: List[str],
        warnings: List[str],
        pod_name: str,
        pod_namespace: str,
        command: List[str],
        mounts: List[Dict[str, Any]],
        annotations: Dict[str, Any],
    ) -> None:
        self.before = before
        self.after = after
        self.changes = changes
        self.warnings = warnings
        self.pod_name = pod_name
        self.pod_namespace = pod_namespace
        self.command = command
        self.mounts = mounts
        self.annotations = annotations

    @property
    def changed(self) -> bool:
        return self.after != self.before

    @property
    def flags(self) -> Dict[str, Optional[str]]:
        return flags_of(self.command)

    def summary(self) -> Dict[str, Any]:
        return {
            "changed": self.changed,
            "changes": list(self.changes),
            "warnings": list(self.warnings),
            "pod": f"{self.pod_namespace}/{self.pod_name}",
            "command": list(self.command),
            "args": self.flags,
            "mounts": [dict(mount) for mount in self.mounts],
            "annotations": dict(self.annotations),
        }


def edit_manifest_text(
    text: str,
    *,
    container: str = DEFAULT_CONTAINER,
    args: Optional[Dict[str, Any]] = None,
    remove_args: Optional[List[str]] = None,
    mounts: Optional[List[Any]] = None,
    remove_mounts: Optional[List[str]] = None,
    annotations: Optional[Dict[str, Any]] = None,
    source: str = "manifest",
) -> ManifestEdit:
    """Compute the edit of a static-pod manifest; no file system access.

    ``args`` maps flag names (with or without leading ``--``) to values; None removes the flag. An
    existing flag is replaced where it stands (in its form), its later duplicates are dropped, new
    flags are appended in the order given. ``remove_args`` names or shell patterns (``audit-*``)
    remove every occurrence, except of flags that ``args`` sets, which are replaced in place instead.
    ``mounts`` are matched by name; ``remove_mounts`` are applied first, so listing a name in both
    moves a mount. ``annotations`` set metadata.annotations (None removes).

    Raises ManifestError, naming ``source``, when the manifest or the request is unusable.
    """
    _ruamel.require()
    editor = _Editor(text, container, source)
    editor.validate_request(args, remove_args, mounts, remove_mounts, annotations)
    editor.edit_flags()
    editor.edit_mounts()
    editor.edit_annotations()
    return editor.result()


class _Editor:
    def __init__(self, text: str, container_name: str, source: str) -> None:
        self.text = text
        self.source = source
        self.container_name = container_name
        self.changes: List[str] = []
        self.warnings: List[str] = []
        # Comment lines waiting for a place, by id() of the collection they followed the end of.
        self.orphans: Dict[int, str] = {}
        self.framing = Framing(text)
        load_single_document(text, source)  # counts documents, reports syntax errors with true line numbers
        self.yaml = _ruamel.new_yaml()
        self.document = self.yaml.load(self.framing.body)
        self._locate()

    # -- structure ---------------------------------------------------------------------------------

    def _fail(self, problem: str) -> ManifestError:
        return ManifestError(f"{self.source}: {problem}")

    def _locate(self) -> None:
        document = self.document
        if not isinstance(document, CommentedMap):
            raise self._fail(f"the document is a {type(document).__name__}, not a Pod mapping")
        if document.get("kind") != "Pod":
            raise self._fail(f"kind is {document.get('kind')!r}, not 'Pod': this is not a static-pod manifest")
        metadata = document.get("metadata")
        if not isinstance(metadata, CommentedMap) or not isinstance(metadata.get("name"), str):
            raise self._fail("metadata.name is missing: the kubelet cannot run a pod without a name")
        self.metadata = metadata
        self.pod_name = metadata["name"]
        namespace = metadata.get("namespace")
        self.pod_namespace = namespace if isinstance(namespace, str) and namespace else "default"
        spec = document.get("spec")
        containers = spec.get("containers") if isinstance(spec, CommentedMap) else None
        if not isinstance(containers, CommentedSeq):
            raise self._fail("spec.containers is missing or not a list")
        self.spec = spec
        matches = [c for c in containers if isinstance(c, CommentedMap) and c.get("name") == self.container_name]
        if not matches:
            names = [c.get("name") for c in containers if isinstance(c, CommentedMap)]
            listed = ", ".join(str(name) for name in names) or "none"
            raise self._fail(f"no container named {self.container_name!r} (containers: {listed})")
        if len(matches) > 1:
            raise self._fail(f"{len(matches)} containers are named {self.container_name!r}")
        self.container = matches[0]

    def _other_containers(self) -> List[Any]:
        others = []
        for key in ("initContainers", "containers", "ephemeralContainers"):
            items = self.spec.get(key)
            for item in items if isinstance(items, list) else []:
                if isinstance(item, CommentedMap) and item is not self.container:
                    others.append(item)
        return others

    # -- request -----------------------------------------------------------------------------------

    def validate_request(self, args: Any, remove_args: Any, mounts: Any, remove_mounts: Any, annotations: Any) -> None:
        self.set_flags: List[Tuple[str, str]] = []
        self.unset_keys: Set[str] = set()
        self.remove_patterns: List[str] = []
        seen: Dict[str, str] = {}
        if args is not None and not isinstance(args, dict):
            raise ManifestError("args must be a dict of flag name to value")
        for raw_name, value in (args or {}).items():
            name = normalize_flag_name(raw_name)
            key = flag_key(name)
            if key in seen:
                raise ManifestError(f"args: {seen[key]!r} and {raw_name!r} name the same flag --{key}")
            seen[key] = raw_name
            if value is None:
                self.unset_keys.add(key)
            else:
                self.set_flags.append((name, render_flag_value(value, f"args[{raw_name}]")))
        if remove_args is not None and not isinstance(remove_args, (list, tuple)):
            raise ManifestError("remove_args must be a list of flag names or shell patterns")
        for pattern in remove_args or []:
            if not isinstance(pattern, str) or not pattern.strip():
                raise ManifestError(f"remove_args: {pattern!r} is not a flag name or pattern")
            stripped = pattern.strip()
            stripped = stripped[2:] if stripped.startswith("--") else stripped
            if not _FLAG_PATTERN_RE.match(stripped):
                raise ManifestError(f"remove_args: {pattern!r} is not a flag name or shell pattern such as audit-*")
            self.remove_patterns.append(flag_key(stripped))

        if mounts is not None and not isinstance(mounts, (list, tuple)):
            raise ManifestError("mounts must be a list")
        self.mounts = [MountSpec.from_dict(raw, position) for position, raw in enumerate(mounts or [])]
        names: Dict[str, int] = {}
        paths: Dict[str, str] = {}
        for position, mount in enumerate(self.mounts):
            if mount.name in names:
                raise ManifestError(f"mounts[{position}]: name {mount.name!r} is also mounts[{names[mount.name]}]")
            names[mount.name] = position
            normalized = _normalize_mount_path(mount.mount_path)
            if normalized in paths:
                raise ManifestError(
                    f"mounts[{position}] ({mount.name}) and mount {paths[normalized]!r} both use mountPath "
                    f"{mount.mount_path}; the kubelet rejects duplicate mountPaths"
                )
            paths[normalized] = mount.name
        if remove_mounts is not None and not isinstance(remove_mounts, (list, tuple)):
            raise ManifestError("remove_mounts must be a list of volume names")
        self.remove_mounts: List[str] = []
        for name in remove_mounts or []:
            if not isinstance(name, str) or not name:
                raise ManifestError(f"remove_mounts: {name!r} is not a volume name")
            self.remove_mounts.append(name)

        if annotations is not None and not isinstance(annotations, dict):
            raise ManifestError("annotations must be a dict")
        self.annotations: List[Tuple[str, Optional[str]]] = []
        for key, value in (annotations or {}).items():
            if not isinstance(key, str) or not key:
                raise ManifestError(f"annotations: {key!r} is not an annotation key")
            rendered = None if value is None else render_flag_value(value, f"annotations[{key}]")
            self.annotations.append((str(key), rendered))

    # -- deletions that keep comments -------------------------------------------------------------

    def _delete_item(self, seq: Any, index: int, parent: Any, parent_key: Any) -> None:
        self._keep_orphans(seq, _ruamel.seq_delete(seq, index, parent, parent_key))

    def _delete_key(self, mapping: Any, key: Any, parent: Any, parent_key: Any) -> None:
        pending = self.orphans.pop(id(mapping[key]), "")
        self._keep_orphans(mapping, _ruamel.map_delete(mapping, key, parent, parent_key, pending))

    def _keep_orphans(self, collection: Any, lines: str) -> None:
        """Comment lines with no line left above them wait until the collection gets content or goes."""
        if lines:
            self.orphans[id(collection)] = self.orphans.get(id(collection), "") + lines

    # -- flags -------------------------------------------------------------------------------------

    def _managed_by_remove(self, key: str) -> bool:
        if key in self.unset_keys:
            return True
        return any(fnmatch.fnmatchcase(key, pattern) for pattern in self.remove_patterns)

    def edit_flags(self) -> None:
        if not (self.set_flags or self.unset_keys or self.remove_patterns):
            return
        command = self.container.get("command")
        if not isinstance(command, CommentedSeq) or not command:
            raise self._fail(
                f"container {self.container_name!r} has no command list, so there are no kube-apiserver flags to edit"
            )
        set_keys = {flag_key(name) for name, _value in self.set_flags}
        extra_args = self.container.get("args")
        # kube-apiserver parses command[1:] + args as one command line: so do we, then keep the command's part.
        items = list(command) + (list(extra_args) if isinstance(extra_args, list) else [])
        flags = []
        for flag in parse_flags(items):
            if max(flag.indexes) < len(command):
                flags.append(flag)
            elif flag.key in set_keys or self._managed_by_remove(flag.key):
                raise self._fail(
                    f"container {self.container_name!r} passes --{flag.name} in its args list; this module "
                    "edits the command list only and would leave a second, conflicting copy"
                )
        delete: Set[int] = set()
        appended: List[str] = []
        for name, value in self.set_flags:
            key = flag_key(name)
            occurrences = [flag for flag in flags if flag.key == key]
            if not occurrences:
                appended.append(f"--{name}={value}")
                self.changes.append(f"added --{name}={value}")
                continue
            first = occurrences[0]
            if first.value != value:
                if first.value_index is not None:
                    set_scalar(command, first.value_index, value)
                else:
                    set_scalar(command, first.index, f"--{first.name}={value}")
                self.changes.append(f"replaced --{first.name}={first.value} with --{first.name}={value}")
            for duplicate in occurrences[1:]:
                delete.update(duplicate.indexes)
                self.changes.append(f"removed duplicate {duplicate.describe()}")
        for flag in flags:
            if flag.key not in set_keys and self._managed_by_remove(flag.key):
                delete.update(flag.indexes)
                self.changes.append(f"removed {flag.describe()}")
        for index in sorted(delete, reverse=True):
            self._delete_item(command, index, self.container, "command")
        seq_append(command, appended)

    # -- mounts ------------------------------------------------------------------------------------

    def _list(self, owner: Any, key: str, what: str) -> Any:
        value = owner.get(key)
        if value is not None and not isinstance(value, CommentedSeq):
            raise self._fail(f"{what} is not a list")
        return value

    def edit_mounts(self) -> None:
        if not (self.mounts or self.remove_mounts):
            return
        emptied: List[Tuple[Any, str]] = []
        for name in self.remove_mounts:
            emptied.extend(self._remove_mount(name))
        for mount in self.mounts:
            self._set_mount(mount)
        # Emptied lists go away entirely (after the additions, so a list emptied and refilled in one
        # run keeps its key and comments), so that removing what was added gives back the original.
        for owner, key in emptied:
            if key in owner and isinstance(owner[key], list) and not owner[key]:
                parent, parent_key = (self.document, "spec") if owner is self.spec else (None, None)
                self._delete_key(owner, key, parent, parent_key)

    def _volume_mounts(self) -> Any:
        return self._list(self.container, "volumeMounts", f"container {self.container_name!r} volumeMounts")

    def _volumes(self) -> Any:
        return self._list(self.spec, "volumes", "spec.volumes")

    def _mounted_elsewhere(self, name: str) -> List[str]:
        users = []
        for other in self._other_containers():
            entries = other.get("volumeMounts")
            for entry in entries if isinstance(entries, list) else []:
                if isinstance(entry, dict) and entry.get("name") == name:
                    users.append(str(other.get("name")))
        return users

    def _delete_named(self, items: Any, name: str, parent: Any, key: str, describe: Any) -> None:
        """Delete every entry of ``items`` (a volumes or volumeMounts list) named ``name``, noting each change."""
        for index in reversed(range(len(items))):
            entry = items[index]
            if isinstance(entry, dict) and entry.get("name") == name:
                self.changes.append(describe(entry))
                self._delete_item(items, index, parent, key)

    def _remove_mount(self, name: str) -> List[Tuple[Any, str]]:
        """Remove a mount; returns the lists it emptied."""
        emptied = []
        volume_mounts = self._volume_mounts()
        if volume_mounts:
            self._delete_named(
                volume_mounts,
                name,
                self.container,
                "volumeMounts",
                lambda entry: f"removed volumeMount {name} ({entry.get('mountPath')})",
            )
            if not volume_mounts:
                emptied.append((self.container, "volumeMounts"))
        volumes = self._volumes()
        if not volumes or not any(isinstance(v, dict) and v.get("name") == name for v in volumes):
            return emptied
        users = self._mounted_elsewhere(name)
        if users:
            self.warnings.append(
                f"{self.source}: kept volume {name!r} because container(s) {', '.join(users)} still mount it"
            )
            return emptied
        self._delete_named(volumes, name, self.spec, "volumes", lambda _entry: f"removed volume {name}")
        if not volumes:
            emptied.append((self.spec, "volumes"))
        return emptied

    def _set_mount(self, mount: MountSpec) -> None:
        wanted_path = _normalize_mount_path(mount.mount_path)
        volume_mounts = self._volume_mounts() or []
        same_name = []
        for entry in volume_mounts:
            if not isinstance(entry, dict):
                continue
            path = _normalize_mount_path(entry.get("mountPath"))
            if entry.get("name") == mount.name:
                same_name.append(entry)
                if path != wanted_path:
                    raise self._fail(
                        f"mount {mount.name!r} wants mountPath {mount.mount_path}, but volumeMount {mount.name!r} "
                        f"already mounts {entry.get('mountPath')}; list {mount.name!r} in remove_mounts as well "
                        "to move it"
                    )
            elif path == wanted_path:
                raise self._fail(
                    f"mount {mount.name!r} wants mountPath {mount.mount_path}, which volumeMount "
                    f"{entry.get('name')!r} already uses (the kubelet rejects duplicate mountPaths)"
                )
        if len(same_name) > 1:
            raise self._fail(
                f"volumeMount {mount.name!r} appears {len(same_name)} times at mountPath {mount.mount_path} "
                "(the kubelet rejects duplicate mountPaths)"
            )
        volumes = self._volumes() or []
        same_volume = [v for v in volumes if isinstance(v, dict) and v.get("name") == mount.name]
        if len(same_volume) > 1:
            raise self._fail(f"spec.volumes defines volume {mount.name!r} {len(same_volume)} times")
        if same_volume:
            volume = same_volume[0]
            if not isinstance(volume.get("hostPath"), CommentedMap):
                kinds = ", ".join(sorted(str(key) for key in volume if key != "name")) or "nothing"
                raise self._fail(
                    f"mount {mount.name!r}: volume {mount.name!r} already exists and is not a hostPath volume "
                    f"(it has {kinds})"
                )
            users = self._mounted_elsewhere(mount.name)
            if users and not same_name:
                raise self._fail(
                    f"mount {mount.name!r}: volume {mount.name!r} is already used by container(s) {', '.join(users)}"
                )
            self._update_volume(volume, mount)
        else:
            self._append(self.spec, "volumes", _new_volume(mount))
            self.changes.append(f"added volume {mount.name} (hostPath {mount.host_path})")
        if same_name:
            self._update_volume_mount(same_name[0], mount)
        else:
            self._append(self.container, "volumeMounts", _new_volume_mount(mount))
            self.changes.append(f"added volumeMount {mount.name} at {mount.mount_path}")

    def _append(self, owner: Any, key: str, item: Any) -> None:
        existing = owner.get(key)
        if existing is None:
            if key in owner:
                owner[key] = CommentedSeq([item])
            else:
                map_insert(owner, key, CommentedSeq([item]))
        else:
            seq_append(existing, [item])
            # Comments that followed the last item of a list this run emptied follow the new items.
            _ruamel.attach_following_comments(existing, len(existing) - 1, self.orphans.pop(id(existing), ""))

    def _update_volume(self, volume: Any, mount: MountSpec) -> None:
        host_path = volume["hostPath"]
        if host_path.get("path") != mount.host_path:
            self.changes.append(f"volume {mount.name}: hostPath.path {host_path.get('path')} -> {mount.host_path}")
            set_or_insert(host_path, "path", mount.host_path)
        if mount.type is not None and host_path.get("type") != mount.type:
            self.changes.append(f"volume {mount.name}: hostPath.type {host_path.get('type')} -> {mount.type}")
            set_or_insert(host_path, "type", mount.type)

    def _update_volume_mount(self, entry: Any, mount: MountSpec) -> None:
        if entry.get("mountPath") != mount.mount_path:
            self.changes.append(f"volumeMount {mount.name}: mountPath {entry.get('mountPath')} -> {mount.mount_path}")
            set_or_insert(entry, "mountPath", mount.mount_path)
        # An absent readOnly means false: only write it when the meaning changes.
        if bool(entry.get("readOnly", False)) != mount.read_only:
            self.changes.append(f"volumeMount {mount.name}: readOnly -> {str(mount.read_only).lower()}")
            set_or_insert(entry, "readOnly", mount.read_only)

    # -- annotations -------------------------------------------------------------------------------

    def edit_annotations(self) -> None:
        if not self.annotations:
            return
        current = self.metadata.get("annotations")
        if current is not None and not isinstance(current, CommentedMap):
            raise self._fail("metadata.annotations is not a mapping")
        removed_any = False
        for key, value in self.annotations:
            current = self.metadata.get("annotations")
            if value is None:
                if current is not None and key in current:
                    self._delete_key(current, key, self.metadata, "annotations")
                    self.changes.append(f"removed annotation {key}")
                    removed_any = True
                continue
            if current is None:
                current = CommentedMap()
                map_insert(self.metadata, "annotations", current)
            if key in current:
                if current[key] != value:
                    self.changes.append(f"annotation {key}: {current[key]} -> {value}")
                    set_scalar(current, key, value)
            else:
                map_insert(current, key, value)
                _ruamel.attach_following_comments(current, key, self.orphans.pop(id(current), ""))
                self.changes.append(f"added annotation {key}={value}")
        current = self.metadata.get("annotations")
        if removed_any and isinstance(current, CommentedMap) and not current:
            # Emptied here: drop the key too, so removing what was added gives back the original.
            self._delete_key(self.metadata, "annotations", self.document, "metadata")

    # -- result ------------------------------------------------------------------------------------

    def _managed_mounts(self) -> List[Dict[str, Any]]:
        result = []
        volumes = {v.get("name"): v for v in (self.spec.get("volumes") or []) if isinstance(v, dict)}
        for mount in self.mounts:
            entry = next(
                (
                    m
                    for m in (self.container.get("volumeMounts") or [])
                    if isinstance(m, dict) and m.get("name") == mount.name
                ),
                None,
            )
            host_path = (volumes.get(mount.name) or {}).get("hostPath") or {}
            result.append(
                {
                    "name": mount.name,
                    "host_path": _plain(host_path.get("path")),
                    "mount_path": _plain(entry.get("mountPath")) if entry else None,
                    "type": _plain(host_path.get("type")),
                    "read_only": bool(entry.get("readOnly", False)) if entry else None,
                }
            )
        return result

    def result(self) -> ManifestEdit:
        for lines in self.orphans.values():
            self.warnings.append(f"{self.source}: dropped comment lines with nothing left to follow: {lines!r}")
        after = self.text
        if self.changes:
            after = emit(self.framing, self.yaml, self.document, self._fail, what="manifest", reader="the kubelet")
        command = self.container.get("command")
        annotations = self.metadata.get("annotations")
        return ManifestEdit(
            before=self.text,
            after=after,
            changes=self.changes,
            warnings=self.warnings,
            pod_name=self.pod_name,
            pod_namespace=self.pod_namespace,
            command=[_plain(item) for item in command] if isinstance(command, list) else [],
            mounts=self._managed_mounts(),
            annotations={str(k): _plain(v) for k, v in annotations.items()} if isinstance(annotations, dict) else {},
        )


def emit(framing: Framing, yaml: Any, document: Any, fail: Any, *, what: str, reader: str) -> str:
    """The edited ``document`` as text in its original ``framing``, after the checks that make an edit safe.

    The original body must round-trip unchanged (else the edit would rewrite lines it does not touch). What is about
    to be written is read again, as YAML 1.2 and as Kubernetes reads it (YAML 1.1, go-yaml v2: ``reader``, the
    kubelet or kubeadm): it must hold exactly the edited data, with no place where the two readings disagree that did
    not already disagree (the same way) in the original. ``fail(problem)`` makes the error naming the file.
    """
    unchanged_body = roundtrip_text(framing.body)
    if unchanged_body != framing.body:
        raise fail(
            "cannot be edited without rewriting lines this edit does not touch "
            f"({first_difference(framing.body, unchanged_body)}); reformat it the way kubeadm writes {what}s first"
        )
    body = _ruamel.dump(yaml, document)
    reread = _ruamel.new_yaml().load(body)
    if _plain(reread) != _plain(document):
        raise fail(f"internal error: the edited {what} does not read back as the intended data")
    try:
        before = kubelet_disagreements(framing.body)
    except _goyaml.YamlError:
        before = None  # Kubernetes cannot read the original either: nothing to compare with
    try:
        after = kubelet_disagreements(body)
    except _goyaml.YamlError as exc:
        if before is not None:
            raise fail(f"internal error: {reader} could not read the edited {what}: {exc}") from None
        return framing.wrap(body)
    new = after - (before or Counter())
    if new:
        path, kubelet, intended = sorted(new)[0]
        raise fail(
            f"internal error: {reader} (YAML 1.1) would read {path} of the edited {what} as {kubelet}, "
            f"not as {intended}"
        )
    return framing.wrap(body)


_MISSING = "(absent)"


def kubelet_disagreements(text: str) -> "Counter[Tuple[str, str, str]]":
    """Where the kubelet's reading of ``text`` (YAML 1.1) differs from YAML 1.2's: (path, kubelet, 1.2) counts.

    List positions are left out of the paths, so an item that moved (a flag removed above it) is still the same
    disagreement.
    """
    found: Counter = Counter()

    def walk(kubelet: Any, intended: Any, path: str) -> None:
        if isinstance(kubelet, dict) and isinstance(intended, dict):
            for key in sorted(set(kubelet) | set(intended), key=str):
                walk(kubelet.get(key, _MISSING), intended.get(key, _MISSING), f"{path}.{key}" if path else str(key))
        elif isinstance(kubelet, list) and isinstance(intended, list) and len(kubelet) == len(intended):
            for kubelet_item, intended_item in zip(kubelet, intended):
                walk(kubelet_item, intended_item, f"{path}[]")
        elif type(kubelet) is not type(intended) or kubelet != intended:
            found[(path, repr(kubelet), repr(intended))] += 1

    walk(_goyaml.load(text), _plain(_ruamel.new_yaml().load(text)), "")
    return found


def _plain(value: Any) -> Any:
    """ruamel.yaml nodes to plain Python (for results and comparisons)."""
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return value


def set_or_insert(mapping: Any, key: str, value: Any) -> None:
    if key in mapping:
        set_scalar(mapping, key, value)
    else:
        map_insert(mapping, key, value)


def _new_volume_mount(mount: MountSpec) -> Any:
    # kubeadm's key order; readOnly written explicitly, as the seed procedure does.
    entry = CommentedMap()
    entry["mountPath"] = kubelet_safe(mount.mount_path)
    entry["name"] = kubelet_safe(mount.name)
    entry["readOnly"] = mount.read_only
    return entry


def _new_volume(mount: MountSpec) -> Any:
    host_path = CommentedMap()
    host_path["path"] = kubelet_safe(mount.host_path)
    if mount.type is not None:
        host_path["type"] = kubelet_safe(mount.type)
    volume = CommentedMap()
    volume["hostPath"] = host_path
    volume["name"] = kubelet_safe(mount.name)
    return volume

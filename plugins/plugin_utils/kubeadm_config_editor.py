# Copyright: (c) 2026, NNF kube_audit maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Edit ``apiServer`` of a kubeadm ClusterConfiguration (the kubeadm-config ConfigMap's text), byte for byte.

``kubeadm upgrade`` and ``kubeadm join --control-plane`` render kube-apiserver's manifest from this text: flags from
``apiServer.extraArgs``, hostPath volumes from ``apiServer.extraVolumes``. ``edit_cluster_configuration()`` sets and
removes them the way ``manifest_editor`` edits the manifest: every byte it does not mean to change stays identical
(the same ruamel.yaml round trip and checks), and a request that changes nothing returns the text unchanged.

Both schema versions kubeadm stores: ``kubeadm.k8s.io/v1beta3`` (``extraArgs`` a mapping of flag name to string, so
``100`` is written quoted) and ``v1beta4`` (``extraArgs`` a list of ``{name, value}``; a name may repeat, like a
repeated flag). ``extraVolumes`` is a list of ``{name, hostPath, mountPath, readOnly, pathType}`` in both, written
with kubeadm's key order (sorted) and its omissions (``readOnly`` only when true, ``pathType`` only when set).
Emptied collections go away (``apiServer`` itself becomes ``{}``), so removing what was added gives back the text.
"""

import fnmatch
from typing import Any, Dict, List, Optional, Tuple

from ansible_collections.nnf.kube_audit.plugins.module_utils import _flags
from ansible_collections.nnf.kube_audit.plugins.module_utils._errors import KubeAuditError
from ansible_collections.nnf.kube_audit.plugins.plugin_utils import _ruamel
from ansible_collections.nnf.kube_audit.plugins.plugin_utils._ruamel import CommentedMap, CommentedSeq
from ansible_collections.nnf.kube_audit.plugins.plugin_utils.manifest_editor import (
    Framing,
    MountSpec,
    emit,
    kubelet_safe,
    load_single_document,
    map_insert,
    normalize_flag_name,
    render_flag_value,
    seq_append,
    set_scalar,
)

KIND = "ClusterConfiguration"
V1BETA3 = "kubeadm.k8s.io/v1beta3"
V1BETA4 = "kubeadm.k8s.io/v1beta4"
API_VERSIONS = (V1BETA3, V1BETA4)


class ConfigError(KubeAuditError):
    """The ClusterConfiguration, or the request, cannot be used; the message names where it comes from."""


class ConfigEdit:
    """The result of ``edit_cluster_configuration``: texts, what changed, and the resulting apiServer settings."""

    def __init__(self, *, before: str, after: str, changes: List[str], warnings: List[str], api_version: str,
                 extra_args: List[Tuple[str, str]], extra_volumes: List[Dict[str, Any]]) -> None:  # fmt: skip
        self.before = before
        self.after = after
        self.changes = changes
        self.warnings = warnings
        self.api_version = api_version
        self.extra_args = extra_args
        self.extra_volumes = extra_volumes

    @property
    def changed(self) -> bool:
        return self.after != self.before


def edit_cluster_configuration(
    text: str,
    *,
    args: Optional[Dict[str, Any]] = None,
    remove_args: Optional[List[str]] = None,
    mounts: Optional[List[Any]] = None,
    remove_mounts: Optional[List[str]] = None,
    source: str = "ClusterConfiguration",
) -> ConfigEdit:
    """Set ``args`` (None removes one) and ``mounts`` in ``apiServer``; remove ``remove_args`` (names or patterns
    such as ``audit-*``, except the flags ``args`` sets) and the volumes named in ``remove_mounts`` (first).

    Raises ConfigError, naming ``source``, when the text or the request is unusable.
    """
    _ruamel.require()
    editor = _ConfigEditor(text, source)
    editor.edit_args(args or {}, remove_args or [])
    editor.edit_volumes([MountSpec.from_dict(raw, position) for position, raw in enumerate(mounts or [])],
                        remove_mounts or [])  # fmt: skip
    return editor.result()


class _ConfigEditor:
    def __init__(self, text: str, source: str) -> None:
        self.text = text
        self.source = source
        self.changes: List[str] = []
        self.warnings: List[str] = []
        # Comment lines waiting for a place, by id() of the collection they followed the end of.
        self.orphans: Dict[int, str] = {}
        self.framing = Framing(text)
        try:
            load_single_document(text, source)
        except KubeAuditError as exc:
            raise ConfigError(str(exc)) from None
        self.yaml = _ruamel.new_yaml()
        self.document = self.yaml.load(self.framing.body)
        document = self.document
        if not isinstance(document, CommentedMap) or document.get("kind") != KIND:
            kind = document.get("kind") if isinstance(document, dict) else type(document).__name__
            raise self._fail(f"kind is {kind!r}, not {KIND!r}")
        self.api_version = document.get("apiVersion")
        if self.api_version not in API_VERSIONS:
            raise self._fail(
                f"apiVersion {self.api_version!r} is not one this collection edits ({', '.join(API_VERSIONS)}); "
                "kubeadm upgrade migrates older ones"
            )
        api_server = document.get("apiServer")
        if api_server is not None and not isinstance(api_server, CommentedMap):
            raise self._fail("apiServer is not a mapping")

    def _fail(self, problem: str) -> ConfigError:
        return ConfigError(f"{self.source}: {problem}")

    # -- structure ---------------------------------------------------------------------------------

    def _api_server(self, create: bool) -> Any:
        api_server = self.document.get("apiServer")
        if api_server is None and create:
            api_server = CommentedMap()
            map_insert(self.document, "apiServer", api_server)
        if api_server is not None and create and not api_server:
            _ruamel.set_block_style(api_server)  # "apiServer: {}" gets its first key
        return api_server

    def _collection(self, key: str, kind: type) -> Any:
        """``apiServer[key]`` (a mapping or list as the schema has it), or None when absent or empty."""
        api_server = self.document.get("apiServer")
        value = None if api_server is None else api_server.get(key)
        if value is not None and not isinstance(value, kind):
            expected = "mapping" if kind is CommentedMap else "list"
            raise self._fail(f"apiServer.{key} is not a {expected} (as {self.api_version} has it)")
        return value

    def _attach(self, key: str, value: Any) -> None:
        """A new ``apiServer[key]``, inserted with its content (so comments that follow stay below all of it)."""
        api_server = self._api_server(create=True)
        if key in api_server:  # present but empty ({} or []): replaced, now in block style
            _ruamel.set_block_style(value)
            api_server[key] = value
        else:
            map_insert(api_server, key, value)

    def _drop_if_empty(self, key: str) -> None:
        api_server = self.document.get("apiServer")
        if api_server is not None and key in api_server and not api_server[key]:
            pending = self.orphans.pop(id(api_server[key]), "")
            self._keep(api_server, _ruamel.map_delete(api_server, key, self.document, "apiServer", pending))
        if api_server is not None and not api_server:
            _ruamel.set_flow_style(api_server)  # kubeadm writes an empty apiServer as {}

    def _keep(self, collection: Any, orphaned: str) -> None:
        """Comment lines with no line left above them wait until the collection gets content or goes."""
        if orphaned:
            self.orphans[id(collection)] = self.orphans.get(id(collection), "") + orphaned

    def _append(self, collection: Any, items: List[Any]) -> None:
        """Append below the last item; comments left by items this run removed follow the new ones."""
        seq_append(collection, items)
        _ruamel.attach_following_comments(collection, len(collection) - 1, self.orphans.pop(id(collection), ""))

    # -- extraArgs ---------------------------------------------------------------------------------

    def edit_args(self, args: Dict[str, Any], remove_args: List[str]) -> None:
        wanted: List[Tuple[str, Optional[str]]] = []
        for raw_name, value in args.items():
            name = normalize_flag_name(raw_name)
            wanted.append((name, None if value is None else render_flag_value(value, f"args[{raw_name}]")))
        patterns = []
        for pattern in remove_args:
            if not isinstance(pattern, str) or not pattern.strip():
                raise ConfigError(f"remove_args: {pattern!r} is not a flag name or pattern")
            stripped = pattern.strip()
            patterns.append(_flags.flag_key(stripped[2:] if stripped.startswith("--") else stripped))
        set_keys = {_flags.flag_key(name) for name, value in wanted if value is not None}

        def removed(name: str) -> bool:
            key = _flags.flag_key(name)
            if key in set_keys:
                return False
            unset = any(_flags.flag_key(wanted_name) == key for wanted_name, value in wanted if value is None)
            return unset or any(fnmatch.fnmatchcase(key, pattern) for pattern in patterns)

        if self.api_version == V1BETA3:
            self._edit_arg_map(wanted, removed)
        else:
            self._edit_arg_list(wanted, removed)
        self._drop_if_empty("extraArgs")

    def _edit_arg_map(self, wanted: List[Tuple[str, Optional[str]]], removed: Any) -> None:
        extra = self._collection("extraArgs", CommentedMap)
        if not extra:
            new = CommentedMap()
            for name, value in sorted((pair for pair in wanted if pair[1] is not None), key=lambda pair: pair[0]):
                new[kubelet_safe(name)] = kubelet_safe(value)
                self.changes.append(f"added extraArgs {name}={value}")
            if new:
                self._attach("extraArgs", new)
            return
        for name, value in wanted:
            if value is None:
                continue
            present = [key for key in extra if _flags.flag_key(str(key)) == _flags.flag_key(name)]
            if not present:
                map_insert(extra, name, value)
                self.changes.append(f"added extraArgs {name}={value}")
                continue
            if str(extra[present[0]]) != value:
                self.changes.append(f"extraArgs {present[0]}: {extra[present[0]]} -> {value}")
                set_scalar(extra, present[0], value)
            for duplicate in present[1:]:  # "audit_log_path" and "audit-log-path": one flag
                self._keep(extra, _ruamel.map_delete(extra, duplicate, self.document["apiServer"], "extraArgs"))
                self.changes.append(f"removed duplicate extraArgs {duplicate}")
        for key in [key for key in extra if removed(str(key))]:
            self.changes.append(f"removed extraArgs {key}={extra[key]}")
            self._keep(extra, _ruamel.map_delete(extra, key, self.document["apiServer"], "extraArgs"))

    def _edit_arg_list(self, wanted: List[Tuple[str, Optional[str]]], removed: Any) -> None:
        extra = self._collection("extraArgs", CommentedSeq)
        if not extra:
            new = CommentedSeq()
            for name, value in wanted:
                if value is not None:
                    new.append(_new_arg(name, value))
                    self.changes.append(f"added extraArgs {name}={value}")
            if new:
                self._attach("extraArgs", new)
            return
        for position, entry in enumerate(extra):
            if not isinstance(entry, CommentedMap) or not isinstance(entry.get("name"), str):
                raise self._fail(f"apiServer.extraArgs[{position}] is not a {{name, value}} entry")
        delete = set()
        appended = []
        for name, value in wanted:
            if value is None:
                continue
            present = [
                index for index, entry in enumerate(extra) if _flags.flag_key(entry["name"]) == _flags.flag_key(name)
            ]
            if not present:
                appended.append(_new_arg(name, value))
                self.changes.append(f"added extraArgs {name}={value}")
                continue
            first = extra[present[0]]
            if str(first.get("value")) != value:
                self.changes.append(f"extraArgs {first['name']}: {first.get('value')} -> {value}")
                if "value" in first:
                    set_scalar(first, "value", value)
                else:
                    map_insert(first, "value", value)
            for index in present[1:]:
                delete.add(index)
                self.changes.append(f"removed duplicate extraArgs {extra[index]['name']}")
        for index, entry in enumerate(extra):
            if removed(entry["name"]):
                delete.add(index)
                self.changes.append(f"removed extraArgs {entry['name']}={entry.get('value')}")
        for index in sorted(delete, reverse=True):
            self._keep(extra, _ruamel.seq_delete(extra, index, self.document["apiServer"], "extraArgs"))
        if appended:
            self._append(extra, appended)

    # -- extraVolumes ------------------------------------------------------------------------------

    def edit_volumes(self, mounts: List[MountSpec], remove_mounts: List[str]) -> None:
        volumes = self._collection("extraVolumes", CommentedSeq)
        if not volumes:
            new = CommentedSeq(_new_volume(mount) for mount in mounts)
            for mount in mounts:
                self.changes.append(f"added extraVolumes {mount.name} ({mount.host_path} at {mount.mount_path})")
            if new:
                self._attach("extraVolumes", new)
            return
        for position, entry in enumerate(volumes):
            if not isinstance(entry, CommentedMap) or not isinstance(entry.get("name"), str):
                raise self._fail(f"apiServer.extraVolumes[{position}] is not a volume with a name")
        for name in remove_mounts:
            for index in reversed(range(len(volumes))):
                if volumes[index]["name"] == name:
                    self.changes.append(f"removed extraVolumes {name} ({volumes[index].get('hostPath')})")
                    self._keep(volumes, _ruamel.seq_delete(volumes, index, self.document["apiServer"], "extraVolumes"))
        for mount in mounts:
            same = [entry for entry in volumes if entry["name"] == mount.name]
            if len(same) > 1:
                raise self._fail(f"apiServer.extraVolumes names {mount.name!r} {len(same)} times")
            if same:
                self._update_volume(same[0], mount)
            else:
                self._append(volumes, [_new_volume(mount)])
                self.changes.append(f"added extraVolumes {mount.name} ({mount.host_path} at {mount.mount_path})")
        self._drop_if_empty("extraVolumes")

    def _update_volume(self, entry: Any, mount: MountSpec) -> None:
        wanted = {"hostPath": mount.host_path, "mountPath": mount.mount_path}
        if mount.type is not None:
            wanted["pathType"] = mount.type
        for key, value in wanted.items():
            if entry.get(key) != value:
                self.changes.append(f"extraVolumes {mount.name}: {key} {entry.get(key)} -> {value}")
                if key in entry:
                    set_scalar(entry, key, value)
                else:
                    map_insert(entry, key, value)
        if bool(entry.get("readOnly", False)) != mount.read_only:
            self.changes.append(f"extraVolumes {mount.name}: readOnly -> {str(mount.read_only).lower()}")
            if not mount.read_only:
                self._keep(entry, _ruamel.map_delete(entry, "readOnly", None, None))  # kubeadm omits readOnly: false
            elif "readOnly" in entry:
                entry["readOnly"] = True
            else:
                map_insert(entry, "readOnly", True)

    # -- result ------------------------------------------------------------------------------------

    def result(self) -> ConfigEdit:
        for lines in self.orphans.values():
            self.warnings.append(f"{self.source}: dropped comment lines with nothing left to follow: {lines!r}")
        after = self.text
        if self.changes:
            after = emit(self.framing, self.yaml, self.document, self._fail, what="configuration", reader="kubeadm")
        api_server = self.document.get("apiServer") or {}
        extra = api_server.get("extraArgs") or []
        if isinstance(extra, dict):
            args = [(str(key), str(value)) for key, value in extra.items()]
        else:
            args = [(str(entry.get("name")), str(entry.get("value"))) for entry in extra]
        volumes = [{str(key): value for key, value in entry.items()} for entry in api_server.get("extraVolumes") or []]
        return ConfigEdit(before=self.text, after=after, changes=self.changes, warnings=self.warnings,
                          api_version=self.api_version, extra_args=args, extra_volumes=volumes)  # fmt: skip


def _new_arg(name: str, value: str) -> Any:
    entry = CommentedMap()
    entry["name"] = kubelet_safe(name)
    entry["value"] = kubelet_safe(value)
    return entry


def _new_volume(mount: MountSpec) -> Any:
    """A HostPathMount as kubeadm marshals it: keys sorted, readOnly only when true, pathType only when set."""
    volume = CommentedMap()
    volume["hostPath"] = kubelet_safe(mount.host_path)
    volume["mountPath"] = kubelet_safe(mount.mount_path)
    volume["name"] = kubelet_safe(mount.name)
    if mount.type is not None:
        volume["pathType"] = kubelet_safe(mount.type)
    if mount.read_only:
        volume["readOnly"] = True
    return volume


def api_server_settings(cluster_configuration: Any) -> Tuple[Dict[str, str], Dict[str, Dict[str, Any]]]:
    """``(extraArgs, extraVolumes)`` of a ClusterConfiguration read as plain data, in either schema.

    ``extraArgs`` as ``{flag name: value}`` (v1beta3's map; v1beta4's list, the last of a repeated name winning, as
    the flag would), ``extraVolumes`` by name as ``{hostPath, mountPath, readOnly, pathType}`` with kubeadm's
    defaults for what is omitted (``readOnly`` false, ``pathType`` "").
    """
    api_server = (cluster_configuration or {}).get("apiServer") or {}
    raw_args = api_server.get("extraArgs") or {}
    if isinstance(raw_args, list):
        args = {str(item.get("name")): str(item.get("value", "")) for item in raw_args if isinstance(item, dict)}
    else:
        args = {str(name): str(value) for name, value in dict(raw_args).items()}
    volumes = {}
    for item in api_server.get("extraVolumes") or []:
        if isinstance(item, dict) and item.get("name"):
            volumes[str(item["name"])] = {
                "hostPath": item.get("hostPath", ""),
                "mountPath": item.get("mountPath", ""),
                "readOnly": bool(item.get("readOnly", False)),
                "pathType": item.get("pathType", ""),
            }
    return args, volumes

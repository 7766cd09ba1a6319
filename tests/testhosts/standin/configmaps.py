"""ConfigMaps in kube-system, served by the kube-apiserver stand-in from the test cluster's store (its "etcd").

The store: one JSON file per test cluster (one ``testhosts.py up`` run), ``<run dir>/cluster/store.json``, shared by
every kube-apiserver stand-in of the run, so each master serves the same objects. It is read and replaced (written
to a temporary file, then renamed) under an exclusive ``flock`` of ``store.json.lock`` beside it. It holds a
revision counter (etcd's revision: every write takes the next one as the object's ``resourceVersion``) and the
objects by ``configmaps/<namespace>/<name>``; ``testhosts.py up`` seeds ``kube-system/kubeadm-config`` from
``tests/fixtures/kubeadm``.

How an apiserver finds it: the file ``cluster-store`` in its knobs directory (``/run/kubelet-standin/cluster-store``
on a test master, seeded at host creation; ``KUBE_APISERVER_STANDIN_KNOBS`` elsewhere) holds the store's absolute
path. It is read at every request. Without it the cluster is empty: every ConfigMap is "not found".

What kube-apiserver answers for ``/api/v1/namespaces/kube-system/configmaps[/NAME]`` (JSON, with its messages):

* only a client authenticated by a certificate of ``--client-ca-file`` (``clientcert.py``) is served from the
  store; anyone else gets 403 Forbidden for kubeadm-config with RBAC's message (``configmaps "kubeadm-config" is
  forbidden: User "system:anonymous" cannot get resource "configmaps" in API group "" in the namespace
  "kube-system"``), and the stand-in's usual answer for any other ConfigMap (the scenarios' traffic reads
  kube-system ConfigMaps as controllers do, through the authenticating-proxy headers);
* ``GET NAME``: the ConfigMap (apiVersion, kind, metadata with name, namespace, uid, resourceVersion,
  creationTimestamp, labels and annotations when set; data), or 404 NotFound;
* ``PUT NAME``: replaces data, binaryData, labels and annotations. ``metadata.resourceVersion`` is a
  compare-and-swap: not the stored one, 409 Conflict (``Operation cannot be fulfilled on configmaps
  "kubeadm-config": the object has been modified; please apply your changes to the latest version and try again``);
  absent or empty, the update is unconditional, as for real ConfigMaps (their strategy allows unconditional
  updates). A uid that is not the object's is a 409 precondition failure; a body that is not a v1 ConfigMap, names
  another object or namespace, or has data values that are not strings is 400 BadRequest; an object that does not
  exist is 404 (no create on update). Success: 200 and the stored object with its new resourceVersion;
* anything else on configmaps in kube-system (list, create, patch, delete...) is 405 MethodNotAllowed: not stood in.

Requests elsewhere are not this module's (``route`` returns None) and get the stand-in's usual answer.
"""

from __future__ import annotations

import contextlib
import copy
import datetime
import fcntl
import json
import os
import uuid
from typing import Callable, Dict, Optional, Tuple

from standin import clientcert

STORE_POINTER = "cluster-store"  # in the knobs directory: the store's path
NAMESPACE = "kube-system"
KUBEADM_CONFIG = "kubeadm-config"
CLUSTER_CONFIGURATION_KEY = "ClusterConfiguration"
FIRST_REVISION = 100  # an arbitrary etcd revision for a cluster that has been up a while
OPTIMISTIC_LOCK_MESSAGE = "the object has been modified; please apply your changes to the latest version and try again"


def now_rfc3339() -> str:
    return datetime.datetime.now(tz=datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def object_key(namespace: str, name: str) -> str:
    return f"configmaps/{namespace}/{name}"


# --------------------------------------------------------------------------------------------------- store


class Store:
    """The cluster's objects in one JSON file, read and written under an exclusive lock."""

    def __init__(self, path: str):
        self.path = path
        self.lock_path = path + ".lock"

    @contextlib.contextmanager
    def _locked(self):
        with open(self.lock_path, "a", encoding="utf-8") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def _read(self) -> Dict:
        try:
            with open(self.path, encoding="utf-8") as handle:
                return json.load(handle)
        except FileNotFoundError:
            return {"revision": FIRST_REVISION, "objects": {}}

    def _write(self, data: Dict) -> None:
        temporary = f"{self.path}.{os.getpid()}.tmp"
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2, sort_keys=True)
            handle.write("\n")
        os.replace(temporary, self.path)

    def get(self, key: str) -> Optional[Dict]:
        with self._locked():
            found = self._read()["objects"].get(key)
        return copy.deepcopy(found)

    def update(self, key: str, change: Callable[[Optional[Dict], str], Tuple[Optional[Dict], object]]):
        """Run ``change(current object or None, next resourceVersion)`` under the lock.

        It returns (the object to store or None to store nothing, the result to hand back).
        """
        with self._locked():
            data = self._read()
            revision = int(data.get("revision") or FIRST_REVISION) + 1
            stored, result = change(copy.deepcopy(data["objects"].get(key)), str(revision))
            if stored is not None:
                data["objects"][key] = stored
                data["revision"] = revision
                self._write(data)
        return result


def new_configmap(namespace: str, name: str, data: Dict[str, str], resource_version: str) -> Dict:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "uid": str(uuid.uuid4()),
            "resourceVersion": resource_version,
            "creationTimestamp": now_rfc3339(),
        },
        "data": dict(data),
    }


def seed_store(path: str, cluster_configuration: str) -> Dict:
    """A new store at ``path`` holding kube-system/kubeadm-config with ``cluster_configuration``; returns the object."""
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    store = Store(path)

    def create(_current, revision):
        made = new_configmap(NAMESPACE, KUBEADM_CONFIG, {CLUSTER_CONFIGURATION_KEY: cluster_configuration}, revision)
        return made, made

    return store.update(object_key(NAMESPACE, KUBEADM_CONFIG), create)


def store_of(knobs_dir: str) -> Optional[Store]:
    """The store an apiserver with knobs directory ``knobs_dir`` uses, or None (an empty cluster)."""
    try:
        with open(os.path.join(knobs_dir, STORE_POINTER), encoding="utf-8") as handle:
            path = handle.read().strip()
    except OSError:
        return None
    return Store(path) if path else None


# --------------------------------------------------------------------------------------------------- API


def status(code: int, reason: str, message: str, name: Optional[str] = None) -> Dict:
    """A metav1.Status as kube-apiserver sends it for an error."""
    body: Dict = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message}
    body["reason"] = reason
    if name is not None:
        body["details"] = {"name": name, "kind": "configmaps"} if name else {"kind": "configmaps"}
    body["code"] = code
    return body


def forbidden(user: Dict, info: Dict) -> Dict:
    """RBAC's denial (forbiddenMessage + NewForbidden)."""
    name = info["name"]
    what = f'configmaps "{name}"' if name else "configmaps"
    message = (
        f'{what} is forbidden: User "{user.get("username", "")}" cannot {info["verb"]} resource "configmaps" '
        f'in API group "" in the namespace "{info["namespace"]}"'
    )
    return status(403, "Forbidden", message, name)


def not_found(name: str) -> Dict:
    return status(404, "NotFound", f'configmaps "{name}" not found', name)


def conflict(name: str, why: str = OPTIMISTIC_LOCK_MESSAGE) -> Dict:
    return status(409, "Conflict", f'Operation cannot be fulfilled on configmaps "{name}": {why}', name)


def bad_request(message: str) -> Dict:
    return status(400, "BadRequest", message)


def handles(info: Dict) -> bool:
    return (
        info["resourceRequest"]
        and info["apiPrefix"] == "api"
        and info["apiGroup"] == ""
        and info["resource"] == "configmaps"
        and info["namespace"] == NAMESPACE
    )


def route(handler, info: Dict, user: Dict, body: bytes) -> Optional[Tuple[int, Dict]]:
    """The answer to a request on configmaps in kube-system, or None for any other request.

    ``handler`` is the apiserver's request handler: its ``request`` (the TLS connection) tells whether ``user``
    came from a client certificate, its ``server.state.knobs.directory`` where the store is.
    """
    if not handles(info):
        return None
    if not clientcert.authenticated_by_certificate(handler.request, user):
        if info["name"] != KUBEADM_CONFIG:
            return None
        payload = forbidden(user, info)
        return payload["code"], payload
    name = info["name"]
    if not name or info["subresource"] or info["verb"] not in ("get", "update"):
        message = (
            f"the kube-apiserver stand-in does not serve {info['verb']} of configmaps{'/' + name if name else ''} "
            f"in {NAMESPACE}: only get and update of one ConfigMap"
        )
        return 405, status(405, "MethodNotAllowed", message, name)
    store = store_of(handler.server.state.knobs.directory)
    if info["verb"] == "get":
        found = store.get(object_key(NAMESPACE, name)) if store else None
        return (200, found) if found is not None else (404, not_found(name))
    if store is None:
        return 404, not_found(name)
    return update(store, name, body)


def _json_type(value) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "string"


def validate_body(name: str, body: bytes) -> Tuple[Optional[Dict], Optional[Dict]]:
    """(the ConfigMap in the body, None) or (None, the 400 Status)."""
    try:
        obj = json.loads(body or b"null")
    except ValueError as exc:
        return None, bad_request(f"the body of the request was in an unknown format: {exc}")
    if not isinstance(obj, dict) or obj.get("kind") != "ConfigMap" or obj.get("apiVersion") != "v1":
        kind = (obj.get("kind") if isinstance(obj, dict) else None) or "ConfigMap"
        message = f'ConfigMap in version "v1" cannot be handled as a {kind}: the object is not a v1 ConfigMap'
        return None, bad_request(message)
    metadata = obj.get("metadata") or {}
    if metadata.get("name") != name:
        return None, bad_request(
            f"the name of the object ({metadata.get('name') or ''}) does not match the name on the URL ({name})"
        )
    if metadata.get("namespace") not in (None, "", NAMESPACE):
        return None, bad_request(
            "the namespace of the provided object does not match the namespace sent on the request"
        )
    for field in ("data", "binaryData"):
        values = obj.get(field)
        if values is None:
            continue
        if not isinstance(values, dict):
            return None, bad_request(
                f'ConfigMap in version "v1" cannot be handled as a ConfigMap: json: cannot unmarshal '
                f"{_json_type(values)} into Go struct field ConfigMap.{field} of type map[string]string"
            )
        for value in values.values():
            if not isinstance(value, str):
                return None, bad_request(
                    f'ConfigMap in version "v1" cannot be handled as a ConfigMap: json: cannot unmarshal '
                    f"{_json_type(value)} into Go struct field ConfigMap.{field} of type string"
                )
    return obj, None


def update(store: Store, name: str, body: bytes) -> Tuple[int, Dict]:
    """PUT: replace the stored ConfigMap's content, compare-and-swap on metadata.resourceVersion."""
    obj, error = validate_body(name, body)
    if error is not None:
        return error["code"], error
    metadata = obj.get("metadata") or {}

    def change(current: Optional[Dict], revision: str):
        if current is None:
            return None, (404, not_found(name))
        wanted_version = metadata.get("resourceVersion") or ""
        if wanted_version and wanted_version != current["metadata"]["resourceVersion"]:
            return None, (409, conflict(name))
        wanted_uid = metadata.get("uid") or ""
        if wanted_uid and wanted_uid != current["metadata"]["uid"]:
            stored_uid = current["metadata"]["uid"]
            why = f"Precondition failed: UID in precondition: {wanted_uid}, UID in object meta: {stored_uid}"
            return None, (409, conflict(name, why))
        stored = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": dict(current["metadata"])}
        stored["metadata"]["resourceVersion"] = revision
        for field in ("labels", "annotations"):
            stored["metadata"].pop(field, None)
            if metadata.get(field):
                stored["metadata"][field] = metadata[field]
        for field in ("data", "binaryData"):
            if obj.get(field):
                stored[field] = obj[field]
        if obj.get("immutable") is not None:
            stored["immutable"] = obj["immutable"]
        return stored, (200, stored)

    return store.update(object_key(NAMESPACE, name), change)

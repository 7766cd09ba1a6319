"""kubeadm's ``admin.conf``, written as kubeadm writes it and used as a client uses it (the kubeadm stand-in's).

kubeadm writes ``/etc/kubernetes/admin.conf`` (mode 0600) with clientcmd: one cluster ``kubernetes`` (the CA and the
API server URL), one user ``kubernetes-admin`` (client certificate and key, embedded as base64 ``*-data``), the
context ``kubernetes-admin@kubernetes`` and ``preferences: {}``, keys sorted as sigs.k8s.io/yaml sorts them.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import shutil
import ssl
import tempfile
from typing import Dict, NamedTuple, Optional, Tuple
from urllib.parse import urlsplit

from standin import goyaml

CLUSTER = "kubernetes"
USER = "kubernetes-admin"
CONTEXT = f"{USER}@{CLUSTER}"


def admin_kubeconfig(server: str, ca_pem: bytes, cert_pem: bytes, key_pem: bytes) -> str:
    """The text of admin.conf for ``server`` (``https://ADDRESS:PORT``)."""

    def data(pem: bytes) -> str:
        return base64.b64encode(pem).decode()

    return goyaml.dump(
        {
            "apiVersion": "v1",
            "clusters": [{"cluster": {"certificate-authority-data": data(ca_pem), "server": server}, "name": CLUSTER}],
            "contexts": [{"context": {"cluster": CLUSTER, "user": USER}, "name": CONTEXT}],
            "current-context": CONTEXT,
            "kind": "Config",
            "preferences": {},
            "users": [
                {"name": USER, "user": {"client-certificate-data": data(cert_pem), "client-key-data": data(key_pem)}}
            ],
        }
    )


class KubeconfigError(Exception):
    """The kubeconfig cannot be read or used."""


class Credentials(NamedTuple):
    server: str
    ca_pem: bytes
    cert_pem: bytes
    key_pem: bytes


def _named(entries, name: str, what: str, path: str) -> Dict:
    for entry in entries or []:
        if isinstance(entry, dict) and entry.get("name") == name:
            return entry.get(what) or {}
    raise KubeconfigError(f"invalid configuration: {what} {name!r} not found in {path}")


def load(path: str) -> Credentials:
    """The current context's server and credentials (embedded data only, as kubeadm writes them)."""
    try:
        with open(path, encoding="utf-8") as handle:
            config = goyaml.load(handle.read())
    except OSError as exc:
        raise KubeconfigError(f"open {path}: {(exc.strerror or str(exc)).lower()}") from exc
    except goyaml.YAMLError as exc:
        raise KubeconfigError(f"{path}: {exc}") from exc
    if not isinstance(config, dict):
        raise KubeconfigError(f"{path} is not a kubeconfig")
    context = _named(config.get("contexts"), config.get("current-context") or "", "context", path)
    cluster = _named(config.get("clusters"), context.get("cluster") or "", "cluster", path)
    user = _named(config.get("users"), context.get("user") or "", "user", path)
    try:
        return Credentials(
            server=str(cluster["server"]),
            ca_pem=base64.b64decode(cluster["certificate-authority-data"]),
            cert_pem=base64.b64decode(user["client-certificate-data"]),
            key_pem=base64.b64decode(user["client-key-data"]),
        )
    except (KeyError, ValueError) as exc:
        raise KubeconfigError(f"{path}: the kubeadm stand-in needs embedded certificate data: {exc}") from exc


def with_server(credentials: Credentials, endpoint: str) -> Credentials:
    """The same credentials for another API server (``HOST:PORT`` or a URL)."""
    server = endpoint if "://" in endpoint else f"https://{endpoint}"
    return credentials._replace(server=server)


class Client:
    """GET and PUT JSON against the API server of ``credentials``, verifying it and presenting the certificate."""

    def __init__(self, credentials: Credentials, timeout: float = 10.0):
        self.credentials = credentials
        split = urlsplit(credentials.server)
        if split.scheme != "https" or not split.hostname:
            raise KubeconfigError(f"unsupported server URL {credentials.server!r}")
        self.host, self.port = split.hostname, split.port or 443
        self.timeout = timeout
        self.context = ssl.create_default_context(cadata=credentials.ca_pem.decode())
        directory = tempfile.mkdtemp(prefix="kubeadm-standin-")
        try:
            cert, key = os.path.join(directory, "client.crt"), os.path.join(directory, "client.key")
            for path, pem in ((cert, credentials.cert_pem), (key, credentials.key_pem)):
                with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as handle:
                    handle.write(pem)
            self.context.load_cert_chain(cert, key)
        finally:
            shutil.rmtree(directory, ignore_errors=True)

    def request(self, method: str, path: str, body: Optional[Dict] = None) -> Tuple[int, Dict]:
        """(HTTP status, decoded JSON answer); OSError and http.client errors pass through."""
        connection = http.client.HTTPSConnection(self.host, self.port, timeout=self.timeout, context=self.context)
        try:
            data = json.dumps(body).encode() if body is not None else None
            headers = {"Accept": "application/json", "User-Agent": "kubeadm/standin"}
            if data is not None:
                headers["Content-Type"] = "application/json"
            connection.request(method, path, body=data, headers=headers)
            response = connection.getresponse()
            raw = response.read()
        finally:
            connection.close()
        try:
            return response.status, json.loads(raw or b"{}")
        except ValueError:
            return response.status, {"message": raw.decode("utf-8", "replace")}

"""A local HTTPS stand-in for kube-apiserver, with a PKI as kubeadm makes it, and admin.conf files that reach it.

The server (http.server over TLS on 127.0.0.1) has a certificate for 127.0.0.1 and ``kubernetes`` signed by a test
CA, asks for client certificates, and serves /api/v1/namespaces/<ns>/configmaps/<name> as kube-apiserver does:
Kubernetes Status bodies, compare-and-swap on metadata.resourceVersion (409 when stale), 404 NotFound, 401 for an
unknown token, 403 for users other than kubernetes-admin (system:anonymous without a client certificate).

Every request is kept in ``server.requests`` (``puts()`` are the PUTs among them); ``server.store`` maps
(namespace, name) to the stored object; ``server.modify(change)`` is another writer (it changes the stored object
and bumps its resourceVersion, as any write does).

The fixtures (``pki``, ``start_apiserver``, ``apiserver``, ``admin_conf``) are made available to every test under
``tests/unit/plugins`` by its ``conftest.py``.
"""

import base64
import copy
import datetime
import ipaddress
import json
import re
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

TOKEN = "abcdef.0123456789abcdef"
NAMESPACE, NAME = "kube-system", "kubeadm-config"
CLUSTER_CONFIGURATION = "apiServer: {}\napiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\n"
CONFIGMAP_PATH = f"/api/v1/namespaces/{NAMESPACE}/configmaps/{NAME}"

# --------------------------------------------------------------------------------------------------
# A PKI as kubeadm makes it: a CA, the API server's serving certificate, kubernetes-admin's client certificate
# --------------------------------------------------------------------------------------------------


def _pem_key(key, password=None):
    encryption = serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, encryption)


def _certificate(subject, public_key, issuer, issuer_key, *, ca=False, server_names=(), client=False):
    now = datetime.datetime.now(datetime.timezone.utc)
    names = [x509.NameAttribute(NameOID.COMMON_NAME, subject[0])]
    if len(subject) > 1:
        names.insert(0, x509.NameAttribute(NameOID.ORGANIZATION_NAME, subject[1]))
    name = x509.Name(names)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer.subject if issuer is not None else name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(True, False, True, False, False, True, False, False, False), critical=True
        ).add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    else:
        builder = builder.add_extension(
            x509.KeyUsage(True, False, True, False, False, False, False, False, False), critical=True
        ).add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH if client else ExtendedKeyUsageOID.SERVER_AUTH]),
            critical=False,
        )
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False
        )
    if server_names:
        alternative = [
            x509.IPAddress(ipaddress.ip_address(entry)) if entry[0].isdigit() else x509.DNSName(entry)
            for entry in server_names
        ]
        builder = builder.add_extension(x509.SubjectAlternativeName(alternative), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _authority(common_name):
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = _certificate((common_name,), key.public_key(), None, key, ca=True)
    return certificate, key


def _leaf(authority, subject, *, rsa_key=False, **kwargs):
    ca_certificate, ca_key = authority
    key = rsa.generate_private_key(65537, 2048) if rsa_key else ec.generate_private_key(ec.SECP256R1())
    certificate = _certificate(subject, key.public_key(), ca_certificate, ca_key, **kwargs)
    return certificate.public_bytes(serialization.Encoding.PEM), _pem_key(key), key


def make_pki():
    """The CA, server and client certificates and keys (PEM bytes) the tests use."""
    authority = _authority("kubernetes")
    other = _authority("kubernetes")  # same name, other key: a CA the server's certificate is not signed by
    server_cert, server_key, _server_private = _leaf(
        authority, ("kube-apiserver",), server_names=("127.0.0.1", "kubernetes", "kubernetes.default.svc")
    )
    # CN names a host that no SAN names: Go (and this client) ignore the CN
    cn_cert, cn_key, _cn_private = _leaf(authority, ("cn-only.example",), server_names=("127.0.0.1",))
    admin_cert, admin_key, admin_private = _leaf(
        authority, ("kubernetes-admin", "kubeadm:cluster-admins"), rsa_key=True, client=True
    )
    nobody_cert, nobody_key, _nobody_private = _leaf(authority, ("nobody",), client=True)
    stranger_cert, stranger_key, _stranger_private = _leaf(
        other, ("kubernetes-admin", "kubeadm:cluster-admins"), client=True
    )
    return SimpleNamespace(
        ca=authority[0].public_bytes(serialization.Encoding.PEM),
        other_ca=other[0].public_bytes(serialization.Encoding.PEM),
        server_cert=server_cert,
        server_key=server_key,
        cn_cert=cn_cert,
        cn_key=cn_key,
        admin_cert=admin_cert,
        admin_key=admin_key,
        admin_key_encrypted=_pem_key(admin_private, b"secret"),
        nobody_cert=nobody_cert,
        nobody_key=nobody_key,
        stranger_cert=stranger_cert,
        stranger_key=stranger_key,
    )


# --------------------------------------------------------------------------------------------------
# The API server
# --------------------------------------------------------------------------------------------------


def _status(code, reason, message, details=None):
    status = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message}
    status.update(reason=reason, code=code)
    if details:
        status["details"] = details
    return status


def configmap(cluster_configuration=CLUSTER_CONFIGURATION, resource_version="1000", **extra):
    """kube-system/kubeadm-config as the API server returns it; ``extra`` goes into ``data`` (None: no such key)."""
    data = {"ClusterConfiguration": cluster_configuration}
    data.update(extra)
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": NAME, "namespace": NAMESPACE, "resourceVersion": resource_version, "uid": "u-1"},
        "data": {key: value for key, value in data.items() if value is not None},
    }


class _Handler(BaseHTTPRequestHandler):
    server_version = "kube-apiserver-test"

    def log_message(self, *_args):
        pass

    def _send(self, code, body, content_type="application/json"):
        data = body if isinstance(body, bytes) else json.dumps(body).encode("utf-8")
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _user(self):
        authorization = self.headers.get("Authorization")
        if authorization is not None:
            return "kubernetes-admin" if authorization == f"Bearer {TOKEN}" else None
        certificate = self.connection.getpeercert()
        if not certificate:
            return "system:anonymous"
        return dict(item for entry in certificate["subject"] for item in entry)["commonName"]

    def _handle(self, verb, body=None):
        self.server.requests.append(
            SimpleNamespace(method=self.command, path=self.path, headers=dict(self.headers), body=body)
        )
        match = re.fullmatch(
            re.escape(self.server.prefix) + r"/api/v1/namespaces/([^/]+)/configmaps/([^/]+)", self.path
        )
        if match is None:
            self._send(404, b"404 page not found\n", "text/plain; charset=utf-8")
            return
        namespace, name = match.groups()
        user = self._user()
        if user is None:
            self._send(401, _status(401, "Unauthorized", "Unauthorized"))
            return
        if user != "kubernetes-admin":
            message = (
                f'configmaps "{name}" is forbidden: User "{user}" cannot {verb} resource "configmaps" in API group '
                f'"" in the namespace "{namespace}"'
            )
            self._send(403, _status(403, "Forbidden", message, {"name": name, "kind": "configmaps"}))
            return
        with self.server.lock:
            stored = self.server.store.get((namespace, name))
            if stored is None:
                message = f'configmaps "{name}" not found'
                self._send(404, _status(404, "NotFound", message, {"name": name, "kind": "configmaps"}))
                return
            if verb == "get":
                self._send(200, stored)
                return
            sent = json.loads(body)
            if sent["metadata"]["resourceVersion"] != stored["metadata"]["resourceVersion"]:
                message = (
                    f'Operation cannot be fulfilled on configmaps "{name}": the object has been modified; please '
                    "apply your changes to the latest version and try again"
                )
                self._send(409, _status(409, "Conflict", message, {"name": name, "kind": "configmaps"}))
                return
            sent["metadata"]["resourceVersion"] = str(int(stored["metadata"]["resourceVersion"]) + 1)
            self.server.store[(namespace, name)] = sent
            self._send(200, sent)

    def do_GET(self):
        self._handle("get")

    def do_PUT(self):
        self._handle("update", self.rfile.read(int(self.headers["Content-Length"])))


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, tls, prefix, store):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.tls = tls
        self.prefix = prefix
        self.lock = threading.Lock()
        self.requests = []
        self.handshake_errors = []
        self.store = store

    def finish_request(self, request, client_address):
        request.settimeout(10)
        try:
            connection = self.tls.wrap_socket(request, server_side=True)
        except OSError as exc:  # ssl.SSLError included: a refused client certificate
            self.handshake_errors.append(exc)
            return
        try:
            self.RequestHandlerClass(connection, client_address, self)
        finally:
            connection.close()

    def puts(self):
        """The PUT requests received (refused ones included)."""
        return [request for request in self.requests if request.method == "PUT"]

    def stored(self, namespace=NAMESPACE, name=NAME):
        """A copy of the stored object (None: there is none)."""
        with self.lock:
            return copy.deepcopy(self.store.get((namespace, name)))

    def modify(self, change, namespace=NAMESPACE, name=NAME):
        """Another writer: ``change(obj)`` edits the stored object in place, and its resourceVersion goes up."""
        with self.lock:
            obj = self.store[(namespace, name)]
            change(obj)
            obj["metadata"]["resourceVersion"] = str(int(obj["metadata"]["resourceVersion"]) + 1)


def start_server(pki, directory, *, verify_mode=ssl.CERT_OPTIONAL, certificate="server", prefix="", objects=None):
    """A running server (stop it with ``stop_server``); ``objects`` are the stored ConfigMaps (default: one)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "tls.crt").write_bytes(getattr(pki, f"{certificate}_cert"))
    (directory / "tls.key").write_bytes(getattr(pki, f"{certificate}_key"))
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(str(directory / "tls.crt"), str(directory / "tls.key"))
    tls.load_verify_locations(cadata=pki.ca.decode("ascii"))
    tls.verify_mode = verify_mode
    objects = [configmap()] if objects is None else objects
    store = {(obj["metadata"]["namespace"], obj["metadata"]["name"]): copy.deepcopy(obj) for obj in objects}
    server = _Server(tls, prefix, store)
    server.url = f"https://127.0.0.1:{server.server_address[1]}"
    server.thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    server.thread.start()
    return server


def stop_server(server):
    server.shutdown()
    server.server_close()
    server.thread.join(5)


def unused_url():
    """An https URL on 127.0.0.1 where nothing listens (connection refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"https://127.0.0.1:{port}"


def write_admin_conf(directory, server, ca, cert=None, key=None, *, token=None, tls_server_name=None, name=None):
    """A kubeconfig as kubeadm writes admin.conf (go-yaml v2 layout), at ``directory``/``name``; its path."""

    def b64(data):
        return base64.b64encode(data).decode("ascii")

    cluster = f"    certificate-authority-data: {b64(ca)}\n    server: {server}\n"
    if tls_server_name:
        cluster += f"    tls-server-name: {tls_server_name}\n"
    user = ""
    if cert is not None:
        user += f"    client-certificate-data: {b64(cert)}\n    client-key-data: {b64(key)}\n"
    if token is not None:
        user += f"    token: {token}\n"
    text = (
        "apiVersion: v1\nclusters:\n- cluster:\n"
        + cluster
        + "  name: kubernetes\ncontexts:\n- context:\n    cluster: kubernetes\n    user: kubernetes-admin\n"
        "  name: kubernetes-admin@kubernetes\ncurrent-context: kubernetes-admin@kubernetes\nkind: Config\n"
        "preferences: {}\nusers:\n- name: kubernetes-admin\n  user:\n" + user
    )
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / (name or "admin.conf")
    path.write_text(text)
    return str(path)


# --------------------------------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def pki():
    return make_pki()


@pytest.fixture
def start_apiserver(pki, tmp_path):
    """start_apiserver(verify_mode=CERT_OPTIONAL, certificate="server", prefix="", objects=None) -> running server."""
    servers = []

    def start(**options):
        server = start_server(pki, tmp_path / f"server-{len(servers)}", **options)
        servers.append(server)
        return server

    yield start
    for server in servers:
        stop_server(server)


@pytest.fixture
def apiserver(start_apiserver):
    return start_apiserver()


@pytest.fixture
def admin_conf(tmp_path, pki, apiserver):
    """admin.conf (kubernetes-admin's client certificate) for ``apiserver``."""
    return write_admin_conf(tmp_path, apiserver.url, pki.ca, pki.admin_cert, pki.admin_key)

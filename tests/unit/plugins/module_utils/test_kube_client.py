"""_kube_client: ConfigMaps read and replaced over mutual TLS, against a local HTTPS server that acts as kube-apiserver.

The server (http.server over TLS on 127.0.0.1) has a certificate for 127.0.0.1 and ``kubernetes`` signed by a test
CA, asks for client certificates, and serves /api/v1/namespaces/<ns>/configmaps/<name> as kube-apiserver does:
Kubernetes Status bodies, compare-and-swap on metadata.resourceVersion (409 when stale), 404 NotFound, 401 for an
unknown token, 403 for users other than kubernetes-admin (system:anonymous without a client certificate).
"""

import base64
import copy
import datetime
import ipaddress
import json
import os
import re
import socket
import ssl
import stat
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ansible_collections.nnf.kube_audit.plugins.module_utils import _kube_client
from ansible_collections.nnf.kube_audit.plugins.module_utils._errors import KubeAuditError
from ansible_collections.nnf.kube_audit.plugins.module_utils._kube_client import (
    Conflict,
    KubeClientError,
    NotFound,
    get_configmap,
    put_configmap,
)
from ansible_collections.nnf.kube_audit.plugins.module_utils._kubeconfig import (
    Kubeconfig,
    KubeconfigMissing,
    load_kubeconfig,
)

TOKEN = "abcdef.0123456789abcdef"
NAMESPACE, NAME = "kube-system", "kubeadm-config"
CLUSTER_CONFIGURATION = "apiServer: {}\napiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\n"

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


@pytest.fixture(scope="module")
def pki():
    authority = _authority("kubernetes")
    other = _authority("kubernetes")  # same name, other key: a CA the server's certificate is not signed by
    server_cert, server_key, _ = _leaf(
        authority, ("kube-apiserver",), server_names=("127.0.0.1", "kubernetes", "kubernetes.default.svc")
    )
    # CN names a host that no SAN names: Go (and this client) ignore the CN
    cn_cert, cn_key, _ = _leaf(authority, ("cn-only.example",), server_names=("127.0.0.1",))
    admin_cert, admin_key, admin_private = _leaf(
        authority, ("kubernetes-admin", "kubeadm:cluster-admins"), rsa_key=True, client=True
    )
    nobody_cert, nobody_key, _ = _leaf(authority, ("nobody",), client=True)
    stranger_cert, stranger_key, _ = _leaf(other, ("kubernetes-admin", "kubeadm:cluster-admins"), client=True)
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

    def __init__(self, tls, prefix):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.tls = tls
        self.prefix = prefix
        self.lock = threading.Lock()
        self.requests = []
        self.handshake_errors = []
        self.store = {
            (NAMESPACE, NAME): {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": NAME, "namespace": NAMESPACE, "resourceVersion": "1000", "uid": "u-1"},
                "data": {"ClusterConfiguration": CLUSTER_CONFIGURATION},
            }
        }

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


@pytest.fixture
def start_apiserver(pki, tmp_path):
    """start_apiserver(verify_mode=CERT_OPTIONAL, certificate="server", prefix="") -> the running server."""
    servers = []

    def start(verify_mode=ssl.CERT_OPTIONAL, certificate="server", prefix=""):
        directory = tmp_path / f"server-{len(servers)}"
        directory.mkdir()
        (directory / "tls.crt").write_bytes(getattr(pki, f"{certificate}_cert"))
        (directory / "tls.key").write_bytes(getattr(pki, f"{certificate}_key"))
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(str(directory / "tls.crt"), str(directory / "tls.key"))
        tls.load_verify_locations(cadata=pki.ca.decode("ascii"))
        tls.verify_mode = verify_mode
        server = _Server(tls, prefix)
        server.url = f"https://127.0.0.1:{server.server_address[1]}"
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        servers.append((server, thread))
        return server

    yield start
    for server, thread in servers:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def apiserver(start_apiserver):
    return start_apiserver()


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
    path = directory / (name or "admin.conf")
    path.write_text(text)
    return str(path)


@pytest.fixture
def admin_conf(tmp_path, pki, apiserver):
    return write_admin_conf(tmp_path, apiserver.url, pki.ca, pki.admin_cert, pki.admin_key)


@pytest.fixture
def temporary_directories(monkeypatch):
    """Every directory tempfile.mkdtemp makes, and the modes of it and its files when the key is loaded."""
    made, seen = [], []
    real_mkdtemp, real_load = tempfile.mkdtemp, ssl.SSLContext.load_cert_chain

    def mkdtemp(*args, **kwargs):
        made.append(real_mkdtemp(*args, **kwargs))
        return made[-1]

    def load_cert_chain(self, certfile, keyfile=None, password=None):
        directory = os.path.dirname(certfile)
        if directory in made:
            seen.append(
                {
                    "directory": stat.S_IMODE(os.stat(directory).st_mode),
                    **{
                        name: stat.S_IMODE(os.stat(os.path.join(directory, name)).st_mode)
                        for name in os.listdir(directory)
                    },
                }
            )
        return real_load(self, certfile, keyfile, password)

    monkeypatch.setattr(tempfile, "mkdtemp", mkdtemp)
    monkeypatch.setattr(ssl.SSLContext, "load_cert_chain", load_cert_chain)
    return SimpleNamespace(made=made, seen=seen)


def _eventually(condition, seconds=5):
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def failure(call, exception=KubeClientError):
    with pytest.raises(exception) as caught:
        call()
    assert isinstance(caught.value, KubeAuditError)
    return caught.value


# --------------------------------------------------------------------------------------------------
# Reading and replacing
# --------------------------------------------------------------------------------------------------


def test_get_configmap(apiserver, admin_conf, temporary_directories):
    config = load_kubeconfig(admin_conf)
    obj = get_configmap(config, NAMESPACE, NAME, timeout=10)
    assert obj == apiserver.store[(NAMESPACE, NAME)]
    assert obj["data"]["ClusterConfiguration"] == CLUSTER_CONFIGURATION
    (request,) = apiserver.requests
    assert (request.method, request.path) == ("GET", "/api/v1/namespaces/kube-system/configmaps/kubeadm-config")
    assert request.headers["Accept"] == "application/json"
    assert "Authorization" not in request.headers
    # the client certificate and key were written privately and are gone
    assert temporary_directories.seen == [{"directory": 0o700, "client.crt": 0o600, "client.key": 0o600}]
    assert len(temporary_directories.made) == 1
    assert not os.path.exists(temporary_directories.made[0])


def test_a_kubeconfig_path_works_too(apiserver, admin_conf, tmp_path):
    assert get_configmap(admin_conf, NAMESPACE, NAME)["metadata"]["resourceVersion"] == "1000"
    error = failure(lambda: get_configmap(str(tmp_path / "missing.conf"), NAMESPACE, NAME), KubeconfigMissing)
    assert str(error) == f"kubeconfig {tmp_path / 'missing.conf'} does not exist"


def test_put_with_the_current_resource_version_replaces_and_bumps_it(apiserver, admin_conf, temporary_directories):
    obj = get_configmap(admin_conf, NAMESPACE, NAME)
    changed = copy.deepcopy(obj)
    changed["data"]["ClusterConfiguration"] += "# audited\n"
    stored = put_configmap(admin_conf, changed, timeout=10)
    assert stored["metadata"]["resourceVersion"] == "1001"
    assert stored["data"] == changed["data"]
    assert get_configmap(admin_conf, NAMESPACE, NAME) == stored
    put = apiserver.requests[1]
    assert (put.method, put.path) == ("PUT", "/api/v1/namespaces/kube-system/configmaps/kubeadm-config")
    assert put.headers["Content-Type"] == "application/json"
    assert json.loads(put.body) == changed  # sent with the resourceVersion it was read at
    assert temporary_directories.made and not any(os.path.exists(path) for path in temporary_directories.made)


def test_put_with_a_stale_resource_version_is_a_conflict(apiserver, admin_conf):
    stale = get_configmap(admin_conf, NAMESPACE, NAME)
    fresh = copy.deepcopy(stale)
    fresh["data"]["other"] = "x"
    put_configmap(admin_conf, fresh)  # someone else wrote in between
    stale["data"]["mine"] = "y"
    error = failure(lambda: put_configmap(admin_conf, stale), Conflict)
    assert error.status == 409
    assert str(error) == (
        f"writing ConfigMap kube-system/kubeadm-config to {apiserver.url} (kubeconfig {admin_conf}): it was changed "
        'by someone else since it was read (409 Conflict: Operation cannot be fulfilled on configmaps "kubeadm-config":'
        " the object has been modified; please apply your changes to the latest version and try again)"
    )
    assert "mine" not in apiserver.store[(NAMESPACE, NAME)]["data"]


def test_an_unknown_configmap_is_not_found(apiserver, admin_conf):
    error = failure(lambda: get_configmap(admin_conf, NAMESPACE, "nope"), NotFound)
    assert error.status == 404
    assert str(error) == (
        f"reading ConfigMap kube-system/nope from {apiserver.url} (kubeconfig {admin_conf}): it does not exist "
        '(404 Not Found: configmaps "nope" not found)'
    )
    obj = get_configmap(admin_conf, NAMESPACE, NAME)
    obj["metadata"]["name"] = "nope"
    failure(lambda: put_configmap(admin_conf, obj), NotFound)


def test_a_404_that_is_not_a_kubernetes_status_is_not_not_found(start_apiserver, pki, tmp_path):
    server = start_apiserver(prefix="/k8s/clusters/c-1")
    wrong = write_admin_conf(tmp_path, server.url, pki.ca, pki.admin_cert, pki.admin_key)
    error = failure(lambda: get_configmap(wrong, NAMESPACE, NAME))
    assert not isinstance(error, NotFound)
    assert error.status == 404
    assert "404 Not Found: 404 page not found (not a Kubernetes Status: is this a kube-apiserver?)" in str(error)
    # the URL's path is the prefix of every request
    right = write_admin_conf(
        tmp_path, server.url + "/k8s/clusters/c-1/", pki.ca, pki.admin_cert, pki.admin_key, name="right.conf"
    )
    assert get_configmap(right, NAMESPACE, NAME)["metadata"]["name"] == NAME
    assert server.requests[-1].path == "/k8s/clusters/c-1/api/v1/namespaces/kube-system/configmaps/kubeadm-config"


def test_put_needs_a_resource_version(admin_conf):
    obj = get_configmap(admin_conf, NAMESPACE, NAME)
    del obj["metadata"]["resourceVersion"]
    with pytest.raises(ValueError, match=r"has no metadata\.resourceVersion"):
        put_configmap(admin_conf, obj)
    with pytest.raises(ValueError, match="not a Kubernetes object name"):
        get_configmap(admin_conf, NAMESPACE, "..")


# --------------------------------------------------------------------------------------------------
# Who the client is: certificates, tokens, 401 and 403
# --------------------------------------------------------------------------------------------------


def test_no_client_certificate_is_forbidden(apiserver, pki, admin_conf):
    anonymous = Kubeconfig(admin_conf, apiserver.url, ca_pem=pki.ca, user="kubernetes-admin")
    error = failure(lambda: get_configmap(anonymous, NAMESPACE, NAME))
    assert error.status == 403
    assert str(error) == (
        f"reading ConfigMap kube-system/kubeadm-config from {apiserver.url} (kubeconfig {admin_conf}): the API server "
        "refused access to user 'kubernetes-admin' (no credentials): 403 Forbidden: configmaps \"kubeadm-config\" is "
        'forbidden: User "system:anonymous" cannot get resource "configmaps" in API group "" in the namespace '
        '"kube-system"'
    )


def test_a_client_certificate_of_another_user_is_forbidden(apiserver, pki, tmp_path):
    path = write_admin_conf(tmp_path, apiserver.url, pki.ca, pki.nobody_cert, pki.nobody_key)
    error = failure(lambda: get_configmap(path, NAMESPACE, NAME))
    assert error.status == 403
    assert "(client certificate): 403 Forbidden:" in str(error)
    assert 'User "nobody" cannot get resource "configmaps"' in str(error)


def test_tokens(apiserver, pki, tmp_path):
    good = write_admin_conf(tmp_path, apiserver.url, pki.ca, token=TOKEN)
    assert get_configmap(good, NAMESPACE, NAME)["metadata"]["name"] == NAME
    assert apiserver.requests[-1].headers["Authorization"] == f"Bearer {TOKEN}"
    bad = write_admin_conf(tmp_path, apiserver.url, pki.ca, token="wrong.token", name="bad.conf")
    error = failure(lambda: get_configmap(bad, NAMESPACE, NAME))
    assert error.status == 401
    assert str(error).endswith(
        f"(kubeconfig {bad}): the API server did not accept the token of user 'kubernetes-admin': "
        "401 Unauthorized: Unauthorized"
    )


def test_a_server_requiring_client_certificates_refuses_the_handshake(start_apiserver, pki, admin_conf):
    server = start_apiserver(verify_mode=ssl.CERT_REQUIRED)
    anonymous = Kubeconfig(admin_conf, server.url, ca_pem=pki.ca, user="kubernetes-admin")
    error = failure(lambda: get_configmap(anonymous, NAMESPACE, NAME))
    message = str(error)
    assert error.status is None
    assert message.startswith(
        f"reading ConfigMap kube-system/kubeadm-config from {server.url} (kubeconfig {admin_conf}): "
    )
    assert "the server may require a client certificate, which user 'kubernetes-admin' does not have" in message
    assert _eventually(lambda: server.handshake_errors)  # the server thread records it after the client's failure
    # with the certificate it works
    admin = Kubeconfig(
        admin_conf, server.url, ca_pem=pki.ca, client_cert_pem=pki.admin_cert, client_key_pem=pki.admin_key
    )
    assert get_configmap(admin, NAMESPACE, NAME)["metadata"]["name"] == NAME


def test_a_client_certificate_from_an_unknown_ca_fails_the_handshake(apiserver, pki, tmp_path):
    path = write_admin_conf(tmp_path, apiserver.url, pki.ca, pki.stranger_cert, pki.stranger_key)
    error = failure(lambda: get_configmap(path, NAMESPACE, NAME))
    assert error.status is None
    assert f"from {apiserver.url} (kubeconfig {path}): " in str(error)
    assert "the server may have refused the client certificate of user 'kubernetes-admin'" in str(error)


# --------------------------------------------------------------------------------------------------
# Whom the client talks to: the server's certificate, checked as client-go checks it
# --------------------------------------------------------------------------------------------------


def test_a_server_certificate_from_another_ca_is_not_trusted(apiserver, pki, tmp_path, temporary_directories):
    path = write_admin_conf(tmp_path, apiserver.url, pki.other_ca, pki.admin_cert, pki.admin_key)
    error = failure(lambda: get_configmap(path, NAMESPACE, NAME))
    message = str(error)
    prefix = f"reading ConfigMap kube-system/kubeadm-config from {apiserver.url} (kubeconfig {path}): "
    assert message.startswith(prefix + "the API server's certificate is not trusted for 127.0.0.1: ")
    # OpenSSL's words in between (both CAs are named kubernetes, as after a kubeadm reset and init)
    assert message.endswith(" (verified against the certificate authority of cluster 'kubernetes')")
    assert not apiserver.requests
    assert temporary_directories.made and not any(os.path.exists(path) for path in temporary_directories.made)


def test_the_server_name_is_checked_against_subject_alternative_names(start_apiserver, pki, tmp_path):
    server = start_apiserver()
    renamed = write_admin_conf(
        tmp_path, server.url, pki.ca, pki.admin_cert, pki.admin_key, tls_server_name="kubernetes"
    )
    assert get_configmap(renamed, NAMESPACE, NAME)["metadata"]["name"] == NAME
    wrong = write_admin_conf(
        tmp_path, server.url, pki.ca, pki.admin_cert, pki.admin_key, tls_server_name="other.example", name="wrong.conf"
    )
    error = failure(lambda: get_configmap(wrong, NAMESPACE, NAME))
    assert "the API server's certificate is not trusted for other.example: Hostname mismatch" in str(error)
    # a name only the subject's CN holds is not enough (Go ignores the CN)
    cn_only = start_apiserver(certificate="cn")
    path = write_admin_conf(
        tmp_path, cn_only.url, pki.ca, pki.admin_cert, pki.admin_key, tls_server_name="cn-only.example", name="cn.conf"
    )
    error = failure(lambda: get_configmap(path, NAMESPACE, NAME))
    assert "not trusted for cn-only.example: Hostname mismatch" in str(error)


def test_an_unusable_certificate_authority(apiserver, pki, admin_conf):
    config = Kubeconfig(
        admin_conf,
        apiserver.url,
        ca_pem=b"-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n",
        client_cert_pem=pki.admin_cert,
        client_key_pem=pki.admin_key,
        cluster="kubernetes",
    )
    error = failure(lambda: get_configmap(config, NAMESPACE, NAME))
    assert f"(kubeconfig {admin_conf}): the certificate authority of cluster 'kubernetes' cannot be used: " in str(
        error
    )


# --------------------------------------------------------------------------------------------------
# The client's key: loaded through private files that never outlive the call
# --------------------------------------------------------------------------------------------------


def test_a_key_that_does_not_match_the_certificate(apiserver, pki, tmp_path, temporary_directories):
    path = write_admin_conf(tmp_path, apiserver.url, pki.ca, pki.admin_cert, pki.nobody_key)
    error = failure(lambda: get_configmap(path, NAMESPACE, NAME))
    assert f"(kubeconfig {path}): the client certificate and key of user 'kubernetes-admin' cannot be used: " in str(
        error
    )
    assert temporary_directories.made and not any(os.path.exists(path) for path in temporary_directories.made)


def test_an_encrypted_key_is_refused_without_a_prompt(apiserver, pki, tmp_path, temporary_directories):
    path = write_admin_conf(tmp_path, apiserver.url, pki.ca, pki.admin_cert, pki.admin_key_encrypted)
    error = failure(lambda: get_configmap(path, NAMESPACE, NAME))
    assert str(error).endswith(
        f"(kubeconfig {path}): the client key of user 'kubernetes-admin' is encrypted (needs a password)"
    )
    assert temporary_directories.made and not any(os.path.exists(path) for path in temporary_directories.made)


# --------------------------------------------------------------------------------------------------
# No server
# --------------------------------------------------------------------------------------------------


def test_connection_refused(pki, tmp_path, temporary_directories):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"https://127.0.0.1:{port}"
    path = write_admin_conf(tmp_path, url, pki.ca, pki.admin_cert, pki.admin_key)
    error = failure(lambda: get_configmap(path, NAMESPACE, NAME))
    assert str(error) == (
        f"reading ConfigMap kube-system/kubeadm-config from {url} (kubeconfig {path}): connection refused "
        "(is kube-apiserver running?)"
    )
    assert error.status is None
    assert temporary_directories.made and not any(os.path.exists(path) for path in temporary_directories.made)


def test_a_server_that_never_answers_times_out(pki, tmp_path):
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)  # the connection is accepted by the kernel, the TLS handshake never happens
        url = f"https://127.0.0.1:{silent.getsockname()[1]}"
        path = write_admin_conf(tmp_path, url, pki.ca, pki.admin_cert, pki.admin_key)
        error = failure(lambda: get_configmap(path, NAMESPACE, NAME, timeout=0.5))
    assert str(error) == (
        f"reading ConfigMap kube-system/kubeadm-config from {url} (kubeconfig {path}): no answer within 0.5 seconds"
    )


def test_the_module_uses_this_worktree():
    assert os.path.realpath(_kube_client.__file__) == os.path.realpath(
        os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "plugins", "module_utils", "_kube_client.py")
    )

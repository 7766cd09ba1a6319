"""_kube_client: ConfigMaps read and replaced over mutual TLS, against a local HTTPS server that acts as kube-apiserver.

The server, its PKI and the ``pki``/``start_apiserver``/``apiserver``/``admin_conf`` fixtures are in
``tests/unit/plugins/kube_api_server.py``.
"""

import copy
import json
import os
import socket
import ssl
import stat
import tempfile
import time
from types import SimpleNamespace

import pytest
from kube_api_server import CLUSTER_CONFIGURATION, NAME, NAMESPACE, TOKEN, unused_url, write_admin_conf

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
    with pytest.raises(ValueError, match=r"not a Kubernetes object name"):
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
    url = unused_url()
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


# --------------------------------------------------------------------------------------------------
# send_read: one GET to a given API server (a master's own), whatever it answers
# --------------------------------------------------------------------------------------------------


def test_send_read_goes_to_the_given_server_not_the_kubeconfigs(tmp_path, pki, apiserver):
    # the kubeconfig names a server where nothing listens (a load balancer that is down): the request must not go there
    kubeconfig = write_admin_conf(tmp_path / "lb", unused_url(), pki.ca, pki.admin_cert, pki.admin_key)
    status, message = _kube_client.send_read(
        kubeconfig, apiserver.url, "/apis/nnf.cray.hpe.com/v1/probes/x", {"Audit-ID": "proof-1"}, timeout=5
    )
    assert status == 404
    assert "404 page not found" in message
    (request,) = apiserver.requests
    assert (request.method, request.path) == ("GET", "/apis/nnf.cray.hpe.com/v1/probes/x")
    assert request.headers["Audit-ID"] == "proof-1"
    assert request.headers["User-Agent"] == _kube_client.USER_AGENT


def test_send_read_returns_a_refusal_as_an_answer(tmp_path, pki, apiserver):
    # a 403 is an answer the API server audits: a result, not an error
    kubeconfig = write_admin_conf(tmp_path, apiserver.url, pki.ca, pki.nobody_cert, pki.nobody_key)
    status, message = _kube_client.send_read(kubeconfig, apiserver.url, f"/api/v1/namespaces/{NAMESPACE}/configmaps/x")
    assert status == 403
    assert 'User "nobody" cannot get resource "configmaps"' in message


def test_send_read_without_an_answer_is_an_error_naming_the_server(admin_conf):
    server = unused_url()
    with pytest.raises(KubeClientError, match=r"^GET /version from https://127\.0\.0\.1:\d+ .*connection refused"):
        _kube_client.send_read(admin_conf, server, "/version", timeout=5)

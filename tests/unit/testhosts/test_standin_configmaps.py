"""kube-system/kubeadm-config on kube-apiserver stand-ins run as processes on 127.0.0.1, sharing one store file."""

import http.client
import json
import os
import ssl

import pytest
import testhosts
from standin import configmaps
from test_standin_apiserver import CATCH_ALL_POLICY, Apiserver

KUBEADM_CONFIG = "/api/v1/namespaces/kube-system/configmaps/kubeadm-config"
CLUSTER_CONFIGURATION = (
    "apiServer: {}\napiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\nkubernetesVersion: v1.32.0\n"
)

pytestmark = pytest.mark.skipif(not testhosts.shutil.which("openssl"), reason="needs openssl")


@pytest.fixture
def cluster(tmp_path, pki):
    """start(name) -> an apiserver of one test cluster (a shared store seeded with kubeadm-config), audited."""
    store = tmp_path / "cluster" / "store.json"
    configmaps.seed_store(str(store), CLUSTER_CONFIGURATION)
    servers = []

    def start(name):
        directory = tmp_path / name
        directory.mkdir()
        server = Apiserver(directory, pki, f"--client-ca-file={pki / 'ca.crt'}", policy=CATCH_ALL_POLICY)
        server.flags += [f"--audit-policy-file={server.policy}", f"--audit-log-path={server.log}"]
        (server.knobs / configmaps.STORE_POINTER).write_text(f"{store}\n")
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.stop()


def call(server, pki, method, path=KUBEADM_CONFIG, *, body=None, cert="admin", headers=None):
    """(status, decoded JSON, Audit-Id) of one request, with the client certificate ``cert`` of the PKI or none."""
    context = ssl.create_default_context(cafile=str(pki / "ca.crt"))
    if cert:
        context.load_cert_chain(str(pki / f"{cert}.crt"), str(pki / f"{cert}.key"))
    connection = http.client.HTTPSConnection("127.0.0.1", server.port, timeout=5, context=context)
    data = json.dumps(body).encode() if body is not None else None
    connection.request(method, path, body=data, headers=dict(headers or {}))
    response = connection.getresponse()
    payload = json.loads(response.read())
    connection.close()
    return response.status, payload, response.getheader("Audit-Id")


def test_get_returns_the_configmap_kubeadm_reads(cluster, pki):
    server = cluster("a")
    status, configmap, _audit_id = call(server, pki, "GET")
    assert status == 200
    assert (configmap["apiVersion"], configmap["kind"]) == ("v1", "ConfigMap")
    metadata = configmap["metadata"]
    assert (metadata["name"], metadata["namespace"]) == ("kubeadm-config", "kube-system")
    assert isinstance(metadata["resourceVersion"], str) and metadata["resourceVersion"].isdigit()
    assert metadata["uid"] and metadata["creationTimestamp"].endswith("Z")
    assert configmap["data"] == {"ClusterConfiguration": CLUSTER_CONFIGURATION}


def test_put_is_a_compare_and_swap_on_resource_version(cluster, pki):
    server = cluster("a")
    _status, configmap, _audit_id = call(server, pki, "GET")
    old_version = configmap["metadata"]["resourceVersion"]
    configmap["data"]["ClusterConfiguration"] += "# changed\n"
    status, stored, _audit_id = call(server, pki, "PUT", body=configmap)
    assert status == 200
    assert int(stored["metadata"]["resourceVersion"]) > int(old_version)
    assert stored["data"] == configmap["data"] and stored["metadata"]["uid"] == configmap["metadata"]["uid"]
    assert call(server, pki, "GET")[1] == stored
    status, answer, _audit_id = call(server, pki, "PUT", body=configmap)  # still the old resourceVersion
    assert status == 409
    assert answer == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'Operation cannot be fulfilled on configmaps "kubeadm-config": the object has been modified; '
        "please apply your changes to the latest version and try again",
        "reason": "Conflict",
        "details": {"name": "kubeadm-config", "kind": "configmaps"},
        "code": 409,
    }
    assert call(server, pki, "GET")[1] == stored  # nothing written


def test_the_store_is_the_clusters_every_apiserver_serves_the_same_object(cluster, pki):
    first, second = cluster("a"), cluster("b")
    _status, configmap, _audit_id = call(first, pki, "GET")
    configmap["data"]["ClusterConfiguration"] = CLUSTER_CONFIGURATION.replace("v1.32.0", "v1.32.1")
    status, stored, _audit_id = call(second, pki, "PUT", body=configmap)
    assert status == 200
    assert call(first, pki, "GET")[1] == stored
    assert call(first, pki, "PUT", body=configmap)[0] == 409  # the version read through the first is stale now


def test_anonymous_and_header_users_are_forbidden_with_rbacs_message(cluster, pki):
    server = cluster("a")
    status, answer, audit_id = call(server, pki, "GET", cert=None)
    assert status == 403
    assert answer["message"] == (
        'configmaps "kubeadm-config" is forbidden: User "system:anonymous" cannot get resource "configmaps" in API '
        'group "" in the namespace "kube-system"'
    )
    assert (answer["reason"], answer["code"], answer["details"]) == (
        "Forbidden",
        403,
        {"name": "kubeadm-config", "kind": "configmaps"},
    )
    event = [event for event in server.events() if event["auditID"] == audit_id][-1]
    assert event["annotations"]["authorization.k8s.io/decision"] == "forbid"
    assert event["responseStatus"]["code"] == 403
    status, answer, _audit_id = call(server, pki, "PUT", body={}, cert=None, headers={"X-Remote-User": "alice"})
    assert status == 403
    assert 'User "alice" cannot update resource "configmaps"' in answer["message"]


def test_certificate_users_are_audited_as_their_cn_and_o(cluster, pki):
    server = cluster("a")
    # a certificate wins over request headers, as in kube-apiserver (it is not the front proxy's)
    _status, _answer, audit_id = call(server, pki, "GET", headers={"X-Remote-User": "mallory"})
    events = [event for event in server.events() if event["auditID"] == audit_id]
    assert [event["stage"] for event in events] == ["RequestReceived", "ResponseComplete"]
    assert events[-1]["user"] == {
        "username": "kubernetes-admin",
        "groups": ["kubeadm:cluster-admins", "system:authenticated"],
    }
    assert events[-1]["objectRef"] == {
        "resource": "configmaps",
        "namespace": "kube-system",
        "name": "kubeadm-config",
        "apiVersion": "v1",
    }
    assert events[-1]["responseObject"]["kind"] == "ConfigMap"
    assert events[-1]["annotations"]["authorization.k8s.io/decision"] == "allow"


def test_other_names_are_not_found_and_bad_bodies_are_bad_requests(cluster, pki):
    server = cluster("a")
    status, answer, _audit_id = call(server, pki, "GET", KUBEADM_CONFIG.replace("kubeadm-config", "kube-proxy"))
    assert (status, answer["reason"], answer["message"]) == (404, "NotFound", 'configmaps "kube-proxy" not found')
    _status, configmap, _audit_id = call(server, pki, "GET")
    renamed = json.loads(json.dumps(configmap))
    renamed["metadata"]["name"] = "other"
    status, answer, _audit_id = call(server, pki, "PUT", body=renamed)
    assert (status, answer["message"]) == (
        400,
        "the name of the object (other) does not match the name on the URL (kubeadm-config)",
    )
    configmap["data"]["maxage"] = 30
    status, answer, _audit_id = call(server, pki, "PUT", body=configmap)
    assert (
        status == 400
        and "cannot unmarshal number into Go struct field ConfigMap.data of type string" in (answer["message"])
    )
    assert call(server, pki, "DELETE")[0] == 405


def test_a_put_without_resource_version_is_unconditional_as_for_real_configmaps(cluster, pki):
    server = cluster("a")
    _status, configmap, _audit_id = call(server, pki, "GET")
    del configmap["metadata"]["resourceVersion"]
    configmap["data"] = {"ClusterConfiguration": "x"}
    status, stored, _audit_id = call(server, pki, "PUT", body=configmap)
    assert status == 200 and stored["data"] == {"ClusterConfiguration": "x"}


def test_without_a_store_the_cluster_is_empty(cluster, pki):
    server = cluster("a")
    os.remove(server.knobs / configmaps.STORE_POINTER)
    assert call(server, pki, "GET")[:2] == (404, configmaps.not_found("kubeadm-config"))


def test_a_missing_client_ca_file_fails_the_start(tmp_path, pki):
    server = Apiserver(tmp_path, pki, f"--client-ca-file={tmp_path}/missing-ca.crt")
    code, stderr = server.run()
    assert code == 1
    assert f'"unable to load client CA provider: open {tmp_path}/missing-ca.crt: no such file or directory"' in stderr


def test_other_configmaps_of_kube_system_get_the_usual_answer(cluster, pki):
    # scenario traffic reads kube-system/extension-apiserver-authentication as a controller (proxy headers): the
    # stand-in answers it as any other read; only kubeadm-config is served from the store, to certificates only
    server = cluster("a")
    path = "/api/v1/namespaces/kube-system/configmaps/extension-apiserver-authentication"
    headers = {"X-Remote-User": "system:kube-controller-manager", "X-Remote-Group": "system:authenticated"}
    status, _payload, audit_id = call(server, pki, "GET", path, cert=None, headers=headers)
    assert status == 200 and audit_id
    assert call(server, pki, "GET", KUBEADM_CONFIG, cert=None, headers=headers)[0] == 403

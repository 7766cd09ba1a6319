"""_kubeadm_config and kubeadm_config_io: kube-system/kubeadm-config read and written through admin.conf.

Against the local kube-apiserver stand-in (``kube_api_server``). Every read is checked twice: ``read()`` called here,
and the ``kubeadm_config_io`` module run as Ansible runs it on a bare master (a Python with its standard library
only, which also checks that reading never imports yaml). The cluster's and the host's problems are data in the
result (``missing``, ``error``), never an exception.
"""

import copy
import json
from pathlib import Path

import module_runner
import pytest
from kube_api_server import CONFIGMAP_PATH, NAME, NAMESPACE, configmap, unused_url, write_admin_conf

from ansible_collections.nnf.kube_audit.plugins.module_utils import _kubeadm_config
from ansible_collections.nnf.kube_audit.plugins.module_utils._errors import KubeAuditError

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "kubeadm"
V1BETA3 = (FIXTURES / "cluster-configuration-v1beta3-v1.29.0.yaml").read_text()
V1BETA4 = (FIXTURES / "cluster-configuration-v1beta4-v1.32.0.yaml").read_text()
CLUSTER_STATUS = "apiEndpoints:\n  master-1:\n    advertiseAddress: 192.37.70.3\n    bindPort: 6443\n"


def kubeadm_configmap(text, **extra):
    """kubeadm-config as kubeadm init stores it, with labels, annotations and another data key."""
    obj = configmap(text, **extra)
    obj["metadata"].update(
        labels={"app.kubernetes.io/managed-by": "kubeadm"},
        annotations={"example.com/owner": "platform"},
        creationTimestamp="2024-05-28T13:39:50Z",
    )
    return obj


def read_in_process(path, tmp_path):
    return _kubeadm_config.read(path, timeout=10)


def read_by_module(path, tmp_path):
    result = module_runner.run("kubeadm_config_io", {"kubeconfig": path, "timeout": 10}, tmp_path, stdlib_only=True)
    assert result["changed"] is False
    return result["kubeadm_config"]


@pytest.fixture(params=[read_in_process, read_by_module], ids=["read", "module"])
def read(request, tmp_path):
    return lambda path: request.param(path, tmp_path)


def expected(path, **values):
    return dict(
        {
            "kubeconfig": path,
            "kubeconfig_exists": True,
            "found": False,
            "configmap": None,
            "resource_version": None,
            "cluster_configuration": None,
            "error": None,
            "missing": None,
        },
        **values,
    )


# --------------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [V1BETA3, V1BETA4], ids=["v1beta3", "v1beta4"])
def test_found(read, start_apiserver, pki, tmp_path, text):
    stored = kubeadm_configmap(text, ClusterStatus=CLUSTER_STATUS)
    server = start_apiserver(objects=[stored])
    path = write_admin_conf(tmp_path, server.url, pki.ca, pki.admin_cert, pki.admin_key)

    result = read(path)

    assert result == expected(path, found=True, configmap=stored, resource_version="1000", cluster_configuration=text)
    assert [(request.method, request.path) for request in server.requests] == [("GET", CONFIGMAP_PATH)]


def test_no_kubeconfig_is_missing_and_asks_nothing(read, apiserver, tmp_path):
    path = str(tmp_path / "etc" / "kubernetes" / "admin.conf")
    assert read(path) == expected(path, kubeconfig_exists=False, missing=f"no kubeconfig at {path}")
    assert apiserver.requests == []


def test_no_configmap_is_not_a_kubeadm_cluster(read, start_apiserver, pki, tmp_path):
    server = start_apiserver(objects=[])
    path = write_admin_conf(tmp_path, server.url, pki.ca, pki.admin_cert, pki.admin_key)
    assert read(path) == expected(
        path, missing=f"the cluster has no ConfigMap {NAMESPACE}/{NAME} (not a kubeadm cluster?)"
    )
    assert len(server.requests) == 1


@pytest.mark.parametrize(
    "stored",
    [
        configmap(None, ClusterStatus=CLUSTER_STATUS),
        {key: value for key, value in configmap().items() if key != "data"},  # a ConfigMap without data at all
    ],
    ids=["other-keys-only", "no-data"],
)
def test_no_cluster_configuration_key(read, start_apiserver, pki, tmp_path, stored):
    server = start_apiserver(objects=[stored])
    path = write_admin_conf(tmp_path, server.url, pki.ca, pki.admin_cert, pki.admin_key)
    assert read(path) == expected(path, missing=f"ConfigMap {NAMESPACE}/{NAME} has no ClusterConfiguration")


def test_an_unusable_kubeconfig_is_an_error_naming_the_file(read, apiserver, pki, tmp_path):
    broken = tmp_path / "broken.conf"
    broken.write_text("apiVersion: v1\nclusters:\n\t- cluster: {}\n")
    result = read(str(broken))
    assert result["error"].startswith(f"kubeconfig {broken} line 3: ")
    assert result == expected(str(broken), error=result["error"])

    directory = tmp_path / "admin.d"
    directory.mkdir()
    assert read(str(directory)) == expected(str(directory), error=f"kubeconfig {directory} is a directory, not a file")

    elsewhere = write_admin_conf(tmp_path, apiserver.url, pki.ca, pki.admin_cert, pki.admin_key, name="other.conf")
    text = Path(elsewhere).read_text().replace("current-context: kubernetes-admin@kubernetes", "current-context: x")
    Path(elsewhere).write_text(text)
    assert read(elsewhere) == expected(
        elsewhere, error=f"kubeconfig {elsewhere}: the current-context 'x' is not among its contexts"
    )
    assert apiserver.requests == []


def test_an_api_server_that_is_down_is_an_error_naming_it(read, pki, tmp_path):
    url = unused_url()
    path = write_admin_conf(tmp_path, url, pki.ca, pki.admin_cert, pki.admin_key)
    assert read(path) == expected(
        path,
        error=(
            f"reading ConfigMap {NAMESPACE}/{NAME} from {url} (kubeconfig {path}): connection refused "
            "(is kube-apiserver running?)"
        ),
    )


def test_a_refusing_api_server_is_an_error_naming_it(read, apiserver, pki, tmp_path):
    path = write_admin_conf(tmp_path, apiserver.url, pki.ca, pki.nobody_cert, pki.nobody_key)
    result = read(path)
    assert result["error"].startswith(f"reading ConfigMap {NAMESPACE}/{NAME} from {apiserver.url} (kubeconfig {path})")
    assert "403 Forbidden" in result["error"]
    assert result == expected(path, error=result["error"])


# --------------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------------


def test_write_replaces_the_text_and_keeps_everything_else(start_apiserver, pki, tmp_path):
    stored = kubeadm_configmap(V1BETA4, ClusterStatus=CLUSTER_STATUS)
    server = start_apiserver(objects=[stored])
    path = write_admin_conf(tmp_path, server.url, pki.ca, pki.admin_cert, pki.admin_key)
    read = _kubeadm_config.read(path)
    sent = copy.deepcopy(read["configmap"])

    written = _kubeadm_config.write(path, read["configmap"], V1BETA4 + "# audited\n")

    assert written == {"resource_version": "1001", "conflict": False}
    assert read["configmap"] == sent  # the caller's object is not changed
    now = server.stored()
    assert now["data"] == {"ClusterConfiguration": V1BETA4 + "# audited\n", "ClusterStatus": CLUSTER_STATUS}
    assert now["metadata"] == dict(stored["metadata"], resourceVersion="1001")
    put = server.puts()[0]
    assert (put.path, json.loads(put.body)["metadata"]["resourceVersion"]) == (CONFIGMAP_PATH, "1000")


def test_write_of_a_stale_read_is_a_conflict(apiserver, admin_conf):
    read = _kubeadm_config.read(admin_conf)
    apiserver.modify(lambda obj: obj["data"].update(other="x"))
    with pytest.raises(KubeAuditError) as caught:
        _kubeadm_config.write(admin_conf, read["configmap"], "mine\n")
    assert caught.value.result == {"conflict": True}
    assert "it was changed by someone else since it was read (409 Conflict" in str(caught.value)
    assert apiserver.stored()["data"] == dict(configmap()["data"], other="x")


def test_the_module_writes_reports_conflicts_and_writes_nothing_in_check_mode(apiserver, admin_conf, tmp_path):
    read = _kubeadm_config.read(admin_conf)
    args = {"operation": "write", "kubeconfig": admin_conf, "configmap": read["configmap"]}

    checked = module_runner.run(
        "kubeadm_config_io",
        dict(args, cluster_configuration="checked\n", _ansible_check_mode=True),
        tmp_path,
        stdlib_only=True,
    )
    assert (checked["changed"], checked["conflict"], checked["resource_version"]) == (True, False, None)
    assert apiserver.puts() == []

    written = module_runner.run(
        "kubeadm_config_io", dict(args, cluster_configuration="written\n"), tmp_path, stdlib_only=True
    )
    assert (written["changed"], written["conflict"], written["resource_version"]) == (True, False, "1001")
    assert apiserver.stored()["data"]["ClusterConfiguration"] == "written\n"

    stale = module_runner.run(
        "kubeadm_config_io", dict(args, cluster_configuration="stale\n"), tmp_path, stdlib_only=True
    )
    assert stale["failed"] is True and stale["conflict"] is True
    assert stale["msg"].startswith(f"writing ConfigMap {NAMESPACE}/{NAME} to {apiserver.url} (kubeconfig {admin_conf})")
    assert apiserver.stored()["data"]["ClusterConfiguration"] == "written\n"


def test_the_module_needs_the_configmap_and_the_text_to_write(admin_conf, apiserver, tmp_path):
    result = module_runner.run(
        "kubeadm_config_io", {"operation": "write", "kubeconfig": admin_conf}, tmp_path, stdlib_only=True
    )
    assert result["failed"] is True
    assert result["msg"] == "configmap and cluster_configuration are required to write"
    assert apiserver.requests == []

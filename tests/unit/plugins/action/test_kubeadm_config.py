"""kubeadm_config end to end: the real action plugin, kubeadm_config_io run as on a bare master (stdlib-only Python),
and the local kube-apiserver stand-in (``kube_api_server``) holding kube-system/kubeadm-config.

Read, edit here with the byte-preserving editor, compare-and-swap PUT with the resourceVersion that was read; on a
409 read and edit again, ``retries`` times at most. The server counts the PUTs: a rerun or check mode sends none.
"""

from pathlib import Path

import action_runner
import pytest
from ansible.errors import AnsibleActionFail
from kube_api_server import NAME, NAMESPACE, configmap, unused_url, write_admin_conf

from ansible_collections.nnf.kube_audit.plugins.action import kubeadm_config
from ansible_collections.nnf.kube_audit.plugins.plugin_utils.kubeadm_config_editor import edit_cluster_configuration

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "kubeadm"
V1BETA3 = (FIXTURES / "cluster-configuration-v1beta3-v1.29.0.yaml").read_text()
V1BETA4 = (FIXTURES / "cluster-configuration-v1beta4-v1.32.0.yaml").read_text()
OBJECT = f"ConfigMap {NAMESPACE}/{NAME}"
HEADER = f"{OBJECT} ClusterConfiguration"
CLUSTER_STATUS = "apiEndpoints:\n  master-1:\n    advertiseAddress: 192.37.70.3\n    bindPort: 6443\n"
POLICY = "/etc/kubernetes/policies/audit-policy.yaml"
ENABLE = {
    "args": {
        "audit-policy-file": POLICY,
        "audit-log-path": "/var/log/kubernetes/kube-apiserver-audit.log",
        "audit-log-maxsize": 100,
    },
    "remove_args": ["audit-*"],
    "mounts": [
        {"name": "k8s-policies", "host_path": POLICY, "type": "File", "read_only": True},
        {"name": "k8s-log", "host_path": "/var/log/kubernetes/", "type": "DirectoryOrCreate", "read_only": False},
    ],
}
DISABLE = {"remove_args": ["audit-*"], "remove_mounts": ["k8s-policies", "k8s-log"]}
READ, WRITE = ("kubeadm_config_io", "read"), ("kubeadm_config_io", "write")


def kubeadm_configmap(text):
    """kubeadm-config as kubeadm stores it: labels, annotations, and a data key besides ClusterConfiguration."""
    obj = configmap(text, ClusterStatus=CLUSTER_STATUS)
    obj["metadata"].update(
        labels={"app.kubernetes.io/managed-by": "kubeadm"},
        annotations={"example.com/owner": "platform"},
        creationTimestamp="2024-05-28T13:39:50Z",
    )
    return obj


def enabled(text, **options):
    return edit_cluster_configuration(text, **dict(ENABLE, **options)).after


def without_text(obj):
    """The ConfigMap but its ClusterConfiguration and resourceVersion: what the action must leave alone."""
    rest = dict(obj, metadata=dict(obj["metadata"]), data=dict(obj["data"]))
    del rest["metadata"]["resourceVersion"], rest["data"]["ClusterConfiguration"]
    return rest


def calls(action):
    """(module, operation) of each remote call; kubeadm_config_io's read is the default operation."""
    return [(call.module, call.args.get("operation", "read")) for call in action.calls]


@pytest.fixture(params=[V1BETA3, V1BETA4], ids=["v1beta3", "v1beta4"])
def cluster(request, start_apiserver, pki, tmp_path):
    """A cluster whose kubeadm-config holds one of the fixtures, and its admin.conf."""
    stored = kubeadm_configmap(request.param)
    server = start_apiserver(objects=[stored])
    kubeconfig = write_admin_conf(tmp_path / "etc", server.url, pki.ca, pki.admin_cert, pki.admin_key)
    server.original = stored
    server.text = request.param
    return server, kubeconfig


def run(tmp_path, args, **options):
    """The kubeadm_config task (its real ActionModule.run) and the action it ran on."""
    action = action_runner.action_module(kubeadm_config, args, tmp_path, **options)
    return action.run(task_vars={}), action


# --------------------------------------------------------------------------------------------------
# Keeping the ClusterConfiguration in step
# --------------------------------------------------------------------------------------------------


def test_enable_writes_once_and_leaves_the_rest_of_the_configmap_alone(tmp_path, cluster):
    server, kubeconfig = cluster
    expected = edit_cluster_configuration(server.text, **ENABLE)
    assert expected.changed

    result, action = run(tmp_path, dict(ENABLE, kubeconfig=kubeconfig))

    assert not result.get("failed"), result
    assert result["changed"] is True
    assert result["found"] is True
    assert result["changes"] == list(expected.changes)
    assert result["api_version"] == expected.api_version
    assert result["resource_version"] == "1001"
    assert "diff" not in result and "warnings" not in result
    assert not {"before", "after", "configmap", "cluster_configuration"} & set(result)
    assert calls(action) == [READ, WRITE]
    assert action.removed_tmp_paths == [(None, False)]
    assert len(server.puts()) == 1
    stored = server.stored()
    assert stored["data"]["ClusterConfiguration"] == expected.after
    assert without_text(stored) == without_text(server.original)  # other keys, labels, annotations, uid

    again, action = run(tmp_path, dict(ENABLE, kubeconfig=kubeconfig))
    assert not again.get("failed"), again
    assert again["changed"] is False
    assert again["changes"] == []
    assert again["resource_version"] == "1001"
    assert calls(action) == [READ]
    assert len(server.puts()) == 1  # no second PUT
    assert server.stored() == stored


def test_disable_gives_back_the_bytes_kubeadm_wrote(tmp_path, cluster):
    server, kubeconfig = cluster
    run(tmp_path, dict(ENABLE, kubeconfig=kubeconfig))
    result, _action = run(tmp_path, dict(DISABLE, kubeconfig=kubeconfig))
    assert result["changed"] is True
    assert server.stored()["data"]["ClusterConfiguration"] == server.text
    assert without_text(server.stored()) == without_text(server.original)
    assert len(server.puts()) == 2


@pytest.mark.parametrize("check_mode", [True, False], ids=["check", "apply"])
def test_diff_shows_the_text_and_check_mode_sends_no_put(tmp_path, cluster, check_mode):
    server, kubeconfig = cluster

    result, action = run(tmp_path, dict(ENABLE, kubeconfig=kubeconfig), check_mode=check_mode, diff=True)

    assert not result.get("failed"), result
    assert result["changed"] is True
    assert result["diff"] == [
        {"before_header": HEADER, "after_header": HEADER, "before": server.text, "after": enabled(server.text)}
    ]
    if check_mode:
        assert calls(action) == [READ]
        assert server.puts() == []
        assert server.stored() == server.original
        assert result["resource_version"] == "1000"  # as read: nothing was written
    else:
        assert calls(action) == [READ, WRITE]
        assert len(server.puts()) == 1
        assert server.stored()["data"]["ClusterConfiguration"] == enabled(server.text)
        rerun, _action = run(tmp_path, dict(ENABLE, kubeconfig=kubeconfig), diff=True)
        assert rerun["changed"] is False
        assert not rerun.get("diff")
        assert len(server.puts()) == 1


# --------------------------------------------------------------------------------------------------
# Nothing to keep in step: required or not
# --------------------------------------------------------------------------------------------------


@pytest.fixture
def no_configmap(start_apiserver, pki, tmp_path):
    server = start_apiserver(objects=[])
    return server, write_admin_conf(tmp_path / "etc", server.url, pki.ca, pki.admin_cert, pki.admin_key)


MISSING_CONFIGMAP = f"the cluster has no {OBJECT} (not a kubeadm cluster?)"


def test_a_missing_configmap_not_required_is_a_warning_and_no_change(tmp_path, no_configmap):
    server, kubeconfig = no_configmap
    result, action = run(tmp_path, dict(ENABLE, kubeconfig=kubeconfig, required=False), diff=True)
    assert not result.get("failed"), result
    assert result["changed"] is False
    assert result["found"] is False
    assert result["warnings"] == [f"{MISSING_CONFIGMAP}: {OBJECT} is left alone"]
    assert result["diff"] == []
    assert calls(action) == [READ]
    assert server.puts() == []


def test_a_missing_configmap_required_fails_saying_what_is_missing(tmp_path, no_configmap):
    server, kubeconfig = no_configmap
    for args in (dict(ENABLE, kubeconfig=kubeconfig, required=True), dict(ENABLE, kubeconfig=kubeconfig)):
        result, action = run(tmp_path, args)
        assert result["failed"] is True
        assert result["msg"] == f"{MISSING_CONFIGMAP}: cannot keep {OBJECT} in step"
        assert calls(action) == [READ]
    assert server.puts() == []


@pytest.mark.parametrize("required", [True, False])
def test_a_missing_kubeconfig(tmp_path, apiserver, required):
    kubeconfig = str(tmp_path / "etc" / "kubernetes" / "admin.conf")
    result, _action = run(tmp_path, dict(ENABLE, kubeconfig=kubeconfig, required=required))
    if required:
        assert result["failed"] is True
        assert result["msg"] == f"no kubeconfig at {kubeconfig}: cannot keep {OBJECT} in step"
    else:
        assert not result.get("failed"), result
        assert result["changed"] is False
        assert result["warnings"] == [f"no kubeconfig at {kubeconfig}: {OBJECT} is left alone"]
    assert apiserver.requests == []


def test_an_api_server_that_is_down_fails_even_when_not_required(tmp_path, pki):
    url = unused_url()
    kubeconfig = write_admin_conf(tmp_path / "etc", url, pki.ca, pki.admin_cert, pki.admin_key)
    result, _action = run(tmp_path, dict(ENABLE, kubeconfig=kubeconfig, required=False))
    assert result["failed"] is True
    assert result["msg"] == (
        f"reading {OBJECT} from {url} (kubeconfig {kubeconfig}): connection refused (is kube-apiserver running?)"
    )


def test_a_text_the_editor_cannot_use_fails_naming_the_configmap(tmp_path, start_apiserver, pki):
    server = start_apiserver(objects=[configmap("apiServer: [unclosed\n")])
    kubeconfig = write_admin_conf(tmp_path / "etc", server.url, pki.ca, pki.admin_cert, pki.admin_key)
    result, _action = run(tmp_path, dict(ENABLE, kubeconfig=kubeconfig))
    assert result["failed"] is True
    assert result["msg"].startswith(f"{HEADER} is not valid YAML: ")
    assert "exception" not in result  # a message, not a bug's traceback
    assert server.puts() == []


def test_bad_options_are_refused_by_ansible(tmp_path, apiserver):
    action = action_runner.action_module(kubeadm_config, {"retries": "many"}, tmp_path)
    with pytest.raises(AnsibleActionFail, match=r"retries"):
        action.run(task_vars={})
    assert action.calls == []


# --------------------------------------------------------------------------------------------------
# Another writer in between: 409, read again, edit again
# --------------------------------------------------------------------------------------------------


def upgrade(obj):
    """Another writer (kubeadm upgrade): a new kubernetesVersion and a new data key."""
    text = obj["data"]["ClusterConfiguration"]
    obj["data"]["ClusterConfiguration"] = text.replace("kubernetesVersion: v1.", "kubernetesVersion: v2.")
    obj["data"]["OtherWriter"] = "was here"


def test_a_conflict_is_read_and_edited_again_and_the_other_writers_change_survives(tmp_path, cluster):
    server, kubeconfig = cluster
    reads = []

    def after_call(call):
        if call.args.get("operation", "read") == "read":
            reads.append(call.result["kubeadm_config"]["resource_version"])
            if len(reads) == 1:  # between the action's first read and its write
                server.modify(upgrade)

    result, action = run(tmp_path, dict(ENABLE, kubeconfig=kubeconfig), after_call=after_call, diff=True)

    assert not result.get("failed"), result
    assert result["changed"] is True
    assert calls(action) == [READ, WRITE, READ, WRITE]
    assert action.calls[1].result["failed"] is True and action.calls[1].result["conflict"] is True
    assert reads == ["1000", "1001"]
    assert result["resource_version"] == "1002"
    assert len(server.puts()) == 2  # the refused one and the good one
    upgraded = server.text.replace("kubernetesVersion: v1.", "kubernetesVersion: v2.")
    assert upgraded != server.text
    stored = server.stored()
    assert stored["data"]["ClusterConfiguration"] == enabled(upgraded)  # edited again, from the new text
    assert stored["data"]["OtherWriter"] == "was here"
    assert stored["data"]["ClusterStatus"] == CLUSTER_STATUS
    assert stored["metadata"]["labels"] == server.original["metadata"]["labels"]
    assert result["diff"][0]["before"] == upgraded  # the diff is of what was written over


@pytest.mark.parametrize("retries", [0, 2])
def test_conflicts_every_time_fail_after_retries_plus_one_attempts(tmp_path, cluster, retries):
    server, kubeconfig = cluster

    def after_call(call):
        if call.args.get("operation", "read") == "read":
            server.modify(lambda obj: obj["data"].update(Counter=obj["metadata"]["resourceVersion"]))

    result, action = run(tmp_path, dict(ENABLE, kubeconfig=kubeconfig, retries=retries), after_call=after_call)

    attempts = retries + 1
    assert result["failed"] is True
    assert result["msg"].startswith(
        f"{OBJECT} kept changing while it was being written ({attempts} attempts, each refused as stale): "
        f"writing {OBJECT} to {server.url} (kubeconfig {kubeconfig}): it was changed by someone else since it was "
        "read (409 Conflict: "
    )
    assert calls(action) == [READ, WRITE] * attempts
    assert len(server.puts()) == attempts
    assert server.stored()["data"]["ClusterConfiguration"] == server.text  # never written
    assert server.stored()["metadata"]["resourceVersion"] == str(1000 + attempts)  # the other writer's

"""After the failed rollout: master-1 audited, master-2 exactly as before and serving, master-3 never touched."""

import json
import os
import sys
import time

import pytest
import yaml

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "shared"))

from kube_audit_state import MANIFEST, container, host_state

testinfra_hosts = ["kube_control_plane"]


@pytest.fixture(scope="module")
def state(host):
    return host_state(host)


def audit_flags(manifest_text):
    return [arg for arg in container(yaml.safe_load(manifest_text))["command"] if arg.startswith("--audit-")]


def serving(state):
    apiserver = state["status"]["apiserver"]
    assert apiserver["source"] == MANIFEST
    assert apiserver["command"] == container(yaml.safe_load(state["manifests"]["kube-apiserver.yaml"]))["command"]
    return (apiserver["state"], apiserver["ready"]) == ("running", True)


def test_the_first_master_was_changed_before_the_failure(host, state):
    if host.backend.get_hostname() != "master-1":
        pytest.skip("master-1 only")
    assert len(audit_flags(state["manifests"]["kube-apiserver.yaml"])) == 5
    assert state["policy"] is not None
    assert serving(state)


def test_the_failed_master_is_back_byte_for_byte_and_serving(host, state):
    if host.backend.get_hostname() != "master-2":
        pytest.skip("master-2 only")
    assert state["manifests"] == state["pre_audit"]
    assert state["policy"] is None  # it did not exist before the run
    assert serving(state)
    assert audit_flags(state["manifests"]["kube-apiserver.yaml"]) == []
    # the crash loop the role saw, then undid (the kubelet's own stops of the old container are Normal events)
    crashes = [
        event["exitCode"]
        for event in state["events"]
        if (event["reason"], event["type"]) == ("ContainerDied", "Warning")
    ]
    assert crashes and set(crashes) == {1}
    backups = [name for name in state["backups"] if name.startswith("kube-apiserver.yaml.")]
    assert [state["backups"][name] for name in backups] == [state["pre_audit"]["kube-apiserver.yaml"]]


def test_the_last_master_was_never_touched(host, state):
    if host.backend.get_hostname() != "master-3":
        pytest.skip("master-3 only")
    assert state["manifests"] == state["pre_audit"]
    assert state["policy_dir_attributes"] is None
    assert state["log_dir_attributes"] is None
    assert state["backups"] is None
    assert state["status"]["podStarts"] == state["status_before"]["podStarts"]
    assert state["status"]["apiserver"]["uid"] == state["status_before"]["apiserver"]["uid"]


def test_a_failed_wait_names_the_last_crash_as_the_runtime_reports_it(host, state):
    """apiserver_wait's failure message on master-2 carries crictl's exit code and log of the last crash.

    The crash loop the rollout saw is the newest exited container in the runtime (the crictl stand-in answers from
    the kubelet stand-in's containers.json). A wait for an apiserver started after now cannot succeed within a
    second, so the module fails and reports it, as it did during the rollout.
    """
    if host.backend.get_hostname() != "master-2":
        pytest.skip("master-2 only")
    records = json.loads(host.file("/run/kubelet-standin/containers.json").content_string)["containers"]
    newest_exited = max((c for c in records if c["state"] == "CONTAINER_EXITED"), key=lambda c: c["createdAt"])
    pod_uid = newest_exited["labels"]["io.kubernetes.pod.uid"]
    # the crash, unless the rollback's new pod came while a crashing container was starting (it is then stopped)
    stopped = any(event["reason"] == "Killing" and event.get("uid") == pod_uid for event in state["events"])
    if not stopped:
        assert (newest_exited["exitCode"], newest_exited["reason"]) == (1, "Error")
    try:
        result = host.ansible(
            "nnf.kube_audit.apiserver_wait",
            f"manifest_path={MANIFEST} timeout=1 changed_since={time.time() + 3600}",
            check=False,
        )
    except host.ansible.AnsibleException as failure:
        result = failure.result
    # the failure, whether or not the tree callback kept its "failed" key: no pid, a crictl report
    assert "pid" not in result and result["msg"].startswith("kube-apiserver was not ready within 1 seconds")
    assert result["crictl"]["container_id"] == newest_exited["id"]
    message = result["msg"].splitlines()
    assert f"Last exited container {newest_exited['id']}: exit code {newest_exited['exitCode']}." in message
    log_tail = message[message.index("Last log lines:") + 1 :]
    if not stopped:
        assert any(line.endswith('"command failed" err="rollback test: audit backend failed"') for line in log_tail)


def test_kubeadm_config_was_left_as_it_was():
    # master-1 was audited before master-2 failed: a rollout that did not finish must not reach kubeadm-config, or
    # the next kubeadm upgrade would spread a configuration that did not come up
    store = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "testhosts", "cluster", "store.json")
    with open(store, encoding="utf-8") as handle:
        configmap = json.load(handle)["objects"]["configmaps/kube-system/kubeadm-config"]
    assert configmap["data"]["ClusterConfiguration"]
    assert "audit" not in configmap["data"]["ClusterConfiguration"]

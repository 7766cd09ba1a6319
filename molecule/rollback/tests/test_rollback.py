"""After the failed rollout: master-1 audited, master-2 exactly as before and serving, master-3 never touched."""

import os
import sys

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

"""After the rollout that found master-2 not auditing: master-1 audited and proven, master-2 exactly as before."""

import os
import sys

import pytest
import yaml

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "shared"))

from kube_audit_state import audit_events, container, host_state

testinfra_hosts = ["kube_control_plane"]
PROBE_USER = "kubernetes-admin"  # admin.conf's client certificate, as kubeadm makes it


@pytest.fixture(scope="module")
def state(host):
    return host_state(host)


def proofs(state):
    """The rollout's proof requests in the master's audit log (admin.conf's user, the collection's user agent)."""
    return [
        event
        for event in audit_events(state)
        if event["user"]["username"] == PROBE_USER and event.get("userAgent") == "nnf.kube_audit"
    ]


def test_the_first_master_is_audited_and_its_log_holds_the_proof(host, state):
    if host.backend.get_hostname() != "master-1":
        pytest.skip("master-1 only")
    flags = container(yaml.safe_load(state["manifests"]["kube-apiserver.yaml"]))["command"]
    assert any(flag.startswith("--audit-policy-file=") for flag in flags)
    found = proofs(state)
    assert len(found) == 1, found
    assert found[0]["verb"] == "get" and found[0]["requestURI"].startswith("/apis/")


def test_the_master_that_did_not_audit_is_back_byte_for_byte(host, state):
    if host.backend.get_hostname() != "master-2":
        pytest.skip("master-2 only")
    assert state["manifests"] == state["pre_audit"]
    assert state["status"]["apiserver"]["state"] == "running"
    assert state["status"]["apiserver"]["ready"] is True
    assert proofs(state) == []  # it never wrote one (the log may exist: the stand-in created it)

"""After a policy-only change: new policy file and checksum, nothing else in the manifest, one restart, new levels."""

import json
import os
import sys
import uuid

import pytest
import yaml

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "shared"))

from kube_audit_state import (
    CHECKSUM_ANNOTATION,
    audit_events,
    host_state,
    preset,
    request,
    sha256,
)

testinfra_hosts = ["kube_control_plane"]
CLIENTMOUNT = "system:serviceaccount:nnf-system:nnf-clientmount"


@pytest.fixture(scope="module")
def state(host):
    found = host_state(host)
    found["before"] = {
        name: host.file(f"/root/before-policy-change/{name}").content_string
        for name in ("kube-apiserver.yaml", "status.json")
    }
    return found


def test_the_policy_file_holds_the_new_preset(state):
    assert state["policy"] == preset("nnf_clientmount")
    assert state["policy_attributes"]["mode"] == 0o600


def test_only_the_checksum_annotation_changed_in_the_manifest(state):
    before = state["before"]["kube-apiserver.yaml"].splitlines()
    after = state["manifests"]["kube-apiserver.yaml"].splitlines()
    changed = [(old, new) for old, new in zip(before, after) if old != new]
    assert len(before) == len(after)
    assert changed == [
        (
            f"    {CHECKSUM_ANNOTATION}: sha256:{sha256(preset('nnf'))}",
            f"    {CHECKSUM_ANNOTATION}: sha256:{sha256(preset('nnf_clientmount'))}",
        )
    ]


def test_the_previous_policy_is_backed_up(state):
    backups = [text for name, text in state["backups"].items() if name.startswith("audit-policy.yaml.")]
    assert backups == [preset("nnf")]


def test_the_kubelet_restarted_kube_apiserver_once(state):
    before = json.loads(state["before"]["status.json"])
    assert state["status"]["podStarts"] == before["podStarts"] + 1
    assert state["status"]["apiserver"]["ready"] is True
    assert yaml.safe_load(state["manifests"]["kube-apiserver.yaml"])["metadata"]["annotations"][CHECKSUM_ANNOTATION]


def test_kube_apiserver_audits_by_the_new_policy(state, host):
    other = f"verify-{uuid.uuid4().hex[:8]}"
    nnf_path = "/apis/nnf.cray.hpe.com/v1alpha1/namespaces/default/nnfstorages/storage-1"
    pods_path = "/api/v1/namespaces/nnf-system/pods"
    _status, clientmount_id = request(state["facts"], pods_path, CLIENTMOUNT, ["system:serviceaccounts"])
    _status, other_id = request(state["facts"], nnf_path, other, ["nnf-admins"])

    events = {event["auditID"]: event for event in audit_events(host_state(host))}

    assert events[clientmount_id]["level"] == "Metadata"  # core group, by the clientmount service account
    assert other_id not in events  # the nnf preset logged this; the clientmount preset does not

"""After converge: each master's manifest changed exactly as asked, and the kubelet restarted kube-apiserver from it.

Runs on the controller (testinfra, ansible connection). What the kubelet stand-in saw is in /run/kubelet-standin
on each host (tests/README.md); prepare (save_pre_audit.yml) saved its status before the change. Everything a test
reads on a host is fetched in one command per host (``host_state``, molecule/shared/kube_audit_state.py): each ssh
round trip costs more than all the assertions.
"""

import os
import sys
import uuid

import pytest
import yaml

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "shared"))

from kube_audit_state import (
    AUDIT_LOG,
    CHECKSUM_ANNOTATION,
    LOG_DIR,
    MANIFEST,
    POLICY,
    USER_AGENT,
    audit_events,
    container,
    host_state,
    request,
    sha256,
)

testinfra_hosts = ["kube_control_plane"]

AUDIT_FLAGS = [
    f"--audit-policy-file={POLICY}",
    f"--audit-log-path={AUDIT_LOG}",
    "--audit-log-maxsize=100",
    "--audit-log-maxage=30",
    "--audit-log-maxbackup=10",
]
AUDIT_MOUNTS = [
    {"mountPath": POLICY, "name": "k8s-policies", "readOnly": True},
    {"mountPath": f"{LOG_DIR}/", "name": "k8s-log", "readOnly": False},
]
AUDIT_VOLUMES = [
    {"hostPath": {"path": POLICY, "type": "File"}, "name": "k8s-policies"},
    {"hostPath": {"path": f"{LOG_DIR}/", "type": "DirectoryOrCreate"}, "name": "k8s-log"},
]


@pytest.fixture(scope="module")
def state(host):
    """The host as converge and idempotence left it (read once: the tests before the requests change nothing)."""
    return host_state(host)


def the_backup(state):
    """The manifest as it was before converge (the role's backup): exactly one, idempotence added none."""
    backups = [name for name in state["backups"] if name.startswith("kube-apiserver.yaml.")]
    assert len(backups) == 1, backups
    return state["backups"][backups[0]]


def the_manifest(state):
    return state["manifests"]["kube-apiserver.yaml"]


def test_manifest_gained_exactly_the_audit_flags_and_mounts(state):
    before, after = yaml.safe_load(the_backup(state)), yaml.safe_load(the_manifest(state))
    old, new = container(before), container(after)
    assert new["command"] == old["command"] + AUDIT_FLAGS
    assert new["volumeMounts"] == old["volumeMounts"] + AUDIT_MOUNTS
    assert after["spec"]["volumes"] == before["spec"]["volumes"] + AUDIT_VOLUMES
    checksum = "sha256:" + sha256(state["policy"])
    assert after["metadata"]["annotations"] == dict(
        before["metadata"]["annotations"], **{CHECKSUM_ANNOTATION: checksum}
    )
    for pod, entry in ((before, old), (after, new)):  # nothing else in the pod moved
        del entry["command"], entry["volumeMounts"], pod["spec"]["volumes"], pod["metadata"]["annotations"]
    assert after == before


def test_manifest_keeps_every_original_line_in_order(state):
    """Only additions: the module must not reformat what it did not change."""
    old_lines, new_lines = the_backup(state).splitlines(), the_manifest(state).splitlines()
    position = 0
    for line in old_lines:
        assert line in new_lines[position:], f"original line lost or moved: {line!r}"
        position = new_lines.index(line, position) + 1
    added = 1 + len(AUDIT_FLAGS) + 3 * len(AUDIT_MOUNTS) + 4 * len(AUDIT_VOLUMES)  # annotation + kubeadm's layout
    assert len(new_lines) == len(old_lines) + added


def test_kubelet_restarted_kube_apiserver_once_from_the_new_manifest(state):
    before, status = state["status_before"], state["status"]
    apiserver = status["apiserver"]
    assert apiserver["source"] == MANIFEST
    assert apiserver["uid"] != before["apiserver"]["uid"]
    assert apiserver["command"] == container(yaml.safe_load(the_manifest(state)))["command"]
    assert (apiserver["state"], apiserver["ready"]) == ("running", True)
    assert apiserver["restartCount"] == 0, apiserver["lastState"]
    assert status["podStarts"] == before["podStarts"] + 1  # one new pod for the change, none for idempotence
    killed = [event["uid"] for event in state["events"] if event["reason"] == "Killing"]
    assert killed == [before["apiserver"]["uid"]]
    warnings = [event for event in state["events"] if event["reason"] in ("FailedMount", "AuditPathNotMounted")]
    assert warnings == []


def test_the_process_is_kube_apiserver_with_the_manifest_arguments(state):
    process = state["apiserver_process"]
    assert process["comm"] == "kube-apiserver\n"
    argv = process["cmdline"].rstrip("\0").split("\0")
    assert argv == container(yaml.safe_load(the_manifest(state)))["command"]


def test_strays_moved_out_and_the_other_static_pods_kept(state):
    strays = [os.path.basename(path) for path in state["facts"]["stray_files"]]
    expected = ["etcd.yaml", "kube-apiserver.yaml", "kube-scheduler.yaml"] + (["haproxy.yaml"] if strays else [])
    assert sorted(state["manifests"]) == sorted(expected)
    assert sorted(state["strays"] or {}) == sorted(strays)
    assert sorted(state["status"]["staticPods"]) == sorted(f"kube-system/{name[: -len('.yaml')]}" for name in expected)


def test_audit_log_created_like_kube_apiserver_does(state):
    assert state["audit_log_attributes"] == {"mode": 0o600, "uid": 0, "gid": 0, "dir": False}


@pytest.mark.parametrize(
    ("path", "filesystem"),
    [("/etc", "overlay"), ("/root", "overlay"), ("/etc/kubernetes", "tmpfs"), ("/var/log", "tmpfs")],
)
def test_converge_wrote_only_to_the_hosts_own_layers(state, path, filesystem):
    assert state["filesystems"][path] == filesystem


def test_requests_are_audited_as_the_policy_says(state, host):
    user = f"verify-{uuid.uuid4().hex[:8]}"
    nnf_path = "/apis/nnf.cray.hpe.com/v1alpha1/namespaces/default/nnfstorages/storage-1"
    status, nnf_id = request(state["facts"], nnf_path, user, ["nnf-admins"])
    assert status == 200
    pods_path = "/api/v1/namespaces/default/pods"
    status, pods_id = request(state["facts"], pods_path, user)
    assert status == 200
    logged = audit_events(host_state(host))  # read again: the audit log as it is after these requests
    mine = [event for event in logged if event["auditID"] in (nnf_id, pods_id)]
    # the NNF policy logs the nnf.cray.hpe.com get at Metadata, omits RequestReceived, and ignores core pods
    assert len(mine) == 1, mine
    event = mine[0]
    assert list(event) == [
        "kind",
        "apiVersion",
        "level",
        "auditID",
        "stage",
        "requestURI",
        "verb",
        "user",
        "sourceIPs",
        "userAgent",
        "objectRef",
        "responseStatus",
        "requestReceivedTimestamp",
        "stageTimestamp",
        "annotations",
    ]
    assert event["auditID"] == nnf_id
    assert (event["kind"], event["apiVersion"], event["level"]) == ("Event", "audit.k8s.io/v1", "Metadata")
    assert (event["stage"], event["verb"], event["requestURI"]) == ("ResponseComplete", "get", nnf_path)
    assert event["user"] == {"username": user, "groups": ["nnf-admins", "system:authenticated"]}
    assert event["userAgent"] == USER_AGENT
    assert event["objectRef"] == {
        "resource": "nnfstorages",
        "namespace": "default",
        "name": "storage-1",
        "apiGroup": "nnf.cray.hpe.com",
        "apiVersion": "v1alpha1",
    }
    assert event["responseStatus"] == {"metadata": {}, "code": 200}


def test_the_rollout_proved_the_master_audits(state):
    # enable_audit sent each master, once it was ready, one harmless read its policy records, as admin.conf's user,
    # with a fresh Audit-ID, and waited for it in the log: the NNF preset records the NNF groups' reads
    proofs = [
        event
        for event in audit_events(state)
        if event["user"]["username"] == "kubernetes-admin" and event.get("userAgent") == "nnf.kube_audit"
    ]
    assert len(proofs) == 1, proofs  # one rollout changed the master; the idempotence rerun sent nothing
    proof = proofs[0]
    assert (proof["verb"], proof["level"], proof["stage"]) == ("get", "Metadata", "ResponseComplete")
    assert proof["objectRef"]["apiGroup"] in ("lus.cray.hpe.com", "nnf.cray.hpe.com")
    assert proof["user"]["groups"] == ["kubeadm:cluster-admins", "system:authenticated"]

"""After converge: each master's manifest changed exactly as asked, and the kubelet restarted kube-apiserver from it.

Runs on the controller (testinfra, ansible connection). What the kubelet stand-in saw is in /run/kubelet-standin
on each host (tests/README.md); prepare (save_pre_audit.yml) saved its status before the change. Everything a test
reads on a host is fetched in one command per host (``host_state``): each ssh round trip costs more than all the
assertions.
"""

import hashlib
import http.client
import json
import os
import shlex
import ssl
import sys
import uuid

import pytest
import yaml

testinfra_hosts = ["kube_control_plane"]

MANIFESTS = "/etc/kubernetes/manifests"
MANIFEST = f"{MANIFESTS}/kube-apiserver.yaml"
BACKUP_DIR = "/etc/kubernetes/backup"
STRAY_DIR = f"{BACKUP_DIR}/stray-manifests"
AUDIT_LOG = "/var/log/kubernetes/kube-apiserver-audit.log"
POLICY = "/etc/kubernetes/policies/audit-policy.yaml"
AUDIT_FLAGS = [
    f"--audit-policy-file={POLICY}",
    f"--audit-log-path={AUDIT_LOG}",
    "--audit-log-maxsize=100",
    "--audit-log-maxage=30",
    "--audit-log-maxbackup=10",
]
CHECKSUM_ANNOTATION = "audit.nnf.cray.hpe.com/policy-checksum"
AUDIT_MOUNTS = [
    {"mountPath": POLICY, "name": "k8s-policies", "readOnly": True},
    {"mountPath": "/var/log/kubernetes/", "name": "k8s-log", "readOnly": False},
]
AUDIT_VOLUMES = [
    {"hostPath": {"path": POLICY, "type": "File"}, "name": "k8s-policies"},
    {"hostPath": {"path": "/var/log/kubernetes/", "type": "DirectoryOrCreate"}, "name": "k8s-log"},
]

# Runs on the host (the test masters share the machine's Python): the files and facts the tests look at.
_COLLECT = """
import json, os
def text(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except OSError:
        return None
def listing(path):
    return sorted(os.listdir(path)) if os.path.isdir(path) else None
status = json.loads(text("/run/kubelet-standin/status.json"))
pid = (status["apiserver"] or {}).get("pid")
with open("/proc/self/mountinfo", encoding="utf-8") as handle:
    filesystems = {line.split()[4]: line.split(" - ")[1].split()[0] for line in handle}
backups = {name: text(os.path.join(BACKUP_DIR, name)) for name in listing(BACKUP_DIR) or []}
log = os.stat(AUDIT_LOG) if os.path.exists(AUDIT_LOG) else None
print(json.dumps({
    "facts": json.loads(text("/etc/ansible/facts.d/testhost.fact")),
    "status": status,
    "status_before": json.loads(text("/root/pre-audit/status.json")),
    "events": [json.loads(line) for line in text("/run/kubelet-standin/events.jsonl").splitlines()],
    "manifest": text(MANIFEST),
    "policy": text(POLICY),
    "backups": {name: body for name, body in backups.items() if body is not None},
    "manifests": listing(MANIFESTS),
    "strays": listing(STRAY_DIR),
    "audit_log": None if log is None else {"mode": log.st_mode & 0o7777, "uid": log.st_uid},
    "comm": text(f"/proc/{pid}/comm") if pid else None,
    "cmdline": text(f"/proc/{pid}/cmdline") if pid else None,
    "filesystems": filesystems,
}))
"""
_CONSTANTS = {
    "POLICY": POLICY,
    "MANIFESTS": MANIFESTS,
    "MANIFEST": MANIFEST,
    "BACKUP_DIR": BACKUP_DIR,
    "STRAY_DIR": STRAY_DIR,
    "AUDIT_LOG": AUDIT_LOG,
}
_STATE = {}


def host_state(host):
    name = host.backend.get_hostname()
    if name not in _STATE:
        script = "\n".join([f"{key} = {json.dumps(value)}" for key, value in _CONSTANTS.items()] + [_COLLECT.strip()])
        result = host.run(f"{shlex.quote(sys.executable)} -c {shlex.quote(script)}")
        assert result.rc == 0, result.stderr
        _STATE[name] = json.loads(result.stdout)
    return _STATE[name]


def container(pod):
    return next(c for c in pod["spec"]["containers"] if c["name"] == "kube-apiserver")


def the_backup(state):
    """The manifest as it was before converge (the role's backup): exactly one, idempotence added none."""
    backups = [name for name in state["backups"] if name.startswith("kube-apiserver.yaml.")]
    assert len(backups) == 1, backups
    return state["backups"][backups[0]]


def test_manifest_gained_exactly_the_audit_flags_and_mounts(host):
    state = host_state(host)
    before, after = yaml.safe_load(the_backup(state)), yaml.safe_load(state["manifest"])
    old, new = container(before), container(after)
    assert new["command"] == old["command"] + AUDIT_FLAGS
    assert new["volumeMounts"] == old["volumeMounts"] + AUDIT_MOUNTS
    assert after["spec"]["volumes"] == before["spec"]["volumes"] + AUDIT_VOLUMES
    checksum = "sha256:" + hashlib.sha256(state["policy"].encode()).hexdigest()
    assert after["metadata"]["annotations"] == dict(
        before["metadata"]["annotations"], **{CHECKSUM_ANNOTATION: checksum}
    )
    for pod, entry in ((before, old), (after, new)):  # nothing else in the pod moved
        del entry["command"], entry["volumeMounts"], pod["spec"]["volumes"], pod["metadata"]["annotations"]
    assert after == before


def test_manifest_keeps_every_original_line_in_order(host):
    """Only additions: the module must not reformat what it did not change."""
    state = host_state(host)
    old_lines, new_lines = the_backup(state).splitlines(), state["manifest"].splitlines()
    position = 0
    for line in old_lines:
        assert line in new_lines[position:], f"original line lost or moved: {line!r}"
        position = new_lines.index(line, position) + 1
    added = 1 + len(AUDIT_FLAGS) + 3 * len(AUDIT_MOUNTS) + 4 * len(AUDIT_VOLUMES)  # annotation + kubeadm's layout
    assert len(new_lines) == len(old_lines) + added


def test_kubelet_restarted_kube_apiserver_once_from_the_new_manifest(host):
    state = host_state(host)
    before, status = state["status_before"], state["status"]
    apiserver = status["apiserver"]
    assert apiserver["source"] == MANIFEST
    assert apiserver["uid"] != before["apiserver"]["uid"]
    assert apiserver["command"] == container(yaml.safe_load(state["manifest"]))["command"]
    assert (apiserver["state"], apiserver["ready"]) == ("running", True)
    assert apiserver["restartCount"] == 0, apiserver["lastState"]
    assert status["podStarts"] == before["podStarts"] + 1  # one new pod for the change, none for idempotence
    killed = [event["uid"] for event in state["events"] if event["reason"] == "Killing"]
    assert killed == [before["apiserver"]["uid"]]
    warnings = [event for event in state["events"] if event["reason"] in ("FailedMount", "AuditPathNotMounted")]
    assert warnings == []


def test_the_process_is_kube_apiserver_with_the_manifest_arguments(host):
    state = host_state(host)
    assert state["comm"] == "kube-apiserver\n"
    argv = state["cmdline"].rstrip("\0").split("\0")
    assert argv == container(yaml.safe_load(state["manifest"]))["command"]


def test_strays_moved_out_and_the_other_static_pods_kept(host):
    state = host_state(host)
    strays = [os.path.basename(path) for path in state["facts"]["stray_files"]]
    expected = ["etcd.yaml", "kube-apiserver.yaml", "kube-scheduler.yaml"] + (["haproxy.yaml"] if strays else [])
    assert state["manifests"] == sorted(expected)
    assert (state["strays"] or []) == sorted(strays)
    assert sorted(state["status"]["staticPods"]) == sorted(f"kube-system/{name[: -len('.yaml')]}" for name in expected)


def test_audit_log_created_like_kube_apiserver_does(host):
    assert host_state(host)["audit_log"] == {"mode": 0o600, "uid": 0}


@pytest.mark.parametrize(
    ("path", "filesystem"),
    [("/etc", "overlay"), ("/root", "overlay"), ("/etc/kubernetes", "tmpfs"), ("/var/log", "tmpfs")],
)
def test_converge_wrote_only_to_the_hosts_own_layers(host, path, filesystem):
    assert host_state(host)["filesystems"][path] == filesystem


def _request(address, port, path, user, groups):
    ca = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "testhosts", "pki", "ca.crt")
    context = ssl.create_default_context(cafile=ca)  # the serving certificate must be valid for the host address
    connection = http.client.HTTPSConnection(address, port, timeout=10, context=context)
    connection.putrequest("GET", path)
    connection.putheader("X-Remote-User", user)
    connection.putheader("User-Agent", "molecule-verify")
    for group in groups:
        connection.putheader("X-Remote-Group", group)
    connection.endheaders()
    response = connection.getresponse()
    response.read()
    connection.close()
    return response.status, response.getheader("Audit-Id")


def test_requests_are_audited_as_the_policy_says(host):
    facts = host_state(host)["facts"]
    user = f"verify-{uuid.uuid4().hex[:8]}"
    nnf_path = "/apis/nnf.cray.hpe.com/v1alpha1/namespaces/default/nnfstorages/storage-1"
    status, nnf_id = _request(facts["address"], facts["apiserver_port"], nnf_path, user, ["nnf-admins"])
    assert status == 200
    pods_path = "/api/v1/namespaces/default/pods"
    status, pods_id = _request(facts["address"], facts["apiserver_port"], pods_path, user, [])
    assert status == 200
    lines = [json.loads(line) for line in host.file(AUDIT_LOG).content_string.splitlines()]
    mine = [event for event in lines if event["auditID"] in (nnf_id, pods_id)]
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
    assert event["objectRef"] == {
        "resource": "nnfstorages",
        "namespace": "default",
        "name": "storage-1",
        "apiGroup": "nnf.cray.hpe.com",
        "apiVersion": "v1alpha1",
    }
    assert event["responseStatus"] == {"metadata": {}, "code": 200}

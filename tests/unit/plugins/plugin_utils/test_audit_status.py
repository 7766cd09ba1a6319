"""audit_status: a master's row from its two reads (fixture manifests), and where a container path is on the host."""

import base64
import hashlib
import json

import pytest
from manifest_fixtures import NNF_PATCHED, read

from ansible_collections.nnf.kube_audit.plugins.plugin_utils import _goyaml, audit_status

POD = {
    "spec": {
        "volumes": [
            {"name": "k8s-log", "hostPath": {"path": "/var/log/kubernetes/", "type": "DirectoryOrCreate"}},
            {"name": "policies", "hostPath": {"path": "/srv/policies", "type": "DirectoryOrCreate"}},
            {"name": "policy-file", "hostPath": {"path": "/srv/other/audit.yaml", "type": "File"}},
            {"name": "empty", "emptyDir": {}},
        ]
    }
}
CONTAINER = {
    "volumeMounts": [
        {"name": "k8s-log", "mountPath": "/var/log/kubernetes/"},
        {"name": "policies", "mountPath": "/etc/kubernetes/policies"},
        {"name": "policy-file", "mountPath": "/etc/kubernetes/policies/special/audit.yaml"},
        {"name": "empty", "mountPath": "/tmp"},
    ]
}


@pytest.mark.parametrize(
    ("container_path", "expected"),
    [
        ("/var/log/kubernetes/kube-apiserver-audit.log", "/var/log/kubernetes/kube-apiserver-audit.log"),
        ("/etc/kubernetes/policies/audit-policy.yaml", "/srv/policies/audit-policy.yaml"),
        ("/etc/kubernetes/policies/special/audit.yaml", "/srv/other/audit.yaml"),  # the longest mount wins
        ("/etc/kubernetes/policies-old/audit.yaml", None),  # a prefix of the name is not a parent directory
        ("/tmp/audit.log", None),  # not a hostPath volume: the container's own
        ("/var/log/audit.log", None),
        ("", None),
    ],
)
def test_host_path_follows_the_hostpath_mounts(container_path, expected):
    assert audit_status.host_path(container_path, POD, CONTAINER) == expected


def node(policy_bytes, live_argv=None, log_exists=True):
    return {
        "live": None
        if live_argv is None
        else {"pid": 7, "argv": live_argv, "started": "2026-12-03T10:00:00Z", "started_epoch": 2e9},
        "files": [
            {
                "path": "/etc/kubernetes/policies/audit-policy.yaml",
                "exists": True,
                "size": len(policy_bytes),
                "sha256": hashlib.sha256(policy_bytes).hexdigest(),
                "content_base64": base64.b64encode(policy_bytes).decode(),
                "error": None,
            }
        ],
        "log": {"path": "/var/log/kubernetes/kube-apiserver-audit.log", "exists": log_exists, "backups": []},
    }


def manifest_read(text):
    snapshot = {"exists": True, "content_base64": base64.b64encode(text.encode()).decode(), "mtime": 1e9}
    return {"snapshot": snapshot}


def test_an_audited_master_without_drift_is_ok_and_its_benchmarks_are_judged_on_the_live_flags():
    text = read(NNF_PATCHED)
    pod = _goyaml.load(text)
    container = pod["spec"]["containers"][0]
    argv = [container["command"][0], *audit_status.command_items(container)]
    policy = b"apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: RequestResponse\n"
    annotated = text.replace(
        "  annotations:\n",
        f"  annotations:\n    audit.nnf.cray.hpe.com/policy-checksum: sha256:{hashlib.sha256(policy).hexdigest()}\n",
        1,
    )
    found = audit_status.row(read=manifest_read(annotated), node=node(policy, argv), manifest_path="/m.yaml")
    assert found["audited"] is True
    assert [d["kind"] for d in found["drift"]] == []
    assert found["ok"] is True
    failed = [row["id"] for row in found["benchmarks"] if not row["ok"]]
    assert "STIG V-242403" not in failed  # a RequestResponse catch-all


def test_no_process_is_not_audited_and_drifts():
    text = read(NNF_PATCHED)
    found = audit_status.row(read=manifest_read(text), node=node(b"x", None), manifest_path="/m.yaml")
    assert found["audited"] is False and found["ok"] is False
    assert found["drift"][0]["kind"] == "not-running"
    assert found["live"] is None


@pytest.mark.parametrize(
    ("kubeadm_read", "expected"),
    [
        (None, "not compared: not asked for"),
        ({"missing": "no kubeconfig at /etc/kubernetes/admin.conf"}, "not compared: no kubeconfig at /etc/kub"),
        ({"error": "reading ConfigMap ...: connection refused"}, "not compared: reading ConfigMap ...: connection"),
        ({"cluster_configuration": "apiServer: {}\n"}, "compared with the manifest"),
    ],
    ids=["not-asked", "no-kubeconfig", "unreachable", "compared"],
)
def test_the_row_says_whether_kubeadm_config_was_compared(kubeadm_read, expected):
    read_result = manifest_read(read(NNF_PATCHED))
    if kubeadm_read is not None:
        read_result["kubeadm_config"] = kubeadm_read
    found = audit_status.row(read=read_result, node=node(b"x", None), manifest_path="/m.yaml")
    assert found["kubeadm_config"].startswith(expected)


def test_audit_volumes_are_the_mounts_that_hold_the_flagged_files_not_a_name_prefix():
    pod = {
        "spec": {
            "volumes": [
                {"name": "pki", "hostPath": {"path": "/etc/kubernetes/pki", "type": "DirectoryOrCreate"}},
                {"name": "k8s-log", "hostPath": {"path": "/var/log/kubernetes/", "type": "DirectoryOrCreate"}},
            ]
        }
    }
    container = {
        "volumeMounts": [
            {"name": "pki", "mountPath": "/etc/kubernetes/pki", "readOnly": True},
            {"name": "k8s-log", "mountPath": "/var/log/kubernetes/"},
        ]
    }
    items = ["--audit-policy-file=/etc/kubernetes/pki-audit/policy.yaml", "--audit-log-path=/var/log/kubernetes/a.log"]
    assert audit_status.audit_volumes(pod, container, items) == {
        "k8s-log": {
            "hostPath": "/var/log/kubernetes/",
            "mountPath": "/var/log/kubernetes/",
            "readOnly": False,
            "pathType": "DirectoryOrCreate",
        }
    }


def webhook_manifest(policy, kubeconfig, recorded_kubeconfig=None, log=True):
    """NNF_PATCHED with the webhook flag, its read-only mount and both checksum annotations (optionally no log)."""
    text = read(NNF_PATCHED)
    recorded = hashlib.sha256(kubeconfig if recorded_kubeconfig is None else recorded_kubeconfig).hexdigest()
    text = text.replace(
        "  annotations:\n",
        "  annotations:\n"
        f"    audit.nnf.cray.hpe.com/policy-checksum: sha256:{hashlib.sha256(policy).hexdigest()}\n"
        f"    audit.nnf.cray.hpe.com/webhook-config-checksum: sha256:{recorded}\n",
        1,
    )
    pod = _goyaml.load(text)
    container = pod["spec"]["containers"][0]
    flags = [item for item in container["command"] if not (not log and item.startswith("--audit-log-"))]
    flags.append("--audit-webhook-config-file=/etc/kubernetes/audit-webhook-kubeconfig.yaml")
    container["command"] = flags
    container["volumeMounts"].append(
        {"name": "k8s-audit-webhook", "mountPath": "/etc/kubernetes/audit-webhook-kubeconfig.yaml", "readOnly": True}
    )
    pod["spec"]["volumes"].append(
        {
            "name": "k8s-audit-webhook",
            "hostPath": {"path": "/etc/kubernetes/audit-webhook-kubeconfig.yaml", "type": "File"},
        }
    )
    return pod, container, json.dumps(pod)  # JSON is YAML: the row decodes it as the kubelet would


def webhook_node(policy, kubeconfig, argv):
    found = node(policy, argv)
    found["files"].append(
        {
            "path": "/etc/kubernetes/audit-webhook-kubeconfig.yaml",
            "exists": True,
            "size": len(kubeconfig),
            "sha256": hashlib.sha256(kubeconfig).hexdigest(),
            "content_base64": None,  # a secret file: hashed on the master, never sent back
            "error": None,
        }
    )
    return found


POLICY = b"apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n"
KUBECONFIG = b"apiVersion: v1\nkind: Config\n# client-key-data: ...\n"


def test_the_webhook_kubeconfig_is_hashed_as_a_secret_file_and_the_policy_as_a_public_one():
    pod, container, _text = webhook_manifest(POLICY, KUBECONFIG)
    items = audit_status.command_items(container)
    assert audit_status.files_to_read(pod, container, items) == ["/etc/kubernetes/policies/audit-policy.yaml"]
    assert audit_status.files_to_read(pod, container, items, secret=True) == [
        "/etc/kubernetes/audit-webhook-kubeconfig.yaml"
    ]
    assert "k8s-audit-webhook" in audit_status.audit_volumes(pod, container, items)


def test_a_webhook_kubeconfig_changed_by_hand_is_checksum_drift_naming_its_own_annotation():
    _pod, container, text = webhook_manifest(POLICY, KUBECONFIG, recorded_kubeconfig=b"what was installed\n")
    argv = [container["command"][0], *audit_status.command_items(container)]
    found = audit_status.row(read=manifest_read(text), node=webhook_node(POLICY, KUBECONFIG, argv), manifest_path="/m")
    assert [d["kind"] for d in found["drift"]] == ["checksum"]
    assert "audit-webhook-kubeconfig.yaml changed since it was installed" in found["drift"][0]["message"]
    assert "webhook-config-checksum" in found["drift"][0]["message"]
    assert found["ok"] is False


def test_a_webhook_only_master_is_audited_and_its_policy_is_still_judged():
    _pod, container, text = webhook_manifest(POLICY, KUBECONFIG, log=False)
    argv = [container["command"][0], *audit_status.command_items(container)]
    assert not [item for item in argv if item.startswith("--audit-log-")]
    found = audit_status.row(read=manifest_read(text), node=webhook_node(POLICY, KUBECONFIG, argv), manifest_path="/m")
    assert found["audited"] is True
    assert found["drift"] == []
    assert found["ok"] is True

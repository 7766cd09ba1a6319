"""_audit_drift: the rules that tell a master's auditing has drifted, from fixture command lines and manifests."""

import pytest
import yaml

from ansible_collections.nnf.kube_audit.plugins.plugin_utils import _audit_drift
from ansible_collections.nnf.kube_audit.plugins.plugin_utils.kubeadm_config_editor import api_server_settings

ANNOTATION = "audit.nnf.cray.hpe.com/policy-checksum"
MANIFEST = [
    "--advertise-address=10.0.0.1",
    "--audit-policy-file=/etc/kubernetes/policies/audit-policy.yaml",
    "--audit-log-path=/var/log/kubernetes/kube-apiserver-audit.log",
    "--audit-log-maxage=30",
]
VOLUMES = {
    "k8s-policies": {
        "hostPath": "/etc/kubernetes/policies/audit-policy.yaml",
        "mountPath": "/etc/kubernetes/policies/audit-policy.yaml",
        "readOnly": True,
        "pathType": "File",
    },
    "k8s-log": {
        "hostPath": "/var/log/kubernetes/",
        "mountPath": "/var/log/kubernetes/",
        "readOnly": False,
        "pathType": "DirectoryOrCreate",
    },
}
V1BETA3 = """\
apiVersion: kubeadm.k8s.io/v1beta3
kind: ClusterConfiguration
apiServer:
  extraArgs:
    authorization-mode: Node,RBAC
    audit-policy-file: /etc/kubernetes/policies/audit-policy.yaml
    audit-log-path: /var/log/kubernetes/kube-apiserver-audit.log
    audit-log-maxage: "30"
  extraVolumes:
  - name: k8s-policies
    hostPath: /etc/kubernetes/policies/audit-policy.yaml
    mountPath: /etc/kubernetes/policies/audit-policy.yaml
    readOnly: true
    pathType: File
  - name: k8s-log
    hostPath: /var/log/kubernetes/
    mountPath: /var/log/kubernetes/
    pathType: DirectoryOrCreate
"""
V1BETA4 = """\
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
apiServer:
  extraArgs:
  - name: audit-policy-file
    value: /etc/kubernetes/policies/audit-policy.yaml
  - name: audit-log-path
    value: /var/log/kubernetes/kube-apiserver-audit.log
  - name: audit-log-maxage
    value: "7"
  - name: audit-log-maxage
    value: "30"
  extraVolumes:
  - name: k8s-log
    hostPath: /var/log/kubernetes/
    mountPath: /var/log/kubernetes/
    pathType: DirectoryOrCreate
"""


def live(argv, started_epoch=2000.0, pid=42):
    return {"pid": pid, "argv": ["kube-apiserver", *argv], "started_epoch": started_epoch}


def kinds(findings):
    return [finding["kind"] for finding in findings]


def test_the_running_process_with_the_manifests_audit_flags_is_no_drift():
    # other flags, their order and the two-item form do not matter: only the audit flags' values
    running = ["--audit-log-maxage", "30", *reversed(MANIFEST[1:3]), "--advertise-address=10.9.9.9"]
    assert _audit_drift.process_drift(MANIFEST, 1000.0, live(running)) == []


def test_no_process_is_not_running():
    assert kinds(_audit_drift.process_drift(MANIFEST, 1000.0, None)) == ["not-running"]
    assert _audit_drift.process_drift(None, None, None) == []  # no manifest: nothing to compare


def test_a_process_older_than_the_manifest_with_other_flags_is_a_pending_restart():
    (finding,) = _audit_drift.process_drift(MANIFEST, 3000.0, live(MANIFEST[:1], started_epoch=2000.0))
    assert finding["kind"] == "restart-pending"
    assert "pid 42" in finding["message"]
    assert "(--audit-log-maxage, --audit-log-path, --audit-policy-file)" in finding["message"]


def test_a_process_newer_than_the_manifest_with_other_flags_differs():
    running = [*MANIFEST[:3], "--audit-log-maxage=7"]
    (finding,) = _audit_drift.process_drift(MANIFEST, 1000.0, live(running, started_epoch=2000.0))
    assert finding["kind"] == "flags-differ" and "(--audit-log-maxage)" in finding["message"]


@pytest.mark.parametrize(
    ("file", "annotations", "message"),
    [
        ({"exists": True, "sha256": "ab"}, {ANNOTATION: "sha256:ab"}, None),
        ({"exists": False, "sha256": None}, {ANNOTATION: "sha256:ab"}, "/p is missing"),
        ({"exists": True, "sha256": "cd"}, {ANNOTATION: "sha256:ab"}, "/p changed since it was installed (sha256:cd"),
        ({"exists": True, "sha256": "ab"}, {}, f"the manifest has no {ANNOTATION} annotation for /p"),
    ],
    ids=["same", "missing", "edited-by-hand", "no-annotation"],
)
def test_each_installed_file_against_its_own_annotation(file, annotations, message):
    findings = _audit_drift.checksum_drift([dict(file, path="/p", annotation=ANNOTATION)], annotations)
    if message is None:
        assert findings == []
    else:
        (finding,) = findings
        assert finding["kind"] == "checksum" and finding["message"].startswith(message)


def test_kubeadm_config_that_holds_the_manifests_settings_is_no_drift():
    assert _audit_drift.kubeadm_drift(MANIFEST, VOLUMES, yaml.safe_load(V1BETA3)) == []


def test_kubeadm_config_not_read_is_not_judged():
    assert _audit_drift.kubeadm_drift(MANIFEST, VOLUMES, None) == []


def test_what_the_next_kubeadm_upgrade_would_drop_add_or_change():
    config = yaml.safe_load(V1BETA3)
    config["apiServer"]["extraArgs"].pop("audit-log-path")
    config["apiServer"]["extraArgs"]["audit-log-maxage"] = "7"
    config["apiServer"]["extraArgs"]["audit-log-format"] = "legacy"
    config["apiServer"]["extraVolumes"].pop()
    messages = [finding["message"] for finding in _audit_drift.kubeadm_drift(MANIFEST, VOLUMES, config)]
    assert messages == [
        "kubeadm-config has --audit-log-format=legacy, which the manifest does not: the next kubeadm upgrade would "
        "add it",
        "kubeadm-config has --audit-log-maxage=7, the manifest 30: the next kubeadm upgrade would change it",
        "kubeadm-config lacks --audit-log-path: the next kubeadm upgrade would drop it",
        "kubeadm-config lacks volume k8s-log (/var/log/kubernetes/): the next kubeadm upgrade would drop or change "
        "its mount",
    ]


def test_v1beta4_lists_are_read_with_the_last_of_a_repeated_name():
    args, volumes = api_server_settings(yaml.safe_load(V1BETA4))
    assert args["audit-log-maxage"] == "30"
    assert volumes == {"k8s-log": VOLUMES["k8s-log"]}
    findings = _audit_drift.kubeadm_drift(MANIFEST, VOLUMES, yaml.safe_load(V1BETA4))
    assert [finding["message"].split(":")[0] for finding in findings] == [
        "kubeadm-config lacks volume k8s-policies (/etc/kubernetes/policies/audit-policy.yaml)"
    ]


def test_strays_and_the_order_of_all_rules():
    strays = [{"path": "/etc/kubernetes/manifests/kube-apiserver.yaml.bak", "reason": "leftover name (*.bak)"}]
    findings = _audit_drift.drift(
        manifest_items=MANIFEST,
        manifest_changed=1000.0,
        manifest_volumes=VOLUMES,
        annotations={},
        live=None,
        files=[{"path": "/p", "annotation": ANNOTATION, "exists": False, "sha256": None}],
        cluster_configuration={"apiServer": {}},
        strays=strays,
    )
    assert kinds(findings) == ["not-running", "checksum"] + ["kubeadm-config"] * 5 + ["stray"]
    assert findings[-1]["message"].startswith("/etc/kubernetes/manifests/kube-apiserver.yaml.bak is in the manifests")

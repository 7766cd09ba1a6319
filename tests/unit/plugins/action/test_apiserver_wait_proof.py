"""apiserver_wait's action plugin: which proof request it chooses, and when it skips the proof (and says why).

``proof_request(proof, identity)`` takes the task's ``audit_proof`` option and what ``manifest_io`` read of the
kubeconfig on the master (``_kubeconfig.identity``): the admin certificate is kubeadm's (CN kubernetes-admin,
O kubeadm:cluster-admins), from the shared test PKI (tests/unit/plugins/kube_api_server.py).
"""

import base64
from pathlib import Path

import pytest

from ansible_collections.nnf.kube_audit.plugins.action.apiserver_wait import proof_request
from ansible_collections.nnf.kube_audit.plugins.module_utils._errors import KubeAuditError

PRESETS = Path(__file__).resolve().parents[4] / "roles" / "kube_audit" / "files" / "presets"
LOG = "/var/log/kubernetes/kube-apiserver-audit.log"
KUBECONFIG = "/etc/kubernetes/admin.conf"


def proof(preset="nnf", log_path=LOG, policy=None):
    content = policy if policy is not None else (PRESETS / f"{preset}.yaml").read_bytes()
    return {"kubeconfig": KUBECONFIG, "log_path": log_path, "policy_content_base64": base64.b64encode(content).decode()}


def identity(pki, **changes):
    found = {"exists": True, "user": "kubernetes-admin", "client_certificate": pki.admin_cert.decode(), "error": None}
    found.update(changes)
    return found


def test_the_nnf_preset_is_proven_with_a_read_of_an_nnf_group(pki):
    path, skipped = proof_request(proof("nnf"), identity(pki))
    assert skipped is None
    assert path == "/apis/lus.cray.hpe.com/v1/nnf-kube-audit-probes/nnf-kube-audit-probe"


def test_a_utf16_policy_is_read_as_kube_apiserver_reads_it(pki):
    text = (PRESETS / "nnf.yaml").read_text(encoding="utf-8")
    path, skipped = proof_request(proof(policy=b"\xff\xfe" + text.encode("utf-16-le")), identity(pki))
    assert (path is not None, skipped) == (True, None)


@pytest.mark.parametrize(
    ("options", "changes", "reason"),
    [
        ({"log_path": "-"}, {}, "the audit log goes to standard output (kube_audit_log_path -)"),
        ({}, {"exists": False}, f"there is no kubeconfig at {KUBECONFIG}"),
        ({}, {"client_certificate": None}, "user 'kubernetes-admin' of /etc/kubernetes/admin.conf has no client"),
        (
            {"preset": "nnf_clientmount"},
            {},
            "the audit policy records no harmless read by user 'kubernetes-admin' (groups kubeadm:cluster-admins)",
        ),
    ],
    ids=["stdout", "no-kubeconfig", "token", "policy-records-no-read-by-the-admin"],
)
def test_the_proof_is_skipped_saying_why(pki, options, changes, reason):
    path, skipped = proof_request(proof(**options), identity(pki, **changes))
    assert path is None
    assert skipped.startswith(reason)


def test_a_kubeconfig_that_cannot_be_used_fails(pki):
    with pytest.raises(KubeAuditError, match=r"^the proof request cannot be sent: /etc/kubernetes/admin.conf: bad"):
        proof_request(proof(), identity(pki, error="/etc/kubernetes/admin.conf: bad"))


def test_a_certificate_that_cannot_be_read_fails_naming_the_kubeconfig(pki):
    with pytest.raises(KubeAuditError, match=r"^/etc/kubernetes/admin.conf: the client certificate cannot be read"):
        proof_request(proof(), identity(pki, client_certificate="-----BEGIN CERTIFICATE-----\nnot one\n"))


def test_a_policy_that_does_not_load_fails_naming_the_option(pki):
    with pytest.raises(KubeAuditError, match=r"^audit_proof.policy_content_base64: "):
        proof_request(proof(policy=b"kind: Policy\n"), identity(pki))

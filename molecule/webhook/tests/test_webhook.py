"""After the webhook scenario's disable_audit (kube_audit_remove_webhook_config): every master as before auditing."""

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "shared"))

from kube_audit_state import host_state

testinfra_hosts = ["kube_control_plane"]
WEBHOOK_CONFIG = "/etc/kubernetes/audit-webhook-kubeconfig.yaml"


@pytest.fixture(scope="module")
def state(host):
    return host_state(host)


def test_the_manifests_are_back_byte_for_byte(state):
    # (master-1's stray copies were moved out, as in every scenario)
    assert state["manifests"]["kube-apiserver.yaml"] == state["pre_audit"]["kube-apiserver.yaml"]


def test_the_webhook_kubeconfig_is_gone_and_its_last_version_is_backed_up_privately(host):
    assert not host.file(WEBHOOK_CONFIG).exists
    backups = host.check_output("find /etc/kubernetes/backup -maxdepth 1 -name 'audit-webhook-kubeconfig.yaml.*'")
    assert backups, "no backup of the removed webhook kubeconfig"
    for path in backups.splitlines():
        backup = host.file(path)
        assert backup.mode == 0o600 and backup.user == "root"
        assert "client-key-data: " in backup.content_string  # what was removed, kept whole


def test_the_policy_file_is_kept(host):
    assert host.file("/etc/kubernetes/policies/audit-policy.yaml").exists


def test_the_apiserver_runs_without_a_webhook(state):
    assert state["status"]["apiserver"]["ready"] is True
    argv = state["apiserver_process"]["cmdline"].rstrip("\0").split("\0")
    assert "--advertise-address" in " ".join(argv)
    assert not [arg for arg in argv if arg.startswith("--audit-")]

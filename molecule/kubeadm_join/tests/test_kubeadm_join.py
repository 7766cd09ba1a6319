"""A node prepared by enable_audit before `kubeadm join --control-plane` comes up audited.

Stages kept by prepare/side_effect (molecule/shared/kubeadm_stage.yml): initial, prepared (enable_audit ran on
master-3 before it was a master), joined (kubeadm join rendered its manifest from kubeadm-config), after-join
(enable_audit on all three).
"""

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "shared"))

from kube_audit_state import AUDIT_LOG, CHECKSUM_ANNOTATION, LOG_DIR, POLICY, audit_events, preset
from kubeadm_stages import audit_mounts, configmap, load, manifest_flags, masters, run

testinfra_hosts = ["kube_control_plane_joining"]
FIRST_MASTER = "master-1"


@pytest.fixture(scope="module")
def name(host):
    return host.backend.get_hostname()


def recap(result):
    return {host: (int(changed), int(failed)) for host, changed, failed in result["recap"]}


def audit_settings(manifest_text):
    pod = load(manifest_text)
    return {k: v for k, v in manifest_flags(pod).items() if k.startswith("audit-")}, audit_mounts(pod)


def test_enable_audit_prepared_the_node_and_skipped_the_manifest(host, name):
    result = run("prepared")
    assert result["rc"] == 0, result["output"][-3000:]
    assert recap(result) == {name: (0, 0)}  # converge did the work; this rerun finds nothing to do
    assert "not a control-plane node yet" in result["output"]
    assert "kubeadm join --control-plane renders the manifest from kubeadm-config" in result["output"]
    assert masters("initial")[name]["manifest"] is None
    assert masters("prepared")[name]["manifest"] is None
    assert host.file(POLICY).content_string == preset("nnf")
    assert host.file(LOG_DIR).is_directory


def test_the_join_rendered_an_audited_manifest(name):
    joined = masters("joined")[name]["manifest"]
    assert joined is not None
    assert CHECKSUM_ANNOTATION not in joined  # kubeadm made it, not the role
    flags, mounts = audit_settings(joined)
    assert flags and mounts
    assert (flags, mounts) == audit_settings(masters("joined")[FIRST_MASTER]["manifest"])


def test_the_joined_master_logs(host, name):
    logged = {event["auditID"] for event in audit_events({"audit_log": host.file(AUDIT_LOG).content_string})}
    assert masters("joined")[name]["audit_id"] in logged
    assert masters("after-join")[name]["audit_id"] in logged


def test_enable_audit_after_the_join_only_adds_the_checksum_annotation(name):
    result = run("after-join")
    assert result["rc"] == 0, result["output"][-3000:]
    assert recap(result) == {FIRST_MASTER: (0, 0), "master-2": (0, 0), name: (1, 0)}
    before, after = masters("joined")[name]["manifest"], masters("after-join")[name]["manifest"]
    added = [line for line in after.splitlines() if line not in before.splitlines()]
    assert len(after.splitlines()) == len(before.splitlines()) + 1
    assert len(added) == 1 and added[0].startswith(f"    {CHECKSUM_ANNOTATION}: sha256:")
    assert configmap("after-join") == configmap("joined")  # nothing left to record

"""Auditing survives kubeadm upgrade: recorded in kubeadm-config, rendered back by kubeadm, removed by disable.

The stages are kept by side_effect.yml (molecule/shared/kubeadm_stage.yml): initial, enabled, upgraded (kubeadm
upgrade apply/node with auditing on), reenabled (enable_audit again), disabled-upgraded (disable_audit, then another
kubeadm upgrade). The same tests run on a v1beta3 cluster (kubeadm_upgrade) and a v1beta4 one
(kubeadm_upgrade_v1beta4).
"""

import difflib
import json
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "shared"))

from kube_audit_state import AUDIT_LOG, CHECKSUM_ANNOTATION, audit_events
from kubeadm_stages import (
    AUDIT_FLAGS,
    audit_mounts,
    cluster_configuration,
    configmap,
    container,
    extra_args,
    extra_volumes,
    load,
    manifest_flags,
    masters,
    run,
    top_level_blocks,
)

testinfra_hosts = ["kube_control_plane"]


@pytest.fixture(scope="module")
def name(host):
    return host.backend.get_hostname()


@pytest.fixture(scope="module")
def logged_ids(host):
    text = host.file(AUDIT_LOG).content_string if host.file(AUDIT_LOG).exists else ""
    return {event["auditID"] for event in audit_events({"audit_log": text})}


def kubernetes_version(stage):
    """The version the ClusterConfiguration names at ``stage`` (kubeadm upgrade apply uploads the new one)."""
    return load(cluster_configuration(stage))["kubernetesVersion"]


def audit_settings(manifest_text):
    pod = load(manifest_text)
    flags = manifest_flags(pod)
    return {k: v for k, v in flags.items() if k.startswith("audit-")}, audit_mounts(pod)


def test_enable_audit_records_the_manifest_settings_in_kubeadm_config(name):
    flags, mounts = audit_settings(masters("enabled")[name]["manifest"])
    assert sorted(flags) == sorted(AUDIT_FLAGS)
    api_server = load(cluster_configuration("enabled"))["apiServer"]
    recorded = extra_args(api_server)
    assert {k: v for k, v in recorded.items() if k.startswith("audit-")} == flags
    assert all(isinstance(value, str) for value in recorded.values())  # kubeadm's types: strings, numbers quoted
    assert extra_volumes(api_server) == mounts


def test_kubeadm_config_keeps_everything_else_byte_for_byte():
    before, after = cluster_configuration("initial"), cluster_configuration("enabled")
    blocks_before, blocks_after = top_level_blocks(before), top_level_blocks(after)
    assert list(blocks_before) == list(blocks_after)
    assert {k: v for k, v in blocks_after.items() if k != "apiServer"} == {
        k: v for k, v in blocks_before.items() if k != "apiServer"
    }
    api_before, api_after = load(before)["apiServer"] or {}, load(after)["apiServer"]
    for key in set(api_before) | set(api_after):
        if key not in ("extraArgs", "extraVolumes"):
            assert api_after.get(key) == api_before.get(key), key
    # the arguments that were there stay, in their schema's form
    unrelated = extra_args(api_before)
    assert {k: v for k, v in extra_args(api_after).items() if not k.startswith("audit-")} == unrelated
    assert type(api_after["extraArgs"]) is type(api_before.get("extraArgs", api_after["extraArgs"]))
    # the other parts of the ConfigMap did not move
    cm_before, cm_after = configmap("initial"), configmap("enabled")
    assert {k: v for k, v in cm_after["data"].items() if k != "ClusterConfiguration"} == {
        k: v for k, v in cm_before["data"].items() if k != "ClusterConfiguration"
    }
    for key in ("name", "namespace", "uid", "creationTimestamp", "labels", "annotations"):
        assert cm_after["metadata"].get(key) == cm_before["metadata"].get(key), key


def test_kubeadm_upgrade_rendered_the_manifest_again_and_auditing_is_in_it(name):
    enabled, upgraded = masters("enabled")[name]["manifest"], masters("upgraded")[name]["manifest"]
    pod = load(upgraded)
    # kubeadm made this manifest: the new version, and our hand edit (the checksum annotation) is gone
    assert kubernetes_version("upgraded") != kubernetes_version("initial")
    assert container(pod)["image"].endswith(":" + kubernetes_version("upgraded"))
    assert CHECKSUM_ANNOTATION not in (pod["metadata"].get("annotations") or {})
    assert audit_settings(upgraded) == audit_settings(enabled)


def test_every_master_logs_after_the_upgrade(name, logged_ids):
    assert masters("upgraded")[name]["audit_id"] in logged_ids
    assert masters("reenabled")[name]["audit_id"] in logged_ids
    assert masters("initial")[name]["audit_id"] not in logged_ids


def test_enable_again_restores_only_the_checksum_annotation(name):
    result = run("reenabled")
    assert result["rc"] == 0, result["output"][-3000:]
    assert [name, "1", "0"] in result["recap"]
    upgraded, reenabled = masters("upgraded")[name]["manifest"], masters("reenabled")[name]["manifest"]
    changes = [
        line
        for line in difflib.unified_diff(upgraded.splitlines(), reenabled.splitlines(), lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    assert len(changes) == 1 and changes[0].startswith(f"+    {CHECKSUM_ANNOTATION}: sha256:"), changes
    # kubeadm upload-config wrote the ClusterConfiguration its own way; it still says the same, so no write
    assert configmap("reenabled") == configmap("upgraded")


def test_disable_then_upgrade_leaves_auditing_off(name, logged_ids):
    result = run("disabled")
    assert result["rc"] == 0, result["output"][-3000:]
    manifest = masters("disabled-upgraded")[name]["manifest"]
    assert kubernetes_version("disabled-upgraded") != kubernetes_version("upgraded")
    assert container(load(manifest))["image"].endswith(":" + kubernetes_version("disabled-upgraded"))
    assert "audit" not in manifest
    assert masters("disabled-upgraded")[name]["audit_id"] not in logged_ids


def test_kubeadm_config_has_no_audit_settings_after_disable():
    text = cluster_configuration("disabled-upgraded")
    api_server = load(text)["apiServer"] or {}
    assert "audit" not in text
    assert not extra_volumes(api_server)
    initial = load(cluster_configuration("initial"))["apiServer"] or {}
    assert extra_args(api_server) == extra_args(initial)


def test_stages_were_kept():
    # a guard against vacuous passes: every stage has every master
    for stage in ("initial", "enabled", "upgraded", "reenabled", "disabled-upgraded"):
        assert len(masters(stage)) >= 2, stage
        assert all(entry["manifest"] for entry in masters(stage).values()), stage
    assert json.dumps(configmap("initial"))

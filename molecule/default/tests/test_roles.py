"""After enable_audit and its rerun, what the roles own besides the manifest: files, backups, other static pods."""

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "shared"))

from kube_audit_state import host_state, preset

testinfra_hosts = ["kube_control_plane"]
STRAYS = ("kube-apiserver.yaml-orig", "kube-apiserver.yaml.bak")


@pytest.fixture(scope="module")
def state(host):
    return host_state(host)


def test_the_policy_is_the_nnf_preset_and_the_files_are_root_only(state):
    assert state["policy"] == preset("nnf")
    assert state["policy_attributes"] == {"mode": 0o600, "uid": 0, "gid": 0, "dir": False}
    assert state["policy_dir_attributes"] == {"mode": 0o700, "uid": 0, "gid": 0, "dir": True}
    assert state["log_dir_attributes"] == {"mode": 0o700, "uid": 0, "gid": 0, "dir": True}


def test_the_backup_holds_the_pre_audit_manifest_byte_for_byte(state):
    backups = [text for name, text in state["backups"].items() if name.startswith("kube-apiserver.yaml.")]
    assert backups == [state["pre_audit"]["kube-apiserver.yaml"]]


def test_other_static_pods_are_byte_identical_and_strays_kept_outside(state):
    strays = {name: text for name, text in state["pre_audit"].items() if name in STRAYS}
    others = {name: text for name, text in state["pre_audit"].items() if name not in (*STRAYS, "kube-apiserver.yaml")}
    assert {name: state["manifests"].get(name) for name in others} == others
    assert sorted(state["manifests"]) == sorted([*others, "kube-apiserver.yaml"])
    assert (state["strays"] or {}) == strays
    assert len(strays) == len(state["facts"]["stray_files"])

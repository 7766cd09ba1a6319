"""After the refused runs and the check-mode run: each master exactly as before."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "shared"))

from kube_audit_state import host_state

testinfra_hosts = ["kube_control_plane"]


def test_nothing_changed_on_the_master(host):
    state = host_state(host)
    assert state["manifests"] == state["pre_audit"]
    assert state["policy_dir_attributes"] is None
    assert state["log_dir_attributes"] is None
    assert state["backups"] is None
    assert state["status"]["podStarts"] == state["status_before"]["podStarts"]

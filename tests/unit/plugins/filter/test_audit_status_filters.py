"""audit_status_collect and audit_status_table: the masters' results as one report and one table."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.nnf.kube_audit.plugins.filter.audit_status import audit_status_collect, audit_status_table

OK_ROW = {
    "audited": True,
    "ok": True,
    "live": {"pid": 1, "started": "2026-12-03T10:00:00Z", "audit_flags": {}},
    "drift": [],
    "log": {
        "path": "/var/log/a.log",
        "exists": True,
        "size": 2048,
        "backups": [{"path": "b", "size": 1024, "compressed": False}],
        "backups_size": 1024,
        "newest_event": "2026-12-03T10:00:01.000001Z",
        "free_bytes": 5 * 1024**3,
        "budget_bytes": None,
    },
    "benchmarks": [
        {"id": "CIS 1.2.16", "title": "audit log path set", "ok": True, "live": "/var/log/a.log", "reason": ""},
        {
            "id": "CIS 1.2.17",
            "title": "audit log kept >= 30 days",
            "ok": False,
            "live": "7",
            "manifest": "30",
            "reason": "--audit-log-maxage is 7, below 30",
        },
    ],
}
DRIFTED = dict(OK_ROW, ok=False, drift=[{"kind": "stray", "message": "/m/x.bak is in the manifests directory"}])


def test_collect_keeps_the_order_of_the_hosts_and_names_the_failed_and_the_drifted():
    hostvars = {
        "m1": {"kube_audit_status_read": dict(OK_ROW, changed=False)},
        "m2": {"kube_audit_status_read": dict(DRIFTED)},
        "m3": {"kube_audit_status_read": {"failed": True, "msg": "Cannot read /m: boom"}},
        "m4": {},
    }
    report = audit_status_collect(hostvars, ["m2", "m1", "m3", "m4"])
    assert [m["host"] for m in report["masters"]] == ["m2", "m1", "m3", "m4"]
    assert report["not_ok"] == ["m2"]
    assert report["failed_hosts"] == ["m3", "m4"]
    assert report["masters"][2] == {"host": "m3", "read": False, "msg": "Cannot read /m: boom"}
    assert "changed" not in report["masters"][1]


def test_collect_refuses_a_host_pattern_string():
    with pytest.raises(AnsibleFilterError, match=r"hosts must be a list"):
        audit_status_collect({}, "kube_control_plane")


def test_the_table_has_a_row_per_master_then_the_findings_in_words():
    report = audit_status_collect(
        {"m1": {"kube_audit_status_read": OK_ROW}, "m2": {"kube_audit_status_read": DRIFTED}, "m3": {}},
        ["m1", "m2", "m3"],
    )
    lines = audit_status_table(report)
    assert lines[0].split() == [
        "HOST",
        "AUDITED",
        "STARTED",
        "LOG",
        "BACKUPS",
        "NEWEST",
        "EVENT",
        "BUDGET",
        "FREE",
        "DRIFT",
        "FAILED",
        "CHECKS",
    ]
    assert lines[1].split() == [
        "m1",
        "yes",
        "2026-12-03T10:00:00Z",
        "2.0",
        "KiB",
        "1",
        "(1.0",
        "KiB)",
        "2026-12-03T10:00:01.000001Z",
        "unlimited",
        "5.0",
        "GiB",
        "0",
        "CIS",
        "1.2.17",
    ]
    assert lines[2].split()[:2] == ["m2", "yes"] and lines[2].split()[-3] == "1"
    assert lines[3].split()[:2] == ["m3", "?"]
    assert lines[4:] == [
        "m1: CIS 1.2.17 audit log kept >= 30 days: --audit-log-maxage is 7, below 30 (manifest: 30)",
        "m2: drift (stray): /m/x.bak is in the manifests directory",
        "m2: CIS 1.2.17 audit log kept >= 30 days: --audit-log-maxage is 7, below 30 (manifest: 30)",
        "m3: could not be read: not read",
    ]


def test_the_table_says_when_kubeadm_config_was_not_compared():
    row = dict(OK_ROW, kubeadm_config="not compared: no kubeconfig at /etc/kubernetes/admin.conf")
    lines = audit_status_table(audit_status_collect({"m1": {"kube_audit_status_read": row}}, ["m1"]))
    assert "m1: kubeadm-config not compared: no kubeconfig at /etc/kubernetes/admin.conf" in lines
    compared = dict(OK_ROW, kubeadm_config="compared with the manifest")
    lines = audit_status_table(audit_status_collect({"m1": {"kube_audit_status_read": compared}}, ["m1"]))
    assert not any("kubeadm-config" in line for line in lines)

"""_audit_status_node: what a master shows about its auditing, read without judging (fake /proc, real files)."""

import base64
import hashlib
import json
import os

import pytest

from ansible_collections.nnf.kube_audit.plugins.module_utils import _audit_status_node as node
from ansible_collections.nnf.kube_audit.plugins.module_utils import apiserver_process as ap

TICKS = ap.clock_ticks_per_second()


def add_process(root, pid, argv, *, started, comm="kube-apiserver", net_ns="net:[1]"):
    base = root / str(pid)
    (base / "ns").mkdir(parents=True)
    (base / "comm").write_text(comm + "\n")
    (base / "cmdline").write_bytes(b"".join(arg.encode() + b"\0" for arg in argv))
    rest = ["S", "1", str(pid), str(pid)] + ["0"] * 15 + [str(round(started * TICKS))] + ["0"] * 30
    (base / "stat").write_text(f"{pid} ({comm}) {' '.join(rest)}\n")
    os.symlink(net_ns, base / "ns" / "net")


@pytest.fixture
def proc(tmp_path):
    root = tmp_path / "proc"
    (root / "self" / "ns").mkdir(parents=True)
    os.symlink("net:[1]", root / "self" / "ns" / "net")
    return root


def test_live_process_is_the_newest_kube_apiserver_of_this_network_namespace(proc):
    add_process(proc, 100, ["kube-apiserver", "--old"], started=10.0)
    add_process(proc, 200, ["kube-apiserver", "--audit-log-path=/var/log/a.log"], started=20.0)
    add_process(proc, 300, ["kube-apiserver", "--other-master"], started=30.0, net_ns="net:[2]")
    add_process(proc, 400, ["etcd"], started=40.0, comm="etcd")
    live = node.live_process(proc_root=str(proc))
    assert (live["pid"], live["argv"], live["count"]) == (200, ["kube-apiserver", "--audit-log-path=/var/log/a.log"], 2)
    assert live["started"] == ap.iso_utc(ap.boot_to_wall(20.0))


def test_no_kube_apiserver_is_none(proc):
    add_process(proc, 400, ["etcd"], started=40.0, comm="etcd")
    assert node.live_process(proc_root=str(proc)) is None


def test_file_state_hashes_and_returns_small_files_only(tmp_path):
    small, big = tmp_path / "policy.yaml", tmp_path / "big"
    small.write_bytes(b"apiVersion: audit.k8s.io/v1\n")
    big.write_bytes(b"x" * 2049)
    state = node.file_state(str(small), max_content_bytes=2048)
    assert state == {
        "path": str(small),
        "exists": True,
        "size": 28,
        "sha256": hashlib.sha256(b"apiVersion: audit.k8s.io/v1\n").hexdigest(),
        "content_base64": base64.b64encode(b"apiVersion: audit.k8s.io/v1\n").decode(),
        "error": None,
    }
    state = node.file_state(str(big), max_content_bytes=2048)
    assert (state["size"], state["sha256"], state["content_base64"]) == (
        2049,
        hashlib.sha256(b"x" * 2049).hexdigest(),
        None,
    )


def test_file_state_of_a_missing_or_unreadable_file_is_a_fact_not_an_error(tmp_path):
    assert node.file_state(str(tmp_path / "absent"))["exists"] is False
    state = node.file_state(str(tmp_path))  # a directory: open fails
    assert state["exists"] is False and state["error"].startswith(f"cannot read {tmp_path}: ")


def event(stamp):
    return {"kind": "Event", "apiVersion": "audit.k8s.io/v1", "auditID": stamp, "stageTimestamp": stamp}


def test_log_state_sizes_backups_newest_event_and_free_space(tmp_path):
    log = tmp_path / "kube-apiserver-audit.log"
    lines = [json.dumps(event("2026-12-03T10:00:00.000001Z")), json.dumps(event("2026-12-03T11:00:00.000002Z"))]
    log.write_text("\n".join(lines) + "\n")
    (tmp_path / "kube-apiserver-audit-2026-12-02T09-00-00.000.log").write_bytes(b"a" * 10)
    (tmp_path / "kube-apiserver-audit-2026-12-01T09-00-00.000.log.gz").write_bytes(b"b" * 5)
    (tmp_path / "unrelated.log").write_bytes(b"c" * 100)
    state = node.log_state(str(log))
    assert state["exists"] is True and state["size"] == log.stat().st_size
    assert [(os.path.basename(b["path"]), b["size"], b["compressed"]) for b in state["backups"]] == [
        ("kube-apiserver-audit-2026-12-01T09-00-00.000.log.gz", 5, True),
        ("kube-apiserver-audit-2026-12-02T09-00-00.000.log", 10, False),
    ]
    assert state["backups_size"] == 15
    assert state["newest_event"].startswith("2026-12-03T11:00:00")
    assert state["free_bytes"] > 0
    assert state["error"] is None


def test_log_state_skips_a_partial_last_line(tmp_path):
    log = tmp_path / "audit.log"
    log.write_text(json.dumps(event("2026-12-03T10:00:00.000001Z")) + '\n{"kind":"Event","stageTim')
    assert node.log_state(str(log))["newest_event"].startswith("2026-12-03T10:00:00")


def test_log_state_of_stdout_or_a_log_not_written_yet(tmp_path):
    assert node.log_state("-")["exists"] is False and node.log_state("-")["free_bytes"] is None
    state = node.log_state(str(tmp_path / "not-yet" / "audit.log"))
    assert state["exists"] is False and state["newest_event"] is None
    assert state["free_bytes"] > 0  # measured where the file will be: its nearest existing directory


def test_gather_reads_everything_in_one_call(tmp_path, proc):
    add_process(proc, 200, ["kube-apiserver"], started=20.0)
    policy = tmp_path / "policy.yaml"
    policy.write_text("rules: []\n")
    found = node.gather([str(policy)], str(tmp_path / "audit.log"), proc_root=str(proc))
    assert found["live"]["pid"] == 200
    assert [f["path"] for f in found["files"]] == [str(policy)]
    assert found["log"]["path"] == str(tmp_path / "audit.log")

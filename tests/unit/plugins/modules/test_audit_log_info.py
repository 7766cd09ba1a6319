"""audit_log_info: the module's arguments, results, failures and check mode, on logs written here."""

import datetime
import gzip
import json
import os
import socket
import subprocess
import sys

import pytest
from ansible.module_utils import _internal as module_utils_internal
from ansible.module_utils.testing import patch_module_args

from ansible_collections.nnf.kube_audit.plugins.module_utils import audit_log
from ansible_collections.nnf.kube_audit.plugins.modules import audit_log_info

COLLECTIONS = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", ".tmp", "collections"))
MODULE = "ansible_collections.nnf.kube_audit.plugins.modules.audit_log_info"
NOW = datetime.datetime(2026, 11, 20, 12, 0, 0, tzinfo=datetime.timezone.utc)
SA = "system:serviceaccount:nnf-system:nnf-clientmount"


def event(n, stamp, verb="get", user=SA, code=200):
    return {
        "kind": "Event",
        "apiVersion": "audit.k8s.io/v1",
        "level": "Metadata",
        "auditID": f"00000000-0000-4000-8000-{n:012d}",
        "stage": "ResponseComplete",
        "requestURI": f"/apis/nnf.cray.hpe.com/v1alpha2/namespaces/rabbit-1/nnfnodestorages/s{n}?a=1&b=2",
        "verb": verb,
        "user": {"username": user, "groups": ["system:authenticated"]},
        "sourceIPs": ["10.30.107.12"],
        "userAgent": "nnf-clientmount/v0.1.4",
        "objectRef": {
            "resource": "nnfnodestorages",
            "namespace": "rabbit-1",
            "name": f"s{n}",
            "apiGroup": "nnf.cray.hpe.com",
            "apiVersion": "v1alpha2",
        },
        "responseStatus": {"metadata": {}, "code": code},
        "requestReceivedTimestamp": f"2026-11-20T{stamp}.000001Z",
        "stageTimestamp": f"2026-11-20T{stamp}.000002Z",
    }


def line(item):
    return json.dumps(item, separators=(",", ":")).replace("&", "\\u0026") + "\n"


@pytest.fixture
def log(tmp_path):
    """A current log, a gzip backup and a plain backup, with a truncated last line."""
    backup = tmp_path / "kube-apiserver-audit-2026-11-20T10-00-00.000.log.gz"
    backup.write_bytes(gzip.compress(line(event(1, "09:00:00")).encode()))
    (tmp_path / "kube-apiserver-audit-2026-11-20T11-00-00.000.log").write_text(
        line(event(2, "10:30:00", verb="update", code=409))
    )
    current = tmp_path / "kube-apiserver-audit.log"
    current.write_text(
        line(event(3, "11:15:00", user="kubernetes-admin", verb="delete"))
        + line(event(4, "11:45:00", verb="create", code=201))
        + line(event(5, "11:50:00"))[:100]
    )
    return current


def run(capsys, monkeypatch, **args):
    """Run the module's main() in-process, as Ansible would hand it ``args``; returns its JSON result."""
    monkeypatch.setattr(audit_log, "utc_now", lambda: NOW)
    # Once a controller-side plugin was imported in this process (the filter tests do), module warnings go to the
    # controller's display instead of the result; a module runs on the target, where they go to the result.
    monkeypatch.setattr(module_utils_internal, "is_controller", False, raising=False)
    with patch_module_args(args), pytest.raises(SystemExit):
        audit_log_info.main()
    return json.loads(capsys.readouterr().out)


def warnings(result):
    """The warning texts, whether this ansible-core sends them as strings or as structured summaries."""
    return [item["event"]["msg"] if isinstance(item, dict) else item for item in result.get("warnings", [])]


def test_default_summary_reads_backups_and_current_file(capsys, monkeypatch, log):
    result = run(capsys, monkeypatch, path=str(log))
    assert result["changed"] is False
    assert "failed" not in result
    assert [e["auditID"][-1] for e in result["events"]] == ["1", "2", "3", "4"]
    assert result["events"][1] == {
        "auditID": "00000000-0000-4000-8000-000000000002",
        "verb": "update",
        "requestURI": "/apis/nnf.cray.hpe.com/v1alpha2/namespaces/rabbit-1/nnfnodestorages/s2?a=1&b=2",
        "username": SA,
        "code": 409,
        "stageTimestamp": "2026-11-20T10:30:00.000002Z",
    }
    assert result["stats"]["files_read"] == 3
    assert result["stats"]["skipped"]["truncated"] == 1
    assert result["log_found"] is True
    assert [os.path.basename(f["path"]) for f in result["files"]] == [
        "kube-apiserver-audit-2026-11-20T10-00-00.000.log.gz",
        "kube-apiserver-audit-2026-11-20T11-00-00.000.log",
        "kube-apiserver-audit.log",
    ]
    assert warnings(result) == ["1 truncated line skipped (see 'problems')"]
    assert result["msg"].startswith("read 3 files")


def test_check_mode_reads_the_same(capsys, monkeypatch, log):
    normal = run(capsys, monkeypatch, path=str(log))
    checked = run(capsys, monkeypatch, path=str(log), _ansible_check_mode=True)
    assert checked["events"] == normal["events"]
    assert checked["changed"] is False


def test_filters_as_playbooks_write_them(capsys, monkeypatch, log):
    # A comma-separated string for a list, codes as integers, a relative time.
    result = run(
        capsys,
        monkeypatch,
        path=str(log),
        user="system:serviceaccount:nnf-*",
        verbs="create,update",
        codes=[201, "4xx"],
        since="2h",
        format="events",
    )
    assert [(e["verb"], e["responseStatus"]["code"]) for e in result["events"]] == [("update", 409), ("create", 201)]
    assert result["events"][0]["requestURI"].endswith("?a=1&b=2")


def test_audit_id_and_rotated_false(capsys, monkeypatch, log):
    wanted = "00000000-0000-4000-8000-000000000002"
    assert [e["auditID"] for e in run(capsys, monkeypatch, path=str(log), audit_id=wanted)["events"]] == [wanted]
    assert run(capsys, monkeypatch, path=str(log), audit_id=wanted, rotated=False)["events"] == []


def test_counts(capsys, monkeypatch, log):
    result = run(capsys, monkeypatch, path=str(log), format="counts")
    assert result["events"] == []
    assert result["counts"]["verb"] == {"create": 1, "delete": 1, "get": 1, "update": 1}
    assert result["counts"]["user"] == {SA: 3, "kubernetes-admin": 1}
    assert result["counts"]["code"] == {"200": 2, "201": 1, "409": 1}
    assert result["counts"]["resource"] == {"nnfnodestorages.nnf.cray.hpe.com": 4}


def test_limit_warns_when_it_cuts(capsys, monkeypatch, log):
    result = run(capsys, monkeypatch, path=str(log), limit=2)
    assert [e["auditID"][-1] for e in result["events"]] == ["3", "4"]
    assert "4 events matched; returning the newest 2" in " ".join(warnings(result))


def test_a_missing_log_fails_naming_host_and_path(capsys, monkeypatch, tmp_path):
    missing = tmp_path / "kube-apiserver-audit.log"
    result = run(capsys, monkeypatch, path=str(missing))
    assert result["failed"] is True
    assert result["msg"].startswith(socket.gethostname() + ": " + str(missing) + " does not exist")
    assert "auditing looks disabled" in result["msg"]
    assert result["log_found"] is False


def test_a_missing_log_is_empty_with_missing_ok(capsys, monkeypatch, tmp_path):
    result = run(capsys, monkeypatch, path=str(tmp_path / "kube-apiserver-audit.log"), missing_ok=True)
    assert "failed" not in result
    assert result["log_found"] is False
    assert result["events"] == []
    assert "auditing looks disabled" in result["msg"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"since": "yesterday"}, "Invalid filter: 'yesterday' is neither an RFC 3339 time"),
        ({"codes": ["teapot"]}, "Invalid filter: 'teapot' is not an HTTP status code"),
        ({"since": "1h", "until": "2h"}, "Invalid filter: since (2026-11-20T11:00:00.000000Z) is not before until"),
        ({"limit": -1}, "limit must be 0 (all matches) or more, not -1"),
        ({"stages": ["Done"]}, "value of stages must be one or more of"),
        ({"format": "table"}, "value of format must be one of"),
        ({"max_line_bytes": 100}, "max_line_bytes must be an integer of at least 1024 (1 KiB), not 100"),
        ({"since": "100000000w"}, "Invalid filter: '100000000w' goes back before the year 1"),
        ({"since": "2026-11-20T10:00:00"}, "Invalid filter: '2026-11-20T10:00:00' is neither an RFC 3339 time"),
    ],
)
def test_bad_arguments_fail_clearly(capsys, monkeypatch, log, args, message):
    result = run(capsys, monkeypatch, path=str(log), **args)
    assert result["failed"] is True
    assert message in result["msg"]


def test_the_module_runs_as_ansible_runs_it(tmp_path, log):
    args_file = tmp_path / "args.json"
    args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": {"path": str(log), "verbs": ["delete"]}}))
    completed = subprocess.run(
        [sys.executable, "-m", MODULE, str(args_file)],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=COLLECTIONS),
        check=False,
    )
    result = json.loads(completed.stdout)
    assert completed.returncode == 0, completed.stderr
    assert [e["username"] for e in result["events"]] == ["kubernetes-admin"]


def test_lines_longer_than_max_line_bytes_are_skipped_and_reported(capsys, monkeypatch, tmp_path):
    current = tmp_path / "kube-apiserver-audit.log"
    long_one = event(2, "11:00:00", user="system:kube-scheduler")
    long_one["requestObject"] = {"data": "x" * 3000}
    current.write_text(line(event(1, "10:00:00")) + line(long_one) + line(event(3, "11:30:00")))
    result = run(capsys, monkeypatch, path=str(current), max_line_bytes=1024, user="system:kube-scheduler")
    assert "failed" not in result
    assert result["events"] == []
    assert result["stats"]["skipped"]["oversized"] == 1
    assert result["stats"]["oversized_matches"] == 1
    assert result["oversized_matches"] == [{"path": str(current), "line": 2, "bytes": len(line(long_one)) - 1}]
    assert (
        "1 line too long to read (max_line_bytes: 1024) skipped (see 'problems'); 1 of them holds the user value "
        "and may be a match: raise max_line_bytes to read them (see 'oversized_matches')"
    ) in warnings(result)
    default = run(capsys, monkeypatch, path=str(current), user="system:kube-scheduler")
    assert [e["auditID"][-1] for e in default["events"]] == ["2"]
    assert default["stats"]["skipped"]["oversized"] == 0


def test_events_of_kubernetes_1_8_are_kept_by_since(capsys, monkeypatch, tmp_path):
    # audit.k8s.io/v1beta1 as Kubernetes 1.8 wrote it: 'timestamp' only, no stage timestamps.
    old = event(1, "11:00:00")
    old.update(apiVersion="audit.k8s.io/v1beta1", timestamp="2026-11-20T11:00:00Z")
    del old["requestReceivedTimestamp"], old["stageTimestamp"]
    current = tmp_path / "kube-apiserver-audit.log"
    current.write_text(line(old) + line(event(2, "10:00:00")))
    result = run(capsys, monkeypatch, path=str(current), since="2026-11-20T10:30:00Z")
    assert [(e["auditID"][-1], e["stageTimestamp"]) for e in result["events"]] == [("1", "2026-11-20T11:00:00Z")]
    result = run(capsys, monkeypatch, path=str(current), until="2026-11-20T10:30:00Z")
    assert [e["auditID"][-1] for e in result["events"]] == ["2"]


def test_a_log_that_cannot_be_read_fails_with_log_found(capsys, monkeypatch, tmp_path):
    result = run(capsys, monkeypatch, path=str(tmp_path))  # a directory
    assert result["failed"] is True
    assert result["msg"] == f"{socket.gethostname()}: {tmp_path} is not a regular file"
    assert result["log_found"] is True
    assert "exception" not in result


def test_a_bug_is_reported_as_one_naming_the_path(capsys, monkeypatch, log):
    def broken(*_args, **_kwargs):
        raise KeyError("oops")

    monkeypatch.setattr(audit_log, "read_audit_log", broken)
    result = run(capsys, monkeypatch, path=str(log))
    assert result["failed"] is True
    assert result["msg"] == f"{log}: unexpected error (KeyError: 'oops'); this is a bug in nnf.kube_audit"

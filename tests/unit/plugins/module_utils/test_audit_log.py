"""module_utils.audit_log: reading, filtering and shaping kube-apiserver audit logs, on files written here."""

import datetime
import gzip
import json
import os
import subprocess
import sys

import pytest

from ansible_collections.nnf.kube_audit.plugins.module_utils import _errors
from ansible_collections.nnf.kube_audit.plugins.module_utils import audit_log as al
from ansible_collections.nnf.kube_audit.tests.bench import jq_summary

NOW = datetime.datetime(2026, 11, 20, 12, 0, 0, tzinfo=datetime.timezone.utc)
SA = "system:serviceaccount:nnf-system:nnf-clientmount"
LEGACY = (
    '2017-03-21T03:57:09.106841886-04:00 AUDIT: id="c939d2a7-1c37-4ef1-b2f7-4ba9b1e43b53" stage="ResponseComplete" '
    'ip="127.0.0.1" method="get" user="admin" groups="\\"system:masters\\",\\"system:authenticated\\"" as="<self>" '
    'asgroups="<lookup>" namespace="default" uri="/api/v1/namespaces/default/pods" response="200"'
)


def go_json(obj):
    """Compact JSON escaped the way Go's encoding/json escapes it (the apiserver's writer)."""
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def event(n=0, **fields):
    """An audit.k8s.io/v1 Event with the apiserver's key order; keyword arguments replace or add fields.

    ``stamp`` sets both timestamps ('HH:MM:SS' on 2026-11-20, by default n seconds after 10:00); a field set to
    None is left out.
    """
    stamp = fields.pop("stamp", f"10:{n // 60 % 60:02d}:{n % 60:02d}")
    body = {
        "kind": "Event",
        "apiVersion": "audit.k8s.io/v1",
        "level": "Metadata",
        "auditID": f"00000000-0000-4000-8000-{n:012d}",
        "stage": "ResponseComplete",
        "requestURI": f"/apis/nnf.cray.hpe.com/v1alpha2/namespaces/rabbit-1/nnfnodestorages/storage-{n}",
        "verb": "get",
        "user": {
            "username": SA,
            "uid": "5f0d9c4e-1111-4e11-9b11-000000000001",
            "groups": ["system:serviceaccounts", "system:serviceaccounts:nnf-system", "system:authenticated"],
            "extra": {"authentication.kubernetes.io/pod-name": ["nnf-clientmount-x7k2p"]},
        },
        "impersonatedUser": None,
        "sourceIPs": ["10.30.107.12"],
        "userAgent": "nnf-clientmount/v0.1.4 (linux/amd64) kubernetes/$Format",
        "objectRef": {
            "resource": "nnfnodestorages",
            "namespace": "rabbit-1",
            "name": f"storage-{n}",
            "apiGroup": "nnf.cray.hpe.com",
            "apiVersion": "v1alpha2",
        },
        "responseStatus": {"metadata": {}, "code": 200},
        "requestObject": None,
        "responseObject": None,
        "requestReceivedTimestamp": f"2026-11-20T{stamp}.000100Z",
        "stageTimestamp": f"2026-11-20T{stamp}.000200Z",
        "annotations": {"authorization.k8s.io/decision": "allow", "authorization.k8s.io/reason": 'RBAC: "x"'},
    }
    body.update(fields)
    return {key: value for key, value in body.items() if value is not None}


def lines(*events):
    return "".join((item if isinstance(item, str) else go_json(item)) + "\n" for item in events)


def read(path, **kwargs):
    """read_audit_log with a fixed 'now' and no limit unless given."""
    filters = {
        key: kwargs.pop(key)
        for key in list(kwargs)
        if key not in ("output", "limit", "rotated", "missing_ok", "max_line_bytes")
    }
    kwargs.setdefault("limit", 0)
    return al.read_audit_log(str(path), event_filter=al.EventFilter(now=NOW, **filters), **kwargs)


def ids(result):
    return [item["auditID"][-3:] for item in result["events"]]


@pytest.fixture
def logdir(tmp_path):
    return tmp_path


def write_log(directory, text, name="kube-apiserver-audit.log"):
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


# --- the fast path reads what json reads ----------------------------------------------------------------------

SHAPES = {
    "plain": event(1),
    "query with escaped &": event(2, verb="list", requestURI="/api/v1/pods?limit=500&resourceVersion=0"),
    "no objectRef (non-resource)": event(3, requestURI="/healthz", objectRef=None),
    "cluster-scoped": event(4, objectRef={"resource": "nodes", "name": "rabbit-1", "apiVersion": "v1"}),
    "error status with details": event(
        5,
        responseStatus={
            "metadata": {},
            "status": "Failure",
            "message": 'nnfnodestorages.nnf.cray.hpe.com "storage-5" not found',
            "reason": "NotFound",
            "details": {"name": "storage-5", "group": "nnf.cray.hpe.com", "kind": "nnfnodestorages"},
            "code": 404,
        },
    ),
    "status with causes": event(
        6,
        responseStatus={
            "metadata": {},
            "status": "Failure",
            "reason": "Invalid",
            "details": {"causes": [{"reason": "FieldValueRequired", "field": "spec.x"}]},
            "code": 422,
        },
    ),
    "received stage, no status": event(7, stage="RequestReceived", responseStatus=None),
    "no annotations": event(8, annotations=None),
    "user without extra": event(9, user={"username": "kubernetes-admin", "groups": ["system:masters"]}),
    "impersonation": event(
        10, impersonatedUser={"username": "bob", "groups": ["dev"]}, user={"username": "admin", "groups": []}
    ),
    "quotes and braces in the user agent": event(11, userAgent='curl/8 "x"}{,"objectRef":{"namespace":"evil"}'),
    "forged objectRef in sourceIPs": event(12, sourceIPs=['1.2.3.4"],"objectRef":{"namespace":"kube-system"}']),
    "request object with look-alike keys": event(
        13,
        level="RequestResponse",
        objectRef=None,
        responseStatus=None,
        requestObject={"objectRef": {"namespace": "kube-system"}, "responseStatus": {"metadata": {}, "code": 500}},
        responseObject={"stageTimestamp": "1999-01-01T00:00:00.000000Z"},
    ),
    "annotation named stageTimestamp": event(14, annotations={"stageTimestamp": "1999-01-01T00:00:00.000000Z"}),
    "non-ASCII and escapes in names": event(15, user={"username": 'jos\u00e9 "q" \\ <x>', "groups": []}),
    "audit ID from a client header": event(16, auditID='my"id\\1'),
    "offset timestamp": event(17, stageTimestamp="2026-11-20T12:00:17.5+02:00"),
    "v1beta1 event": dict(event(18), apiVersion="audit.k8s.io/v1beta1"),
    "code that is not a number": event(19, responseStatus={"metadata": {}, "code": "abc"}),
    "non-ASCII digits": event(20, responseStatus={"metadata": {}, "code": 200}, stageTimestamp="\u0662026-11-20"),
}


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_every_line_shape_reads_as_json_reads_it(name):
    body = SHAPES[name]
    line = go_json(body)
    stats = al.ScanStats()
    record = al._LineParser(stats).parse(line, "x.log", 1)
    decoded = json.loads(line)
    assert record is not None, stats.problems
    assert record.summary() == {
        "auditID": decoded["auditID"],
        "verb": decoded["verb"],
        "requestURI": decoded["requestURI"],
        "username": decoded["user"]["username"],
        "code": decoded.get("responseStatus", {}).get("code"),
        "stageTimestamp": decoded["stageTimestamp"],
    }
    assert (record.level, record.stage) == (decoded["level"], decoded["stage"])
    assert record.object_ref() == decoded.get("objectRef", {})
    assert record.event() == decoded


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_the_benchmarks_summary_line_holds_what_jq_prints(name):
    # tests/bench/bench_log.py writes this line per event and compares it with jq's output
    line = go_json(SHAPES[name])
    record = al._LineParser(al.ScanStats()).parse(line, "x.log", 1)
    decoded = json.loads(line)
    row = jq_summary.summary_row(record)
    assert row == [
        decoded["auditID"],
        decoded["verb"],
        decoded["requestURI"],
        decoded["user"]["username"],
        decoded.get("responseStatus", {}).get("code"),
        decoded["stageTimestamp"],
    ]
    assert row == [record.summary()[field] for field in al.SUMMARY_FIELDS]
    text = jq_summary.summary_json(record)
    assert text == jq_summary.ROW_ENCODER(row)  # the direct path writes exactly what the encoder writes
    assert json.loads(text) == row


@pytest.mark.parametrize(
    ("values", "text"),
    [
        (["a", "get", "/x", "u", 200, "t"], '["a","get","/x","u",200,"t"]'),
        (["a", "get", "/x", "u", None, "t"], '["a","get","/x","u",null,"t"]'),
        (["a", "get", '/x?q="', "u", 200, "t"], '["a","get","/x?q=\\"","u",200,"t"]'),
        (["a", "get", "/x", "jos\u00e9\n", 200, "t"], '["a","get","/x","jos\u00e9\\n",200,"t"]'),
        ([None, None, None, None, True, None], "[null,null,null,null,true,null]"),
        (["a", "get", "/x", "u", "abc", "t"], '["a","get","/x","u","abc","t"]'),
    ],
    ids=["plain", "no-code", "quote", "non-ascii-and-newline", "nulls-and-bool", "string-code"],
)
def test_the_benchmarks_summary_line_is_compact_json(values, text):
    record = al.AuditRecord("", "Metadata", values[0], "ResponseComplete", values[2], values[1], values[3], *values[4:])
    assert jq_summary.summary_json(record) == text


def test_the_fast_path_takes_the_apiservers_usual_lines_and_leaves_odd_ones_to_json():
    usual = [
        "plain",
        "query with escaped &",
        "no objectRef (non-resource)",
        "error status with details",
        "request object with look-alike keys",
        "audit ID from a client header",
        "impersonation",  # objectRef, when asked for, comes from json
        "forged objectRef in sourceIPs",  # likewise
    ]
    assert [name for name in usual if al._fast_record(go_json(SHAPES[name])) is None] == []
    odd = [
        "status with causes",
        "v1beta1 event",
        "offset timestamp",
        "code that is not a number",
        "non-ASCII digits",
    ]
    assert [name for name in odd if al._fast_record(go_json(SHAPES[name])) is not None] == []


def test_object_ref_is_read_only_when_asked_for_and_from_json_when_the_walk_cannot():
    plain = al._fast_record(go_json(event(1)))
    assert plain._object_ref_text is al._UNREAD
    assert plain.object_ref() == event(1)["objectRef"]
    assert plain._event is None  # the walk found it: the line was not decoded
    forged = al._fast_record(go_json(SHAPES["forged objectRef in sourceIPs"]))
    assert forged.object_ref() == SHAPES["forged objectRef in sourceIPs"]["objectRef"]
    assert forged._event is not None  # the walk refused the escaped quotes: json decided


# --- files and rotation ---------------------------------------------------------------------------------------


def test_backups_are_read_oldest_first_by_the_time_in_their_names(logdir):
    # Written out of order, and with mtimes that lie: only the name's timestamp counts.
    write_log(logdir, lines(event(3)), "kube-apiserver-audit-2026-11-20T09-00-00.000.log")
    write_log(logdir, lines(event(1)), "kube-apiserver-audit-2026-11-19T23-59-59.999.log")
    with gzip.open(str(logdir / "kube-apiserver-audit-2026-11-20T08-30-00.500.log.gz"), "wt") as handle:
        handle.write(lines(event(2)))
    current = write_log(logdir, lines(event(4)))
    os.utime(str(logdir / "kube-apiserver-audit-2026-11-19T23-59-59.999.log"), (2e9, 2e9))
    write_log(logdir, lines(event(99)), "kube-apiserver-audit.log.old")  # not lumberjack's: ignored
    write_log(logdir, lines(event(98)), "other-audit-2026-11-20T08-00-00.000.log")  # another log: ignored

    result = read(current, output="events")

    assert [e["auditID"][-1] for e in result["events"]] == ["1", "2", "3", "4"]
    assert [os.path.basename(f["path"]) for f in result["files"]] == [
        "kube-apiserver-audit-2026-11-19T23-59-59.999.log",
        "kube-apiserver-audit-2026-11-20T08-30-00.500.log.gz",
        "kube-apiserver-audit-2026-11-20T09-00-00.000.log",
        "kube-apiserver-audit.log",
    ]
    assert [f["rotated_at"] for f in result["files"]] == [
        "2026-11-19T23:59:59.999000Z",
        "2026-11-20T08:30:00.500000Z",
        "2026-11-20T09:00:00.000000Z",
        None,
    ]
    assert [f["compressed"] for f in result["files"]] == [False, True, False, False]
    assert result["stats"]["files_read"] == 4


def test_the_file_order_holds_even_where_events_are_out_of_order(logdir):
    # Merged output is ordered by stageTimestamp, not by file: a late-finishing request written later shows first.
    write_log(logdir, lines(event(1, stamp="10:00:05")), "kube-apiserver-audit-2026-11-20T10-00-06.000.log")
    current = write_log(logdir, lines(event(2, stamp="10:00:04"), event(3, stamp="10:00:07")))
    assert ids(read(current)) == ["002", "001", "003"]


def test_rotated_false_reads_only_the_current_file(logdir):
    write_log(logdir, lines(event(1)), "kube-apiserver-audit-2026-11-20T09-00-00.000.log")
    current = write_log(logdir, lines(event(2)))
    result = read(current, rotated=False)
    assert ids(result) == ["002"]
    assert len(result["files"]) == 1


def test_a_backup_being_compressed_is_read_once_from_the_complete_file(logdir):
    # lumberjack writes x.log.gz next to x.log, then removes x.log: while both exist, the .gz may be partial.
    write_log(logdir, lines(event(1), event(2)), "kube-apiserver-audit-2026-11-20T09-00-00.000.log")
    (logdir / "kube-apiserver-audit-2026-11-20T09-00-00.000.log.gz").write_bytes(gzip.compress(b"{partial")[:20])
    current = write_log(logdir, lines(event(3)))
    result = read(current)
    assert ids(result) == ["001", "002", "003"]
    assert result["stats"]["skipped"]["unreadable_files"] == 0


def test_a_backup_compressed_between_listing_and_reading_is_read_from_its_gz(logdir, monkeypatch):
    plain = write_log(logdir, lines(event(1)), "kube-apiserver-audit-2026-11-20T09-00-00.000.log")
    current = write_log(logdir, lines(event(2)))
    real_find = al.find_backups

    def find_then_compress(path):
        found = real_find(path)
        (logdir / (plain.name + ".gz")).write_bytes(gzip.compress(plain.read_bytes()))
        plain.unlink()
        return found

    monkeypatch.setattr(al, "find_backups", find_then_compress)
    result = read(current)
    assert ids(result) == ["001", "002"]
    assert result["files"][0]["path"].endswith(".log.gz")
    assert result["files"][0]["compressed"] is True


def test_a_backup_removed_by_rotation_meanwhile_is_noted_not_fatal(logdir, monkeypatch):
    old = write_log(logdir, lines(event(1)), "kube-apiserver-audit-2026-11-20T09-00-00.000.log")
    current = write_log(logdir, lines(event(2)))
    real_find = al.find_backups

    def find_then_remove(path):
        found = real_find(path)
        old.unlink()
        return found

    monkeypatch.setattr(al, "find_backups", find_then_remove)
    result = read(current)
    assert ids(result) == ["002"]
    assert result["files"][0]["skipped"] == "removed by log rotation while reading"
    assert result["stats"]["skipped"]["unreadable_files"] == 0


def test_a_rotation_while_reading_does_not_read_the_renamed_file_twice(logdir, monkeypatch):
    current = write_log(logdir, lines(event(1), event(2)))
    real_find = al.find_backups

    def rotate_then_find(path):
        # lumberjack renames the current file to a backup and starts a new one, after it was opened.
        os.rename(path, str(logdir / "kube-apiserver-audit-2026-11-20T11-00-00.000.log"))
        write_log(logdir, lines(event(3)))
        return real_find(path)

    monkeypatch.setattr(al, "find_backups", rotate_then_find)
    result = read(current)
    assert ids(result) == ["001", "002"]
    assert len(result["files"]) == 1


def test_backup_names_follow_gos_extension_rule(tmp_path):
    assert al.backup_name_pattern("/x/audit").match("audit-2026-11-20T09-00-00.000")
    assert al.backup_name_pattern("/x/audit").match("audit-2026-11-20T09-00-00.000.gz")
    dotted = al.backup_name_pattern("/x/kube.api.audit.json")
    assert dotted.match("kube.api.audit-2026-11-20T09-00-00.000.json")
    assert not dotted.match("kube.api.audit.json-2026-11-20T09-00-00.000")
    assert not dotted.match("kube.api.audit-2026-11-20T09-00-00.json")  # milliseconds are always there


def test_backups_of_a_log_in_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_log(tmp_path, lines(event(1)), "audit-2026-11-20T09-00-00.000.log")
    write_log(tmp_path, lines(event(2)), "audit.log")
    assert ids(read("audit.log")) == ["001", "002"]


# --- gzip -----------------------------------------------------------------------------------------------------


def test_gz_backups_and_concatenated_members_are_read(logdir):
    data = gzip.compress(lines(event(1)).encode()) + gzip.compress(lines(event(2)).encode()) + b"\0" * 16
    (logdir / "kube-apiserver-audit-2026-11-20T09-00-00.000.log.gz").write_bytes(data)
    current = write_log(logdir, lines(event(3)))
    result = read(current)
    assert ids(result) == ["001", "002", "003"]
    assert result["files"][0]["bytes"] == len(lines(event(1), event(2)).encode())


def test_a_cut_off_gz_keeps_the_events_before_the_cut_and_is_reported(logdir):
    text = lines(*[event(n) for n in range(1, 301)]).encode()
    compressed = gzip.compress(text)
    (logdir / "kube-apiserver-audit-2026-11-20T09-00-00.000.log.gz").write_bytes(compressed[: len(compressed) * 2 // 3])
    current = write_log(logdir, lines(event(301)))

    result = read(current)

    kept = ids(result)
    assert 0 < len(kept) - 1 < 300  # some backup events and the current one
    assert kept[-1] == "301"
    assert kept[:-1] == [f"{n:03d}" for n in range(1, len(kept))]  # everything up to the cut, in order
    assert result["stats"]["skipped"]["unreadable_files"] == 1
    assert "gzip" in result["files"][0]["error"]
    assert result["stats"]["files_read"] == 1
    assert any("could not be read to the end" in warning for warning in result["warnings"])


def test_a_gz_that_is_not_gzip_is_reported_and_skipped(logdir):
    write_log(logdir, "this is not gzip\n", "kube-apiserver-audit-2026-11-20T09-00-00.000.log.gz")
    current = write_log(logdir, lines(event(1)))
    result = read(current)
    assert ids(result) == ["001"]
    assert result["stats"]["skipped"]["unreadable_files"] == 1
    assert result["problems"][0]["kind"] == "unreadable_files"


def test_an_empty_gz_is_reported(logdir):
    write_log(logdir, "", "kube-apiserver-audit-2026-11-20T09-00-00.000.log.gz")
    current = write_log(logdir, lines(event(1)))
    assert read(current)["stats"]["skipped"]["unreadable_files"] == 1


# --- bad data -------------------------------------------------------------------------------------------------


def test_a_truncated_last_line_is_counted_not_returned(logdir):
    whole = go_json(event(2))
    current = write_log(logdir, lines(event(1)) + whole[: len(whole) // 2])
    result = read(current)
    assert ids(result) == ["001"]
    assert result["stats"]["skipped"]["truncated"] == 1
    assert result["stats"]["lines"] == 2
    assert result["problems"] == [
        {
            "kind": "truncated",
            "path": str(current),
            "line": 2,
            "reason": "the last line is incomplete (still being written?)",
        }
    ]


def test_a_complete_last_line_without_newline_is_an_event(logdir):
    current = write_log(logdir, lines(event(1)) + go_json(event(2)))
    result = read(current)
    assert ids(result) == ["001", "002"]
    assert result["stats"]["skipped"] == {
        "legacy": 0,
        "malformed": 0,
        "truncated": 0,
        "oversized": 0,
        "unreadable_files": 0,
    }


def test_a_write_torn_by_a_crash_keeps_the_event_written_after_it(logdir):
    torn = go_json(event(2))[:150] + go_json(event(3))  # the crash cut event 2; event 3 went on the same line
    current = write_log(logdir, lines(event(1), torn, event(4)))
    result = read(current)
    assert ids(result) == ["001", "003", "004"]
    assert result["stats"]["skipped"]["truncated"] == 1
    assert result["problems"][0]["line"] == 2


def test_garbage_lines_are_counted_as_malformed_with_their_line_numbers(logdir):
    current = write_log(
        logdir,
        lines(
            event(1),
            "garbage \x00\x01",
            '{"kind":"Event","apiVersion":"audit.k8s.io/v1", broken',
            '{"kind":"Pod","apiVersion":"v1"}',
            "[1, 2]",
            "",
            "   ",
            event(2),
        ),
    )
    result = read(current)
    assert ids(result) == ["001", "002"]
    assert result["stats"]["skipped"]["malformed"] == 4
    assert [p["line"] for p in result["problems"]] == [2, 3, 4, 5]
    assert result["stats"]["lines"] == 8
    assert result["stats"]["examined"] == 6  # blank lines are neither events nor bad data
    assert "not JSON" in result["problems"][0]["reason"]
    assert "invalid JSON" in result["problems"][1]["reason"]
    assert "not an audit.k8s.io Event" in result["problems"][2]["reason"]


def test_legacy_format_lines_are_counted_and_explained(logdir):
    current = write_log(logdir, lines(LEGACY, LEGACY, event(1)))
    result = read(current)
    assert ids(result) == ["001"]
    assert result["stats"]["skipped"]["legacy"] == 2
    assert result["problems"][0]["kind"] == "legacy"
    assert any("legacy text format" in warning for warning in result["warnings"])


def test_invalid_utf8_is_replaced_as_jq_replaces_it(logdir):
    path = logdir / "kube-apiserver-audit.log"
    body = go_json(event(1, userAgent="agent-\x01")).encode()
    path.write_bytes(body.replace(b"agent-", b"agent-\xff") + b"\n")
    result = read(path, output="events")
    assert result["events"][0]["userAgent"] == "agent-\ufffd\x01"


def test_problems_are_capped_but_all_bad_lines_are_counted(logdir):
    current = write_log(logdir, lines(*[f"junk {n}" for n in range(25)], event(1)))
    result = read(current)
    assert result["stats"]["skipped"]["malformed"] == 25
    assert len(result["problems"]) == al.MAX_PROBLEMS


def test_lines_longer_than_a_block_are_read(logdir, monkeypatch):
    monkeypatch.setattr(al, "BLOCK_SIZE", 64)
    big = event(2, level="RequestResponse", requestObject={"data": "x" * 1000})
    current = write_log(logdir, lines(event(1), big, event(3)) + go_json(event(4))[:70])
    result = read(current)
    assert ids(result) == ["001", "002", "003"]
    assert result["stats"]["lines"] == 4
    assert result["stats"]["skipped"]["truncated"] == 1
    assert ids(read(current, audit_id=event(2)["auditID"])) == ["002"]


def test_multibyte_characters_split_across_blocks_survive(logdir, monkeypatch):
    monkeypatch.setattr(al, "BLOCK_SIZE", 7)
    current = write_log(logdir, lines(event(1, userAgent="\u00e9\u00e8\u4e2d\U0001f600" * 20)))
    assert read(current, output="events")["events"][0]["userAgent"] == "\u00e9\u00e8\u4e2d\U0001f600" * 20


# --- filters --------------------------------------------------------------------------------------------------

MIXED = [
    event(1, verb="get"),
    event(2, verb="update", user={"username": "system:kube-controller-manager", "groups": []}),
    event(3, verb="create", objectRef={"resource": "pods", "namespace": "default", "apiVersion": "v1"}),
    event(
        4,
        verb="get",
        objectRef={"resource": "pods", "namespace": "default", "apiVersion": "v1", "subresource": "log"},
        user={"username": "system:serviceaccount:nnf-system:nnf-controller-manager", "groups": []},
    ),
    event(5, verb="list", requestURI="/apis/nnf.cray.hpe.com/v1alpha2/nnfstorages?limit=500", objectRef=None),
    event(6, stage="ResponseStarted", verb="watch", level="Request"),
    event(
        7,
        responseStatus={"metadata": {}, "status": "Failure", "reason": "Forbidden", "code": 403},
        objectRef={"resource": "nodes", "name": "n1", "apiVersion": "v1"},
    ),
    event(8, responseStatus={"metadata": {}, "code": 404}, level="RequestResponse", stamp="11:30:00"),
    event(9, stage="RequestReceived", responseStatus=None, stamp="11:59:00"),
]


@pytest.fixture
def mixed(logdir):
    return write_log(logdir, lines(*MIXED))


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"audit_id": "00000000-0000-4000-8000-000000000003"}, ["003"]),
        ({"user": SA}, ["001", "003", "005", "006", "007", "008", "009"]),
        ({"user": "system:serviceaccount:nnf-system:*"}, ["001", "003", "004", "005", "006", "007", "008", "009"]),
        ({"user": "system:kube-*"}, ["002"]),
        (
            {"user": "system:serviceaccount:nnf-system:nnf-c[ol]*"},
            ["001", "003", "004", "005", "006", "007", "008", "009"],
        ),
        ({"user": "kube"}, []),  # exact unless it has a wildcard
        ({"verbs": ["create", "update"]}, ["002", "003"]),
        ({"groups": ["nnf.cray.hpe.com"]}, ["001", "002", "006", "008", "009"]),
        ({"groups": ["core"]}, ["003", "004", "007"]),
        ({"groups": [""]}, ["003", "004", "007"]),
        ({"resources": ["pods"]}, ["003", "004"]),
        ({"resources": ["pods/log"]}, ["004"]),
        ({"resources": ["nnfnodestorages", "nodes"]}, ["001", "002", "006", "007", "008", "009"]),
        ({"namespaces": ["default"]}, ["003", "004"]),
        ({"namespaces": [""]}, ["007"]),  # cluster-scoped; non-resource requests never match
        ({"stages": ["ResponseStarted", "RequestReceived"]}, ["006", "009"]),
        ({"levels": ["Request", "RequestResponse"]}, ["006", "008"]),
        ({"codes": ["403"]}, ["007"]),
        ({"codes": [404, "403"]}, ["007", "008"]),
        ({"codes": ["4xx"]}, ["007", "008"]),
        ({"codes": ["2XX"]}, ["001", "002", "003", "004", "005", "006"]),
        ({"since": "2026-11-20T11:00:00Z"}, ["008", "009"]),
        ({"since": "2026-11-20T12:00:00+01:00"}, ["008", "009"]),
        ({"until": "2026-11-20T10:00:03Z"}, ["001", "002"]),  # until is exclusive, on stageTimestamp
        ({"since": "2026-11-20T10:00:03.000200Z", "until": "2026-11-20T10:00:05Z"}, ["003", "004"]),
        ({"since": "45m"}, ["008", "009"]),  # now is 12:00
        ({"since": "1h", "until": "15m"}, ["008"]),
        ({"since": "2026-11-20"}, ["001", "002", "003", "004", "005", "006", "007", "008", "009"]),
        ({"user": SA, "verbs": ["get"], "groups": ["nnf.cray.hpe.com"], "codes": ["2xx"], "since": "3h"}, ["001"]),
    ],
)
def test_each_filter_and_their_combination(mixed, filters, expected):
    assert ids(read(mixed, **filters)) == expected


def test_an_audit_id_keeps_every_stage_of_the_request(logdir):
    request = "d1053ee5-0734-4b40-815f-3f6831f82bac"
    current = write_log(
        logdir,
        lines(
            event(1, auditID=request, stage="ResponseStarted", verb="watch"),
            event(2),
            event(3, auditID=request, stage="ResponseComplete", verb="watch"),
        ),
    )
    result = read(current, audit_id=request, output="events")
    assert [(e["auditID"], e["stage"]) for e in result["events"]] == [
        (request, "ResponseStarted"),
        (request, "ResponseComplete"),
    ]


def test_the_audit_id_look_up_skips_lines_without_it_but_counts_them(logdir):
    current = write_log(logdir, lines(*[event(n) for n in range(1, 201)], "junk", event(201)))
    result = read(current, audit_id=event(150)["auditID"])
    assert ids(result) == ["150"]
    assert result["stats"]["lines"] == 202
    assert result["stats"]["examined"] == 1  # the other lines were never parsed
    assert result["stats"]["skipped"]["malformed"] == 0  # nor judged


def test_an_audit_id_that_appears_elsewhere_in_a_line_is_not_a_match(logdir):
    wanted = event(7)["auditID"]
    decoy = event(8, annotations={"note": wanted}, userAgent='"' + wanted + '"')
    current = write_log(logdir, lines(decoy, event(7)))
    assert ids(read(current, audit_id=wanted)) == ["007"]


@pytest.mark.parametrize("value", ['id"with quote', "id<html>&", "id-\u00e9t\u00e9", "id\\back"])
def test_values_the_log_escapes_are_found_without_the_raw_look_up(logdir, value):
    current = write_log(logdir, lines(event(1), event(2, auditID=value, user={"username": value, "groups": []})))
    assert al.EventFilter(audit_id=value).needle is None
    assert [e["auditID"] for e in read(current, audit_id=value)["events"]] == [value]
    assert [e["username"] for e in read(current, user=value)["events"]] == [value]


def test_needles_are_only_made_of_text_written_verbatim():
    assert al.EventFilter(audit_id="abc-123").needle == '"abc-123"'
    assert al.EventFilter(user=SA).needle == '"' + SA + '"'
    assert al.EventFilter(user="system:serviceaccount:nnf-system:*").needle == "system:serviceaccount:nnf-system:"
    assert al.EventFilter(user="*:nn*").needle is None  # too short to narrow anything
    assert al.EventFilter(user="system:[ab]*").needle is None  # brackets are not literal
    assert al.EventFilter(verbs=["get"]).needle is None


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"codes": ["forbidden"]}, "is not an HTTP status code"),
        ({"codes": ["6xx"]}, "is not an HTTP status code"),
        ({"codes": ["2000"]}, "is not an HTTP status code"),
        ({"since": "yesterday"}, "neither an RFC 3339 time"),
        ({"since": "2026-11-20T10:00:00"}, "neither an RFC 3339 time"),  # no offset: refused, not guessed
        ({"since": "2026-02-30"}, "neither an RFC 3339 time"),
        ({"until": "2h5"}, "neither an RFC 3339 time"),
        ({"since": "1h", "until": "2h"}, "is not before until"),
    ],
)
def test_filters_that_cannot_mean_anything_are_refused(filters, message):
    with pytest.raises(ValueError, match=message):
        al.EventFilter(now=NOW, **filters)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("2026-11-20T10:00:00Z", "2026-11-20T10:00:00.000000Z"),
        ("2026-11-20t10:00:00.123456789z", "2026-11-20T10:00:00.123456Z"),
        ("2026-11-20T12:30:00.5+02:30", "2026-11-20T10:00:00.500000Z"),
        ("2026-11-20T05:00:00-0500", "2026-11-20T10:00:00.000000Z"),
        ("2026-11-20", "2026-11-20T00:00:00.000000Z"),
        ("90s", "2026-11-20T11:58:30.000000Z"),
        ("30m", "2026-11-20T11:30:00.000000Z"),
        ("2h", "2026-11-20T10:00:00.000000Z"),
        ("1d", "2026-11-19T12:00:00.000000Z"),
        ("1w", "2026-11-13T12:00:00.000000Z"),
        ("1h30m", "2026-11-20T10:30:00.000000Z"),
    ],
)
def test_time_bounds(text, key):
    assert al.parse_time_bound(text, NOW) == key


def test_since_does_not_open_backups_rotated_before_it(logdir):
    write_log(logdir, lines(event(1, stamp="08:00:00")), "kube-apiserver-audit-2026-11-20T09-00-00.000.log")
    write_log(logdir, lines(event(2, stamp="10:59:00")), "kube-apiserver-audit-2026-11-20T11-00-00.000.log")
    current = write_log(logdir, lines(event(3, stamp="11:30:00")))
    result = read(current, since="2026-11-20T10:59:30Z")
    assert ids(result) == ["003"]
    assert result["files"][0]["skipped"] == "rotated before 'since'"
    assert result["files"][0]["lines"] == 0
    assert result["files"][1]["lines"] == 1  # rotated after 'since': read, though none of it matches
    assert result["stats"]["files_read"] == 2


def test_timestamps_with_offsets_compare_as_instants(logdir):
    current = write_log(logdir, lines(event(1, stageTimestamp="2026-11-20T12:30:00+02:00"), event(2, stamp="10:45:00")))
    assert ids(read(current, since="2026-11-20T10:40:00Z")) == ["002"]
    assert ids(read(current, until="2026-11-20T10:40:00Z")) == ["001"]
    assert ids(read(current)) == ["001", "002"]  # 12:30+02:00 is 10:30Z, before 10:45Z


# --- output ---------------------------------------------------------------------------------------------------


def test_summary_has_the_seeds_six_fields(logdir):
    current = write_log(logdir, lines(SHAPES["query with escaped &"]))
    (summary,) = read(current)["events"]
    assert summary == {
        "auditID": "00000000-0000-4000-8000-000000000002",
        "verb": "list",
        "requestURI": "/api/v1/pods?limit=500&resourceVersion=0",
        "username": SA,
        "code": 200,
        "stageTimestamp": "2026-11-20T10:00:02.000200Z",
    }
    assert tuple(summary) == al.SUMMARY_FIELDS


def test_events_are_returned_as_logged(logdir):
    current = write_log(logdir, lines(*MIXED))
    assert read(current, output="events")["events"] == [json.loads(go_json(item)) for item in MIXED]


def test_limit_keeps_the_newest_by_stage_timestamp_in_time_order(logdir):
    stamps = ["10:00:05", "10:00:01", "10:00:09", "10:00:03", "10:00:07", "10:00:09"]
    current = write_log(logdir, lines(*[event(n, stamp=stamp) for n, stamp in enumerate(stamps)]))
    result = read(current, limit=3)
    assert ids(result) == ["004", "002", "005"]  # 10:00:07, 10:00:09, and the later-written 10:00:09
    assert result["stats"]["matched"] == 6
    assert result["stats"]["returned"] == 3
    assert any("returning the newest 3" in warning for warning in result["warnings"])
    assert ids(read(current, limit=0)) == ["001", "003", "000", "004", "002", "005"]
    assert not read(current, limit=6)["warnings"]


def test_counts_by_user_verb_resource_and_code(mixed):
    result = read(mixed, output="counts", limit=1)
    assert result["events"] == []
    assert result["counts"] == {
        "user": {
            SA: 7,
            "system:kube-controller-manager": 1,
            "system:serviceaccount:nnf-system:nnf-controller-manager": 1,
        },
        "verb": {"get": 5, "create": 1, "list": 1, "update": 1, "watch": 1},
        "resource": {
            "nnfnodestorages.nnf.cray.hpe.com": 5,
            "<non-resource>": 1,
            "nodes": 1,
            "pods": 1,
            "pods/log": 1,
        },
        "code": {"200": 6, "403": 1, "404": 1, "<none>": 1},
    }
    assert list(result["counts"]["verb"]) == ["get", "create", "list", "update", "watch"]  # by count, then name
    assert result["stats"]["matched"] == 9
    assert not result["warnings"]  # limit does not apply to counts


def test_stats_and_message(logdir):
    current = write_log(logdir, lines(event(1, stamp="10:00:01"), event(2, stamp="10:00:02"), "junk"))
    result = read(current, verbs=["get"])
    assert result["stats"] == {
        "files_read": 1,
        "bytes": current.stat().st_size,
        "lines": 3,
        "examined": 3,
        "matched": 2,
        "returned": 2,
        "skipped": {"legacy": 0, "malformed": 1, "truncated": 0, "oversized": 0, "unreadable_files": 0},
        "oversized_matches": 0,
        "oldest": "2026-11-20T10:00:01.000200Z",
        "newest": "2026-11-20T10:00:02.000200Z",
    }
    assert result["msg"] == "read 1 file (0.0 MiB, 3 lines): 2 matched, 2 returned; skipped 1 malformed"
    assert result["log_found"] is True


# --- missing and unreadable logs ------------------------------------------------------------------------------


def test_a_missing_log_says_auditing_looks_disabled(logdir):
    path = logdir / "kube-apiserver-audit.log"
    with pytest.raises(al.AuditLogMissing) as raised:
        read(path)
    assert str(path) in str(raised.value)
    assert "auditing looks disabled" in str(raised.value)
    assert "--audit-log-path" in str(raised.value)


def test_log_errors_are_the_collections_user_errors_and_say_whether_the_log_exists(logdir):
    with pytest.raises(al.AuditLogMissing) as missing:
        read(logdir / "kube-apiserver-audit.log")
    with pytest.raises(al.AuditLogError) as unreadable:
        read(logdir)  # a directory
    for raised, log_found in ((missing, False), (unreadable, True)):
        assert isinstance(raised.value, _errors.KubeAuditError)
        assert raised.value.result == {"log_found": log_found}
    assert al.AuditLogError("text", {"path": "x"}).result == {"log_found": True, "path": "x"}


def test_a_missing_log_is_an_empty_result_when_missing_ok(logdir):
    result = read(logdir / "kube-apiserver-audit.log", missing_ok=True, output="counts")
    assert result["log_found"] is False
    assert result["events"] == []
    assert result["counts"] == {"user": {}, "verb": {}, "resource": {}, "code": {}}
    assert "auditing looks disabled" in result["msg"]


def test_a_missing_directory_is_a_missing_log(tmp_path):
    with pytest.raises(al.AuditLogMissing):
        read(tmp_path / "nowhere" / "kube-apiserver-audit.log")


def test_backups_without_a_current_file_are_read_with_a_warning(logdir):
    write_log(logdir, lines(event(1)), "kube-apiserver-audit-2026-11-20T09-00-00.000.log")
    result = read(logdir / "kube-apiserver-audit.log")
    assert ids(result) == ["001"]
    assert result["current_missing"] is True
    assert any("turned off" in warning for warning in result["warnings"])


def test_rotated_false_with_only_backups_is_missing(logdir):
    write_log(logdir, lines(event(1)), "kube-apiserver-audit-2026-11-20T09-00-00.000.log")
    with pytest.raises(al.AuditLogMissing, match="backups not looked for"):
        read(logdir / "kube-apiserver-audit.log", rotated=False)


def test_stdout_and_directories_are_refused_with_a_reason(logdir):
    with pytest.raises(al.AuditLogError, match="standard output"):
        read("-")
    with pytest.raises(al.AuditLogError, match="not a regular file"):
        read(logdir)


def test_a_path_with_a_nul_character_is_refused_with_a_reason(logdir):
    with pytest.raises(al.AuditLogError, match="is not a file name: it holds a NUL character"):
        read(str(logdir / "kube-apiserver-audit.log") + "\0.old")


def test_an_unreadable_log_names_the_fix(logdir):
    # As Ansible would run without become: unprivileged (root reads anything, so the child drops to nobody).
    current = write_log(logdir, lines(event(1)))
    current.chmod(0o600)
    # The child may not be allowed to read the checkout: pass it the code, the collection modules it imports inlined.
    with open(al.__file__, encoding="utf-8") as handle:
        source = handle.read()
    prefix = "from ansible_collections.nnf.kube_audit.plugins.module_utils import "
    import_lines = [line for line in source.splitlines(keepends=True) if line.startswith(prefix)]
    assert len(import_lines) == 1
    inlined = "import types\n"
    for name in import_lines[0][len(prefix) :].strip().split(", "):
        with open(getattr(al, name).__file__, encoding="utf-8") as handle:
            module_source = handle.read()
        assert prefix not in module_source  # a leaf module: nothing more to inline
        inlined += f"{name} = types.ModuleType({name!r})\nexec({module_source!r}, {name}.__dict__)\n"
    code = source.replace(import_lines[0], inlined) + (
        f"\ntry:\n    read_audit_log({str(current)!r})\n"
        "except AuditLogError as exc:\n    print(type(exc).__name__, exc)\n"
    )
    if os.geteuid() == 0:
        python = "/usr/bin/python3"
        if not os.access(python, os.X_OK):
            pytest.skip("no system python3 to run as nobody")
        options = {"user": 65534, "cwd": "/"}
    else:
        python, options = sys.executable, {}
        current.chmod(0)
    completed = subprocess.run([python, "-"], input=code, capture_output=True, text=True, check=True, **options)
    assert completed.stdout.startswith(f"AuditLogError cannot read {current}: Permission denied")
    assert "become" in completed.stdout


def test_read_arguments_are_checked(logdir):
    current = write_log(logdir, lines(event(1)))
    with pytest.raises(ValueError, match="output must be one of"):
        read(current, output="table")
    with pytest.raises(ValueError, match="limit must be"):
        read(current, limit=-1)


@pytest.mark.parametrize("block_size", [1, 5, 64, 333, 4096])
def test_block_boundaries_change_nothing(logdir, monkeypatch, block_size):
    # Lines, line numbers and matches must not depend on where the blocks happen to end, with or without a needle.
    wanted = "00000000-0000-4000-8000-000000000007"
    text = (
        lines(
            event(1),
            "junk",
            event(7, stage="ResponseStarted"),
            LEGACY,
            event(2, userAgent="\u00e9\u4e2d" * 30),
            "",
            event(7),
            event(3),
        )
        + go_json(event(7, stage="Panic"))[:150]
    )  # cut after its auditID
    current = write_log(logdir, text)
    expected_all = read(current)
    expected_one = read(current, audit_id=wanted)
    monkeypatch.setattr(al, "BLOCK_SIZE", block_size)
    every = read(current)
    one = read(current, audit_id=wanted)
    assert ids(every) == ids(expected_all) == ["001", "002", "003", "007", "007"]  # by time
    assert ids(one) == ids(expected_one) == ["007", "007"]
    assert every["stats"]["lines"] == one["stats"]["lines"] == 9
    assert [(p["kind"], p["line"]) for p in every["problems"]] == [("malformed", 2), ("legacy", 4), ("truncated", 9)]
    assert [(p["kind"], p["line"]) for p in one["problems"]] == [("truncated", 9)]


# --- lines longer than max_line_bytes -------------------------------------------------------------------------

CAP = 1024  # the smallest max_line_bytes: lines of a few KiB are "long" without writing megabytes


def long_event(n, size, **fields):
    """An event whose line is exactly ``size`` bytes (without its newline): a RequestResponse one, padded."""
    assert size >= 900
    fields.setdefault("level", "RequestResponse")
    fields.setdefault("user", {"username": SA, "groups": []})
    fields.setdefault("annotations", None)
    base = go_json(event(n, requestObject={"data": ""}, **fields)).encode()
    return go_json(event(n, requestObject={"data": "x" * (size - len(base))}, **fields))


def oversized(result):
    return [(p["line"], p["reason"]) for p in result["problems"] if p["kind"] == "oversized"]


@pytest.mark.parametrize("block_size", [64, 333, 1000, 4096, 1 << 20])
def test_a_line_longer_than_max_line_bytes_is_skipped_counted_and_described(logdir, monkeypatch, block_size):
    monkeypatch.setattr(al, "BLOCK_SIZE", block_size)
    big = long_event(2, 5000)
    current = write_log(logdir, lines(event(1), big, event(3), "junk"))
    result = read(current, max_line_bytes=CAP)
    assert ids(result) == ["001", "003"]
    assert result["stats"]["lines"] == 4
    assert result["stats"]["skipped"]["oversized"] == 1
    assert result["stats"]["skipped"]["malformed"] == 1
    assert result["stats"]["oversized_matches"] == 0
    assert result["oversized_matches"] == []
    assert oversized(result) == [(2, "a line of 5000 bytes, longer than max_line_bytes (1024): not read")]
    assert [p["kind"] for p in result["problems"]] == ["oversized", "malformed"]  # in file order
    assert "skipped 1 malformed, 1 oversized" in result["msg"]
    assert "1 line too long to read (max_line_bytes: 1024) skipped (see 'problems')" in result["warnings"]
    assert ids(read(current)) == ["001", "002", "003"]  # the default, 16 MiB, reads it


@pytest.mark.parametrize("block_size", [1, 7, 64, 1023, 1024, 1025, 4096])
def test_max_line_bytes_is_the_longest_line_read(logdir, monkeypatch, block_size):
    # The bound is the line's bytes without its newline: at the bound it is read, one byte more is not.
    monkeypatch.setattr(al, "BLOCK_SIZE", block_size)
    at_cap, over_cap = long_event(1, CAP), long_event(2, CAP + 1)
    assert (len(at_cap.encode()), len(over_cap.encode())) == (CAP, CAP + 1)
    current = write_log(logdir, lines(at_cap, over_cap, at_cap) + at_cap)  # the last without newline
    result = read(current, max_line_bytes=CAP)
    assert ids(result) == ["001", "001", "001"]
    assert oversized(result) == [(2, "a line of 1025 bytes, longer than max_line_bytes (1024): not read")]
    last_over = write_log(logdir, lines(at_cap) + over_cap, "over.log")
    result = read(last_over, max_line_bytes=CAP)
    assert ids(result) == ["001"]
    assert [(p["kind"], p["line"]) for p in result["problems"]] == [("oversized", 2)]
    assert result["problems"][0]["reason"].endswith("not read (the last line, without newline: still being written?)")


@pytest.mark.parametrize(
    ("filters", "holds"),
    [
        ({"audit_id": "00000000-0000-4000-8000-000000000002"}, "the audit_id value"),
        ({"user": "system:kube-scheduler"}, "the user value"),
        ({"user": "system:kube-sched*"}, "the user pattern's text"),
    ],
)
@pytest.mark.parametrize("block_size", [64, 4096])
def test_an_oversized_line_that_holds_the_looked_up_value_is_reported_as_a_possible_match(
    logdir, monkeypatch, filters, holds, block_size
):
    monkeypatch.setattr(al, "BLOCK_SIZE", block_size)
    user = {"username": "system:kube-scheduler", "groups": []}
    current = write_log(
        logdir,
        lines(
            event(1, user=user),
            long_event(2, 3000, user=user),
            long_event(3, 3000),  # long, but without the value
            event(2, user=user),
        ),
    )
    result = read(current, max_line_bytes=CAP, **filters)
    assert ids(result) == ["001", "002"] if "user" in filters else ["002"]
    assert result["stats"]["skipped"]["oversized"] == 2  # every long line is counted, with a look-up too
    assert result["stats"]["oversized_matches"] == 1
    assert result["oversized_matches"] == [{"path": str(current), "line": 2, "bytes": 3000}]
    assert oversized(result) == [
        (2, f"a line of 3000 bytes, longer than max_line_bytes (1024): not read; it holds {holds}: it may match"),
        (3, "a line of 3000 bytes, longer than max_line_bytes (1024): not read"),
    ]
    assert any(
        f"1 of them holds {holds} and may be a match: raise max_line_bytes" in warning for warning in result["warnings"]
    )


def test_the_looked_up_value_is_found_in_an_oversized_line_wherever_the_blocks_cut_it(logdir, monkeypatch):
    monkeypatch.setattr(al, "BLOCK_SIZE", 64)
    wanted = event(7)["auditID"]
    for shift in range(64 + len(wanted)):
        text = "x" * (1500 + shift) + '"' + wanted + '"' + "y" * 700
        current = write_log(logdir, lines(text, event(7)))
        result = read(current, audit_id=wanted, max_line_bytes=CAP)
        assert ids(result) == ["007"]
        assert result["oversized_matches"] == [{"path": str(current), "line": 1, "bytes": len(text)}], shift
    cut = write_log(logdir, lines("x" * 1500 + '"' + wanted[:-1] + '-"'), "cut.log")
    assert read(cut, audit_id=wanted, max_line_bytes=CAP)["stats"]["oversized_matches"] == 0


def test_an_oversized_line_in_a_gz_backup_is_skipped_and_the_rest_read(logdir, monkeypatch):
    monkeypatch.setattr(al, "BLOCK_SIZE", 256)
    data = gzip.compress(lines(event(1), "\0" * 50000, event(2)).encode())
    (logdir / "kube-apiserver-audit-2026-11-20T09-00-00.000.log.gz").write_bytes(data)
    current = write_log(logdir, lines(event(3)))
    result = read(current, max_line_bytes=CAP)
    assert ids(result) == ["001", "002", "003"]
    assert result["stats"]["skipped"] == {
        "legacy": 0,
        "malformed": 0,
        "truncated": 0,
        "oversized": 1,
        "unreadable_files": 0,
    }
    assert result["problems"][0]["path"].endswith(".log.gz")
    assert result["files"][0]["lines"] == 3


@pytest.mark.parametrize("block_size", [64, 333, 4096, 1 << 20])
def test_a_line_with_characters_beyond_u_ffff_is_read_up_to_half_of_max_line_bytes(logdir, monkeypatch, block_size):
    # Python keeps such a text at 4 bytes a character: half the length bounds it as other texts are bounded.
    monkeypatch.setattr(al, "BLOCK_SIZE", block_size)
    emoji = "\U0001f600"  # 4 bytes in UTF-8
    current = write_log(
        logdir,
        lines(
            "x" * 508 + emoji,  # 512 bytes: read (and malformed)
            "x" * 509 + emoji,  # 513 bytes: not read
            "x" * 1020 + "\u00e9",  # 1022 bytes: read, at 2 bytes a character
            event(1, userAgent=emoji),
        ),
    )
    assert 512 < len(lines(event(1, userAgent=emoji)).encode()) < 2048
    result = read(current, max_line_bytes=CAP)
    assert ids(result) == []
    assert [(p["kind"], p["line"]) for p in result["problems"]] == [
        ("malformed", 1),
        ("oversized", 2),
        ("malformed", 3),
        ("oversized", 4),
    ]
    assert result["problems"][1]["reason"] == (
        "a line of 513 bytes with characters beyond U+FFFF, longer than half of max_line_bytes (1024): not read"
    )
    roomier = read(current, max_line_bytes=4 * CAP)
    assert ids(roomier) == ["001"]
    assert roomier["stats"]["skipped"]["oversized"] == 0


@pytest.mark.parametrize("value", [0, -1, 1023, True, "16M"])
def test_max_line_bytes_below_one_kib_is_refused(logdir, value):
    current = write_log(logdir, lines(event(1)))
    with pytest.raises(ValueError, match="max_line_bytes must be an integer of at least 1024"):
        read(current, max_line_bytes=value)


# --- the time of an event -------------------------------------------------------------------------------------


def old_event(n, stamp):
    """An event as Kubernetes 1.8 logged it (audit.k8s.io/v1beta1): one 'timestamp', in seconds, no stage times."""
    return {
        "kind": "Event",
        "apiVersion": "audit.k8s.io/v1beta1",
        "metadata": {"creationTimestamp": None},
        "level": "Metadata",
        "timestamp": f"2026-11-20T{stamp}Z",
        "auditID": f"00000000-0000-4000-8000-{n:012d}",
        "stage": "ResponseComplete",
        "requestURI": "/api/v1/namespaces/default/pods",
        "verb": "list",
        "user": {"username": "admin", "groups": ["system:masters", "system:authenticated"]},
        "sourceIPs": ["10.0.0.1"],
        "objectRef": {"resource": "pods", "namespace": "default", "apiVersion": "v1"},
        "responseStatus": {"metadata": {}, "code": 200},
    }


TIMED = [
    event(9, requestReceivedTimestamp=None, stageTimestamp=None),  # no time at all
    event(1, stamp="10:00:01"),
    old_event(2, "10:00:02"),
    event(3, stamp="10:00:03"),
    event(4, stamp="10:00:04", stageTimestamp=None),  # only requestReceivedTimestamp
    old_event(5, "10:00:05"),
]


@pytest.fixture
def timed(logdir):
    return write_log(logdir, lines(*reversed(TIMED)))  # written newest first: the order comes from the times


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, ["009", "001", "002", "003", "004", "005"]),  # the event without a time sorts oldest
        ({"since": "2026-11-20T10:00:02Z"}, ["002", "003", "004", "005"]),
        ({"since": "2026-11-20T10:00:02.000001Z"}, ["003", "004", "005"]),
        ({"until": "2026-11-20T10:00:02Z"}, ["001"]),
        ({"until": "2026-11-20T10:00:04.000101Z"}, ["001", "002", "003", "004"]),
        ({"since": "2026-11-20T10:00:02Z", "until": "2026-11-20T10:00:05Z"}, ["002", "003", "004"]),
        ({"since": "2026-11-20"}, ["001", "002", "003", "004", "005"]),  # a bound drops the event without time
        ({"until": "2026-11-21"}, ["001", "002", "003", "004", "005"]),  # whichever bound it is
        ({"limit": 3}, ["003", "004", "005"]),
        ({"limit": 6}, ["009", "001", "002", "003", "004", "005"]),
    ],
)
def test_each_event_has_one_time_for_both_bounds_sorting_and_the_limit(timed, kwargs, expected):
    assert ids(read(timed, **kwargs)) == expected


def test_the_summary_and_stats_show_the_time_an_event_is_sorted_on(timed):
    result = read(timed)
    assert [e["stageTimestamp"] for e in result["events"]] == [
        None,
        "2026-11-20T10:00:01.000200Z",
        "2026-11-20T10:00:02Z",  # as logged: the v1beta1 'timestamp'
        "2026-11-20T10:00:03.000200Z",
        "2026-11-20T10:00:04.000100Z",  # requestReceivedTimestamp
        "2026-11-20T10:00:05Z",
    ]
    assert (result["stats"]["oldest"], result["stats"]["newest"]) == (
        "2026-11-20T10:00:01.000200Z",
        "2026-11-20T10:00:05.000000Z",
    )
    assert read(timed, output="events")["events"][2] == json.loads(go_json(old_event(2, "10:00:02")))


def test_the_time_is_the_first_time_field_set_even_when_it_does_not_parse(logdir):
    # A damaged stageTimestamp is not replaced by another field: the event has no time, as its summary shows.
    garbage = event(1, stamp="10:00:05", stageTimestamp="garbage")
    current = write_log(logdir, lines(garbage, event(2, stamp="10:00:03")))
    result = read(current)
    assert ids(result) == ["001", "002"]
    assert result["events"][0]["stageTimestamp"] == "garbage"
    assert ids(read(current, since="2026-11-20")) == ["002"]
    assert al.event_time_key({"stageTimestamp": "garbage", "timestamp": "2026-11-20T10:00:05Z"}) == ""
    assert al.event_time_key({"stageTimestamp": None, "timestamp": "2026-11-20T10:00:05Z"}) == (
        "2026-11-20T10:00:05.000000Z"
    )
    assert al.event_time_key({}) == ""


def test_years_before_1000_compare_as_times(logdir):
    # strftime('%Y') writes year 999 as '999', which would sort after '2026'.
    assert al.parse_time_bound("0999-01-01", NOW) == "0999-01-01T00:00:00.000000Z"
    assert al.time_key("0999-12-31T23:59:59Z") == "0999-12-31T23:59:59.000000Z"
    current = write_log(logdir, lines(event(1)))
    assert ids(read(current, since="0999-01-01")) == ["001"]
    assert ids(read(current, until="0999-01-01")) == []


@pytest.mark.parametrize("value", ["100000000w", "99999999999999999999s", "600000w"])
def test_a_duration_beyond_the_calendar_is_refused_not_raised(value):
    with pytest.raises(ValueError, match="goes back before the year 1"):
        al.EventFilter(now=NOW, since=value)


# --- backups and since, at the millisecond of the backup's name -----------------------------------------------


@pytest.mark.parametrize(
    ("since", "read_it", "expected"),
    [
        ("2024-05-28T13:39:50.342Z", True, ["002", "003"]),
        ("2024-05-28T13:39:50.342400Z", True, ["002", "003"]),  # the event at .342500 is in the backup named .342
        ("2024-05-28T13:39:50.342500Z", True, ["002", "003"]),
        ("2024-05-28T13:39:50.342999999Z", True, ["003"]),  # the backup may hold events at .342999
        ("2024-05-28T15:39:50.342999+02:00", True, ["003"]),
        ("2024-05-28T13:39:50.343Z", False, ["003"]),  # everything in it is before .343
        ("2024-05-28T13:39:50.341999Z", True, ["002", "003"]),
    ],
)
def test_a_backup_rotated_in_the_millisecond_of_since_is_read(logdir, since, read_it, expected):
    write_log(
        logdir,
        lines(event(1, stageTimestamp="2024-05-28T13:39:49.000001Z"))
        + lines(event(2, stageTimestamp="2024-05-28T13:39:50.342500Z")),
        "kube-apiserver-audit-2024-05-28T13-39-50.342.log",
    )
    current = write_log(logdir, lines(event(3, stageTimestamp="2024-05-28T13:39:50.343000Z")))
    result = read(current, since=since)
    assert ("skipped" not in result["files"][0]) is read_it
    assert ids(result) == expected

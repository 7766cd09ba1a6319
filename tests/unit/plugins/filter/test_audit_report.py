"""filter audit_report: merging the masters' audit_log_info results, and the table and JSON lines made of them."""

import json

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.nnf.kube_audit.plugins.filter.audit_report import (
    FilterModule,
    audit_report_jsonl,
    audit_report_merge,
    audit_report_table,
)

SA = "system:serviceaccount:nnf-system:nnf-clientmount"


def summary(n, stamp, user=SA, verb="get", code=200):
    return {
        "auditID": f"id-{n}",
        "verb": verb,
        "requestURI": f"/apis/nnf.cray.hpe.com/v1alpha2/nnfstorages/s{n}",
        "username": user,
        "code": code,
        "stageTimestamp": stamp,
    }


def read(events, matched=None, **extra):
    """An audit_log_info result as registered."""
    result = {
        "changed": False,
        "log_found": True,
        "events": events,
        "stats": {"matched": len(events) if matched is None else matched, "returned": len(events)},
        "msg": f"read 1 file (1.0 MiB, 900 lines): {len(events) if matched is None else matched} matched",
    }
    result.update(extra)
    return result


def hostvars(**results):
    return {host: {"kube_audit_report_read": result, "inventory_hostname": host} for host, result in results.items()}


def test_events_of_all_masters_merge_by_stage_timestamp_with_their_host():
    variables = hostvars(
        m1=read([summary(1, "2026-11-20T10:00:01.000000Z"), summary(4, "2026-11-20T10:00:04.000000Z")]),
        m2=read([summary(2, "2026-11-20T12:00:02+02:00"), summary(5, "2026-11-20T10:00:05.000000Z")]),
        m3=read([summary(3, "2026-11-20T10:00:03.000000Z")]),
    )
    report = audit_report_merge(variables, ["m1", "m2", "m3"])
    assert [(e["host"], e["auditID"]) for e in report["events"]] == [
        ("m1", "id-1"),
        ("m2", "id-2"),  # 12:00:02+02:00 is 10:00:02Z
        ("m3", "id-3"),
        ("m1", "id-4"),
        ("m2", "id-5"),
    ]
    assert next(iter(report["events"][0])) == "host"
    assert report["matched"] == 5
    assert report["failed_hosts"] == []
    assert [status["status"] for status in report["hosts"]] == ["ok", "ok", "ok"]


def test_the_limit_keeps_the_newest_across_masters():
    variables = hostvars(
        m1=read([summary(1, "2026-11-20T10:00:01.000000Z"), summary(4, "2026-11-20T10:00:04.000000Z")], matched=40),
        m2=read([summary(2, "2026-11-20T10:00:02.000000Z"), summary(3, "2026-11-20T10:00:03.000000Z")], matched=2),
    )
    report = audit_report_merge(variables, ["m1", "m2"], limit="3")
    assert [e["auditID"] for e in report["events"]] == ["id-2", "id-3", "id-4"]
    assert report["matched"] == 42
    assert "3 newest of 42 matching events" in audit_report_table(report)


def test_masters_that_could_not_be_read_are_named_not_dropped():
    variables = hostvars(
        m1=read([summary(1, "2026-11-20T10:00:01.000000Z")]),
        m2={
            "failed": True,
            "msg": "m2: /var/log/kubernetes/kube-apiserver-audit.log does not exist",
            "log_found": False,
        },
        m3={"unreachable": True, "msg": "Failed to connect to the host via ssh"},
        m4=read([], log_found=False, msg="/var/log/kubernetes/kube-apiserver-audit.log does not exist: nothing"),
    )
    variables["m5"] = {"inventory_hostname": "m5"}  # no registered result at all
    report = audit_report_merge(variables, ["m1", "m2", "m3", "m4", "m5", "m6"])
    assert [(s["host"], s["status"]) for s in report["hosts"]] == [
        ("m1", "ok"),
        ("m2", "failed"),
        ("m3", "unreachable"),
        ("m4", "no log"),
        ("m5", "not read"),
        ("m6", "not read"),
    ]
    assert report["failed_hosts"] == ["m2", "m3", "m5", "m6"]
    assert [e["host"] for e in report["events"]] == ["m1"]
    table = audit_report_table(report)
    assert "m2: FAILED: m2: /var/log/kubernetes/kube-apiserver-audit.log does not exist" in table
    assert "m3: UNREACHABLE: Failed to connect to the host via ssh" in table
    assert table[-1].startswith("m6: NOT READ: no result")


def test_counts_add_up_across_masters():
    counts_1 = {"user": {SA: 3}, "verb": {"get": 3}, "resource": {"pods": 3}, "code": {"200": 3}}
    counts_2 = {"user": {SA: 1, "admin": 5}, "verb": {"delete": 6}, "resource": {"pods": 6}, "code": {"403": 6}}
    variables = hostvars(m1=read([], matched=3, counts=counts_1), m2=read([], matched=6, counts=counts_2))
    report = audit_report_merge(variables, ["m1", "m2"])
    assert report["counts"] == {
        "user": {"admin": 5, SA: 4},
        "verb": {"delete": 6, "get": 3},
        "resource": {"pods": 9},
        "code": {"403": 6, "200": 3},
    }
    table = audit_report_table(report)
    assert table[:4] == ["COUNT  USER", "5      admin", f"4      {SA}", ""]
    assert json.loads(audit_report_jsonl(report)) == report["counts"]


def test_the_table_has_the_seed_columns_aligned():
    variables = hostvars(
        master1=read([summary(1, "2026-11-20T10:00:01.000000Z", verb="update", code=409)]),
        m2=read([summary(2, "2026-11-20T10:00:02.000000Z", user="admin", code=None)]),
    )
    table = audit_report_table(audit_report_merge(variables, ["master1", "m2"]))
    assert table[0].split() == ["HOST", "TIME", "USER", "VERB", "CODE", "URI"]
    assert table[1].split() == [
        "master1",
        "2026-11-20T10:00:01.000000Z",
        SA,
        "update",
        "409",
        "/apis/nnf.cray.hpe.com/v1alpha2/nnfstorages/s1",
    ]
    assert table[2].split()[4] == "-"  # no code
    assert len({line.index("URI" if n == 0 else "/apis") for n, line in enumerate(table[:3])}) == 1
    assert table[4] == "2 matching events"


def test_full_events_tabulate_and_stay_whole_in_json_lines():
    event = {
        "kind": "Event",
        "apiVersion": "audit.k8s.io/v1",
        "auditID": "d1053ee5-0734-4b40-815f-3f6831f82bac",
        "verb": "delete",
        "requestURI": "/api/v1/namespaces/default/pods/p?x=1&y=\u00e9",
        "user": {"username": SA, "groups": ["system:authenticated"]},
        "responseStatus": {"metadata": {}, "code": 200},
        "stageTimestamp": "2026-11-20T10:00:01.000000Z",
    }
    report = audit_report_merge(hostvars(m1=read([event])), ["m1"])
    assert audit_report_table(report)[1].split()[2:5] == [SA, "delete", "200"]
    (line,) = audit_report_jsonl(report).splitlines()
    assert json.loads(line) == dict({"host": "m1"}, **event)
    assert "\u00e9" in line  # UTF-8 as is, as jq writes it
    assert audit_report_jsonl(report).endswith("\n")


def test_nothing_matched():
    report = audit_report_merge(hostvars(m1=read([])), ["m1"])
    assert audit_report_table(report) == ["0 matching events", "m1: read 1 file (1.0 MiB, 900 lines): 0 matched"]
    assert audit_report_jsonl(report) == ""


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: audit_report_merge({}, "m1"), "hosts must be a list"),
        (lambda: audit_report_merge({}, ["m1"], limit="many"), "limit must be an integer"),
        (lambda: audit_report_table({"events": []}), "expects the result of"),
        (lambda: audit_report_jsonl(["x"]), "expects the result of"),
    ],
)
def test_misuse_is_explained(call, message):
    with pytest.raises(AnsibleFilterError, match=message):
        call()


def test_the_filters_are_registered():
    assert set(FilterModule().filters()) == {"audit_report_merge", "audit_report_table", "audit_report_jsonl"}


def test_events_without_a_stage_timestamp_merge_by_their_own_time():
    # Older clusters: audit.k8s.io/v1beta1 of Kubernetes 1.8 has only 'timestamp'; stageTimestamp may be null.
    def full(n, **times):
        return dict({"kind": "Event", "auditID": f"id-{n}", "verb": "get", "requestURI": f"/api/v1/pods/p{n}"}, **times)

    variables = hostvars(
        old=read([full(1, timestamp="2026-11-20T10:00:01Z"), full(4, timestamp="2026-11-20T10:00:04Z")]),
        new=read(
            [
                full(2, stageTimestamp=None, requestReceivedTimestamp="2026-11-20T10:00:02.000000Z"),
                full(3, stageTimestamp="2026-11-20T10:00:03.000000Z", timestamp="2026-11-20T09:00:00Z"),
                full(5, stageTimestamp="2026-11-20T10:00:05.000000Z"),
            ]
        ),
        untimed=read([full(0)]),
    )
    report = audit_report_merge(variables, ["old", "new", "untimed"], limit=4)
    assert [e["auditID"] for e in report["events"]] == ["id-2", "id-3", "id-4", "id-5"]
    assert [e["auditID"] for e in audit_report_merge(variables, ["old", "new", "untimed"])["events"]] == [
        "id-0",  # no time: oldest
        "id-1",
        "id-2",
        "id-3",
        "id-4",
        "id-5",
    ]
    table = audit_report_table(report)
    assert [row.split()[1] for row in table[1:5]] == [
        "2026-11-20T10:00:02.000000Z",
        "2026-11-20T10:00:03.000000Z",
        "2026-11-20T10:00:04Z",
        "2026-11-20T10:00:05.000000Z",
    ]

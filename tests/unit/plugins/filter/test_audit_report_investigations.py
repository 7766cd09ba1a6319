"""filter audit_report: an auditID seen twice is never taken for a duplicate, and recipe counts add up across masters.

The same auditID can come from two masters (a client that sends its own Audit-ID header to both), and from one master
once per stage, or twice at one stage (a client that reuses its Audit-ID): every one of those events must survive the
merge, each with its host.
"""

import json

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.nnf.kube_audit.plugins.filter.audit_report import (
    audit_report_jsonl,
    audit_report_merge,
    audit_report_table,
)

CLIENT_ID = "d1053ee5-0734-4b40-815f-3f6831f82bac"  # an Audit-ID header chosen by the client


def summary(stamp, audit_id=CLIENT_ID, verb="get", uri="/api/v1/namespaces/default/pods/p"):
    return {
        "auditID": audit_id,
        "verb": verb,
        "requestURI": uri,
        "username": "alice",
        "code": 200,
        "stageTimestamp": stamp,
    }


def full(stamp, stage, audit_id=CLIENT_ID, verb="get"):
    return {
        "kind": "Event",
        "apiVersion": "audit.k8s.io/v1",
        "level": "Metadata",
        "auditID": audit_id,
        "stage": stage,
        "requestURI": "/api/v1/namespaces/default/pods?watch=true",
        "verb": verb,
        "user": {"username": "alice"},
        "stageTimestamp": stamp,
    }


def read(events, **extra):
    result = {"changed": False, "log_found": True, "events": events, "stats": {"matched": len(events)}, "msg": "ok"}
    result.update(extra)
    return result


def hostvars(**results):
    return {host: {"kube_audit_report_read": result} for host, result in results.items()}


def keys(report):
    return [(e["host"], e["auditID"], e.get("stage"), e["verb"]) for e in report["events"]]


@pytest.mark.parametrize("limit", [0, 2])
def test_the_same_audit_id_on_two_masters_keeps_both_events(limit):
    variables = hostvars(
        m1=read([summary("2026-11-20T10:00:01.000000Z", verb="get")]),
        m2=read([summary("2026-11-20T10:00:01.000000Z", verb="delete")]),  # same ID, same time, another master
    )
    report = audit_report_merge(variables, ["m1", "m2"], limit=limit)
    assert keys(report) == [("m1", CLIENT_ID, None, "get"), ("m2", CLIENT_ID, None, "delete")]
    assert report["matched"] == 2
    table = audit_report_table(report)
    assert [line.split()[0] for line in table[1:3]] == ["m1", "m2"]
    assert [json.loads(line)["host"] for line in audit_report_jsonl(report).splitlines()] == ["m1", "m2"]


def test_the_same_audit_id_at_two_stages_of_one_master_keeps_both_events():
    variables = hostvars(
        m1=read(
            [
                full("2026-11-20T10:00:01.000000Z", "ResponseStarted", verb="watch"),
                full("2026-11-20T10:05:00.000000Z", "ResponseComplete", verb="watch"),
            ]
        ),
        m2=read([full("2026-11-20T10:00:02.000000Z", "ResponseComplete")]),
    )
    report = audit_report_merge(variables, ["m1", "m2"])
    assert keys(report) == [
        ("m1", CLIENT_ID, "ResponseStarted", "watch"),
        ("m2", CLIENT_ID, "ResponseComplete", "get"),
        ("m1", CLIENT_ID, "ResponseComplete", "watch"),
    ]


def test_the_same_audit_id_and_stage_twice_on_one_master_keeps_both_events():
    # A client reusing its Audit-ID: two requests, logged alike but for their time and verb.
    variables = hostvars(
        m1=read(
            [
                full("2026-11-20T10:00:01.000000Z", "ResponseComplete", verb="get"),
                full("2026-11-20T10:00:01.000000Z", "ResponseComplete", verb="get"),
                full("2026-11-20T10:00:03.000000Z", "ResponseComplete", verb="patch"),
            ]
        ),
    )
    report = audit_report_merge(variables, ["m1"])
    assert len(report["events"]) == 3
    assert report["events"][0] == report["events"][1]  # identical events too: nothing says they are one
    assert report["events"][0] is not report["events"][1]


def test_the_limit_cuts_by_time_never_by_audit_id():
    variables = hostvars(
        m1=read([summary("2026-11-20T10:00:01.000000Z"), summary("2026-11-20T10:00:03.000000Z")]),
        m2=read([summary("2026-11-20T10:00:02.000000Z"), summary("2026-11-20T10:00:04.000000Z")]),
    )
    report = audit_report_merge(variables, ["m1", "m2"], limit=3)
    assert [(e["host"], e["stageTimestamp"][17:19]) for e in report["events"]] == [
        ("m2", "02"),
        ("m1", "03"),
        ("m2", "04"),
    ]
    assert report["matched"] == 4


# --- recipe counts ---------------------------------------------------------------------------------------------

FIELDS = ["user", "source_ips", "code"]
COUNTS = {"user": {}, "verb": {}, "resource": {}, "code": {}}


def denied(*rows):
    return {"recipe": "denied", "fields": FIELDS, "rows": [dict(zip([*FIELDS, "count"], row)) for row in rows]}


def test_recipe_counts_add_up_row_by_row_across_masters():
    m1 = denied(("bob", "192.168.1.7", "403", 2), ("<none>", "1.2.3.4", "401", 1))
    m2 = denied(("bob", "192.168.1.7", "403", 1), ("eve", "10.0.0.9", "403", 4))
    variables = hostvars(
        m1=read([], counts=COUNTS, recipe_counts=m1),
        m2=read([], counts=COUNTS, recipe_counts=m2),
        m3=read([], counts=COUNTS, recipe_counts=denied()),
    )
    report = audit_report_merge(variables, ["m1", "m2", "m3"])
    assert report["recipe_counts"] == denied(
        ("eve", "10.0.0.9", "403", 4), ("bob", "192.168.1.7", "403", 3), ("<none>", "1.2.3.4", "401", 1)
    )
    table = audit_report_table(report)
    start = table.index("recipe denied, by user, source_ips, code:")
    assert [line.split() for line in table[start + 1 : start + 5]] == [
        ["COUNT", "USER", "SOURCE_IPS", "CODE"],
        ["4", "eve", "10.0.0.9", "403"],
        ["3", "bob", "192.168.1.7", "403"],
        ["1", "<none>", "1.2.3.4", "401"],
    ]
    first, second = audit_report_jsonl(report).splitlines()
    assert json.loads(first) == report["counts"]
    assert json.loads(second) == report["recipe_counts"]


def test_without_a_recipe_the_report_is_as_before():
    report = audit_report_merge(hostvars(m1=read([], counts=COUNTS)), ["m1"])
    assert "recipe_counts" not in report
    assert len(audit_report_jsonl(report).splitlines()) == 1


def test_a_recipe_without_matches_says_none():
    report = audit_report_merge(hostvars(m1=read([], counts=COUNTS, recipe_counts=denied())), ["m1"])
    assert "recipe denied, by user, source_ips, code: none" in audit_report_table(report)


def test_masters_read_with_different_recipes_are_refused():
    other = {"recipe": "exec", "fields": ["user", "resource", "namespace", "name"], "rows": []}
    variables = hostvars(m1=read([], recipe_counts=denied()), m2=read([], recipe_counts=other))
    with pytest.raises(AnsibleFilterError, match="m2 counted by recipe 'exec'"):
        audit_report_merge(variables, ["m1", "m2"])

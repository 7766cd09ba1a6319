"""module_utils.audit_log: the scanner's shortcuts give what the plain way gives.

The reader counts newlines by jumps, looks for needles without their closing quote, skips the lines that cannot be
on the resources of a ``resources`` filter, reads the usual head and end of an event with faster regexes and
replaces Go's HTML escapes without json: each is held here to the plain way it replaces.
"""

import json
import random

import pytest

from ansible_collections.nnf.kube_audit.plugins.module_utils import audit_log as al

EXEC = ["pods/exec", "pods/attach", "pods/portforward", "pods/proxy", "services/proxy", "nodes/proxy"]


def go_json(obj, separators=(",", ":")):
    """JSON escaped the way Go's encoding/json escapes it; other separators stand for another writer."""
    text = json.dumps(obj, separators=separators, ensure_ascii=False)
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def event(n, **fields):
    """A Metadata-level audit.k8s.io/v1 Event in the apiserver's key order; a field set to None is left out."""
    body = {
        "kind": "Event",
        "apiVersion": "audit.k8s.io/v1",
        "level": "Metadata",
        "auditID": f"00000000-0000-4000-8000-{n:012d}",
        "stage": "ResponseComplete",
        "requestURI": f"/api/v1/namespaces/default/pods/p{n}",
        "verb": "get",
        "user": {"username": "kubernetes-admin", "groups": ["system:masters"]},
        "sourceIPs": ["10.0.0.1"],
        "userAgent": "kubectl/v1.29.3",
        "objectRef": {"resource": "pods", "namespace": "default", "name": f"p{n}", "apiVersion": "v1"},
        "responseStatus": {"metadata": {}, "code": 200},
        "requestReceivedTimestamp": f"2026-11-20T10:00:{n % 60:02d}.000100Z",
        "stageTimestamp": f"2026-11-20T10:00:{n % 60:02d}.000200Z",
        "annotations": {"authorization.k8s.io/decision": "allow"},
    }
    body.update(fields)
    return {key: value for key, value in body.items() if value is not None}


def ref(resource, subresource=None, **more):
    found = {"resource": resource, "namespace": "default", "name": "p", "apiVersion": "v1"}
    if subresource is not None:
        found["subresource"] = subresource
    found.update(more)
    return found


def read(path, probe=True, **filters):
    """read_audit_log of every event; without ``probe``, every line is parsed, as without the shortcut."""
    if not probe:
        saved, al._probe = al._probe, lambda event_filter: None
    try:
        return al.read_audit_log(str(path), event_filter=al.EventFilter(**filters), output="events", limit=0)
    finally:
        if not probe:
            al._probe = saved


def ids(result):
    return sorted(item["auditID"][-3:] for item in result["events"])


# --- newlines -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("line_bytes", [0, 1, 40, 511, 513, 1300, 20000])
def test_newlines_are_counted_as_bytes_count_counts_them(line_bytes):
    rnd = random.Random(line_bytes)
    lines = max(200, 100000 // (line_bytes + 1))  # more than the 8 KiB looked at first
    data = bytearray(b"".join(b"x" * rnd.randint(0, 2 * line_bytes) + b"\n" for _line in range(lines)))
    for start, stop in [(0, len(data)), (5, len(data) - 7), (100, 100), (100, 99), (len(data) // 2, len(data))]:
        assert al._newlines(data, start, stop) == data.count(b"\n", start, stop), (start, stop)
    assert al._newlines(b"no newline", 0, 10) == 0


# --- needles --------------------------------------------------------------------------------------------------


def test_a_quoted_needle_is_found_where_a_plain_search_finds_it():
    needle = al._Needle(b'"d1053ee5-0734-4b40-815f-3f6831f82bac"', "the audit_id value")
    assert needle._head == b'"d1053ee5-0734-4b40-815f-3f6831f82bac'  # searched without its closing quote
    decoys = b'x"d1053ee5-0734-4b40-815f-3f6831f82bac-"y"d1053ee5-0734-4b40-815f-3f6831f82bacz'
    data = bytearray(decoys + b'"d1053ee5-0734-4b40-815f-3f6831f82bac"' + decoys)
    for start in range(0, len(data), 7):
        for stop in range(start, len(data) + 1, 5):
            assert needle.find(data, start, stop) == data.find(needle.needle, start, stop), (start, stop)
    unquoted = al._Needle(b"system:serviceaccount:nnf-system:", "the user pattern's text")
    assert unquoted._head is unquoted.needle


# --- the resources filter -------------------------------------------------------------------------------------


def test_the_resources_probe_is_made_of_the_values_and_what_completes_them():
    probe = al._ResourceProbe.of(["pods/exec", "nodes/proxy", "secrets", "a/b/c"])
    assert probe is not None
    match = probe._value
    for value in ["pods/exec", "exec", "proxy", "secrets", "a/b/c", "b/c", "c"]:
        assert match(b':"' + value.encode() + b'"') is not None, value
    for value in ["pods", "nodes", "a", "exe", "execs", "status"]:
        assert match(b':"' + value.encode() + b'"') is None, value
    assert match(b':"\\u0065xec"') is not None  # an escape: may decode to a wanted value
    assert match(b' : "exec"') is not None  # not written as encoding/json writes it: the parser decides
    # Values the log may write escaped, and '' (events without a resource match it), leave every line to the parser.
    assert al._ResourceProbe.of(["pods", "caf\u00e9"]) is None
    assert al._ResourceProbe.of(["pods", "<x>"]) is None
    assert al._ResourceProbe.of([""]) is None
    assert al._probe(al.EventFilter(resources=["pods"], verbs=["get"])) is not None
    assert al._probe(al.EventFilter(verbs=["get"])) is None
    assert isinstance(al._probe(al.EventFilter(audit_id="x-1", resources=["pods"])), al._Needle)


def test_the_resources_filter_finds_what_parsing_every_line_finds(tmp_path):
    other = {"kind": "SubjectAccessReview", "spec": {"resourceAttributes": {"resource": "pods", "subresource": "exec"}}}
    events = [
        event(1),
        event(2, objectRef=ref("pods", "exec")),
        event(3, objectRef=ref("pods", "log")),
        event(4, objectRef=ref("nodes", "proxy", namespace=None)),
        event(5, objectRef=ref("services", "proxy")),
        event(6, objectRef=ref("pods/exec")),  # a resource spelled with its subresource: the filter takes it too
        event(7, objectRef=ref("secrets", "exec")),  # the subresource, on another resource
        event(8, objectRef=None, requestURI="/healthz"),
        event(9, objectRef=ref("pods", "status"), userAgent='kubectl "exec"'),
        event(10, level="Request", objectRef=ref("subjectaccessreviews"), requestObject=other),  # a look-alike
        event(11, objectRef=ref("pods", "attach"), responseStatus={"metadata": {}, "status": "Failure", "code": 403}),
        event(12, objectRef=ref("configmaps"), annotations={"note": 'resource"'}),  # the key's text in a value
    ]
    text = "".join(go_json(item) + "\n" for item in events)
    text += go_json(event(13, objectRef=ref("pods", "portforward")), separators=(", ", ": ")) + "\n"  # spaced
    text += go_json(event(14, objectRef=ref("pods", "proxy"))).replace('"proxy"', '"\\u0070roxy"') + "\n"  # escaped
    text += "junk that no filter could match\n"
    path = tmp_path / "audit.log"
    path.write_text(text, encoding="utf-8")
    for resources in (EXEC, ["pods"], ["pods/exec"], ["exec"], ["nodes", "pods/attach"], ["subjectaccessreviews"]):
        probed, parsed = read(path, resources=resources), read(path, probe=False, resources=resources)
        assert probed["events"] == parsed["events"], resources
        assert probed["stats"]["lines"] == parsed["stats"]["lines"] == 15
    assert ids(read(path, resources=EXEC)) == ["002", "004", "005", "006", "011", "013", "014"]


def test_the_resources_filter_examines_only_the_lines_that_may_match_as_look_ups_do(tmp_path):
    path = tmp_path / "audit.log"
    path.write_text(
        "".join(go_json(event(n, objectRef=ref("pods", "exec" if n == 7 else None))) + "\n" for n in range(20))
        + "junk\n",
        encoding="utf-8",
    )
    result = al.read_audit_log(str(path), event_filter=al.EventFilter(resources=["pods/exec"]), output="events")
    assert ids(result) == ["007"]
    assert result["stats"]["lines"] == 21
    assert result["stats"]["examined"] == 1
    assert result["stats"]["skipped"]["malformed"] == 0  # the junk line was not looked at
    every = al.read_audit_log(str(path), event_filter=al.EventFilter(resources=["caf\u00e9"]), output="events")
    assert every["stats"]["examined"] == 21  # no probe: every line parsed
    assert every["stats"]["skipped"]["malformed"] == 1


@pytest.mark.parametrize("block_size", [1, 7, 64, 333, 4096])
def test_the_resources_filter_does_not_depend_on_block_boundaries(tmp_path, monkeypatch, block_size):
    events = [event(n, objectRef=ref("pods", ["exec", "log", None][n % 3])) for n in range(30)]
    path = tmp_path / "audit.log"
    path.write_text("".join(go_json(item) + "\n" for item in events) + go_json(event(99))[:80], encoding="utf-8")
    expected = read(path, resources=EXEC)
    monkeypatch.setattr(al, "BLOCK_SIZE", block_size)
    result = read(path, resources=EXEC)
    assert result["events"] == expected["events"]
    assert ids(result) == [f"{n:03d}" for n in range(0, 30, 3)]
    assert result["stats"]["lines"] == 31
    assert result["problems"] == []  # the cut last line holds no resource: not looked at


def test_a_line_torn_after_its_head_is_left_to_json_which_keeps_the_event_after_it(tmp_path):
    # The head is event 2's, the end event 3's: read fast, the pieces would make one wrong event.
    torn = go_json(event(2))[:-30] + go_json(event(3))
    path = tmp_path / "audit.log"
    path.write_text("".join(line + "\n" for line in [go_json(event(1)), torn, go_json(event(4))]), encoding="utf-8")
    result = read(path)
    assert ids(result) == ["001", "003", "004"]
    assert [(p["kind"], p["line"]) for p in result["problems"]] == [("truncated", 2)]


# --- streams --------------------------------------------------------------------------------------------------


class ShortReads:
    """A stream that hands over at most ``most`` bytes a read."""

    def __init__(self, data, most):
        self._data, self._position, self._most = data, 0, most

    def read(self, size):
        piece = self._data[self._position : self._position + min(self._most, size)]
        self._position += len(piece)
        return piece


@pytest.mark.parametrize("most", [1, 13, 500, 1 << 20])
@pytest.mark.parametrize("filters", [{}, {"audit_id": "00000000-0000-4000-8000-000000000004"}, {"resources": EXEC}])
def test_short_reads_read_the_same(most, filters):
    events = [event(n, objectRef=ref("pods", "exec" if n % 4 == 0 else None)) for n in range(12)]
    data = ("".join(go_json(item) + "\n" for item in events) + "junk\n" + go_json(event(12))).encode()
    stats = al.ScanStats()
    found = list(al.scan_stream(ShortReads(data, most), "x.log", al.EventFilter(**filters), stats))
    expected = [
        item["auditID"]
        for item in [*events, event(12)]
        if al.EventFilter(**filters).matches(al.AuditRecord.from_event(item, go_json(item)))
    ]
    assert [record.audit_id for record in found] == expected
    assert (stats.lines, stats.bytes) == (14, len(data))


# --- the fast path's regexes ----------------------------------------------------------------------------------

ODD_STRINGS = [
    "ends with a backslash \\",
    "ends with two backslashes \\\\",
    'holds a "quote"',
    'ends with a quote "',
    "holds \\u0026 as text",
    "a & b < c > d",
    "tab\tand newline\n",
    "caf\u00e9 \U0001f600",
    "",
]


@pytest.mark.parametrize("value", ODD_STRINGS)
@pytest.mark.parametrize("field", ["auditID", "requestURI", "verb", "username"])
def test_the_head_reads_every_string_as_json_reads_it(field, value):
    body = event(1, user={"username": value, "groups": []}) if field == "username" else event(1, **{field: value})
    line = go_json(body)
    record = al._fast_record(line)
    assert record is not None
    assert (record.audit_id, record.request_uri, record.verb, record.username) == (
        body["auditID"],
        body["requestURI"],
        body["verb"],
        body["user"]["username"],
    )
    if "\\" not in line.split('"user":')[0] + line.split('"username":')[1].split(",")[0]:
        assert al._EVENT_HEAD_PLAIN.match(line) is not None  # the fast regex took it


@pytest.mark.parametrize(
    "raw",
    ["a\\u0026b", "\\u003cx\\u003e", "\\\\u0026", "\\\\\\u0026", "x\\n\\u0026", '\\"\\u0026', "\\u00e9\\u0026", "\\/"],
)
def test_escapes_decode_as_json_decodes_them(raw):
    assert al._decode(raw) == json.loads('"' + raw + '"')


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"responseStatus": {"metadata": {}, "code": 201}},
        {"responseStatus": {"metadata": {}, "code": 1000}},  # four digits: not the usual end, the walk reads it
        {"requestReceivedTimestamp": "2026-11-20T10:00:01.0001Z"},  # shorter: the usual end is not where looked for
        {"annotations": None},
        {"annotations": {"stageTimestamp": "1999-01-01T00:00:00.000000Z"}},
        {"responseStatus": {"metadata": {}, "status": "Failure", "reason": "NotFound", "code": 404}},
    ],
)
def test_the_usual_end_reads_as_json_reads_it(fields):
    body = event(1, **fields)
    line = go_json(body)
    record = al._fast_record(line)
    assert record is not None
    assert (record.code, record.stage_timestamp) == (body["responseStatus"]["code"], body["stageTimestamp"])
    assert record.object_ref() == body["objectRef"]

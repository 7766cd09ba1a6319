"""module_utils.audit_log: peak memory of a read stays bounded whatever the lines, measured on a child process.

Each read runs in a child process started by a small launcher, which reports the child's peak RSS from wait4's
rusage. Not straight from this process: on Linux a child's ru_maxrss counts the peak of the process that spawned
it (exec keeps it), and pytest's own peak would hide the reader's.
"""

import json
import os
import subprocess
import sys
import zlib

import pytest

RSS_BOUND_MB = 100
MIB = 1 << 20
COLLECTIONS = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", ".tmp", "collections"))
MODULE = "ansible_collections.nnf.kube_audit.plugins.modules.audit_log_info"

LAUNCHER = r"""
import json, os, sys
out, argv = sys.argv[1], sys.argv[2:]
fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=[(os.POSIX_SPAWN_DUP2, fd, 1)])
_, status, usage = os.wait4(pid, 0)
print(json.dumps({"exit": os.waitstatus_to_exitcode(status), "rss_kib": usage.ru_maxrss}))
"""

# The reader alone (standard library and the collection's _errors), with the module's defaults.
READER = r"""
import json, sys
from ansible_collections.nnf.kube_audit.plugins.module_utils import audit_log as al
filters = json.loads(sys.argv[3])
result = al.read_audit_log(sys.argv[1], output=sys.argv[2], event_filter=al.EventFilter(**filters))
print(json.dumps(result))
"""


def peak(argv, tmp_path, env=None):
    """Run argv through the launcher: (its result as JSON from its standard output, its peak RSS in MB)."""
    out = tmp_path / "child.out"
    completed = subprocess.run(
        [sys.executable, "-S", "-c", LAUNCHER, str(out), *argv],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    usage = json.loads(completed.stdout)
    text = out.read_text()
    assert usage["exit"] == 0, completed.stderr[-3000:] + text[-3000:]
    return json.loads(text), usage["rss_kib"] / 1024.0


def read_in_child(path, tmp_path, output="summary", **filters):
    env = dict(os.environ, PYTHONPATH=COLLECTIONS)
    return peak([sys.executable, "-c", READER, str(path), output, json.dumps(filters)], tmp_path, env=env)


def event_line(n, **fields):
    body = {
        "kind": "Event",
        "apiVersion": "audit.k8s.io/v1",
        "level": "Metadata",
        "auditID": f"00000000-0000-4000-8000-{n:012d}",
        "stage": "ResponseComplete",
        "requestURI": f"/api/v1/namespaces/default/configmaps/c{n}",
        "verb": "update",
        "user": {"username": "system:admin", "groups": ["system:masters"]},
        "sourceIPs": ["10.0.0.1"],
        "userAgent": "kubectl/v1.30.0",
        "objectRef": {"resource": "configmaps", "namespace": "default", "name": f"c{n}", "apiVersion": "v1"},
        "responseStatus": {"metadata": {}, "code": 200},
    }
    body.update(fields)
    body["requestReceivedTimestamp"] = f"2026-11-20T10:00:{n % 60:02d}.000100Z"
    body["stageTimestamp"] = f"2026-11-20T10:00:{n % 60:02d}.000200Z"
    return json.dumps(body, separators=(",", ":")).encode()


def repeated(byte, size):
    """``size`` bytes of ``byte``, in pieces of at most 1 MiB: writing them costs this process no memory."""
    piece = byte * MIB
    for _piece in range(size // MIB):
        yield piece
    yield byte * (size % MIB)


def big_event(n, size):
    """A RequestResponse event of ``size`` bytes (a large object in it), as pieces."""
    head = event_line(n, level="RequestResponse", requestObject={"data": ""})
    cut = head.index(b'"data":""') + len(b'"data":"')
    yield head[:cut]
    yield from repeated(b"x", size - len(head))
    yield head[cut:]


def write(path, *parts, gz=False):
    """Write bytes and iterables of bytes to ``path``, gzip-compressed when asked."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS) if gz else None
    with open(path, "wb") as handle:
        for part in parts:
            for piece in [part] if isinstance(part, bytes) else part:
                handle.write(compressor.compress(piece) if compressor else piece)
        if compressor:
            handle.write(compressor.flush())
    return path


@pytest.fixture
def logdir(tmp_path):
    yield tmp_path
    for name in os.listdir(tmp_path):  # hundreds of MB: not kept among pytest's last runs
        os.remove(tmp_path / name)


def check(result, rss, **skipped):
    assert rss < RSS_BOUND_MB, f"peak RSS {rss:.0f} MB"
    wanted = dict.fromkeys(("legacy", "malformed", "truncated", "oversized", "unreadable_files"), 0)
    wanted.update(skipped)
    assert result["stats"]["skipped"] == wanted


def test_a_100_mb_line_without_newline(logdir):
    current = write(logdir / "kube-apiserver-audit.log", event_line(1) + b"\n", repeated(b"x", 100 * MIB))
    result, rss = read_in_child(current, logdir)
    check(result, rss, oversized=1)
    assert [e["auditID"][-1] for e in result["events"]] == ["1"]
    assert result["problems"][0]["line"] == 2


def test_a_long_line_in_the_middle_holding_the_looked_up_id(logdir):
    wanted = "00000000-0000-4000-8000-000000000002"
    current = write(
        logdir / "kube-apiserver-audit.log",
        event_line(1) + b"\n",
        repeated(b"y", 64 * MIB),
        b'"' + wanted.encode() + b'"\n',
        event_line(2) + b"\n",
    )
    result, rss = read_in_child(current, logdir, output="events", audit_id=wanted)
    check(result, rss, oversized=1)
    assert [e["auditID"] for e in result["events"]] == [wanted]
    assert result["oversized_matches"] == [{"path": str(current), "line": 2, "bytes": 64 * MIB + 38}]


def test_a_long_line_in_a_gz_member(logdir):
    write(
        logdir / "kube-apiserver-audit-2026-11-20T09-00-00.000.log.gz",
        event_line(1) + b"\n",
        repeated(b"z", 64 * MIB),
        b"\n" + event_line(2) + b"\n",
        gz=True,
    )
    current = write(logdir / "kube-apiserver-audit.log", event_line(3) + b"\n")
    result, rss = read_in_child(current, logdir)
    check(result, rss, oversized=1)
    assert [e["auditID"][-1] for e in result["events"]] == ["1", "2", "3"]


def test_a_gz_bomb_of_nul_bytes(logdir):
    bomb = write(logdir / "kube-apiserver-audit-2026-11-20T09-00-00.000.log.gz", repeated(b"\0", 300 * MIB), gz=True)
    assert bomb.stat().st_size < MIB
    current = write(logdir / "kube-apiserver-audit.log", event_line(3) + b"\n")
    result, rss = read_in_child(current, logdir, output="counts")
    check(result, rss, oversized=1)
    assert result["stats"]["matched"] == 1
    assert result["files"][0]["bytes"] == 300 * MIB


def test_many_lines_over_the_cap(logdir):
    parts = []
    for n in range(3):
        parts += [event_line(n) + b"\n", repeated(b"w", 40 * MIB), b"\n"]
    current = write(logdir / "kube-apiserver-audit.log", *parts)
    result, rss = read_in_child(current, logdir, output="counts")
    check(result, rss, oversized=3)
    assert result["stats"]["matched"] == 3


def test_many_matching_events_just_under_the_cap_in_a_summary(logdir):
    # Each is read (16 MiB is the default cap); the summary of the newest 1000 must not keep their lines.
    parts = []
    for n in range(7):
        parts += [big_event(n, 15 * MIB), b"\n"]
    current = write(logdir / "kube-apiserver-audit.log", *parts)
    result, rss = read_in_child(current, logdir)
    check(result, rss)
    assert [e["auditID"][-1] for e in result["events"]] == [str(n) for n in range(7)]


def old_event(n, size, extra):
    """An audit.k8s.io/v1beta1 event (read by json.loads, not the fast path) of ``size`` bytes holding ``extra``."""
    head = event_line(n, apiVersion="audit.k8s.io/v1beta1", level="RequestResponse", requestObject={"data": ""})
    cut = head.index(b'"data":""') + len(b'"data":"')
    yield head[:cut]
    yield extra
    yield from repeated(b"x", size - len(head) - len(extra))
    yield head[cut:]


@pytest.mark.parametrize(
    ("size", "extra", "oversized"),
    [
        (16 * MIB, b"\xff", 0),  # invalid UTF-8 becomes U+FFFD: 2 bytes a character
        (8 * MIB, "\U0001f600".encode(), 0),  # 4 bytes a character, up to half the cap
        (16 * MIB, "\U0001f600".encode(), 2),  # beyond half the cap: not read
    ],
)
def test_the_widest_texts_under_the_cap(logdir, size, extra, oversized):
    current = write(logdir / "kube-apiserver-audit.log", *old_event(1, size, extra), b"\n", *old_event(2, size, extra))
    result, rss = read_in_child(current, logdir, output="counts")
    check(result, rss, oversized=oversized)
    assert result["stats"]["matched"] == 2 - oversized


def test_the_module_as_ansible_runs_it_on_a_gz_bomb(logdir):
    write(logdir / "kube-apiserver-audit-2026-11-20T09-00-00.000.log.gz", repeated(b"\0", 300 * MIB), gz=True)
    current = write(logdir / "kube-apiserver-audit.log", event_line(3) + b"\n")
    args = logdir / "args.json"
    args.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": {"path": str(current)}}))
    env = dict(os.environ, PYTHONPATH=COLLECTIONS)
    result, rss = peak([sys.executable, "-m", MODULE, str(args)], logdir, env=env)
    assert "failed" not in result, result.get("msg")
    check(result, rss, oversized=1)
    assert [e["auditID"][-1] for e in result["events"]] == ["3"]

# Copyright: (c) 2026, NNF kube_audit maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark the audit log reader against jq on a generated log, in one run.

    python tests/bench/bench_log.py --size 1G [--repeat 2] [--strict]
    python tests/bench/bench_log.py --clean

Generates a realistic audit.k8s.io/v1 log of the given size under .tmp/bench/<size>/ (kept and reused; --clean
deletes it), checks on a sample that our output equals jq's, then times each scenario against the jq command of
the seed procedure, both reading the same file from the page cache and writing to /dev/null:

* one event by auditID: ``jq -c 'select(.auditID=="...")'`` (target: 10x faster), and against the floor of any
  reader, ``grep -F -c <id>`` (target: the reader's own time, the read without the interpreter's start and imports,
  at most 1.5x grep's; the whole process's ratio is shown too);
* the seed's summary of every event: ``jq -c '[.auditID,.verb,...]'`` (target: 3x faster);
* the exec recipe (``recipe=exec``: pods/exec, pods/attach, pods/portforward, pods/proxy, services/proxy,
  nodes/proxy of the core group), against the equivalent ``jq -c 'select(...)'`` (target: 5x faster);
* one service account's events, the module's default read and counts, for information.

Every command runs in a child process, ours and jq's in turn; wait4's rusage gives its CPU time and peak RSS
(the bound: 100 MB for ours). The table shows wall and CPU times; the targets are judged on CPU time, which is
the wall time these single-threaded reads would take on an idle machine, without the waits for a core that a
shared machine adds.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
# The collection importable as ansible_collections.nnf.kube_audit (as the unit tests and `make collection` link it).
COLLECTIONS = os.path.join(REPO, ".tmp", "collections")
BENCH_DIR = os.path.join(REPO, ".tmp", "bench")
JQ = shutil.which("jq") or "/usr/bin/jq"
SUMMARY_JQ = "[.auditID,.verb,.requestURI,.user.username,.responseStatus.code,.stageTimestamp]"
SERVICE_ACCOUNT = "system:serviceaccount:nnf-system:nnf-clientmount"
GREP = shutil.which("grep") or "/usr/bin/grep"
# The exec recipe (audit_log_info's recipe=exec): requests that run commands in, attach to, forward ports of or
# proxy to pods, services and nodes of the core group, and jq's select() of the same events.
EXEC_JQ = (
    'select((.objectRef.apiGroup // "") == "" and (.objectRef.resource as $r | .objectRef.subresource as $s'
    ' | ($r == "pods" and ($s == "exec" or $s == "attach" or $s == "portforward" or $s == "proxy"))'
    ' or (($r == "services" or $r == "nodes") and $s == "proxy")))'
)
RSS_LIMIT_MB = 100
GREP_TARGET = 1.5  # the auditID look-up: the reader's own CPU time at most this many times grep -F -c's

sys.path.insert(0, HERE)
import generate_audit_log  # noqa: E402  (next to this file)

# Run in a child: import audit_log (standard library and the collection's _errors) and jq_summary from the
# collection directory given, do one job, print a JSON result.
CHILD = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
from ansible_collections.nnf.kube_audit.plugins.module_utils import audit_log as al
from ansible_collections.nnf.kube_audit.tests.bench import jq_summary
job, path, arg = sys.argv[2], sys.argv[3], sys.argv[4]
started = time.process_time()  # the reader's own CPU time: without the interpreter's start and the imports
if job == "summary":  # the seed's summary of every event, written like jq -c writes it
    reader = al.AuditLogReader(path, rotated=False)
    summary_json = jq_summary.summary_json
    with open(arg, "w", encoding="utf-8") as out:
        write = out.write
        for record in reader.records():
            write(summary_json(record) + "\n")
    result = {"matched": reader.stats.matched}
elif job == "audit_id":  # whole events, as jq select() prints them
    reader = al.AuditLogReader(path, rotated=False, event_filter=al.EventFilter(audit_id=arg))
    result = {"matched": reader.stats.matched, "events": [r.event() for r in reader.records()]}
elif job in ("user", "recipe"):  # whole lines, to /dev/null or to the file given after a '>'
    arg, _, out_path = arg.partition(">")
    if job == "user":
        event_filter = al.EventFilter(user=arg)
    else:
        event_filter = al.EventFilter(recipe=arg)
    reader = al.AuditLogReader(path, rotated=False, event_filter=event_filter)
    with open(out_path or "/dev/null", "w", encoding="utf-8") as out:
        for record in reader.records():
            out.write(record.line + "\n")
    result = {"matched": reader.stats.matched}
elif job in ("module-events", "module-counts"):  # what the module does, with its default limit
    read = al.read_audit_log(path, output=job[7:], limit=int(arg))
    result = {"matched": read["stats"]["matched"], "returned": read["stats"]["returned"]}
else:
    raise SystemExit("unknown job " + job)
result["reader_cpu"] = time.process_time() - started
print(json.dumps(result))
"""


# Every timed command is started by this small launcher, not by the benchmark itself: a child started with
# posix_spawn or vfork inherits, in its peak RSS, the peak of the process that spawned it, and the benchmark's own
# peak (generating, checking) would hide the children's. The launcher's own peak (a bare interpreter, some 8 MB)
# is the floor of every figure.
LAUNCHER = r"""
import json, os, sys, time
out, argv = sys.argv[1], sys.argv[2:]
fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
started = time.perf_counter()
pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=[(os.POSIX_SPAWN_DUP2, fd, 1)])
_, status, usage = os.wait4(pid, 0)  # wait4, not waitpid: it returns the child's resource usage too
seconds = time.perf_counter() - started
code, cpu = os.waitstatus_to_exitcode(status), usage.ru_utime + usage.ru_stime
print(json.dumps({"seconds": seconds, "cpu": cpu, "rss_kib": usage.ru_maxrss, "exit": code}))
"""


class Run:
    """One timed command: wall seconds, CPU seconds (user + system) and peak RSS in MiB.

    ``own_cpu``: for ours, the CPU time of the read itself, as the child measured it (without the interpreter's
    start and the imports, some 0.04 s); None for the other commands.
    """

    def __init__(self, seconds, cpu, rss, own_cpu=None):
        self.seconds, self.cpu, self.rss, self.own_cpu = seconds, cpu, rss, own_cpu

    @staticmethod
    def best(runs):
        """The fastest wall and CPU times of several runs (slower ones measured the neighbours), the highest RSS."""
        own = [r.own_cpu for r in runs if r.own_cpu is not None]
        return Run(
            min(r.seconds for r in runs), min(r.cpu for r in runs), max(r.rss for r in runs), min(own) if own else None
        )


def run_child(argv, output=os.devnull):
    """Run argv with its standard output in ``output``."""
    completed = subprocess.run(
        [sys.executable, "-S", "-c", LAUNCHER, output, *argv], capture_output=True, text=True, check=False
    )
    if completed.returncode != 0 or not completed.stdout.strip():
        raise SystemExit(f"launcher failed: {completed.stderr[-2000:]}")
    result = json.loads(completed.stdout)
    if result["exit"] != 0:
        raise SystemExit(f"{' '.join(argv[:3])}... exited with {result['exit']}: {completed.stderr[-2000:]}")
    return Run(result["seconds"], result["cpu"], result["rss_kib"] / 1024.0)


def ours(job, path, arg, output):
    """Our reader in a child; ``output`` receives its JSON result, which holds the read's own CPU time."""
    run = run_child([sys.executable, "-c", CHILD, COLLECTIONS, job, path, str(arg)], output)
    with open(output, encoding="utf-8") as handle:
        run.own_cpu = json.load(handle)["reader_cpu"]
    return run


def jq(program, path, output=os.devnull):
    return run_child([JQ, "-c", program, path], output)


def grep(needle, path, output):
    """grep -F -c: the floor of a look-up, a raw search for the text that counts the lines holding it.

    Its count goes to a file: GNU grep that writes to /dev/null stops at the first match, as -q does.
    """
    return run_child([GREP, "-F", "-c", needle, path], output)


def link_collection():
    """Make COLLECTIONS/ansible_collections/nnf/kube_audit point at this checkout, if it does not yet."""
    link = os.path.join(COLLECTIONS, "ansible_collections", "nnf", "kube_audit")
    if not os.path.lexists(link):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(REPO, link)


def prepare(size_text):
    size = generate_audit_log.parse_size(size_text)
    directory = os.path.join(BENCH_DIR, size_text)
    path = os.path.join(directory, "kube-apiserver-audit.log")
    meta_path = os.path.join(directory, "meta.json")
    if os.path.exists(path) and os.path.exists(meta_path):
        with open(meta_path, encoding="utf-8") as handle:
            meta = json.load(handle)
        if meta.get("bytes") == os.path.getsize(path):
            print(f"reusing {path} ({meta['events']} events, {meta['bytes'] / 2**20:.0f} MiB)")
            return path, meta
    print(f"generating {path} ({size_text})...", flush=True)
    started = time.perf_counter()
    meta = generate_audit_log.write_log(path, size)
    with open(meta_path, "w", encoding="utf-8") as handle:
        json.dump(meta, handle)
    print(f"  {meta['events']} events in {time.perf_counter() - started:.0f} s")
    return path, meta


def warm(path):
    """Read the file once so that every timed reader finds it in the page cache."""
    with open(path, "rb") as handle:
        while handle.read(16 << 20):
            pass


def check_equal_output(path, sample_lines):
    """Our summary and our auditID look-up must equal jq's on a sample of the log."""
    directory = os.path.dirname(path)
    sample, mine_out, jq_out = (os.path.join(directory, name) for name in ("sample.log", "sample.ours", "sample.jq"))
    with open(path, "rb") as source, open(sample, "wb") as target:
        for _line in range(sample_lines):
            target.write(source.readline())

    def load(name):
        with open(name, encoding="utf-8") as handle:
            return [json.loads(line) for line in handle]

    ours("summary", sample, mine_out, jq_out)  # its lines in mine_out; its result, unused, where jq's go next
    jq(SUMMARY_JQ, sample, jq_out)
    mine, theirs = load(mine_out), load(jq_out)
    if mine != theirs or len(mine) != sample_lines:
        first = next((n for n, (a, b) in enumerate(zip(mine, theirs)) if a != b), min(len(mine), len(theirs)))
        raise SystemExit(f"our summary differs from jq's at sample line {first + 1}")
    wanted = load(sample)[sample_lines // 2]["auditID"]
    ours("audit_id", sample, wanted, mine_out)
    jq(f'select(.auditID=="{wanted}")', sample, jq_out)
    found = load(mine_out)[0]["events"]
    if not found or found != load(jq_out):
        raise SystemExit("our auditID look-up differs from jq's")
    lines_out = os.path.join(directory, "sample.lines")
    ours("recipe", sample, "exec>" + lines_out, mine_out)
    jq(EXEC_JQ, sample, jq_out)
    found = load(lines_out)
    if not found or found != load(jq_out) or load(mine_out)[0]["matched"] != len(found):
        raise SystemExit(f"our exec recipe differs from jq's ({len(found)} events, jq {len(load(jq_out))})")
    os.remove(lines_out)
    for name in (sample, mine_out, jq_out):
        os.remove(name)
    print(
        f"output check: the summary, the auditID look-up and the exec recipe ({len(found)} events) equal jq's "
        f"on the first {sample_lines} lines"
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="1G", help="log size: 1G (default), 200M, 64M...")
    parser.add_argument("--repeat", type=int, default=1, help="runs per command, the fastest counts (default 1)")
    parser.add_argument("--sample-lines", type=int, default=20000, help="lines compared with jq (default 20000)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--clean", action="store_true", help=f"delete {BENCH_DIR} and exit")
    args = parser.parse_args(argv)
    if args.clean:
        shutil.rmtree(BENCH_DIR, ignore_errors=True)
        print(f"removed {BENCH_DIR}")
        return 0
    if not os.path.exists(JQ):
        raise SystemExit("jq is needed: apt-get install jq")

    link_collection()
    path, meta = prepare(args.size)
    warm(path)
    check_equal_output(path, args.sample_lines)
    wanted = meta["sample_ids"][len(meta["sample_ids"]) // 2]  # an event in the middle of the file
    jq_version = subprocess.run([JQ, "--version"], capture_output=True, text=True, check=False).stdout.strip()
    python = sys.version.split()[0]
    print(f"timing on {meta['events']} events, {meta['bytes'] / 2**20:.0f} MiB; {jq_version}; Python {python}")

    # Each scenario alternates ours, jq and grep, so that all meet the same neighbours on this shared machine.
    scenarios = [  # name, our job and its argument, jq program, jq target (ours >= Nx faster), grep needle
        ("one event by auditID", ("audit_id", wanted), f'select(.auditID=="{wanted}")', 10.0, wanted),
        ("summary of all events", ("summary", os.devnull), SUMMARY_JQ, 3.0, None),
        ("exec recipe", ("recipe", "exec"), EXEC_JQ, 5.0, None),
        ("one service account", ("user", SERVICE_ACCOUNT), f'select(.user.username=="{SERVICE_ACCOUNT}")', None, None),
        ("module read, newest 1000 events", ("module-events", 1000), None, None, None),
        ("module counts", ("module-counts", 0), None, None, None),
    ]
    rows = []  # (scenario, our Run, jq Run or None, jq target or None, grep Run or None)
    found = os.path.join(os.path.dirname(path), "found.json")
    counted = os.path.join(os.path.dirname(path), "grep.out")
    for name, (job, arg), program, target, needle in scenarios:
        mine_runs, jq_runs, grep_runs = [], [], []
        for _round in range(args.repeat):
            mine_runs.append(ours(job, path, arg, found))
            if program:
                jq_runs.append(jq(program, path))
            if needle:
                grep_runs.append(grep(needle, path, counted))
        if job == "audit_id":
            with open(found, encoding="utf-8") as handle:
                if not json.load(handle)["events"]:
                    raise SystemExit(f"auditID {wanted} not found")
        if needle:
            with open(counted, encoding="utf-8") as handle:
                if int(handle.read()) < 1:
                    raise SystemExit(f"grep did not find {needle}")
        mine = Run.best(mine_runs)
        theirs = Run.best(jq_runs) if jq_runs else None
        floor = Run.best(grep_runs) if grep_runs else None
        rows.append((name, mine, theirs, target, floor))
        print(
            f"  {name}: ours {mine.seconds:.2f} s"
            + (f", jq {theirs.seconds:.2f} s" if theirs else "")
            + (f", grep -F -c {floor.seconds:.2f} s" if floor else ""),
            flush=True,
        )
    os.remove(found)
    if os.path.exists(counted):
        os.remove(counted)

    # The verdict is on CPU time: on an idle machine it is the wall time of these single-threaded, page-cached
    # reads, and on a shared one it does not count the time spent waiting for a core.
    missed, verdicts = [], []
    header = (
        f"{'scenario':32} {'ours':>8} {'jq':>8} {'ratio':>6}   {'ours cpu':>8} {'jq cpu':>8} {'ratio':>6}"
        f" {'target':>6}  {'peak RSS ours/jq':>16}"
    )
    print()
    print(header)
    print("-" * len(header))
    for name, mine, theirs, target, floor in rows:
        if theirs:
            wall = f"{theirs.seconds:6.2f} s {theirs.seconds / mine.seconds:5.1f}x"
            cpu = f"{theirs.cpu:6.2f} s {theirs.cpu / mine.cpu:5.1f}x"
            rss = f"{mine.rss:6.0f} / {theirs.rss:.0f} MB"
        else:
            wall, cpu, rss = f"{'-':>8} {'-':>6}", f"{'-':>8} {'-':>6}", f"{mine.rss:6.0f} MB"
        goal = f">={target:g}x" if target else "-"
        print(f"{name:32} {mine.seconds:6.2f} s {wall}   {mine.cpu:6.2f} s {cpu} {goal:>6}  {rss:>16}")
        if floor:  # grep is the faster one here: the ratio is ours over grep's
            wall = f"{floor.seconds:6.2f} s {mine.seconds / floor.seconds:5.2f}x"
            cpu = f"{floor.cpu:6.2f} s {mine.cpu / floor.cpu:5.2f}x"
            goal = f"<={GREP_TARGET:g}x"
            label = "  process / grep -F -c"
            print(f"{label:32} {mine.seconds:6.2f} s {wall}   {mine.cpu:6.2f} s {cpu}   info  {floor.rss:10.0f} MB")
            label, own = "  reader's own / grep -F -c", mine.own_cpu
            print(f"{label:32} {'':26}   {own:6.2f} s {floor.cpu:6.2f} s {own / floor.cpu:5.2f}x {goal:>6}")
        if target:
            ratio = theirs.cpu / mine.cpu
            verdicts.append((f"{name}: jq / ours", ratio, f">= {target:g}x", ratio >= target))
        if floor:  # the reader's own time, as the target is set (the interpreter's start is not the reader's)
            ratio = mine.own_cpu / floor.cpu
            verdicts.append((f"{name}: reader / grep -F -c", ratio, f"<= {GREP_TARGET:g}x", ratio <= GREP_TARGET))
        verdicts.append((f"{name}: peak RSS ours", mine.rss, f"< {RSS_LIMIT_MB} MB", mine.rss < RSS_LIMIT_MB))
    print()
    print("targets, on CPU time:")
    for label, value, goal, met in verdicts:
        shown = f"{value:.0f} MB" if label.endswith("RSS ours") else f"{value:.2f}x"
        if not label.endswith("RSS ours") or not met:
            print(f"  {label:50} {shown:>8}   target {goal:8} {'met' if met else 'MISSED'}")
        if not met:
            missed.append(f"{label} {shown}, target {goal}")
    print()
    print("MISSED: " + "; ".join(missed) if missed else f"all targets met; peak RSS of ours under {RSS_LIMIT_MB} MB")
    return 1 if missed and args.strict else 0


if __name__ == "__main__":
    sys.exit(main())

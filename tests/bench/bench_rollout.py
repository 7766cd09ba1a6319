# Copyright: (c) 2026, NNF kube_audit maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a no-op rerun of enable_audit costs, against ``ansible -m ping`` on the same three test masters.

Starts three test masters (tests/testhosts), runs enable_audit once (the full run, timed), then alternates
``ansible all -m ping`` and a rerun of ``ansible-playbook nnf.kube_audit.enable_audit`` ``--rounds`` times, with
the same ansible.cfg (pipelining, SSH ControlPersist), and compares the medians. The reruns must report
``changed=0`` and must not restart any kube-apiserver (checked with the kubelet stand-ins' status). The target is
a no-op rerun costing at most 2x ping; the exit status is 1 when it is missed or a rerun was not a no-op.

Usage: ``python tests/bench/bench_rollout.py [--rounds 5] [--keep]`` (root, project venv; ``make bench``).
"""

import argparse
import contextlib
import json
import os
import re
import statistics
import subprocess
import sys
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.path.dirname(sys.executable)
TESTHOSTS = os.path.join(REPO, "tests", "testhosts", "testhosts.py")
RUN_DIR = os.path.join(REPO, ".tmp", "testhosts", "bench")
TARGET_RATIO = 2.0
ANSIBLE_CFG = """\
[defaults]
forks = 10
host_key_checking = True
[ssh_connection]
pipelining = True
ssh_args = -C -o ControlMaster=auto -o ControlPersist=300s
"""
RECAP = re.compile(r"^(\S+)\s+: ok=\d+\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.MULTILINE)


def testhosts(*args):
    return subprocess.run(
        [sys.executable, TESTHOSTS, "--run-dir", RUN_DIR, *args], check=True, capture_output=True, text=True
    ).stdout


def apiserver_containers():
    """Each master's running kube-apiserver container, to prove a rerun restarted nothing."""
    status = json.loads(testhosts("status", "--json"))
    return {host: (report.get("apiserver") or {}).get("containerID") for host, report in status.items()}


def timed(argv, env):
    began = time.monotonic()
    completed = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    elapsed = time.monotonic() - began
    if completed.returncode != 0:
        sys.stderr.write(completed.stdout[-4000:] + completed.stderr[-4000:])
        raise SystemExit(f"bench: {' '.join(argv[:2])} failed (exit status {completed.returncode})")
    return elapsed, completed.stdout


def changed_hosts(output):
    return {host: int(changed) for host, changed, _unreachable, _failed in RECAP.findall(output) if int(changed)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--rounds", type=int, default=5, help="ping / no-op rerun pairs to time (default 5)")
    parser.add_argument("--keep", action="store_true", help="leave the test masters up afterwards")
    args = parser.parse_args()

    testhosts("up", "--hosts", "3")
    try:
        config = os.path.join(RUN_DIR, "ansible.cfg")
        with open(config, "w", encoding="utf-8") as handle:
            handle.write(ANSIBLE_CFG)
        inventory = os.path.join(RUN_DIR, "inventory.yml")
        env = dict(
            os.environ,
            ANSIBLE_CONFIG=config,
            ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, ".tmp", "collections"),
            ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false",
            ANSIBLE_DEPRECATION_WARNINGS="false",
        )
        ping = [os.path.join(BIN, "ansible"), "-i", inventory, "all", "-m", "ansible.builtin.ping"]
        enable = [os.path.join(BIN, "ansible-playbook"), "-i", inventory, "nnf.kube_audit.enable_audit"]

        timed(ping, env)  # opens the SSH master connections both kinds of run then reuse
        full, output = timed(enable, env)
        if len(changed_hosts(output)) == 0:
            raise SystemExit("bench: the first enable_audit run changed nothing: were the masters fresh?")
        before = apiserver_containers()

        pings, reruns, not_noop = [], [], []
        for _round in range(args.rounds):
            pings.append(timed(ping, env)[0])
            elapsed, output = timed(enable, env)
            reruns.append(elapsed)
            if changed_hosts(output):
                not_noop.append(changed_hosts(output))
        restarted = sorted(host for host, container in apiserver_containers().items() if container != before[host])

        ping_median, rerun_median = statistics.median(pings), statistics.median(reruns)
        ratio = rerun_median / ping_median
        print(f"full enable_audit run on 3 masters: {full:.2f} s")
        print(f"ansible -m ping:      median {ping_median:.2f} s   ({', '.join(f'{t:.2f}' for t in pings)})")
        print(f"no-op enable rerun:   median {rerun_median:.2f} s   ({', '.join(f'{t:.2f}' for t in reruns)})")
        print(f"no-op rerun / ping:   {ratio:.2f}x (target <= {TARGET_RATIO:.0f}x)")
        failures = []
        if ratio > TARGET_RATIO:
            failures.append(f"the no-op rerun costs {ratio:.2f}x ping")
        if not_noop:
            failures.append(f"reruns reported changes: {not_noop}")
        if restarted:
            failures.append(f"reruns restarted kube-apiserver on {', '.join(restarted)}")
        for failure in failures:
            print(f"bench: FAILED: {failure}")
        return 1 if failures else 0
    finally:
        if not args.keep:
            testhosts("down")
            with contextlib.suppress(FileNotFoundError):
                os.remove(os.path.join(RUN_DIR, "ansible.cfg"))
            with contextlib.suppress(OSError):
                os.rmdir(RUN_DIR)


if __name__ == "__main__":
    sys.exit(main())

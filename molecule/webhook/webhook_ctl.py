#!/usr/bin/env python
"""The webhook scenario's receiver on the controller: certificates, start, stop, and what it received.

    webhook_ctl.py DIR pki                  two CAs, each with a serving certificate for 127.0.0.1 (DIR/good, DIR/other)
    webhook_ctl.py DIR start [--status N]   start the receiver (tests/testhosts/standin/receiver.py) on 127.0.0.1,
                                            a free port, DIR/good's certificate; prints {"pid", "port", "url"}
    webhook_ctl.py DIR stop                 end the receiver this script started (by its PID, from DIR/receiver.pid)
    webhook_ctl.py DIR events               {"count", "audit_ids", "by_source": {address: count}} of DIR/events.jsonl
    webhook_ctl.py DIR send ADDRESS PORT CA one GET to a master's kube-apiserver stand-in (as an authenticating proxy
                                            sends it); prints {"status", "audit_id"}
    webhook_ctl.py DIR wait SECONDS ID...   waits until the receiver has an event of each ID; {"found", "missing"}

Only processes it started are ended; the receiver is the same program the stand-in's unit tests use.
"""

import http.client
import json
import os
import signal
import ssl
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "testhosts"))

import testhosts  # noqa: E402  (tests/testhosts: make_pki)

RECEIVER = os.path.join(REPO, "tests", "testhosts", "standin", "receiver.py")


def pki(directory):
    for name in ("good", "other"):
        if not os.path.exists(os.path.join(directory, name, "ca.crt")):
            testhosts.make_pki(os.path.join(directory, name), ["127.0.0.1"])
    return {
        "good_ca": os.path.join(directory, "good", "ca.crt"),
        "other_ca": os.path.join(directory, "other", "ca.crt"),
    }


def _read(path):
    with open(path, encoding="utf-8") as handle:
        return handle.read().strip()


def start(directory, status=200):
    """Start the receiver; on the port of its first start (the masters' kubeconfig names it), else a free one."""
    stop(directory)
    port_file = os.path.join(directory, "receiver.port")
    port = int(_read(port_file)) if os.path.exists(port_file) else 0
    pki_dir = os.path.join(directory, "good")
    command = [
        sys.executable,
        RECEIVER,
        "--listen",
        f"127.0.0.1:{port}",
        "--status",
        str(status),
        "--out",
        os.path.join(directory, "events.jsonl"),
        "--cert",
        os.path.join(pki_dir, "apiserver.crt"),
        "--key",
        os.path.join(pki_dir, "apiserver.key"),
    ]
    with open(os.path.join(directory, "receiver.log"), "ab") as log:
        for _attempt in range(50):  # the port may still be held by the receiver just stopped
            # timeout: a receiver a failed run left behind ends by itself
            process = subprocess.Popen(
                ["timeout", "1800", *command], stdout=subprocess.PIPE, stderr=log, start_new_session=True
            )
            first = process.stdout.readline().decode()
            if first.startswith("listening on "):
                break
            process.wait()
            time.sleep(0.1)
        else:
            raise SystemExit(f"the receiver did not start on 127.0.0.1:{port}: see {directory}/receiver.log")
    port = int(first.split()[-1].rsplit(":", 1)[1])
    with open(port_file, "w", encoding="utf-8") as handle:
        handle.write(str(port))
    with open(os.path.join(directory, "receiver.pid"), "w", encoding="utf-8") as handle:
        handle.write(str(process.pid))
    return {"pid": process.pid, "port": port, "url": f"https://127.0.0.1:{port}/audit"}


def stop(directory):
    pid_file = os.path.join(directory, "receiver.pid")
    if not os.path.exists(pid_file):
        return {"stopped": None}
    pid = int(_read(pid_file))
    os.unlink(pid_file)
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return {"stopped": None}
    for _attempt in range(100):
        try:
            waited, _status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:  # not our child any more (an earlier invocation started it): poll
            waited = 0
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return {"stopped": pid}
        if waited:
            return {"stopped": pid}
        time.sleep(0.05)
    return {"stopped": pid}


def events(directory):
    path = os.path.join(directory, "events.jsonl")
    lines = []
    if os.path.exists(path):
        with open(path, encoding="utf-8") as handle:
            lines = [json.loads(line) for line in handle if line.strip()]
    by_source = {}
    for line in lines:
        for address in line["event"].get("sourceIPs") or []:
            by_source[address] = by_source.get(address, 0) + 1
    return {
        "count": len(lines),
        "audit_ids": sorted({line["event"]["auditID"] for line in lines}),
        "by_source": by_source,
    }


def send(address, port, ca):
    context = ssl.create_default_context(cafile=ca)
    connection = http.client.HTTPSConnection(address, int(port), timeout=10, context=context)
    connection.putrequest("GET", "/api/v1/namespaces/default/configmaps/webhook-scenario")
    connection.putheader("X-Remote-User", "webhook-scenario")
    connection.putheader("User-Agent", "molecule-webhook")
    connection.endheaders()
    response = connection.getresponse()
    response.read()
    connection.close()
    return {"status": response.status, "audit_id": response.getheader("Audit-Id")}


def wait(directory, seconds, audit_ids):
    deadline = time.monotonic() + float(seconds)
    while True:
        received = set(events(directory)["audit_ids"])
        missing = [audit_id for audit_id in audit_ids if audit_id not in received]
        if not missing or time.monotonic() > deadline:
            return {"found": [audit_id for audit_id in audit_ids if audit_id in received], "missing": missing}
        time.sleep(0.2)


def main(argv):
    directory, command = argv[0], argv[1]
    os.makedirs(directory, mode=0o700, exist_ok=True)
    if command == "pki":
        result = pki(directory)
    elif command == "start":
        result = start(directory, int(argv[3]) if len(argv) > 3 else 200)
    elif command == "stop":
        result = stop(directory)
    elif command == "events":
        result = events(directory)
    elif command == "send":
        result = send(*argv[2:5])
    elif command == "wait":
        result = wait(directory, argv[2], argv[3:])
    else:
        raise SystemExit(__doc__)
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])

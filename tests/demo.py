# Copyright: (c) 2026, NNF kube_audit maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""``make demo``: the collection's whole story on three local test masters, in about a minute.

1. starts three test masters (tests/testhosts: namespaces with sshd, a kubelet stand-in and a kube-apiserver
   stand-in running a real kubeadm manifest);
2. runs ``ansible-playbook nnf.kube_audit.enable_audit``, one master at a time, each waited for;
3. sends a few requests to every master's kube-apiserver, as users of the NNF stack and others;
4. reads the audit logs of all masters with ``ansible-playbook nnf.kube_audit.audit_report`` and prints the NNF
   procedure's summary of each event (auditID, verb, requestURI, user, code, stageTimestamp);
5. shows every master audited with ``ansible-playbook nnf.kube_audit.audit_status`` (live flags, drift, log, CIS and
   STIG checks);
6. runs ``ansible-playbook nnf.kube_audit.disable_audit`` and shows every manifest is back to its first bytes;
7. tears the masters down (also when a step fails).

Usage: ``python tests/demo.py [--keep]`` as root with the project venv (``make demo``).
"""

import argparse
import contextlib
import hashlib
import http.client
import json
import os
import ssl
import subprocess
import sys

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
BIN = os.path.dirname(sys.executable)
TESTHOSTS = os.path.join(REPO, "tests", "testhosts", "testhosts.py")
RUN_DIR = os.path.join(REPO, ".tmp", "testhosts", "demo")
MANIFEST = "/etc/kubernetes/manifests/kube-apiserver.yaml"
ANSIBLE_CFG = """\
[defaults]
forks = 10
[ssh_connection]
pipelining = True
ssh_args = -C -o ControlMaster=auto -o ControlPersist=120s
"""
NNF_ADMIN = ("jane", ["nnf-admins", "system:authenticated"])
CLIENTMOUNT = ("system:serviceaccount:nnf-system:nnf-clientmount", ["system:serviceaccounts"])
# (user, method, path): the NNF default policy logs the first four (NNF groups) at Metadata, not the last two (core).
REQUESTS = [
    (NNF_ADMIN, "GET", "/apis/nnf.cray.hpe.com/v1alpha1/namespaces/default/nnfstorages"),
    (NNF_ADMIN, "POST", "/apis/nnf.cray.hpe.com/v1alpha1/namespaces/default/nnfstorages"),
    (CLIENTMOUNT, "GET", "/apis/dataworkflowservices.github.io/v1alpha2/namespaces/default/clientmounts/rabbit-01"),
    (CLIENTMOUNT, "PATCH", "/apis/lus.cray.hpe.com/v1beta1/namespaces/default/lustrefilesystems/lustre-1"),
    (CLIENTMOUNT, "GET", "/api/v1/namespaces/nnf-system/pods"),
    (NNF_ADMIN, "DELETE", "/api/v1/namespaces/default/configmaps/scratch"),
]


def step(title):
    print(f"\n=== {title}", flush=True)


def testhosts(*args, capture=False):
    argv = [sys.executable, TESTHOSTS, "--run-dir", RUN_DIR, *args]
    return subprocess.run(argv, check=True, text=True, capture_output=capture).stdout


def playbook(name, env, *extra):
    inventory = os.path.join(RUN_DIR, "inventory.yml")
    argv = [os.path.join(BIN, "ansible-playbook"), f"nnf.kube_audit.{name}", "-i", inventory, *extra]
    print("$ " + " ".join(["ansible-playbook", f"nnf.kube_audit.{name}", "-i", inventory, *extra]), flush=True)
    subprocess.run(argv, env=env, check=True)


def manifest_checksums():
    """Each master's kube-apiserver manifest sha256, read over ssh."""
    hosts = json.loads(testhosts("status", "--json", capture=True))
    found = {}
    for name in sorted(hosts):
        data = subprocess.run(
            [sys.executable, TESTHOSTS, "--run-dir", RUN_DIR, "ssh", name, "cat", MANIFEST],
            check=True,
            capture_output=True,
        ).stdout
        found[name] = hashlib.sha256(data).hexdigest()
    return found


def send_requests():
    with open(os.path.join(RUN_DIR, "state.json"), encoding="utf-8") as handle:
        hosts = json.load(handle)["hosts"]
    context = ssl.create_default_context(cafile=os.path.join(RUN_DIR, "pki", "ca.crt"))
    for host in hosts:
        connection = http.client.HTTPSConnection(host["address"], host["apiserver_port"], timeout=10, context=context)
        for (user, groups), method, path in REQUESTS:
            headers = {"X-Remote-User": user, "Content-Type": "application/json", "User-Agent": "make-demo"}
            connection.putrequest(method, path)
            for name, value in headers.items():
                connection.putheader(name, value)
            for group in groups:
                connection.putheader("X-Remote-Group", group)
            body = b"{}" if method in ("POST", "PATCH") else b""
            connection.putheader("Content-Length", str(len(body)))
            connection.endheaders(body)
            response = connection.getresponse()
            response.read()
            print(f"{host['name']}  {response.status}  {method:6} {path}  ({user})")
        connection.close()


def print_summary(events_file):
    """The NNF procedure's summary of each event, as its jq line prints it, from the report's JSON lines.

    jq -M '[.auditID,.verb,.requestURI,.user.username,.responseStatus.code,.stageTimestamp]' kube-apiserver-audit.log
    """
    columns = ("auditID", "verb", "requestURI", "username", "code", "stageTimestamp")
    with open(events_file, encoding="utf-8") as handle:
        rows = [[str(json.loads(line).get(column, "")) for column in columns] for line in handle]
    widths = [max(len(row[index]) for row in [list(columns), *rows]) for index in range(len(columns))]
    for row in [list(columns), *rows]:
        print("  ".join(value.ljust(width) for value, width in zip(row, widths)).rstrip())
    print(f"{len(rows)} events: the NNF groups' requests on every master; the core ones are not in the policy")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--keep", action="store_true", help="leave the test masters up at the end")
    args = parser.parse_args()
    env = dict(
        os.environ,
        ANSIBLE_CONFIG=os.path.join(RUN_DIR, "ansible.cfg"),
        ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, ".tmp", "collections"),
        ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false",
    )

    step("Starting three test masters")
    testhosts("up", "--hosts", "3")
    try:
        with open(env["ANSIBLE_CONFIG"], "w", encoding="utf-8") as handle:
            handle.write(ANSIBLE_CFG)
        before = manifest_checksums()

        step("Enabling auditing, one master at a time")
        playbook("enable_audit", env)

        step("Sending requests to every master's kube-apiserver")
        send_requests()

        step("Reading the audit logs of all masters")
        events_file = os.path.join(RUN_DIR, "audit-events.jsonl")
        playbook("audit_report", env, "-e", f"kube_audit_report_out={events_file}")
        print()
        print_summary(events_file)

        step("Is every master audited?")
        playbook("audit_status", env)

        step("Disabling auditing, one master at a time")
        playbook("disable_audit", env)
        after = manifest_checksums()
        for name in sorted(before):
            same = "back to its pre-audit bytes" if after[name] == before[name] else "DIFFERENT from before"
            print(f"{name}: {MANIFEST} is {same}")
        if after != before:
            return 1
        step("Done")
        return 0
    finally:
        if not args.keep:
            step("Tearing the test masters down")
            testhosts("down")
            for name in ("ansible.cfg", "audit-events.jsonl"):  # what the demo itself wrote there
                with contextlib.suppress(FileNotFoundError):
                    os.remove(os.path.join(RUN_DIR, name))
            with contextlib.suppress(OSError):
                os.rmdir(RUN_DIR)


if __name__ == "__main__":
    sys.exit(main())

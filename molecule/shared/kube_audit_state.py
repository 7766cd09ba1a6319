"""What the role scenarios' testinfra tests read on a test master, fetched in one command per host.

Import it from a scenario's tests with ``sys.path.insert(0, <molecule/shared>)``. ``host_state(host)`` returns the
manifests directory, the state prepare saved before the roles ran (save_pre_audit.yml), the policy file, the log
directory, the backups, the audit log, the kubelet stand-in's status and events, the running kube-apiserver process
and the host's mounts, as plain JSON values. Each call costs one ssh round trip, which is more than all the
assertions on what it returns: read it once per host (a module-scoped fixture) and again only after a change.
"""

import hashlib
import http.client
import json
import os
import shlex
import ssl
import sys

MANIFESTS = "/etc/kubernetes/manifests"
MANIFEST = f"{MANIFESTS}/kube-apiserver.yaml"
BACKUP_DIR = "/etc/kubernetes/backup"
STRAY_DIR = f"{BACKUP_DIR}/stray-manifests"
POLICY = "/etc/kubernetes/policies/audit-policy.yaml"
LOG_DIR = "/var/log/kubernetes"
AUDIT_LOG = f"{LOG_DIR}/kube-apiserver-audit.log"
CHECKSUM_ANNOTATION = "audit.nnf.cray.hpe.com/policy-checksum"
USER_AGENT = "molecule-verify"
REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PRESETS = os.path.join(REPO, "roles", "kube_audit", "files", "presets")

_COLLECT = r"""
import json, os
def text(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except OSError:
        return None
def files(directory):
    # every entry, so that a stray directory shows too: its text is None
    if not os.path.isdir(directory):
        return None
    return {name: text(os.path.join(directory, name)) for name in sorted(os.listdir(directory))}
def attributes(path):
    try:
        info = os.lstat(path)
    except OSError:
        return None
    return {"mode": info.st_mode & 0o7777, "uid": info.st_uid, "gid": info.st_gid, "dir": os.path.isdir(path)}
def process(pid):
    # what the kernel runs under the pid the kubelet stand-in reports, not what the stand-in says it runs
    if not pid:
        return None
    return {"comm": text(f"/proc/{pid}/comm"), "cmdline": text(f"/proc/{pid}/cmdline")}
def filesystems():
    # mount point -> filesystem type, in this host's mount namespace
    with open("/proc/self/mountinfo", encoding="utf-8") as handle:
        return {line.split()[4]: line.split(" - ")[1].split()[0] for line in handle}
events = text("/run/kubelet-standin/events.jsonl") or ""
status = json.loads(text("/run/kubelet-standin/status.json"))
print(json.dumps({
    "facts": json.loads(text("/etc/ansible/facts.d/testhost.fact")),
    "manifests": files(MANIFESTS),
    "pre_audit": files("/root/pre-audit/manifests"),
    "status": status,
    "apiserver_process": process((status["apiserver"] or {}).get("pid")),
    "filesystems": filesystems(),
    "status_before": json.loads(text("/root/pre-audit/status.json") or "null"),
    "events": [json.loads(line) for line in events.splitlines()],
    "policy": text(POLICY),
    "policy_attributes": attributes(POLICY),
    "policy_dir_attributes": attributes(os.path.dirname(POLICY)),
    "log_dir_attributes": attributes(LOG_DIR),
    "audit_log": text(AUDIT_LOG),
    "audit_log_attributes": attributes(AUDIT_LOG),
    "backups": files(BACKUP_DIR),
    "strays": files(STRAY_DIR),
}))
"""


def host_state(host):
    """Everything the tests look at on ``host``, read now (call it again after a change)."""
    constants = {name: globals()[name] for name in ("MANIFESTS", "POLICY", "LOG_DIR", "AUDIT_LOG", "BACKUP_DIR")}
    constants["STRAY_DIR"] = STRAY_DIR
    script = "\n".join([f"{key} = {json.dumps(value)}" for key, value in constants.items()] + [_COLLECT.strip()])
    result = host.run(f"{shlex.quote(sys.executable)} -c {shlex.quote(script)}")
    assert result.rc == 0, result.stderr
    return json.loads(result.stdout)


def preset(name):
    with open(os.path.join(PRESETS, f"{name}.yaml"), encoding="utf-8") as handle:
        return handle.read()


def sha256(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def container(pod, name="kube-apiserver"):
    return next(c for c in pod["spec"]["containers"] if c["name"] == name)


def request(facts, path, user, groups=()):
    """A request to the master's kube-apiserver stand-in as an authenticating proxy sends it; (status, audit ID)."""
    ca = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "testhosts", "pki", "ca.crt")
    context = ssl.create_default_context(cafile=ca)  # the serving certificate must be valid for the host address
    connection = http.client.HTTPSConnection(facts["address"], facts["apiserver_port"], timeout=10, context=context)
    connection.putrequest("GET", path)
    connection.putheader("X-Remote-User", user)
    connection.putheader("User-Agent", USER_AGENT)  # an empty one is left out of the event, as kube-apiserver does
    for group in groups:
        connection.putheader("X-Remote-Group", group)
    connection.endheaders()
    response = connection.getresponse()
    response.read()
    connection.close()
    return response.status, response.getheader("Audit-Id")


def audit_events(state):
    return [json.loads(line) for line in (state["audit_log"] or "").splitlines()]

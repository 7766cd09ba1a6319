"""kubelet stand-in, run in-process on a temporary manifests directory with the real kube-apiserver stand-in."""

import json
import os
import socket
import sys
import time

import pytest
import testhosts
from standin import kubelet as kubelet_module

MANIFEST = """\
apiVersion: v1
kind: Pod
metadata:
  annotations:
    kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint: 127.0.0.1:{port}
  creationTimestamp: null
  labels:
    component: kube-apiserver
    tier: control-plane
  name: kube-apiserver
  namespace: kube-system
spec:
  containers:
  - command:
    - kube-apiserver
    - --advertise-address=127.0.0.1
    - --etcd-servers=https://127.0.0.1:2379
    - --secure-port={port}
    - --tls-cert-file={pki}/apiserver.crt
    - --tls-private-key-file={pki}/apiserver.key
{extra_flags}    image: registry.k8s.io/kube-apiserver:v1.29.3
    name: kube-apiserver
    readinessProbe:
      failureThreshold: 3
      httpGet:
        host: 127.0.0.1
        path: /readyz
        port: {port}
        scheme: HTTPS
      periodSeconds: 1
    volumeMounts:
    - mountPath: {pki}
      name: k8s-certs
      readOnly: true
{extra_mounts}  hostNetwork: true
  volumes:
  - hostPath:
      path: {pki}
      type: DirectoryOrCreate
    name: k8s-certs
{extra_volumes}status: {{}}
"""

pytestmark = pytest.mark.skipif(not testhosts.shutil.which("openssl"), reason="needs openssl")


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Node:
    def __init__(self, tmp_path, pki):
        self.tmp = tmp_path
        self.pki = pki
        self.port = free_port()
        self.manifests = tmp_path / "manifests"
        self.manifests.mkdir()
        self.state = tmp_path / "state"
        self.state.mkdir()
        (self.state / "ready-delay").write_text("0.1\n")
        args = kubelet_module.parse_arguments(
            [
                "--node-name=node-1",
                "--node-address=127.0.0.1",
                f"--manifests-dir={self.manifests}",
                f"--state-dir={self.state}",
                f"--pod-log-dir={tmp_path / 'log' / 'pods'}",
                "--poll=0.05",
                "--file-check-frequency=1.0",
                "--backoff-base=0.2",
                "--backoff-max=0.8",
                f"--writable-root={tmp_path}",
                f"--python={sys.executable}",
            ]
        )
        self.kubelet = kubelet_module.Kubelet(kubelet_module.Settings(args))

    def manifest(self, extra_flags=(), extra_mounts="", extra_volumes="", port=None):
        flags = "".join(f"    - {flag}\n" for flag in extra_flags)
        return MANIFEST.format(
            port=port or self.port,
            pki=self.pki,
            extra_flags=flags,
            extra_mounts=extra_mounts,
            extra_volumes=extra_volumes,
        )

    def write(self, name, text):
        temporary = self.manifests / f".{name}.tmp"  # atomically, as the modules write manifests
        temporary.write_text(text)
        os.replace(temporary, self.manifests / name)

    def status(self):
        return json.loads((self.state / "status.json").read_text())

    def events(self, reason=None):
        path = self.state / "events.jsonl"
        found = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
        return [event for event in found if reason is None or event["reason"] == reason]

    def settle(self, until, timeout=15.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.kubelet.sync()
            self.kubelet.write_status()
            if until(self.status()):
                return self.status()
            time.sleep(0.05)
        raise AssertionError(f"kubelet stand-in did not settle: {json.dumps(self.status(), indent=1)}")

    def ready(self):
        return self.settle(lambda status: (status["apiserver"] or {}).get("ready"))

    def hold_list(self):
        """No full listing until list_now(): what follows is the watch events' doing alone."""
        self.kubelet.next_list = float("inf")

    def list_now(self):
        self.kubelet.next_list = 0.0

    def stop(self):
        if self.kubelet.pod is not None:
            self.kubelet.kill(self.kubelet.pod, "test over")


@pytest.fixture
def node(tmp_path, pki):
    made = Node(tmp_path, pki)
    yield made
    made.stop()


def comm(pid):
    with open(f"/proc/{pid}/comm", encoding="utf-8") as handle:
        return handle.read().strip()


def test_the_apiserver_pod_is_started_from_the_manifest_and_probed_ready(node):
    node.write("kube-apiserver.yaml", node.manifest())
    status = node.ready()
    apiserver = status["apiserver"]
    assert apiserver["source"] == str(node.manifests / "kube-apiserver.yaml")
    assert apiserver["state"] == "running" and apiserver["restartCount"] == 0
    assert comm(apiserver["pid"]) == "kube-apiserver"
    assert [event["reason"] for event in node.events()][-3:] == ["Pulled", "Created", "Started"]
    log = apiserver["log"]
    assert log.endswith("/kube-system_kube-apiserver-node-1_" + apiserver["uid"] + "/kube-apiserver/0.log")
    with open(log, encoding="utf-8") as handle:
        assert " stderr F " in handle.readline()


def test_a_changed_flag_restarts_the_apiserver(node):
    node.write("kube-apiserver.yaml", node.manifest())
    before = node.ready()["apiserver"]
    node.write("kube-apiserver.yaml", node.manifest(["--profiling=false"]))
    after = node.settle(lambda s: s["apiserver"]["uid"] != before["uid"] and s["apiserver"]["ready"])["apiserver"]
    assert after["pid"] != before["pid"]
    assert "--profiling=false" in after["command"]
    assert not os.path.exists(f"/proc/{before['pid']}") or comm(before["pid"]) != "kube-apiserver"
    killing = node.events("Killing")
    assert len(killing) == 1 and killing[0]["uid"] == before["uid"]


def test_an_annotation_change_alone_restarts_it_and_formatting_alone_does_not(node):
    text = node.manifest()
    node.write("kube-apiserver.yaml", text)
    first = node.ready()["apiserver"]
    reformatted = "# reformatted by hand\n" + text.replace("  - command:", "  - command:   # flags")
    node.write("kube-apiserver.yaml", reformatted)
    for _attempt in range(5):
        node.kubelet.sync()
    assert node.status()["apiserver"]["uid"] == first["uid"]
    assert node.events("Killing") == []
    annotated = text.replace("  annotations:\n", "  annotations:\n    nnf.kube_audit/policy-checksum: abc\n")
    node.write("kube-apiserver.yaml", annotated)
    second = node.settle(lambda s: s["apiserver"]["uid"] != first["uid"] and s["apiserver"]["ready"])["apiserver"]
    assert second["pid"] != first["pid"]


def test_at_start_the_file_sorted_last_wins_and_hidden_files_are_ignored(node):
    node.write("kube-apiserver.yaml", node.manifest(["--profiling=false"]))
    node.write("kube-apiserver.yaml.bak", node.manifest())
    node.write(".kube-apiserver.yaml.swp", node.manifest(["--v=9"]))
    status = node.ready()  # the first turn lists the directory
    assert status["apiserver"]["source"] == str(node.manifests / "kube-apiserver.yaml.bak")
    assert status["staticPods"] == {"kube-system/kube-apiserver": str(node.manifests / "kube-apiserver.yaml.bak")}


def test_a_written_manifest_wins_at_once_but_a_stray_sorted_after_it_takes_over_at_the_next_list(node):
    node.write("kube-apiserver.yaml.bak", node.manifest())
    first = node.ready()["apiserver"]
    node.hold_list()
    node.write("kube-apiserver.yaml", node.manifest(["--profiling=false"]))  # a watch event: this file's pod now
    main_file = str(node.manifests / "kube-apiserver.yaml")
    second = node.settle(lambda s: s["apiserver"]["source"] == main_file and s["apiserver"]["ready"])["apiserver"]
    assert "--profiling=false" in second["command"] and second["uid"] != first["uid"]
    # the periodic list sorts the files again: the backup wins and the change is undone (the kubelet's flapping)
    node.list_now()
    backup = str(node.manifests / "kube-apiserver.yaml.bak")
    status = node.settle(
        lambda s: s["podStarts"] == 3 and s["apiserver"]["source"] == backup and s["apiserver"]["ready"]
    )
    assert status["apiserver"]["uid"] == first["uid"]  # the very pod of before: same file, same content


def move_strays(node):
    for name in ("kube-apiserver.yaml-orig", "kube-apiserver.yaml.bak"):
        os.replace(node.manifests / name, node.tmp / name)


def test_cleaning_strays_before_writing_the_manifest_makes_one_new_pod(node):
    """apiserver_manifest's order: the duplicates go, then the manifest is written."""
    for name in ("kube-apiserver.yaml", "kube-apiserver.yaml-orig", "kube-apiserver.yaml.bak"):
        node.write(name, node.manifest())
    before = node.ready()
    node.hold_list()
    move_strays(node)  # deletes the cached pod (the .bak's): the apiserver stops
    node.write("kube-apiserver.yaml", node.manifest(["--profiling=false"]))  # and the new one starts
    after = node.settle(
        lambda s: s["apiserver"] and s["apiserver"]["ready"] and "--profiling=false" in s["apiserver"]["command"]
    )
    assert after["apiserver"]["source"] == str(node.manifests / "kube-apiserver.yaml")
    assert after["podStarts"] - before["podStarts"] == 1


def test_cleaning_strays_after_writing_the_manifest_stops_the_apiserver_until_the_next_list(node):
    for name in ("kube-apiserver.yaml", "kube-apiserver.yaml-orig", "kube-apiserver.yaml.bak"):
        node.write(name, node.manifest())
    before = node.ready()
    node.hold_list()
    node.write("kube-apiserver.yaml", node.manifest(["--profiling=false"]))
    move_strays(node)  # the moved .yaml-orig last decoded to kube-system/kube-apiserver: that pod is deleted
    for _attempt in range(10):
        node.kubelet.sync()
    assert node.status()["apiserver"] is None
    node.list_now()
    after = node.settle(lambda s: s["apiserver"] and s["apiserver"]["ready"])
    assert "--profiling=false" in after["apiserver"]["command"]
    assert after["podStarts"] - before["podStarts"] == 2


def test_a_missing_file_volume_blocks_the_start_until_it_exists(node):
    policy = node.tmp / "policies" / "audit-policy.yaml"
    mounts = f"    - mountPath: {policy}\n      name: k8s-policies\n      readOnly: true\n"
    volumes = f"  - hostPath:\n      path: {policy}\n      type: File\n    name: k8s-policies\n"
    node.write("kube-apiserver.yaml", node.manifest(extra_mounts=mounts, extra_volumes=volumes))
    status = node.settle(lambda s: s["apiserver"] and s["apiserver"]["mountErrors"])
    assert status["apiserver"]["pid"] is None and status["apiserver"]["reason"] == "ContainerCreating"
    [failed] = node.events("FailedMount")
    assert failed["message"] == (
        f'MountVolume.SetUp failed for volume "k8s-policies" : hostPath type check failed: {policy} is not a file'
    )
    policy.parent.mkdir()
    policy.write_text("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n")
    assert node.ready()["apiserver"]["mountErrors"] == {}


def test_a_crashing_apiserver_is_restarted_with_back_off(node):
    (node.state / "fault-apiserver-crash").write_text("simulated crash\n")
    node.write("kube-apiserver.yaml", node.manifest(["--audit-log-path=-"]))
    node.settle(lambda s: len(node.events("BackOff")) >= 4, timeout=30)
    delays = [event["delaySeconds"] for event in node.events("BackOff")]
    assert delays[:4] == [0.2, 0.4, 0.8, 0.8]  # the first restart is immediate, then base, doubling, capped
    died = node.events("ContainerDied")
    assert died[0]["exitCode"] == 1 and any("simulated crash" in line for line in died[0]["stderrTail"])
    os.remove(node.state / "fault-apiserver-crash")
    status = node.ready()
    assert status["apiserver"]["restartCount"] >= 5
    assert status["apiserver"]["lastState"]["exitCode"] == 1


def test_an_invalid_manifest_keeps_the_old_pod_until_the_next_list_drops_it(node):
    node.write("kube-apiserver.yaml", node.manifest())
    pid = node.ready()["apiserver"]["pid"]
    broken = node.manifest(extra_mounts="    - mountPath: /var/log/kubernetes\n      name: k8s-log\n")
    node.hold_list()
    node.write("kube-apiserver.yaml", broken)
    node.kubelet.sync()  # the watch event: the file cannot be decoded, the cache keeps the running pod
    [error] = node.events("ManifestError")
    assert error["via"] == "watch" and 'volumeMounts[1].name: Not found: "k8s-log"' in error["message"]
    assert node.status()["apiserver"]["pid"] == pid
    node.list_now()
    status = node.settle(lambda s: s["apiserver"] is None)  # the full list skips the file: the pod is gone
    assert 'volumeMounts[1].name: Not found: "k8s-log"' in next(iter(status["manifestErrors"].values()))
    assert not os.path.exists(f"/proc/{pid}") or comm(pid) != "kube-apiserver"


def test_removing_the_manifest_stops_the_apiserver_at_once(node):
    node.write("kube-apiserver.yaml", node.manifest())
    pid = node.ready()["apiserver"]["pid"]
    os.replace(node.manifests / "kube-apiserver.yaml", node.tmp / "kube-apiserver.yaml")
    node.kubelet.sync()
    assert node.status()["apiserver"] is None
    assert not os.path.exists(f"/proc/{pid}") or comm(pid) != "kube-apiserver"


def test_an_audit_path_under_no_mount_is_reported(node):
    node.write("kube-apiserver.yaml", node.manifest(["--audit-log-path=/var/log/kubernetes/audit.log"]))
    node.ready()
    [warning] = node.events("AuditPathNotMounted")
    assert (warning["flag"], warning["path"]) == ("audit-log-path", "/var/log/kubernetes/audit.log")


def test_a_probe_to_an_address_off_loopback_is_not_sent(node):
    node.write("kube-apiserver.yaml", node.manifest().replace("        host: 127.0.0.1\n", "        host: 10.30.1.2\n"))
    status = node.settle(lambda s: s["apiserver"] and node.events("Unhealthy"))
    assert status["apiserver"]["ready"] is False
    [warning] = node.events("Unhealthy")
    assert warning["message"] == "kubelet stand-in does not probe 10.30.1.2: not a loopback address"

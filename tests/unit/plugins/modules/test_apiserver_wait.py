"""apiserver_wait, run as Ansible runs it, against real processes that name themselves kube-apiserver-like.

The task is the action plugin (``action_runner``): the manifest is read on the node (``manifest_io``), decoded here as
the kubelet decodes it, and its container's spec is sent to the ``apiserver_wait`` module, which waits on the node.
Both modules run as their own process, in a Python with the standard library only.
"""

import base64
import os
import socket
import subprocess
import sys
import time

import action_runner
import module_runner
import pytest

from ansible_collections.nnf.kube_audit.plugins.action.apiserver_wait import container_spec

# A stand-in apiserver: takes the process name the test gives it (comm, as the kubelet's runtime would show it),
# then serves /readyz over HTTP on its --secure-port.
STANDIN = r"""
import http.server, sys
name, flags = sys.argv[1], sys.argv[2:]
with open("/proc/self/comm", "w") as comm:
    comm.write(name)
port = int([f for f in flags if f.startswith("--secure-port=")][0].split("=", 1)[1])

class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/readyz" else 404)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")
    def log_message(self, *args):
        pass

http.server.HTTPServer(("127.0.0.1", port), Handler).serve_forever()
"""

MANIFEST = """\
apiVersion: v1
kind: Pod
metadata:
  name: kube-apiserver
  namespace: kube-system
spec:
  containers:
  - command:
    - kube-apiserver
    - --secure-port={port}
    - --audit-log-maxsize=100
    name: {name}
    readinessProbe:
      httpGet:
        host: 127.0.0.1
        path: /readyz
        port: {port}
        scheme: HTTP
      timeoutSeconds: 2
  hostNetwork: true
"""


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def node(tmp_path):
    """A manifest and a way to start its stand-in apiserver; every process started is stopped afterwards."""
    port = free_port()
    name = f"ut-apisrv{os.getpid() % 100000}"  # comm holds 15 characters at most
    manifest = tmp_path / "kube-apiserver.yaml"
    started = []

    def write_manifest():
        manifest.write_text(MANIFEST.format(port=port, name=name))

    def start_apiserver(flags=None):
        flags = flags or [f"--secure-port={port}", "--audit-log-maxsize=100"]
        process = subprocess.Popen([sys.executable, "-c", STANDIN, name, *flags])
        started.append(process)
        return process

    yield type("Node", (), dict(name=name, manifest=manifest, write=write_manifest, start=start_apiserver))
    for process in started:
        process.kill()
        process.wait()


def run_task(tmp_path, check_mode=False, **args):
    """The apiserver_wait task; its remote calls are kept in ``run_task.action``."""
    action = action_runner.FakeAction(args, tmp_path, check_mode=check_mode, name="apiserver_wait")
    run_task.action = action
    return action_runner.run_wait(action)


def run_module(tmp_path, check_mode=False, **params):
    """The apiserver_wait module alone, as the action plugin calls it."""
    return module_runner.run_module("apiserver_wait", tmp_path, check_mode=check_mode, **params)


def spec_of(manifest, name):
    return container_spec(base64.b64encode(manifest.read_bytes()).decode(), str(manifest), name)


def test_returns_the_apiserver_the_kubelet_started_after_the_change(tmp_path, node):
    node.write()
    time.sleep(0.05)
    apiserver = node.start()

    result = run_task(tmp_path, manifest_path=str(node.manifest), container=node.name, timeout=20)

    assert not result.get("failed"), result
    assert result["changed"] is False
    assert result["pid"] == apiserver.pid
    assert result["probe_status"] == 200
    assert result["probe_url"].startswith("http://127.0.0.1:")


def test_an_apiserver_older_than_the_manifest_is_not_ready(tmp_path, node):
    old = node.start()
    time.sleep(0.3)
    node.write()

    began = time.time()
    result = run_task(tmp_path, manifest_path=str(node.manifest), container=node.name, timeout=2)

    assert result["failed"] is True
    assert time.time() - began >= 2
    assert "not ready within 2 seconds" in result["msg"]
    assert f"pid {old.pid} started" in result["msg"]
    assert "before the change" in result["msg"]
    assert result["observation"]["processes"][0]["pid"] == old.pid
    assert result["observation"]["processes"][0]["started_after_change"] is False


def test_changed_since_overrides_the_manifest_time(tmp_path, node):
    before = time.time()
    apiserver = node.start()
    time.sleep(0.3)
    node.write()  # later than the process: only an explicit earlier change time accepts it

    result = run_task(tmp_path, manifest_path=str(node.manifest), container=node.name, timeout=20, changed_since=before)

    assert result.get("pid") == apiserver.pid, result


def test_an_apiserver_running_other_flags_is_reported(tmp_path, node):
    node.write()
    time.sleep(0.05)
    node.start([f"--secure-port={free_port()}", "--audit-log-maxsize=200"])

    result = run_task(tmp_path, manifest_path=str(node.manifest), container=node.name, timeout=2)

    assert result["failed"] is True
    assert "after the change, runs other flags" in result["msg"]


def test_check_mode_does_not_wait(tmp_path, node):
    node.write()
    began = time.time()
    result = run_task(tmp_path, check_mode=True, manifest_path=str(node.manifest), container=node.name)
    assert not result.get("failed"), result
    assert time.time() - began < 10
    assert "pid" not in result
    assert run_task.action.module_calls() == [("apiserver_wait", None)]  # the manifest is not even read


def test_unreadable_manifest_fails_before_waiting(tmp_path, node):
    node.write()
    result = run_task(tmp_path, manifest_path=str(node.manifest), container="etcd", timeout=300)
    assert result["failed"] is True
    assert result["msg"] == f"Cannot read {node.manifest}: the manifest has no container named 'etcd'"
    assert run_task.action.module_calls() == [("manifest_io", "read")]  # decoded on the controller: no wait
    missing = run_task(tmp_path, manifest_path=str(tmp_path / "nope.yaml"))
    assert missing["failed"] is True
    assert missing["msg"] == f"{tmp_path}/nope.yaml does not exist"
    garbled = tmp_path / "garbled.yaml"
    garbled.write_text("spec: [unclosed\n")
    broken = run_task(tmp_path, manifest_path=str(garbled))
    assert broken["msg"] == f"Cannot read {garbled}: yaml: line 1: did not find expected ',' or ']'"


def test_the_action_sends_the_container_spec_and_the_manifest_time(tmp_path, node):
    node.write()
    result = run_task(tmp_path, manifest_path=str(node.manifest), container=node.name, timeout=0)
    assert result["failed"] is True  # nothing runs: not ready at once
    read_call, wait_call = run_task.action.calls
    assert (read_call.module, wait_call.module) == ("manifest_io", "apiserver_wait")
    assert wait_call.args["container_spec"] == spec_of(node.manifest, node.name)
    assert wait_call.args["container_spec"]["readinessProbe"]["httpGet"]["port"] == int(
        wait_call.args["container_spec"]["command"][1].split("=")[1]
    )
    assert wait_call.args["changed_since"] == read_call.result["snapshot"]["mtime"] == os.stat(node.manifest).st_mtime


def test_the_module_waits_for_the_container_spec_it_is_given(tmp_path, node):
    node.write()
    time.sleep(0.05)
    apiserver = node.start()
    spec = spec_of(node.manifest, node.name)
    result = run_module(
        tmp_path, manifest_path=str(node.manifest), container=node.name, timeout=20, container_spec=spec
    )
    assert not result.get("failed"), result
    assert result["pid"] == apiserver.pid


def test_the_module_without_a_container_spec_fails_naming_the_task_to_use(tmp_path, node):
    node.write()
    result = run_module(tmp_path, manifest_path=str(node.manifest), container=node.name, timeout=20)
    assert result["failed"] is True
    assert result["msg"] == (
        "container_spec is not set: run nnf.kube_audit.apiserver_wait as a task (its action plugin reads "
        f"{node.manifest} and sets it), not as a bare module"
    )
    malformed = run_module(tmp_path, manifest_path=str(node.manifest), container_spec={"name": "x", "env": {"A": 1}})
    assert malformed["failed"] is True
    assert malformed["msg"].startswith(f"Cannot read {node.manifest}: ")


# A hardened manifest: flags taken from the container's env, which the kubelet expands before it starts the process.
MANIFEST_WITH_ENV = """\
apiVersion: v1
kind: Pod
metadata:
  name: kube-apiserver
  namespace: kube-system
spec:
  containers:
  - command:
    - kube-apiserver
    - --advertise-address=$(POD_IP)
    - --bind-address=$(POD_IP)
    - --secure-port=$(SECURE_PORT)
    - --audit-log-maxsize=100
    env:
    - name: POD_IP
      valueFrom:
        fieldRef:
          fieldPath: status.podIP
    - name: SECURE_PORT
      value: "{port}"
    name: {name}
    readinessProbe:
      httpGet:
        path: /readyz
        port: {port}
        scheme: HTTP
      timeoutSeconds: 2
  hostNetwork: true
"""


def expanded_flags(port, address="127.0.0.1"):
    return [f"--advertise-address={address}", f"--bind-address={address}", f"--secure-port={port}",
            "--audit-log-maxsize=100"]  # fmt: skip


def test_a_container_using_env_variables_is_matched_as_the_kubelet_expands_it(tmp_path, node):
    port = free_port()
    node.manifest.write_text(MANIFEST_WITH_ENV.format(port=port, name=node.name))
    time.sleep(0.05)
    apiserver = node.start(expanded_flags(port))

    result = run_task(tmp_path, manifest_path=str(node.manifest), container=node.name, timeout=20)

    assert not result.get("failed"), result
    assert result["pid"] == apiserver.pid
    assert result["probe_url"] == f"http://127.0.0.1:{port}/readyz"  # the address the new process binds
    assert result["probe_status"] == 200


def test_a_process_not_running_the_expanded_flags_is_described(tmp_path, node):
    port = free_port()
    node.manifest.write_text(MANIFEST_WITH_ENV.format(port=port, name=node.name))
    time.sleep(0.05)
    node.start([*expanded_flags(port)[:2], f"--secure-port={port}", "--audit-log-maxsize=200"])

    result = run_task(tmp_path, manifest_path=str(node.manifest), container=node.name, timeout=2)

    assert result["failed"] is True
    assert result["observation"]["processes"][0]["first_difference"] == {
        "flag": 3,
        "manifest": "--audit-log-maxsize=100",
        "expected": "--audit-log-maxsize=100",
        "found": "--audit-log-maxsize=200",
    }
    assert "manifest flag 3 is --audit-log-maxsize=100, the process has --audit-log-maxsize=200" in result["msg"]

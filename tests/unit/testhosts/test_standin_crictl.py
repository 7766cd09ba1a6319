"""crictl stand-in: crictl's JSON shapes from the kubelet stand-in's container store, and the module's use of it."""

import io
import json
import os
import subprocess
import sys

import pytest
from standin import crictl
from test_standin_kubelet import Node

from ansible_collections.nnf.kube_audit.plugins.module_utils import apiserver_process

CRICTL = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(crictl.__file__))), "bin", "crictl")
SECOND = 1_000_000_000
T0 = 1_716_903_590_342_123_456  # 2024-05-28T13:39:50.342123456Z


def record(container_id, *, name="kube-apiserver", attempt=0, state=crictl.EXITED, created=T0, exit_code=1, log=""):
    return {
        "id": container_id,
        "podSandboxId": "f" * 64,
        "name": name,
        "attempt": attempt,
        "image": "registry.k8s.io/kube-apiserver:v1.29.3",
        "imageRef": "sha256:" + "e" * 64,
        "state": state,
        "createdAt": created,
        "startedAt": created + SECOND // 10,
        "finishedAt": 0 if state == crictl.RUNNING else created + 2 * SECOND,
        "exitCode": 0 if state == crictl.RUNNING else exit_code,
        "reason": "" if state == crictl.RUNNING else "Error",
        "message": "",
        "pid": 4242,
        "logPath": log,
        "labels": {"io.kubernetes.container.name": name},
        "annotations": {"io.kubernetes.container.restartCount": str(attempt)},
        "mounts": [],
    }


@pytest.fixture
def store(tmp_path, monkeypatch):
    """A runtime with three kube-apiserver containers (two exited, one running) and an etcd-like neighbour."""
    log = tmp_path / "1.log"
    log.write_text(
        "2024-05-28T13:39:50.1Z stdout F first\n"
        "2024-05-28T13:39:50.2Z stderr F E0528 flag parsing\n"
        "2024-05-28T13:39:50.3Z stderr P half \n"
        "2024-05-28T13:39:50.4Z stderr F and the rest\n"
        "2024-05-28T13:39:50.5Z stderr F loading audit policy file: boom\n"
    )
    containers = [
        record("a" * 64, attempt=0, created=T0, exit_code=137),
        record("b" * 64, attempt=1, created=T0 + 5 * SECOND, log=str(log)),
        record("c" * 64, attempt=2, created=T0 + 9 * SECOND, state=crictl.RUNNING),
        record("d" * 64, name="kube-apiserver-sidecar", created=T0 + 20 * SECOND),
    ]
    (tmp_path / "containers.json").write_text(json.dumps({"containers": containers}))
    monkeypatch.setenv(crictl.STATE_DIR_VARIABLE, str(tmp_path))
    return tmp_path


def run(*argv):
    out, err = io.StringIO(), io.StringIO()
    code = crictl.main(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


def run_binary(argv):
    """The way the module runs it (rc, stdout, stderr), through bin/crictl."""
    completed = subprocess.run([sys.executable, *argv], capture_output=True, text=True, check=False)
    return completed.returncode, completed.stdout, completed.stderr


def test_the_binary_has_the_shebang_ansible_test_allows_and_is_executable():
    with open(CRICTL, encoding="utf-8") as handle:
        assert handle.readline() == "#!/usr/bin/env python\n"
    assert os.access(CRICTL, os.X_OK)


def test_ps_all_lists_every_matching_container_newest_first_in_crictl_json(store):
    code, out, _err = run("ps", "--all", "--name", "^kube-apiserver$", "--output", "json")
    assert code == 0
    containers = json.loads(out)["containers"]
    assert [c["id"][0] for c in containers] == ["c", "b", "a"]  # the sidecar's name does not match
    first = containers[0]
    assert set(first) == {
        "id",
        "podSandboxId",
        "metadata",
        "image",
        "imageRef",
        "state",
        "createdAt",
        "labels",
        "annotations",
    }
    assert first["metadata"] == {"name": "kube-apiserver", "attempt": 2}
    assert first["createdAt"] == str(T0 + 9 * SECOND)  # int64 in protobuf JSON: a string
    assert first["image"]["image"] == first["imageRef"] == "sha256:" + "e" * 64
    assert [c["state"] for c in containers] == [crictl.RUNNING, crictl.EXITED, crictl.EXITED]


def test_ps_without_all_lists_running_containers_and_the_name_is_searched_not_anchored(store):
    code, out, _err = run("ps", "--name=apiserver", "-o", "json")
    assert code == 0
    assert [c["id"][0] for c in json.loads(out)["containers"]] == ["c"]
    _code, out, _err = run("ps", "-a", "--name", "apiserver", "--output=json")
    assert [c["id"][0] for c in json.loads(out)["containers"]] == ["d", "c", "b", "a"]


def test_inspect_gives_the_status_with_rfc3339_times_and_the_exit_code(store):
    code, out, _err = run("inspect", "--output", "json", "b" * 64)
    assert code == 0
    inspected = json.loads(out)
    status = inspected["status"]
    assert status["id"] == "b" * 64 and status["metadata"] == {"attempt": 1, "name": "kube-apiserver"}
    assert (status["state"], status["exitCode"], status["reason"]) == (crictl.EXITED, 1, "Error")
    assert status["createdAt"] == "2024-05-28T13:39:55.342123456Z"
    assert status["startedAt"] == "2024-05-28T13:39:55.442123456Z"
    assert status["finishedAt"] == "2024-05-28T13:39:57.342123456Z"
    assert status["image"]["image"] == "registry.k8s.io/kube-apiserver:v1.29.3"
    assert status["logPath"] == str(store / "1.log")
    assert inspected["info"]["sandboxID"] == "f" * 64


def test_inspect_of_a_running_container_finished_at_the_epoch_and_ids_may_be_prefixes(store):
    code, out, _err = run("inspect", "ccc")
    assert code == 0
    status = json.loads(out)["status"]
    assert (status["state"], status["exitCode"], status["finishedAt"]) == (crictl.RUNNING, 0, "1970-01-01T00:00:00Z")


def test_inspect_of_an_unknown_container_fails_like_crictl(store):
    code, out, err = run("inspect", "--output", "json", "0123")
    assert (code, out) == (1, "")
    assert "level=fatal" in err and 'find container \\"0123\\": not found' in err


def test_logs_prints_the_content_without_the_cri_prefix_each_stream_on_its_own(store):
    code, out, err = run("logs", "b" * 64)
    assert code == 0
    assert out == "first\n"
    assert err == "E0528 flag parsing\nhalf and the rest\nloading audit policy file: boom\n"


def test_logs_tail_keeps_the_last_lines(store):
    assert run("logs", "--tail", "2", "b" * 64) == (0, "", "and the rest\nloading audit policy file: boom\n")
    assert run("logs", "--tail=0", "b" * 64) == (0, "", "")
    assert run("logs", "--tail", "50", "b" * 64)[1] == "first\n"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["images"], "No help topic for 'images'"),
        (["ps", "--all", "--output", "yaml"], 'unsupported output format \\"yaml\\"'),
        (["ps", "--state", "exited", "--output", "json"], "flag provided but not defined: -state"),
        (["logs", "--follow", "b" * 64], "flag provided but not defined: -follow"),
        (["logs", "--tail", "x", "b" * 64], "invalid value"),
        (["inspect"], "ID cannot be empty"),
        (["--runtime-endpoint", "unix:///run/containerd/containerd.sock", "ps"], "not defined: -runtime-endpoint"),
    ],
)
def test_what_is_not_stood_in_fails_with_exit_code_1(store, argv, message):
    code, out, err = run(*argv)
    assert (code, out) == (1, "")
    assert err.startswith("time=") and "level=fatal" in err and message in err


def test_the_modules_diagnostics_pick_the_newest_exited_container_through_the_binary(store):
    found = apiserver_process.crictl_diagnostics(run_binary, CRICTL, lines=2)
    assert found == {
        "container_id": "b" * 64,  # newer than a..., older than the running c... and not the sidecar d...
        "exit_code": 1,
        "log_tail": ["and the rest", "loading audit policy file: boom"],
    }


def test_no_container_store_yet_means_no_containers(tmp_path, monkeypatch):
    monkeypatch.setenv(crictl.STATE_DIR_VARIABLE, str(tmp_path))
    assert run("ps", "-a", "-o", "json") == (0, '{\n  "containers": []\n}\n', "")


def test_the_kubelet_stand_in_records_its_containers_for_crictl(tmp_path, pki, monkeypatch):
    node = Node(tmp_path, pki)
    monkeypatch.setenv(crictl.STATE_DIR_VARIABLE, str(node.state))
    try:
        (node.state / "fault-apiserver-crash").write_text("simulated crash\n")
        node.write("kube-apiserver.yaml", node.manifest(["--audit-log-path=-"]))
        node.settle(lambda s: len(node.events("ContainerDied")) >= 2, timeout=30)
        found = apiserver_process.crictl_diagnostics(run_binary, CRICTL, lines=5)
        records = json.loads((node.state / "containers.json").read_text())["containers"]
        newest_exited = max((c for c in records if c["state"] == crictl.EXITED), key=lambda c: c["createdAt"])
        assert found["container_id"] == newest_exited["id"]
        assert found["exit_code"] == 1
        assert any("simulated crash" in line for line in found["log_tail"])

        os.remove(node.state / "fault-apiserver-crash")
        apiserver = node.ready()["apiserver"]
        code, out, _err = run("ps", "--name", "^kube-apiserver$", "--output", "json")
        [running] = json.loads(out)["containers"]
        assert code == 0 and running["id"] == apiserver["containerID"]
        assert running["metadata"]["attempt"] == apiserver["restartCount"]
        status = json.loads(run("inspect", running["id"])[1])
        assert status["status"]["logPath"] == apiserver["log"]
        assert status["info"]["pid"] == apiserver["pid"]
        attempts = [c["metadata"]["attempt"] for c in json.loads(run("ps", "-a", "-o", "json")[1])["containers"]]
        assert attempts == list(range(apiserver["restartCount"], -1, -1))  # one container per attempt, newest first

        node.write("kube-apiserver.yaml", node.manifest(["--profiling=false"]))
        node.settle(lambda s: s["apiserver"]["uid"] != apiserver["uid"] and s["apiserver"]["ready"])
        stopped = json.loads(run("inspect", apiserver["containerID"])[1])["status"]
        died = node.events("ContainerDied")[-1]
        by_signal = died["exitCode"] < 0  # Popen's -N is the runtime's 128 + N
        assert stopped["state"] == crictl.EXITED
        assert stopped["exitCode"] == (128 - died["exitCode"] if by_signal else died["exitCode"])
        assert stopped["reason"] == ("Completed" if died["exitCode"] == 0 else "Error")
    finally:
        node.stop()

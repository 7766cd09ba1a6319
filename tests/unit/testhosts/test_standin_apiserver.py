"""kube-apiserver stand-in, run as a process on 127.0.0.1: start-up failures, health, audit events, rotation."""

import http.client
import json
import os
import signal
import socket
import ssl
import stat
import subprocess
import sys
import time

import pytest
import testhosts

KUBE_APISERVER = os.path.join(testhosts.TESTHOSTS_DIR, "bin", "kube-apiserver")
NNF_POLICY = os.path.join(testhosts.REPO, "tests", "fixtures", "policies", "nnf-docs-default.yaml")
NNF_PATH = "/apis/nnf.cray.hpe.com/v1alpha1/namespaces/default/nnfstorages/s1"
CATCH_ALL_POLICY = """\
apiVersion: audit.k8s.io/v1
kind: Policy
rules:
- level: RequestResponse
  resources:
  - group: ""
    resources: ["configmaps"]
- level: Metadata
"""

pytestmark = pytest.mark.skipif(not testhosts.shutil.which("openssl"), reason="needs openssl")


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Apiserver:
    def __init__(self, tmp_path, pki, *extra_flags, env=None, policy=None):
        self.port = free_port()
        self.knobs = tmp_path / "knobs"
        self.knobs.mkdir(exist_ok=True)
        self.log = tmp_path / "log" / "kubernetes" / "audit.log"
        self.policy = tmp_path / "audit-policy.yaml"
        if policy is not None:
            self.policy.write_text(policy)
        self.flags = [
            "--advertise-address=127.0.0.1",
            f"--secure-port={self.port}",
            "--etcd-servers=https://127.0.0.1:2379",
            f"--tls-cert-file={pki / 'apiserver.crt'}",
            f"--tls-private-key-file={pki / 'apiserver.key'}",
            "--requestheader-username-headers=X-Remote-User",
            "--requestheader-group-headers=X-Remote-Group",
            *extra_flags,
        ]
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "KUBE_APISERVER_STANDIN_LISTEN": f"127.0.0.1:{self.port}",
            "KUBE_APISERVER_STANDIN_KNOBS": str(self.knobs),
            "KUBE_APISERVER_STANDIN_READY_DELAY": "0.3",
            "KUBE_APISERVER_STANDIN_IMAGE": "registry.k8s.io/kube-apiserver:v1.29.3",
            **(env or {}),
        }
        self.process = None
        self.ca = str(pki / "ca.crt")

    def run(self, timeout=20):
        """Run to completion (a start-up failure): (exit code, stderr)."""
        done = subprocess.run(
            [sys.executable, KUBE_APISERVER, *self.flags],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        return done.returncode, done.stderr

    def start(self):
        self.process = subprocess.Popen(
            [sys.executable, KUBE_APISERVER, *self.flags],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.process.stderr.read().decode()
            try:  # the port is bound before the audit backend is set up, so ask, do not just connect
                if self.request("GET", "/livez")[0] == 200:
                    return self
            except OSError:
                time.sleep(0.05)
        raise AssertionError("kube-apiserver stand-in did not serve")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            return self.process.wait(timeout=10)
        return None

    def request(self, method, path, user=None, groups=(), body=None):
        context = ssl.create_default_context(cafile=self.ca)
        connection = http.client.HTTPSConnection("127.0.0.1", self.port, timeout=5, context=context)
        connection.putrequest(method, path)
        if user:
            connection.putheader("X-Remote-User", user)
        for group in groups:
            connection.putheader("X-Remote-Group", group)
        data = json.dumps(body).encode() if body is not None else b""
        connection.putheader("Content-Length", str(len(data)))
        connection.endheaders(data)
        response = connection.getresponse()
        payload = response.read()
        connection.close()
        return response.status, response.getheader("Audit-Id"), payload

    def events(self):
        return [json.loads(line) for line in self.log.read_text().splitlines()]


@pytest.fixture
def apiserver(tmp_path, pki):
    servers = []

    def make(*flags, **options):
        server = Apiserver(tmp_path, pki, *flags, **options)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


def test_an_unknown_flag_prints_usage_then_the_error_and_exits_1(apiserver):
    code, stderr = apiserver("--audit-policy=/etc/kubernetes/audit-policy.yaml").run()
    assert code == 1
    assert stderr.startswith("Usage:\n  kube-apiserver [flags]\n")
    assert stderr.endswith("Error: unknown flag: --audit-policy\n")


def test_invalid_audit_options_fail_the_command_with_every_error(apiserver):
    code, stderr = apiserver("--audit-log-path=/tmp/x.log", "--audit-log-maxage=-1", "--audit-log-format=text").run()
    assert code == 1
    assert stderr.rstrip().endswith(
        '"command failed" err="[invalid audit log format text, allowed formats are \\"legacy,json\\", '
        "--audit-log-maxage -1 can't be a negative number]\""
    )


def test_a_missing_policy_file_fails_like_kube_apiserver(apiserver, tmp_path):
    server = apiserver(f"--audit-policy-file={tmp_path}/missing.yaml")
    code, stderr = server.run()
    assert code == 1
    assert (
        f'err="loading audit policy file: failed to read file path \\"{tmp_path}/missing.yaml\\": '
        f'open {tmp_path}/missing.yaml: no such file or directory"'
    ) in stderr


def test_an_invalid_policy_fails_with_the_validators_message(apiserver):
    server = apiserver(policy="apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Everything\n")
    server.flags.append(f"--audit-policy-file={server.policy}")
    code, stderr = server.run()
    assert code == 1
    assert 'err="loading audit policy file: rules[0].level: Unsupported value: \\"Everything\\"' in stderr
    assert f': from file {server.policy}"' in stderr


def test_a_removed_policy_version_fails_and_an_unknown_field_only_warns(apiserver):
    server = apiserver(policy="apiVersion: audit.k8s.io/v1beta1\nkind: Policy\nrules:\n- level: Metadata\n")
    server.flags.append(f"--audit-policy-file={server.policy}")
    code, stderr = server.run()
    assert code == 1
    assert (
        'err="loading audit policy file: failed decoding: no kind \\"Policy\\" is registered for version '
        '\\"audit.k8s.io/v1beta1\\"'
    ) in stderr
    server.policy.write_text("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n  verb: [get]\n")
    server.start()
    server.stop()
    warnings = [line for line in server.process.stderr.read().decode().splitlines() if line.startswith("W")]
    assert len(warnings) == 1
    assert warnings[0].endswith(
        "Audit policy contains errors, falling back to lenient decoding: strict decoding error: unknown field "
        '"rules[0].verb"'
    )


def test_the_crash_fault_fails_apiservers_with_audit_flags_and_a_one_shot_fault_disarms(apiserver):
    server = apiserver("--audit-log-path=-")
    (server.knobs / "fault-apiserver-crash").write_text("once\nsimulated crash: audit backend broken\n")
    code, stderr = server.run()
    assert code == 1
    assert 'err="simulated crash: audit backend broken"' in stderr
    assert not (server.knobs / "fault-apiserver-crash").exists()
    server.start()
    assert server.process.poll() is None


def test_the_crash_fault_spares_an_apiserver_without_audit_flags(apiserver):
    server = apiserver()
    (server.knobs / "fault-apiserver-crash").write_text("")
    server.start()
    assert server.request("GET", "/livez")[0] == 200
    assert (server.knobs / "fault-apiserver-crash").exists()


def test_it_looks_like_kube_apiserver_in_proc_and_is_ready_after_the_delay(apiserver):
    server = apiserver()
    (server.knobs / "ready-delay").write_text("2\n")  # the knob file wins over the environment's 0.3 s
    server.start()
    started = time.monotonic()
    assert server.request("GET", "/livez")[0] == 200
    status, _id, body = server.request("GET", "/readyz")
    assert (status, body.endswith(b"readyz check failed\n")) == (500, True)
    while server.request("GET", "/readyz")[0] != 200:
        assert time.monotonic() - started < 10
        time.sleep(0.1)
    assert time.monotonic() - started > 1.0
    assert server.request("GET", "/readyz")[:3:2] == (200, b"ok")
    pid = server.process.pid
    with open(f"/proc/{pid}/comm", encoding="utf-8") as handle:
        assert handle.read() == "kube-apiserver\n"
    with open(f"/proc/{pid}/cmdline", "rb") as handle:
        assert handle.read().rstrip(b"\0").decode().split("\0") == ["kube-apiserver", *server.flags]
    version = json.loads(server.request("GET", "/version")[2])
    assert (version["major"], version["minor"], version["gitVersion"]) == ("1", "29", "v1.29.3")
    assert server.stop() == 0


def test_requests_are_audited_by_the_policy(apiserver, tmp_path):
    with open(NNF_POLICY, encoding="utf-8") as handle:
        server = apiserver(policy=handle.read())
    server.flags += [f"--audit-policy-file={server.policy}", f"--audit-log-path={server.log}"]
    server.start()
    assert stat.S_IMODE(server.log.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(server.log.stat().st_mode) == 0o600
    status, nnf_id, _body = server.request("GET", NNF_PATH, user="alice", groups=["nnf-admins"])
    assert status == 200
    _status, pods_id, _body = server.request("GET", "/api/v1/namespaces/default/pods", user="alice")
    events = server.events()
    assert [event["auditID"] for event in events] == [nnf_id]  # RequestReceived omitted; core pods not audited
    assert events[0]["stage"] == "ResponseComplete" and events[0]["verb"] == "get"
    assert events[0]["user"] == {"username": "alice", "groups": ["nnf-admins", "system:authenticated"]}
    assert pods_id and pods_id != nnf_id


def test_every_stage_the_policy_keeps_is_an_event_with_bodies_at_request_response(apiserver):
    server = apiserver(policy=CATCH_ALL_POLICY)
    server.flags += [f"--audit-policy-file={server.policy}", f"--audit-log-path={server.log}"]
    server.start()
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c1"}}
    _status, audit_id, _body = server.request("POST", "/api/v1/namespaces/default/configmaps", "bob", body=body)
    mine = [event for event in server.events() if event["auditID"] == audit_id]
    assert [event["stage"] for event in mine] == ["RequestReceived", "ResponseComplete"]
    assert [event["level"] for event in mine] == ["RequestResponse", "RequestResponse"]
    assert mine[0]["requestObject"] == body and "responseStatus" not in mine[0]
    assert mine[1]["responseObject"]["kind"] == "Status" and mine[1]["responseStatus"]["code"] == 200
    # health checks are requests too (kube-apiserver audits the kubelet's probes): anonymous, non-resource
    _status, probe_id, _body = server.request("GET", "/livez")
    probe = [event for event in server.events() if event["auditID"] == probe_id]
    assert probe[-1]["user"] == {"username": "system:anonymous", "groups": ["system:unauthenticated"]}
    assert (probe[-1]["verb"], probe[-1]["level"], "objectRef" in probe[-1]) == ("get", "Metadata", False)


def test_legacy_format_writes_one_text_line_per_event(apiserver):
    server = apiserver(policy=CATCH_ALL_POLICY)
    server.flags += [
        f"--audit-policy-file={server.policy}",
        f"--audit-log-path={server.log}",
        "--audit-log-format=legacy",
    ]
    server.start()
    _status, audit_id, _body = server.request("GET", NNF_PATH, user="carol")
    lines = [line for line in server.log.read_text().splitlines() if audit_id in line]
    assert len(lines) == 2
    assert f'AUDIT: id="{audit_id}" stage="ResponseComplete" ip="127.0.0.1" method="get" user="carol"' in lines[1]


def test_the_log_rotates_at_maxsize_and_keeps_maxbackup(apiserver):
    server = apiserver(policy=CATCH_ALL_POLICY)
    server.flags += [
        f"--audit-policy-file={server.policy}",
        f"--audit-log-path={server.log}",
        "--audit-log-maxsize=1",
        "--audit-log-maxbackup=2",
        "--audit-log-compress",
    ]
    (server.knobs / "audit-log-megabyte").write_text("2000\n")  # "1 MB" = 2000 bytes: a few events per file
    server.start()
    for _attempt in range(20):
        server.request("GET", NNF_PATH, user="dave")
    names = sorted(os.listdir(server.log.parent))
    assert names[-1] == "audit.log"
    backups = names[:-1]
    assert len(backups) == 2
    assert all(name.startswith("audit-") and name.endswith(".log.gz") for name in backups)
    assert server.log.stat().st_size <= 2000


def test_paths_outside_the_pods_mounts_are_the_containers_own(apiserver, tmp_path):
    rootfs = tmp_path / "rootfs"
    rootfs.mkdir()
    server = apiserver(
        policy=CATCH_ALL_POLICY,
        env={
            "KUBE_APISERVER_STANDIN_ROOTFS": str(rootfs),
            "KUBE_APISERVER_STANDIN_MOUNTS": json.dumps(
                [
                    {
                        "volume": "pki",
                        "mount_path": str(tmp_path.parent),
                        "host_path": str(tmp_path.parent),
                        "host_path_type": "",
                        "read_only": True,
                    }
                ]
            ),
        },
    )
    # the certificates are under the mount; the policy is not (it is in a directory mounted nowhere)
    server.flags += [f"--audit-policy-file=/not-mounted/{server.policy.name}"]
    os.makedirs(rootfs / "not-mounted")
    code, stderr = server.run()
    assert code == 1 and "no such file or directory" in stderr
    (rootfs / "not-mounted" / server.policy.name).write_text(CATCH_ALL_POLICY)  # "inside the image"
    server.flags += ["--audit-log-path=/var/log/kubernetes/audit.log"]
    server.start()
    server.request("GET", NNF_PATH, user="erin")
    assert (rootfs / "var" / "log" / "kubernetes" / "audit.log").stat().st_size > 0


def test_a_log_on_a_read_only_mount_fails_like_ensure_log_file(apiserver, tmp_path):
    server = apiserver(
        policy=CATCH_ALL_POLICY,
        env={
            "KUBE_APISERVER_STANDIN_ROOTFS": str(tmp_path / "rootfs"),
            "KUBE_APISERVER_STANDIN_MOUNTS": json.dumps(
                [
                    {
                        "volume": "all",
                        "mount_path": "/",
                        "host_path": "/",
                        "host_path_type": "",
                        "read_only": False,
                    },
                    {
                        "volume": "logs",
                        "mount_path": str(tmp_path / "logs"),
                        "host_path": str(tmp_path / "logs"),
                        "host_path_type": "DirectoryOrCreate",
                        "read_only": True,
                    },
                ]
            ),
        },
    )
    (tmp_path / "logs").mkdir()
    server.flags += [f"--audit-policy-file={server.policy}", f"--audit-log-path={tmp_path}/logs/audit.log"]
    code, stderr = server.run()
    assert code == 1
    assert f'err="ensureLogFile: open {tmp_path}/logs/audit.log: read-only file system"' in stderr


def test_it_refuses_to_listen_off_loopback(apiserver):
    server = apiserver(env={"KUBE_APISERVER_STANDIN_LISTEN": "10.30.1.2:6443"})
    code, stderr = server.run()
    assert code == 1
    assert "listens on loopback addresses only, not on 10.30.1.2" in stderr

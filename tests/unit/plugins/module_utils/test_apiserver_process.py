"""apiserver_process: /proc reading on a fake tree, probes against a local HTTPS server, the wait's decisions."""

import base64
import datetime
import http.server
import os
import socket
import ssl
import threading
from typing import ClassVar

import pytest

from ansible_collections.nnf.kube_audit.plugins.action.apiserver_wait import container_spec
from ansible_collections.nnf.kube_audit.plugins.module_utils import apiserver_process as ap

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "..", "fixtures", "manifests")
TICKS = ap.clock_ticks_per_second()
FLAGS = ["--advertise-address=10.30.1.2", "--secure-port=6443", "--audit-log-maxsize=100"]


def spec_of(data, name="kube-apiserver", path="/etc/kubernetes/manifests/kube-apiserver.yaml"):
    """The container spec the apiserver_wait action plugin sends the module: the manifest's bytes, as the kubelet
    decodes them (go-yaml v2), reduced to the container as plain data."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    return container_spec(base64.b64encode(data).decode("ascii"), path, name)


def fixture_container(name):
    with open(os.path.join(FIXTURES, name), "rb") as handle:
        return spec_of(handle.read())


# --------------------------------------------------------------------------------------------------- fake /proc


def stat_line(pid, comm, start_seconds):
    # 52 fields as in Linux 6.x; field 22 (index 21) is starttime in clock ticks
    rest = ["S", "1", str(pid), str(pid)] + ["0"] * 15 + [str(round(start_seconds * TICKS))] + ["0"] * 30
    return f"{pid} ({comm}) {' '.join(rest)}\n"


class FakeProc:
    """A /proc tree holding just what list_processes reads."""

    def __init__(self, root):
        self.root = root
        os.makedirs(root, exist_ok=True)
        for name in ("self", "stat", "uptime"):  # non-PID entries a real /proc has
            open(os.path.join(root, name), "w").close()

    def add(self, pid, argv, started, comm="kube-apiserver", net_ns="net:[4026531840]"):
        base = os.path.join(self.root, str(pid))
        os.makedirs(os.path.join(base, "ns"))
        with open(os.path.join(base, "comm"), "w") as handle:
            handle.write(comm + "\n")
        with open(os.path.join(base, "cmdline"), "wb") as handle:
            handle.write(b"".join(arg.encode() + b"\0" for arg in argv))
        with open(os.path.join(base, "stat"), "w") as handle:
            handle.write(stat_line(pid, comm, started))
        if net_ns:
            os.symlink(net_ns, os.path.join(base, "ns", "net"))

    def remove(self, pid):
        base = os.path.join(self.root, str(pid))
        for dirpath, dirnames, filenames in os.walk(base, topdown=False):
            for name in filenames + dirnames:
                path = os.path.join(dirpath, name)
                (os.rmdir if os.path.isdir(path) and not os.path.islink(path) else os.unlink)(path)
        os.rmdir(base)


@pytest.fixture
def proc(tmp_path):
    return FakeProc(str(tmp_path / "proc"))


def test_start_ticks_reads_field_22_even_when_comm_holds_parentheses_and_spaces():
    text = stat_line(42, "a) (b c", 12.34)
    assert ap.start_ticks(text) == round(12.34 * TICKS)


def test_list_processes_trusts_comm_not_argv0(proc):
    proc.add(100, ["/usr/local/bin/kube-apiserver", *FLAGS], started=50.0)
    proc.add(101, ["python3", "/opt/standin/kube_apiserver.py", *FLAGS], started=60.0)  # a wrapper, comm set
    proc.add(102, ["kube-apiserver", *FLAGS], started=70.0, comm="bash")  # argv[0] lies
    proc.add(103, [], started=80.0)  # a zombie: empty cmdline
    os.makedirs(os.path.join(proc.root, "104"))  # exited while being listed: nothing left to read

    found = ap.list_processes(proc_root=proc.root)

    assert [p.pid for p in found] == [100, 101]
    assert found[0].started == pytest.approx(50.0, abs=1.0 / TICKS)
    assert found[1].argv[:2] == ["python3", "/opt/standin/kube_apiserver.py"]
    assert found[0].net_ns == "net:[4026531840]"


def test_runs_flags_compares_the_tail_of_the_command_line():
    wrapped = ap.Process(1, ["python3", "standin.py", *FLAGS], 0.0, None)
    assert ap.runs_flags(wrapped, FLAGS)
    assert not ap.runs_flags(wrapped, [*FLAGS[:-1], "--audit-log-maxsize=200"])
    assert not ap.runs_flags(wrapped, [*FLAGS, "--audit-log-maxage=30"])
    assert not ap.runs_flags(ap.Process(1, FLAGS, 0.0, None), FLAGS)  # argv[0] must be there besides the flags


def test_boot_and_wall_clock_conversions_are_inverse():
    # a file written 10 s ago, on a node booted 200 s ago, was written 190 s after boot
    assert ap.wall_to_boot(1490.0, now_wall=1500.0, now_boot=200.0) == 190.0
    assert ap.boot_to_wall(ap.wall_to_boot(1234.5)) == pytest.approx(1234.5, abs=0.01)
    assert ap.wall_to_boot(os.stat("/proc/self").st_mtime) <= ap.boot_clock()


# --------------------------------------------------------------------------------------------------- manifest


def test_flags_and_probe_come_from_the_manifest():
    container = fixture_container("kube-apiserver-v1.29.3-rhel-nnf-shape.yaml")
    flags = ap.container_flags(container)
    assert flags[0].value == "--advertise-address=10.30.1.2"
    assert flags[-1].value == "--tls-private-key-file=/etc/kubernetes/pki/apiserver.key"
    assert "kube-apiserver" not in [flag.value for flag in flags]
    probe = ap.container_probe(container, flags)
    assert (probe.scheme, probe.host, probe.port, probe.path, probe.timeout) == (
        "HTTPS",
        "10.30.1.2",
        6443,
        "/readyz",
        15,
    )
    assert ap.probe_url(probe) == "https://10.30.1.2:6443/readyz"


def test_probe_port_follows_the_manifest():
    container = fixture_container("kube-apiserver-v1.32.0-minikube-8443.yaml")
    probe = ap.container_probe(container, ap.container_flags(container))
    assert (probe.host, probe.port) == ("192.168.59.105", 8443)


@pytest.mark.parametrize(
    ("bind_address", "expected_host"),
    [
        (None, "127.0.0.1"),
        ("0.0.0.0", "127.0.0.1"),
        ("::", "127.0.0.1"),
        ("10.1.2.3", "10.1.2.3"),
        ("fd00::5", "fd00::5"),
    ],
)
def test_empty_probe_host_means_the_node_address(bind_address, expected_host):
    flags = ["--secure-port=6443"] + ([f"--bind-address={bind_address}"] if bind_address else [])
    container = {
        "name": "kube-apiserver",
        "command": ["kube-apiserver", *flags],
        "readinessProbe": {"httpGet": {"path": "/readyz", "port": 6443, "scheme": "HTTPS"}},
    }
    probe = ap.container_probe(container, ap.container_flags(container))
    assert probe.host == expected_host
    assert probe.timeout == 1  # the Kubernetes default when timeoutSeconds is not set
    if ":" in expected_host:
        assert ap.probe_url(probe) == "https://[fd00::5]:6443/readyz"


def test_named_port_probe_headers_and_fallback_to_liveness():
    container = {
        "name": "kube-apiserver",
        "command": ["kube-apiserver"],
        "ports": [{"name": "https", "containerPort": 7443}],
        "livenessProbe": {
            "httpGet": {"host": "10.0.0.1", "port": "https", "path": "/livez", "scheme": "HTTPS",
                        "httpHeaders": [{"name": "X-Check", "value": "1"}]},
            "timeoutSeconds": 5,
        },
    }  # fmt: skip
    probe = ap.container_probe(container, [])
    assert (probe.port, probe.path, probe.headers["X-Check"]) == (7443, "/livez", "1")
    container["ports"] = []
    with pytest.raises(ap.ManifestError, match="does not declare"):
        ap.container_probe(container, [])


def test_container_without_http_probe_has_none():
    assert (
        ap.container_probe({"name": "x", "command": ["x"], "readinessProbe": {"exec": {"command": ["true"]}}}, [])
        is None
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("spec: [unclosed", "yaml: did not find expected ',' or ']'"),
        ("- a list", "the manifest is not a Pod object"),
        (
            "spec:\n  containers:\n  - name: etcd\n    command: [etcd]\n",
            "the manifest has no container named 'kube-apiserver'",
        ),
        ("spec: []\n", "the manifest has no container named 'kube-apiserver'"),
        ("spec:\n  containers: {name: kube-apiserver}\n", "the manifest has no container named 'kube-apiserver'"),
        ("\xff", "invalid start byte"),
    ],
)
def test_bad_manifests_are_reported(text, message):
    data = b"\xff" if text == "\xff" else text.encode()
    with pytest.raises(ap.ManifestError) as error:
        spec_of(data, path="/m/kube-apiserver.yaml")
    assert str(error.value).startswith("Cannot read /m/kube-apiserver.yaml: ")
    assert message in str(error.value)


def test_the_container_is_read_as_the_kubelet_reads_it():
    """YAML 1.1 as go-yaml v2 reads it: a plain on is a boolean, 0755 an octal number; the first document only."""
    text = (
        "kind: Pod\nspec:\n  containers:\n  - name: kube-apiserver\n    command: [kube-apiserver, --x=on]\n"
        "    env:\n    - name: A\n      value: on\n    - name: B\n      value: 0755\n---\nkind: Other\n"
    )
    container = spec_of(text)
    assert container["command"] == ["kube-apiserver", "--x=on"]
    assert container["env"] == [{"name": "A", "value": True}, {"name": "B", "value": 493}]


def test_find_container_takes_plain_data():
    pod = {"spec": {"containers": [{"name": "etcd"}, "junk", {"name": "kube-apiserver", "command": ["x"]}]}}
    assert ap.find_container(pod, "kube-apiserver") == {"name": "kube-apiserver", "command": ["x"]}
    for document in ({"spec": None}, {"spec": {"containers": None}}, {}):
        with pytest.raises(ap.ManifestError, match="the manifest has no container named 'kube-apiserver'"):
            ap.find_container(document, "kube-apiserver")
    with pytest.raises(ap.ManifestError, match="the manifest is not a Pod object"):
        ap.find_container(None, "kube-apiserver")


def test_container_without_command_is_reported():
    with pytest.raises(ap.ManifestError, match="neither command nor args"):
        ap.container_flags({"name": "kube-apiserver"})


# --------------------------------------------------------------------------------------------------- probe


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    from cryptography import x509  # noqa: PLC0415
    from cryptography.hazmat.primitives import hashes, serialization  # noqa: PLC0415
    from cryptography.hazmat.primitives.asymmetric import ec  # noqa: PLC0415
    from cryptography.x509.oid import NameOID  # noqa: PLC0415

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    directory = tmp_path_factory.mktemp("pki")
    cert_file, key_file = directory / "apiserver.crt", directory / "apiserver.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return str(cert_file), str(key_file)


class ReadyzHandler(http.server.BaseHTTPRequestHandler):
    statuses: ClassVar[dict] = {"/readyz": 200, "/redirect": 302, "/failing": 500}
    seen_headers: ClassVar[list] = []

    def do_GET(self):
        type(self).seen_headers.append(dict(self.headers))
        status = self.statuses.get(self.path, 404)
        body = b"ok" if status == 200 else b"[-]poststarthook/rbac/bootstrap-roles failed: not finished"
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def https_server(certificate):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), ReadyzHandler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def https_probe(port, path, scheme="HTTPS"):
    return ap.Probe(scheme, "127.0.0.1", port, path, {"User-Agent": "kube-probe/test", "X-Check": "yes"}, 2)


def test_probe_accepts_a_self_signed_certificate_and_sends_the_headers(https_server):
    result = ap.send_probe(https_probe(https_server, "/readyz"))
    assert result == ap.ProbeResult(True, 200, "")
    assert ReadyzHandler.seen_headers[-1]["X-Check"] == "yes"
    assert ReadyzHandler.seen_headers[-1]["User-Agent"] == "kube-probe/test"


def test_probe_treats_3xx_as_success_and_5xx_as_failure_with_the_body(https_server):
    assert ap.send_probe(https_probe(https_server, "/redirect")).ok
    failing = ap.send_probe(https_probe(https_server, "/failing"))
    assert (failing.ok, failing.status) == (False, 500)
    assert "bootstrap-roles failed" in failing.detail


def test_probe_reports_refused_connections_and_protocol_mismatch(https_server):
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        closed_port = unused.getsockname()[1]
    refused = ap.send_probe(https_probe(closed_port, "/readyz"))
    assert (refused.ok, refused.status) == (False, None)
    assert "ConnectionRefusedError" in refused.detail
    plain = ap.send_probe(https_probe(https_server, "/readyz", scheme="HTTP"))  # HTTP to a TLS port
    assert not plain.ok


# --------------------------------------------------------------------------------------------------- wait


class FakeClock:
    """Boot clock and sleep for the wait loop; ``on_sleep`` lets a test change /proc between polls."""

    def __init__(self, now=1000.0, on_sleep=None):
        self.now = now
        self.on_sleep = on_sleep
        self.sleeps = 0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps += 1
        self.now += max(seconds, 0.001)
        if self.on_sleep:
            self.on_sleep(self)


def scripted_probe(*results):
    """A probe that answers ``results`` in turn, then keeps answering the last one."""
    calls = []

    def send(probe, timeout):
        calls.append(timeout)
        return results[min(len(calls), len(results)) - 1]

    send.calls = calls
    return send


OK = ap.ProbeResult(True, 200, "")
REFUSED = ap.ProbeResult(False, None, "ConnectionRefusedError: [Errno 111] Connection refused")
PROBE = ap.Probe("HTTPS", "10.30.1.2", 6443, "/readyz", {}, 15)
CHANGE = 900.0


def wait(proc, clock, send, *, timeout=30, probe=PROBE, net_ns=None):
    return ap.wait_until_ready(
        FLAGS, probe, since=CHANGE, timeout=timeout, proc_root=proc.root, net_ns=net_ns,
        clock=clock, sleep=clock.sleep, send=send,
    )  # fmt: skip


def test_ready_when_a_process_started_after_the_change_runs_the_flags_and_answers(proc):
    proc.add(300, ["kube-apiserver", *FLAGS], started=CHANGE + 2)
    send = scripted_probe(REFUSED, REFUSED, OK)
    clock = FakeClock()

    process, result = wait(proc, clock, send)

    assert (process.pid, result) == (300, OK)
    assert len(send.calls) == 3 and clock.sleeps == 2
    assert send.calls[0] == 15  # the manifest's timeoutSeconds, while the deadline is farther


def test_old_process_with_the_same_flags_is_not_the_restarted_one(proc):
    # a policy-only change keeps the flags: only the start time tells the old apiserver from the new one
    proc.add(200, ["kube-apiserver", *FLAGS], started=CHANGE - 120)
    clock = FakeClock()

    with pytest.raises(ap.NotReady) as raised:
        wait(proc, clock, scripted_probe(OK), timeout=10)

    seen = raised.value.observation.as_dict(CHANGE, FLAGS, now_wall=2000.0, now_boot=1000.0)
    assert "predates the change" in seen["phase"]
    assert seen["processes"] == [
        {
            "pid": 200,
            "started": "1970-01-01T00:29:40Z",
            "started_after_change": False,
            "runs_manifest_flags": True,
            "first_difference": None,
        }
    ]
    assert clock.now >= 1010.0


def test_waits_for_the_kubelet_to_replace_the_old_process(proc):
    proc.add(200, ["kube-apiserver", *FLAGS], started=CHANGE - 120)

    def kubelet(clock):
        if clock.sleeps == 3:
            proc.remove(200)
        if clock.sleeps == 5:
            proc.add(201, ["kube-apiserver", *FLAGS], started=clock.now)

    clock = FakeClock(on_sleep=kubelet)
    send = scripted_probe(OK)

    process, _result = wait(proc, clock, send)

    assert process.pid == 201
    assert clock.sleeps == 5
    assert len(send.calls) == 1  # never probed while the old process could have answered


def test_new_process_with_other_flags_is_not_ready(proc):
    proc.add(300, ["kube-apiserver", *FLAGS[:-1]], started=CHANGE + 1)
    with pytest.raises(ap.NotReady) as raised:
        wait(proc, FakeClock(), scripted_probe(OK), timeout=5)
    seen = raised.value.observation.as_dict(CHANGE, FLAGS)
    assert "start kube-apiserver from the new manifest" in seen["phase"]
    assert seen["processes"][0]["started_after_change"] is True
    assert seen["processes"][0]["runs_manifest_flags"] is False


def test_crash_loop_is_counted_and_the_last_probe_kept(proc):
    def kubelet(clock):  # a new pid every poll, none of them ever answers
        pid = 400 + clock.sleeps
        proc.remove(pid - 1)
        proc.add(pid, ["kube-apiserver", *FLAGS], started=clock.now)

    proc.add(400, ["kube-apiserver", *FLAGS], started=CHANGE + 1)
    with pytest.raises(ap.NotReady, match="within 8 seconds") as raised:
        wait(proc, FakeClock(on_sleep=kubelet), scripted_probe(REFUSED), timeout=8)
    seen = raised.value.observation.as_dict(CHANGE, FLAGS)
    assert seen["processes_started_since_change"] >= 8
    assert seen["last_probe"] == {"ok": False, "status": None, "detail": REFUSED.detail}
    assert "readiness probe" in seen["phase"]


def test_process_gone_after_the_probe_is_not_ready(proc):
    proc.add(300, ["kube-apiserver", *FLAGS], started=CHANGE + 1)

    def dies_while_probed(probe, timeout):
        if os.path.exists(os.path.join(proc.root, "300")):
            proc.remove(300)
        return OK

    with pytest.raises(ap.NotReady):
        wait(proc, FakeClock(), dies_while_probed, timeout=3)


def test_processes_of_other_network_namespaces_are_ignored(proc):
    proc.add(200, ["kube-apiserver", *FLAGS], started=CHANGE - 100, net_ns="net:[4026532000]")  # another master
    proc.add(300, ["kube-apiserver", *FLAGS], started=CHANGE + 1, net_ns="net:[4026531840]")
    process, _result = wait(proc, FakeClock(), scripted_probe(OK), net_ns="net:[4026531840]")
    assert process.pid == 300
    with pytest.raises(ap.NotReady):  # without the filter, the other master's old apiserver blocks the wait
        wait(proc, FakeClock(), scripted_probe(OK), timeout=2)


def test_without_a_probe_running_is_ready(proc):
    proc.add(300, ["kube-apiserver", *FLAGS], started=CHANGE + 1)
    send = scripted_probe(REFUSED)
    assert wait(proc, FakeClock(), send, probe=None) == (ap.list_processes(proc_root=proc.root)[0], None)
    assert send.calls == []


def test_probe_timeout_never_exceeds_the_time_left(proc):
    proc.add(300, ["kube-apiserver", *FLAGS], started=CHANGE + 1)
    send = scripted_probe(REFUSED)
    with pytest.raises(ap.NotReady):
        wait(proc, FakeClock(), send, timeout=4)
    assert send.calls[0] == 4
    assert all(timeout <= 4 for timeout in send.calls)


# --------------------------------------------------------------------------------------------------- diagnostics


def test_pod_log_tail_reads_the_newest_log_without_the_cri_prefix(tmp_path):
    pattern = str(tmp_path / "kube-system_{container}-*" / "{container}" / "*.log")
    pod = tmp_path / "kube-system_kube-apiserver-master2_0f3c" / "kube-apiserver"
    pod.mkdir(parents=True)
    (pod / "0.log").write_text("2026-11-27T13:00:00.1Z stderr F old run\n")
    newest = pod / "1.log"
    newest.write_text(
        "".join(f"2026-11-27T13:02:1{i}.5Z stderr F line {i}\n" for i in range(5))
        + "2026-11-27T13:02:16.0Z stderr F Error: unknown flag: --audit-policy\n"
    )
    os.utime(str(pod / "0.log"), (1, 1))

    path, tail = ap.pod_log_tail("kube-apiserver", lines=3, pattern=pattern)

    assert path == str(newest)
    assert tail == ["line 3", "line 4", "Error: unknown flag: --audit-policy"]
    assert ap.pod_log_tail("etcd", lines=3, pattern=pattern) == (None, [])


def test_crictl_diagnostics_picks_the_newest_exited_container():
    calls = []
    answers = {
        "ps": '{"containers": [{"id": "aaa", "state": "CONTAINER_EXITED", "createdAt": "100"},'
        ' {"id": "bbb", "state": "CONTAINER_EXITED", "createdAt": "200"},'
        ' {"id": "ccc", "state": "CONTAINER_RUNNING", "createdAt": "300"}]}',
        "inspect": '{"status": {"exitCode": 1}}',
        "logs": "I1127 starting\nError: unknown flag: --audit-policy\n",
    }

    def run(argv):
        calls.append(argv)
        return 0, answers[argv[1]], ""

    found = ap.crictl_diagnostics(run, "/usr/bin/crictl", lines=5)

    assert found == {
        "container_id": "bbb",
        "exit_code": 1,
        "log_tail": ["I1127 starting", "Error: unknown flag: --audit-policy"],
    }
    assert calls[0][:4] == ["/usr/bin/crictl", "ps", "--all", "--name"]
    assert calls[1][-1] == calls[2][-1] == "bbb"
    assert ap.crictl_diagnostics(lambda argv: (1, "", "no runtime"), "/usr/bin/crictl") is None


# --------------------------------------------------------------------------------------------------- $(VAR) expansion

POD_IP_ENV = {"name": "POD_IP", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "status.podIP"}}}


def apiserver_container(flags, env=(), **extra):
    container = {"name": "kube-apiserver", "command": ["kube-apiserver", *flags], "env": list(env)}
    container.update(extra)
    return container


KUBELET_ENV = [
    {"name": "VAR_A", "value": "A"},
    {"name": "VAR_B", "value": "B"},
    {"name": "VAR_EMPTY", "value": ""},
    {"name": "VAR_ESCAPED", "value": "$$(VAR_A)"},  # its value is the text $(VAR_A), not expanded again
]


@pytest.mark.parametrize(
    ("text", "expanded"),
    [
        ("$(VAR_A)", "A"),
        ("___$(VAR_B)___", "___B___"),
        ("$(VAR_A)-$(VAR_B)-$(VAR_A)", "A-B-A"),
        ("$(VAR_EMPTY)", ""),
        ("$(VAR_ESCAPED)", "$(VAR_A)"),
        ("$(VAR_DNE)", "$(VAR_DNE)"),  # not in the mapping: left as written
        ("$$(VAR_B)_$(VAR_A)", "$(VAR_B)_A"),  # $$ escapes the operator
        ("$$$(VAR_A)", "$A"),
        ("$$", "$"),
        ("$$$$", "$$"),
        ("$", "$"),
        ("VAR_A$", "VAR_A$"),
        ("$VAR_A", "$VAR_A"),  # not a reference
        ("$()", "$()"),
        ("$(VAR_A", "$(VAR_A"),  # unterminated: literal
        ("$(VAR_A$(VAR_B)", "$(VAR_A$(VAR_B)"),  # the name is everything up to the first ")"
        ("--x=$(VAR_A)$(", "--x=A$("),
        ("caf\u00e9 $(VAR_A)", "caf\u00e9 A"),
        # Go copies string(byte) after a lone "$": the first byte of a multi-byte character becomes a Latin-1
        # character and the rest are stray bytes, shown as U+FFFD when the command line is read back.
        ("$\u00e9", "$\u00c3\ufffd"),
        ("$\u20ac$(VAR_A)", "$\u00e2\ufffd\ufffdA"),
    ],
)
def test_expansion_follows_the_kubelet(text, expanded):
    env = ap.container_env(apiserver_container([], KUBELET_ENV))
    expansion = ap.expand(text, env)
    assert expansion.value == expanded
    assert expansion.text == text
    assert expansion.matches(expanded)
    assert not expansion.matches(expanded + "x")


def test_env_values_are_expanded_in_order_against_the_variables_defined_before():
    env = ap.container_env(
        apiserver_container(
            [],
            [
                {"name": "EARLY", "value": "$(HOST)-early"},  # HOST is not defined yet: left as written
                {"name": "HOST", "value": "10.1.2.3"},
                {"name": "URL", "value": "https://$(HOST):$(PORT)"},  # PORT is defined later: left as written
                {"name": "PORT", "value": "6443"},
                {"name": "HOST", "value": "$(HOST)0"},  # a redefinition sees the earlier value
            ],
        )
    )
    assert ap.expand("$(EARLY)", env).value == "$(HOST)-early"
    assert ap.expand("$(URL)", env).value == "https://10.1.2.3:$(PORT)"
    assert ap.expand("$(HOST)", env).value == "10.1.2.30"


def test_a_value_from_the_pod_matches_any_text_in_its_place():
    env = ap.container_env(
        apiserver_container(
            [],
            [POD_IP_ENV, {"name": "ENDPOINT", "value": "https://$(POD_IP):6443"}],
        )
    )
    address = ap.expand("--advertise-address=$(POD_IP)", env)
    assert address.value is None
    assert address.matches("--advertise-address=10.30.1.2")
    assert address.matches("--advertise-address=fd00::5")
    assert not address.matches("--advertise-addres=10.30.1.2")
    assert not address.matches("--bind-address=10.30.1.2")
    endpoint = ap.expand("--endpoint=$(ENDPOINT)", env)  # an env value built on a pod value is a pattern too
    assert endpoint.matches("--endpoint=https://10.0.0.7:6443")
    assert not endpoint.matches("--endpoint=http://10.0.0.7:6443")
    assert str(endpoint) == "--endpoint=https://<POD_IP>:6443"
    # regex characters in the literal parts are literal
    assert not ap.expand("--x=a.b*$(POD_IP)", env).matches("--x=aXbbb1")


def test_names_the_kubelet_may_define_match_any_text():
    # service links (KUBERNETES_SERVICE_HOST...) come from the kubelet's view of the cluster's services
    env = ap.container_env(apiserver_container([]))
    assert ap.expand("$(KUBERNETES_SERVICE_HOST)", env).matches("10.96.0.1")
    assert ap.expand("$(KUBERNETES_SERVICE_HOST)", env).matches("$(KUBERNETES_SERVICE_HOST)")
    assert ap.expand("$(KUBE_DNS_PORT_53_UDP_ADDR)", env).matches("10.96.0.10")
    assert ap.expand("$(MY_ADDRESS)", env).value == "$(MY_ADDRESS)"
    # envFrom may define any name
    with_env_from = ap.container_env(apiserver_container([], envFrom=[{"configMapRef": {"name": "x"}}]))
    assert ap.expand("$(MY_ADDRESS)", with_env_from).matches("10.0.0.1")


def test_container_flags_expand_command_and_args_against_the_env():
    container = apiserver_container(
        ["--advertise-address=$(POD_IP)", "--secure-port=$(PORT)"],
        [POD_IP_ENV, {"name": "PORT", "value": "6443"}],
        args=["--etcd-servers=https://$(POD_IP):2379", "--token=$$(not-a-var)"],
    )
    flags = ap.container_flags(container)
    assert [flag.text for flag in flags] == [
        "--advertise-address=$(POD_IP)",
        "--secure-port=$(PORT)",
        "--etcd-servers=https://$(POD_IP):2379",
        "--token=$$(not-a-var)",
    ]
    argv = [
        "kube-apiserver",
        "--advertise-address=10.30.1.2",
        "--secure-port=6443",
        "--etcd-servers=https://10.30.1.2:2379",
        "--token=$(not-a-var)",
    ]
    assert ap.runs_flags(ap.Process(1, argv, 0.0, None), flags)
    assert not ap.runs_flags(ap.Process(1, [*argv[:2], "--secure-port=$(PORT)", *argv[3:]], 0.0, None), flags)
    assert not ap.runs_flags(ap.Process(1, [*argv[:-1], "--token=$$(not-a-var)"], 0.0, None), flags)


@pytest.mark.parametrize(
    ("env", "expected_host"),
    [
        ([{"name": "BIND", "value": "10.1.2.3"}], "10.1.2.3"),
        ([{"name": "BIND", "value": "0.0.0.0"}], "127.0.0.1"),
        ([{"name": "BIND", "value": "$(UNSET)"}], "$(UNSET)"),  # as the kubelet passes it (and the apiserver fails)
    ],
)
def test_probe_host_uses_the_expanded_bind_address(env, expected_host):
    container = apiserver_container(
        ["--bind-address=$(BIND)"], env, readinessProbe={"httpGet": {"path": "/readyz", "port": 6443}}
    )
    flags = ap.container_flags(container)
    assert ap.container_probe(container, flags).host == expected_host


def test_probe_host_from_a_pod_value_is_read_from_the_new_process():
    container = apiserver_container(
        ["--advertise-address=$(POD_IP)", "--bind-address=$(POD_IP)", "--secure-port=6443"],
        [POD_IP_ENV],
        readinessProbe={"httpGet": {"path": "/readyz", "port": 6443, "scheme": "HTTPS"}},
    )
    flags = ap.container_flags(container)
    probe = ap.container_probe(container, flags)
    assert probe.host is None  # never a guess: not known until the kubelet has started the process
    process = ap.Process(7, ["kube-apiserver", "--advertise-address=10.9.8.7", "--bind-address=10.9.8.7",
                             "--secure-port=6443"], 0.0, None)  # fmt: skip
    resolved = ap.resolve_probe(probe, flags, process)
    assert (resolved.host, ap.probe_url(resolved)) == ("10.9.8.7", "https://10.9.8.7:6443/readyz")
    anywhere = process._replace(argv=["kube-apiserver", "--advertise-address=10.9.8.7", "--bind-address=::",
                                      "--secure-port=6443"])  # fmt: skip
    assert ap.resolve_probe(probe, flags, anywhere).host == "127.0.0.1"


def test_with_a_pod_value_in_any_flag_the_probe_host_is_the_one_the_process_runs_with():
    # the flag parser then sees exactly what kube-apiserver sees, whatever flag the pod value lands in
    container = apiserver_container(
        ["--advertise-address=$(POD_IP)", "--bind-address=10.1.1.1"],
        [POD_IP_ENV],
        readinessProbe={"httpGet": {"path": "/readyz", "port": 6443}},
    )
    flags = ap.container_flags(container)
    process = ap.Process(7, ["kube-apiserver", "--advertise-address=10.9.8.7", "--bind-address=10.1.1.1"], 0.0, None)
    assert ap.resolve_probe(ap.container_probe(container, flags), flags, process).host == "10.1.1.1"
    hidden = apiserver_container(  # a whole flag from the pod can be --bind-address
        ["$(EXTRA_FLAG)", "--secure-port=6443"],
        [{"name": "EXTRA_FLAG", "valueFrom": {"fieldRef": {"fieldPath": "metadata.annotations['flag']"}}}],
        readinessProbe={"httpGet": {"path": "/readyz", "port": 6443}},
    )
    flags = ap.container_flags(hidden)
    process = ap.Process(7, ["kube-apiserver", "--bind-address=10.2.2.2", "--secure-port=6443"], 0.0, None)
    assert ap.runs_flags(process, flags)
    assert ap.resolve_probe(ap.container_probe(hidden, flags), flags, process).host == "10.2.2.2"
    # an explicit httpGet.host is used as written
    hidden["readinessProbe"]["httpGet"]["host"] = "10.3.3.3"
    assert ap.resolve_probe(ap.container_probe(hidden, flags), flags, process).host == "10.3.3.3"


def test_wait_matches_expanded_flags_and_probes_the_address_the_process_binds(proc):
    container = apiserver_container(
        ["--advertise-address=$(POD_IP)", "--bind-address=$(POD_IP)", "--secure-port=6443"],
        [POD_IP_ENV],
        readinessProbe={"httpGet": {"path": "/readyz", "port": 6443, "scheme": "HTTPS"}},
    )
    flags = ap.container_flags(container)
    argv = ["kube-apiserver", "--advertise-address=10.30.1.2", "--bind-address=10.30.1.2", "--secure-port=6443"]
    proc.add(300, argv, started=CHANGE + 2)
    sent = []

    def send(probe, timeout):
        sent.append(probe)
        return OK

    clock = FakeClock()
    process, result = ap.wait_until_ready(
        flags, ap.container_probe(container, flags), since=CHANGE, timeout=30, proc_root=proc.root,
        clock=clock, sleep=clock.sleep, send=send,
    )  # fmt: skip

    assert (process.pid, result) == (300, OK)
    assert [probe.host for probe in sent] == ["10.30.1.2"]


def test_observation_names_the_first_flag_that_differs(proc):
    container = apiserver_container(
        ["--advertise-address=$(POD_IP)", "--secure-port=6443", "--audit-log-maxsize=100"], [POD_IP_ENV]
    )
    flags = ap.container_flags(container)
    proc.add(300, ["kube-apiserver", "--advertise-address=10.0.0.1", "--secure-port=6443", "--audit-log-maxsize=100"],
             started=CHANGE + 1)  # fmt: skip
    proc.add(301, ["kube-apiserver", "--advertise-addr=10.0.0.1", "--secure-port=6443", "--audit-log-maxsize=200"],
             started=CHANGE + 2)  # fmt: skip
    proc.add(302, ["--secure-port=6443", "--audit-log-maxsize=100"], started=CHANGE + 3)
    observation = ap.Observation()
    observation.see(ap.list_processes(proc_root=proc.root), CHANGE)

    seen = observation.as_dict(CHANGE, flags)

    runs = [(process["pid"], process["runs_manifest_flags"]) for process in seen["processes"]]
    assert runs == [(300, True), (301, False), (302, False)]
    assert seen["processes"][0]["first_difference"] is None
    assert seen["processes"][1]["first_difference"] == {
        "flag": 0,
        "manifest": "--advertise-address=$(POD_IP)",
        "expected": "--advertise-address=<POD_IP>",
        "found": "--advertise-addr=10.0.0.1",
    }
    assert seen["processes"][2]["first_difference"] == {
        "flag": 0,
        "manifest": "--advertise-address=$(POD_IP)",
        "expected": "--advertise-address=<POD_IP>",
        "found": None,
    }


def test_malformed_env_is_reported():
    with pytest.raises(ap.ManifestError, match="env must be a list"):
        ap.container_flags({"name": "kube-apiserver", "command": ["kube-apiserver", "--x"], "env": {"A": "1"}})
    with pytest.raises(ap.ManifestError, match=r"env\[0\] must be a mapping"):
        ap.container_flags(apiserver_container(["--x"], ["A=1"]))
    with pytest.raises(ap.ManifestError, match="args must be a list"):
        ap.container_flags({"name": "kube-apiserver", "command": ["kube-apiserver"], "args": "--x=1"})


@pytest.mark.parametrize(
    "flags",
    [
        ["--secure-port=6443", "--bind-address", "10.30.1.2"],
        ["--bind_address=10.30.1.2", "--secure-port=6443"],
        ["--bind-address=127.0.0.9", "--bind-address", "10.30.1.2"],
    ],
)
def test_the_probe_host_reads_bind_address_as_kube_apiserver_does(flags):
    """Every form pflag accepts: the two-item form sent the probe to 127.0.0.1 with a parser of our own."""
    probe = ap.container_probe({"readinessProbe": {"httpGet": {"path": "/readyz", "port": 6443}}}, flags)
    assert probe.host == "10.30.1.2"

"""The kube-apiserver stand-in's audit webhook backend (standin/webhook.py) and the receiver (standin/receiver.py)."""

import base64
import http.client
import io
import json
import os
import re
import ssl
import subprocess
import sys
import threading
import time

import pytest
import testhosts
from standin import apiserver, audit_event, flags, webhook
from standin.receiver import Receiver
from test_standin_apiserver import NNF_PATH, Apiserver, free_port

RECEIVER = os.path.join(testhosts.TESTHOSTS_DIR, "standin", "receiver.py")
# health checks unaudited (the harness polls /livez), everything else at Metadata: two events per request
WEBHOOK_POLICY = """\
apiVersion: audit.k8s.io/v1
kind: Policy
rules:
- level: None
  nonResourceURLs: ["/livez", "/readyz", "/healthz"]
- level: Metadata
"""
OMIT_RECEIVED_POLICY = WEBHOOK_POLICY.replace("kind: Policy\n", "kind: Policy\nomitStages: [RequestReceived]\n")
FAST_RETRIES = "--audit-webhook-initial-backoff=1ms"  # 5 attempts in a few ms, so failures show at once

pytestmark = pytest.mark.skipif(not testhosts.shutil.which("openssl"), reason="needs openssl")


@pytest.fixture(scope="session")
def other_pki(tmp_path_factory):
    """A second CA and a serving certificate for 127.0.0.1 that the first CA does not know."""
    directory = tmp_path_factory.mktemp("other-pki")
    testhosts.make_pki(str(directory), ["127.0.0.1"])
    return directory


def write_kubeconfig(path, server, ca_file=None, *, user=None, current_context="webhook", cluster_extra=None):
    cluster = {"server": server, **(cluster_extra or {})}
    if ca_file:
        with open(ca_file, "rb") as handle:
            cluster["certificate-authority-data"] = base64.b64encode(handle.read()).decode()
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "receiver", "cluster": cluster}],
        "contexts": [{"name": "webhook", "context": {"cluster": "receiver", "user": "kube-apiserver"}}],
        "current-context": current_context,
        "users": [{"name": "kube-apiserver", "user": user or {}}],
    }
    path.write_text(json.dumps(config, indent=1))  # JSON is YAML
    return path


class StderrTail:
    """The lines a running process writes on stderr, read in a thread so the pipe never fills."""

    def __init__(self, stream):
        self.lines = []
        self.changed = threading.Condition()
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream):
        for raw in stream:
            with self.changed:
                self.lines.append(raw.decode("utf-8", "replace"))
                self.changed.notify_all()

    def wait_for(self, text, timeout=5.0):
        deadline = time.monotonic() + timeout
        with self.changed:
            while not any(text in line for line in self.lines):
                remaining = deadline - time.monotonic()
                assert remaining > 0, f"no {text!r} on stderr:\n{''.join(self.lines)}"
                self.changed.wait(remaining)
            return next(line for line in self.lines if text in line)


@pytest.fixture
def harness(tmp_path, pki):
    """receiver(...) and apiserver(server_url, *flags, ...): stand-ins stopped before the receivers they feed."""
    receivers, servers = [], []

    class Harness:
        @staticmethod
        def receiver(certs=pki, **options):
            made = Receiver(str(certs / "apiserver.crt"), str(certs / "apiserver.key"), **options).start()
            receivers.append(made)
            return made

        @staticmethod
        def apiserver(server_url, *flags, policy=WEBHOOK_POLICY, log=False, kubeconfig=True):
            directory = tmp_path / f"apiserver-{len(servers)}"
            directory.mkdir()
            server = Apiserver(directory, pki, policy=policy)
            config = directory / "audit-webhook.kubeconfig"
            if kubeconfig:
                write_kubeconfig(config, server_url, pki / "ca.crt")
            server.flags += [
                f"--audit-policy-file={server.policy}",
                f"--audit-webhook-config-file={config}",
                FAST_RETRIES,
                *flags,
            ]
            if log:
                server.flags.append(f"--audit-log-path={server.log}")
            servers.append(server)
            return server

        @staticmethod
        def start(server):
            server.start()
            server.stderr = StderrTail(server.process.stderr)
            return server

    yield Harness
    for server in servers:
        server.stop()
    for receiver in receivers:
        receiver.stop()


def audit_ids(events, stage=None):
    return [event["auditID"] for event in events if stage is None or event["stage"] == stage]


def command_failed(stderr):
    """The err="..." of kube-apiserver's last ``"command failed"`` line, decoded."""
    match = re.search(r'"command failed" err=(".*")$', stderr.strip().splitlines()[-1])
    assert match, stderr
    return json.loads(match.group(1))


# --------------------------------------------------------------------------------------------------- batch


def test_batch_mode_sends_a_batch_when_max_size_events_are_buffered(harness):
    receiver = harness.receiver()
    server = harness.start(
        harness.apiserver(
            f"{receiver.url}/audit", "--audit-webhook-batch-max-size=4", "--audit-webhook-batch-max-wait=60s"
        )
    )
    sent = [server.request("GET", NNF_PATH, user="alice")[1] for _attempt in range(3)]
    events = receiver.wait_for_events(4, timeout=3)
    assert [len(batch["items"]) for batch in receiver.batches] == [4]  # the third request's two events wait
    assert audit_ids(events) == [sent[0], sent[0], sent[1], sent[1]]
    assert [event["stage"] for event in events[:2]] == ["RequestReceived", "ResponseComplete"]
    batch = receiver.batches[0]
    assert (batch["path"], batch["apiVersion"]) == ("/audit", "audit.k8s.io/v1")
    assert batch["headers"]["Content-Type"] == "application/json"
    assert batch["headers"]["User-Agent"].startswith("kube-apiserver/v1.29.3 ")
    assert all("kind" not in event and "apiVersion" not in event for event in events)  # items of an EventList
    assert events[1]["user"] == {"username": "alice", "groups": ["system:authenticated"]}
    assert not server.log.exists()  # webhook only: no --audit-log-path, no log
    time.sleep(0.3)
    assert len(receiver.events()) == 4


def test_batch_mode_sends_what_it_has_after_max_wait_and_the_log_gets_the_same_events(harness):
    receiver = harness.receiver()
    server = harness.start(
        harness.apiserver(
            receiver.url, "--audit-webhook-batch-max-wait=200ms", "--audit-webhook-batch-max-size=100", log=True
        )
    )
    started = time.monotonic()
    sent = [server.request("GET", NNF_PATH, user="bob")[1] for _attempt in range(3)]
    events = receiver.wait_for_events(6, timeout=3)
    assert time.monotonic() - started < 1.5
    assert sorted(audit_ids(events)) == sorted(sent * 2)
    assert 1 <= len(receiver.batches) <= 3  # batched by time, never reaching 100 events
    logged = [{k: v for k, v in event.items() if k not in ("kind", "apiVersion")} for event in server.events()]
    assert sorted(logged, key=json.dumps) == sorted(events, key=json.dumps)


def test_a_receiver_with_a_certificate_of_another_ca_gets_nothing_and_the_apiserver_stays_ready(harness, other_pki):
    receiver = harness.receiver(certs=other_pki)
    server = harness.start(harness.apiserver(f"{receiver.url}/audit", "--audit-webhook-batch-max-wait=100ms"))
    assert server.request("GET", NNF_PATH, user="carol")[0] == 200
    line = server.stderr.wait_for("Error in audit plugin 'webhook'")
    assert line.startswith("E")
    assert line.rstrip().endswith(
        f"Error in audit plugin 'webhook' affecting 2 audit events: Post \"{receiver.url}/audit\": "
        "tls: failed to verify certificate: x509: certificate signed by unknown authority"
    )
    assert "Impacted events:\n" in server.stderr.lines
    assert receiver.events() == []
    deadline = time.monotonic() + 5
    while server.request("GET", "/readyz")[0] != 200:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert server.process.poll() is None


def test_a_receiver_that_is_down_does_not_stop_the_apiserver_from_answering(harness):
    port = free_port()
    server = harness.start(harness.apiserver(f"https://127.0.0.1:{port}", "--audit-webhook-batch-max-wait=100ms"))
    started = time.monotonic()
    assert [server.request("GET", NNF_PATH, user="dave")[0] for _attempt in range(5)] == [200] * 5
    assert time.monotonic() - started < 2
    line = server.stderr.wait_for("Error in audit plugin 'webhook'")
    assert f'Post "https://127.0.0.1:{port}/": dial tcp 127.0.0.1:{port}: connect: connection refused' in line


# --------------------------------------------------------------------------------------------------- blocking


def test_blocking_mode_delivers_each_event_before_the_response(harness):
    receiver = harness.receiver()
    server = harness.start(harness.apiserver(receiver.url, "--audit-webhook-mode=blocking"))
    for _attempt in range(2):
        status, audit_id, _body = server.request("GET", NNF_PATH, user="erin")
        assert status == 200
        assert audit_ids(receiver.events())[-2:] == [audit_id, audit_id]  # no waiting: already there
    assert [len(batch["items"]) for batch in receiver.batches] == [1, 1, 1, 1]


def test_blocking_mode_ignores_a_failing_receiver(harness):
    receiver = harness.receiver(status=500)
    server = harness.start(harness.apiserver(receiver.url, "--audit-webhook-mode=blocking"))
    assert server.request("GET", NNF_PATH, user="frank")[0] == 200
    line = server.stderr.wait_for("Error in audit plugin 'webhook'")
    assert line.rstrip().endswith(
        'affecting 1 audit events: an error on the server ("receiver: answering 500") has prevented the request '
        "from succeeding"
    )


def test_blocking_strict_fails_the_request_when_the_request_received_event_is_not_stored(harness):
    receiver = harness.receiver(status=503)
    server = harness.start(harness.apiserver(receiver.url, "--audit-webhook-mode=blocking-strict"))
    status, audit_id, body = server.request("GET", NNF_PATH, user="grace")
    assert status == 500
    assert body.decode() == f'Internal Server Error: "{NNF_PATH}": failed to store audit event'
    assert audit_id
    server.stderr.wait_for("affecting 1 audit events: the server is currently unable to handle the request")
    receiver.status = 200
    status, audit_id, _body = server.request("GET", NNF_PATH, user="grace")
    assert status == 200
    assert audit_ids(receiver.events()) == [audit_id, audit_id]


def test_blocking_strict_with_request_received_omitted_never_fails_a_request(harness):
    receiver = harness.receiver(status=503)
    server = harness.start(
        harness.apiserver(receiver.url, "--audit-webhook-mode=blocking-strict", policy=OMIT_RECEIVED_POLICY)
    )
    assert server.request("GET", NNF_PATH, user="heidi")[0] == 200  # only RequestReceived is checked
    server.stderr.wait_for("affecting 1 audit events")


# --------------------------------------------------------------------------------------------------- start-up


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"current_context": ""},
            "invalid configuration: no configuration has been provided, try setting KUBERNETES_MASTER environment "
            "variable",
        ),
        (
            {"current_context": "elsewhere"},
            "invalid configuration: [context was not found for specified context: elsewhere, cluster has no server "
            "defined]",
        ),
        (
            {
                "cluster_extra": {"certificate-authority-data": base64.b64encode(b"not a certificate").decode()},
                "ca_file": None,
            },
            "unable to load root certificates: unable to parse bytes as PEM block",
        ),
        (
            {"cluster_extra": {"certificate-authority": "/nonexistent/ca.crt"}, "ca_file": None},
            "invalid configuration: unable to read certificate-authority /nonexistent/ca.crt for receiver due to "
            "open /nonexistent/ca.crt: no such file or directory",
        ),
        (
            {"user": {"client-certificate": "/nonexistent/client.crt"}},
            "invalid configuration: [client-key-data or client-key must be specified for kube-apiserver to use the "
            "clientCert authentication method., unable to read client-cert /nonexistent/client.crt for "
            "kube-apiserver due to open /nonexistent/client.crt: no such file or directory]",
        ),
    ],
)
def test_a_kubeconfig_it_cannot_use_fails_the_start(harness, pki, change, expected):
    server = harness.apiserver("https://127.0.0.1:9", kubeconfig=False)
    options = {"ca_file": pki / "ca.crt", **change}
    write_kubeconfig(server.policy.parent / "audit-webhook.kubeconfig", "https://127.0.0.1:9", **options)
    code, stderr = server.run()
    assert code == 1
    assert command_failed(stderr) == f"initializing audit webhook: {expected}"


def test_a_missing_kubeconfig_fails_the_start_but_only_with_a_policy(harness):
    server = harness.apiserver("https://127.0.0.1:9", kubeconfig=False)
    code, stderr = server.run()
    assert code == 1
    config = server.policy.parent / "audit-webhook.kubeconfig"
    assert command_failed(stderr) == (
        f"initializing audit webhook: invalid configuration: stat {config}: no such file or directory"
    )
    server.flags.remove(f"--audit-policy-file={server.policy}")
    harness.start(server)  # no policy: kube-apiserver does not build the webhook backend at all
    server.stderr.lines.clear()
    assert server.request("GET", NNF_PATH, user="ivan")[0] == 200


# --------------------------------------------------------------------------------------------------- in process


class Files:
    """ContainerFiles without a container: host paths as given."""

    @staticmethod
    def resolve(path):
        return path, False

    @staticmethod
    def read_text(path):
        with open(path, encoding="utf-8") as handle:
            return handle.read()


def settings(**changes):
    values = {
        "config_file": "",
        "mode": "blocking",
        "version": "audit.k8s.io/v1",
        "initial_backoff": 0.001,
        "buffer_size": 10000,
        "max_size": 400,
        "max_wait": 30.0,
        "throttle_enable": True,
        "throttle_qps": 10.0,
        "throttle_burst": 15,
    }
    values.update(changes)
    return webhook.Settings(**values)


def sample_event(audit_id="0d0a5c2e-1111-2222-3333-444455556666"):
    return audit_event.new_event(
        api_version="audit.k8s.io/v1",
        level="Metadata",
        audit_id=audit_id,
        stage="ResponseComplete",
        request_uri="/api/v1/namespaces/default/pods",
        verb="list",
        user={"username": "judy", "groups": ["system:authenticated"]},
        source_ips=["127.0.0.1"],
        user_agent="test",
        object_ref={"resource": "pods", "namespace": "default", "apiVersion": "v1"},
        received=time.time(),
        stage_time=time.time(),
        response_code=200,
    )


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30.0), ("200ms", 0.2), ("1m30s", 90.0), ("1.5h", 5400.0), ("0", 0.0), ("10us", 1e-5), ("-2s", -2.0)],
)
def test_go_durations(text, seconds):
    assert webhook.parse_go_duration(text) == pytest.approx(seconds)


def test_settings_take_kube_apiservers_defaults_and_the_flags():
    defaults = webhook.Settings.from_options(flags.AuditOptions.from_args({}), {})
    assert (defaults.mode, defaults.initial_backoff, defaults.max_wait) == ("batch", 10.0, 30.0)
    assert (defaults.buffer_size, defaults.max_size, defaults.throttle_qps, defaults.throttle_burst) == (
        10000,
        400,
        10.0,
        15,
    )
    values = {
        "audit-webhook-mode": "blocking",
        "audit-webhook-batch-max-wait": "5s",
        "audit-webhook-batch-initial-backoff": "2s",
        "audit-webhook-batch-max-size": "7",
    }
    given = webhook.Settings.from_options(flags.AuditOptions.from_args(values), values)
    assert (given.mode, given.max_wait, given.initial_backoff, given.max_size) == ("blocking", 5.0, 2.0, 7)


def test_a_relative_ca_file_is_relative_to_the_kubeconfig_and_a_client_certificate_is_presented(tmp_path, pki):
    receiver = Receiver(str(pki / "apiserver.crt"), str(pki / "apiserver.key"), client_ca=str(pki / "ca.crt")).start()
    try:
        (tmp_path / "ca.crt").write_bytes((pki / "ca.crt").read_bytes())
        user = {
            "client-certificate": str(pki / "admin.crt"),
            "client-key-data": base64.b64encode((pki / "admin.key").read_bytes()).decode(),
        }
        config = write_kubeconfig(
            tmp_path / "kubeconfig", receiver.url, user=user, cluster_extra={"certificate-authority": "ca.crt"}
        )
        target = webhook.load_target(str(config), Files, "kube-apiserver/test")
        assert (target.url, target.path) == (f"{receiver.url}/", "/")
        log = io.StringIO()
        client = webhook.Client(target, settings(), apiserver.Klog(log))
        assert client.process_events([sample_event()])
        assert receiver.events()[0]["auditID"] == sample_event()["auditID"]

        anonymous = write_kubeconfig(tmp_path / "anonymous", receiver.url, pki / "ca.crt")
        client = webhook.Client(webhook.load_target(str(anonymous), Files, "x"), settings(), apiserver.Klog(log))
        assert not client.process_events([sample_event("a"), sample_event("b")])
        first = log.getvalue().splitlines()[0]
        assert "Error in audit plugin 'webhook' affecting 2 audit events: " in first
        assert re.search(r"(remote error: tls: certificate required|EOF|connection reset by peer)$", first), first
        assert log.getvalue().splitlines()[2].endswith('uri="/api/v1/namespaces/default/pods" response="200"')
        assert len(receiver.events()) == 1
    finally:
        receiver.stop()


def test_retries_follow_the_backoff_then_give_up(tmp_path, pki):
    config = write_kubeconfig(tmp_path / "kubeconfig", f"https://127.0.0.1:{free_port()}", pki / "ca.crt")
    waits = []
    log = io.StringIO()
    client = webhook.Client(
        webhook.load_target(str(config), Files, "x"), settings(initial_backoff=10.0), apiserver.Klog(log), waits.append
    )
    assert not client.process_events([sample_event()])
    assert len(waits) == 4  # five attempts
    for wait, base in zip(waits, (10.0, 15.0, 22.5, 33.75)):
        assert base <= wait <= base * 1.2
    assert log.getvalue().count("Error in audit plugin") == 1


def test_the_buffer_drops_what_does_not_fit_and_says_so(tmp_path, pki):
    config = write_kubeconfig(tmp_path / "kubeconfig", f"https://127.0.0.1:{free_port()}", pki / "ca.crt")
    log = io.StringIO()
    client = webhook.Client(webhook.load_target(str(config), Files, "x"), settings(), apiserver.Klog(log))
    backend = webhook.BatchBackend.__new__(webhook.BatchBackend)  # no collecting thread: the buffer stays full
    backend.client, backend.buffer = client, webhook.queue.Queue(maxsize=1)
    assert backend.process(sample_event("a")) and backend.process(sample_event("b"))
    assert "Error in audit plugin 'buffered' affecting 1 audit events: audit buffer queue blocked" in log.getvalue()


def test_the_token_bucket_allows_a_burst_then_the_rate():
    now = [0.0]
    waits = []
    bucket = webhook.TokenBucket(10.0, 3, clock=lambda: now[0], sleep=waits.append)
    for _attempt in range(4):
        bucket.accept()
    assert waits == [pytest.approx(0.1)]


def test_the_receiver_writes_one_line_per_event_and_answers_its_status(tmp_path, pki):
    out = tmp_path / "events.jsonl"
    process = subprocess.Popen(
        [
            sys.executable,
            RECEIVER,
            "--listen",
            "127.0.0.1:0",
            "--cert",
            str(pki / "apiserver.crt"),
            "--key",
            str(pki / "apiserver.key"),
            "--out",
            str(out),
            "--status",
            "202",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        line = process.stdout.readline().decode()
        assert line.startswith("listening on https://127.0.0.1:")
        port = int(line.rstrip().rpartition(":")[2])
        context = ssl.create_default_context(cafile=str(pki / "ca.crt"))

        def post(body):
            connection = http.client.HTTPSConnection("127.0.0.1", port, timeout=5, context=context)
            connection.request("POST", "/audit", body=body, headers={"Content-Type": "application/json"})
            status = connection.getresponse().status
            connection.close()
            return status

        events = [sample_event("a"), sample_event("b")]
        assert post(webhook.event_list(events, "audit.k8s.io/v1")) == 202
        assert post(b'{"kind": "Event"}') == 400
        lines = [json.loads(text) for text in out.read_text().splitlines()]
        assert [(entry["batchSize"], entry["path"], entry["event"]["auditID"]) for entry in lines] == [
            (2, "/audit", "a"),
            (2, "/audit", "b"),
        ]
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", lines[0]["time"])
    finally:
        process.terminate()
        assert process.wait(timeout=5) == 0

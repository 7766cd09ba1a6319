"""The kube-apiserver stand-in: real flag handling, real audit policy, real audit log; no etcd, no API objects.

Started by the kubelet stand-in from the manifest's ``command`` (``tests/testhosts/bin/kube-apiserver``), it:

1. renames itself ``kube-apiserver`` (``/proc/PID/comm``) with the manifest's arguments as its command line;
2. parses the flags like kube-apiserver (unknown flag: usage, ``Error: unknown flag: --x``, exit 1) and validates
   the audit options with kube-apiserver's messages (``"command failed" err=...``, exit 1);
3. listens with TLS (``--tls-cert-file``/``--tls-private-key-file``) on the readiness probe's address;
4. loads ``--audit-policy-file`` with its own reader and evaluator (``standin/audit_policy.py``, written from
   k8s.io/apiserver's reader, validation and checker and held to kube-apiserver's conformance cases; never the
   collection's ``audit_policy`` module_utils, which is what the stand-in judges; exit 1 with
   ``loading audit policy file: ...``) and creates ``--audit-log-path`` like ``ensureLogFile`` (directory 0700,
   file 0600);
5. serves ``/livez``, ``/readyz``, ``/healthz`` (ready after a configurable delay) and ``/version``; any other request
   is authenticated from the request headers, evaluated against the policy and logged as audit.k8s.io/v1 events
   (one per stage the policy keeps) through lumberjack-style rotation, then answered with a small JSON Status;
6. with ``--audit-webhook-config-file`` (and a policy), sends the same events to the kubeconfig's server as
   ``EventList`` batches, blocking or not as ``--audit-webhook-mode`` says (``standin/webhook.py``).

Paths in flags are container paths. The kubelet stand-in passes the pod's volume mounts; a path under no mount is
looked up in the container's own (empty) filesystem, so a policy the manifest does not mount is "no such file"
and a log the manifest does not mount stays inside the container, as with a real runtime.

Test knobs (files the tests place on a host, in ``/run/kubelet-standin``): ``ready-delay`` (seconds),
``fault-apiserver-crash`` (an apiserver started with audit flags exits 1 at once; the file's text is the error, a
first line ``once`` removes the file after one crash), ``audit-log-megabyte`` (bytes per "MB" of
``--audit-log-maxsize``, to see rotations without writing megabytes), ``fault-audit-log-silent`` (while it
exists, the log backend writes no event and logs the error kube-apiserver logs when its writes fail, as when SELinux
blocks them: the apiserver stays ready and serves, it just does not audit).

One API object: ``kube-system/kubeadm-config`` (GET, PUT with resourceVersion compare-and-swap) for clients with a
certificate of ``--client-ca-file``, from the run's shared store: ``configmaps.py``, ``clientcert.py``.
"""

from __future__ import annotations

import contextlib
import datetime
import http.server
import json
import os
import signal
import socket
import ssl
import sys
import threading
import time
import uuid
from typing import Dict, List, Optional, Tuple

from standin import (
    audit_event,
    audit_policy,
    clientcert,
    configmaps,
    flags,
    lumberjack,
    procutil,
    requestinfo,
    static_pods,
    webhook,
)

ENV_MOUNTS = "KUBE_APISERVER_STANDIN_MOUNTS"
ENV_ROOTFS = "KUBE_APISERVER_STANDIN_ROOTFS"
ENV_LISTEN = "KUBE_APISERVER_STANDIN_LISTEN"
ENV_READY_DELAY = "KUBE_APISERVER_STANDIN_READY_DELAY"
ENV_IMAGE = "KUBE_APISERVER_STANDIN_IMAGE"
ENV_KNOBS = "KUBE_APISERVER_STANDIN_KNOBS"
ENV_PARENT = "KUBE_APISERVER_STANDIN_PARENT"
DEFAULT_KNOBS_DIR = "/run/kubelet-standin"
DEFAULT_READY_DELAY = 0.5
HEALTH_PATHS = ("/healthz", "/livez", "/readyz")
POLICY_ERROR_PREFIX = "loading audit policy file: "  # AuditOptions.ApplyTo's wrapping of LoadPolicyFromFile

USAGE = """\
Usage:
  kube-apiserver [flags]

(kube-apiserver stand-in: the real flag list is long; see kube-apiserver --help of your version)

"""


def impersonated_user(headers) -> Optional[Dict]:
    """impersonatedUser of the event, from Impersonate-User and Impersonate-Group (WithImpersonation; the policy is
    judged on the authenticated user, as WithAudit runs before it). Every impersonation is allowed here; a user
    other than system:anonymous also gets system:authenticated, as the apiserver adds it."""
    name = headers.get("Impersonate-User")
    if not name:
        return None
    groups = list(headers.get_all("Impersonate-Group") or [])
    if name != "system:anonymous" and "system:authenticated" not in groups:
        groups.append("system:authenticated")
    return {"username": name, "groups": groups}


class CommandFailed(Exception):
    """What kube-apiserver reports as ``"command failed" err="..."`` before exiting 1."""


# --------------------------------------------------------------------------------------------------- logging


class Klog:
    """klog's text format on stderr: ``I0528 20:39:50.342694      42 file.go:123] message``."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stderr
        self.lock = threading.Lock()

    def _line(self, severity: str, where: str, message: str) -> None:
        now = datetime.datetime.now(tz=datetime.timezone.utc)
        header = f"{severity}{now:%m%d %H:%M:%S}.{now.microsecond:06d} {os.getpid():>7} {where}]"
        with self.lock:
            self.stream.write(f"{header} {message}\n")
            self.stream.flush()

    def info(self, where: str, message: str) -> None:
        self._line("I", where, message)

    def warning(self, where: str, message: str) -> None:
        self._line("W", where, message)

    def error(self, where: str, message: str) -> None:
        self._line("E", where, message)

    def command_failed(self, error: str) -> None:
        self._line("E", "run.go:72", f'"command failed" err={json.dumps(error, ensure_ascii=False)}')


def go_error(operation: str, path: str, exc: OSError) -> str:
    """An *os.PathError as Go prints it: ``open /x: no such file or directory``."""
    return f"{operation} {path}: {(exc.strerror or str(exc)).lower()}"


# --------------------------------------------------------------------------------------------------- files


class ContainerFiles:
    """Container paths to host paths, through the pod's volume mounts; the rest is the container's own rootfs."""

    def __init__(self, mounts: Optional[List[static_pods.Mount]], rootfs: Optional[str]):
        self.mounts = mounts
        self.rootfs = rootfs

    @classmethod
    def from_environment(cls) -> ContainerFiles:
        raw = os.environ.get(ENV_MOUNTS)
        if raw is None:  # started by hand, not by the kubelet stand-in: no container, host paths as given
            return cls(None, None)
        mounts = [static_pods.Mount(**mount) for mount in json.loads(raw)]
        return cls(mounts, os.environ.get(ENV_ROOTFS) or "/nonexistent-container-rootfs")

    def resolve(self, path: str) -> Tuple[str, bool]:
        """(host path, read-only) of container path ``path``."""
        if self.mounts is None:
            return path, False
        mount = static_pods.covering_mount(self.mounts, path)
        host = static_pods.host_side(mount, path) if mount else None
        if host is None:
            return os.path.join(self.rootfs, os.path.normpath(path).lstrip("/")), False
        return host, mount.read_only

    def read_text(self, path: str) -> str:
        host, _read_only = self.resolve(path)
        with open(host, encoding="utf-8") as handle:
            return handle.read()


class Knobs:
    """The test knobs: files in the knobs directory, read when needed (so a test can flip them at any time)."""

    def __init__(self, directory: Optional[str] = None):
        self.directory = directory or os.environ.get(ENV_KNOBS) or DEFAULT_KNOBS_DIR

    def _read(self, name: str) -> Optional[str]:
        try:
            with open(os.path.join(self.directory, name), encoding="utf-8") as handle:
                return handle.read()
        except OSError:
            return None

    def ready_delay(self) -> float:
        for raw in (self._read("ready-delay"), os.environ.get(ENV_READY_DELAY)):
            try:
                return max(0.0, float(raw.strip()))
            except (AttributeError, ValueError):
                continue
        return DEFAULT_READY_DELAY

    def audit_log_megabyte(self) -> int:
        raw = self._read("audit-log-megabyte")
        try:
            return max(1, int(raw.strip()))
        except (AttributeError, ValueError):
            return lumberjack.MEGABYTE

    def crash_fault(self) -> Optional[str]:
        """The injected error when the crash fault is armed (and disarm a one-shot fault), else None."""
        path = os.path.join(self.directory, "fault-apiserver-crash")
        text = self._read("fault-apiserver-crash")
        if text is None:
            return None
        lines = text.strip().splitlines()
        if lines and lines[0].strip() == "once":
            lines = lines[1:]
            with contextlib.suppress(OSError):
                os.remove(path)
        message = " ".join(line.strip() for line in lines if line.strip())
        return message or f"kube-apiserver stand-in: fault injected by {path}"

    def audit_log_silent(self) -> bool:
        return os.path.exists(os.path.join(self.directory, "fault-audit-log-silent"))


# --------------------------------------------------------------------------------------------------- audit


class Auditor:
    """Policy plus backends (log, webhook): decides each request's level and hands its events to both."""

    def __init__(
        self,
        policy: Optional[audit_policy.Policy],
        writer,
        log_format: str,
        api_version: str,
        silent=lambda: False,
        *,
        webhook_backend=None,
    ):
        self.policy = policy
        self.writer = writer  # RotatingLog, a stdout wrapper, or None (no log backend)
        self.silent = silent  # the fault knob: events fail to be written
        self.encode = audit_event.encode_legacy if log_format == "legacy" else audit_event.encode_json
        self.api_version = api_version
        self.lock = threading.Lock()
        self.webhook = webhook_backend  # webhook.BatchBackend, webhook.BlockingBackend, or None

    def level(self, attributes: Dict) -> Tuple[str, List[str]]:
        if self.policy is None or (self.writer is None and self.webhook is None):
            return "None", []
        return self.policy.evaluate(attributes)

    def emit(self, event: Dict) -> bool:
        """audit.Union's ProcessEvents: False when a backend that may fail requests (blocking-strict) failed."""
        if self.writer is not None:
            self._write(event)
        if self.webhook is None:
            return True
        return self.webhook.process(event)

    def _write(self, event: Dict) -> None:
        if self.silent():
            # what k8s.io/apiserver's log backend logs when a write fails (plugin/pkg/audit/log/backend.go)
            sys.stderr.write(
                "Error in audit plugin 'log' affecting 1 audit events: write: permission denied "
                "(kube-apiserver stand-in: fault-audit-log-silent)\n"
            )
            sys.stderr.flush()
            return
        line = self.encode(event)
        with self.lock:
            self.writer.write(line)

    def shutdown(self) -> None:
        """The backends' Shutdown: the webhook sends what it still buffers."""
        if self.webhook is not None:
            self.webhook.shutdown()


class StdoutLog:
    def write(self, data: bytes) -> None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()


def build_auditor(
    options: flags.AuditOptions,
    files: ContainerFiles,
    knobs: Knobs,
    klog: Klog,
    values: Optional[Dict[str, str]] = None,
) -> Auditor:
    """AuditOptions.ApplyTo: policy first, then the log file (created even without a policy), then the webhook."""
    policy = None
    if options.policy_file:
        path = options.policy_file
        try:
            with open(files.resolve(path)[0], "rb") as handle:
                data = handle.read()
        except OSError as exc:  # LoadPolicyFromFile, wrapped by AuditOptions.ApplyTo
            operation = "read" if isinstance(exc, IsADirectoryError) else "open"  # os.ReadFile's PathError
            reason = f"failed to read file path {audit_policy.go_quote(path)}: {go_error(operation, path, exc)}"
            raise CommandFailed(f"{POLICY_ERROR_PREFIX}{reason}") from exc
        try:
            policy, warnings = audit_policy.load_policy(data)
        except audit_policy.PolicyLoadError as exc:
            for warning in exc.warnings:
                klog.warning("reader.go:72", warning)
            raise CommandFailed(f"{POLICY_ERROR_PREFIX}{exc.message}: from file {path}") from exc
        for warning in warnings:
            klog.warning("reader.go:72", warning)
        klog.info("reader.go:90", f'"Loaded audit policy rules" count={len(policy.rules)} file="{path}"')

    writer = None
    if options.log_path == "-":
        writer = StdoutLog()
    elif options.log_path:
        writer = open_log(options, files, knobs)
    if writer is not None and policy is None:
        klog.info("audit.go:273", "No audit policy file provided, no events will be recorded for log backend")

    webhook_backend = None
    if options.webhook_config_file:
        if policy is None:  # kube-apiserver does not even read the webhook's kubeconfig then
            klog.info("audit.go:285", "No audit policy file provided, no events will be recorded for webhook backend")
        else:
            settings = webhook.Settings.from_options(options, values or {})
            user_agent = f"kube-apiserver/{image_version()} (linux/amd64) kubernetes/standin"
            try:
                webhook_backend = webhook.build(settings, files, klog, user_agent, values or {})
            except webhook.WebhookError as exc:
                raise CommandFailed(f"{webhook.ERROR_PREFIX}{exc}") from exc
    return Auditor(
        policy, writer, options.log_format, options.log_version, knobs.audit_log_silent, webhook_backend=webhook_backend
    )


def open_log(options: flags.AuditOptions, files: ContainerFiles, knobs: Knobs) -> lumberjack.RotatingLog:
    path = options.log_path
    host, read_only = files.resolve(path)
    try:
        if read_only:  # the mount is read-only: MkdirAll is fine on an existing directory, the open is not
            if not os.path.isdir(os.path.dirname(host)):
                raise OSError(30, "read-only file system", os.path.dirname(path))
            raise OSError(30, "read-only file system", path)
        lumberjack.ensure_log_file(host)
    except OSError as exc:
        operation = "mkdir" if exc.filename == os.path.dirname(path) else "open"
        raise CommandFailed(f"ensureLogFile: {go_error(operation, exc.filename or path, exc)}") from exc
    return lumberjack.RotatingLog(
        host,
        max_size_mb=options.log_maxsize,
        max_backups=options.log_maxbackup,
        max_age_days=options.log_maxage,
        compress=options.log_compress,
        megabyte=knobs.audit_log_megabyte(),
    )


# --------------------------------------------------------------------------------------------------- server


class Server(http.server.ThreadingHTTPServer):
    """One thread per connection; TLS is set up in that thread so a stalled client cannot block the others."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: Tuple[str, int], tls: ssl.SSLContext):
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.tls = tls
        self.state: Optional[ServerState] = None
        super().__init__(address, Handler)

    def handle_error(self, request, client_address):
        """A client that drops the connection or speaks no TLS is the client's problem: say nothing."""


class ServerState:
    def __init__(self, auditor: Auditor, values: Dict[str, str], knobs: Knobs, version: str):
        self.auditor = auditor
        self.started = time.monotonic()
        self.knobs = knobs
        self.version = version
        self.username_headers = requestinfo.split_list_flag(values.get("requestheader-username-headers"))
        self.group_headers = requestinfo.split_list_flag(values.get("requestheader-group-headers"))
        self.extra_prefixes = requestinfo.split_list_flag(values.get("requestheader-extra-headers-prefix"))
        self.allowed_names = requestinfo.split_list_flag(values.get("requestheader-allowed-names"))
        self.ready_delay = knobs.ready_delay()

    def ready(self) -> bool:
        return time.monotonic() - self.started >= self.ready_delay


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "kube-apiserver-standin"

    def setup(self):
        self.request.settimeout(30)
        self.request = self.server.tls.wrap_socket(self.request, server_side=True)
        super().setup()

    def finish(self):
        try:
            super().finish()
        finally:
            self.request.close()

    def log_message(self, format, *args):
        """Requests are in the audit log, not on stderr."""

    def do_GET(self):
        self.serve()

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_GET

    def serve(self) -> None:
        state: ServerState = self.server.state
        received = time.time()
        audit_id = self.headers.get("Audit-ID") or str(uuid.uuid4())
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        try:
            info = requestinfo.request_info(self.command, self.path)
        except requestinfo.RequestInfoError as exc:
            self.respond(
                500, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": str(exc)}, audit_id
            )
            return
        user = clientcert.authenticate(self.request, self.headers, state)
        level, omit = state.auditor.level(requestinfo.policy_request(info, user))
        event_fields = {
            "api_version": state.auditor.api_version,
            "level": level,
            "audit_id": audit_id,
            "request_uri": self.path,
            "verb": info["verb"],
            "user": user,
            "impersonated_user": impersonated_user(self.headers),
            "source_ips": requestinfo.source_ips(self.headers, self.client_address[0]),
            "user_agent": self.headers.get("User-Agent") or "",
            "object_ref": requestinfo.object_reference(info),
            "received": received,
            "request_object": _json_or_none(body) if info["resourceRequest"] else None,
        }
        audited = level != "None"
        if audited and audit_event.STAGE_REQUEST_RECEIVED not in omit:
            stored = state.auditor.emit(
                audit_event.new_event(stage=audit_event.STAGE_REQUEST_RECEIVED, stage_time=received, **event_fields)
            )
            if not stored:  # WithAudit: a blocking-strict backend failed at RequestReceived
                uri = json.dumps(self.path).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
                self.respond(500, f"Internal Server Error: {uri}: failed to store audit event", audit_id)
                return
        code, payload = configmaps.route(self, info, user, body) or self.route(info, state)
        if audited and audit_event.STAGE_RESPONSE_COMPLETE not in omit:
            state.auditor.emit(
                audit_event.new_event(
                    stage=audit_event.STAGE_RESPONSE_COMPLETE,
                    stage_time=time.time(),
                    response_code=code,
                    response_object=payload if info["resourceRequest"] else None,
                    annotations={
                        "authorization.k8s.io/decision": "forbid" if code == 403 else "allow",
                        "authorization.k8s.io/reason": "",
                    },
                    **event_fields,
                )
            )
        self.respond(code, payload, audit_id)

    def route(self, info: Dict, state: ServerState):
        path = info["path"]
        if any(path == base or path.startswith(base + "/") for base in HEALTH_PATHS):
            if path.startswith("/livez") or state.ready():
                return 200, "ok"
            return (
                500,
                "[+]ping ok\n[+]log ok\n[-]poststarthook/start-kube-apiserver-standin failed: not finished\n"
                + (path.lstrip("/").split("/")[0] + " check failed\n"),
            )
        if path == "/version":
            major, _dot, rest = state.version.lstrip("v").partition(".")
            return 200, {
                "major": major,
                "minor": rest.split(".")[0],
                "gitVersion": state.version,
                "platform": "linux/amd64",
            }
        return 200, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 200}

    def respond(self, code: int, payload, audit_id: str) -> None:
        if isinstance(payload, str):
            data, content_type = payload.encode(), "text/plain; charset=utf-8"
        else:
            data, content_type = json.dumps(payload).encode() + b"\n", "application/json"
        self.send_response(code)
        self.send_header("Audit-Id", audit_id)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)


def _json_or_none(body: bytes):
    if not body:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None


# --------------------------------------------------------------------------------------------------- main


def listen_address(values: Dict[str, str]) -> Tuple[str, int]:
    """Where to listen: the readiness probe's host:port (from the kubelet stand-in), else the flags'."""
    given = os.environ.get(ENV_LISTEN)
    if given:
        host, _colon, port = given.rpartition(":")
        return host.strip("[]"), int(port)
    port = flags.parse_go_int(values.get("secure-port", "6443"))
    bind = values.get("bind-address", "")
    host = bind if bind not in ("", "0.0.0.0", "::") else values.get("advertise-address", "127.0.0.1")
    return host, port


def image_version() -> str:
    """The version the image tag names (registry.k8s.io/kube-apiserver:v1.29.3), as --version and /version show."""
    image = os.environ.get(ENV_IMAGE, "")
    tag = image.rpartition(":")[2] if ":" in image.rpartition("/")[2] else ""
    return tag if tag.startswith("v") else "v0.0.0-standin"


def start(values: Dict[str, str], klog: Klog) -> Tuple[Server, ServerState]:
    """Everything kube-apiserver does before it serves; raises CommandFailed like it would fail."""
    options = flags.AuditOptions.from_args(values)
    errors = options.validate()
    if not values.get("etcd-servers"):
        errors.append("--etcd-servers must be specified")
    error = flags.aggregate(errors)
    if error:
        raise CommandFailed(error)
    knobs = Knobs()
    if flags.audit_flags_present(values):
        fault = knobs.crash_fault()
        if fault:
            raise CommandFailed(fault)
    version = image_version()
    klog.info("server.go:148", f'"Version info" version="{version}"')

    host, port = listen_address(values)
    if not requestinfo.is_loopback(host):
        raise CommandFailed(f"kube-apiserver stand-in listens on loopback addresses only, not on {host}")
    files = ContainerFiles.from_environment()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert, key = values.get("tls-cert-file"), values.get("tls-private-key-file")
    if not cert or not key:
        raise CommandFailed("kube-apiserver stand-in needs --tls-cert-file and --tls-private-key-file")
    try:
        context.load_cert_chain(files.resolve(cert)[0], files.resolve(key)[0])
    except FileNotFoundError as exc:
        missing = cert if not os.path.exists(files.resolve(cert)[0]) else key
        raise CommandFailed(f"unable to load server certificate: {go_error('open', missing, exc)}") from exc
    except (OSError, ssl.SSLError) as exc:
        raise CommandFailed(f"unable to load server certificate: {exc}") from exc
    error = clientcert.request_client_certificates(context, values.get("client-ca-file"), files.resolve)
    if error:
        raise CommandFailed(error)
    try:
        server = Server((host, port), context)
    except OSError as exc:
        where = f"{host}:{port}"
        raise CommandFailed(
            f"failed to create listener: failed to listen on {where}: listen tcp {where}: bind: "
            f"{(exc.strerror or str(exc)).lower()}"
        ) from exc
    try:
        auditor = build_auditor(options, files, knobs, klog, values)
    except CommandFailed:
        server.server_close()
        raise
    server.state = ServerState(auditor, values, knobs, version)
    klog.info("secure_serving.go:213", f'"Serving securely on {host}:{port}"')
    return server, server.state


def main(argv: Optional[List[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parent = os.environ.get(ENV_PARENT)
    if parent:
        procutil.die_with_parent(signal.SIGTERM)
        if str(os.getppid()) != parent:  # the kubelet is already gone
            return 1
    procutil.set_process_name("kube-apiserver")
    procutil.set_command_line(["kube-apiserver", *argv])
    klog = Klog()
    try:
        parsed = flags.parse_args(argv)
    except flags.FlagError as exc:
        sys.stderr.write(USAGE + f"Error: {exc}\n")
        return 1
    values = parsed.values
    if values.get("help") == "true":
        sys.stdout.write(USAGE)
        return 0
    if values.get("version", "false") != "false":
        sys.stdout.write(f"Kubernetes {image_version()}\n")
        return 0
    if parsed.positional:
        given = "[" + " ".join(json.dumps(arg) for arg in parsed.positional) + "]"
        klog.command_failed(f'"kube-apiserver" does not take any arguments, got {given}')
        return 1
    try:
        server, _state = start(values, klog)
    except CommandFailed as exc:
        klog.command_failed(str(exc))
        return 1

    def stop(signal_number, _frame):
        klog.info(
            "genericapiserver.go:685",
            f'"[graceful-termination] shutdown event" name="{signal.Signals(signal_number).name}"',
        )
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    server.serve_forever(poll_interval=0.2)
    server.server_close()
    server.state.auditor.shutdown()
    return 0

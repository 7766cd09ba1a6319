"""The kube-apiserver stand-in's audit webhook backend, as k8s.io/apiserver's ``plugin/pkg/audit/webhook`` does it.

``--audit-webhook-config-file`` is a kubeconfig read the way client-go's ``clientcmd`` reads it (with the
apiserver's non-interactive loader and no overrides): the ``current-context`` names the cluster and the user; the
cluster's ``server`` is where every batch goes (``POST``, its path included), verified against
``certificate-authority-data`` or the ``certificate-authority`` file (else the system's roots, or nothing with
``insecure-skip-tls-verify``); the user may present a client certificate (``client-certificate[-data]`` and
``client-key[-data]``) or a bearer ``token``. What clientcmd refuses, the stand-in refuses with clientcmd's words,
and kube-apiserver then exits with ``initializing audit webhook: <error>``.

Each call is one ``audit.k8s.io/v1`` ``EventList`` (``Content-Type: application/json``; the items are the events
the log backend writes, without their ``kind``/``apiVersion``, as the apiserver encodes a list), retried on any
error with ``DefaultRetryBackoffWithInitialDelay`` (5 attempts; waits of ``--audit-webhook-initial-backoff``, x1.5
each time, +20 % jitter); the last error is logged like ``audit.HandlePluginError``
(``Error in audit plugin 'webhook' affecting N audit events: Post "URL": ...``) and the events are dropped.

Modes (``--audit-webhook-mode``, ``options.AuditBatchOptions.wrapBackend``):

* ``batch`` (default): ``plugin/pkg/audit/buffered``. Events queue in a buffer of
  ``--audit-webhook-batch-buffer-size`` (full: ``Error in audit plugin 'buffered' ...: audit buffer queue
  blocked``, the event is dropped); one thread collects up to ``--audit-webhook-batch-max-size`` events or until
  ``--audit-webhook-batch-max-wait`` has passed since it started collecting, then hands the batch to a sending
  thread of its own (throttled by ``--audit-webhook-batch-throttle-qps``/``-burst`` when
  ``--audit-webhook-batch-throttle-enable``) and starts the next one at once. Requests never wait for it.
* ``blocking``: each event is sent (with its retries) before the request goes on; errors are logged and ignored.
* ``blocking-strict``: the same, but an event that cannot be sent fails the request; the apiserver's audit filter
  only checks the ``RequestReceived`` stage, so a policy omitting that stage never fails a request this way.

Not stood in: ``--audit-webhook-truncate-*`` (accepted and validated, never truncates), client-go's own retries on
``Retry-After``, proxies and exec/auth-provider plugins in the kubeconfig, HTTP/2 and connection reuse.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import os
import queue
import random
import re
import shutil
import socket
import ssl
import sys
import tempfile
import threading
import time
from http import client as http_client
from typing import Callable, Dict, List, NamedTuple, Optional
from urllib.parse import urlsplit

from standin import audit_event, flags, goyaml

PLUGIN_NAME = "webhook"
BUFFERED_PLUGIN_NAME = "buffered"
ERROR_PREFIX = "initializing audit webhook: "
DEFAULT_INITIAL_BACKOFF = 10.0  # pluginwebhook.DefaultInitialBackoff
DEFAULT_BATCH_MAX_WAIT = 30.0  # defaultBatchMaxWait
REQUEST_TIMEOUT = 30.0  # util/webhook defaultRequestTimeout
BACKOFF_FACTOR, BACKOFF_JITTER, BACKOFF_STEPS = 1.5, 0.2, 5  # DefaultRetryBackoffWithInitialDelay
SHUTDOWN_WAIT = 3.0  # how long a stopping apiserver waits for batches in flight (kube-apiserver: until sent)
EMPTY_CONFIG = "no configuration has been provided, try setting KUBERNETES_MASTER environment variable"
DEPRECATED_BACKOFF_FLAG = "audit-webhook-batch-initial-backoff"

_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_UNKNOWN_AUTHORITY = {2, 18, 19, 20, 21}  # OpenSSL verify codes Go reports as an unknown authority
_EXPIRED = {9, 10}
_TLS_ALERTS = {
    "BAD_CERTIFICATE": "bad certificate",
    "CERTIFICATE_REQUIRED": "certificate required",
    "UNKNOWN_CA": "unknown certificate authority",
    "HANDSHAKE_FAILURE": "handshake failure",
    "PROTOCOL_VERSION": "protocol version not supported",
    "CERTIFICATE_EXPIRED": "expired certificate",
}
_STATUS_MESSAGES = {  # apierrors.NewGenericServerResponse for a body that is no Status
    400: "the server rejected our request for an unknown reason",
    401: "the server has asked for the client to provide credentials",
    404: "the server could not find the requested resource",
    405: "the server does not allow this method on the requested resource",
    406: "the server was unable to respond with a content type that the client supports",
    409: "the server reported a conflict",
    415: "the server was unable to respond with a content type that the client supports",
    422: "the server rejected our request due to an error in our request",
    429: "the server has received too many requests and has asked us to try again later",
    503: "the server is currently unable to handle the request",
    504: "the server was unable to return a response in the time allotted, but may still be processing the request",
}


class WebhookError(Exception):
    """The webhook kubeconfig cannot be used: kube-apiserver exits 1 with ``initializing audit webhook: <this>``."""


class SendError(Exception):
    """One POST failed; the text is the Go error's."""


def parse_go_duration(text: str) -> float:
    """time.ParseDuration's value in seconds (the flag parser has already checked the syntax)."""
    sign = -1.0 if text.startswith("-") else 1.0
    body = text.lstrip("+-")
    if body == "0":
        return 0.0
    return sign * sum(float(number) * _DURATION_UNITS[unit] for number, unit in _DURATION_PART.findall(body))


class Settings(NamedTuple):
    config_file: str
    mode: str
    version: str
    initial_backoff: float
    buffer_size: int
    max_size: int
    max_wait: float
    throttle_enable: bool
    throttle_qps: float
    throttle_burst: int

    @classmethod
    def from_options(cls, options: flags.AuditOptions, values: Dict[str, str]) -> Settings:
        batch = options.batch["webhook"]
        # both flags set the same variable; pflag keeps the later one, the stand-in prefers the current name
        backoff = values.get("audit-webhook-initial-backoff") or values.get(DEPRECATED_BACKOFF_FLAG)
        max_wait = values.get("audit-webhook-batch-max-wait")
        return cls(
            config_file=options.webhook_config_file,
            mode=options.webhook_mode,
            version=options.webhook_version,
            initial_backoff=parse_go_duration(backoff) if backoff else DEFAULT_INITIAL_BACKOFF,
            buffer_size=int(batch["buffer_size"]),
            max_size=int(batch["max_size"]),
            max_wait=parse_go_duration(max_wait) if max_wait else DEFAULT_BATCH_MAX_WAIT,
            throttle_enable=bool(batch["throttle_enable"]),
            throttle_qps=float(batch["qps"]),
            throttle_burst=int(batch["burst"]),
        )


# --------------------------------------------------------------------------------------------------- kubeconfig


class Target(NamedTuple):
    """Where and how to POST: the kubeconfig's cluster and user, ready to use."""

    url: str  # the request URL as Go prints it in errors
    host: str
    port: int
    path: str
    tls: Optional[ssl.SSLContext]  # None: plain http
    server_name: str
    headers: Dict[str, str]


def _named(config: Dict, key: str, field: str, path: str) -> Dict[str, Dict]:
    entries = config.get(key) or []
    if not isinstance(entries, list):
        raise WebhookError(
            f'error loading config file "{path}": json: cannot unmarshal object into Go struct '
            f"field Config.{key} of type []v1.Named{field.capitalize()}"
        )
    named: Dict[str, Dict] = {}
    for entry in entries:
        if isinstance(entry, dict) and isinstance(entry.get(field) or {}, dict):
            named[str(entry.get("name") or "")] = entry.get(field) or {}
    return named


def _decode_data(value, path: str) -> bytes:
    """A kubeconfig ``*-data`` field: base64 as encoding/json decodes []byte."""
    text = str(value)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        bad = next((index for index, char in enumerate(text) if not re.match(r"[A-Za-z0-9+/=]", char)), len(text))
        raise WebhookError(f'error loading config file "{path}": illegal base64 data at input byte {bad}') from None


def _local_path(value, config_path: str) -> str:
    """clientcmd.ResolveLocalPaths: a relative path is relative to the kubeconfig's directory."""
    text = str(value)
    return text if os.path.isabs(text) else os.path.join(os.path.dirname(config_path), text)


def _open_error(path: str, files, exc: Optional[OSError] = None) -> Optional[str]:
    """os.Open's error for container path ``path`` as Go prints it, or None when it opens."""
    if exc is None:
        try:
            with open(files.resolve(path)[0], "rb"):
                return None
        except OSError as error:
            exc = error
    return f"open {path}: {(exc.strerror or str(exc)).lower()}"


def load_target(path: str, files, user_agent: str) -> Target:
    """clientcmd's ClientConfig for the kubeconfig at container path ``path``, then rest's TLS and URL set-up."""
    try:
        text = files.read_text(path)
    except OSError as exc:
        raise WebhookError(f"invalid configuration: stat {path}: {(exc.strerror or str(exc)).lower()}") from exc
    try:
        config = goyaml.load(text)
    except goyaml.YAMLError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "invalid YAML"
        raise WebhookError(f'error loading config file "{path}": yaml: {first}') from exc
    if config is None:
        config = {}
    if not isinstance(config, dict):
        raise WebhookError(
            f'error loading config file "{path}": couldn\'t get version/kind; json parse error: json: cannot '
            f"unmarshal {'array' if isinstance(config, list) else 'string'} into Go value of type "
            'struct { APIVersion string "json:\\"apiVersion,omitempty\\""; Kind string '
            '"json:\\"kind,omitempty\\"" }'
        )
    contexts = _named(config, "contexts", "context", path)
    clusters = _named(config, "clusters", "cluster", path)
    users = _named(config, "users", "user", path)

    context_name = str(config.get("current-context") or "")
    context = contexts.get(context_name, {})
    cluster_name, user_name = str(context.get("cluster") or ""), str(context.get("user") or "")
    cluster, user = clusters.get(cluster_name, {}), users.get(user_name, {})

    # DirectClientConfig.ConfirmUsable: context, then user, then cluster; one "invalid configuration" for all
    errors: List[str] = []
    if context_name and context_name not in contexts:
        errors.append(f"context was not found for specified context: {context_name}")
    errors.extend(_user_errors(user_name, user, path, files))
    cluster_errors = _cluster_errors(cluster_name, cluster, path, files)
    errors.extend(cluster_errors)
    if errors == ["cluster has no server defined"]:
        errors = [EMPTY_CONFIG]  # nothing usable at all: clientcmd's "empty config"
    if errors:
        joined = errors[0] if len(errors) == 1 else "[" + ", ".join(errors) + "]"
        raise WebhookError(f"invalid configuration: {joined}")
    return _target(cluster, user, path, files, user_agent)


def _cluster_errors(name: str, cluster: Dict, path: str, files) -> List[str]:
    if not any(value not in (None, "", False, [], {}) for value in cluster.values()):
        return ["cluster has no server defined"]
    errors = []
    if not cluster.get("server"):
        errors.append(f'no server found for cluster "{name}"' if name else "default cluster has no server defined")
    if cluster.get("certificate-authority") and cluster.get("certificate-authority-data"):
        errors.append(
            f"certificate-authority-data and certificate-authority are both specified for {name}. "
            "certificate-authority-data will override."
        )
    if cluster.get("certificate-authority"):
        ca_path = _local_path(cluster["certificate-authority"], path)
        error = _open_error(ca_path, files)
        if error:
            errors.append(f"unable to read certificate-authority {ca_path} for {name} due to {error}")
    return errors


def _user_errors(name: str, user: Dict, path: str, files) -> List[str]:
    errors = []
    methods = []
    if user.get("token") or user.get("tokenFile"):
        methods.append("token")
    if user.get("username") or user.get("password"):
        methods.append("basicAuth")
    cert, cert_data = user.get("client-certificate"), user.get("client-certificate-data")
    key, key_data = user.get("client-key"), user.get("client-key-data")
    if cert or cert_data:
        if cert and cert_data:
            errors.append(
                f"client-cert-data and client-cert are both specified for {name}. client-cert-data will override."
            )
        if key and key_data:
            errors.append(
                f"client-key-data and client-key are both specified for {name}; client-key-data will override"
            )
        if not key and not key_data:
            errors.append(
                f"client-key-data or client-key must be specified for {name} to use the clientCert authentication "
                "method."
            )
        for field, value in (("client-cert", cert), ("client-key", key)):
            if value:
                file_path = _local_path(value, path)
                error = _open_error(file_path, files)
                if error:
                    errors.append(f"unable to read {field} {file_path} for {name} due to {error}")
    if len(methods) > 1:
        errors.append(
            f"more than one authentication method found for {name}; found [{' '.join(methods)}], only one is allowed"
        )
    return errors


def _read_bytes(container_path: str, files) -> bytes:
    with open(files.resolve(container_path)[0], "rb") as handle:
        return handle.read()


def _target(cluster: Dict, user: Dict, path: str, files, user_agent: str) -> Target:
    """rest.UnversionedRESTClientFor: the server URL and the transport (TLS, credentials)."""
    server = str(cluster["server"])
    ca_pem = (
        _decode_data(cluster["certificate-authority-data"], path) if cluster.get("certificate-authority-data") else None
    )
    if ca_pem is None and cluster.get("certificate-authority"):
        ca_pem = _read_bytes(_local_path(cluster["certificate-authority"], path), files)
    insecure = cluster.get("insecure-skip-tls-verify") is True
    if "://" not in server:  # rest.DefaultServerURL: a bare host:port is https when TLS is configured
        server = ("https://" if ca_pem or insecure else "http://") + server
    split = urlsplit(server)
    if split.scheme not in ("http", "https") or not split.hostname:
        raise WebhookError(f"host must be a URL or a host:port pair: {json.dumps(str(cluster['server']))}")
    try:
        port = split.port or (443 if split.scheme == "https" else 80)
    except ValueError as exc:
        raise WebhookError(f'parse "{server}": invalid port "{split.netloc.rpartition(":")[2]}" after host') from exc
    request_path = "/" + "/".join(part for part in split.path.split("/") if part)
    headers = {
        "Content-Type": "application/json",
        "Accept": "application/json, */*",
        "User-Agent": user_agent,
    }
    token = user.get("token")
    if not token and user.get("tokenFile"):
        try:
            token = _read_bytes(_local_path(user["tokenFile"], path), files).decode().strip()
        except OSError as exc:
            raise WebhookError(_open_error(_local_path(user["tokenFile"], path), files, exc)) from exc
    if token:
        headers["Authorization"] = f"Bearer {token}"
    elif user.get("username") or user.get("password"):
        pair = f"{user.get('username') or ''}:{user.get('password') or ''}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()

    tls = None
    if split.scheme == "https":
        if insecure and ca_pem:
            raise WebhookError("specifying a root certificates file with the insecure flag is not allowed")
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        tls.minimum_version = ssl.TLSVersion.TLSv1_2
        if insecure:
            tls.check_hostname = False
            tls.verify_mode = ssl.CERT_NONE
        elif ca_pem:
            try:
                tls.load_verify_locations(cadata=ca_pem.decode("ascii", "replace"))
            except (ssl.SSLError, ValueError) as exc:
                raise WebhookError("unable to load root certificates: unable to parse bytes as PEM block") from exc
        else:
            tls.load_default_certs()
        _load_client_certificate(tls, user, path, files)
    return Target(
        url=f"{split.scheme}://{split.netloc}{request_path}",
        host=split.hostname,
        port=port,
        path=request_path,
        tls=tls,
        server_name=str(cluster.get("tls-server-name") or split.hostname),
        headers=headers,
    )


def _load_client_certificate(tls: ssl.SSLContext, user: Dict, path: str, files) -> None:
    cert = key = None
    if user.get("client-certificate-data"):
        cert = _decode_data(user["client-certificate-data"], path)
    elif user.get("client-certificate"):
        cert = _read_bytes(_local_path(user["client-certificate"], path), files)
    if user.get("client-key-data"):
        key = _decode_data(user["client-key-data"], path)
    elif user.get("client-key"):
        key = _read_bytes(_local_path(user["client-key"], path), files)
    if cert is None or key is None:  # transport.Config.HasCertAuth: both or nothing
        return
    if b"-----BEGIN" not in cert:
        raise WebhookError("tls: failed to find any PEM data in certificate input")
    if b"-----BEGIN" not in key:
        raise WebhookError("tls: failed to find any PEM data in key input")
    directory = tempfile.mkdtemp(prefix="kube-apiserver-standin-webhook-")
    try:
        cert_file, key_file = os.path.join(directory, "client.crt"), os.path.join(directory, "client.key")
        for file_path, pem in ((cert_file, cert), (key_file, key)):
            with open(os.open(file_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as handle:
                handle.write(pem)
        try:
            tls.load_cert_chain(cert_file, key_file)
        except ssl.SSLError as exc:
            if "KEY_VALUES_MISMATCH" in str(exc):
                raise WebhookError("tls: private key does not match public key") from exc
            raise WebhookError(f"tls: failed to parse certificate or key: {exc}") from exc
    finally:
        shutil.rmtree(directory, ignore_errors=True)


# --------------------------------------------------------------------------------------------------- sending


def event_list(events: List[Dict], version: str) -> bytes:
    """The request body: an EventList as the apiserver's codec writes it (items carry no kind/apiVersion)."""
    items = [{key: value for key, value in event.items() if key not in ("kind", "apiVersion")} for event in events]
    return audit_event.encode_json({"kind": "EventList", "apiVersion": version, "metadata": {}, "items": items})


def _tls_error(exc: ssl.SSLError, host: str) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        code = getattr(exc, "verify_code", None)
        if code in _UNKNOWN_AUTHORITY:
            reason = "certificate signed by unknown authority"
        elif code in _EXPIRED:
            reason = "certificate has expired or is not yet valid"
        else:
            reason = getattr(exc, "verify_message", "") or str(exc)
            reason = f"{reason} (host {host})"
        return f"tls: failed to verify certificate: x509: {reason}"
    name = str(getattr(exc, "reason", "") or "")
    if "ALERT_" in name:
        alert = name.split("ALERT_", 1)[1]
        return f"remote error: tls: {_TLS_ALERTS.get(alert, alert.lower().replace('_', ' '))}"
    if name == "WRONG_VERSION_NUMBER":
        return "tls: first record does not look like a TLS handshake"
    if isinstance(exc, ssl.SSLEOFError) or name == "UNEXPECTED_EOF_WHILE_READING":
        return "EOF"
    return f"tls: {name.lower().replace('_', ' ') or exc}"


def _status_error(status: int, body: bytes) -> str:
    """rest.Result.Error() of a non-2xx answer."""
    try:
        decoded = json.loads(body)
    except ValueError:
        decoded = None
    if isinstance(decoded, dict) and decoded.get("kind") == "Status" and decoded.get("message"):
        return str(decoded["message"])
    text = body.decode("utf-8", "replace").strip()
    if status == 403 and text:
        return text
    if status in _STATUS_MESSAGES:
        return _STATUS_MESSAGES[status]
    if status >= 500:
        return (
            f"an error on the server ({json.dumps(text, ensure_ascii=False)}) has prevented the request from succeeding"
        )
    return f"the server responded with the status code {status} but did not return more information"


def post(target: Target, body: bytes, timeout: float = REQUEST_TIMEOUT) -> None:
    """One POST of ``body``; raises SendError with the Go error's text unless the answer is 2xx."""
    where = f"[{target.host}]:{target.port}" if ":" in target.host else f"{target.host}:{target.port}"
    prefix = f'Post "{target.url}": '
    try:
        sock = socket.create_connection((target.host, target.port), timeout=timeout)
    except socket.timeout:
        raise SendError(f"{prefix}dial tcp {where}: i/o timeout") from None
    except OSError as exc:
        raise SendError(f"{prefix}dial tcp {where}: connect: {(exc.strerror or str(exc)).lower()}") from None
    connection = http_client.HTTPConnection(target.host, target.port, timeout=timeout)
    try:
        if target.tls is not None:
            sock = target.tls.wrap_socket(sock, server_hostname=target.server_name)
        connection.sock = sock
        connection.request("POST", target.path, body=body, headers=target.headers)
        response = connection.getresponse()
        answer = response.read()
    except ssl.SSLError as exc:
        raise SendError(prefix + _tls_error(exc, target.server_name)) from None
    except socket.timeout:
        raise SendError(f"{prefix}context deadline exceeded (Client.Timeout exceeded while awaiting headers)") from None
    except (http_client.RemoteDisconnected, http_client.IncompleteRead):
        raise SendError(f"{prefix}EOF") from None
    except OSError as exc:
        raise SendError(f"{prefix}read tcp: {(exc.strerror or str(exc)).lower()}") from None
    finally:
        connection.close()
        with contextlib.suppress(OSError):
            sock.close()
    if not 200 <= response.status < 300:
        raise SendError(_status_error(response.status, answer))


def event_string(event: Dict) -> str:
    """audit.EventString: the legacy log line without its newline."""
    return audit_event.encode_legacy(event).decode("utf-8").rstrip("\n")


class Client:
    """The webhook plugin: one EventList per call, retried on every error, then logged as a plugin error."""

    def __init__(self, target: Target, settings: Settings, klog, sleep: Callable[[float], None] = time.sleep):
        self.target = target
        self.settings = settings
        self.klog = klog
        self.sleep = sleep

    def process_events(self, events: List[Dict]) -> bool:
        body = event_list(events, self.settings.version)
        delay = self.settings.initial_backoff
        error = ""
        for step in range(BACKOFF_STEPS):
            try:
                post(self.target, body)
                return True
            except SendError as exc:
                error = str(exc)
            if step < BACKOFF_STEPS - 1:
                self.sleep(delay + random.random() * BACKOFF_JITTER * delay)
                delay *= BACKOFF_FACTOR
        handle_plugin_error(self.klog, PLUGIN_NAME, error, events)
        return False


def handle_plugin_error(klog, plugin: str, error: str, events: List[Dict]) -> None:
    """audit.HandlePluginError: one error with every impacted event in the legacy format."""
    lines = [f"Error in audit plugin '{plugin}' affecting {len(events)} audit events: {error}", "Impacted events:"]
    lines.extend(event_string(event) for event in events)
    klog.error("metrics.go:117", "\n".join(lines))


# --------------------------------------------------------------------------------------------------- modes


class BlockingBackend:
    """``blocking`` (errors ignored) and ``blocking-strict`` (an unsent event is a failed request)."""

    def __init__(self, client: Client, strict: bool):
        self.client = client
        self.strict = strict

    def process(self, event: Dict) -> bool:
        sent = self.client.process_events([event])
        return sent or not self.strict

    def shutdown(self) -> None:
        """Nothing is buffered."""


class TokenBucket:
    """flowcontrol.NewTokenBucketRateLimiter: ``burst`` at once, then ``qps`` per second; accept() waits."""

    def __init__(self, qps: float, burst: int, clock=time.monotonic, sleep=time.sleep):
        self.qps, self.burst = qps, burst
        self.tokens = float(burst)
        self.clock, self.sleep = clock, sleep
        self.last = clock()

    def accept(self) -> None:
        now = self.clock()
        self.tokens = min(float(self.burst), self.tokens + (now - self.last) * self.qps)
        self.last = now
        self.tokens -= 1
        if self.tokens < 0:
            self.sleep(-self.tokens / self.qps)


class BatchBackend:
    """plugin/pkg/audit/buffered: a bounded queue, a collecting thread, one sending thread per batch."""

    def __init__(self, client: Client, settings: Settings):
        self.client = client
        self.settings = settings
        self.buffer: queue.Queue = queue.Queue(maxsize=settings.buffer_size)
        self.throttle = (
            TokenBucket(settings.throttle_qps, settings.throttle_burst) if settings.throttle_enable else None
        )
        self.stopping = threading.Event()
        self.senders: List[threading.Thread] = []
        self.senders_lock = threading.Lock()
        self.collector = threading.Thread(target=self._run, name="audit-webhook-batch", daemon=True)
        self.collector.start()

    def process(self, event: Dict) -> bool:
        try:
            self.buffer.put_nowait(event)
        except queue.Full:
            handle_plugin_error(self.client.klog, BUFFERED_PLUGIN_NAME, "audit buffer queue blocked", [event])
        return True  # the buffered backend never fails a request

    def _collect(self) -> List[Dict]:
        """collectEvents: up to max-size events, until max-wait has passed since this collection started."""
        events: List[Dict] = []
        deadline = time.monotonic() + self.settings.max_wait
        while len(events) < self.settings.max_size:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            if self.stopping.is_set():
                with contextlib.suppress(queue.Empty):
                    while len(events) < self.settings.max_size:
                        events.append(self.buffer.get_nowait())
                break
            try:
                events.append(self.buffer.get(timeout=min(remaining, 0.1)))
            except queue.Empty:
                continue
        return events

    def _send(self, events: List[Dict]) -> None:
        if not events:
            return
        if self.throttle is not None:
            self.throttle.accept()
        sender = threading.Thread(target=self.client.process_events, args=(events,), daemon=True)
        with self.senders_lock:
            self.senders = [thread for thread in self.senders if thread.is_alive()]
            self.senders.append(sender)
        sender.start()

    def _run(self) -> None:
        while not self.stopping.is_set():
            try:
                self._send(self._collect())
            except Exception as exc:  # runtime.HandleCrash: the collector goes on
                sys.stderr.write(f"kube-apiserver stand-in: audit webhook batch: {exc!r}\n")
        while True:  # after the stop: what is left in the buffer, in batches
            events = self._collect()
            if not events:
                return
            self._send(events)

    def shutdown(self, timeout: float = SHUTDOWN_WAIT) -> None:
        """Shutdown: send what is buffered and wait for the batches in flight (bounded, unlike kube-apiserver)."""
        deadline = time.monotonic() + timeout
        self.stopping.set()
        self.collector.join(timeout)
        with self.senders_lock:
            senders = list(self.senders)
        for sender in senders:
            sender.join(max(0.0, deadline - time.monotonic()))


def build(settings: Settings, files, klog, user_agent: str, values: Dict[str, str]):
    """AuditWebhookOptions.newUntruncatedBackend: the backend for the mode; raises WebhookError."""
    if DEPRECATED_BACKOFF_FLAG in values:  # pflag's notice, at parse time
        klog.stream.write(
            f"Flag --{DEPRECATED_BACKOFF_FLAG} has been deprecated, Deprecated, use --audit-webhook-initial-backoff "
            "instead.\n"
        )
    target = load_target(settings.config_file, files, user_agent)
    client = Client(target, settings, klog)
    if settings.mode == "batch":
        return BatchBackend(client, settings)
    return BlockingBackend(client, strict=settings.mode == "blocking-strict")

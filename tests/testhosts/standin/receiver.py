#!/usr/bin/env python
"""A receiver of kube-apiserver audit webhook batches, over TLS only, for the tests and the molecule scenarios.

    python receiver.py --listen 127.0.0.1:PORT --cert server.crt --key server.key --out events.jsonl \\
        [--status 200] [--client-ca ca.crt]

Every ``POST`` whose body is an ``EventList`` (any path) is answered with ``--status`` (empty body); with a
2xx status its items are appended to ``--out``, one JSON line per event::

    {"time": "2024-05-28T13:39:50.342694Z", "batchSize": 3, "path": "/audit", "event": {...}}

(``time``: when the request arrived, UTC; ``batchSize``: the number of items of that request). A body that is no
``EventList`` is answered 400 and recorded nowhere, another method 405. ``--client-ca`` demands a client
certificate of that CA (the handshake fails without one). Port 0 picks a free port; the first line on standard
output says where it listens: ``listening on https://127.0.0.1:PORT``. SIGTERM or SIGINT stops it.

Importable: ``Receiver(cert, key, out=None, status=200).start()`` serves in a thread (``.port``, ``.batches``,
``.events()``, ``.wait_for_events(n)``, ``.status`` may be changed at any time, ``.stop()``). Standard library
only, so it runs with any Python 3 and borrows nothing from the stand-ins or the collection.
"""

from __future__ import annotations

import argparse
import datetime
import http.server
import json
import signal
import socket
import ssl
import sys
import threading
import time
from typing import Dict, List, Optional, Tuple


def _now_text(moment: float) -> str:
    return datetime.datetime.fromtimestamp(moment, tz=datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: Tuple[str, int], tls: ssl.SSLContext, receiver: Receiver):
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.tls = tls
        self.receiver = receiver
        super().__init__(address, _Handler)

    def handle_error(self, request, client_address):
        """A client that fails the TLS handshake or drops the connection: nothing to say."""


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "audit-webhook-receiver"

    def setup(self):
        self.request.settimeout(30)
        self.request = self.server.tls.wrap_socket(self.request, server_side=True)  # in this connection's thread
        super().setup()

    def finish(self):
        try:
            super().finish()
        finally:
            self.request.close()

    def log_message(self, format, *args):
        """Quiet: the events file is the record."""

    def do_POST(self):
        received = time.time()
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        try:
            decoded = json.loads(body)
        except ValueError:
            decoded = None
        if not isinstance(decoded, dict) or decoded.get("kind") != "EventList":
            self._answer(400, b"receiver: the body is no EventList\n")
            return
        status = self.server.receiver.status
        if 200 <= status < 300:
            self.server.receiver.record(received, self.path, dict(self.headers.items()), decoded)
        self._answer(status, b"" if 200 <= status < 300 else f"receiver: answering {status}\n".encode())

    def do_GET(self):
        self._answer(405, b"receiver: POST EventLists here\n")

    do_PUT = do_PATCH = do_DELETE = do_GET

    def _answer(self, status: int, data: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class Receiver:
    """The receiver in a thread of this process (tests), or in the foreground (``main``)."""

    def __init__(
        self,
        cert: str,
        key: str,
        out: Optional[str] = None,
        status: int = 200,
        *,
        listen: Tuple[str, int] = ("127.0.0.1", 0),
        client_ca: Optional[str] = None,
    ):
        self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.tls.load_cert_chain(cert, key)
        if client_ca:
            self.tls.load_verify_locations(cafile=client_ca)
            self.tls.verify_mode = ssl.CERT_REQUIRED
        self.out = out
        self.status = status
        self.listen = listen
        self.batches: List[Dict] = []  # {"time", "path", "headers", "apiVersion", "items"} per request recorded
        self.lock = threading.Condition()
        self.server: Optional[_Server] = None
        self.thread: Optional[threading.Thread] = None

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    @property
    def url(self) -> str:
        host = self.server.server_address[0]
        return f"https://{'[' + host + ']' if ':' in host else host}:{self.port}"

    def record(self, received: float, path: str, headers: Dict[str, str], event_list: Dict) -> None:
        items = event_list.get("items") or []
        with self.lock:
            batch = {"time": received, "path": path, "headers": headers, "apiVersion": event_list.get("apiVersion")}
            self.batches.append({**batch, "items": items})
            if self.out:
                with open(self.out, "a", encoding="utf-8") as handle:
                    for item in items:
                        line = {"time": _now_text(received), "batchSize": len(items), "path": path, "event": item}
                        handle.write(json.dumps(line, separators=(",", ":")) + "\n")
            self.lock.notify_all()

    def events(self) -> List[Dict]:
        with self.lock:
            return [item for batch in self.batches for item in batch["items"]]

    def wait_for_events(self, count: int, timeout: float = 5.0) -> List[Dict]:
        """Every event received, once there are at least ``count`` (or when ``timeout`` has passed)."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while sum(len(batch["items"]) for batch in self.batches) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self.lock.wait(remaining)
            return [item for batch in self.batches for item in batch["items"]]

    def bind(self) -> Receiver:
        self.server = _Server(self.listen, self.tls, self)
        return self

    def start(self) -> Receiver:
        if self.server is None:
            self.bind()
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            if self.thread is not None:
                self.server.shutdown()
                self.thread.join(5)
            self.server.server_close()
            self.server = None


def _listen_address(text: str) -> Tuple[str, int]:
    host, colon, port = text.rpartition(":")
    if not colon or not port.isdigit():
        raise argparse.ArgumentTypeError(f"not HOST:PORT: {text}")
    return host.strip("[]") or "127.0.0.1", int(port)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Receive kube-apiserver audit webhook batches over TLS.")
    parser.add_argument("--listen", type=_listen_address, required=True, help="HOST:PORT (port 0: any free port)")
    parser.add_argument("--cert", required=True, help="server certificate (PEM)")
    parser.add_argument("--key", required=True, help="its private key (PEM)")
    parser.add_argument("--out", required=True, help="events file: one JSON line per event received")
    parser.add_argument("--status", type=int, default=200, help="HTTP status to answer (default 200)")
    parser.add_argument("--client-ca", help="demand a client certificate of this CA")
    args = parser.parse_args(argv)
    try:
        receiver = Receiver(
            args.cert, args.key, args.out, args.status, listen=args.listen, client_ca=args.client_ca
        ).bind()
    except (OSError, ssl.SSLError) as exc:
        sys.stderr.write(f"receiver: {exc}\n")
        return 1

    def stop(_signal_number, _frame):
        threading.Thread(target=receiver.server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    sys.stdout.write(f"listening on {receiver.url}\n")
    sys.stdout.flush()
    receiver.server.serve_forever(poll_interval=0.2)
    receiver.server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

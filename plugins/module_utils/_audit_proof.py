# Copyright: (c) 2026, NNF kube_audit maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Proof that a ready kube-apiserver audits: one request with a unique ``Audit-ID``, then that ID in its log.

kube-apiserver takes a client's ``Audit-ID`` header as the event's ``auditID`` (k8s.io/apiserver
``WithAuditInit``), so a request sent with a fresh ID and found in the audit log afterwards proves that this
process writes events to this file with this policy. The request goes to the master's own kube-apiserver (the host
and port its readiness probe names), never to the kubeconfig's server, which in an HA cluster is a load balancer
that may pick another master. It is authenticated with the kubeconfig's credentials and the server's certificate
verified with its certificate authority (``_kube_client.send_read``). Any HTTP answer counts as sent: a 404 or 403
is audited like a 200.

The log is searched from where it ended before the request (its inode and size), in the file that had that inode
(the current one, or the newest backup after a rotation) and in a new current file from its start. Standard
library only: this runs on the master.
"""

import os
import time

from ansible_collections.nnf.kube_audit.plugins.module_utils import _flags, _kube_client
from ansible_collections.nnf.kube_audit.plugins.module_utils._errors import KubeAuditError
from ansible_collections.nnf.kube_audit.plugins.module_utils.apiserver_process import node_address

DEFAULT_SECURE_PORT = 6443  # kube-apiserver's --secure-port default
_CHUNK = 1024 * 1024


class NotLogged(KubeAuditError):
    """kube-apiserver is ready but did not log the proof request (or the request could not be sent)."""


def server_url(probe, flags):
    """``https://host:port`` of the master's own kube-apiserver: its probe's host and port, else its flags'.

    ``probe`` is ``apiserver_process.resolve_probe``'s (host known) or None when the container has no HTTP probe:
    then the bind address (``node_address``) and ``--secure-port`` of ``flags``, the running process's own
    arguments (plain text: values the kubelet resolves at run time are resolved there).
    """
    if probe is not None:
        host, port = probe.host, probe.port
    else:
        host = node_address(flags)
        secure_port = _flags.value_of(list(flags), "secure-port") or ""
        port = int(secure_port) if secure_port.isdigit() else DEFAULT_SECURE_PORT
    host = f"[{host}]" if ":" in host else host
    return f"https://{host}:{port}"


def log_position(log_path):
    """``(inode, size)`` of the audit log now, or None when it does not exist yet."""
    try:
        info = os.stat(log_path)
    except FileNotFoundError:
        return None
    return info.st_ino, info.st_size


def _contains(path, needle, offset):
    """Whether the file at ``path`` holds ``needle`` at or after ``offset`` (read in chunks, overlapping)."""
    try:
        with open(path, "rb") as handle:
            handle.seek(offset)
            tail = b""
            while True:
                chunk = handle.read(_CHUNK)
                if not chunk:
                    return False
                if needle in tail + chunk:
                    return True
                tail = chunk[-len(needle) :]
    except FileNotFoundError:
        return False


def _file_with_inode(directory, inode):
    try:
        names = os.listdir(directory)
    except OSError:
        return None
    for name in names:
        path = os.path.join(directory, name)
        try:
            if os.stat(path).st_ino == inode:
                return path
        except OSError:
            continue
    return None


def logged(log_path, audit_id, before):
    """Whether an event with ``audit_id`` was written to ``log_path`` after ``before`` (``log_position``)."""
    needle = audit_id.encode("ascii")  # unique (a fresh UUID): in the json and the legacy format alike
    now = log_position(log_path)
    if before is None:
        return now is not None and _contains(log_path, needle, 0)
    inode, offset = before
    if now is not None and now[0] == inode and now[1] >= offset:
        return _contains(log_path, needle, offset)
    # rotated (or truncated): the rest of the old file, wherever it went, then the new file from its start
    old = _file_with_inode(os.path.dirname(log_path) or ".", inode)
    if old is not None and old != log_path and _contains(old, needle, offset):
        return True
    return now is not None and _contains(log_path, needle, 0)


def prove(kubeconfig, server, path, log_path, *, audit_id, timeout, clock=time.monotonic, sleep=time.sleep, send=None):
    """Send ``GET path`` with ``Audit-ID: audit_id`` to ``server`` and wait until ``log_path`` shows that ID.

    Returns ``{audit_id, request, server, status, log_path, elapsed}``; NotLogged when the request cannot be sent
    (no HTTP answer) or the ID is not in the log within ``timeout`` seconds.
    """
    send = send or _kube_client.send_read
    began = clock()
    request = f"GET {path}"
    before = log_position(log_path)
    try:
        status, message = send(kubeconfig, server, path, {"Audit-ID": audit_id}, max(1, min(30, timeout)))
    except KubeAuditError as exc:
        raise NotLogged(f"the proof request could not be sent: {exc}") from None
    answered = f"answered {status}" + (f" {message}" if message and not 200 <= status < 300 else "")
    deadline = began + timeout
    while True:
        if logged(log_path, audit_id, before):
            return {
                "audit_id": audit_id,
                "request": request,
                "server": server,
                "status": status,
                "log_path": log_path,
                "elapsed": round(clock() - began, 1),
            }
        if clock() >= deadline:
            raise NotLogged(
                f"the proof request {request} to {server} ({answered}, Audit-ID {audit_id}) is not in {log_path} "
                f"after {timeout} seconds"
            )
        sleep(min(0.2, max(0.0, deadline - clock())))

# Copyright: (c) 2026, NNF kube_audit maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a master shows about its auditing, read on the master with the standard library only (for audit_status).

The controller decodes the manifest and judges (drift, benchmarks); this only reads, and never fails for what it
finds: a missing file, an unreadable directory or no process are facts in the result.

* ``live_process()``: the running kube-apiserver the kubelet started (identified as ``apiserver_wait`` identifies
  it: ``/proc/PID/comm``, this network namespace), the newest when there are several: pid, argv, start time.
* ``files(paths)``: each installed file's sha256 and size (and, up to a limit, its bytes, for the controller to
  read the policy).
* ``log(path)``: the audit log's size, modification time, its lumberjack backups and their total size, the time of
  its newest event (from the last complete line), and the free space of its file system.
"""

import base64
import hashlib
import json
import os

from ansible_collections.nnf.kube_audit.plugins.module_utils import apiserver_process as ap
from ansible_collections.nnf.kube_audit.plugins.module_utils import audit_log

DEFAULT_MAX_CONTENT_BYTES = 1024 * 1024  # an audit policy is small; a bigger file is hashed, not returned
_TAIL_BYTES = 64 * 1024


def live_process(name=ap.PROCESS_NAME, proc_root="/proc"):
    """``{pid, argv, started (UTC), started_epoch, count (processes seen)}`` of the newest kube-apiserver, or None."""
    own = ap.net_namespace(proc_root)
    processes = [p for p in ap.list_processes(name, proc_root) if own is None or p.net_ns in (None, own)]
    if not processes:
        return None
    newest = processes[-1]  # list_processes sorts by start time
    started = ap.boot_to_wall(newest.started)
    return {
        "pid": newest.pid,
        "argv": newest.argv,
        "started": ap.iso_utc(started),
        "started_epoch": started,
        "count": len(processes),
    }


def file_state(path, max_content_bytes=DEFAULT_MAX_CONTENT_BYTES):
    """``{path, exists, size, sha256, content_base64 (None above the limit), error}`` of one file."""
    state = {"path": path, "exists": False, "size": None, "sha256": None, "content_base64": None, "error": None}
    digest = hashlib.sha256()
    kept = bytearray()
    try:
        with open(path, "rb") as handle:
            state["exists"] = True
            size = 0
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
                size += len(chunk)
                if size <= max_content_bytes:
                    kept += chunk
    except FileNotFoundError:
        return state
    except OSError as exc:
        state["error"] = f"cannot read {path}: {exc.strerror or exc}"
        return state
    state.update(size=size, sha256=digest.hexdigest())
    if size <= max_content_bytes:
        state["content_base64"] = base64.b64encode(bytes(kept)).decode("ascii")
    return state


def _newest_event_time(path):
    """The time of the last complete event line of ``path`` (audit_log.event_time_key's), or None."""
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            end = handle.tell()
            handle.seek(max(0, end - _TAIL_BYTES))
            tail = handle.read()
    except OSError:
        return None
    for line in reversed(tail.split(b"\n")):
        if not line.strip():
            continue
        try:
            event = json.loads(line.decode("utf-8"))
        except ValueError:  # a partial first line of the tail, or a legacy-format line
            continue
        key = audit_log.event_time_key(event)
        if key:
            return key
    return None


def log_state(path):
    """The audit log at ``path``: ``{path, exists, size, modified, backups [{path, size, compressed}],
    backups_size, newest_event, free_bytes, error}``; ``path`` ``-`` (standard output) has no file."""
    state = {
        "path": path,
        "exists": False,
        "size": None,
        "modified": None,
        "backups": [],
        "backups_size": 0,
        "newest_event": None,
        "free_bytes": None,
        "error": None,
    }
    if not path or path == "-":
        return state
    try:
        info = os.stat(path)
    except FileNotFoundError:
        info = None
    except OSError as exc:
        state["error"] = f"cannot read {path}: {exc.strerror or exc}"
        return state
    if info is not None:
        state.update(exists=True, size=info.st_size, modified=ap.iso_utc(info.st_mtime))
        state["newest_event"] = _newest_event_time(path)
    try:
        backups = audit_log.find_backups(path)
    except audit_log.AuditLogError as exc:
        state["error"] = str(exc)
        backups = []
    for backup in backups:
        try:
            size = os.stat(backup.path).st_size
        except OSError:
            continue
        state["backups"].append({"path": backup.path, "size": size, "compressed": backup.compressed})
        state["backups_size"] += size
    directory = os.path.dirname(path) or "."
    while directory and not os.path.isdir(directory) and directory != os.path.dirname(directory):
        directory = os.path.dirname(directory)  # the free space where the log will be
    try:
        stats = os.statvfs(directory)
        state["free_bytes"] = stats.f_bavail * stats.f_frsize
    except OSError:
        pass
    return state


def gather(files=(), log_path=None, container=ap.PROCESS_NAME, proc_root="/proc", secret_files=()):
    """Everything audit_status reads on a master, in one call. ``secret_files`` (the webhook kubeconfig, which may
    hold a key) are hashed like ``files`` but their content is never returned; they follow ``files``."""
    return {
        "live": live_process(container, proc_root),
        "files": [file_state(path) for path in files]
        + [file_state(path, max_content_bytes=-1) for path in secret_files],
        "log": log_state(log_path),
    }

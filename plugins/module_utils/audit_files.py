# Copyright: (c) 2026, NNF kube_audit maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The audit policy file, the audit webhook kubeconfig and the audit log directory of a control-plane node: what
differs, and making it so.

All belong to root alone: the policy file and the webhook kubeconfig are mode 0600 (a directory created for them,
0700), the log directory
0700, as kube-apiserver itself creates it. ``plan()`` only reads; ``apply()`` makes the planned changes: the
files are replaced in one rename (a temporary dot-file beside them), a previous file is first copied to the backup
directory, and nothing is changed when a path is not what it should be (a symlink, a file where a directory
belongs).
"""

import base64
import binascii
import os
import stat

from ansible_collections.nnf.kube_audit.plugins.module_utils import _defaults, _redact
from ansible_collections.nnf.kube_audit.plugins.module_utils._errors import KubeAuditError
from ansible_collections.nnf.kube_audit.plugins.module_utils._fileops import (
    check_directory_path,
    check_outside,
    ensure_private_directory,
    resolved,
    sha256_hex,
    write_backup,
    write_file_atomically,
)

ROOT_UID = 0
ROOT_GID = 0
POLICY_MODE = 0o600
PRIVATE_DIR_MODE = 0o700
# The log directory is made 0700: refuse the system's shared directories, whose mode must not change.
SHARED_DIRECTORIES = frozenset(
    (
        "/",
        "/etc",
        "/etc/kubernetes",
        "/etc/kubernetes/manifests",
        "/etc/kubernetes/pki",
        "/root",
        "/tmp",
        "/usr",
        "/var",
        "/var/lib",
        "/var/log",
    )
)


# The audit_files module's options (also the ``files`` part of an audit_plan), with their rules.
ARGUMENT_SPEC = dict(
    policy_path=dict(type="path"),
    policy_content=dict(type="str"),
    policy_content_base64=dict(type="str"),
    policy_restore_from=dict(type="path"),
    policy_state=dict(type="str", choices=["present", "absent"], default="present"),
    webhook_config_path=dict(type="path"),
    # The webhook kubeconfig may hold a client key or a token: never logged, never returned.
    webhook_config_content_base64=dict(type="str", no_log=True),
    webhook_config_restore_from=dict(type="path"),
    webhook_config_state=dict(type="str", choices=["present", "absent"], default="present"),
    log_dir=dict(type="path"),
    backup=dict(type="bool", default=False),
    backup_dir=dict(type="path", default=_defaults.BACKUP_DIR),
    manifests_dir=dict(type="path", default=_defaults.MANIFESTS_DIR),
)
ARGUMENT_RULES = dict(
    required_one_of=[("policy_path", "webhook_config_path", "log_dir")],
    mutually_exclusive=[
        ("policy_content", "policy_content_base64", "policy_restore_from"),
        ("webhook_config_content_base64", "webhook_config_restore_from"),
    ],
)


# Why nothing of ours may live in the kubelet's manifests directory.
_MANIFESTS_DIR_WHY = "the kubelet reads every file there as a pod; choose a path outside it"


class AuditFilesError(KubeAuditError):
    """A path cannot be managed; nothing was changed."""


def _lstat(path):
    try:
        return os.lstat(path)
    except FileNotFoundError:
        return None


def describe(info, kind):
    """``directory, mode 0755, owner 0:0``, or ``(absent)``: one side of a diff of attributes."""
    if info is None:
        return "(absent)\n"
    return f"{kind}, mode {stat.S_IMODE(info.st_mode):04o}, owner {info.st_uid}:{info.st_gid}\n"


def wanted(kind, mode):
    return f"{kind}, mode {mode:04o}, owner {ROOT_UID}:{ROOT_GID}\n"


def _ownership_and_mode(info, mode):
    """What differs from root:root and ``mode``, in words."""
    found = []
    if stat.S_IMODE(info.st_mode) != mode:
        found.append(f"mode {stat.S_IMODE(info.st_mode):04o} -> {mode:04o}")
    if (info.st_uid, info.st_gid) != (ROOT_UID, ROOT_GID):
        found.append(f"owner {info.st_uid}:{info.st_gid} -> {ROOT_UID}:{ROOT_GID}")
    return found


def plan_policy(path, content, state="present", manifests_dir=_defaults.MANIFESTS_DIR, option="policy_path"):
    """What installing ``content`` (bytes) at ``path``, or removing it (``state="absent"``), would change.

    Returns a dict: ``path``, ``state``, ``existed``, ``changes`` (words; empty when nothing differs), ``before`` and
    ``after`` (text, for a diff), ``checksum`` (sha256 of the wanted content). A path inside ``manifests_dir`` (real
    paths compared) is refused. ``option`` names the path in messages (the webhook kubeconfig is planned the same
    way, as ``webhook_config_path``).
    """
    if not os.path.isabs(path):
        raise AuditFilesError(f"{option} {path} is not an absolute path")
    if state != "absent":
        check_outside(path, manifests_dir, option, _MANIFESTS_DIR_WHY, place="the manifests directory")
        check_directory_path(os.path.dirname(path), f"the directory of {option}")
    info = _lstat(path)
    if info is not None and not stat.S_ISREG(info.st_mode):
        raise AuditFilesError(f"{path} exists and is not a regular file (a symlink or a directory): not touching it")
    current = None
    if info is not None:
        with open(path, "rb") as handle:
            current = handle.read()
    changes = []
    if state == "absent":
        if info is not None:
            changes.append("remove")
    elif info is None:
        changes.append("create")
    else:
        if current != content:
            changes.append("content")
        changes.extend(_ownership_and_mode(info, POLICY_MODE))
    return {
        "path": path,
        "state": state,
        "existed": info is not None,
        "changes": changes,
        "before": None if current is None else current.decode("utf-8", "replace"),
        "after": None if state == "absent" else content.decode("utf-8", "replace"),
        "before_attributes": describe(info, "file"),
        "after_attributes": "(absent)\n" if state == "absent" else wanted("file", POLICY_MODE),
        "checksum": None if state == "absent" else sha256_hex(content),
    }


def plan_directory(path, manifests_dir=_defaults.MANIFESTS_DIR):
    """What making ``path`` a root-only (0700) directory would change: a dict ``path``, ``existed``, ``changes``.

    Guards compare real paths: ``//var/log``, ``/var/log/.`` and a symlink to ``/var`` are the shared directories
    they lead to.
    """
    if not os.path.isabs(path):
        raise AuditFilesError(f"log_dir {path} is not an absolute path")
    real, note = resolved(path)
    if real in SHARED_DIRECTORIES:
        raise AuditFilesError(
            f"log_dir {path}{note} is a shared system directory: the audit log needs a directory of its own "
            "(its mode is set to 0700)"
        )
    check_outside(path, manifests_dir, "log_dir", _MANIFESTS_DIR_WHY, place="the manifests directory")
    check_directory_path(path, "log_dir")
    normalized = os.path.normpath(path)
    info = _lstat(normalized)
    if info is not None and not stat.S_ISDIR(info.st_mode):
        raise AuditFilesError(f"{path} exists and is not a directory (a file or a symlink): not touching it")
    changes = ["create"] if info is None else _ownership_and_mode(info, PRIVATE_DIR_MODE)
    return {
        "path": path,
        "existed": info is not None,
        "changes": changes,
        "before_attributes": describe(info, "directory"),
        "after_attributes": wanted("directory", PRIVATE_DIR_MODE),
    }


def read_backup(path, manifests_dir=_defaults.MANIFESTS_DIR, option="policy_restore_from"):
    """The bytes of a backup to put back: a regular file outside the manifests directory."""
    check_outside(path, manifests_dir, option, _MANIFESTS_DIR_WHY, place="the manifests directory")
    info = _lstat(path)
    if info is None or not stat.S_ISREG(info.st_mode):
        what = "does not exist" if info is None else "is not a regular file"
        raise AuditFilesError(f"{option} {path} {what}")
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise AuditFilesError(f"{option} {path} cannot be read: {exc.strerror}") from exc


def apply_policy(plan, content, backup_dir=None, option="policy_path"):
    """Make the planned file change; returns the backup of the previous file (None when there was none)."""
    if not plan["changes"]:
        return None
    path = plan["path"]
    backup_file = None
    if plan["existed"] and backup_dir and ("content" in plan["changes"] or "remove" in plan["changes"]):
        with open(path, "rb") as handle:
            backup_file = write_backup(path, handle.read(), os.stat(path), backup_dir)
    if plan["state"] == "absent":
        os.unlink(path)
    elif "create" in plan["changes"] or "content" in plan["changes"]:
        ensure_private_directory(os.path.dirname(path), f"the directory of {option}")
        write_file_atomically(path, content, mode=POLICY_MODE, owner=(ROOT_UID, ROOT_GID))
    else:
        os.chown(path, ROOT_UID, ROOT_GID)
        os.chmod(path, POLICY_MODE)
    return backup_file


def apply_directory(plan):
    """Make the planned log directory change."""
    if not plan["changes"]:
        return
    path = plan["path"]
    ensure_private_directory(path, "log_dir")
    os.chown(path, ROOT_UID, ROOT_GID)
    os.chmod(path, PRIVATE_DIR_MODE)


# --------------------------------------------------------------------------------------------------- the task

# The byte order marks kube-apiserver's YAML reader (go-yaml) recognises; no mark means UTF-8.
BYTE_ORDER_MARKS = ((b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))
BASE64_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")


def policy_text(data):
    """A policy's bytes as text for the diff, in the encoding kube-apiserver reads them in (a BOM kept as U+FEFF)."""
    if data is None:
        return ""
    for mark, codec in BYTE_ORDER_MARKS:
        if data.startswith(mark):
            return data.decode(codec, "replace")
    return data.decode("utf-8", "replace")


def decode_base64(value):
    """The bytes of a base64 text (line breaks and spaces ignored), or ValueError saying what is wrong.

    Strict: the standard alphabet only, at most two ``=`` and only at the end, a length that is a multiple of 4.
    """
    text = "".join(value.split())
    for index, char in enumerate(text):
        if char in BASE64_ALPHABET or (char == "=" and len(text) - index <= 2 and not text[index:].strip("=")):
            continue
        if char != "=":
            what = f"the character {char!r}"
        elif text[index:].strip("="):
            what = "padding (=) before the end"
        else:
            what = "more than two = at the end"
        raise ValueError(f"{what}; only A-Z, a-z, 0-9, + and /, with at most two = at the end, are base64")
    if len(text) % 4:
        raise ValueError(f"its length, {len(text)} characters without line breaks, is not a multiple of 4")
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error as exc:  # pragma: no cover - the checks above leave nothing for it to refuse
        raise ValueError(str(exc)) from None


def current_bytes(path):
    """The policy file's bytes, for the diff; None when it cannot be read (the plan's text is shown instead)."""
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError:
        return None


def _file_entry(plan, before_bytes, content, text):
    """The diff entry of one planned file: its text change (as ``text`` shows bytes), or its attribute change."""
    entry = {"before_header": plan["path"], "after_header": plan["path"]}
    if set(plan["changes"]) & {"create", "content", "remove"}:
        before = text(before_bytes) if before_bytes is not None else (plan["before"] or "")
        after = "" if plan["state"] == "absent" else text(content)
        entry.update(before=before, after=after)
    else:
        entry.update(before=plan["before_attributes"], after=plan["after_attributes"])
    return entry


def _webhook_text(data):
    """The webhook kubeconfig as a diff shows it: its secrets (client key, token, password) redacted."""
    return "" if data is None else _redact.shown(data)


def diff_entries(policy, log_dir, before_bytes=None, content=None, *, webhook=None, webhook_bytes=(None, None)):
    """The policy's text change (or its attribute change), the webhook kubeconfig's (redacted) and the log
    directory's attribute change.

    ``before_bytes`` and ``content`` are the policy's bytes before and after: shown decoded as kube-apiserver
    decodes them. ``webhook_bytes`` are the webhook kubeconfig's bytes before and after.
    """
    entries = []
    if policy and policy["changes"]:
        entries.append(_file_entry(policy, before_bytes, content, policy_text))
    if webhook and webhook["changes"]:
        before, after = webhook_bytes
        # Never the plan's own text of the file: it is not redacted.
        entries.append(_file_entry(dict(webhook, before=_webhook_text(before)), before, after, _webhook_text))
    if log_dir and log_dir["changes"]:
        entries.append(
            {
                "before_header": log_dir["path"],
                "after_header": log_dir["path"],
                "before": log_dir["before_attributes"],
                "after": log_dir["after_attributes"],
            }
        )
    return entries


def _decoded(params, option):
    try:
        return decode_base64(params[option])
    except ValueError as exc:
        raise AuditFilesError(f"{option} is not valid base64: {exc}") from None


def wanted_content(params):
    """The policy bytes asked for, or None; a bad value fails naming its option."""
    if params["policy_content_base64"] is not None:
        return _decoded(params, "policy_content_base64")
    if params["policy_content"] is not None:
        return params["policy_content"].encode("utf-8")
    if params["policy_restore_from"] is not None:
        return read_backup(params["policy_restore_from"], params["manifests_dir"])
    return None


def wanted_webhook_content(params):
    """The webhook kubeconfig bytes asked for, or None."""
    if params.get("webhook_config_content_base64") is not None:
        return _decoded(params, "webhook_config_content_base64")
    if params.get("webhook_config_restore_from") is not None:
        path = params["webhook_config_restore_from"]
        return read_backup(path, params["manifests_dir"], "webhook_config_restore_from")
    return None


def _registered(plan, backup_file):
    registered = {key: plan[key] for key in ("path", "state", "existed", "changes", "checksum")}
    registered["backup_file"] = backup_file
    return registered


def run(params, check_mode, diff):
    content = wanted_content(params)
    if params["policy_path"] and params["policy_state"] == "present" and content is None:
        raise AuditFilesError(
            "policy_content, policy_content_base64 or policy_restore_from is required to install the policy file"
        )
    webhook_content = wanted_webhook_content(params)
    webhook_path = params.get("webhook_config_path")
    if webhook_path and params.get("webhook_config_state", "present") == "present" and webhook_content is None:
        raise AuditFilesError(
            "webhook_config_content_base64 or webhook_config_restore_from is required to install the webhook kubeconfig"
        )
    policy = log_dir = webhook = None
    if params["policy_path"]:
        policy = plan_policy(
            params["policy_path"], content, params["policy_state"], manifests_dir=params["manifests_dir"]
        )
    if webhook_path:
        webhook = plan_policy(
            webhook_path,
            webhook_content,
            params.get("webhook_config_state", "present"),
            manifests_dir=params["manifests_dir"],
            option="webhook_config_path",
        )
        # Its text holds secrets: only ever shown redacted.
        webhook.update(before=_webhook_text(webhook["before"]), after=_webhook_text(webhook["after"]))
    if params["log_dir"]:
        log_dir = plan_directory(params["log_dir"], manifests_dir=params["manifests_dir"])
    changed = any((plan or {}).get("changes") for plan in (policy, webhook, log_dir))
    before_bytes = webhook_before = None
    if diff and policy and set(policy["changes"]) & {"content", "remove"}:
        before_bytes = current_bytes(policy["path"])  # read before the change replaces it
    if diff and webhook and set(webhook["changes"]) & {"content", "remove"}:
        webhook_before = current_bytes(webhook["path"])
    backup_file = webhook_backup = None
    if changed and not check_mode:
        backup_dir = params["backup_dir"] if params["backup"] else None
        if policy:
            backup_file = apply_policy(policy, content, backup_dir)
        if webhook:
            webhook_backup = apply_policy(webhook, webhook_content, backup_dir, option="webhook_config_path")
        if log_dir:
            apply_directory(log_dir)

    result = {"changed": changed}
    if diff and changed:
        result["diff"] = diff_entries(
            policy, log_dir, before_bytes, content, webhook=webhook, webhook_bytes=(webhook_before, webhook_content)
        )
    if policy:
        result["policy"] = _registered(policy, backup_file)
    if webhook:
        result["webhook_config"] = _registered(webhook, webhook_backup)
    if log_dir:
        result["log_dir"] = {key: log_dir[key] for key in ("path", "existed", "changes")}
    return result

# Copyright: (c) 2026, NNF kube_audit maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The master's side of a static-pod manifest edit: one read, one compare-and-swap write (standard library only).

The editing itself needs YAML and runs on the controller (``plugins/plugin_utils``). On the master:

* ``snapshot()`` reads, in one call, everything the controller needs to decide: the manifest's bytes and checksum,
  every other file the kubelet would read in the manifests directory (the stray candidates: bytes up to a bound,
  because which pod a file defines is a YAML question), the names already in the stray directory, the real paths of
  the hostPath directories a mount would use, and a backup to restore. It also applies the path guards (backup and
  stray directories outside the manifests directory, no symlinks in them), so a bad path fails before any change.
* ``compare_and_swap()`` writes what the controller decided, only if the manifest (and every stray file to move)
  still has the checksum that was read; otherwise nothing is written and the message names the file that changed
  underneath. Strays are moved first (never deleted, never over an existing file), then the manifest is backed up
  and replaced (a dot-file the kubelet ignores, fsync, rename: ``_fileops``).
"""

import base64
import os
import stat

from ansible_collections.nnf.kube_audit.plugins.module_utils._errors import KubeAuditError, ManifestError
from ansible_collections.nnf.kube_audit.plugins.module_utils._fileops import (
    check_directory_path,
    check_outside,
    ensure_private_directory,
    fsync_directory,
    move_without_overwrite,
    resolved,
    sha256_file,
    sha256_hex,
    write_backup,
    write_file_atomically,
)

# Why nothing of ours may live in the kubelet's manifests directory.
_MANIFESTS_DIR_WHY = "the kubelet would treat files there as pods; choose a path outside it"


def encode(data):
    return base64.b64encode(data).decode("ascii")


def read_manifest(path, what=None):
    """(bytes, stat) of a manifest, or ManifestError naming the file (``what``: how the message names it)."""
    name = f"{what} {path}" if what else path
    try:
        info = os.stat(path)
    except FileNotFoundError as exc:
        raise ManifestError(f"{name} does not exist") from exc
    except OSError as exc:
        raise ManifestError(f"{name} cannot be read: {exc.strerror}") from exc
    if not stat.S_ISREG(info.st_mode):
        raise ManifestError(f"{name} is not a regular file")
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise ManifestError(f"{name} cannot be read: {exc.strerror}") from exc
    return data, info


def check_outside_manifests_dir(path, manifests_dir, option):
    """Refuse a path inside the manifests directory (real paths compared): the kubelet reads every file there."""
    check_outside(path, manifests_dir, option, _MANIFESTS_DIR_WHY, place="the manifests directory")


def check_directories(manifests_dir, backup_dir=None, stray_dir=None):
    """The backup and stray directories (those given) must be outside the manifests directory and be directories."""
    for option, path in (("backup_dir", backup_dir), ("stray_dir", stray_dir)):
        if path:
            check_outside_manifests_dir(path, manifests_dir, option)
            check_directory_path(path, option)


def stray_candidates(manifests_dir, manifest_name, max_bytes):
    """Every file the kubelet would read in ``manifests_dir`` besides the manifest, as the kubelet lists them.

    Like pkg/kubelet/config/file.go: names starting with '.' are skipped, directories are not entered, and only
    regular files (symlinks followed) are read. The file the manifest path resolves to is never a candidate. Each
    candidate carries its bytes when it has at most ``max_bytes`` (else None), their sha256, or why it could not be
    read.
    """
    managed_file = os.path.realpath(os.path.join(manifests_dir, manifest_name))
    candidates = []
    for name in sorted(os.listdir(manifests_dir)):
        if name.startswith(".") or name == manifest_name:
            continue
        path = os.path.join(manifests_dir, name)
        if not os.path.islink(path) and os.path.realpath(path) == managed_file:
            continue
        try:
            info = os.stat(path)
        except OSError:
            continue  # e.g. a dangling symlink: the kubelet cannot read it either
        if not stat.S_ISREG(info.st_mode):
            continue
        candidate = {"name": name, "path": path, "size": info.st_size, "content_base64": None, "sha256": None}
        if info.st_size <= max_bytes:
            try:
                with open(path, "rb") as handle:
                    data = handle.read(max_bytes + 1)
            except OSError as exc:
                candidate["problem"] = exc.strerror or str(exc)
            else:
                if len(data) <= max_bytes:
                    candidate.update(content_base64=encode(data), sha256=sha256_hex(data), size=len(data))
                else:
                    candidate["size"] = len(data)
        candidates.append(candidate)
    return candidates


def _entries(directory):
    try:
        return sorted(os.listdir(directory))
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise ManifestError(f"{directory} cannot be listed: {exc.strerror}") from exc


def snapshot(
    path,
    *,
    scan_strays=False,
    max_candidate_bytes=4 * 1024 * 1024,
    backup_dir=None,
    stray_dir=None,
    host_paths=(),
    restore_from=None,
    missing_ok=False,
):
    """What the controller needs to plan an edit (or a restore) of the manifest at ``path``; changes nothing.

    With ``missing_ok``, a manifest that does not exist is reported (``exists`` false, nothing else read) instead
    of refused: a node that is not a control-plane node yet.
    """
    manifests_dir = os.path.dirname(os.path.abspath(path))
    if restore_from:
        check_outside_manifests_dir(restore_from, manifests_dir, "restore_from")
    check_directories(manifests_dir, backup_dir=backup_dir, stray_dir=stray_dir if scan_strays else None)
    if missing_ok and not os.path.lexists(path):
        return {"path": path, "exists": False}
    data, info = read_manifest(path)
    result = {
        "path": path,
        "exists": True,
        "content_base64": encode(data),
        "sha256": sha256_hex(data),
        "mtime": info.st_mtime,
        "candidates": None,
        "stray_dir_entries": None,
        "host_paths": {host_path: resolved(host_path)[0] for host_path in host_paths},
        "restore": None,
    }
    if scan_strays:
        result["candidates"] = stray_candidates(manifests_dir, os.path.basename(path), max_candidate_bytes)
        result["stray_dir_entries"] = _entries(stray_dir)
    if restore_from:
        backup, _info = read_manifest(restore_from, "restore_from")
        result["restore"] = {"path": restore_from, "content_base64": encode(backup), "sha256": sha256_hex(backup)}
    return result


def _changed_underneath(path, expected, now):
    return ManifestError(
        f"{path} changed after it was read (sha256 {expected[:12]}... then, {now[:12]}... now): it was edited "
        "underneath this task, so nothing was written; run again to plan from the new content"
    )


def _check_unchanged(path, expected):
    data, info = read_manifest(path)
    if sha256_hex(data) != expected:
        raise _changed_underneath(path, expected, sha256_hex(data))
    return data, info


def _check_strays_unchanged(moves):
    for move in moves:
        if not move.get("sha256"):
            continue  # too large to read: moved by its name alone
        try:
            _size, digest = sha256_file(move["from"])
        except OSError as exc:
            raise ManifestError(f"{move['from']} cannot be read any more: {exc.strerror}; nothing was changed") from exc
        if digest != move["sha256"]:
            raise _changed_underneath(move["from"], move["sha256"], digest)


def compare_and_swap(
    path, *, expected_sha256, content=None, backup=False, backup_dir=None, stray_dir=None, moves=(), now=None
):
    """Move ``moves`` to ``stray_dir``, back up and replace the manifest with ``content``, if nothing changed.

    ``expected_sha256`` is the manifest's checksum when it was read; each move may carry the ``sha256`` of the
    stray file as read. If any differs now, nothing is done (ManifestError). Returns ``{"backup_file",
    "stray_files"}``; on a failure part way, the ManifestError's result says which strays were already moved.
    """
    manifests_dir = os.path.dirname(os.path.abspath(path))
    # The guards of the read, again: a write may come from anywhere, and the directories may have changed since.
    check_directories(manifests_dir, backup_dir=backup_dir if backup else None, stray_dir=stray_dir if moves else None)
    _check_unchanged(path, expected_sha256)
    _check_strays_unchanged(moves)
    done = []
    result = {"backup_file": None, "stray_files": done}
    try:
        if moves:
            ensure_private_directory(stray_dir, "stray_dir")
            for move in moves:
                landed = move_without_overwrite(move["from"], stray_dir, move["name"])
                done.append({"from": move["from"], "to": landed, "reason": move["reason"]})
            fsync_directory(manifests_dir)
        if content is not None:
            data, info = _check_unchanged(path, expected_sha256)
            if backup:
                result["backup_file"] = write_backup(path, data, info, backup_dir, now)
            write_file_atomically(path, content)
    except (OSError, KubeAuditError) as exc:
        message = str(exc) if isinstance(exc, KubeAuditError) else f"{exc.filename or path}: {exc.strerror or exc}"
        if done:
            moved = ", ".join(f"{move['from']} -> {move['to']}" for move in done)
            message += f" (stray files already moved: {moved})"
        raise ManifestError(message, result) from exc
    return result

# Copyright: (c) 2026, NNF kube_audit maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every write, copy, move and backup the collection makes on a master, and the path guards in front of them.

Standard library only. The rules, for every function here:

* **Nothing is lost.** A file is written to a dot-file beside its destination, every byte written is checked (a short
  ``os.write`` on a nearly full disk is resumed, a write that makes no progress fails), synced, read back and
  compared (size and sha256) before it is renamed into place. A move removes its source only once every byte is at
  the target; if the source then cannot be removed, the copy is removed again and the source stays. On any failure
  the partial file is removed and the original is untouched.
* **Nothing is overwritten by surprise.** Backups and moved files never replace an existing file: a name that is
  taken gets a numbered suffix.
* **Messages name the file that failed** and what went wrong (``FileError``).
* **Path guards compare real paths** (``os.path.realpath`` on the master): ``//var/log``, ``/a/./b``, ``/a//b`` and
  paths through symlinks are judged by where they lead.
"""

import contextlib
import datetime
import errno
import hashlib
import os
import stat
import tempfile

from ansible_collections.nnf.kube_audit.plugins.module_utils._errors import KubeAuditError

# SELinux contexts are copied with the ctypes shim shipped with ansible-core (it needs only libselinux.so.1) or,
# outside Ansible, with the python3-libselinux bindings; neither is required.
try:
    from ansible.module_utils.compat import selinux as SELINUX_BINDINGS
except ImportError:
    try:
        import selinux as SELINUX_BINDINGS  # type: ignore[import-not-found,no-redef]
    except ImportError:
        SELINUX_BINDINGS = None

_CHUNK = 1024 * 1024
# os.link refuses these where hard links are impossible (another file system, vfat, too many links): copy instead.
_NO_HARD_LINK = (errno.EXDEV, errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK)


class FileError(KubeAuditError):
    """A file operation failed; the message names the file and the cause, and nothing was lost."""


def _reason(exc):
    return exc.strerror or str(exc) if isinstance(exc, OSError) else str(exc)


def sha256_hex(data):
    """The collection's checksum: sha256 of ``data`` (bytes), as lowercase hex."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path, limit=None):
    """(size, sha256 hex) of the file at ``path``, reading at most ``limit`` bytes when given."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        while limit is None or size < limit:
            chunk = handle.read(_CHUNK if limit is None else min(_CHUNK, limit - size))
            if not chunk:
                break
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def _write_all(descriptor, data):
    """Write every byte of ``data``: resume after a short write, fail when a write makes no progress."""
    view = memoryview(data)
    while view:
        written = os.write(descriptor, view)
        if written <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        view = view[written:]


def _remove_quietly(path):
    with contextlib.suppress(OSError):
        os.unlink(path)


def _verify(path, size, digest, what):
    """The file at ``path`` holds exactly ``size`` bytes with sha256 ``digest``, else FileError."""
    found_size, found_digest = sha256_file(path)
    if (found_size, found_digest) != (size, digest):
        raise FileError(
            f"{what}: after writing, {path} holds {found_size} bytes (sha256 {found_digest[:12]}...) instead of "
            f"{size} bytes (sha256 {digest[:12]}...)"
        )


def _keep_owner(descriptor, info, path):
    current = os.fstat(descriptor)
    if (current.st_uid, current.st_gid) == (info.st_uid, info.st_gid):
        return
    try:
        os.fchown(descriptor, info.st_uid, info.st_gid)
    except PermissionError as exc:
        raise FileError(f"{path}: cannot keep owner {info.st_uid}:{info.st_gid} (run as root)") from exc


def _selinux():
    """The libselinux bindings when SELinux is enabled, else None."""
    if SELINUX_BINDINGS is None:
        return None
    try:
        return SELINUX_BINDINGS if SELINUX_BINDINGS.is_selinux_enabled() == 1 else None
    except (AttributeError, OSError):
        return None


def copy_selinux_context(reference, target):
    """Give ``target`` the SELinux context of ``reference`` (no-op without SELinux)."""
    selinux = _selinux()
    if selinux is None:
        return
    result = selinux.lgetfilecon_raw(reference)
    context = result[1] if isinstance(result, (list, tuple)) else result
    if context:
        if isinstance(context, bytes):
            context = context.decode("utf-8")
        selinux.lsetfilecon(target, context)


def fsync_directory(directory):
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def _write_temporary(directory, prefix, data, mode, *, owner=None, keep_from=None):
    """A dot-file in ``directory`` holding exactly ``data`` (checked), synced; returns its path."""
    descriptor, temporary = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=directory)
    try:
        try:
            _write_all(descriptor, data)
            os.fchmod(descriptor, mode)
            if owner is not None:
                os.fchown(descriptor, *owner)
            elif keep_from is not None:
                _keep_owner(descriptor, keep_from, temporary)
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        _verify(temporary, len(data), sha256_hex(data), temporary)
    except BaseException:
        _remove_quietly(temporary)
        raise
    return temporary


def write_file_atomically(path, data, mode=None, owner=None):
    """Replace (or create) the file at ``path`` with ``data`` in one rename.

    ``mode`` and ``owner`` (uid, gid) are set when given; otherwise an existing file's are kept, as is its SELinux
    context. The temporary file lives in the same directory (rename is atomic only within a file system) and its
    name starts with '.', which the kubelet ignores, so it never sees a half-written manifest. A symlink at
    ``path`` is kept; the file it points to is replaced. On failure the original is untouched and FileError names
    ``path``.
    """
    target = os.path.realpath(path)
    try:
        info = os.stat(target)
    except FileNotFoundError:
        info = None
    if info is None and mode is None:
        raise FileError(f"{path} does not exist: a mode is needed to create it")
    directory = os.path.dirname(target)
    try:
        temporary = _write_temporary(
            directory,
            f".{os.path.basename(target)}.",
            data,
            mode if mode is not None else stat.S_IMODE(info.st_mode),
            owner=owner,
            keep_from=info if owner is None else None,
        )
        try:
            if info is not None:
                copy_selinux_context(target, temporary)
            os.rename(temporary, target)
        except BaseException:
            _remove_quietly(temporary)
            raise
    except OSError as exc:
        raise FileError(f"cannot write {path}: {_reason(exc)}; it was left as it was") from exc
    fsync_directory(directory)


def check_directory_path(path, option):
    """``path`` is, or can be created as, a directory: no existing component of it is something else.

    Checked before any change, so a bad ``backup_dir`` fails the plan and not the middle of a change.
    """
    wanted = os.path.abspath(path)
    current = wanted
    while not os.path.lexists(current):
        parent = os.path.dirname(current)
        if parent == current:
            return
        current = parent
    if os.path.isdir(current):
        return
    what = "a symlink that does not lead to a directory" if os.path.islink(current) else "not a directory"
    if current == wanted:
        raise FileError(f"{option} {path} exists and is {what}")
    raise FileError(f"{option} {path} cannot be created: {current} is {what}")


def ensure_private_directory(path, option="directory"):
    """Create ``path`` and any missing parents with mode 0700; return whether anything was created."""
    check_directory_path(path, option)
    missing = []
    current = os.path.abspath(path)
    while not os.path.isdir(current):
        missing.append(current)
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    for directory in reversed(missing):
        try:
            os.mkdir(directory, 0o700)
            os.chmod(directory, 0o700)  # mkdir's mode is filtered by the umask
        except FileExistsError:
            continue  # made by someone else meanwhile: check_directory_path ran before
        except OSError as exc:
            raise FileError(f"{option} {path}: cannot create {directory}: {_reason(exc)}") from exc
    return bool(missing)


def backup_name(path, now=None):
    """``kube-apiserver.yaml.2024-05-28T13-39-50.342694`` (no ':' so it is a safe file name everywhere)."""
    moment = now or datetime.datetime.now()
    return f"{os.path.basename(path)}.{moment.strftime('%Y-%m-%dT%H-%M-%S.%f')}"


def _link_without_overwrite(source, directory, name):
    """Hard-link ``source`` into ``directory`` under ``name`` or ``name.N``; the path it got, or None if impossible."""
    base, number = name, 0
    while True:
        target = os.path.join(directory, name)
        try:
            os.link(source, target, follow_symlinks=False)
            return target
        except FileExistsError:
            number += 1
            name = f"{base}.{number}"
        except OSError as exc:
            if exc.errno in _NO_HARD_LINK:
                return None
            raise


def write_backup(path, data, info, backup_dir, now=None, *, option="backup_dir"):
    """Store ``data`` (the original bytes of ``path``) in ``backup_dir`` with the original mode; never overwrite.

    Written like any other file here (a dot-file, checked, synced, then given its name), so a failure never leaves a
    truncated backup under a valid name; the message names the backup file.
    """
    ensure_private_directory(backup_dir, option)
    name = backup_name(path, now)
    wanted = os.path.join(backup_dir, name)
    temporary = None
    try:
        temporary = _write_temporary(backup_dir, f".{name}.", data, stat.S_IMODE(info.st_mode), keep_from=info)
        target = _link_without_overwrite(temporary, backup_dir, name)
        if target is None:  # no hard links on this file system: a free name, then rename
            base, number, target = name, 0, wanted
            while os.path.lexists(target):
                number += 1
                target = os.path.join(backup_dir, f"{base}.{number}")
            os.rename(temporary, target)
            temporary = None
    except (OSError, FileError) as exc:
        raise FileError(f"cannot write the backup {wanted} of {path}: {_reason(exc)}") from exc
    finally:
        if temporary is not None:
            _remove_quietly(temporary)
    fsync_directory(backup_dir)
    return target


def copy_file_exclusive(source, target):
    """Copy the file (or symlink) ``source`` to ``target``, which must not exist yet.

    Every byte is checked: the copy is read back and its size and sha256 compared with what was read from
    ``source`` (and with ``source``'s size). Mode, owner and times are kept. On any failure ``target`` is removed.
    """
    if os.path.islink(source):
        link = os.readlink(source)
        os.symlink(link, target)
        if os.readlink(target) != link:
            _remove_quietly(target)
            raise FileError(f"cannot copy the symlink {source} to {target}: the copy does not point to {link}")
        return
    info = os.stat(source)
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        digest = hashlib.sha256()
        size = 0
        try:
            with open(source, "rb") as handle:
                while True:
                    chunk = handle.read(_CHUNK)
                    if not chunk:
                        break
                    _write_all(descriptor, chunk)
                    digest.update(chunk)
                    size += len(chunk)
            os.fchmod(descriptor, stat.S_IMODE(info.st_mode))
            _keep_owner(descriptor, info, target)
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        if size != info.st_size:
            raise FileError(f"cannot copy {source}: it changed size while being copied ({info.st_size} -> {size})")
        _verify(target, size, digest.hexdigest(), f"cannot copy {source} to {target}")
        os.utime(target, ns=(info.st_atime_ns, info.st_mtime_ns))
    except BaseException:
        _remove_quietly(target)
        raise


def move_without_overwrite(source, directory, name):
    """Move ``source`` (a file or symlink) into ``directory`` and return the path it got.

    A hard link is the atomic "create only if absent"; when the file system refuses hard links or ``directory`` is
    on another file system, the file is copied (exclusively, every byte checked). The source is removed only then;
    if it cannot be removed (a read-only manifests directory), the copy is removed again and FileError says so.
    """
    base, number = name, 0
    try:
        target = _link_without_overwrite(source, directory, name)
        while target is None:
            candidate = os.path.join(directory, name)
            try:
                copy_file_exclusive(source, candidate)
                target = candidate
            except FileExistsError:
                number += 1
                name = f"{base}.{number}"
    except FileError as exc:
        raise FileError(f"cannot move {source} to {directory}: {exc}; it was left in place") from exc
    except OSError as exc:
        raise FileError(f"cannot move {source} to {directory}: {_reason(exc)}; it was left in place") from exc
    try:
        os.unlink(source)
    except OSError as exc:
        _remove_quietly(target)
        raise FileError(
            f"cannot move {source} out of {os.path.dirname(source)}: {_reason(exc)}; it was left in place "
            f"(and its copy {target} removed again)"
        ) from exc
    return target


def resolved(path):
    """The real path of ``path`` on this host, and a note ``" (resolves to X)"`` when it differs from the text."""
    real = os.path.realpath(path)
    return real, "" if real == path else f" (resolves to {real})"


def is_within(path, directory):
    """``path`` is ``directory`` or lies under it, both resolved to real paths."""
    real_path = os.path.realpath(path)
    real_directory = os.path.realpath(directory)
    return real_path == real_directory or real_path.startswith(real_directory.rstrip(os.sep) + os.sep)


def check_outside(path, directory, option, why, place=""):
    """Refuse ``path`` (``option``) when its real path is ``directory`` or inside it.

    ``place`` names the directory in words ("the manifests directory"), ``why`` says what would go wrong there.
    """
    if is_within(path, directory):
        _real, note = resolved(path)
        where = f"{place} {directory}" if place else directory
        raise FileError(f"{option} {path}{note} is inside {where}: {why}")

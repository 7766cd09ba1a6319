"""The audit log file as kube-apiserver writes it: gopkg.in/natefinch/lumberjack.v2 with kube-apiserver's settings.

kube-apiserver creates the log before serving (``ensureLogFile``: directory 0700, file 0600), then hands every
event line to a lumberjack.Logger with ``MaxSize`` (MB), ``MaxBackups``, ``MaxAge`` (days), ``Compress`` and UTC
backup timestamps. Rotation renames the file to ``<name>-<2006-01-02T15-04-05.000><ext>``, opens a new one with the
old file's mode, then "mills" the backups: keep the newest MaxBackups, drop those older than MaxAge, gzip the rest.
"""

from __future__ import annotations

import contextlib
import datetime
import gzip
import os
import re
import shutil
import stat
import time
from typing import Callable, List, NamedTuple, Optional, Tuple

MEGABYTE = 1024 * 1024
DEFAULT_MAX_SIZE_MB = 100  # lumberjack's default when MaxSize is 0
BACKUP_TIME_FORMAT = "%Y-%m-%dT%H-%M-%S"  # + ".000" milliseconds: Go's "2006-01-02T15-04-05.000"
COMPRESS_SUFFIX = ".gz"
_STAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}\.\d{3}")


class LogError(Exception):
    """A write lumberjack refuses or cannot do; the message is lumberjack's."""


def go_ext(filename: str) -> str:
    """filepath.Ext: the suffix from the final dot of the last element (``.log`` for ``.log``, unlike Python)."""
    dot = filename.rfind(".")
    return "" if dot < 0 else filename[dot:]


def backup_name(path: str, when: float) -> str:
    """The name lumberjack gives the current file when it rotates it at ``when`` (UTC, millisecond precision)."""
    directory, filename = os.path.split(path)
    ext = go_ext(filename)
    prefix = filename[: len(filename) - len(ext)]
    moment = datetime.datetime.fromtimestamp(when, tz=datetime.timezone.utc)
    stamp = moment.strftime(BACKUP_TIME_FORMAT) + f".{moment.microsecond // 1000:03d}"
    return os.path.join(directory, f"{prefix}-{stamp}{ext}")


def backup_time(name: str, path: str) -> Optional[float]:
    """The rotation time encoded in backup file ``name`` of log ``path``, or None when it is no backup of it."""
    filename = os.path.basename(path)
    ext = go_ext(filename)
    prefix = filename[: len(filename) - len(ext)] + "-"
    for suffix in (ext, ext + COMPRESS_SUFFIX):
        if name.startswith(prefix) and name.endswith(suffix) and len(name) > len(prefix) + len(suffix):
            stamp = name[len(prefix) : len(name) - len(suffix)]
            if not _STAMP.fullmatch(stamp):  # Go's layout takes exactly these digits
                continue
            try:
                moment = datetime.datetime.strptime(stamp, BACKUP_TIME_FORMAT + ".%f")
            except ValueError:  # e.g. month 13
                continue
            return moment.replace(tzinfo=datetime.timezone.utc).timestamp()
    return None


class Backup(NamedTuple):
    name: str
    timestamp: float


def old_log_files(names: List[str], path: str) -> List[Backup]:
    """The backups among ``names`` (a directory listing), newest first, as lumberjack's oldLogFiles."""
    found = [Backup(name, when) for name in names for when in [backup_time(name, path)] if when is not None]
    return sorted(found, key=lambda backup: backup.timestamp, reverse=True)


def mill_plan(
    backups: List[Backup], max_backups: int, max_age_days: int, compress: bool, now: float
) -> Tuple[List[str], List[str]]:
    """(names to remove, names to gzip) after a rotation: lumberjack's millRunOnce on newest-first ``backups``."""
    remove: List[str] = []
    if max_backups > 0 and max_backups < len(backups):
        preserved = set()
        remaining = []
        for backup in backups:
            # a file and its .gz count as one backup
            preserved.add(
                backup.name[: -len(COMPRESS_SUFFIX)] if backup.name.endswith(COMPRESS_SUFFIX) else backup.name
            )
            if len(preserved) > max_backups:
                remove.append(backup.name)
            else:
                remaining.append(backup)
        backups = remaining
    if max_age_days > 0:
        cutoff = now - max_age_days * 24 * 3600
        remaining = []
        for backup in backups:
            if backup.timestamp < cutoff:
                remove.append(backup.name)
            else:
                remaining.append(backup)
        backups = remaining
    gzip_these = [backup.name for backup in backups if compress and not backup.name.endswith(COMPRESS_SUFFIX)]
    return remove, gzip_these


def ensure_log_file(path: str) -> None:
    """kube-apiserver's ensureLogFile: MkdirAll(dir, 0700), then open O_CREATE|O_APPEND|O_RDWR with mode 0600."""
    os.makedirs(os.path.dirname(path) or ".", mode=0o700, exist_ok=True)
    descriptor = os.open(path, os.O_CREAT | os.O_APPEND | os.O_RDWR, 0o600)
    os.close(descriptor)


class RotatingLog:
    """lumberjack.Logger.Write, synchronous (the real one mills in a goroutine right after the rotation)."""

    def __init__(
        self,
        path: str,
        *,
        max_size_mb: int = 0,
        max_backups: int = 0,
        max_age_days: int = 0,
        compress: bool = False,
        megabyte: int = MEGABYTE,
        clock: Callable[[], float] = time.time,
    ):
        self.path = path
        self.max_bytes = (max_size_mb or DEFAULT_MAX_SIZE_MB) * megabyte
        self.max_backups = max_backups
        self.max_age_days = max_age_days
        self.compress = compress
        self.clock = clock
        self._file = None
        self._size = 0

    def write(self, data: bytes) -> None:
        if len(data) > self.max_bytes:
            raise LogError(f"write length {len(data)} exceeds maximum file size {self.max_bytes}")
        if self._file is None:
            self._open_existing_or_new(len(data))
        if self._size + len(data) > self.max_bytes:
            self._rotate()
        self._file.write(data)
        self._file.flush()
        self._size += len(data)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def _open_existing_or_new(self, write_len: int) -> None:
        self._mill()
        try:
            info = os.stat(self.path)
        except FileNotFoundError:
            self._open_new()
            return
        if info.st_size + write_len >= self.max_bytes:
            self._rotate()
            return
        try:
            self._file = open(self.path, "ab")  # noqa: SIM115 - kept open across writes, like lumberjack's file
        except OSError:
            self._open_new()
            return
        self._size = info.st_size

    def _rotate(self) -> None:
        self.close()
        self._open_new()
        self._mill()

    def _open_new(self) -> None:
        directory = os.path.dirname(self.path) or "."
        os.makedirs(directory, mode=0o755, exist_ok=True)
        mode = 0o600
        try:
            info = os.stat(self.path)
        except FileNotFoundError:
            pass
        else:
            mode = stat.S_IMODE(info.st_mode)
            os.rename(self.path, backup_name(self.path, self.clock()))
        descriptor = os.open(self.path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, mode)
        self._file = os.fdopen(descriptor, "wb")
        self._size = 0

    def _mill(self) -> None:
        if not (self.max_backups or self.max_age_days or self.compress):
            return
        directory = os.path.dirname(self.path) or "."
        names = [entry.name for entry in os.scandir(directory) if entry.is_file()]
        remove, to_gzip = mill_plan(
            old_log_files(names, self.path), self.max_backups, self.max_age_days, self.compress, self.clock()
        )
        for name in remove:
            with contextlib.suppress(FileNotFoundError):
                os.remove(os.path.join(directory, name))
        for name in to_gzip:
            compress_file(os.path.join(directory, name))


def compress_file(path: str) -> None:
    """lumberjack's compressLogFile: gzip to ``path.gz`` with the same mode, then remove ``path``."""
    mode = stat.S_IMODE(os.stat(path).st_mode)
    target = path + COMPRESS_SUFFIX
    descriptor = os.open(target, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, mode)
    with open(path, "rb") as source, os.fdopen(descriptor, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb") as out:
        shutil.copyfileobj(source, out)
    os.remove(path)

"""inotify on one directory, read without blocking, reported as the kubelet's file source sees it through fsnotify.

The kubelet turns fsnotify events into watch events (pkg/kubelet/config/file_linux.go): names starting with ``.``
are ignored; Create (IN_CREATE, IN_MOVED_TO) -> add; Write (IN_MODIFY) -> modify; Chmod (IN_ATTRIB) -> modify;
Remove (IN_DELETE) -> delete; Rename (IN_MOVED_FROM) -> delete, tested in that order.
"""

from __future__ import annotations

import ctypes
import os
import struct
from typing import List, NamedTuple, Optional

IN_MODIFY = 0x00000002
IN_ATTRIB = 0x00000004
IN_MOVED_FROM = 0x00000040
IN_MOVED_TO = 0x00000080
IN_CREATE = 0x00000100
IN_DELETE = 0x00000200
IN_DELETE_SELF = 0x00000400
IN_MOVE_SELF = 0x00000800
IN_IGNORED = 0x00008000
IN_NONBLOCK = 0o4000
IN_CLOEXEC = 0o2000000
WATCH_MASK = IN_MODIFY | IN_ATTRIB | IN_MOVED_FROM | IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF
_HEADER = struct.Struct("iIII")

ADD, MODIFY, DELETE = "add", "modify", "delete"


class WatchEvent(NamedTuple):
    path: str
    kind: str  # ADD, MODIFY or DELETE


def kubelet_event_kind(mask: int) -> Optional[str]:
    """produceWatchEvent's mapping of one inotify mask (fsnotify's Op bits, first match wins)."""
    if mask & (IN_CREATE | IN_MOVED_TO):
        return ADD
    if mask & (IN_MODIFY | IN_ATTRIB):
        return MODIFY
    if mask & (IN_DELETE | IN_MOVED_FROM):
        return DELETE
    return None


def parse_events(directory: str, data: bytes) -> List[tuple]:
    """(path, mask) of each ``struct inotify_event`` in ``data``; events about the directory itself have path None."""
    found = []
    offset = 0
    while offset + _HEADER.size <= len(data):
        _wd, mask, _cookie, length = _HEADER.unpack_from(data, offset)
        raw = data[offset + _HEADER.size : offset + _HEADER.size + length]
        offset += _HEADER.size + length
        name = raw.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
        found.append((os.path.join(directory, name) if name else None, mask))
    return found


class DirectoryWatch:
    """An inotify watch on ``directory``; ``read()`` returns what happened since the last call, in order."""

    def __init__(self, directory: str):
        self.directory = directory
        self._libc = ctypes.CDLL(None, use_errno=True)
        self.fd = self._libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        if self.fd < 0:
            errno = ctypes.get_errno()
            raise OSError(errno, f"inotify_init1: {os.strerror(errno)}")
        if self._libc.inotify_add_watch(self.fd, directory.encode(), WATCH_MASK) < 0:
            errno = ctypes.get_errno()
            os.close(self.fd)
            raise OSError(errno, f"inotify_add_watch {directory}: {os.strerror(errno)}")
        self.lost = False  # the directory went away: the watch must be made again

    def read(self) -> List[WatchEvent]:
        events: List[WatchEvent] = []
        while True:
            try:
                data = os.read(self.fd, 64 * 1024)
            except BlockingIOError:
                return events
            for path, mask in parse_events(self.directory, data):
                if mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF):
                    self.lost = True
                    continue
                kind = kubelet_event_kind(mask)
                if path and kind and not os.path.basename(path).startswith("."):
                    events.append(WatchEvent(path, kind))

    def close(self) -> None:
        os.close(self.fd)

"""Process helpers: make a Python process look like the binary it stands in for, and identify processes safely.

A process is identified by (PID, start time): the start time (``/proc/PID/stat`` field 22) tells a recorded
process from a later one that reused its PID, so teardown never signals a stranger.
"""

from __future__ import annotations

import ctypes
import os
from typing import List, Optional

_PR_SET_NAME = 15
_PR_SET_MM = 35
_PR_SET_MM_MAP = 14
_PR_SET_PDEATHSIG = 1


class _MMMap(ctypes.Structure):
    # struct prctl_mm_map (include/uapi/linux/prctl.h)
    _fields_ = [
        *[
            (name, ctypes.c_uint64)
            for name in (
                "start_code",
                "end_code",
                "start_data",
                "end_data",
                "start_brk",
                "brk",
                "start_stack",
                "arg_start",
                "arg_end",
                "env_start",
                "env_end",
            )
        ],
        ("auxv", ctypes.c_void_p),
        ("auxv_size", ctypes.c_uint32),
        ("exe_fd", ctypes.c_uint32),
    ]


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def _stat_fields(pid="self") -> List[bytes]:
    """Fields of /proc/PID/stat after comm; ``fields[n - 3]`` is man proc's field n."""
    with open(f"/proc/{pid}/stat", "rb") as handle:
        data = handle.read()
    return data[data.rindex(b")") + 2 :].split()


def set_process_name(name: str) -> None:
    """What ``/proc/self/comm`` (and ``ps -o comm``, ``pgrep -x``) shows; at most 15 bytes."""
    _libc().prctl(_PR_SET_NAME, name.encode()[:15], 0, 0, 0)


def set_command_line(argv: List[str]) -> bool:
    """Make ``/proc/self/cmdline`` read ``argv`` (NUL-separated, as after an execve of it).

    The new text is written over the start of the original argument area, which it must fit in, and the area's end
    is moved with PR_SET_MM_MAP (needs only CONFIG_CHECKPOINT_RESTORE). Returns False when the kernel refuses.
    """
    libc = _libc()
    fields = _stat_fields()

    def field(number: int) -> int:
        return int(fields[number - 3])

    mm = _MMMap(
        start_code=field(26),
        end_code=field(27),
        start_data=field(45),
        end_data=field(46),
        start_brk=field(47),
        start_stack=field(28),
        arg_start=field(48),
        arg_end=field(49),
        env_start=field(50),
        env_end=field(51),
        auxv=None,
        auxv_size=0,
        exe_fd=0xFFFFFFFF,  # leave /proc/self/exe alone
    )
    libc.sbrk.restype = ctypes.c_void_p
    mm.brk = libc.sbrk(0)
    text = b"\0".join(arg.encode() for arg in argv) + b"\0"
    room = mm.arg_end - mm.arg_start
    if len(text) > room:
        return False
    ctypes.memmove(mm.arg_start, text, len(text))
    ctypes.memset(mm.arg_start + len(text), 0, room - len(text))
    original_end = mm.arg_end
    mm.arg_end = mm.arg_start + len(text)
    if libc.prctl(_PR_SET_MM, _PR_SET_MM_MAP, ctypes.byref(mm), ctypes.sizeof(mm), 0) != 0:
        mm.arg_end = original_end  # the padded text still reads right up to its first NUL run
        return False
    return True


def die_with_parent(signal_number: int) -> None:
    """PR_SET_PDEATHSIG: get ``signal_number`` when the parent thread exits (call in the child, e.g. preexec_fn)."""
    _libc().prctl(_PR_SET_PDEATHSIG, signal_number, 0, 0, 0)


def start_time(pid: int) -> Optional[int]:
    """Start time of ``pid`` in clock ticks since boot, or None when there is no such process."""
    try:
        return int(_stat_fields(pid)[19])
    except (OSError, ValueError, IndexError):
        return None


def is_same_process(pid: Optional[int], started: Optional[int]) -> bool:
    """Whether ``pid`` still names the process recorded with start time ``started`` (and is no zombie)."""
    if not pid or started is None or start_time(pid) != started:
        return False
    try:
        return _stat_fields(pid)[0] != b"Z"
    except OSError:
        return False


def namespace_ids(pid: int, kinds=("mnt", "pid", "uts")) -> dict:
    """``{"mnt": "mnt:[4026532...]", ...}`` for ``pid``; kinds that cannot be read are left out."""
    found = {}
    for kind in kinds:
        try:
            found[kind] = os.readlink(f"/proc/{pid}/ns/{kind}")
        except OSError:
            continue
    return found


def processes_in_namespaces(namespace_links: List[str], proc_root: str = "/proc") -> List[int]:
    """PIDs (as seen from here) of processes that are in any of the given namespaces."""
    wanted = set(namespace_links)
    found = []
    for entry in os.listdir(proc_root):
        if not entry.isdigit():
            continue
        for kind in ("mnt", "pid", "uts"):
            try:
                if os.readlink(os.path.join(proc_root, entry, "ns", kind)) in wanted:
                    found.append(int(entry))
                    break
            except OSError:
                break
    return sorted(found)

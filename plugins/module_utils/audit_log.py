# Copyright: (c) 2026, NNF kube_audit maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Read the kube-apiserver audit log of one control-plane node: the current file and its rotated backups.

The log backend writes one ``audit.k8s.io`` Event per line, as compact JSON whose keys come in the Go struct's
order, and lumberjack rotates the file into ``<stem>-<YYYY-MM-DDTHH-MM-SS.mmm><ext>`` backups (UTC rotation time,
``.gz`` when compression is on). Logs run to gigabytes, so reading is built for speed and flat memory:

* files are read in 1 MiB blocks, lines found by offsets in the bytes: memory holds a block and the longest
  line, whatever the size of the log; a line longer than ``max_line_bytes`` (16 MiB by default) is not kept but
  skipped as it streams by, counted, and looked through for the look-up's needle only;
* an ``audit_id`` or ``user`` filter becomes a raw-text needle: lines without it are neither decoded nor
  parsed, which is what makes finding one event in a gigabyte cheap;
* the fields that filters and the summary need are read from their fixed places in the Event's key order (a
  short regex for the head, str.find for the rest, see _fast_record), and JSON strings are decoded only when
  they hold escapes. A line of any other shape (an error status with causes, another apiVersion, a line
  mangled by a crash) goes through ``json.loads``; both paths give the same fields (the unit tests hold them to
  it), the fast one several times cheaper.

Bad data is counted, never fatal: lines in the legacy text format, malformed JSON, lines cut short (the last
one still being written, or one torn by a crash), lines longer than ``max_line_bytes`` and damaged ``.gz`` backups
are reported in the stats.

Every event has one time, the first of ``stageTimestamp``, ``requestReceivedTimestamp`` and ``timestamp`` (the only
one of audit.k8s.io/v1beta1 in Kubernetes 1.8) that is set: both time bounds, the order and the newest-N limit use
it. An event without any (or with one that does not parse) compares as older than every time: never within a
bound, first in order.

The standard library and the collection's ``_errors`` only: this runs on the target under Python 3.8+.
"""

import datetime
import fnmatch
import heapq
import ipaddress
import json
import os
import re
import stat
import zlib
from collections import Counter
from itertools import repeat
from typing import Any, Callable, Dict, Iterable, Iterator, List, NamedTuple, Optional, Sequence, Tuple

from ansible_collections.nnf.kube_audit.plugins.module_utils import _audit_recipes, _defaults, _errors

DEFAULT_LOG_PATH = _defaults.LOG_PATH
OUTPUT_FORMATS = ("summary", "events", "counts")
STAGES = _defaults.AUDIT_STAGES
LEVELS = _defaults.AUDIT_LEVELS[1:]  # the levels an event is logged at
# The seed's jq summary: [.auditID,.verb,.requestURI,.user.username,.responseStatus.code,.stageTimestamp]
SUMMARY_FIELDS = ("auditID", "verb", "requestURI", "username", "code", "stageTimestamp")
COUNT_DIMENSIONS = ("user", "verb", "resource", "code")
# The investigation recipes (module_utils/_audit_recipes.py), by name.
RECIPES = _audit_recipes.RECIPES
DEFAULT_LIMIT = 1000
# Real RequestResponse events (a large list's response) run to megabytes; a longer line is skipped, not kept.
DEFAULT_MAX_LINE_BYTES = 16 << 20
MIN_MAX_LINE_BYTES = 1024
# The time of an event: the first of these that is set. Kubernetes 1.8's audit.k8s.io/v1beta1 has only the last.
TIME_FIELDS = ("stageTimestamp", "requestReceivedTimestamp", "timestamp")
MAX_PROBLEMS = 10
NO_RESOURCE = "<non-resource>"
NO_VALUE = "<none>"

# Large enough that per-block costs vanish, small enough to stay in the CPU caches.
BLOCK_SIZE = 1 << 20
_GZIP_WBITS = 16 + zlib.MAX_WBITS

# --- line shapes -------------------------------------------------------------------------------------------

_S = r'[^"\\]*(?:\\.[^"\\]*)*'  # the body of a JSON string, escapes included (unrolled: no backtracking)
_STR = '"' + _S + '"'
_STRING_BODY = re.compile(_S)
_SCALAR = "(?:" + _STR + r"|-?\d+)"
_FLAT_OBJECT = r"\{(?:" + _STR + ":" + _SCALAR + "(?:," + _STR + ":" + _SCALAR + r")*)?\}"
# metav1.Status after '"responseStatus":': metadata (a flat ListMeta), status, message, reason, details without
# causes, code. Anything richer takes the JSON path.
_RESPONSE_STATUS = re.compile(
    r'\{"metadata":\{[^{}"]*(?:' + _STR + r'[^{}"]*)*\}'
    rf'(?:,"status":{_STR})?(?:,"message":{_STR})?(?:,"reason":{_STR})?(?:,"details":{_FLAT_OBJECT})?'
    r'(?:,"code":(\d+))?\}',
    re.ASCII,  # \d and \w mean ASCII digits and letters here and below: what JSON and Go write
)
# The fields up to the user's name, whose order and spelling never vary.
_EVENT_HEAD = re.compile(
    r'\{"kind":"Event","apiVersion":"audit\.k8s\.io/v1","level":"(\w+)",'
    rf'"auditID":"({_S})","stage":"(\w+)","requestURI":"({_S})","verb":"({_S})","user":\{{"username":"({_S})"',
    re.ASCII,
)
# The same, faster, for the usual strings: up to the first quote, when no backslash is right before it (that quote
# then ends the string, as _S finds). [^"]* runs through a string in one step of the regex engine, where _S checks
# every character against two. Where it does not match, _EVENT_HEAD decides.
_PLAIN = r'([^"]*)(?<!\\)'
_EVENT_HEAD_PLAIN = re.compile(
    r'\{"kind":"Event","apiVersion":"audit\.k8s\.io/v1","level":"(\w+)",'
    rf'"auditID":"{_PLAIN}","stage":"(\w+)","requestURI":"{_PLAIN}","verb":"{_PLAIN}","user":\{{"username":"{_PLAIN}"',
    re.ASCII,
)
# The common success status, which _walk_to_status checks with one startswith instead of a regex.
_PLAIN_STATUS = ',"responseStatus":{"metadata":{},"code":'
_AFTER_STATUS = (',"requestReceivedTimestamp":', ',"requestObject":', ',"responseObject":')
# stageTimestamp is the last field before the annotations (a string map), so the key's last occurrence is the
# Event's own. MicroTime is always UTC with six digits, which makes it a sort key as it stands.
_STAGE_TIMESTAMP_KEY = ',"stageTimestamp":"'
_TAIL = r',"stageTimestamp":"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z)"(?:\}|,"annotations":\{.*\}\})\Z'
_EVENT_TAIL = re.compile(_TAIL, re.DOTALL | re.ASCII)
# The usual end of a Metadata-level event, 101 characters before its stageTimestamp key: a plain success status,
# requestReceivedTimestamp (a MicroTime, not read), then the tail. One regex for what _fast_record checks there.
_PLAIN_END_TO_STAMP = 101
_PLAIN_END = re.compile(
    r',"responseStatus":\{"metadata":\{\},"code":(\d\d\d)\},"requestReceivedTimestamp":".{28}' + _TAIL,
    re.DOTALL | re.ASCII,
)
# A second Event start inside a line means a write was cut short (crash, full disk) and the next one went on.
_EVENT_START = '{"kind":"Event","apiVersion":"audit.k8s.io/'
# --audit-log-format=legacy: '2017-03-21T03:57:09.106841886-04:00 AUDIT: id="..." stage="..." ...'
_LEGACY_LINE = re.compile(r"\S+ AUDIT: id=")

_BACKUP_STAMP = r"(\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3})"
_TO_THE_MILLISECOND = len("2026-11-20T10:00:00.000")  # a canonical time key cut after its milliseconds
_CANONICAL_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z\Z", re.ASCII)
_RFC3339 = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)(?:[Tt ](\d\d):(\d\d):(\d\d)(?:\.(\d+))?([Zz]|[+-]\d\d:?\d\d)?)?\Z", re.ASCII
)
_RELATIVE = re.compile(r"(?:\d+[smhdw])+\Z", re.ASCII)
_RELATIVE_PART = re.compile(r"(\d+)([smhdw])", re.ASCII)
_RELATIVE_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_GLOB_CHARS = re.compile(r"[*?\[]")
# Printable ASCII that Go's encoding/json writes as itself (it escapes '"', '\' and, HTML-safe, '<', '>', '&'):
# a needle made of these appears verbatim in the line.
_VERBATIM_IN_JSON = re.compile(r"[\x20-\x21\x23-\x25\x27-\x3b\x3d\x3f-\x5b\x5d-\x7e]+\Z")


class AuditLogError(_errors.KubeAuditError):
    """The log cannot be read at all (missing, not a file, no permission): the caller reports it and stops.

    ``result`` holds ``log_found`` as read_audit_log's result would: True, the log or a backup of it exists.
    """

    LOG_FOUND = True

    def __init__(self, message: str, result: Optional[Dict[str, Any]] = None) -> None:
        super().__init__(message, dict({"log_found": self.LOG_FOUND}, **(result or {})))


class AuditLogMissing(AuditLogError):
    """Neither the log nor any backup exists: auditing looks disabled on this host (``log_found`` is False)."""

    LOG_FOUND = False


# --- time ----------------------------------------------------------------------------------------------------


def utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def format_time(moment: datetime.datetime) -> str:
    """The canonical comparison key: UTC, six fractional digits, 'Z' (how the apiserver writes MicroTime).

    Spelled out rather than strftime'd: '%Y' drops the leading zeros of years before 1000 on glibc, and '999-...'
    would sort after '2026-...'. Raises OverflowError for a time whose UTC date is before year 1 or after 9999.
    """
    t = moment.astimezone(datetime.timezone.utc)
    return f"{t.year:04d}-{t.month:02d}-{t.day:02d}T{t.hour:02d}:{t.minute:02d}:{t.second:02d}.{t.microsecond:06d}Z"


def parse_rfc3339(text: str) -> Optional[datetime.datetime]:
    """Parse an RFC 3339 timestamp (any number of fractional digits) or a bare date (midnight UTC).

    Returns None when ``text`` is neither, or is a time whose UTC date falls outside years 1 to 9999. A date-time
    without an offset is refused too: guessing the zone of a security timestamp is worse than asking.
    """
    match = _RFC3339.match(text.strip())
    if not match:
        return None
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    if hour is not None and offset is None:
        return None
    zone = datetime.timezone.utc
    if offset is not None and offset not in "Zz":
        sign = -1 if offset[0] == "-" else 1
        digits = offset[1:].replace(":", "")
        zone = datetime.timezone(sign * datetime.timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    try:
        moment = datetime.datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            int((fraction or "0")[:6].ljust(6, "0")),
            tzinfo=zone,
        )
        return moment.astimezone(datetime.timezone.utc)
    except (ValueError, OverflowError):  # 2026-02-30, 25:00..., or 0001-01-01T00:00:00+01:00 (year 0 in UTC)
        return None


def parse_time_bound(text: str, now: Optional[datetime.datetime] = None) -> str:
    """Turn a ``since``/``until`` value into a canonical UTC key.

    Accepts RFC 3339 (``2026-11-20T10:00:00Z``, ``2026-11-20T10:00:00.5-07:00``), a bare date (midnight UTC) or a
    duration back from ``now``: ``90s``, ``30m``, ``2h``, ``1d``, ``1w``, or a sum such as ``1h30m``.
    """
    value = str(text).strip()
    if _RELATIVE.match(value):
        seconds = sum(int(count) * _RELATIVE_SECONDS[unit] for count, unit in _RELATIVE_PART.findall(value))
        try:
            return format_time((now or utc_now()) - datetime.timedelta(seconds=seconds))
        except OverflowError:
            raise ValueError(f"{text!r} goes back before the year 1") from None
    moment = parse_rfc3339(value)
    if moment is None:
        raise ValueError(
            f"{text!r} is neither an RFC 3339 time with an offset (2026-11-20T10:00:00Z, 2026-11-20T12:00:00+02:00),"
            " a date (2026-11-20, taken as UTC) nor a duration back from now (90s, 30m, 2h, 1d, 1w, 1h30m)"
        )
    return format_time(moment)


def time_key(value: Any) -> str:
    """Sort and compare key of an event timestamp: canonical UTC text, '' when missing or unparsable."""
    if not isinstance(value, str):
        return ""
    if _CANONICAL_TIME.match(value):
        return value
    moment = parse_rfc3339(value)
    return format_time(moment) if moment is not None else ""


def event_time(event: Any) -> Tuple[Any, str]:
    """The time of an event (a mapping), as logged and as a time_key: the first of TIME_FIELDS that is set.

    Missing and null fields are passed over, so a summary (whose stageTimestamp is this time) yields the same. The
    key is '' when none is set or the one set does not parse: '' sorts before every time and is within no bound.
    """
    for field in TIME_FIELDS:
        value = event.get(field)
        if value is not None:
            return value, time_key(value)
    return None, ""


def event_time_key(event: Any) -> str:
    """time_key of an event's time (see event_time); also of a summary, whose stageTimestamp is that time."""
    return event_time(event)[1]


def check_max_line_bytes(value: Any) -> int:
    """``value`` if it is a valid max_line_bytes, else ValueError naming the option."""
    if isinstance(value, bool) or not isinstance(value, int) or value < MIN_MAX_LINE_BYTES:
        raise ValueError(
            f"max_line_bytes must be an integer of at least {MIN_MAX_LINE_BYTES} (1 KiB), not {value!r} "
            f"(the default, {DEFAULT_MAX_LINE_BYTES}, is 16 MiB)"
        )
    return value


# --- files ---------------------------------------------------------------------------------------------------


class LogFile(NamedTuple):
    path: str
    rotated_at: Optional[str]  # canonical UTC time from a backup's name; None for the current file
    compressed: bool


def _split_ext(filename: str) -> Tuple[str, str]:
    # Go's filepath.Ext, which lumberjack uses: from the last dot of the base name, '' when there is none.
    dot = filename.rfind(".")
    return (filename, "") if dot < 0 else (filename[:dot], filename[dot:])


def backup_name_pattern(path: str) -> "re.Pattern[str]":
    """Regex of lumberjack backup names of ``path``: group 1 is the rotation time, group 2 '.gz' or None."""
    stem, ext = _split_ext(os.path.basename(path))
    return re.compile(re.escape(stem + "-") + _BACKUP_STAMP + re.escape(ext) + r"(\.gz)?\Z", re.ASCII)


def find_backups(path: str) -> List[LogFile]:
    """The rotated backups of ``path``, oldest first by the rotation time in their names.

    While lumberjack compresses a backup, ``x.log`` and a partial ``x.log.gz`` exist side by side for a moment;
    the uncompressed file is the complete one, so it wins.
    """
    directory = os.path.dirname(path) or "."
    pattern = backup_name_pattern(path)
    by_stamp = {}  # type: Dict[str, Dict[bool, str]]
    try:
        entries = list(os.scandir(directory))
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise AuditLogError(f"cannot list {directory}: {exc.strerror or exc}") from exc
    for entry in entries:
        match = pattern.match(entry.name)
        if match and entry.is_file():
            by_stamp.setdefault(match.group(1), {})[bool(match.group(2))] = entry.path
    backups = []
    for stamp in sorted(by_stamp):  # the fixed-width stamp sorts as the time it encodes
        variants = by_stamp[stamp]
        compressed = False not in variants
        day, clock = stamp.split("T")
        rotated_at = f"{day}T{clock[0:2]}:{clock[3:5]}:{clock[6:]}000Z"
        backups.append(LogFile(variants[compressed], rotated_at, compressed))
    return backups


class _Gunzip:
    """Streaming gunzip that hands over everything it could decompress before it reports damage.

    gzip.GzipFile drops what the failing read call had decompressed; in an audit trail every event before the
    damage counts, so this feeds zlib directly. Concatenated members are read one after the other.
    """

    def __init__(self, raw: Any) -> None:
        self._raw = raw
        self._inflater = zlib.decompressobj(_GZIP_WBITS)
        self._input = b""

    def read(self, size: int) -> bytes:
        while True:
            if not self._input:
                chunk = self._raw.read(BLOCK_SIZE // 4)
                if not chunk:
                    if self._inflater.eof:
                        return b""
                    raise EOFError("the gzip data ends before its end-of-stream marker (file cut short?)")
                if self._inflater.eof:
                    chunk = chunk.lstrip(b"\0")  # zero padding after a member is allowed, as gzip(1) allows it
                    if not chunk:
                        continue
                    self._inflater = zlib.decompressobj(_GZIP_WBITS)
                self._input = chunk
            data = self._inflater.decompress(self._input, size)
            if self._inflater.eof:
                self._input = self._inflater.unused_data.lstrip(b"\0")
                if self._input:  # another member follows
                    self._inflater = zlib.decompressobj(_GZIP_WBITS)
            else:
                self._input = self._inflater.unconsumed_tail
            if data:
                return data

    def close(self) -> None:
        self._raw.close()


# --- events --------------------------------------------------------------------------------------------------


class AuditRecord:
    """One Event: the fields that filters and summaries need, and its line for the rest (parsed on demand)."""

    __slots__ = (
        "_after_name",
        "_event",
        "_object_ref",
        "_object_ref_text",
        "audit_id",
        "code",
        "level",
        "line",
        "request_uri",
        "stage",
        "stage_timestamp",
        "time_key",
        "username",
        "verb",
    )

    # One record per log line: positional arguments keep the hot path cheap.
    def __init__(  # noqa: PLR0917
        self,
        line: str,
        level: Any,
        audit_id: Any,
        stage: Any,
        request_uri: Any,
        verb: Any,
        username: Any,
        code: Any,
        stage_timestamp: Any,
        object_ref_text: Optional[str] = None,
    ) -> None:
        self.line = line
        self.level = level
        self.audit_id = audit_id
        self.stage = stage
        self.request_uri = request_uri
        self.verb = verb
        self.username = username
        self.code = code
        # The event's time as logged (see event_time): its stageTimestamp, unless that is missing or null.
        self.stage_timestamp = stage_timestamp
        self.time_key = stage_timestamp  # the fast path only accepts canonical stageTimestamps
        self._event = None  # type: Optional[Dict[str, Any]]
        self._object_ref_text = object_ref_text  # objectRef as written in the line, parsed when needed
        self._object_ref = None  # type: Optional[Dict[str, Any]]
        self._after_name = 0  # where the user's name ends in the line (fast path)

    @classmethod
    def from_event(cls, event: Dict[str, Any], line: str) -> "AuditRecord":
        user = event.get("user")
        status = event.get("responseStatus")
        timestamp, key = event_time(event)
        record = cls(
            line,
            event.get("level"),
            event.get("auditID"),
            event.get("stage"),
            event.get("requestURI"),
            event.get("verb"),
            user.get("username") if isinstance(user, dict) else None,
            status.get("code") if isinstance(status, dict) else None,
            timestamp,
        )
        record.time_key = key
        record._event = event
        object_ref = event.get("objectRef")
        record._object_ref = object_ref if isinstance(object_ref, dict) else {}
        return record

    def event(self) -> Dict[str, Any]:
        if self._event is None:
            self._event = json.loads(self.line)
        return self._event

    def object_ref(self) -> Dict[str, Any]:
        """objectRef, or {} for a non-resource request (/healthz, /version...)."""
        if self._object_ref is None:
            text = self._object_ref_text
            if text is _UNREAD:
                walked = _walk_to_status(self.line, self._after_name)
                text = walked[0] if walked is not None else None
                if walked is None:  # a shape the walk does not know: ask json
                    found = self.event().get("objectRef")
                    self._object_ref = found if isinstance(found, dict) else {}
                    return self._object_ref
            self._object_ref = json.loads(text) if text else {}
        return self._object_ref

    def resource_label(self) -> str:
        """kubectl's spelling: resource[/subresource][.group], e.g. 'nnfstorages.nnf.cray.hpe.com', 'pods/log'."""
        ref = self.object_ref()
        resource = ref.get("resource")
        if not resource:
            return NO_RESOURCE
        if ref.get("subresource"):
            resource += "/" + ref["subresource"]
        return resource + "." + ref["apiGroup"] if ref.get("apiGroup") else resource

    # The fields below are not read by the fast path: they come from the decoded event, which the fast path only
    # decodes when one of them is asked for (a filter or a grouping that needs it).

    def _decoded(self) -> Dict[str, Any]:
        """The event decoded, or {} when its line is not JSON after all (the fast path checks only what it reads)."""
        try:
            event = self.event()
        except ValueError:
            return {}
        return event if isinstance(event, dict) else {}

    def impersonated(self) -> Optional[Dict[str, Any]]:
        """impersonatedUser (the user the request was made as, with Impersonate-User), or None."""
        if self._event is None and (self.line is None or '"impersonatedUser"' not in self.line):
            # The apiserver writes the key as is: a line without it has no impersonatedUser, no need to decode it.
            return None
        found = self._decoded().get("impersonatedUser")
        return found if isinstance(found, dict) else None

    def impersonated_username(self) -> Optional[str]:
        """impersonatedUser.username, or None when the request impersonated nobody."""
        impersonated = self.impersonated()
        name = impersonated.get("username") if impersonated is not None else None
        return name if isinstance(name, str) else None

    def effective_username(self) -> Optional[str]:
        """The user the request acted as: the impersonated user when there is one, else the authenticated user."""
        impersonated = self.impersonated()
        if impersonated is None:
            return self.username if isinstance(self.username, str) else None
        name = impersonated.get("username")
        return name if isinstance(name, str) else None

    def source_ips(self) -> List[str]:
        """sourceIPs: the X-Forwarded-For addresses, X-Real-Ip, then the client's address; [] when missing."""
        found = self._decoded().get("sourceIPs")
        return [item for item in found if isinstance(item, str)] if isinstance(found, list) else []

    def user_agent(self) -> Optional[str]:
        found = self._decoded().get("userAgent")
        return found if isinstance(found, str) else None

    def summary(self) -> Dict[str, Any]:
        """The seed's jq summary as a mapping, keys named after the last step of each jq path.

        Its stageTimestamp is the event's time: an event without one (older clusters) shows the time it is sorted
        on, its requestReceivedTimestamp or timestamp, where jq would show null.
        """
        return {
            "auditID": self.audit_id,
            "verb": self.verb,
            "requestURI": self.request_uri,
            "username": self.username,
            "code": self.code,
            "stageTimestamp": self.stage_timestamp,
        }


_UNREAD = object()  # AuditRecord._object_ref_text when objectRef was not looked for yet


def _decode(raw: str) -> str:
    """The text of a JSON string's body as written in the line.

    encoding/json escapes '&', '<' and '>' (\\u0026, \\u003c, \\u003e): those are the escapes of most lines that
    have any (query strings), and are replaced without json. When no backslash is left, every one began one of
    those escapes; else json decodes the body.
    """
    if "\\" not in raw:
        return raw
    text = raw.replace("\\u0026", "&").replace("\\u003c", "<").replace("\\u003e", ">")
    return text if "\\" not in text else json.loads('"' + raw + '"')


def _walk_to_status(line: str, after_name: int) -> Optional[Tuple[Optional[str], Optional[int]]]:
    """objectRef (as written) and the response code, walking from the user's name to the end of responseStatus.

    Follows the Event's fields in audit.k8s.io/v1 order: the rest of user, impersonatedUser, sourceIPs,
    userAgent, objectRef, responseStatus, then one of requestObject, responseObject, requestReceivedTimestamp.
    Up to there, the only free-form keys are the user's extra ones, whose values are lists, so content cannot
    pass for structure. Every part is made of strings, lists of strings and maps of them: with no backslash in
    it (checked once, at the end), no quote is escaped, and a closing bracket is the part's own when the quotes
    before it pair up. None when the line is not in that exact shape (impersonation, escapes, a status with
    causes): json.loads decides then. Written out, not factored: this runs for most lines of a scan.
    """
    find, count, startswith = line.find, line.count, line.startswith
    # The user's uid, groups and extra (a map of lists, the last field): '}}' when extra is there.
    end = find("}", after_name)
    if end < 0 or count('"', after_name, end) % 2:
        return None
    if startswith("}", end + 1):
        end += 1
    position = end + 1
    if startswith(',"sourceIPs":[', position):  # from X-Forwarded-For too: anything
        end = find("]", position)
        if end < 0 or count('"', position, end) % 2:
            return None
        position = end + 1
    if startswith(',"userAgent":"', position):
        end = find('"', position + 14)
        if end < 0:
            return None
        position = end + 1
    object_ref = None
    if startswith(',"objectRef":{', position):
        end = find("}", position)
        if end < 0 or count('"', position, end) % 2:
            return None
        object_ref = line[position + 13 : end + 1]
        position = end + 1
    if find("\\", after_name, position) >= 0:
        return None  # an escaped quote would make the walk above wrong
    code = None
    code_text = line[position + 40 : position + 43]
    if startswith(_PLAIN_STATUS, position) and startswith("}", position + 43) and code_text.isdigit():
        code = int(code_text)
        position += 44
    elif startswith(',"responseStatus":', position):
        status = _RESPONSE_STATUS.match(line, position + 18)
        if status is None:
            return None
        code = int(status.group(1)) if status.group(1) is not None else None
        position = status.end()
    if not startswith(_AFTER_STATUS, position):
        return None  # impersonatedUser, or a shape this does not know
    return object_ref, code


def _fast_record(line: str, torn_possible: bool = True) -> Optional[AuditRecord]:
    """The record of a line in the shape kube-apiserver writes, or None to let json.loads decide.

    Reads the fields that filters and summaries need from their fixed places, many times cheaper than decoding
    the JSON: the head (kind to user.username, whose order and spelling never vary) with one regex (a faster one
    first, for strings that need it); the stageTimestamp from the end (only the annotations, a string map, follow
    it); then the response code. The apiserver writes requestReceivedTimestamp right before stageTimestamp, and,
    when the event carries no request or response object (the Metadata level of the usual policies),
    responseStatus right before that: when those 44 characters are a complete success status, they are the
    Event's own (a quote after a comma is never inside a string, and an object closed right before a top-level key
    is a top-level value), and objectRef is looked for only when asked; one regex (_PLAIN_END) checks them and the
    tail. Any other line is walked from the user's name on.
    ``torn_possible`` False skips the check for a second event in the line (the caller ruled it out per block).

    The parts read are checked for their exact shape; the parts skipped (the user's other fields, request and
    response objects, annotations) are not validated, so a line damaged only there reads as it was written.
    """
    head = _EVENT_HEAD_PLAIN.match(line) or _EVENT_HEAD.match(line)
    if head is None:
        return None
    if torn_possible and line.find(_EVENT_START, 1) >= 0:
        return None  # two events on one line: a torn write, for json to sort out
    after_name = head.end()
    stamp_at = line.rfind(_STAGE_TIMESTAMP_KEY)
    # ',"responseStatus":{"metadata":{},"code":' 'NNN}' ',"requestReceivedTimestamp":"' a MicroTime '"': 40 + 4 + 29
    # + 27 + 1 characters before it, in the usual event.
    status_at = stamp_at - _PLAIN_END_TO_STAMP
    plain = _PLAIN_END.match(line, status_at) if status_at >= after_name else None
    if plain is not None:
        code, object_ref, stamp = int(plain.group(1)), _UNREAD, plain.group(2)  # type: Optional[int], Any, str
    else:
        tail = _EVENT_TAIL.match(line, stamp_at if stamp_at > after_name else after_name)
        if tail is None:
            return None
        walked = _walk_to_status(line, after_name)
        if walked is None:
            return None
        object_ref, code = walked
        stamp = tail.group(1)
    level, audit_id, stage, uri, verb, username = head.groups()
    if "\\" in audit_id or "\\" in uri or "\\" in verb or "\\" in username:
        record = AuditRecord(
            line, level, _decode(audit_id), stage, _decode(uri), _decode(verb), _decode(username), code,
            stamp, object_ref,
        )  # fmt: skip
    else:
        record = AuditRecord(line, level, audit_id, stage, uri, verb, username, code, stamp, object_ref)
    record._after_name = after_name
    return record


# --- filters -------------------------------------------------------------------------------------------------


def _text_set(values: Optional[Iterable[Any]]) -> "frozenset[str]":
    return frozenset(str(value) for value in values or ())


def _verbatim(value: Optional[str]) -> bool:
    return bool(value) and _VERBATIM_IN_JSON.match(value) is not None


class _Pattern:
    """A value matched exactly, or a shell pattern (fnmatch, case-sensitive) when it has ``*``, ``?`` or ``[``."""

    __slots__ = ("glob", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.glob = re.compile(fnmatch.translate(text)).match if _GLOB_CHARS.search(text) else None

    def __call__(self, value: Any) -> bool:
        if not isinstance(value, str):
            return False
        return value == self.text if self.glob is None else self.glob(value) is not None

    def needle(self) -> Optional[str]:
        """Text every matching line holds verbatim (see EventFilter.needle), or None."""
        if self.glob is None:
            return '"' + self.text + '"' if _verbatim(self.text) else None
        if "[" in self.text:
            return None
        # A pattern's longest literal run is in every value it matches; too short a run would not narrow much.
        literal = max(re.split(r"[*?]", self.text), key=len)
        return literal if len(literal) >= 4 and _verbatim(literal) else None


def _pattern(value: Optional[str]) -> Optional[_Pattern]:
    return _Pattern(str(value)) if value else None


IPNetwork = Any  # ipaddress.IPv4Network or IPv6Network


def _parse_networks(values: Optional[Iterable[Any]]) -> Tuple[IPNetwork, ...]:
    """The networks of the source_ips filter: addresses (a network of one) and CIDRs. ValueError names a bad one."""
    networks = []
    for value in values or ():
        text = str(value).strip()
        try:
            networks.append(ipaddress.ip_network(text, strict=False))  # 10.0.0.5/8 is taken as 10.0.0.0/8
        except ValueError:
            raise ValueError(
                f"source_ips: {value!r} is neither an IP address (10.0.0.5, fd00::5) nor a network in CIDR notation "
                "(10.0.0.0/8, fd00::/8)"
            ) from None
    return tuple(networks)


def _address(text: str) -> Any:
    """An address of sourceIPs, or None for anything else (X-Forwarded-For can hold any text)."""
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def _in_networks(addresses: Iterable[str], networks: Tuple[IPNetwork, ...]) -> bool:
    """Whether any of the addresses is in any of the networks; an IPv4-mapped IPv6 address counts as its IPv4."""
    for text in addresses:
        address = _address(text)
        if address is None:
            continue
        candidates = [address]
        if address.version == 6 and address.ipv4_mapped is not None:  # ::ffff:10.0.0.5, from a dual-stack listener
            candidates.append(address.ipv4_mapped)
        if any(candidate in network for candidate in candidates for network in networks):
            return True
    return False


class EventFilter:
    """Which events to keep. Filters combine with AND; a list filter matches any of its values."""

    def __init__(
        self,
        *,
        audit_id: Optional[str] = None,
        user: Optional[str] = None,
        verbs: Optional[Sequence[str]] = None,
        groups: Optional[Sequence[str]] = None,
        resources: Optional[Sequence[str]] = None,
        namespaces: Optional[Sequence[str]] = None,
        stages: Optional[Sequence[str]] = None,
        levels: Optional[Sequence[str]] = None,
        codes: Optional[Sequence[Any]] = None,
        since: Optional[str] = None,
        until: Optional[str] = None,
        now: Optional[datetime.datetime] = None,
        name: Optional[str] = None,
        source_ips: Optional[Sequence[Any]] = None,
        user_agents: Optional[Sequence[str]] = None,
        impersonated_user: Optional[str] = None,
        effective_user: Optional[str] = None,
        recipe: Optional[str] = None,
    ) -> None:
        """Raises ValueError for a value that cannot mean anything (bad code, time, interval, address or recipe).

        ``user`` is the authenticated user (user.username), as the NNF procedure's jq recipe reads it;
        ``impersonated_user`` the user it acted as (impersonatedUser.username), and ``effective_user`` the one or,
        without impersonation, the other. ``name``, ``user_agents`` and these three are exact values, or shell
        patterns when they hold ``*``, ``?`` or ``[``. ``recipe`` names a set of filters of _audit_recipes that
        combines (AND) with the others.
        """
        self.audit_id = audit_id or None
        self.user = user or None
        self._user_glob = None
        if self.user and _GLOB_CHARS.search(self.user):
            self._user_glob = re.compile(fnmatch.translate(self.user)).match  # shell pattern, case-sensitive
        self.verbs = _text_set(verbs)
        # objectRef omits the core group's empty name; "core" is accepted as its readable spelling.
        self.groups = frozenset("" if group == "core" else group for group in _text_set(groups))
        self.resources = _text_set(resources)
        self.namespaces = _text_set(namespaces)
        self.stages = _text_set(stages)
        self.levels = _text_set(levels)
        self.codes, self.code_classes = self._parse_codes(codes)
        now = now or utc_now()
        self.since = parse_time_bound(since, now) if since else None
        self.until = parse_time_bound(until, now) if until else None
        if self.since and self.until and self.since >= self.until:
            raise ValueError(f"since ({self.since}) is not before until ({self.until})")
        self._bounded = self.since is not None or self.until is not None
        self._by_object_ref = bool(self.groups or self.resources or self.namespaces)
        # The values as given; the matchers are the underscored ones.
        self.name = name or None
        self._name = _pattern(name)
        self.source_ips = _parse_networks(source_ips)
        self.user_agents = sorted(text for text in _text_set(user_agents) if text)
        self._user_agents = tuple(_Pattern(text) for text in self.user_agents)
        self.impersonated_user = impersonated_user or None
        self._impersonated_user = _pattern(impersonated_user)
        self.effective_user = effective_user or None
        self._effective_user = _pattern(effective_user)
        self.recipe = recipe or None
        self._recipe_filter = None  # type: Optional[EventFilter]
        if self.recipe is not None:
            if self.recipe not in RECIPES:
                raise ValueError(f"recipe must be one of {', '.join(RECIPES)}, not {recipe!r}")
            self._recipe_filter = EventFilter(now=now, **RECIPES[self.recipe].filters)
        self._beyond_summary = bool(
            self._name or self.source_ips or self._user_agents or self._impersonated_user or self._effective_user
        )

    @staticmethod
    def _parse_codes(codes: Optional[Sequence[Any]]) -> Tuple["frozenset[int]", "frozenset[int]"]:
        exact, classes = set(), set()
        for code in codes or ():
            text = str(code).strip().lower()
            if re.match(r"[1-5]xx\Z", text):
                classes.add(int(text[0]))
            elif re.match(r"[1-5]\d\d\Z", text):
                exact.add(int(text))
            else:
                raise ValueError(f"{code!r} is not an HTTP status code (404) or class of codes (4xx)")
        return frozenset(exact), frozenset(classes)

    def _needle(self) -> Tuple[Optional[str], str]:
        """The needle (see ``needle``) and what it is, in the words of a report."""
        if _verbatim(self.audit_id):
            return '"' + str(self.audit_id) + '"', "the audit_id value"
        user = _pattern(self.user)
        for option, pattern in (("user", user), ("name", self._name), ("effective_user", self._effective_user)):
            needle = pattern.needle() if pattern is not None else None
            if needle is not None:
                return needle, f"the {option} value" if pattern.glob is None else f"the {option} pattern's text"
        if self._impersonated_user is not None:
            return '"impersonatedUser"', "an impersonatedUser field"
        if self._recipe_filter is not None:
            return self._recipe_filter._needle()
        return None, ""

    @property
    def needle(self) -> Optional[str]:
        """Text that every matching line holds verbatim, so that lines without it need not be parsed.

        Built only from values that encoding/json writes as themselves; a value with quotes, backslashes, <>&
        or non-ASCII could be escaped in the log, so such a filter looks at every line. A needle only narrows the
        lines parsed: a line that holds it elsewhere (in an annotation, say) is parsed and turned down by matches.
        """
        return self._needle()[0]

    @property
    def required_resources(self) -> "frozenset[str]":
        """Resources one of which every match is on: the ``resources`` filter's, else its recipe's (they combine)."""
        if self.resources or self._recipe_filter is None:
            return self.resources
        return self._recipe_filter.resources

    @property
    def needle_label(self) -> str:
        """What the needle is, in the words of a report: 'the audit_id value', 'the user value'..."""
        return self._needle()[1]

    def is_empty(self) -> bool:
        return not (
            self.audit_id
            or self.user
            or self.verbs
            or self._by_object_ref
            or self.stages
            or self.levels
            or self.codes
            or self.code_classes
            or self.since
            or self.until
            or self._beyond_summary
            or self._recipe_filter is not None
        )

    def matches(self, record: AuditRecord) -> bool:
        # Cheapest and most selective tests first.
        if self.audit_id is not None and record.audit_id != self.audit_id:
            return False
        if self.user is not None:
            if self._user_glob is None:
                if record.username != self.user:
                    return False
            elif not isinstance(record.username, str) or not self._user_glob(record.username):
                return False
        if self.verbs and record.verb not in self.verbs:
            return False
        if self.stages and record.stage not in self.stages:
            return False
        if self.levels and record.level not in self.levels:
            return False
        if (self.codes or self.code_classes) and not (
            record.code in self.codes or (isinstance(record.code, int) and record.code // 100 in self.code_classes)
        ):
            return False
        if self._bounded:
            key = record.time_key  # '' for an event without a time: within no bound, whichever it is
            if (
                not key
                or (self.since is not None and key < self.since)
                or (self.until is not None and key >= self.until)
            ):
                return False
        if self._by_object_ref:
            ref = record.object_ref()
            if not ref:
                return False  # a non-resource request has no group, resource or namespace
            if self.groups and ref.get("apiGroup", "") not in self.groups:
                return False
            if self.resources:
                resource = ref.get("resource", "")
                subresource = ref.get("subresource")
                if resource not in self.resources and not (
                    subresource and resource + "/" + subresource in self.resources
                ):
                    return False
            if self.namespaces and ref.get("namespace", "") not in self.namespaces:
                return False
        if self._recipe_filter is not None and not self._recipe_filter.matches(record):
            return False
        return not self._beyond_summary or self._matches_beyond_summary(record)

    def _matches_beyond_summary(self, record: AuditRecord) -> bool:
        """The filters on fields the fast path does not read; all but name may decode the event."""
        if self._name is not None and not self._name(record.object_ref().get("name")):
            return False
        if self._impersonated_user is not None and not self._impersonated_user(record.impersonated_username()):
            return False
        if self._effective_user is not None and not self._effective_user(record.effective_username()):
            return False
        if self._user_agents:
            agent = record.user_agent()
            if not any(pattern(agent) for pattern in self._user_agents):
                return False
        return not self.source_ips or _in_networks(record.source_ips(), self.source_ips)


# --- scanning ------------------------------------------------------------------------------------------------


class ScanStats:
    """What was read and what had to be skipped, for the caller to report."""

    def __init__(self) -> None:
        self.files = []  # type: List[Dict[str, Any]]
        self.bytes = 0
        self.lines = 0
        self.examined = 0
        self.matched = 0
        self.legacy = 0
        self.malformed = 0
        self.truncated = 0
        self.oversized = 0
        self.unreadable_files = 0
        self.problems = []  # type: List[Dict[str, Any]]
        # Oversized lines that hold the look-up's needle (audit_id or user): skipped, yet maybe matches.
        self.oversized_matches = 0
        self.oversized_match_lines = []  # type: List[Dict[str, Any]]

    def problem(self, kind: str, path: str, line: Optional[int], reason: str) -> None:
        setattr(self, kind, getattr(self, kind) + 1)
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append({"kind": kind, "path": path, "line": line, "reason": reason})

    def oversized_line(self, path: str, line: int, skipped: "_LongLine", why: str, last: bool) -> None:
        """Count and describe a line not read for its length; ``why`` ends 'longer than ...'."""
        reason = f"a line of {skipped.length} bytes{why}: not read"
        if last:
            reason += " (the last line, without newline: still being written?)"
        if skipped.found:
            reason += f"; it holds {skipped.label}: it may match"
            self.oversized_matches += 1
            if len(self.oversized_match_lines) < MAX_PROBLEMS:
                self.oversized_match_lines.append({"path": path, "line": line, "bytes": skipped.length})
        self.problem("oversized", path, line, reason)

    @property
    def skipped(self) -> Dict[str, int]:
        return {
            "legacy": self.legacy,
            "malformed": self.malformed,
            "truncated": self.truncated,
            "oversized": self.oversized,
            "unreadable_files": self.unreadable_files,
        }


def _clip(text: str, width: int = 80) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


class _LineParser:
    """Turns one line into an AuditRecord, or counts it as bad data and returns None."""

    def __init__(self, stats: ScanStats) -> None:
        self.stats = stats

    def parse(self, line: str, path: str, lineno: int, complete: bool = True) -> Optional[AuditRecord]:
        self.stats.examined += 1
        record = _fast_record(line)
        return record if record is not None else self.parse_json(line, path, lineno, complete)

    def parse_json(self, line: str, path: str, lineno: int, complete: bool = True) -> Optional[AuditRecord]:
        """The slow path, for lines that _fast_record turned down; the line is already counted as examined."""
        text = line.strip()
        if not text:
            self.stats.examined -= 1  # a blank line is neither an event nor bad data
            return None
        if not text.startswith("{"):
            if _LEGACY_LINE.match(text):
                self.stats.problem("legacy", path, lineno, "legacy text format (--audit-log-format=legacy)")
            else:
                self.stats.problem("malformed", path, lineno, "not JSON: " + _clip(text))
            return None
        try:
            event = json.loads(text)
        except ValueError as exc:
            return self._salvage(text, path, lineno, complete, exc)
        return self._record(event, text, path, lineno)

    def _salvage(self, text: str, path: str, lineno: int, complete: bool, error: Exception) -> Optional[AuditRecord]:
        # A write cut short by a crash is followed, on the same line, by the next complete event: keep that one.
        start = text.rfind(_EVENT_START)
        if start > 0:
            try:
                event = json.loads(text[start:])
            except ValueError:
                pass
            else:
                self.stats.problem("truncated", path, lineno, "an event cut short, followed by a complete one")
                return self._record(event, text[start:], path, lineno)
        if complete:
            self.stats.problem("malformed", path, lineno, f"invalid JSON ({error})")
        else:
            self.stats.problem("truncated", path, lineno, "the last line is incomplete (still being written?)")
        return None

    def _record(self, event: Any, text: str, path: str, lineno: int) -> Optional[AuditRecord]:
        is_event = isinstance(event, dict) and event.get("kind") == "Event"
        api_version = event.get("apiVersion") if is_event else None
        if not isinstance(api_version, str) or not api_version.startswith("audit.k8s.io/"):
            self.stats.problem("malformed", path, lineno, "JSON, but not an audit.k8s.io Event: " + _clip(text))
            return None
        return AuditRecord.from_event(event, text)


class _LongLine:
    """A line longer than max_line_bytes, skipped as it streams by: its length, and whether the needle is in it.

    The needle may straddle two pieces: the last len(needle) - 1 bytes of each are kept for the next.
    """

    __slots__ = ("found", "label", "length", "needle", "tail")

    def __init__(self, needle: Optional[bytes], label: str) -> None:
        self.needle = needle
        self.label = label
        self.length = 0
        self.found = False
        self.tail = b""

    def feed(self, data: Any, start: int, stop: int) -> None:
        """Take data[start:stop] (bytes or bytearray) into account; nothing past ``stop`` is looked at."""
        self.length += stop - start
        needle = self.needle
        if needle is None or self.found or stop <= start:
            return
        keep = len(needle) - 1
        across = self.tail + bytes(data[start : min(stop, start + keep)])  # a needle that starts in the piece before
        if needle in across or data.find(needle, start, stop) >= 0:
            self.found = True
        elif keep:
            self.tail = (self.tail + bytes(data[max(start, stop - keep) : stop]))[-keep:]


class _Needle:
    """The raw text of an audit_id or user look-up (EventFilter.needle): the lines without it are not looked at.

    bytes.find skips ahead by looking at the byte under its pattern's last one: a pattern that ends in a quote, the
    commonest byte of a JSON line, makes it stop at every quote. So a needle in quotes is searched for without its
    closing quote, which is then checked at each hit: about 15% less time for an auditID.
    """

    __slots__ = ("_head", "label", "needle")

    def __init__(self, needle: bytes, label: str) -> None:
        self.needle = needle
        self.label = label
        self._head = needle[:-1] if len(needle) > 2 and needle.endswith(b'"') else needle

    def find(self, data: Any, start: int, stop: int) -> int:
        """Where the needle is in data[start:stop], or -1."""
        head, needle = self._head, self.needle
        position = data.find(head, start, stop)
        if head is not needle:
            while position >= 0 and not data.startswith(needle, position, stop):
                position = data.find(head, position + 1, stop)
        return position


class _ResourceProbe:
    """The lines that may be events on the resources of a ``resources`` filter, found without parsing any.

    A match's objectRef holds a wanted resource (``"resource":"pods/exec"``), or a subresource that completes one
    (``"resource":"pods",...,"subresource":"exec"``). Both keys end in ``resource"`` (a key is written as itself),
    so each place where those 9 bytes are is looked at: the line is a candidate when a wanted value follows, when
    the value there holds an escape (it may decode to a wanted one), or when the key is not followed by ``:"`` as
    encoding/json writes it (some other writer's spacing: the parser decides). The probe is made only of wanted
    values that are written verbatim (_verbatim); else every line is parsed, as before.

    No ``needle``: an oversized line is not judged a possible match of a resources filter (no more than before).
    """

    __slots__ = ("_value",)
    needle = None  # type: Optional[bytes]
    label = ""
    KEY = b'resource"'

    def __init__(self, values: Iterable[str]) -> None:
        wanted = b"|".join(re.escape(value.encode("ascii")) for value in sorted(values))
        self._value = re.compile(b':"(?:' + wanted + b')"|:"[^"\\\\]*\\\\|(?!:")').match

    @classmethod
    def of(cls, resources: Iterable[str]) -> "Optional[_ResourceProbe]":
        """The probe of a resources filter's values, or None when one of them cannot be looked for verbatim."""
        values = set()
        for resource in resources:
            if not _verbatim(resource):
                return None  # '' (no resource at all), or a value the log may write escaped
            values.add(resource)
            # resource + "/" + subresource: the subresource is what follows one of the slashes
            values.update(part for part in _suffixes(resource) if part)
        return cls(values) if values else None

    def find(self, data: Any, start: int, stop: int) -> int:
        """Where a candidate's key is in data[start:stop], or -1."""
        find, value, key = data.find, self._value, self.KEY
        after = len(key)
        position = find(key, start, stop)
        while position >= 0:
            if value(data, position + after, stop) is not None:
                return position
            position = find(key, position + after, stop)
        return -1


def _suffixes(resource: str) -> List[str]:
    """What follows each slash of a resources value: the subresources that would complete it."""
    return [resource[slash + 1 :] for slash in range(len(resource)) if resource[slash] == "/"]


def _probe(event_filter: EventFilter) -> Any:
    """What lines without a match lack, to skip them unparsed: the look-up's needle, else the resources, else None."""
    needle = event_filter.needle
    if needle is not None:
        return _Needle(needle.encode("ascii"), event_filter.needle_label)  # verbatim text is printable ASCII
    if event_filter.required_resources:
        return _ResourceProbe.of(event_filter.required_resources)
    return None


_ASTRAL_LEADS = (b"\xf0", b"\xf1", b"\xf2", b"\xf3", b"\xf4")  # UTF-8 lead bytes of characters beyond U+FFFF


def _holds_astral(data: Any) -> bool:
    """Whether UTF-8 bytes may hold a character beyond U+FFFF, which makes Python keep the text at 4 bytes each."""
    return any(data.find(lead) >= 0 for lead in _ASTRAL_LEADS)


def _read_blocks(stream: Any, stats: ScanStats, path: str, size: int) -> Iterator[bytes]:
    """The blocks of a stream, of at most ``size`` bytes. Damaged gzip data ends the file early, counted, not raised.

    New bytes for every block, not one buffer reused with readinto: that saves 2 to 4% of a look-up's time, but
    changes when glibc's allocator gives the memory of long lines back (two 16 MiB lines read with one buffer
    peaked at 85 to 97 MB, against 81 MB this way).
    """
    while True:
        try:
            data = stream.read(size)
        except (EOFError, zlib.error) as exc:
            stats.problem("unreadable_files", path, None, f"damaged gzip data: {exc}")
            return
        if not data:
            return
        stats.bytes += len(data)
        yield data


def _text(data: Any) -> str:
    # Whole lines only, so no UTF-8 sequence is ever cut. jq too reads invalid UTF-8 as U+FFFD.
    return str(data, "utf-8", "replace")


_NEWLINE = b"\n"


def _newlines(data: Any, start: int, stop: int) -> int:
    """data.count(b"\\n", start, stop), in about half the time on audit events.

    bytes.count looks at every byte; bytes.find jumps to the next newline (memchr, many bytes a step), one call a
    line. On lines of a kilobyte, what audit events are, the jumps win by about two; on short lines the calls cost
    more. The first 8 KiB are counted to see which lines these are.
    """
    sample = min(stop, start + 8192)
    count = data.count(_NEWLINE, start, sample)
    if count > (sample - start) >> 9:  # lines of less than 512 bytes
        return count + data.count(_NEWLINE, sample, stop)
    find = data.find
    position = find(_NEWLINE, sample, stop)
    while position >= 0:
        count += 1
        position = find(_NEWLINE, position + 1, stop)
    return count


def scan_stream(
    stream: Any,
    path: str,
    event_filter: EventFilter,
    stats: ScanStats,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
) -> Iterator[AuditRecord]:
    """Yield the records of one file that pass ``event_filter``, in file order.

    ``stream`` is any object with ``read(size) -> bytes``; ``path`` only names it in problem reports. Lines are
    found in the bytes, by offsets rather than copies, and decoded only when looked at. With a probe (an audit_id
    or user needle, or the resources wanted), the blocks are searched for it and only the lines it hits are decoded
    and parsed; the lines in between are only counted. A line longer than ``max_line_bytes`` is not kept: it is
    skipped as its blocks stream by, and counted (with whether it holds the needle). Blocks are at most half of
    ``max_line_bytes`` long, so only a line that runs past the end of a block can be that long, or too wide (see
    read_carried): the checks cost nothing per line.
    """
    parser = _LineParser(stats)
    parse, parse_json, fast_record = parser.parse, parser.parse_json, _fast_record
    match_all = event_filter.is_empty()
    matches = event_filter.matches
    probe = _probe(event_filter)
    find = probe.find if probe is not None else None
    raw_needle = probe.needle if probe is not None else None
    label = probe.label if probe is not None else ""
    too_long = f", longer than max_line_bytes ({max_line_bytes})"
    too_wide = f" with characters beyond U+FFFF, longer than half of max_line_bytes ({max_line_bytes})"

    def read_carried(line: bytearray, number: int, complete: bool) -> Optional[AuditRecord]:
        """The record of a line gathered over several blocks, or None. Empties ``line`` once decoded.

        Its text takes 1, 2 or 4 bytes a character, the widest character deciding: with one beyond U+FFFF, 4 for
        all, so such a line is read up to half of max_line_bytes only. Its text then never takes more than twice
        max_line_bytes, whatever it holds.
        """
        if len(line) > max_line_bytes // 2 and _holds_astral(line):
            wide = _LongLine(raw_needle, label)
            wide.feed(line, 0, len(line))
            stats.oversized_line(path, number, wide, too_wide, last=not complete)
            return None
        if find is not None and find(line, 0, len(line)) < 0:
            return None
        text = _text(line)
        line.clear()  # the bytes go before the text is parsed: a long line is not held twice
        return parse(text, path, number, complete)

    carry = bytearray()  # the start of a line that runs past the blocks read so far
    long_line = None  # type: Optional[_LongLine]  # the line being skipped, once it is longer than max_line_bytes
    lineno = 0  # lines of this file before the current block's whole lines
    for block in _read_blocks(stream, stats, path, min(BLOCK_SIZE, max_line_bytes // 2)):
        size = len(block)
        begin = 0  # where the block's first whole line starts
        if carry or long_line is not None:
            first_newline = block.find(_NEWLINE, 0, size)
            stop = size if first_newline < 0 else first_newline
            if long_line is None and len(carry) + stop > max_line_bytes:
                long_line = _LongLine(raw_needle, label)
                long_line.feed(carry, 0, len(carry))
                carry = bytearray()
            if long_line is None:
                carry += memoryview(block)[:stop]
            else:
                long_line.feed(block, 0, stop)
            if first_newline < 0:
                continue
            lineno += 1
            stats.lines += 1
            if long_line is not None:
                stats.oversized_line(path, lineno, long_line, too_long, last=False)
                long_line = None
            else:
                record = read_carried(carry, lineno, True)
                if record is not None and (match_all or matches(record)):
                    stats.matched += 1
                    yield record
                record = None  # not held while the next long line is gathered
            carry = bytearray()
            begin = first_newline + 1
        end = block.rfind(_NEWLINE, begin, size)  # whole lines run from begin to end
        if end < 0:
            if begin < size:
                carry = bytearray(memoryview(block)[begin:size])
            continue
        if end + 1 < size:
            carry = bytearray(memoryview(block)[end + 1 : size])
        if find is None:
            text = _text(memoryview(block)[begin:end])
            lines = text.split("\n")
            stats.lines += len(lines)
            stats.examined += len(lines)
            # Whether a line may hold a second event (a torn write) is settled for the whole block at once:
            # when every event start begins a line, none does.
            torn_possible = text.count(_EVENT_START) != sum(map(str.startswith, lines, repeat(_EVENT_START)))
            del text  # the lines hold it now
            for lineno, line in enumerate(lines, lineno + 1):  # noqa: B020 (resumes the count)
                record = fast_record(line, torn_possible)
                if record is None:
                    record = parse_json(line, path, lineno)
                    if record is None:
                        continue
                if match_all or matches(record):
                    stats.matched += 1
                    yield record
            del lines  # not held while the next block is read
        else:
            # Jump from one hit of the probe to the next: the lines in between are neither decoded nor looked at,
            # only counted, and only as far as the next hit (line numbers are only needed for problems).
            position = find(block, begin, end)
            counted_to, counted = begin, lineno
            while position >= 0:
                line_start = block.rfind(_NEWLINE, begin, position) + 1 or begin
                line_end = block.find(_NEWLINE, position, end)
                if line_end < 0:
                    line_end = end
                counted += _newlines(block, counted_to, line_start)
                counted_to = line_start
                record = parse(_text(block[line_start:line_end]), path, counted + 1)
                if record is not None and matches(record):
                    stats.matched += 1
                    yield record
                record = None
                position = find(block, line_end, end)
            counted += _newlines(block, counted_to, end) + 1  # and the line that ends at end
            stats.lines += counted - lineno
            lineno = counted
    if long_line is not None:  # the file ends in a line too long to read, without newline
        stats.lines += 1
        stats.oversized_line(path, lineno + 1, long_line, too_long, last=True)
    elif carry:  # the file does not end with a newline
        stats.lines += 1
        record = read_carried(carry, lineno + 1, False)
        if record is not None and (match_all or matches(record)):
            stats.matched += 1
            yield record


def _file_entry(log_file: LogFile, skipped: Optional[str] = None) -> Dict[str, Any]:
    entry = {
        "path": log_file.path,
        "rotated_at": log_file.rotated_at,
        "compressed": log_file.compressed,
        "lines": 0,
        "bytes": 0,
    }  # type: Dict[str, Any]
    if skipped:
        entry["skipped"] = skipped
    return entry


def _rotated_before(rotated_at: str, since: str) -> bool:
    """Whether a backup named with rotation time ``rotated_at`` holds only events before ``since``.

    Every event in a backup was written before it was rotated, but the name keeps the rotation time to the
    millisecond, rounded down: a backup named ...50.342 may hold an event at 50.342999. So the comparison is to the
    millisecond, where a backup of .342 holds only events before ``since`` when ``since`` is .343 or later.
    """
    return rotated_at[:_TO_THE_MILLISECOND] < since[:_TO_THE_MILLISECOND]


def _same_file(path: str, file_stat: os.stat_result) -> bool:
    try:
        other = os.stat(path)
    except OSError:
        return False
    return (other.st_dev, other.st_ino) == (file_stat.st_dev, file_stat.st_ino)


class AuditLogReader:
    """Reads one host's audit log and its backups, oldest first, through one EventFilter."""

    def __init__(
        self,
        path: str = DEFAULT_LOG_PATH,
        rotated: bool = True,
        event_filter: Optional[EventFilter] = None,
        max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    ) -> None:
        """Raises ValueError for a max_line_bytes below MIN_MAX_LINE_BYTES, AuditLogError for path '-'."""
        self.max_line_bytes = check_max_line_bytes(max_line_bytes)
        if path == "-":
            raise AuditLogError(
                "--audit-log-path=- sends audit events to kube-apiserver's standard output, not to a file: "
                "read them with 'crictl logs' or 'kubectl logs' instead"
            )
        self.path = path
        self.rotated = rotated
        self.event_filter = event_filter or EventFilter()
        self.stats = ScanStats()
        self.current_missing = False

    def records(self) -> Iterator[AuditRecord]:
        """All matching records, file after file: the backups oldest first, then the current file.

        The current file is opened before the directory is listed: if lumberjack rotates it in between, the
        renamed file is recognised by its inode and read once, as the current file it was when opened.
        """
        current = self._open_current()
        try:
            backups = find_backups(self.path) if self.rotated else []
            if current is not None and backups:
                current_stat = os.fstat(current.fileno())
                backups = [backup for backup in backups if not _same_file(backup.path, current_stat)]
            if current is None and not backups:
                raise AuditLogMissing(
                    f"{self.path} does not exist{'' if self.rotated else ' (backups not looked for)'}: auditing "
                    "looks disabled on this host (kube-apiserver runs without --audit-log-path, or writes "
                    "elsewhere: set 'path' to its --audit-log-path)"
                )
            since = self.event_filter.since
            for backup in backups:
                if since is not None and _rotated_before(str(backup.rotated_at), since):
                    self.stats.files.append(_file_entry(backup, skipped="rotated before 'since'"))
                    continue
                yield from self._scan_backup(backup)
            if current is not None:
                entry = _file_entry(LogFile(self.path, None, False))
                self.stats.files.append(entry)
                yield from self._scan(current, entry)
        finally:
            if current is not None:
                current.close()

    def _open_current(self) -> Any:
        if "\0" in self.path:
            raise AuditLogError(f"{self.path!r} is not a file name: it holds a NUL character")
        try:
            if not stat.S_ISREG(os.stat(self.path).st_mode):
                raise AuditLogError(f"{self.path} is not a regular file")
            return open(self.path, "rb")
        except FileNotFoundError:
            self.current_missing = True
            return None
        except PermissionError as exc:
            raise AuditLogError(f"cannot read {self.path}: {exc.strerror} (it is root's: use become)") from exc
        except OSError as exc:
            raise AuditLogError(f"cannot read {self.path}: {exc.strerror or exc}") from exc

    def _scan_backup(self, backup: LogFile) -> Iterator[AuditRecord]:
        entry = _file_entry(backup)
        self.stats.files.append(entry)
        try:
            stream = open(backup.path, "rb")  # noqa: SIM115 (closed below)
        except FileNotFoundError:
            # lumberjack compressed it (x.log became x.log.gz) or deleted it (maxage, maxbackup) since the listing.
            try:
                stream = open(backup.path + ".gz", "rb")  # noqa: SIM115 (closed below)
            except FileNotFoundError:
                entry["skipped"] = "removed by log rotation while reading"
                return
            entry.update(path=backup.path + ".gz", compressed=True)
        except OSError as exc:
            entry["error"] = f"cannot read: {exc.strerror or exc}"
            self.stats.problem("unreadable_files", backup.path, None, entry["error"])
            return
        try:
            yield from self._scan(_Gunzip(stream) if entry["compressed"] else stream, entry)
        finally:
            stream.close()

    def _scan(self, stream: Any, entry: Dict[str, Any]) -> Iterator[AuditRecord]:
        stats = self.stats
        lines_before, bytes_before, unreadable_before = stats.lines, stats.bytes, stats.unreadable_files
        try:
            yield from scan_stream(stream, entry["path"], self.event_filter, stats, self.max_line_bytes)
        except OSError as exc:  # a read error of the disk itself: keep what was read, report the file
            stats.problem("unreadable_files", entry["path"], None, f"read error: {exc.strerror or exc}")
        entry["lines"] = stats.lines - lines_before
        entry["bytes"] = stats.bytes - bytes_before
        if stats.unreadable_files > unreadable_before:
            entry["error"] = next(
                (p["reason"] for p in reversed(stats.problems) if p["kind"] == "unreadable_files"), "unreadable"
            )


# --- results -------------------------------------------------------------------------------------------------


def count_records(records: Iterable[AuditRecord]) -> Dict[str, Dict[str, int]]:
    """Counts by user, verb, resource and code, each sorted by count (highest first), then by name."""
    counters = {dimension: Counter() for dimension in COUNT_DIMENSIONS}  # type: Dict[str, Counter]
    for record in records:
        counters["user"][record.username if record.username is not None else NO_VALUE] += 1
        counters["verb"][record.verb if record.verb is not None else NO_VALUE] += 1
        counters["resource"][record.resource_label()] += 1
        counters["code"][str(record.code) if record.code is not None else NO_VALUE] += 1
        del record  # its line is not held while the next one is read
    return {
        dimension: dict(sorted(counter.items(), key=lambda item: (-item[1], item[0])))
        for dimension, counter in counters.items()
    }


# The fields a recipe's matches can be counted by (its group_by), each read from a record.
GROUP_FIELDS: Dict[str, Callable[[AuditRecord], Any]] = {
    "user": lambda record: record.username,  # the authenticated user
    "effective_user": lambda record: record.effective_username(),
    "impersonated_user": lambda record: record.impersonated_username(),
    "verb": lambda record: record.verb,
    "resource": lambda record: record.resource_label(),  # kubectl's spelling, as in the counts
    "namespace": lambda record: record.object_ref().get("namespace"),
    "name": lambda record: record.object_ref().get("name"),
    "code": lambda record: record.code,
    "source_ips": lambda record: ",".join(record.source_ips()),  # all of them: X-Forwarded-For can be forged
    "user_agent": lambda record: record.user_agent(),
}


def grouped_counts(recipe: str, fields: Sequence[str], counter: "Counter[Tuple[str, ...]]") -> Dict[str, Any]:
    """recipe_counts: one row per combination of the fields' values with its count, highest first, then by value."""
    rows = sorted(counter.items(), key=lambda item: (-item[1], item[0]))
    return {
        "recipe": recipe,
        "fields": list(fields),
        "rows": [dict(zip(fields, values), count=count) for values, count in rows],
    }


class _Grouping:
    """Counts of the records that pass through by a recipe's group_by fields (missing values as NO_VALUE)."""

    def __init__(self, recipe: str) -> None:
        self.recipe = recipe
        self.fields = tuple(RECIPES[recipe].group_by)
        self.counter = Counter()  # type: Counter[Tuple[str, ...]]

    def track(self, records: Iterable[AuditRecord]) -> Iterator[AuditRecord]:
        getters = [GROUP_FIELDS[field] for field in self.fields]
        counter = self.counter
        for record in records:
            values = (getter(record) for getter in getters)
            counter[tuple(NO_VALUE if value is None or value == "" else str(value) for value in values)] += 1
            yield record
            del record  # not held while the next one is read

    def result(self) -> Dict[str, Any]:
        return grouped_counts(self.recipe, self.fields, self.counter)


def newest(records: Iterable[AuditRecord], limit: int) -> List[AuditRecord]:
    """The ``limit`` newest records by time (all of them when limit is 0), oldest first.

    A log is written in roughly, not strictly, time order (requests finish out of order), so this keeps a
    bounded min-heap on (time, arrival) rather than the tail of the file. Records without a time are the oldest.
    """
    if limit <= 0:
        collected = list(records)
        collected.sort(key=lambda record: record.time_key)  # stable: equal times stay in file order
        return collected
    heap = []  # type: List[Tuple[str, int, AuditRecord]]
    for arrival, record in enumerate(records):
        key = record.time_key
        if len(heap) < limit:
            heapq.heappush(heap, (key, arrival, record))
        elif key >= heap[0][0]:  # a later arrival with the same time is the newer one
            heapq.heapreplace(heap, (key, arrival, record))
    heap.sort()
    return [item[2] for item in heap]


class _Span:
    """Oldest and newest time of the records that pass through."""

    def __init__(self) -> None:
        self.oldest = None  # type: Optional[str]
        self.newest = None  # type: Optional[str]

    def track(self, records: Iterable[AuditRecord], keep_lines: bool = True) -> Iterator[AuditRecord]:
        """Pass the records on; without ``keep_lines``, drop their lines (all a summary needs is read by now).

        A summary of the newest N events then holds N summaries, not N lines of up to max_line_bytes each.
        """
        for record in records:
            key = record.time_key
            if key:
                if self.oldest is None or key < self.oldest:
                    self.oldest = key
                if self.newest is None or key > self.newest:
                    self.newest = key
            if not keep_lines:
                record.line = record._event = None
            yield record
            del record  # not held while the next one is read


def read_audit_log(
    path: str = DEFAULT_LOG_PATH,
    *,
    event_filter: Optional[EventFilter] = None,
    output: str = "summary",
    limit: int = DEFAULT_LIMIT,
    rotated: bool = True,
    missing_ok: bool = False,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
) -> Dict[str, Any]:
    """Read, filter and shape one host's audit log: what the audit_log_info module returns.

    Raises ValueError for an argument that cannot be (its message names it), AuditLogError when the log cannot
    be read, AuditLogMissing when there is no log at all and ``missing_ok`` is false.
    """
    if output not in OUTPUT_FORMATS:
        raise ValueError(f"output must be one of {', '.join(OUTPUT_FORMATS)}, not {output!r}")
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise ValueError(f"limit must be 0 (all matches) or more, not {limit!r}")
    reader = AuditLogReader(path, rotated=rotated, event_filter=event_filter, max_line_bytes=max_line_bytes)
    result = {"log_found": True, "events": []}  # type: Dict[str, Any]
    span = _Span()
    recipe = reader.event_filter.recipe
    grouping = _Grouping(recipe) if output == "counts" and recipe is not None else None
    try:
        if output == "counts":
            records = span.track(reader.records())
            result["counts"] = count_records(grouping.track(records) if grouping is not None else records)
        else:
            kept = newest(span.track(reader.records(), keep_lines=output != "summary"), limit)
            if output == "summary":
                result["events"] = [record.summary() for record in kept]
            else:
                events = result["events"]
                for index, record in enumerate(kept):  # each line goes once its event is decoded
                    events.append(record.event())
                    kept[index] = None
    except AuditLogMissing:
        if not missing_ok:
            raise
        result["log_found"] = False
        if output == "counts":
            result["counts"] = {dimension: {} for dimension in COUNT_DIMENSIONS}
    if grouping is not None:
        result["recipe_counts"] = grouping.result()
    stats = reader.stats
    result["stats"] = {
        "files_read": sum(1 for entry in stats.files if "skipped" not in entry and "error" not in entry),
        "bytes": stats.bytes,
        "lines": stats.lines,
        "examined": stats.examined,
        "matched": stats.matched,
        "returned": len(result["events"]),
        "skipped": stats.skipped,
        "oversized_matches": stats.oversized_matches,
        "oldest": span.oldest,
        "newest": span.newest,
    }
    result["files"] = stats.files
    result["problems"] = stats.problems
    result["oversized_matches"] = stats.oversized_match_lines
    result["current_missing"] = reader.current_missing and result["log_found"]
    needle_label = reader.event_filter.needle_label if reader.event_filter.needle is not None else ""
    result["msg"], result["warnings"] = describe(
        result, path, output, limit, max_line_bytes=max_line_bytes, needle_label=needle_label
    )
    return result


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def describe(
    result: Dict[str, Any],
    path: str,
    output: str,
    limit: int,
    *,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    needle_label: str = "",
) -> Tuple[str, List[str]]:
    """A one-line summary of a read_audit_log result, and the warnings worth a human's attention."""
    if not result["log_found"]:
        return f"{path} does not exist: auditing looks disabled on this host; nothing to read", []
    stats = result["stats"]
    skipped = stats["skipped"]
    msg = (
        f"read {_plural(stats['files_read'], 'file')} ({stats['bytes'] / 1048576.0:.1f} MiB, "
        f"{_plural(stats['lines'], 'line')}): {stats['matched']} matched"
    )
    if output != "counts":
        msg += f", {stats['returned']} returned"
    if any(skipped.values()):
        msg += "; skipped " + ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in skipped.items() if n)
    warnings = []
    if result["current_missing"]:
        warnings.append(f"{path} is missing but rotated backups exist: auditing may have been turned off since")
    if skipped["legacy"]:
        warnings.append(
            f"{_plural(skipped['legacy'], 'line')} in the legacy text format skipped: only "
            "--audit-log-format=json (the default) is read"
        )
    bad_lines = [_plural(skipped[kind], kind + " line") for kind in ("malformed", "truncated") if skipped[kind]]
    if bad_lines:
        warnings.append(f"{' and '.join(bad_lines)} skipped (see 'problems')")
    if skipped["oversized"]:
        warning = (
            f"{_plural(skipped['oversized'], 'line')} too long to read (max_line_bytes: {max_line_bytes}) skipped "
            "(see 'problems')"
        )
        possible = stats["oversized_matches"]
        if possible:
            warning += (
                f"; {possible} of them {'holds' if possible == 1 else 'hold'} {needle_label} and may be a match: "
                "raise max_line_bytes to read them (see 'oversized_matches')"
            )
        warnings.append(warning)
    if skipped["unreadable_files"]:
        warnings.append(f"{_plural(skipped['unreadable_files'], 'file')} could not be read to the end (see 'files')")
    if output != "counts" and limit and stats["matched"] > limit:
        warnings.append(
            f"{stats['matched']} events matched; returning the newest {limit} (raise 'limit', 0 for all, or narrow "
            "the filters)"
        )
    return msg, warnings

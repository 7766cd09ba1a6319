# Copyright: (c) 2026, NNF kube_audit maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A kubeconfig file (``/etc/kubernetes/admin.conf``) read with the standard library only, as client-go reads it.

``load_kubeconfig(path)`` returns a ``Kubeconfig``: the server URL and the credentials of the current context, ready
for ``_kube_client``. It raises ``KubeconfigMissing`` when there is no file at ``path`` (callers treat "no
kubeconfig" specially) and ``KubeconfigError`` (its base) for everything else; both are KubeAuditErrors whose message
names the file.

The file is JSON (first character ``{`` or ``[``, read with the json module) or YAML as client-go and kubeadm write
it (go-yaml v2). A master may lack PyYAML, so the YAML is read by a strict reader of the subset those writers produce:

* block mappings (``key: value``) and block sequences (``- item``), indented or indentless (``- `` at the column of
  the parent key), with compact nesting (``- name: x`` followed by ``  cluster: ...``);
* single-line scalars: plain (resolved as go-yaml v2 resolves them: YAML 1.1 ``null``/``~``/empty, booleans such as
  ``true`` or ``yes``, integers, floats; anything else is a string), single-quoted (``''`` escapes a quote) and
  double-quoted (the YAML escapes);
* the empty flow collections ``{}`` and ``[]``, comments, blank lines, one leading ``---`` and a trailing ``...``.

Everything else is refused with a message naming the file and line, never misread: anchors, aliases, tags, block
scalars (``|``, ``>``), other flow collections, multi-line scalars, complex keys (``?``), directives, a second
document, tabs outside quotes, duplicate keys and keys that are not strings.

Resolution follows client-go: ``current-context`` names a context, which names a cluster and a user. Relative file
paths are relative to the kubeconfig's directory; ``*-data`` fields (base64 PEM) and their file twins are exclusive
(client-go refuses both). What cannot be honoured without changing what client-go would do is refused rather than
ignored: ``insecure-skip-tls-verify: true`` (the collection never talks to an unverified server with admin
credentials), ``proxy-url``, impersonation (``as``...), ``username``/``password``, ``tokenFile``, ``exec`` and
``auth-provider`` plugins, and plain ``http://`` servers. A cluster without a certificate authority is verified
against the system's trust store, as client-go does (``ca_pem`` is None). Unlike kubectl, only this one file is read
(no ``KUBECONFIG`` merging) and proxy environment variables are not used.
"""

import base64
import binascii
import json
import os
import re
from urllib.parse import urlsplit

from ansible_collections.nnf.kube_audit.plugins.module_utils._errors import KubeAuditError
from ansible_collections.nnf.kube_audit.plugins.module_utils._goyaml_scalars import (
    _BOOL,
    _FLOAT,
    _INT,
    _NULL,
    _STR,
    _TIMESTAMP,
    _yaml_resolve_plain,
)

# A kubeconfig is a few kilobytes; anything this large is not one.
MAX_SIZE = 16 * 1024 * 1024

_PEM_CERTIFICATE = re.compile(rb"-----BEGIN CERTIFICATE-----")
_PEM_PRIVATE_KEY = re.compile(rb"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----")
_CONTROL = re.compile("[\x00-\x1f\x7f]")
_EMPTY_FLOW = re.compile(r"\{ *\}|\[ *\]")
# Characters go-yaml refuses (control characters), reads as line breaks (NEL, LS, PS) or treats specially (BOM).
_REFUSED_CHARACTER = re.compile("[^\t\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]")
# libyaml gives up on a simple key this far from its ':' (1024 characters); stay well within.
_MAX_KEY_LENGTH = 1000


class KubeconfigError(KubeAuditError):
    """The kubeconfig cannot be read or used; the message names the file and the problem."""


class KubeconfigMissing(KubeconfigError):
    """There is no file at the kubeconfig's path."""


class Kubeconfig:
    """What a client needs from a kubeconfig: the server and the credentials of the current context.

    ``server`` is an ``https://`` URL (possibly with a path prefix); ``tls_server_name`` the name to verify the
    server's certificate against instead of the URL's host (None: the host); ``ca_pem`` the PEM bundle of trusted
    certificate authorities (None: the system's trust store); ``client_cert_pem``/``client_key_pem`` the client
    certificate and key (PEM bytes, both or neither); ``token`` a bearer token (str or None). ``path``, ``context``,
    ``cluster`` and ``user`` name where it came from, for messages. ``repr()`` shows no secret.
    """

    __slots__ = (
        "ca_pem",
        "client_cert_pem",
        "client_key_pem",
        "cluster",
        "context",
        "path",
        "server",
        "tls_server_name",
        "token",
        "user",
    )

    def __init__(
        self,
        path,
        server,
        *,
        ca_pem=None,
        client_cert_pem=None,
        client_key_pem=None,
        token=None,
        tls_server_name=None,
        context=None,
        cluster=None,
        user=None,
    ):
        self.path = path
        self.server = server
        self.ca_pem = ca_pem
        self.client_cert_pem = client_cert_pem
        self.client_key_pem = client_key_pem
        self.token = token
        self.tls_server_name = tls_server_name
        self.context = context
        self.cluster = cluster
        self.user = user

    @property
    def credentials(self):
        """How the client authenticates, in words: 'client certificate', 'token', both, or 'no credentials'."""
        kinds = [
            name for name, present in (("client certificate", self.client_cert_pem), ("token", self.token)) if present
        ]
        return " and ".join(kinds) or "no credentials"

    def __repr__(self):
        return (
            f"Kubeconfig(path={self.path!r}, context={self.context!r}, server={self.server!r}, "
            f"user={self.user!r}, credentials={self.credentials!r})"
        )


# --------------------------------------------------------------------------------------------------
# Reading the file
# --------------------------------------------------------------------------------------------------


def _reason(exc):
    return exc.strerror or str(exc) if isinstance(exc, OSError) else str(exc)


def _read(path):
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_SIZE + 1)
    except FileNotFoundError as exc:
        if os.path.islink(path):
            raise KubeconfigMissing(
                f"kubeconfig {path} does not exist (it is a symlink to {os.readlink(path)}, which does not exist)"
            ) from exc
        raise KubeconfigMissing(f"kubeconfig {path} does not exist") from exc
    except IsADirectoryError as exc:
        raise KubeconfigError(f"kubeconfig {path} is a directory, not a file") from exc
    except OSError as exc:
        raise KubeconfigError(f"cannot read kubeconfig {path}: {_reason(exc)}") from exc
    if len(data) > MAX_SIZE:
        raise KubeconfigError(f"kubeconfig {path} is larger than {MAX_SIZE} bytes: not a kubeconfig")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise KubeconfigError(f"kubeconfig {path} line {line}: not UTF-8 text ({exc.reason})") from None


def parse_kubeconfig_text(text, path):
    """The document in ``text`` (JSON or the YAML subset) as plain Python values; ``path`` names it in messages."""
    stripped = text.lstrip(" \t\r\n")
    if stripped[:1] in ("{", "["):
        return _parse_json(text, path)
    return _YamlSubset(text, path).parse()


def _parse_json(text, path):
    def pairs(items):
        result = {}
        for key, value in items:
            if key in result:
                raise KubeconfigError(f"kubeconfig {path}: key {key!r} appears twice in one JSON object")
            result[key] = value
        return result

    def constant(name):
        raise KubeconfigError(f"kubeconfig {path}: {name} is not valid JSON")

    try:
        return json.loads(text, object_pairs_hook=pairs, parse_constant=constant)
    except json.JSONDecodeError as exc:
        raise KubeconfigError(
            f"kubeconfig {path} line {exc.lineno} column {exc.colno}: not valid JSON: {exc.msg}"
        ) from None


# --------------------------------------------------------------------------------------------------
# The YAML subset that client-go and kubeadm write
# --------------------------------------------------------------------------------------------------

_DOUBLE_QUOTED_ESCAPES = {
    "0": "\x00",
    "a": "\x07",
    "b": "\x08",
    "t": "\t",
    "\t": "\t",
    "n": "\n",
    "v": "\x0b",
    "f": "\x0c",
    "r": "\r",
    "e": "\x1b",
    " ": " ",
    '"': '"',
    "/": "/",
    "\\": "\\",
    "N": "\x85",
    "_": "\xa0",
    "L": "\u2028",
    "P": "\u2029",
}
_HEX_ESCAPES = {"x": 2, "u": 4, "U": 8}
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
# What a value cannot start with, and why.
_UNSUPPORTED_STARTS = {
    "&": "an anchor (&)",
    "*": "an alias (*)",
    "!": "a tag (!)",
    "|": "a block scalar (|)",
    ">": "a block scalar (>)",
    "%": "a directive (%)",
    "@": "a reserved character (@)",
    "`": "a reserved character (`)",
    ",": "a stray ','",
    "]": "a stray ']'",
    "}": "a stray '}'",
}


class _Line:
    __slots__ = ("indent", "number", "text")

    def __init__(self, number, indent, text):
        self.number = number
        self.indent = indent
        self.text = text


class _YamlSubset:
    """A recursive-descent reader of the block YAML go-yaml v2 writes; see the module's docstring."""

    def __init__(self, text, path):
        self.path = path
        self.lines = []
        self.index = 0
        self._split(text)

    # ---- errors and lines

    def error(self, line, problem):
        number = line.number if isinstance(line, _Line) else line
        return KubeconfigError(f"kubeconfig {self.path} line {number}: {problem}")

    def _split(self, text):
        started = ended = False
        for number, raw in enumerate(text.split("\n"), 1):
            line = raw[:-1] if raw.endswith("\r") else raw
            if "\r" in line:
                raise self.error(number, "a carriage return inside a line (this reader takes \\n or \\r\\n lines)")
            refused = _REFUSED_CHARACTER.search(line)
            if refused:
                raise self.error(
                    number,
                    f"the character U+{ord(refused.group()):04X}, which this reader does not take (use an escape)",
                )
            content = line.lstrip(" \t")
            if "\t" in line[: len(line) - len(content)]:
                raise self.error(number, "a tab in the indentation (YAML indents with spaces only)")
            if not content or content.startswith("#"):
                continue
            indent = len(line) - len(line.lstrip(" "))
            if indent == 0 and content[:3] in ("---", "...") and content[3:4] in ("", " ", "\t"):
                rest = content[3:].strip(" \t")
                if rest and not rest.startswith("#"):
                    raise self.error(number, f"content after the document marker {content[:3]!r}")
                if ended or (content[:3] == "---" and (started or self.lines)):
                    raise self.error(number, "a second YAML document (a kubeconfig is one document)")
                if content[:3] == "..." and not (started or self.lines):
                    raise self.error(number, "a document end marker ('...') without a document")
                started = True
                ended = content[:3] == "..."
                continue
            if ended:
                raise self.error(number, "content after the end of the document ('...')")
            if indent == 0 and content.startswith("%") and not self.lines:
                raise self.error(number, "a YAML directive (%), which this reader does not support")
            self.lines.append(_Line(number, indent, line))

    def _current(self):
        return self.lines[self.index] if self.index < len(self.lines) else None

    # ---- structure

    def parse(self):
        if not self.lines:
            return None
        first = self.lines[0]
        if not (self._is_entry(first, first.indent) or self._key(first, first.indent)):
            self._value(first, first.indent)  # refuses what is outside the subset
            raise self.error(first, "the document is a single scalar, not a mapping")
        value = self._block(first.indent)
        line = self._current()
        if line is not None:
            raise self.error(
                line,
                "this line does not continue the block above it (its indentation or its kind, key or '- ', differs)",
            )
        return value

    @staticmethod
    def _is_entry(line, column):
        """``- `` (or a lone ``-``) at ``column`` of ``line``."""
        text = line.text
        return text[column : column + 1] == "-" and text[column + 1 : column + 2] in ("", " ", "\t")

    def _block(self, column):
        """The block node starting at ``column`` of the current line (a sequence or a mapping)."""
        line = self._current()
        if self._is_entry(line, column):
            return self._sequence(column)
        if self._key(line, column):
            return self._mapping(column)
        self._value(line, column)  # refuses what is outside the subset
        raise self.error(line, "a scalar on a line of its own (this reader takes 'key: value' and '- value' only)")

    def _next_line_at(self, column):
        """The current line if it continues a block at ``column``; None when the block has ended."""
        line = self._current()
        if line is None or line.indent < column:
            return None
        if line.indent > column:
            raise self.error(
                line,
                "unexpected indentation (a multi-line scalar, or a misindented line; this reader takes "
                "single-line scalars only)",
            )
        return line

    def _mapping(self, column):
        result, seen = {}, {}
        line = self._current()  # the first key may sit after '- ', at a column beyond the line's indentation
        while line is not None:
            parsed = self._key(line, column)
            if parsed is None:
                if self._is_entry(line, column):
                    raise self.error(line, "a sequence entry ('- ') where a mapping key was expected")
                self._value(line, column)
                raise self.error(line, "a scalar where a mapping key ('key: value') was expected")
            key, after = parsed
            if key in seen:
                raise self.error(line, f"key {key!r} appears twice in one mapping (first on line {seen[key]})")
            seen[key] = line.number
            result[key] = self._mapping_value(line, after, column)
            line = self._next_line_at(column)
        return result

    def _mapping_value(self, line, position, column):
        position = self._skip_spaces(line, position)
        if position < len(line.text) and line.text[position] != "#":
            value = self._value(line, position)
            self.index += 1
            return value
        self.index += 1
        following = self._current()
        if following is not None and following.indent > column:
            return self._block(following.indent)
        if following is not None and following.indent == column and self._is_entry(following, column):
            return self._sequence(column)  # an indentless sequence: '- ' at the column of its key
        return None

    def _sequence(self, column):
        items = []
        line = self._current()
        while line is not None and self._is_entry(line, column):
            position = self._skip_spaces(line, column + 1)
            text = line.text
            if position >= len(text) or text[position] == "#":
                self.index += 1
                following = self._current()
                items.append(self._block(following.indent) if following and following.indent > column else None)
            elif self._is_entry(line, position):
                items.append(self._sequence(position))
            elif self._key(line, position):
                items.append(self._mapping(position))
            else:
                items.append(self._value(line, position))
                self.index += 1
            line = self._next_line_at(column)
        return items

    # ---- scalars

    def _skip_spaces(self, line, position):
        text = line.text
        while position < len(text) and text[position] in " \t":
            if text[position] == "\t":
                raise self.error(line, "a tab outside a quoted scalar (this reader takes spaces only)")
            position += 1
        return position

    def _end_of_line(self, line, position):
        """Only spaces and a comment may follow a value that ends at ``position``."""
        text = line.text
        after = self._skip_spaces(line, position)
        if after >= len(text):
            return
        if text[after] == "#" and after > position:
            return
        raise self.error(line, f"unexpected text after a value: {text[position:].strip()!r}")

    def _key(self, line, column):
        """(key, position after its ':') when a mapping key starts at ``column`` of ``line``, else None."""
        text = line.text
        start = text[column : column + 1]
        if start == "?" and text[column + 1 : column + 2] in ("", " ", "\t"):
            raise self.error(line, "a complex mapping key ('? '), which this reader does not support")
        if start in ("'", '"'):
            key, end = self._quoted(line, column)
            after = end
            while text[after : after + 1] == " ":
                after += 1
            if text[after : after + 1] == ":" and text[after + 1 : after + 2] in ("", " ", "\t"):
                self._check_key_length(line, column, after)
                return key, after + 1
            return None
        if not self._plain_start(text, column):
            return None
        position = column
        while position < len(text):
            char = text[position]
            if char == ":" and text[position + 1 : position + 2] in ("", " ", "\t"):
                self._check_key_length(line, column, position)
                raw = text[column:position].rstrip(" ")
                if "\t" in raw:
                    raise self.error(line, "a tab outside a quoted scalar (this reader takes spaces only)")
                tag, value = _yaml_resolve_plain("", raw)
                if tag not in (_STR, _TIMESTAMP):
                    raise self.error(
                        line,
                        f"the key {raw!r} is not a string (YAML 1.1 reads it as {describe(value)}); quote it",
                    )
                return raw, position + 1
            if char == "#" and text[position - 1] in " \t":
                return None
            position += 1
        return None

    def _check_key_length(self, line, start, colon):
        if colon - start > _MAX_KEY_LENGTH:
            raise self.error(line, f"a mapping key longer than {_MAX_KEY_LENGTH} characters")

    @staticmethod
    def _plain_start(text, position):
        char = text[position : position + 1]
        if not char or char in " \t#'\"[]{},&*!|>%@`":
            return False
        if char in "-?:":
            return text[position + 1 : position + 2] not in ("", " ", "\t")
        return True

    def _value(self, line, position):
        """The single-line scalar or empty flow collection at ``position``; the rest of the line must be empty."""
        text = line.text
        char = text[position]
        if char in ("'", '"'):
            value, end = self._quoted(line, position)
            self._end_of_line(line, end)
            return value
        if char in "{[":
            match = _EMPTY_FLOW.match(text, position)
            if match is None:
                raise self.error(line, "a flow collection other than {} or [], which this reader does not support")
            self._end_of_line(line, match.end())
            return {} if char == "{" else []
        if char in _UNSUPPORTED_STARTS:
            raise self.error(line, f"{_UNSUPPORTED_STARTS[char]}, which this reader does not support")
        if char in "-?" and text[position + 1 : position + 2] in ("", " ", "\t"):
            raise self.error(line, f"{char!r} followed by a space or the line's end cannot start a value here")
        end = text.find(" #", position)
        raw = (text[position:] if end < 0 else text[position:end]).rstrip(" ")
        if "\t" in raw:
            raise self.error(line, "a tab outside a quoted scalar (this reader takes spaces only)")
        if ": " in raw or raw.endswith(":"):
            raise self.error(line, "a ': ' inside a plain value (mapping values are not allowed here; quote it)")
        tag, value = _yaml_resolve_plain("", raw)
        if tag in (_STR, _TIMESTAMP):
            return raw
        if tag in (_NULL, _BOOL, _INT, _FLOAT):
            return value
        raise self.error(line, f"the plain value {raw!r} resolves to {tag}, which this reader does not support")

    def _quoted(self, line, position):
        """(text, position after the closing quote) of the quoted scalar at ``position``."""
        if line.text[position] == "'":
            return self._single_quoted(line, position)
        return self._double_quoted(line, position)

    def _single_quoted(self, line, position):
        text, parts, position = line.text, [], position + 1
        while True:
            end = text.find("'", position)
            if end < 0:
                raise self.error(line, "a quoted scalar that continues on the next line (not supported)")
            parts.append(text[position:end])
            if text[end + 1 : end + 2] != "'":
                return "".join(parts), end + 1
            parts.append("'")
            position = end + 2

    def _double_quoted(self, line, position):
        text, parts, position = line.text, [], position + 1
        while position < len(text):
            char = text[position]
            if char == '"':
                return "".join(parts), position + 1
            if char != "\\":
                parts.append(char)
                position += 1
                continue
            escape = text[position + 1 : position + 2]
            if escape == "":
                break  # an escaped line break: the scalar continues on the next line
            if escape in _DOUBLE_QUOTED_ESCAPES:
                parts.append(_DOUBLE_QUOTED_ESCAPES[escape])
                position += 2
                continue
            width = _HEX_ESCAPES.get(escape)
            digits = text[position + 2 : position + 2 + width] if width else ""
            if not width or len(digits) != width or not set(digits) <= _HEX_DIGITS:
                raise self.error(line, f"an invalid escape {text[position : position + 2 + (width or 0)]!r}")
            code = int(digits, 16)
            if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
                raise self.error(line, f"the escape \\{escape}{digits} is not a Unicode character")
            parts.append(chr(code))
            position += 2 + width
        raise self.error(line, "a quoted scalar that continues on the next line (not supported)")


def describe(value):
    """A decoded value in words, for messages: its type, and its text for a string."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"the string {value!r}"


# --------------------------------------------------------------------------------------------------
# client-go's resolution: current-context -> context -> cluster and user
# --------------------------------------------------------------------------------------------------


class TypedReader:
    """Typed access to a decoded kubeconfig, with messages that start with ``prefix`` and name the entry.

    Shared by this module (a kubeconfig to use, on the master) and the controller's check of the audit webhook's
    kubeconfig (``plugin_utils/_webhook_config.py``), which refuses entries without a name (``nameless="refuse"``)
    where a client only skips them.
    """

    def __init__(self, prefix, nameless="skip", error_class=None):
        self.prefix = prefix
        self.nameless = nameless
        self.error_class = error_class or KubeconfigError

    def error(self, where, problem):
        return self.error_class(self.prefix + (f"{where}: " if where else "") + problem)

    def field(self, mapping, key, kind, where):
        """``mapping[key]`` of type ``kind`` (str, bool, dict, list); None when absent or null."""
        value = mapping.get(key)
        if value is None:
            return None
        if not isinstance(value, kind):
            wanted = {str: "a string", bool: "a boolean", dict: "a mapping", list: "a list"}[kind]
            raise self.error(where, f"{key} must be {wanted}, not {describe(value)}")
        return value

    def named(self, config, key, inner):
        """{name: body} of the list ``key`` (clusters, contexts, users), in order."""
        found = {}
        for index, entry in enumerate(self.field(config, key, list, "") or []):
            where = f"{key}[{index}]"
            if not isinstance(entry, dict):
                raise self.error(where, f"must be a mapping with name and {inner}, not {describe(entry)}")
            name = self.field(entry, "name", str, where)
            if not name:
                if self.nameless == "skip":
                    continue
                raise self.error(where, "has no name")
            if name in found:
                raise self.error("", f"{key} has two entries named {name!r}: give each a different name")
            found[name] = self.field(entry, inner, dict, f"{inner} {name!r}") or {}
        return found

    def sections(self, config):
        """``(clusters, contexts, users)`` by name, once ``apiVersion`` and ``kind`` (when set) are a kubeconfig's
        (client-go's decoder refuses others)."""
        api_version = self.field(config, "apiVersion", str, "")
        if api_version and api_version != "v1":
            raise self.error("", f"apiVersion is {api_version!r}; a kubeconfig has apiVersion v1")
        kind = self.field(config, "kind", str, "")
        if kind and kind != "Config":
            raise self.error("", f"kind is {kind!r}; a kubeconfig has kind Config")
        return (
            self.named(config, "clusters", "cluster"),
            self.named(config, "contexts", "context"),
            self.named(config, "users", "user"),
        )


class _Reader(TypedReader):
    """The kubeconfig at ``path``: messages name the file."""

    def __init__(self, path):
        super().__init__(f"kubeconfig {path}: ")
        self.path = path

    def refuse_present(self, mapping, keys, where, why):
        for key in keys:
            if mapping.get(key) not in (None, "", [], {}, False):
                raise self.error(where, f"{key} is set, {why}")

    def pem(self, mapping, key, where, pattern, what):
        """The bytes of ``key``-data (base64) or of the file ``key`` names (relative to the kubeconfig); or None."""
        data_key = f"{key}-data"
        encoded = self.field(mapping, data_key, str, where)
        file_name = self.field(mapping, key, str, where)
        if encoded and file_name:
            raise self.error(where, f"both {data_key} and {key} are set (client-go refuses that)")
        if encoded:
            try:
                data = base64.b64decode(encoded, validate=True)
            except (binascii.Error, ValueError) as exc:
                raise self.error(where, f"{data_key} is not valid base64 ({exc})") from None
            source = data_key
        elif file_name:
            full = os.path.join(os.path.dirname(os.path.abspath(self.path)), file_name)
            try:
                with open(full, "rb") as handle:
                    data = handle.read(MAX_SIZE + 1)
            except FileNotFoundError:
                raise self.error(where, f"the {key} file {full} does not exist") from None
            except OSError as exc:
                raise self.error(where, f"cannot read the {key} file {full}: {_reason(exc)}") from None
            source = f"the {key} file {full}"
        else:
            return None
        if not pattern.search(data):
            raise self.error(where, f"{source} does not hold a PEM {what}")
        return data


def load_kubeconfig(path):
    """The ``Kubeconfig`` of the current context of the kubeconfig file at ``path``.

    KubeconfigMissing when there is no file at ``path`` (a dangling symlink included); KubeconfigError when it
    cannot be read, is outside the accepted JSON/YAML, or lacks or misuses a piece client-go needs.
    """
    config = parse_kubeconfig_text(_read(path), path)
    reader = _Reader(path)
    if config is None:
        raise reader.error("", "the file is empty")
    if not isinstance(config, dict):
        raise reader.error("", f"the document must be a mapping, not {describe(config)}")
    clusters, contexts, users = reader.sections(config)

    context_name = reader.field(config, "current-context", str, "")
    if not context_name:
        raise reader.error("", "no current-context is set")
    if context_name not in contexts:
        raise reader.error("", f"the current-context {context_name!r} is not among its contexts")
    context = contexts[context_name]
    where = f"context {context_name!r}"
    cluster_name = reader.field(context, "cluster", str, where)
    user_name = reader.field(context, "user", str, where)
    if not cluster_name:
        raise reader.error(where, "it names no cluster")
    if cluster_name not in clusters:
        raise reader.error(where, f"its cluster {cluster_name!r} is not among the clusters")
    if not user_name:
        raise reader.error(where, "it names no user (credentials are needed)")
    if user_name not in users:
        raise reader.error(where, f"its user {user_name!r} is not among the users")

    cluster = clusters[cluster_name]
    where = f"cluster {cluster_name!r}"
    server = _server(reader, reader.field(cluster, "server", str, where), where)
    if reader.field(cluster, "insecure-skip-tls-verify", bool, where):
        raise reader.error(
            where,
            "insecure-skip-tls-verify is true; the collection does not send credentials to a server whose "
            "certificate is not verified (set certificate-authority-data instead)",
        )
    reader.refuse_present(cluster, ("proxy-url",), where, "which this reader does not support")
    tls_server_name = reader.field(cluster, "tls-server-name", str, where) or None
    ca_pem = reader.pem(cluster, "certificate-authority", where, _PEM_CERTIFICATE, "certificate")

    user = users[user_name]
    where = f"user {user_name!r}"
    reader.refuse_present(
        user,
        ("exec", "auth-provider", "username", "password", "tokenFile", "as", "as-uid", "as-groups", "as-user-extra"),
        where,
        "which this reader does not support (it takes client certificates and tokens)",
    )
    client_cert_pem = reader.pem(user, "client-certificate", where, _PEM_CERTIFICATE, "certificate")
    client_key_pem = reader.pem(user, "client-key", where, _PEM_PRIVATE_KEY, "private key")
    if client_cert_pem is not None and client_key_pem is None:
        raise reader.error(where, "it has a client certificate but no client-key-data or client-key")
    if client_key_pem is not None and client_cert_pem is None:
        raise reader.error(where, "it has a client key but no client-certificate-data or client-certificate")
    token = reader.field(user, "token", str, where) or None
    if token is not None and _CONTROL.search(token):
        raise reader.error(where, "the token contains a line break or another control character")
    if client_cert_pem is None and token is None:
        raise reader.error(where, "it has no credentials (client-certificate-data and client-key-data, or token)")
    return Kubeconfig(
        path,
        server,
        ca_pem=ca_pem,
        client_cert_pem=client_cert_pem,
        client_key_pem=client_key_pem,
        token=token,
        tls_server_name=tls_server_name,
        context=context_name,
        cluster=cluster_name,
        user=user_name,
    )


def _server(reader, server, where):
    if not server:
        raise reader.error(where, "it has no server")
    parts = urlsplit(server)
    if parts.scheme.lower() != "https":
        raise reader.error(where, f"server {server!r} is not an https:// URL")
    try:
        port = parts.port
    except ValueError:
        port = -1
    if not parts.hostname or port == -1 or parts.query or parts.fragment or "@" in parts.netloc:
        raise reader.error(where, f"server {server!r} is not a URL of the form https://host[:port][/path]")
    return server


def identity(path):
    """Who the kubeconfig at ``path`` authenticates as, for the controller: never raises, never returns the key.

    ``{exists, user, client_certificate, error}``: ``user`` is the kubeconfig's user entry, ``client_certificate``
    its certificate as PEM text (None with a token or no credentials), ``error`` why it cannot be used (None when
    it can).
    """
    result = {"exists": os.path.exists(path), "user": None, "client_certificate": None, "error": None}
    if not result["exists"]:
        return result
    try:
        config = load_kubeconfig(path)
    except KubeconfigError as exc:
        result["error"] = str(exc)
        return result
    result["user"] = config.user
    if config.client_cert_pem is not None:
        try:
            result["client_certificate"] = config.client_cert_pem.decode("ascii")
        except UnicodeDecodeError:
            result["error"] = f"kubeconfig {path}: the client certificate of user {config.user!r} is not PEM text"
    return result

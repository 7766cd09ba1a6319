# Copyright: (c) 2026, NNF kube_audit maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""kube-apiserver's audit policy handling, reproduced in Python (kube-apiserver v1.29 to v1.35).

kube-apiserver loads ``--audit-policy-file`` once at start-up and refuses to start when it is wrong, so
a policy must be judged exactly as the server will judge it before it is installed on a master.

* ``load_policy(data)`` is ``LoadPolicyFromBytes`` (k8s.io/apiserver pkg/audit/policy/reader.go): a strict
  decode that falls back to a lenient one (the strict errors become a warning, as kube-apiserver only
  logs them), the ``audit.k8s.io/v1`` check, validation, and the "0 rules" check. It returns
  ``(policy, warnings)`` or raises ``PolicyError`` whose message is kube-apiserver's error text.
  ``load_policy_file(path)`` is ``LoadPolicyFromFile``; ``apiserver_error_message()`` adds the prefix
  kube-apiserver puts in front of the error when it exits.
* ``validate_policy(policy)`` is ``ValidatePolicy`` (pkg/apis/audit/validation/validation.go): its field
  errors, same text and order. ``aggregate_message()`` joins them like utilerrors.NewAggregate.
* ``evaluate(policy, request)`` is the policy rule evaluator (pkg/audit/policy/checker.go): the level and
  the omitted stages for one request.
* ``render_policy()`` writes a policy document as canonical YAML (what the roles install when a policy
  is built from rules); ``checksum()`` is its sha256.

Decoding follows the real chain: sigs.k8s.io/yaml converts YAML to JSON with go-yaml v2 (YAML 1.1:
``yes``/``no``/``on``/``off``/``y``/``n`` are booleans, only the first document is read, keys are sorted),
or the input is read as JSON when it starts with ``{``; then the JSON is decoded into the typed
``audit.k8s.io/v1`` Policy the way sigs.k8s.io/json does (case-sensitive field names, type errors,
``unknown field``/``duplicate field`` strict errors with their paths). PyYAML supplies the YAML 1.1
tokenizer only; resolution of plain scalars, aliases, merge keys and duplicate detection are go-yaml
v2's, written here.

Policies are plain dicts with the JSON field names (``rules``, ``omitStages``, ``level``, ``userGroups``,
``nonResourceURLs``...), as in the conformance files under tests/conformance.

The bytes are read as go-yaml's reader reads them: UTF-16LE or UTF-16BE after their byte order mark, else
UTF-8 (its BOM dropped); the first encoding error or disallowed character is reported in the reader's words
(``yaml: invalid trailing UTF-8 octet``, ``yaml: incomplete UTF-16 character``, ``yaml: control characters are
not allowed``...). ``policy_text()`` gives the text for display, in the encoding used.

Known approximations (texts that could not be confirmed against kube-apiserver): YAML syntax errors keep
go-yaml's line rule and use libyaml's wording for the common problems, falling back to PyYAML's wording
for rare ones; ``metadata.creationTimestamp`` parse failures; decoding a registered kind other than
``Policy`` (Event, PolicyList...). The whole input is checked for encoding errors before it is parsed, while
go-yaml reads only as far as its first document needs: a file with both a syntax error and, further on, an
encoding error gets the encoding error's message, and an encoding error well past the first document is
refused although kube-apiserver might not read that far.
"""

import base64
import decimal
import hashlib
import json
import math
import re
import struct
import traceback

try:
    from yaml.events import (
        AliasEvent,
        MappingEndEvent,
        ScalarEvent,
        SequenceEndEvent,
        SequenceStartEvent,
        StreamEndEvent,
    )
    from yaml.nodes import ScalarNode
    from yaml.parser import Parser, ParserError
    from yaml.reader import Reader, ReaderError
    from yaml.resolver import Resolver
    from yaml.scanner import Scanner, ScannerError
    from yaml.tokens import ScalarToken
except ImportError:
    HAS_YAML = False
    YAML_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_YAML = True
    YAML_IMPORT_ERROR = None

API_VERSION = "audit.k8s.io/v1"
KIND = "Policy"
LEVELS = ("None", "Metadata", "Request", "RequestResponse")
STAGES = ("RequestReceived", "ResponseStarted", "ResponseComplete", "Panic")
DEFAULT_LEVEL = "None"

# kube-apiserver logs this (klog warning) and goes on with the leniently decoded policy.
LENIENT_DECODING_WARNING = "Audit policy contains errors, falling back to lenient decoding: "
# kube-apiserver exits with "loading audit policy file: <LoadPolicyFromFile error>".
APISERVER_ERROR_PREFIX = "loading audit policy file: "
# Name runtime.NewScheme() gives the audit scheme (its call site), quoted in "no kind ... registered" errors.
AUDIT_SCHEME_NAME = "k8s.io/apiserver/pkg/audit/scheme.go:30"

REQUEST_KEYS = (
    "user",
    "verb",
    "namespace",
    "apiGroup",
    "apiVersion",
    "resource",
    "subresource",
    "name",
    "resourceRequest",
    "path",
)


class PolicyError(Exception):
    """The policy would make kube-apiserver exit; ``message`` is kube-apiserver's error text.

    ``warnings`` holds what kube-apiserver logged before failing (the lenient-decoding warning).
    """

    def __init__(self, message, warnings=()):
        super().__init__(message)
        self.message = message
        self.warnings = list(warnings)


def apiserver_error_message(message):
    """The text kube-apiserver exits with for a LoadPolicyFromFile error ``message``."""
    return APISERVER_ERROR_PREFIX + message


# --------------------------------------------------------------------------------------------------
# Go formatting
# --------------------------------------------------------------------------------------------------

_GO_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}


def go_quote(text):
    """``strconv.Quote`` (what ``%q`` and ``%#v`` print for a string)."""
    out = ['"']
    for char in text:
        code = ord(char)
        if char in '"\\':
            out.append("\\" + char)
        elif char.isprintable():
            out.append(char)
        elif char in _GO_ESCAPES:
            out.append(_GO_ESCAPES[char])
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        elif 0xDC80 <= code <= 0xDCFF:
            out.append(f"\\x{code - 0xDC00:02x}")  # a raw byte (surrogateescape): Go prints it as \xNN
        elif 0xD800 <= code <= 0xDFFF:
            out.append("\\ufffd")  # not a valid rune: Go prints the replacement character
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    out.append('"')
    return "".join(out)


def _go_string_slice(values):
    """``%#v`` of a ``[]string``."""
    return "[]string{" + ", ".join(go_quote(value) for value in values) + "}"


def aggregate_message(messages):
    """The text of utilerrors.NewAggregate over errors with these texts (duplicates dropped)."""
    unique = []
    for message in messages:
        if message not in unique:
            unique.append(message)
    if len(unique) == 1:
        return unique[0]
    return "[" + ", ".join(unique) + "]" if unique else ""


# --------------------------------------------------------------------------------------------------
# YAML, as sigs.k8s.io/yaml.YAMLToJSON reads it with go-yaml v2
# --------------------------------------------------------------------------------------------------

_TAG = "tag:yaml.org,2002:"
_STR, _BOOL, _INT, _FLOAT, _NULL = _TAG + "str", _TAG + "bool", _TAG + "int", _TAG + "float", _TAG + "null"
_TIMESTAMP, _BINARY, _MERGE = _TAG + "timestamp", _TAG + "binary", _TAG + "merge"
_RESOLVABLE_TAGS = ("", _STR, _BOOL, _INT, _FLOAT, _TIMESTAMP)

# go-yaml v2 resolve.go: the first character hints at what a plain scalar may be.
_HINTS = {"+": "S", "-": "S", ".": "."}
_HINTS.update(dict.fromkeys("0123456789", "D"))
_HINTS.update(dict.fromkeys("yYnNtTfFoO~", "M"))
_RESOLVE_MAP = {}
for _words, _resolved in (
    ("y Y yes Yes YES true True TRUE on On ON", (_BOOL, True)),
    ("n N no No NO false False FALSE off Off OFF", (_BOOL, False)),
    ("~ null Null NULL", (_NULL, None)),
    (".nan .NaN .NAN", (_FLOAT, math.nan)),
    (".inf .Inf .INF +.inf +.Inf +.INF", (_FLOAT, math.inf)),
    ("-.inf -.Inf -.INF", (_FLOAT, -math.inf)),
):
    _RESOLVE_MAP.update(dict.fromkeys(_words.split(), _resolved))
_RESOLVE_MAP[""] = (_NULL, None)
_YAML_STYLE_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_GO_DECIMAL_FLOAT = re.compile(r"^[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$")
_TIMESTAMP_FORMATS = (
    re.compile(r"^\d{4}-\d{1,2}-\d{1,2}[Tt]\d{1,2}:\d{1,2}:\d{1,2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$"),
    re.compile(r"^\d{4}-\d{1,2}-\d{1,2} \d{1,2}:\d{1,2}:\d{1,2}(\.\d+)?$"),
    re.compile(r"^\d{4}-\d{1,2}-\d{1,2}$"),
)
_INT_DIGITS = {2: "01", 8: "01234567", 10: "0123456789", 16: "0123456789abcdefABCDEF"}
_INT64_MAX = 2**63 - 1


class _DecodeFailure(Exception):
    """The document cannot be decoded; the text is the decoder error kube-apiserver reports."""


class _Number:
    """A JSON number, kept as its literal text (decoding into int64 fields reports that text)."""

    __slots__ = ("text",)

    def __init__(self, text):
        self.text = text


class _Object:
    """A JSON object: its members in order, duplicates included (the strict decoder reports them)."""

    __slots__ = ("pairs",)

    def __init__(self, pairs):
        self.pairs = list(pairs)


class _GoMap(dict):
    """A go-yaml ``map[interface{}]interface{}``: Go key identity -> (key, value)."""


def _go_parse_uint(text):
    """``strconv.ParseUint(text, 0, 64)``, or None."""
    base = 10
    if text[:1] == "0":
        prefix = text[1:2].lower()
        if len(text) >= 3 and prefix in ("b", "o", "x"):
            base, text = {"b": 2, "o": 8, "x": 16}[prefix], text[2:]
        else:
            base, text = 8, text[1:]
            if not text:
                return 0
    if not text or any(char not in _INT_DIGITS[base] for char in text):
        return None
    value = int(text, base)
    return value if value < 2**64 else None


def _go_parse_int(text):
    """``strconv.ParseInt(text, 0, 64)``, or None."""
    negative = text[:1] == "-"
    magnitude = _go_parse_uint(text[1:] if text[:1] in "+-" else text)
    if magnitude is None or magnitude > _INT64_MAX + negative:
        return None
    return -magnitude if negative else magnitude


def _go_parse_float(text):
    """``strconv.ParseFloat(text, 64)`` for the decimal forms YAML can reach it with, or None."""
    if not _GO_DECIMAL_FLOAT.match(text):
        return None
    value = float(text)
    return None if math.isinf(value) else value


def _yaml_resolve(tag, text):
    """go-yaml v2 ``resolve()``: (tag, value) of a scalar that is plain or has a resolvable tag."""
    if tag not in _RESOLVABLE_TAGS:
        return tag, text
    rtag, value = _yaml_resolve_plain(tag, text)
    if tag in ("", rtag, _STR):
        return rtag, value
    if tag == _FLOAT and rtag == _INT:
        return _FLOAT, float(value)
    raise _DecodeFailure(f"yaml: cannot decode {_short_tag(rtag)} `{text}` as a {_short_tag(tag)}")


def _yaml_resolve_plain(tag, text):
    hint = _HINTS.get(text[:1], "") if text else "N"
    if hint and tag not in (_STR, _BINARY):
        if text in _RESOLVE_MAP:
            return _RESOLVE_MAP[text]
        if hint == ".":
            value = _go_parse_float(text)
            if value is not None:
                return _FLOAT, value
        elif hint in "DS":
            if tag in ("", _TIMESTAMP) and any(pattern.match(text) for pattern in _TIMESTAMP_FORMATS):
                return _TIMESTAMP, text
            plain = text.replace("_", "")
            value = _go_parse_int(plain)
            if value is None and plain[:1] not in "+-":
                value = _go_parse_uint(plain)
            if value is not None:
                return _INT, value
            if _YAML_STYLE_FLOAT.match(plain):
                value = _go_parse_float(plain)
                if value is not None:
                    return _FLOAT, value
            for prefix, sign in (("0b", 1), ("-0b", -1)):
                digits = plain[len(prefix) :]
                if plain.startswith(prefix) and digits and set(digits) <= set("01"):
                    if int(digits, 2) <= _INT64_MAX:
                        return _INT, sign * int(digits, 2)
                    break
    return _STR, text


def _short_tag(tag):
    return "!!" + tag[len(_TAG) :] if tag.startswith(_TAG) else tag


class _Node:
    __slots__ = ("children", "implicit", "kind", "line", "tag", "target", "value")

    def __init__(self, kind, event, tag="", value=None, implicit=False):
        self.kind = kind
        self.line = event.start_mark.line
        self.tag = tag
        self.value = value
        self.implicit = implicit
        self.children = []
        self.target = None


if HAS_YAML:

    class _EventReader(Reader, Scanner, Parser):
        """PyYAML's YAML 1.1 reader, scanner and parser, producing the events libyaml (go-yaml v2) produces.

        Two scanner steps are libyaml's instead of PyYAML's, which refuses tabs that libyaml accepts
        (a tab after ``key:``, or trailing a value).
        """

        _BLANK_OR_BREAK = " \t\r\n\x85\u2028\u2029"
        _BLANKZ = "\0" + _BLANK_OR_BREAK

        def __init__(self, text):
            Reader.__init__(self, text)
            Scanner.__init__(self)
            Parser.__init__(self)

        def scan_to_next_token(self):
            # yaml_parser_scan_to_next_token: tabs are skipped in flow context and where no simple key
            # may start (after "key:"), not at the start of a line or after "-".
            if self.index == 0 and self.peek() == "\ufeff":
                self.forward()
            while True:
                while self.peek() == " " or (self.peek() == "\t" and (self.flow_level or not self.allow_simple_key)):
                    self.forward()
                if self.peek() == "#":
                    while self.peek() not in "\0\r\n\x85\u2028\u2029":
                        self.forward()
                if not self.scan_line_break():
                    return
                if not self.flow_level:
                    self.allow_simple_key = True

        def scan_plain(self):
            # yaml_parser_scan_plain_scalar: spaces and tabs are both blanks.
            chunks, whitespaces, leading_break, trailing_breaks = [], "", "", []
            leading_blanks = False
            indent = self.indent + 1
            start_mark = end_mark = self.get_mark()
            while True:
                if self.column == 0 and self.prefix(3) in ("---", "...") and self.peek(3) in self._BLANKZ:
                    break
                if self.peek() == "#":
                    break
                while self.peek() not in self._BLANKZ:
                    char = self.peek()
                    if (char == ":" and self.peek(1) in self._BLANKZ) or (self.flow_level and char in ",?[]{}"):
                        break
                    if leading_blanks:
                        if leading_break == "\n":
                            chunks.append("".join(trailing_breaks) if trailing_breaks else " ")
                        else:
                            chunks.extend([leading_break, *trailing_breaks])
                        leading_break, trailing_breaks, leading_blanks = "", [], False
                    elif whitespaces:
                        chunks.append(whitespaces)
                        whitespaces = ""
                    chunks.append(char)
                    self.forward()
                    end_mark = self.get_mark()
                if self.peek() not in self._BLANK_OR_BREAK:
                    break
                while self.peek() in self._BLANK_OR_BREAK:
                    if self.peek() in " \t":
                        if leading_blanks and self.column < indent and self.peek() == "\t":
                            raise ScannerError(
                                "while scanning a plain scalar",
                                start_mark,
                                "found a tab character that violates indentation",
                                self.get_mark(),
                            )
                        if not leading_blanks:
                            whitespaces += self.peek()
                        self.forward()
                    elif not leading_blanks:
                        whitespaces = ""
                        leading_break = self.scan_line_break()
                        leading_blanks = True
                    else:
                        trailing_breaks.append(self.scan_line_break())
                if not self.flow_level and self.column < indent:
                    break
            if leading_blanks:
                self.allow_simple_key = True
            return ScalarToken("".join(chunks), True, start_mark, end_mark)

    _PYYAML_RESOLVER = Resolver()


# PyYAML's wording of a problem -> libyaml's (go-yaml v2 reports libyaml's).
_LIBYAML_PROBLEMS = (
    (None, "mapping values are not allowed here", "mapping values are not allowed in this context"),
    (None, "sequence entries are not allowed here", "block sequence entries are not allowed in this context"),
    (None, "mapping keys are not allowed here", "mapping keys are not allowed in this context"),
    (None, "found character ", "found character that cannot start any token"),
    (None, "found unexpected document separator", "found unexpected document indicator"),
    (None, "found unknown escape character", "found unknown escape character"),
    (None, "expected escape sequence of ", "did not find expected hexdecimal number"),
    (None, "expected the node content", "did not find expected node content"),
    (None, "expected ',' or ']'", "did not find expected ',' or ']'"),
    (None, "expected ',' or '}'", "did not find expected ',' or '}'"),
    (None, "expected '<document start>'", "did not find expected <document start>"),
    (None, "found undefined tag handle", "found undefined tag handle"),
    ("while parsing a block mapping", "expected <block end>", "did not find expected key"),
    ("while parsing a block collection", "expected <block end>", "did not find expected '-' indicator"),
    (None, "expected alphabetic or numeric character", "did not find expected alphabetic or numeric character"),
    (None, "expected indentation indicator in the range 1-9", "found an indentation indicator equal to 0"),
    (None, "expected a comment or a line break", "did not find expected comment or line break"),
    (None, "expected chomping or indentation indicators", "did not find expected comment or line break"),
    (None, "found duplicate YAML directive", "found duplicate %YAML directive"),
    (None, "found incompatible YAML document", "found incompatible YAML document"),
    (None, "duplicate tag handle", "found duplicate %TAG directive"),
    ("while scanning a tag", "expected ' '", "did not find expected whitespace or line break"),
    (None, "expected '!'", "did not find expected '!'"),
    (None, "expected '>'", "did not find the expected '>'"),
    (None, "expected URI escape sequence", "did not find URI escaped octet"),
    (None, "expected URI", "did not find expected tag URI"),
)


def _yaml_syntax_failure(error):
    """go-yaml v2 ``parser.fail()`` text for a PyYAML scanner/parser error."""
    problem = error.problem or ""
    for context, pyyaml_text, libyaml_text in _LIBYAML_PROBLEMS:
        if problem.startswith(pyyaml_text) and (context is None or error.context == context):
            problem = libyaml_text
            break
    # go-yaml prints the problem's 0-based line (+1 for scanner errors) and nothing for line 0.
    line = 0
    if error.problem_mark is not None and error.problem_mark.line != 0:
        line = error.problem_mark.line + (1 if isinstance(error, ScannerError) else 0)
    elif error.context_mark is not None:
        line = error.context_mark.line
    where = f"line {line}: " if line else ""
    return _DecodeFailure(f"yaml: {where}{problem or 'unknown problem parsing YAML content'}")


def _compose_first_document(text):
    """The node tree of the first YAML document (go-yaml's Unmarshal reads no further), or None."""
    try:
        events = _EventReader(text)
        events.get_event()  # stream start
        if events.check_event(StreamEndEvent):
            return None
        start = events.get_event()
        if start.version is not None and tuple(start.version) != (1, 1):
            # libyaml as vendored by go-yaml v2 only accepts %YAML 1.1; parser error, 0-based line.
            line = start.start_mark.line
            where = f"line {line}: " if line else ""
            raise _DecodeFailure(f"yaml: {where}found incompatible YAML document")
        node = _compose_node(events, {})
        events.get_event()  # document end
        return node
    except ReaderError:
        raise _DecodeFailure("yaml: control characters are not allowed") from None
    except (ScannerError, ParserError) as error:
        raise _yaml_syntax_failure(error) from None


def _compose_node(events, anchors):
    event = events.get_event()
    if isinstance(event, AliasEvent):
        node = _Node("alias", event, value=event.anchor)
        node.target = anchors.get(event.anchor)
        if node.target is None:
            raise _DecodeFailure(f"yaml: unknown anchor '{event.anchor}' referenced")
        return node
    if isinstance(event, ScalarEvent):
        node = _Node("scalar", event, tag=event.tag or "", value=event.value, implicit=event.implicit[0])
    elif isinstance(event, SequenceStartEvent):
        node = _Node("sequence", event, tag=event.tag or "")
    else:
        node = _Node("mapping", event, tag=event.tag or "")
    if event.anchor is not None:
        anchors[event.anchor] = node  # registered before the children, as go-yaml does
    end = {"sequence": SequenceEndEvent, "mapping": MappingEndEvent}.get(node.kind)
    if end is not None:
        while not events.check_event(end):
            node.children.append(_compose_node(events, anchors))
        events.get_event()
    return node


def _allowed_alias_ratio(decode_count):
    # go-yaml v2 decode.go: the guard against "billion laughs" documents.
    if decode_count <= 400000:
        return 0.99
    if decode_count >= 4000000:
        return 0.10
    return 0.99 - 0.89 * (float(decode_count - 400000) / 3600000)


class _YamlDecoder:
    """go-yaml v2 decoding of a node tree into ``interface{}``.

    Runs the lenient and the strict (YAMLToJSONStrict) decode in one pass: values follow the lenient
    decode (a repeated key overwrites), ``duplicates`` collects the strict decode's errors.
    """

    def __init__(self):
        self.duplicates = []
        self._decode_count = 1  # the document node
        self._alias_count = 0
        self._alias_depth = 0
        self._active_aliases = set()

    def decode(self, node, into_map=None):
        self._decode_count += 1
        if self._alias_depth > 0:
            self._alias_count += 1
        if (
            self._alias_count > 100
            and self._decode_count > 1000
            and float(self._alias_count) / self._decode_count > _allowed_alias_ratio(self._decode_count)
        ):
            raise _DecodeFailure("yaml: document contains excessive aliasing")
        if node.kind == "alias":
            return self._alias(node, into_map)
        if node.kind == "mapping":
            return self._mapping(node, _GoMap() if into_map is None else into_map)
        if node.kind == "sequence":
            return [self.decode(child) for child in node.children]
        return self._scalar(node)

    def _alias(self, node, into_map):
        if id(node) in self._active_aliases:
            raise _DecodeFailure(f"yaml: anchor '{node.value}' value contains itself")
        self._active_aliases.add(id(node))
        self._alias_depth += 1
        try:
            return self.decode(node.target, into_map)
        finally:
            self._alias_depth -= 1
            self._active_aliases.discard(id(node))

    @staticmethod
    def _scalar(node):
        if node.tag == "" and not node.implicit:
            return node.value
        tag, value = _yaml_resolve(node.tag, node.value)
        if tag == _BINARY:
            try:
                return base64.b64decode(re.sub(r"[\r\n]", "", value), validate=True).decode("utf-8", "replace")
            except ValueError:
                raise _DecodeFailure("yaml: !!binary value contains invalid base64 data") from None
        if tag == _TIMESTAMP:
            return node.value  # go-yaml v2 keeps timestamps as strings in interface{}
        return value

    def _mapping(self, node, out):
        children = node.children
        for index in range(0, len(children), 2):
            key_node, value_node = children[index], children[index + 1]
            if key_node.kind == "scalar" and key_node.value == "<<" and (key_node.implicit or key_node.tag == _MERGE):
                self._merge(value_node, out)
                continue
            key = self.decode(key_node)
            if isinstance(key, (list, dict)):
                raise _DecodeFailure(f"yaml: invalid map key: {_go_sharp_v(key)}")
            value = self.decode(value_node)
            go_key = _go_map_key(key)
            if go_key in out:
                self.duplicates.append(f"line {value_node.line + 1}: key {_go_sharp_v(key)} already set in map")
            out[go_key] = (key, value)
        return out

    def _merge(self, node, out):
        def is_mapping(candidate):
            return candidate.kind == "mapping" or (candidate.kind == "alias" and candidate.target.kind == "mapping")

        if node.kind == "sequence":
            for child in reversed(node.children):  # earlier maps take precedence
                if not is_mapping(child):
                    raise _DecodeFailure("yaml: map merge requires map or sequence of maps as the value")
                self.decode(child, out)
        elif is_mapping(node):
            self.decode(node, out)
        else:
            raise _DecodeFailure("yaml: map merge requires map or sequence of maps as the value")


def _go_map_key(key):
    """Identity of a key in a Go ``map[interface{}]interface{}`` (1, True and "1" differ; NaN never repeats)."""
    if isinstance(key, float) and math.isnan(key):
        return ("nan", object())
    return (type(key).__name__, key)


def _go_sharp_v(value, nested=False):
    """``%#v`` of a value decoded by go-yaml (``nested``: inside a slice or map)."""
    if isinstance(value, str):
        return go_quote(value)
    if value is None:
        return "interface {}(nil)" if nested else "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return hex(value) if value > _INT64_MAX else str(value)  # go-yaml's uint64, printed in hex
    if isinstance(value, float):
        return _go_format_float(value, "g")
    if isinstance(value, list):
        return "[]interface {}{" + ", ".join(_go_sharp_v(item, True) for item in value) + "}"
    items = (f"{_go_sharp_v(k, True)}:{_go_sharp_v(v, True)}" for k, v in value.values())
    return "map[interface {}]interface {}{" + ", ".join(items) + "}"


def _go_format_float(value, verb, bits=64):
    """``strconv.FormatFloat(value, verb, -1, bits)`` for verb 'g', 'e' or 'f' (shortest digits)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    digits = repr(value)
    if bits == 32:
        single = struct.unpack("f", struct.pack("f", value))[0]
        for precision in range(1, 10):
            digits = f"{single:.{precision}g}"
            if struct.unpack("f", struct.pack("f", float(digits)))[0] == single:
                break
    number = decimal.Decimal(digits)
    if verb == "g":
        verb = "e" if number and not -4 <= number.adjusted() < 6 else "f"
    if verb == "f":
        text = format(number, "f")
        return text.rstrip("0").rstrip(".") if "." in text else text
    sign, digit_tuple, exponent = number.normalize().as_tuple()
    mantissa = "".join(str(digit) for digit in digit_tuple)
    exponent += len(mantissa) - 1
    mantissa = mantissa[0] + ("." + mantissa[1:] if len(mantissa) > 1 else "")
    return f"{'-' if sign else ''}{mantissa}e{'-' if exponent < 0 else '+'}{abs(exponent):02d}"


def _go_json_float(value):
    """Text encoding/json writes for a float64 (NaN/Inf are errors)."""
    if math.isnan(value) or math.isinf(value):
        raise _DecodeFailure("json: unsupported value: " + _go_format_float(value, "g"))
    if value == 0:
        return "-0" if math.copysign(1, value) < 0 else "0"
    magnitude = abs(value)
    text = _go_format_float(value, "e" if magnitude < 1e-6 or magnitude >= 1e21 else "f")
    return re.sub(r"e-0(\d)$", r"e-\1", text)


def _json_key(key, value):
    """sigs.k8s.io/yaml: the JSON object key for a YAML map key."""
    if isinstance(key, str):
        return key
    if isinstance(key, bool):
        return "true" if key else "false"
    if isinstance(key, int):
        return str(key)
    if isinstance(key, float):
        text = _go_format_float(key, "g", bits=32)
        return {"+Inf": ".inf", "-Inf": "-.inf", "NaN": ".nan"}.get(text, text)
    raise _DecodeFailure(f"Unsupported map key of type: %!s(<nil>), key: <nil>, value: {_go_sharp_v(value)}")


def _jsonable(value):
    """sigs.k8s.io/yaml convertToJSONableObject: map keys become strings (the first pass)."""
    if isinstance(value, _GoMap):
        members = {}
        for key, item in value.values():
            members[_json_key(key, item)] = _jsonable(item)  # two keys with one text: Go keeps either
        return _Object((key, members[key]) for key in sorted(members))  # json.Marshal sorts keys
    if isinstance(value, list):
        return [_jsonable(item) for item in value]
    return value


def _marshal(value):
    """json.Marshal (the second pass): numbers get their JSON text; NaN and infinities fail."""
    if isinstance(value, _Object):
        return _Object((key, _marshal(item)) for key, item in value.pairs)
    if isinstance(value, list):
        return [_marshal(item) for item in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return _Number(str(value))
    return _Number(_go_json_float(value))


def _yaml_document(text):
    """(JSON tree, strict decoding error or None) for YAML text, as the YAML serializer sees it."""
    node = _compose_first_document(text)
    if node is None:
        return None, None
    decoder = _YamlDecoder()
    tree = _marshal(_jsonable(decoder.decode(node)))
    strict_error = None
    if decoder.duplicates:
        strict_error = "yaml: unmarshal errors:\n  " + "\n  ".join(decoder.duplicates)
    return tree, strict_error


# go-yaml's reader (readerc.go): the characters YAML allows; any other is "control characters are not allowed".
_DISALLOWED_CHARACTER = re.compile("[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _yaml_encoding(data):
    """yaml_parser_determine_encoding: (libyaml's name, Python codec, BOM length). No BOM means UTF-8."""
    if data.startswith(b"\xff\xfe"):
        return "UTF-16LE", "utf-16-le", 2
    if data.startswith(b"\xfe\xff"):
        return "UTF-16BE", "utf-16-be", 2
    return "UTF-8", "utf-8", 3 if data.startswith(b"\xef\xbb\xbf") else 0


def _allowed_character(value):
    return (
        value in (0x09, 0x0A, 0x0D, 0x85)
        or 0x20 <= value <= 0x7E
        or 0xA0 <= value <= 0xD7FF
        or 0xE000 <= value <= 0xFFFD
        or 0x10000 <= value <= 0x10FFFF
    )


# (mask, leading bits, width) of a UTF-8 sequence's first octet.
_UTF8_LEADS = ((0x80, 0x00, 1), (0xE0, 0xC0, 2), (0xF0, 0xE0, 3), (0xF8, 0xF0, 4))


def _utf8_character(data, position):
    """(value, width) of the UTF-8 character at ``position``, or the reader's problem text."""
    octet = data[position]
    widths = [width for mask, lead, width in _UTF8_LEADS if octet & mask == lead]
    if not widths:
        return "invalid leading UTF-8 octet"
    width = widths[0]
    if width > len(data) - position:
        return "incomplete UTF-8 octet sequence"
    value = octet & (0x7F if width == 1 else 0xFF >> (width + 1))
    for offset in range(1, width):
        trailing = data[position + offset]
        if trailing & 0xC0 != 0x80:
            return "invalid trailing UTF-8 octet"
        value = (value << 6) + (trailing & 0x3F)
    if value < (0, 0, 0x80, 0x800, 0x10000)[width]:
        return "invalid length of a UTF-8 sequence"
    if 0xD800 <= value <= 0xDFFF or value > 0x10FFFF:
        return "invalid Unicode character"
    return value, width


def _utf16_character(data, position, big_endian):
    """(value, width) of the UTF-16 character at ``position``, or the reader's problem text."""

    def unit(at):
        return (data[at] << 8) + data[at + 1] if big_endian else data[at] + (data[at + 1] << 8)

    if len(data) - position < 2:
        return "incomplete UTF-16 character"
    value = unit(position)
    if value & 0xFC00 == 0xDC00:
        return "unexpected low surrogate area"
    if value & 0xFC00 != 0xD800:
        return value, 2
    if len(data) - position < 4:
        return "incomplete UTF-16 surrogate pair"
    low = unit(position + 2)
    if low & 0xFC00 != 0xDC00:
        return "expected low surrogate area"
    return 0x10000 + ((value & 0x3FF) << 10) + (low & 0x3FF), 4


def _reader_problem(data, codec):
    """The first problem go-yaml's reader finds in ``data`` (BOM removed), reading it in order, or None."""
    position = 0
    while position < len(data):
        if codec == "utf-8":
            character = _utf8_character(data, position)
        else:
            character = _utf16_character(data, position, codec == "utf-16-be")
        if isinstance(character, str):
            return character
        value, width = character
        if not _allowed_character(value):
            return "control characters are not allowed"
        position += width
    return None


def _decode_yaml_bytes(data):
    """go-yaml's reader: UTF-16 when a BOM says so, else UTF-8 (a UTF-8 BOM dropped); its first problem, if any.

    Only characters YAML allows pass (tab, line breaks, printable characters). The problem reported is the first
    one in the input, an encoding error or a disallowed character, in go-yaml's words.
    """
    _name, codec, bom = _yaml_encoding(data)
    data = data[bom:]
    try:
        text = data.decode(codec)
    except UnicodeDecodeError:
        # Python's strict codecs refuse exactly what the reader refuses: find which problem it meets first.
        raise _DecodeFailure("yaml: " + (_reader_problem(data, codec) or "invalid encoding")) from None
    if _DISALLOWED_CHARACTER.search(text):
        raise _DecodeFailure("yaml: control characters are not allowed")
    return text


def policy_text(data):
    """``(text, encoding)``: a policy's bytes as text, for display, in the encoding kube-apiserver reads them in.

    ``encoding`` is libyaml's name for it, ``UTF-8``, ``UTF-16LE`` or ``UTF-16BE`` (chosen by the byte order mark,
    as go-yaml chooses; JSON is always UTF-8). A byte order mark is kept as U+FEFF, so that the text of a valid
    policy encodes back to exactly ``data``; bytes invalid in the encoding (kube-apiserver accepts them only
    inside JSON strings, as U+FFFD) are shown as U+FFFD.
    """
    name, codec, _bom = _yaml_encoding(data)
    return data.decode(codec, "replace"), name


# --------------------------------------------------------------------------------------------------
# JSON input (a document starting with "{" is read by the JSON serializer, not the YAML one)
# --------------------------------------------------------------------------------------------------

_JSON_SPACE = b" \t\r\n"
# Go unicode.IsSpace, which IsJSONBuffer trims before looking for "{".
_GO_SPACE = "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
_GO_SPACE += "\u2028\u2029\u202f\u205f\u3000"


def _is_json_buffer(data):
    text = data.decode("utf-8", "replace")
    return text.lstrip(_GO_SPACE).startswith("{")


def _go_quote_char(byte):
    """encoding/json ``quoteChar``."""
    if byte == 0x27:
        return "'\\''"
    if byte == 0x22:
        return "'\"'"
    return "'" + go_quote(chr(byte))[1:-1] + "'"


class _GoJsonScanner:
    """encoding/json scanner.go: the syntax check json.Unmarshal makes first, with its messages."""

    MAX_DEPTH = 10000

    def __init__(self):
        self.step = self._begin_value
        self.stack = []
        self.end_top = False
        self.error = None

    def check(self, data):
        for byte in bytearray(data):
            if self.step(byte) == "error":
                return self.error
        if self.error is not None:
            return self.error
        if not self.end_top:
            self.step(0x20)
            if not self.end_top and self.error is None:
                self.error = "unexpected end of JSON input"
        return self.error

    def _fail(self, byte, context):
        self.step = lambda _byte: "error"
        self.error = f"invalid character {_go_quote_char(byte)} {context}"
        return "error"

    def _push(self, byte, state):
        self.stack.append(state)
        return "ok" if len(self.stack) <= self.MAX_DEPTH else self._fail(byte, "exceeded max depth")

    def _begin_value_or_empty(self, byte):
        if byte in _JSON_SPACE:
            return "ok"
        if byte == 0x5D:  # ]
            return self._end_value(byte)
        return self._begin_value(byte)

    def _begin_value(self, byte):
        if byte in _JSON_SPACE:
            return "ok"
        if byte == 0x7B:  # {
            self.step = self._begin_string_or_empty
            return self._push(byte, "key")
        if byte == 0x5B:  # [
            self.step = self._begin_value_or_empty
            return self._push(byte, "array")
        literal = {0x22: self._in_string, 0x2D: self._neg, 0x30: self._zero}
        if byte in literal:
            self.step = literal[byte]
            return "ok"
        if 0x31 <= byte <= 0x39:
            self.step = self._one
            return "ok"
        for word in ("true", "false", "null"):
            if byte == ord(word[0]):
                self.step = self._literal(word, 1)
                return "ok"
        return self._fail(byte, "looking for beginning of value")

    def _literal(self, word, position):
        def step(byte):
            if byte != ord(word[position]):
                return self._fail(byte, f"in literal {word} (expecting '{word[position]}')")
            self.step = self._end_value if position + 1 == len(word) else self._literal(word, position + 1)
            return "ok"

        return step

    def _begin_string_or_empty(self, byte):
        if byte in _JSON_SPACE:
            return "ok"
        if byte == 0x7D:  # }
            self.stack[-1] = "value"
            return self._end_value(byte)
        return self._begin_string(byte)

    def _begin_string(self, byte):
        if byte in _JSON_SPACE:
            return "ok"
        if byte == 0x22:
            self.step = self._in_string
            return "ok"
        return self._fail(byte, "looking for beginning of object key string")

    def _end_value(self, byte):
        if not self.stack:
            self.step = self._end_top
            self.end_top = True
            return self._end_top(byte)
        if byte in _JSON_SPACE:
            self.step = self._end_value
            return "ok"
        state = self.stack[-1]
        if state == "key":
            if byte == 0x3A:  # :
                self.stack[-1] = "value"
                self.step = self._begin_value
                return "ok"
            return self._fail(byte, "after object key")
        if state == "value":
            if byte == 0x2C:  # ,
                self.stack[-1] = "key"
                self.step = self._begin_string
                return "ok"
            if byte == 0x7D:
                return self._pop()
            return self._fail(byte, "after object key:value pair")
        if byte == 0x2C:
            self.step = self._begin_value
            return "ok"
        if byte == 0x5D:
            return self._pop()
        return self._fail(byte, "after array element")

    def _pop(self):
        self.stack.pop()
        if self.stack:
            self.step = self._end_value
        else:
            self.step = self._end_top
            self.end_top = True
        return "ok"

    def _end_top(self, byte):
        if byte not in _JSON_SPACE:
            self._fail(byte, "after top-level value")  # reported on the next byte, as Go does
        return "ok"

    def _in_string(self, byte):
        if byte == 0x22:
            self.step = self._end_value
        elif byte == 0x5C:  # backslash
            self.step = self._in_string_escape
        elif byte < 0x20:
            return self._fail(byte, "in string literal")
        return "ok"

    def _in_string_escape(self, byte):
        if byte in b'bfnrt\\/"':
            self.step = self._in_string
            return "ok"
        if byte == 0x75:  # u
            self.step = self._in_string_hex(4)
            return "ok"
        return self._fail(byte, "in string escape code")

    def _in_string_hex(self, remaining):
        def step(byte):
            if byte not in b"0123456789abcdefABCDEF":
                return self._fail(byte, "in \\u hexadecimal character escape")
            self.step = self._in_string if remaining == 1 else self._in_string_hex(remaining - 1)
            return "ok"

        return step

    def _neg(self, byte):
        if byte == 0x30:
            self.step = self._zero
            return "ok"
        if 0x31 <= byte <= 0x39:
            self.step = self._one
            return "ok"
        return self._fail(byte, "in numeric literal")

    def _one(self, byte):
        if 0x30 <= byte <= 0x39:
            return "ok"
        return self._zero(byte)

    def _zero(self, byte):
        if byte == 0x2E:  # .
            self.step = self._dot
            return "ok"
        if byte in b"eE":
            self.step = self._exponent
            return "ok"
        return self._end_value(byte)

    def _dot(self, byte):
        if 0x30 <= byte <= 0x39:
            self.step = self._dot_digits
            return "ok"
        return self._fail(byte, "after decimal point in numeric literal")

    def _dot_digits(self, byte):
        if 0x30 <= byte <= 0x39:
            return "ok"
        if byte in b"eE":
            self.step = self._exponent
            return "ok"
        return self._end_value(byte)

    def _exponent(self, byte):
        if byte in b"+-":
            self.step = self._exponent_sign
            return "ok"
        return self._exponent_sign(byte)

    def _exponent_sign(self, byte):
        if 0x30 <= byte <= 0x39:
            self.step = self._exponent_digits
            return "ok"
        return self._fail(byte, "in exponent of numeric literal")

    def _exponent_digits(self, byte):
        if 0x30 <= byte <= 0x39:
            return "ok"
        return self._end_value(byte)


def _json_document(data):
    error = _GoJsonScanner().check(data)
    if error is not None:
        raise _DecodeFailure("couldn't get version/kind; json parse error: " + error)
    return json.loads(
        data.decode("utf-8", "replace"), object_pairs_hook=_Object, parse_int=_Number, parse_float=_Number
    )


# --------------------------------------------------------------------------------------------------
# Decoding the JSON into the typed Policy (sigs.k8s.io/json, strict and lenient)
# --------------------------------------------------------------------------------------------------


class _GoType:
    """What the decoder needs to know about a Go type: kind, ``Type.String()``, fields or element."""

    __slots__ = ("elem", "fields", "kind", "name", "struct_name")

    def __init__(self, kind, name, elem=None, fields=None, struct_name=None):
        self.kind = kind
        self.name = name
        self.elem = elem
        self.fields = fields
        self.struct_name = struct_name


_GO_STRING = _GoType("string", "string")
_GO_BOOL = _GoType("bool", "bool")
_GO_INT64 = _GoType("int64", "int64")
_GO_TIME = _GoType("time", "v1.Time")
_GO_RAW = _GoType("raw", "v1.FieldsV1")


def _slice_of(elem):
    return _GoType("slice", "[]" + elem.name, elem=elem)


def _pointer_to(elem):
    return _GoType("ptr", "*" + elem.name, elem=elem)


def _struct(package, name, fields):
    return _GoType("struct", package + "." + name, fields=dict(fields), struct_name=name)


def _object_meta_fields():
    uid = _GoType("string", "types.UID")
    string_map = _GoType("map", "map[string]string", elem=_GO_STRING)
    owner = _struct(
        "v1",
        "OwnerReference",
        [
            ("apiVersion", _GO_STRING),
            ("kind", _GO_STRING),
            ("name", _GO_STRING),
            ("uid", uid),
            ("controller", _pointer_to(_GO_BOOL)),
            ("blockOwnerDeletion", _pointer_to(_GO_BOOL)),
        ],
    )
    managed = _struct(
        "v1",
        "ManagedFieldsEntry",
        [
            ("manager", _GO_STRING),
            ("operation", _GoType("string", "v1.ManagedFieldsOperationType")),
            ("apiVersion", _GO_STRING),
            ("time", _pointer_to(_GO_TIME)),
            ("fieldsType", _GO_STRING),
            ("fieldsV1", _pointer_to(_GO_RAW)),
            ("subresource", _GO_STRING),
        ],
    )
    return [
        ("name", _GO_STRING),
        ("generateName", _GO_STRING),
        ("namespace", _GO_STRING),
        ("selfLink", _GO_STRING),
        ("uid", uid),
        ("resourceVersion", _GO_STRING),
        ("generation", _GO_INT64),
        ("creationTimestamp", _GO_TIME),
        ("deletionTimestamp", _pointer_to(_GO_TIME)),
        ("deletionGracePeriodSeconds", _pointer_to(_GO_INT64)),
        ("labels", string_map),
        ("annotations", string_map),
        ("ownerReferences", _slice_of(owner)),
        ("finalizers", _slice_of(_GO_STRING)),
        ("managedFields", _slice_of(managed)),
    ]


def _policy_type(package, inline_object_meta):
    """The Policy type of package ``v1`` (audit.k8s.io/v1) or ``audit`` (the internal version)."""
    strings = _slice_of(_GO_STRING)
    stages = _slice_of(_GoType("string", package + ".Stage"))
    group_resources = _struct(
        package, "GroupResources", [("group", _GO_STRING), ("resources", strings), ("resourceNames", strings)]
    )
    rule = _struct(
        package,
        "PolicyRule",
        [
            ("level", _GoType("string", package + ".Level")),
            ("users", strings),
            ("userGroups", strings),
            ("verbs", strings),
            ("resources", _slice_of(group_resources)),
            ("namespaces", strings),
            ("nonResourceURLs", strings),
            ("omitStages", stages),
            ("omitManagedFields", _pointer_to(_GO_BOOL)),
        ],
    )
    fields = [("apiVersion", _GO_STRING), ("kind", _GO_STRING)]
    if inline_object_meta:  # the internal type embeds ObjectMeta without a json name
        fields += _object_meta_fields()
    else:
        fields.append(("metadata", _struct("v1", "ObjectMeta", _object_meta_fields())))
    fields += [("rules", _slice_of(rule)), ("omitStages", stages), ("omitManagedFields", _GO_BOOL)]
    return _struct(package, "Policy", fields)


_V1_POLICY = _policy_type("v1", inline_object_meta=False)
_INTERNAL_POLICY = _policy_type("audit", inline_object_meta=True)
_ZERO = {"string": "", "bool": False, "int64": 0, "struct": {}}
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def _json_kind(value):
    if isinstance(value, _Object):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, _Number):
        return "number"
    return "null" if value is None else "string"


def _plain(value):
    """A JSON tree as plain Python values."""
    if isinstance(value, _Object):
        return {key: _plain(item) for key, item in value.pairs}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, _Number):
        return json.loads(value.text)
    return value


class _GoJsonDecoder:
    """sigs.k8s.io/json UnmarshalStrict into a typed value.

    ``type_error`` is the first type mismatch (it makes the decode fail); ``strict_errors`` are the
    unknown/duplicate field errors (deduplicated, at most 100), which only the strict decoder reports.
    The returned value is what the lenient decoder produces.
    """

    def __init__(self):
        self.type_error = None
        self.strict_errors = []
        self._field_stack = []
        self._struct_name = None
        self._strict_path = []

    def decode(self, value, go_type, current=None):
        kind = go_type.kind
        if kind == "ptr":
            return None if value is None else self.decode(value, go_type.elem, current)
        if kind == "raw":
            return _plain(value)
        if kind == "time":
            return self._time(value)
        if value is None:  # null resets slices and maps and leaves everything else alone
            return None if kind in ("slice", "map") else self._current(go_type, current)
        json_kind = _json_kind(value)
        if json_kind == "object" and kind == "struct":
            return self._struct(value, go_type, current)
        if json_kind == "object" and kind == "map":
            return self._map(value, go_type, current)
        if json_kind == "array" and kind == "slice":
            return self._slice(value, go_type)
        if json_kind == "bool" and kind == "bool":
            return value
        if json_kind == "string" and kind == "string":
            return value
        if json_kind == "number" and kind == "int64":
            number = value.text
            if re.match(r"^-?\d+$", number) and -(2**63) <= int(number) <= _INT64_MAX:
                return int(number)
            json_kind = "number " + number
        self._type_mismatch(json_kind, go_type)
        return self._current(go_type, current)

    @staticmethod
    def _current(go_type, current):
        if current is not None:
            return current
        return dict(_ZERO["struct"]) if go_type.kind == "struct" else _ZERO.get(go_type.kind)

    def _type_mismatch(self, json_kind, go_type):
        if self.type_error is None:
            self.type_error = self._type_error_text(json_kind, go_type.name)

    def _type_error_text(self, json_kind, type_name):
        if self._struct_name is None and not self._field_stack:
            return f"json: cannot unmarshal {json_kind} into Go value of type {type_name}"
        return "json: cannot unmarshal {} into Go struct field {}.{} of type {}".format(
            json_kind,
            self._struct_name or "",
            ".".join(self._field_stack),
            type_name,
        )

    def _time(self, value):
        # metav1.Time has its own UnmarshalJSON; its errors stop the decode at once.
        if value is None:
            return None
        if not isinstance(value, str):
            raise _DecodeFailure(self._type_error_text(_json_kind(value), "string"))
        if not _RFC3339.match(value):
            quoted = go_quote(value)
            raise _DecodeFailure(
                f'parsing time {quoted} as "2006-01-02T15:04:05Z07:00": cannot parse {quoted} as "2006"'
            )
        return value

    def _strict(self, kind, name):
        path = "".join(self._strict_path) + "." + name if self._strict_path else name
        message = f"{kind} field {go_quote(path)}"
        if len(self.strict_errors) < 100 and message not in self.strict_errors:
            self.strict_errors.append(message)

    def _enter(self, key):
        saved = (len(self._field_stack), self._struct_name, len(self._strict_path))
        self._strict_path.extend((".", key) if self._strict_path else (key,))
        return saved

    def _leave(self, saved):
        del self._field_stack[saved[0] :]
        self._struct_name = saved[1]
        del self._strict_path[saved[2] :]

    def _struct(self, obj, go_type, current):
        result = dict(current) if isinstance(current, dict) else {}
        seen = set()
        for key, value in obj.pairs:
            field_type = go_type.fields.get(key)  # exact match: kube decodes case-sensitively
            if field_type is None:
                self._strict("unknown", key)
                continue
            if key in seen:
                self._strict("duplicate", key)
            seen.add(key)
            saved = self._enter(key)
            self._field_stack.append(key)
            self._struct_name = go_type.struct_name
            result[key] = self.decode(value, field_type, result.get(key))
            self._leave(saved)
        return result

    def _map(self, obj, go_type, current):
        result = dict(current) if isinstance(current, dict) else {}
        seen = set()
        for key, value in obj.pairs:
            if key in seen:
                self._strict("duplicate", key)
            seen.add(key)
            saved = self._enter(key)
            result[key] = self.decode(value, go_type.elem)
            self._leave(saved)
        return result

    def _slice(self, items, go_type):
        result = []
        for index, item in enumerate(items):
            depth = len(self._strict_path)
            self._strict_path.extend(("[", str(index), "]"))
            result.append(self.decode(item, go_type.elem))
            del self._strict_path[depth:]
        return result


def _ordered(value, go_type):
    """A decoded value with struct fields in Go declaration order."""
    if go_type.kind == "ptr":
        return None if value is None else _ordered(value, go_type.elem)
    if go_type.kind == "struct" and isinstance(value, dict):
        return {key: _ordered(value[key], field) for key, field in go_type.fields.items() if key in value}
    if go_type.kind == "slice" and isinstance(value, list):
        return [_ordered(item, go_type.elem) for item in value]
    return value


# --------------------------------------------------------------------------------------------------
# LoadPolicyFromBytes / LoadPolicyFromFile
# --------------------------------------------------------------------------------------------------

_FIND_KIND_TYPE = (
    'struct { APIVersion string "json:\\"apiVersion,omitempty\\""; Kind string "json:\\"kind,omitempty\\"" }'
)
_INTERNAL_VERSION = "__internal"
# Kinds the audit scheme knows besides Policy: decoding succeeds, converting them into a Policy fails.
_OTHER_KINDS = {"Event": "Event", "EventList": "EventList", "PolicyList": "PolicyList"}
_META_KINDS = ("WatchEvent", "ListOptions", "GetOptions", "DeleteOptions", "CreateOptions", "UpdateOptions")
_META_KINDS += ("PatchOptions",)
_UNVERSIONED_KINDS = ("Status", "APIVersions", "APIGroupList", "APIGroup", "APIResourceList")


def _interpret(tree):
    """json SimpleMetaFactory.Interpret: (group, version, kind) from apiVersion and kind."""
    found = {"apiVersion": "", "kind": ""}
    if tree is not None and not isinstance(tree, _Object):
        raise _DecodeFailure(
            "couldn't get version/kind; json parse error: "
            f"json: cannot unmarshal {_json_kind(tree)} into Go value of type {_FIND_KIND_TYPE}"
        )
    first_error = None
    for key, value in tree.pairs if tree is not None else ():
        # encoding/json matches field names case-insensitively when there is no exact match.
        name = next((field for field in found if key == field or key.casefold() == field.casefold()), None)
        if name is None or value is None:
            continue
        if isinstance(value, str):
            found[name] = value
        elif first_error is None:
            first_error = f"json: cannot unmarshal {_json_kind(value)} into Go struct field .{name} of type string"
    if first_error is not None:
        raise _DecodeFailure("couldn't get version/kind; json parse error: " + first_error)
    api_version = found["apiVersion"]
    if api_version in ("", "/"):
        group, version = "", ""
    elif api_version.count("/") == 0:
        group, version = "", api_version
    elif api_version.count("/") == 1:
        group, version = api_version.split("/")
    else:
        raise _DecodeFailure("unexpected GroupVersion string: " + api_version)
    return group, version, found["kind"]


def _group_version(group, version):
    return group + "/" + version if group else version


def _target(group, version, kind, original):
    """(Go type, group, version, kind) the document decodes as, or the decode error.

    Missing parts come from the internal Policy the decode targets (gvkWithDefaults): no ``kind`` means
    Policy, no ``apiVersion`` means the internal version, which LoadPolicyFromBytes then rejects.
    """
    kind = kind or KIND
    if not version and group in ("", "audit.k8s.io"):
        group, version = "audit.k8s.io", _INTERNAL_VERSION
    if not version:
        raise _DecodeFailure(f"Object 'apiVersion' is missing in '{original}'")
    if kind == KIND and group == "audit.k8s.io" and version in ("v1", _INTERNAL_VERSION):
        return (_V1_POLICY if version == "v1" else _INTERNAL_POLICY), group, version, kind
    source = None
    if group == "audit.k8s.io" and version in ("v1", _INTERNAL_VERSION) and kind in _OTHER_KINDS:
        source = ("v1." if version == "v1" else "audit.") + kind
    elif (group in ("audit.k8s.io", "") and version == "v1" and kind in _META_KINDS) or kind in _UNVERSIONED_KINDS:
        source = "v1." + kind
    if source is not None:
        # Decoded as that kind, then converting it into the Policy fails (text of conversion.Converter).
        raise _DecodeFailure(f"converting ({source}) to (audit.Policy): unknown conversion")
    if version == _INTERNAL_VERSION:
        raise _DecodeFailure(
            f"no kind {go_quote(kind)} is registered for the internal version of group {go_quote(group)} "
            f"in scheme {go_quote(AUDIT_SCHEME_NAME)}"
        )
    raise _DecodeFailure(
        f"no kind {go_quote(kind)} is registered for version {go_quote(_group_version(group, version))} "
        f"in scheme {go_quote(AUDIT_SCHEME_NAME)}"
    )


def _decode(data):
    """The strict decode and its lenient fallback: (policy dict, group, version, kind, strict error or None)."""
    if _is_json_buffer(data):
        tree, yaml_strict_error = _json_document(data), None
    else:
        tree, yaml_strict_error = _yaml_document(_decode_yaml_bytes(data))
    group, version, kind = _interpret(tree)
    policy_type, group, version, kind = _target(group, version, kind, data.decode("utf-8", "replace"))
    decoder = _GoJsonDecoder()
    decoded = decoder.decode(tree, policy_type)
    if decoder.type_error is not None:
        raise _DecodeFailure(decoder.type_error)
    strict = ([yaml_strict_error] if yaml_strict_error else []) + decoder.strict_errors
    strict_error = "strict decoding error: " + ", ".join(strict) if strict else None
    return _ordered(decoded, policy_type), group, version, kind, strict_error


def load_policy(data):
    """LoadPolicyFromBytes: ``(policy, warnings)`` for a policy document (str or bytes).

    ``policy`` is the decoded Policy (unknown fields dropped, fields in Go order, ``apiVersion`` and
    ``kind`` set). ``warnings`` holds kube-apiserver's lenient-decoding warning when the document has
    unknown or duplicate fields. Raises ``PolicyError`` with kube-apiserver's message otherwise.
    """
    if not HAS_YAML:
        raise PolicyError("PyYAML is required to read audit policies")
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    try:
        decoded, group, version, kind, strict_error = _decode(raw)
    except _DecodeFailure as error:
        raise PolicyError(f"failed decoding: {error}") from None
    except RecursionError:
        raise PolicyError("failed decoding: the document is nested too deeply to be checked here") from None
    warnings = [LENIENT_DECODING_WARNING + strict_error] if strict_error else []
    if (group, version) != ("audit.k8s.io", "v1"):
        raise PolicyError(
            f"unknown group version field {group}/{version}, Kind={kind} in policy",
            warnings,
        )
    policy = {"apiVersion": API_VERSION, "kind": KIND}
    policy.update((key, value) for key, value in decoded.items() if key not in ("apiVersion", "kind"))
    errors = validate_policy(policy)
    if errors:
        raise PolicyError(aggregate_message(errors), warnings)
    if not policy.get("rules"):
        raise PolicyError("loaded illegal policy with 0 rules", warnings)
    return policy, warnings


def _go_path_error(error, path):
    """``%+v`` of the *PathError os.ReadFile returns."""
    reason = error.strerror or str(error)
    reason = reason[:1].lower() + reason[1:]
    operation = "read" if isinstance(error, IsADirectoryError) else "open"
    return f"{operation} {path}: {reason}"


def read_policy_file(path):
    """The bytes of a policy file, or ``PolicyError`` with LoadPolicyFromFile's read error."""
    if not path:
        raise PolicyError("file path not specified")
    try:
        with open(path, "rb") as stream:
            return stream.read()
    except OSError as error:
        raise PolicyError(f"failed to read file path {go_quote(path)}: {_go_path_error(error, path)}") from None


def load_policy_file(path):
    """LoadPolicyFromFile: like ``load_policy`` for a file; errors end with ``: from file <path>``."""
    data = read_policy_file(path)
    try:
        return load_policy(data)
    except PolicyError as error:
        raise PolicyError(f"{error.message}: from file {path}", error.warnings) from None


# --------------------------------------------------------------------------------------------------
# ValidatePolicy
# --------------------------------------------------------------------------------------------------

_DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_DNS1123_SUBDOMAIN_MESSAGE = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and "
    "must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
_ERROR_TYPES = {
    "FieldValueRequired": "Required value",
    "FieldValueNotSupported": "Unsupported value",
    "FieldValueInvalid": "Invalid value",
}


class FieldError:
    """A k8s.io/apimachinery field.Error; ``str()`` is its Error() text."""

    __slots__ = ("bad_value", "detail", "field", "type")

    def __init__(self, error_type, field, bad_value=None, detail=""):
        self.type = error_type
        self.field = field
        self.bad_value = bad_value
        self.detail = detail

    def __str__(self):
        body = _ERROR_TYPES[self.type]
        if self.type != "FieldValueRequired":
            value = self.bad_value
            if isinstance(value, str):
                body += ": " + go_quote(value)
            elif isinstance(value, (list, tuple)):
                body += ": " + _go_string_slice(value)
            else:
                body += ": " + ("null" if value is None else json.dumps(value))
        if self.detail:
            body += ": " + self.detail
        return f"{self.field}: {body}"

    def __repr__(self):
        return f"FieldError({str(self)!r})"


def _validate_omit_stages(stages, path):
    detail = "allowed stages are " + ",".join(STAGES)
    return [
        FieldError("FieldValueInvalid", f"{path}[{index}]", stage, detail)
        for index, stage in enumerate(stages or [])
        if stage not in STAGES
    ]


def _validate_rule(rule, path):
    errors = []
    level = rule.get("level") or ""
    if level == "":
        errors.append(FieldError("FieldValueRequired", path + ".level"))
    elif level not in LEVELS:
        detail = "supported values: " + ", ".join(go_quote(name) for name in LEVELS)
        errors.append(FieldError("FieldValueNotSupported", path + ".level", level, detail))
    urls = rule.get("nonResourceURLs") or []
    for index, url in enumerate(urls):
        if url == "*":
            continue
        url_path = f"{path}.nonResourceURLs[{index}]"
        if not url.startswith("/"):
            errors.append(
                FieldError("FieldValueInvalid", url_path, url, "non-resource URL rules must begin with a '/' character")
            )
        if url and "*" in url[:-1]:
            errors.append(
                FieldError(
                    "FieldValueInvalid",
                    url_path,
                    url,
                    "non-resource URL wildcards '*' must be the final character of the rule",
                )
            )
    for entry in rule.get("resources") or []:
        group_resources = entry or {}
        group = group_resources.get("group") or ""
        if group:
            messages = []
            if len(group.encode("utf-8")) > 253:
                messages.append("must be no more than 253 characters")
            if not _DNS1123_SUBDOMAIN.fullmatch(group):
                messages.append(_DNS1123_SUBDOMAIN_MESSAGE)
            if messages:
                errors.append(FieldError("FieldValueInvalid", path + ".resources.group", group, ",".join(messages)))
        names = group_resources.get("resourceNames") or []
        if names and not group_resources.get("resources"):
            errors.append(
                FieldError(
                    "FieldValueInvalid",
                    path + ".resources.resourceNames",
                    list(names),
                    "using resourceNames requires at least one resource",
                )
            )
    errors += _validate_omit_stages(rule.get("omitStages"), path + ".omitStages")
    if urls and (rule.get("resources") or rule.get("namespaces")):
        errors.append(
            FieldError(
                "FieldValueInvalid",
                path + ".nonResourceURLs",
                list(urls),
                "rules cannot apply to both regular resources and non-resource URLs",
            )
        )
    return errors


def validate_policy_errors(policy):
    """ValidatePolicy's field errors (``FieldError``), in kube-apiserver's order."""
    errors = _validate_omit_stages(policy.get("omitStages"), "omitStages")
    for index, rule in enumerate(policy.get("rules") or []):
        errors += _validate_rule(rule or {}, f"rules[{index}]")
    return errors


def validate_policy(policy):
    """ValidatePolicy's field errors as text, deduplicated as ErrorList.ToAggregate does; empty if valid."""
    messages = []
    for error in validate_policy_errors(policy):
        if str(error) not in messages:
            messages.append(str(error))
    return messages


# --------------------------------------------------------------------------------------------------
# Policy rule evaluation
# --------------------------------------------------------------------------------------------------


def normalize_request(request):
    """A request in the conformance shape with every key present.

    ``user`` defaults to None (no user information: rules naming users or groups do not match),
    strings to "", and ``resourceRequest`` to whether a ``resource`` is given.
    """
    request = dict(request or {})
    normalized = {key: request.get(key) or "" for key in REQUEST_KEYS if key not in ("user", "resourceRequest")}
    user = request.get("user")
    if user is not None:
        user = {"name": user.get("name") or "", "groups": list(user.get("groups") or [])}
    normalized["user"] = user
    resource_request = request.get("resourceRequest")
    normalized["resourceRequest"] = bool(normalized["resource"]) if resource_request is None else bool(resource_request)
    return normalized


def _path_matches(path, spec):
    return spec in ("*", path) or (spec.endswith("*") and path.startswith(spec.rstrip("*")))


def _rule_matches_resource(rule, request):
    if not request["resourceRequest"]:
        return False
    namespaces = rule.get("namespaces") or []
    if namespaces and request["namespace"] not in namespaces:  # "" is cluster scope
        return False
    resources = rule.get("resources") or []
    if not resources:
        return True
    resource, subresource = request["resource"], request["subresource"]
    combined = resource + "/" + subresource if subresource else resource
    for entry in resources:
        group_resources = entry or {}
        if (group_resources.get("group") or "") != request["apiGroup"]:
            continue
        names = group_resources.get("resourceNames") or []
        if not group_resources.get("resources"):
            return True
        for spec in group_resources["resources"]:
            if names and request["name"] not in names:
                continue
            if spec in (combined, "*"):
                return True
            if subresource and spec.startswith("*/") and subresource == spec[2:]:
                return True
            if spec.endswith("/*") and resource == spec[:-2]:
                return True
    return False


def _rule_matches(rule, request):
    user = request["user"]
    users = rule.get("users") or []
    if users and (user is None or user["name"] not in users):
        return False
    groups = rule.get("userGroups") or []
    if groups and (user is None or not any(group in groups for group in user["groups"])):
        return False
    verbs = rule.get("verbs") or []
    if verbs and request["verb"] not in verbs:
        return False
    if rule.get("namespaces") or rule.get("resources"):
        return _rule_matches_resource(rule, request)
    urls = rule.get("nonResourceURLs") or []
    if urls:
        return not request["resourceRequest"] and any(_path_matches(request["path"], spec) for spec in urls)
    return True


def evaluate_request(policy, request):
    """The audit configuration for one request: ``{level, omit_stages, omit_managed_fields}``.

    The first matching rule decides; its omitStages are the union of the policy's and the rule's.
    Without a match the level is None with the policy's omitStages.
    """
    request = normalize_request(request)
    policy_stages = set(policy.get("omitStages") or [])
    policy_omit_managed_fields = bool(policy.get("omitManagedFields"))
    for entry in policy.get("rules") or []:
        rule = entry or {}
        if _rule_matches(rule, request):
            omit_managed_fields = rule.get("omitManagedFields")
            return {
                "level": rule.get("level") or "",
                "omit_stages": sorted(policy_stages | set(rule.get("omitStages") or [])),
                "omit_managed_fields": policy_omit_managed_fields
                if omit_managed_fields is None
                else bool(omit_managed_fields),
            }
    return {
        "level": DEFAULT_LEVEL,
        "omit_stages": sorted(policy_stages),
        "omit_managed_fields": policy_omit_managed_fields,
    }


def evaluate(policy, request):
    """``(level, sorted omitStages)`` kube-apiserver applies to ``request``."""
    config = evaluate_request(policy, request)
    return config["level"], config["omit_stages"]


# --------------------------------------------------------------------------------------------------
# Canonical YAML
# --------------------------------------------------------------------------------------------------

_KEY_ORDERS = {
    "policy": ("apiVersion", "kind", "metadata", "omitStages", "omitManagedFields", "rules"),
    "rule": (
        "level",
        "users",
        "userGroups",
        "verbs",
        "resources",
        "namespaces",
        "nonResourceURLs",
        "omitStages",
        "omitManagedFields",
    ),
    "group_resources": ("group", "resources", "resourceNames"),
}
_ELEMENT_CONTEXT = {("policy", "rules"): "rule", ("rule", "resources"): "group_resources"}
_PLAIN_SAFE = re.compile(r"^[A-Za-z0-9_./][A-Za-z0-9_./*@:+=~-]*$")
_YAML_UNSAFE_CHARS = {0x2028, 0x2029, 0xFEFF, 0xFFFE, 0xFFFF}


def build_policy(rules, omit_stages=None):
    """A Policy document for ``rules`` (and policy-wide ``omit_stages``), ready for ``render_policy``."""
    document = {"apiVersion": API_VERSION, "kind": KIND}
    if omit_stages:
        document["omitStages"] = list(omit_stages)
    document["rules"] = list(rules)
    return document


def _double_quoted(text):
    out = ['"']
    for char in text:
        code = ord(char)
        if char in '"\\':
            out.append("\\" + char)
        elif char in "\n\t\r":
            out.append({"\n": "\\n", "\t": "\\t", "\r": "\\r"}[char])
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        elif 0x80 <= code <= 0x9F or 0xD800 <= code <= 0xDFFF or code in _YAML_UNSAFE_CHARS:
            out.append(f"\\u{code:04x}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def _plain_is_safe(text):
    """Whether ``text`` reads back as this same string, plain, in go-yaml v2 and in PyYAML."""
    if not _PLAIN_SAFE.match(text) or text.endswith(":") or text.startswith(("---", "...")):
        return False
    if _yaml_resolve_plain("", text)[0] != _STR:
        return False
    return not HAS_YAML or _PYYAML_RESOLVER.resolve(ScalarNode, text, (True, False)) == _STR


def _yaml_scalar(value):
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        return repr(value)
    text = str(value)
    return text if _plain_is_safe(text) else _double_quoted(text)


def _yaml_lines(value, indent, context):
    """Block-style lines for a non-empty dict or list at ``indent``."""
    pad = " " * indent
    lines = []
    if isinstance(value, dict):
        known = _KEY_ORDERS.get(context, ())
        keys = [key for key in known if key in value]
        keys += sorted((key for key in value if key not in known), key=str)
        for key in keys:
            item = value[key]
            head = pad + _yaml_scalar(key) + ":"
            if isinstance(item, (dict, list)) and item:
                lines.append(head)
                lines.extend(_yaml_lines(item, indent + 2, _ELEMENT_CONTEXT.get((context, key))))
            else:
                lines.append(head + " " + _yaml_inline(item))
        return lines
    for item in value:
        if isinstance(item, (dict, list)) and item:
            nested = _yaml_lines(item, indent + 2, context)
            lines.append(pad + "- " + nested[0][indent + 2 :])
            lines.extend(nested[1:])
        else:
            lines.append(pad + "- " + _yaml_inline(item))
    return lines


def _yaml_inline(value):
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    return _yaml_scalar(value)


def render_policy(document):
    """Canonical YAML text of a policy document: block style, two-space indents, known keys in order.

    Deterministic for a given document. Strings are plain only when go-yaml v2 and PyYAML both read
    them back as the same string; otherwise they are double-quoted. Unknown keys are kept (sorted) so
    that kube-apiserver's checks see exactly what was given.
    """
    return "\n".join(_yaml_lines(document, 0, "policy")) + "\n"


def checksum(content):
    """sha256 hex digest of ``content`` (text is encoded as UTF-8)."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    return hashlib.sha256(data).hexdigest()

# Copyright: (c) 2026, NNF kube_audit maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""YAML as the kubelet and kube-apiserver read it: sigs.k8s.io/yaml over go-yaml v2 (YAML 1.1).

Where YAML 1.1 and 1.2 disagree, Kubernetes reads 1.1: a plain ``yes``, ``on``, ``off``, ``y`` or ``n`` is a
boolean, ``0755`` an octal number, ``1_000`` a thousand. A static-pod manifest whose string field reads as a
boolean does not decode, and the kubelet drops the pod; an audit policy that does not decode stops kube-apiserver.
This module is the collection's one go-yaml v2 decoder, used by the audit policy engine (``audit_policy``) and the
code that reads and writes static-pod manifests:

* ``plain_scalar_is_string(text)``: would go-yaml v2 read ``text``, written as a plain (unquoted) scalar, back as the
  same string?
* ``load(text)``: the first document of ``text`` as the kubelet reads it, in plain Python (dicts with string keys,
  lists, str, int, float, bool, None), or ``YamlError`` with the decoder's message.

The decoder follows the real chain: sigs.k8s.io/yaml converts YAML to JSON with go-yaml v2 (only the first
document is read, keys are sorted). PyYAML supplies the YAML 1.1 tokenizer only; resolution of plain scalars,
aliases, merge keys and duplicate detection are go-yaml v2's, written here. ``_yaml_document(text)`` gives the JSON
tree (``_Object``, ``_Number``, lists, str, bool, None) and the strict decode's error, and ``_decode_yaml_bytes(data)``
reads bytes as go-yaml's reader does: UTF-16LE or UTF-16BE after their byte order mark, else UTF-8 (its BOM dropped),
with the first encoding error or disallowed character reported in the reader's words. Both raise ``_DecodeFailure``
with the decoder's message.

Known approximations: YAML syntax errors keep go-yaml's line rule and use libyaml's wording for the common problems,
falling back to PyYAML's wording for rare ones.
"""

import base64
import decimal
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


from ansible_collections.nnf.kube_audit.plugins.module_utils._goyaml_scalars import (
    _BINARY,
    _INT64_MAX,
    _MERGE,
    _STR,
    _TIMESTAMP,
    _DecodeFailure,
    _GoMap,
    _Number,
    _Object,
    _yaml_resolve,
    _yaml_resolve_plain,
)


class YamlError(ValueError):
    """The text does not decode as go-yaml v2 decodes it; the message is the decoder's."""


# --------------------------------------------------------------------------------------------------
# Go formatting (the texts go-yaml's errors print)
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


# --------------------------------------------------------------------------------------------------
# YAML, as sigs.k8s.io/yaml.YAMLToJSON reads it with go-yaml v2 (its scalars: _goyaml_scalars)
# --------------------------------------------------------------------------------------------------


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


def _pyyaml_plain_tag(text):
    """The tag PyYAML's own (YAML 1.1) resolver gives a plain scalar ``text``; needs PyYAML."""
    return _PYYAML_RESOLVER.resolve(ScalarNode, text, (True, False))


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


# --------------------------------------------------------------------------------------------------
# go-yaml's reader: the input's encoding and the characters YAML allows
# --------------------------------------------------------------------------------------------------

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


# --------------------------------------------------------------------------------------------------
# Plain Python values
# --------------------------------------------------------------------------------------------------


def plain_scalar_is_string(text):
    """True when a plain scalar ``text`` resolves to the string ``text`` under go-yaml v2's rules."""
    tag, value = _yaml_resolve_plain("", text)
    return tag == _STR and value == text


def _plain(value):
    """A JSON tree as plain Python values."""
    if isinstance(value, _Object):
        return {key: _plain(item) for key, item in value.pairs}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, _Number):
        return json.loads(value.text)
    return value


def load(text):
    """The first YAML document of ``text``, decoded as sigs.k8s.io/yaml.YAMLToJSON decodes it.

    The decoder uses PyYAML's tokenizer; where PyYAML is missing (a bare master) this raises YamlError, and callers
    treat the text as unreadable rather than fail with a traceback.
    """
    if not HAS_YAML:
        raise YamlError("the PyYAML library is needed to read YAML as the kubelet does")
    try:
        tree, _strict_error = _yaml_document(text)
    except _DecodeFailure as exc:
        raise YamlError(str(exc)) from None
    return _plain(tree)

# Copyright: (c) 2026, NNF kube_audit maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""How go-yaml v2 resolves plain scalars and numbers (YAML 1.1), with the standard library only.

The part of the go-yaml v2 decoder (``_goyaml``) that needs no YAML parser: tags, the plain-scalar resolver, Go's
number parsing, and the decoded value types. Standard library only, so the masters' stdlib-only readers (the
kubeconfig reader) share it without importing PyYAML.
"""

import math
import re

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
    if len(text.lstrip("0")) > 64:  # out of range in any base (and beyond Python's int-from-text digit limit)
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

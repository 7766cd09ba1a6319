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
``unknown field``/``duplicate field`` strict errors with their paths). The YAML side (go-yaml v2 over
PyYAML's YAML 1.1 tokenizer: resolution of plain scalars, aliases, merge keys and duplicate detection) is
the collection's one go-yaml decoder, ``_goyaml``; the JSON side and the typed decode are written here.

Policies are plain dicts with the JSON field names (``rules``, ``omitStages``, ``level``, ``userGroups``,
``nonResourceURLs``...), as in the conformance files under tests/conformance.

The bytes are read as go-yaml's reader (``_goyaml``) reads them: UTF-16LE or UTF-16BE after their byte order
mark, else UTF-8 (its BOM dropped); the first encoding error or disallowed character is reported in the reader's
words (``yaml: invalid trailing UTF-8 octet``, ``yaml: incomplete UTF-16 character``, ``yaml: control characters
are not allowed``...). ``policy_text()`` gives the text for display, in the encoding used.

Known approximations (texts that could not be confirmed against kube-apiserver): YAML syntax errors keep
go-yaml's line rule and use libyaml's wording for the common problems, falling back to PyYAML's wording
for rare ones; ``metadata.creationTimestamp`` parse failures; decoding a registered kind other than
``Policy`` (Event, PolicyList...). The whole input is checked for encoding errors before it is parsed, while
go-yaml reads only as far as its first document needs: a file with both a syntax error and, further on, an
encoding error gets the encoding error's message, and an encoding error well past the first document is
refused although kube-apiserver might not read that far.
"""

import json
import math
import re

from ansible_collections.nnf.kube_audit.plugins.module_utils import _defaults, _errors
from ansible_collections.nnf.kube_audit.plugins.module_utils._fileops import sha256_hex
from ansible_collections.nnf.kube_audit.plugins.plugin_utils._goyaml import (
    _INT64_MAX,
    _STR,
    HAS_YAML,
    _decode_yaml_bytes,
    _DecodeFailure,
    _Number,
    _Object,
    _plain,
    _pyyaml_plain_tag,
    _yaml_document,
    _yaml_encoding,
    _yaml_resolve_plain,
    go_quote,
)

API_VERSION = "audit.k8s.io/v1"
KIND = "Policy"
LEVELS = _defaults.AUDIT_LEVELS
STAGES = _defaults.AUDIT_STAGES
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


class PolicyError(_errors.KubeAuditError):
    """The policy would make kube-apiserver exit; ``message`` is kube-apiserver's error text.

    ``warnings`` holds what kube-apiserver logged before failing (the lenient-decoding warning). ``result``
    (``KubeAuditError``'s) carries the return values a failed task reports with the message.
    """

    def __init__(self, message, warnings=(), result=None):
        super().__init__(message, result)
        self.message = message
        self.warnings = list(warnings)


def apiserver_error_message(message):
    """The text kube-apiserver exits with for a LoadPolicyFromFile error ``message``."""
    return APISERVER_ERROR_PREFIX + message


# --------------------------------------------------------------------------------------------------
# Go formatting (``go_quote`` is shared with the YAML decoder and lives in ``_goyaml``)
# --------------------------------------------------------------------------------------------------


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
# The policy's bytes as text
# --------------------------------------------------------------------------------------------------


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
    return not HAS_YAML or _pyyaml_plain_tag(text) == _STR


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
    return sha256_hex(content.encode("utf-8") if isinstance(content, str) else content)

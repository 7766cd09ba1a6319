"""The kube-apiserver stand-in's audit policy: read, checked and evaluated as k8s.io/apiserver 1.29-1.32 does.

Written from upstream, independently of the collection's ``plugins/module_utils/audit_policy.py``: the stand-in
judges what the collection ships, so it must not borrow the collection's code to decide what is right
(``tests/unit/testhosts/test_standin_audit_policy.py`` checks that it does not, and checks it against
kube-apiserver's own cases in ``tests/conformance/``).

``load_policy(data)`` follows ``policy.LoadPolicyFromBytes`` (pkg/audit/policy/reader.go):

* a strict decode first; its strict errors (unknown or duplicate fields) only warn, ``Audit policy contains errors,
  falling back to lenient decoding: strict decoding error: ...``, and the lenient decode goes on; any other decoding
  error fails: ``failed decoding: ...``. JSON when the data starts with ``{``, else YAML (first document only);
  apiVersion and kind are found like ``SimpleMetaFactory.Interpret`` and defaulted from the internal Policy the
  reader decodes into (no kind: Policy; no apiVersion: the internal version, which the reader then refuses);
* the audit scheme registers audit.k8s.io/v1 only since 1.24 (v1alpha1 and v1beta1 are "not registered");
* ``validation.ValidatePolicy`` (pkg/apis/audit/validation) as ``ErrorList.ToAggregate``, then
  ``loaded illegal policy with 0 rules``.

``Policy.evaluate(attributes)`` follows ``NewPolicyRuleEvaluator(policy).EvaluatePolicyRule``
(pkg/audit/policy/checker.go): the policy's omitStages are added to every rule's, the first matching rule gives
level and omitted stages, no match gives level None with the policy's omitStages. ``attributes`` has the shape of
``tests/conformance/policy-evaluation.jsonl`` requests (``requestinfo.policy_request`` builds it).

Not modelled: types inside ``metadata`` (only its field names are checked), type errors in a document decoded as the
internal version (it is refused anyway), omitManagedFields beyond its type (the stand-in writes no bodies with
managed fields). Syntax errors fail as upstream's do but say what PyYAML or Python's json say, not go-yaml or
encoding/json; a duplicate JSON key is named without its path.
"""

from __future__ import annotations

import json
import re
from typing import Dict, List, Optional, Sequence, Tuple

import yaml

GROUP = "audit.k8s.io"
VERSION = "v1"
INTERNAL_VERSION = "__internal"
SCHEME = '"k8s.io/apiserver/pkg/audit/scheme.go:30"'
REGISTERED_KINDS = ("Event", "EventList", "Policy", "PolicyList")  # audit.k8s.io/v1 in the audit scheme

LEVELS = ("None", "Metadata", "Request", "RequestResponse")
STAGES = ("RequestReceived", "ResponseStarted", "ResponseComplete", "Panic")
LEVEL_NONE = "None"

FIND_KIND = 'struct { APIVersion string "json:\\"apiVersion,omitempty\\""; Kind string "json:\\"kind,omitempty\\"" }'
DNS1123_SUBDOMAIN_FMT = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
DNS1123_SUBDOMAIN_MESSAGE = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start "
    "and end with an alphanumeric character"
)
DNS1123_SUBDOMAIN_MAX_LENGTH = 253
_DNS1123_SUBDOMAIN = re.compile(DNS1123_SUBDOMAIN_FMT)

_OBJECT_META_FIELDS = (
    "name",
    "generateName",
    "namespace",
    "selfLink",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "labels",
    "annotations",
    "ownerReferences",
    "finalizers",
    "managedFields",
)


class PolicyLoadError(Exception):
    """LoadPolicyFromBytes failed; ``warnings`` are what klog had already printed (lenient decoding)."""

    def __init__(self, message: str, warnings: Sequence[str] = ()):
        super().__init__(message)
        self.message = message
        self.warnings = list(warnings)


# --------------------------------------------------------------------------------------------------- Go text


def go_quote(text: str) -> str:
    """Go's ``%q`` of a string (strconv.Quote): printable runes as they are, the rest escaped."""
    named = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}
    out = ['"']
    for char in text:
        code = ord(char)
        if char in ('"', "\\"):
            out.append("\\" + char)
        elif char in named:
            out.append(named[char])
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        elif char.isprintable():  # unicode.IsPrint: letters, marks, numbers, punctuation, symbols, ASCII space
            out.append(char)
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    out.append('"')
    return "".join(out)


def _go_string_slice(values: Sequence[str]) -> str:
    """Go's ``%#v`` of a []string."""
    return "[]string{" + ", ".join(go_quote(value) for value in values) + "}"


def aggregate(messages: Sequence[str]) -> str:
    """utilerrors.NewAggregate(errs).Error(): one message bare, several in brackets, repeats once."""
    unique = list(dict.fromkeys(messages))
    return unique[0] if len(unique) == 1 else "[" + ", ".join(unique) + "]"


class FieldError:
    """A field.Error of k8s.io/apimachinery/pkg/util/validation/field."""

    def __init__(self, field: str, kind: str, value=None, detail: str = ""):
        self.field = field
        self.kind = kind  # "Required value", "Unsupported value" or "Invalid value"
        self.value = value
        self.detail = detail

    def __str__(self) -> str:
        body = self.kind
        if self.kind != "Required value":
            shown = _go_string_slice(self.value) if isinstance(self.value, list) else go_quote(self.value)
            body += f": {shown}"
        if self.detail:
            body += f": {self.detail}"
        return f"{self.field}: {body}"


# --------------------------------------------------------------------------------------------------- reading


class _YamlLoader(yaml.SafeLoader):
    """PyYAML's safe loader, told what go-yaml v2 does differently: timestamps stay strings, duplicates are noted."""

    def __init__(self, stream):
        super().__init__(stream)
        self.duplicates: List[str] = []

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen = set()
            for key_node, _value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    if key in seen:
                        self.duplicates.append(
                            f"line {key_node.start_mark.line + 1}: key {go_quote(str(key))} already set in map"
                        )
                    seen.add(key)
                except TypeError:
                    continue
        return super().construct_mapping(node, deep=deep)


_YamlLoader.add_constructor("tag:yaml.org,2002:timestamp", yaml.SafeLoader.construct_yaml_str)


def _json_key(key) -> str:
    if isinstance(key, bool):
        return "true" if key else "false"
    return "null" if key is None else str(key)


def _json_value(value):
    """The YAML value as the JSON document sigs.k8s.io/yaml would make of it (keys are strings)."""
    if isinstance(value, dict):
        return {_json_key(key): _json_value(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_value(item) for item in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, (set, frozenset)):
        return {_json_key(key): None for key in value}
    return value


def _parse(data: bytes) -> Tuple[object, List[str], List[str], str]:
    """(document, YAMLToJSONStrict's errors, duplicate JSON keys, original text); PolicyLoadError for bad syntax."""
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    if text.lstrip(" \t\r\n").startswith("{"):  # the JSON serializer recognises the data, no YAML conversion
        duplicates: List[str] = []

        def pairs(items):
            keys = [key for key, _value in items]
            duplicates.extend(f"duplicate field {go_quote(key)}" for key in keys if keys.count(key) > 1)
            return dict(items)

        try:
            return json.loads(text, object_pairs_hook=pairs), [], list(dict.fromkeys(duplicates)), text
        except ValueError as exc:
            raise PolicyLoadError(
                f"failed decoding: couldn't get version/kind; json parse error: {getattr(exc, 'msg', exc)}"
            ) from exc
    loader = _YamlLoader(text)
    try:
        document = loader.get_data() if loader.check_data() else None  # the first document, as yaml.Unmarshal
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 0
        raise PolicyLoadError(f"failed decoding: yaml: line {line}: {exc.problem}") from exc
    except yaml.YAMLError as exc:
        raise PolicyLoadError(f"failed decoding: yaml: {exc}") from exc
    finally:
        loader.dispose()
    strict = []
    if loader.duplicates:
        strict.append("yaml: unmarshal errors:\n  " + "\n  ".join(loader.duplicates))  # YAMLToJSONStrict
    return _json_value(document), strict, [], text


def _json_kind(value) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "string"


def _find_kind(document, original: str) -> Tuple[str, str, str]:
    """(group, version, kind) as SimpleMetaFactory.Interpret finds them (encoding/json: keys match in any case)."""
    found = {"apiversion": "", "kind": ""}
    if document is not None and not isinstance(document, dict):
        raise PolicyLoadError(
            "failed decoding: couldn't get version/kind; json parse error: json: cannot unmarshal "
            f"{_json_kind(document)} into Go value of type {FIND_KIND}"
        )
    for key, value in (document or {}).items():
        name = key.lower()
        if name not in found or value is None:
            continue
        if not isinstance(value, str):
            raise PolicyLoadError(
                "failed decoding: couldn't get version/kind; json parse error: json: cannot unmarshal "
                f"{_json_kind(value)} into Go struct field .{'apiVersion' if name == 'apiversion' else 'kind'} "
                "of type string"
            )
        found[name] = value
    api_version, kind = found["apiversion"], found["kind"]
    if api_version.count("/") > 1:
        raise PolicyLoadError(f"failed decoding: unexpected GroupVersion string: {api_version}")
    group, _slash, version = api_version.rpartition("/")
    # defaults from the object decoded into, the internal Policy (gvkWithDefaults)
    kind = kind or "Policy"
    if not group and not version:
        group, version = GROUP, INTERNAL_VERSION
    elif not version and group == GROUP:
        version = INTERNAL_VERSION
    if not version:
        raise PolicyLoadError(f"failed decoding: Object 'apiVersion' is missing in '{original}'")
    return group, version, kind


class _Decoder:
    """json.Unmarshal into audit/v1 Policy, case-sensitive: the first type error, and every unknown field."""

    STRINGS = "[]string"

    def __init__(self):
        self.type_error: Optional[str] = None
        self.unknown: List[str] = []

    def _mistyped(self, value, struct: str, where: str, go_type: str) -> None:
        if self.type_error is None:
            self.type_error = (
                f"json: cannot unmarshal {_json_kind(value)} into Go struct field {struct}.{where} of type {go_type}"
            )

    def _unknown(self, path: str) -> None:
        self.unknown.append(f"unknown field {go_quote(path)}")

    def strings(self, value, struct: str, where: str, go_type: str, elem_type: str) -> List[str]:
        if value is None:
            return []
        if not isinstance(value, list):
            self._mistyped(value, struct, where, go_type)
            return []
        out = []
        for item in value:
            if item is None:
                out.append("")
            elif isinstance(item, str):
                out.append(item)
            else:
                self._mistyped(item, struct, where, elem_type)
        return out

    def string(self, value, struct: str, where: str, go_type: str) -> str:
        if value is None:
            return ""
        if not isinstance(value, str):
            self._mistyped(value, struct, where, go_type)
            return ""
        return value

    def boolean(self, value, struct: str, where: str) -> Optional[bool]:
        if value is None or isinstance(value, bool):
            return value
        self._mistyped(value, struct, where, "bool")
        return None

    def structs(self, value, struct: str, where: str, *, types: Tuple[str, str], path: str, decode) -> List[Dict]:
        if value is None:
            return []
        if not isinstance(value, list):
            self._mistyped(value, struct, where, types[0])
            return []
        out = []
        for index, raw in enumerate(value):
            item = {} if raw is None else raw  # null is the zero value
            if not isinstance(item, dict):
                self._mistyped(item, struct, where, types[1])
                continue
            out.append(decode(item, f"{path}[{index}]", where))
        return out

    def group_resources(self, value: Dict, path: str, where: str) -> Dict:
        struct = "GroupResources"
        for key in value:
            if key not in ("group", "resources", "resourceNames"):
                self._unknown(f"{path}.{key}")
        return {
            "group": self.string(value.get("group"), struct, f"{where}.group", "string"),
            "resources": self.strings(value.get("resources"), struct, f"{where}.resources", self.STRINGS, "string"),
            "resourceNames": self.strings(
                value.get("resourceNames"), struct, f"{where}.resourceNames", self.STRINGS, "string"
            ),
        }

    def rule(self, value: Dict, path: str, where: str) -> Dict:
        struct = "PolicyRule"
        lists = ("users", "userGroups", "verbs", "namespaces", "nonResourceURLs")
        for key in value:
            if key not in (*lists, "level", "resources", "omitStages", "omitManagedFields"):
                self._unknown(f"{path}.{key}")
        rule = {"level": self.string(value.get("level"), struct, f"{where}.level", "v1.Level")}
        for key in lists:
            rule[key] = self.strings(value.get(key), struct, f"{where}.{key}", self.STRINGS, "string")
        rule["resources"] = self.structs(
            value.get("resources"),
            struct,
            f"{where}.resources",
            types=("[]v1.GroupResources", "v1.GroupResources"),
            path=f"{path}.resources",
            decode=self.group_resources,
        )
        rule["omitStages"] = self.strings(
            value.get("omitStages"), struct, f"{where}.omitStages", "[]v1.Stage", "v1.Stage"
        )
        rule["omitManagedFields"] = self.boolean(value.get("omitManagedFields"), struct, f"{where}.omitManagedFields")
        return rule

    def policy(self, value: Dict) -> Dict:
        struct = "Policy"
        for key in value:
            if key not in ("apiVersion", "kind", "metadata", "rules", "omitStages", "omitManagedFields"):
                self._unknown(key)
        metadata = value.get("metadata")
        if metadata is not None and not isinstance(metadata, dict):
            self._mistyped(metadata, struct, "metadata", "v1.ObjectMeta")
        for key in metadata if isinstance(metadata, dict) else ():
            if key not in _OBJECT_META_FIELDS:
                self._unknown(f"metadata.{key}")
        return {
            "rules": self.structs(
                value.get("rules"),
                struct,
                "rules",
                types=("[]v1.PolicyRule", "v1.PolicyRule"),
                path="rules",
                decode=self.rule,
            ),
            "omitStages": self.strings(value.get("omitStages"), struct, "omitStages", "[]v1.Stage", "v1.Stage"),
            "omitManagedFields": self.boolean(value.get("omitManagedFields"), struct, "omitManagedFields"),
        }

    def internal_policy(self, value: Dict) -> Dict:
        """The internal Policy has Go field names and no json tags: only TypeMeta and ObjectMeta keys are known."""
        for key in value:
            if key not in ("apiVersion", "kind", "Rules", "OmitStages", *_OBJECT_META_FIELDS):
                self._unknown(key)
        return {"rules": [], "omitStages": [], "omitManagedFields": None}


def _decode(data) -> Tuple[Dict, str, List[str]]:
    """(policy, "group/version", warnings); raises PolicyLoadError like the strict-then-lenient decoding."""
    document, strict, duplicates, original = _parse(data)
    group, version, kind = _find_kind(document, original)
    decoder = _Decoder()
    if (group, version) == (GROUP, INTERNAL_VERSION):
        if kind != "Policy":
            raise PolicyLoadError(
                f"failed decoding: no kind {go_quote(kind)} is registered for the internal version of group "
                f'"{GROUP}" in scheme {SCHEME}'
            )
        policy = decoder.internal_policy(document or {})
    elif (group, version) == (GROUP, VERSION) and kind in REGISTERED_KINDS:
        if kind != "Policy":
            raise PolicyLoadError(f"failed decoding: converting (v1.{kind}) to (audit.Policy): unknown conversion")
        policy = decoder.policy(document or {})
    else:
        api_version = f"{group}/{version}" if group else version
        raise PolicyLoadError(
            f"failed decoding: no kind {go_quote(kind)} is registered for version {go_quote(api_version)} "
            f"in scheme {SCHEME}"
        )
    if decoder.type_error:
        raise PolicyLoadError(f"failed decoding: {decoder.type_error}")
    warnings = []
    strict += decoder.unknown + duplicates  # YAMLToJSONStrict's first, then kjson.UnmarshalStrict's
    if strict:
        warnings.append(
            "Audit policy contains errors, falling back to lenient decoding: strict decoding error: "
            + ", ".join(strict)
        )
    return policy, f"{group}/{version}", warnings


# --------------------------------------------------------------------------------------------------- validation


def _validate_omit_stages(stages: List[str], path: str) -> List[FieldError]:
    return [
        FieldError(f"{path}[{index}]", "Invalid value", stage, "allowed stages are " + ",".join(STAGES))
        for index, stage in enumerate(stages)
        if stage not in STAGES
    ]


def _validate_level(level: str, path: str) -> List[FieldError]:
    if level in LEVELS:
        return []
    if level == "":
        return [FieldError(path, "Required value")]
    return [FieldError(path, "Unsupported value", level, "supported values: " + ", ".join(map(go_quote, LEVELS)))]


def _validate_non_resource_urls(urls: List[str], path: str) -> List[FieldError]:
    errors = []
    for index, url in enumerate(urls):
        if url == "*":
            continue
        if not url.startswith("/"):
            errors.append(
                FieldError(
                    f"{path}[{index}]", "Invalid value", url, "non-resource URL rules must begin with a '/' character"
                )
            )
        if url and "*" in url[:-1]:
            errors.append(
                FieldError(
                    f"{path}[{index}]",
                    "Invalid value",
                    url,
                    "non-resource URL wildcards '*' must be the final character of the rule",
                )
            )
    return errors


def _is_dns1123_subdomain(value: str) -> List[str]:
    messages = []
    if len(value) > DNS1123_SUBDOMAIN_MAX_LENGTH:
        messages.append(f"must be no more than {DNS1123_SUBDOMAIN_MAX_LENGTH} characters")
    if not _DNS1123_SUBDOMAIN.fullmatch(value):
        messages.append(
            f"{DNS1123_SUBDOMAIN_MESSAGE} (e.g. 'example.com', regex used for validation is '{DNS1123_SUBDOMAIN_FMT}')"
        )
    return messages


def _validate_resources(group_resources: List[Dict], path: str) -> List[FieldError]:
    errors = []
    for group_resource in group_resources:
        group = group_resource.get("group") or ""
        if group:  # "" is the core group
            messages = _is_dns1123_subdomain(group)
            if messages:
                errors.append(FieldError(f"{path}.group", "Invalid value", group, ",".join(messages)))
        if group_resource.get("resourceNames") and not group_resource.get("resources"):
            errors.append(
                FieldError(
                    f"{path}.resourceNames",
                    "Invalid value",
                    group_resource["resourceNames"],
                    "using resourceNames requires at least one resource",
                )
            )
    return errors


def validate(policy: Dict) -> List[FieldError]:
    """validation.ValidatePolicy: the policy's omitStages, then each rule's level, URLs, resources, omitStages."""
    errors = _validate_omit_stages(policy.get("omitStages") or [], "omitStages")
    for index, rule in enumerate(policy.get("rules") or []):
        path = f"rules[{index}]"
        errors += _validate_level(rule.get("level") or "", f"{path}.level")
        errors += _validate_non_resource_urls(rule.get("nonResourceURLs") or [], f"{path}.nonResourceURLs")
        errors += _validate_resources(rule.get("resources") or [], f"{path}.resources")
        errors += _validate_omit_stages(rule.get("omitStages") or [], f"{path}.omitStages")
        if rule.get("nonResourceURLs") and (rule.get("resources") or rule.get("namespaces")):
            errors.append(
                FieldError(
                    f"{path}.nonResourceURLs",
                    "Invalid value",
                    rule["nonResourceURLs"],
                    "rules cannot apply to both regular resources and non-resource URLs",
                )
            )
    return errors


# --------------------------------------------------------------------------------------------------- evaluation


def _union(*stage_lists: Sequence[str]) -> List[str]:
    return list(dict.fromkeys(stage for stages in stage_lists for stage in stages))


def _path_matches(path: str, spec: str) -> bool:
    if spec in ("*", path):
        return True
    return spec.endswith("*") and path.startswith(spec.rstrip("*"))


def _resource_matches(rule: Dict, attributes: Dict) -> bool:
    if not attributes.get("resourceRequest"):
        return False
    namespaces = rule.get("namespaces") or []
    if namespaces and (attributes.get("namespace") or "") not in namespaces:  # cluster-scoped: ""
        return False
    if not rule.get("resources"):
        return True
    resource = attributes.get("resource") or ""
    subresource = attributes.get("subresource") or ""
    combined = f"{resource}/{subresource}" if subresource else resource
    name = attributes.get("name") or ""
    for group_resources in rule["resources"]:
        if group_resources.get("group", "") != (attributes.get("apiGroup") or ""):
            continue
        if not group_resources.get("resources"):
            return True
        names = group_resources.get("resourceNames") or []
        if names and name not in names:
            continue
        for spec in group_resources["resources"]:
            if spec in ("*", combined):
                return True
            if subresource and spec.startswith("*/") and spec[2:] == subresource:
                return True
            if spec.endswith("/*") and spec[:-2] == resource:
                return True
    return False


def rule_matches(rule: Dict, attributes: Dict) -> bool:
    """checker.go ruleMatches: users, groups and verbs narrow; then resources/namespaces, or non-resource URLs."""
    user = attributes.get("user")
    if rule.get("users") and (user is None or user.get("name", "") not in rule["users"]):
        return False
    groups = rule.get("userGroups")
    if groups and (user is None or not any(group in groups for group in user.get("groups") or [])):
        return False
    if rule.get("verbs") and attributes.get("verb", "") not in rule["verbs"]:
        return False
    if rule.get("namespaces") or rule.get("resources"):
        return _resource_matches(rule, attributes)
    if rule.get("nonResourceURLs"):
        if attributes.get("resourceRequest"):
            return False
        return any(_path_matches(attributes.get("path") or "", spec) for spec in rule["nonResourceURLs"])
    return True


class Policy:
    """A loaded policy as NewPolicyRuleEvaluator keeps it: every rule's omitStages joined with the policy's."""

    def __init__(self, policy: Dict, group_version: str = f"{GROUP}/{VERSION}"):
        self.group_version = group_version
        self.omit_stages = list(policy.get("omitStages") or [])
        self.rules = [
            {**rule, "omitStages": _union(self.omit_stages, rule.get("omitStages") or [])}
            for rule in policy.get("rules") or []
        ]

    def evaluate(self, attributes: Dict) -> Tuple[str, List[str]]:
        """EvaluatePolicyRule: (level, omitted stages) of the first matching rule, else (None, policy's stages)."""
        for rule in self.rules:
            if rule_matches(rule, attributes):
                return rule["level"], list(rule["omitStages"])
        return LEVEL_NONE, list(self.omit_stages)


def load_policy(data) -> Tuple[Policy, List[str]]:
    """LoadPolicyFromBytes: (policy, warnings klog printed); raises PolicyLoadError with kube-apiserver's message."""
    decoded, group_version, warnings = _decode(data)
    if group_version != f"{GROUP}/{VERSION}":
        raise PolicyLoadError(f"unknown group version field {group_version}, Kind=Policy in policy", warnings)
    errors = validate(decoded)
    if errors:
        raise PolicyLoadError(aggregate([str(error) for error in errors]), warnings)
    if not decoded["rules"]:
        raise PolicyLoadError("loaded illegal policy with 0 rules", warnings)
    return Policy(decoded, group_version), warnings

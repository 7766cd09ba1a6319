"""audit_policy: kube-apiserver's audit policy loading, validation and evaluation.

The conformance files are kube-apiserver's own test cases; every line must pass. The other expected
texts are kube-apiserver's (see the module docstring for their sources).
"""

import hashlib
import json
from pathlib import Path

import pytest

from ansible_collections.nnf.kube_audit.plugins.module_utils import _errors
from ansible_collections.nnf.kube_audit.plugins.plugin_utils import audit_policy as ap

TESTS = Path(__file__).resolve().parents[3]
CONFORMANCE = TESTS / "conformance"
POLICIES = sorted((TESTS / "fixtures" / "policies").glob("*.yaml"))
HEAD = "apiVersion: audit.k8s.io/v1\nkind: Policy\n"
LENIENT = "Audit policy contains errors, falling back to lenient decoding: strict decoding error: "
SCHEME = '"k8s.io/apiserver/pkg/audit/scheme.go:30"'
STAGES_DETAIL = "allowed stages are RequestReceived,ResponseStarted,ResponseComplete,Panic"
FIND_KIND = 'struct { APIVersion string "json:\\"apiVersion,omitempty\\""; Kind string "json:\\"kind,omitempty\\"" }'


def conformance(name):
    cases = [json.loads(line) for line in (CONFORMANCE / name).read_text().splitlines() if line.strip()]
    return pytest.mark.parametrize("case", cases, ids=[case["name"] for case in cases])


def load_error(text):
    with pytest.raises(ap.PolicyError) as raised:
        ap.load_policy(text)
    return raised.value


# --- kube-apiserver's own cases ------------------------------------------------------------------


@conformance("policy-validation.jsonl")
def test_validation_conformance(case):
    errors = ap.validate_policy_errors(case["policy"])
    assert [str(error) for error in errors] == [error["error"] for error in case["errors"]]
    assert [(e.field, e.type, e.detail) for e in errors] == [
        (e["field"], e["type"], e["detail"]) for e in case["errors"]
    ]
    assert ap.validate_policy(case["policy"]) == [error["error"] for error in case["errors"]]
    assert ap.aggregate_message(ap.validate_policy(case["policy"])) == case["message"]
    assert (not errors) is case["valid"]


@conformance("policy-validation.jsonl")
@pytest.mark.parametrize("syntax", ["yaml", "json"])
def test_validation_conformance_through_load_policy(case, syntax):
    document = dict(apiVersion="audit.k8s.io/v1", kind="Policy", **case["policy"])
    text = ap.render_policy(document) if syntax == "yaml" else json.dumps(document)
    if not case["valid"]:
        assert load_error(text).message == case["message"]
    elif not case["policy"].get("rules"):
        assert load_error(text).message == "loaded illegal policy with 0 rules"
    else:
        policy, warnings = ap.load_policy(text)
        assert warnings == []
        assert policy["rules"] == case["policy"]["rules"]


@conformance("policy-evaluation.jsonl")
def test_evaluation_conformance(case):
    assert ap.evaluate(case["policy"], case["request"]) == (case["level"], case["omitStages"])


# --- LoadPolicyFromBytes ------------------------------------------------------------------------


@pytest.mark.parametrize("path", POLICIES, ids=[path.name for path in POLICIES])
def test_fixture_policies_are_valid(path):
    policy, warnings = ap.load_policy(path.read_bytes())
    assert warnings == []
    assert policy["apiVersion"] == "audit.k8s.io/v1"
    assert policy["kind"] == "Policy"
    assert policy["omitStages"] == ["RequestReceived"]
    assert all(rule["level"] in ap.LEVELS for rule in policy["rules"])
    assert ap.load_policy_file(str(path)) == (policy, warnings)


def test_nnf_deploy_policy_is_decoded_field_by_field():
    policy, _warnings = ap.load_policy((TESTS / "fixtures" / "policies" / "nnf-deploy-audit-policy.yaml").read_text())
    writes = ["create", "patch", "update", "delete", "deletecollection"]
    assert policy["rules"] == [
        {
            "level": "Metadata",
            "verbs": writes,
            "resources": [
                {"group": "lus.cray.hpe.com"},
                {"group": "dataworkflowservices.github.io"},
                {"group": "nnf.cray.hpe.com"},
            ],
        },
        {"level": "RequestResponse", "verbs": writes, "resources": [{"group": "kubeflow.org"}]},
        {
            "level": "None",
            "users": ["system:masters"],
            "resources": [{"group": "", "resources": ["configmaps"]}],
            "namespaces": ["nnf-dm-system"],
        },
        {
            "level": "RequestResponse",
            "verbs": writes,
            "resources": [{"group": "", "resources": ["configmaps"]}],
            "namespaces": ["nnf-dm-system"],
        },
    ]


@pytest.mark.parametrize("version", ["v1beta1", "v1alpha1"])
def test_retired_api_versions_are_not_registered(version):
    error = load_error(f"apiVersion: audit.k8s.io/{version}\nkind: Policy\nrules:\n- level: Metadata\n")
    assert error.message == (
        f'failed decoding: no kind "Policy" is registered for version "audit.k8s.io/{version}" in scheme {SCHEME}'
    )


def test_unknown_kind_is_not_registered():
    error = load_error("apiVersion: audit.k8s.io/v1\nkind: AuditPolicy\nrules:\n- level: Metadata\n")
    assert error.message == (
        f'failed decoding: no kind "AuditPolicy" is registered for version "audit.k8s.io/v1" in scheme {SCHEME}'
    )


def test_missing_kind_is_fine():
    policy, warnings = ap.load_policy("apiVersion: audit.k8s.io/v1\nrules:\n- level: Metadata\n")
    assert (policy, warnings) == (
        {"apiVersion": "audit.k8s.io/v1", "kind": "Policy", "rules": [{"level": "Metadata"}]},
        [],
    )


@pytest.mark.parametrize("text", ["kind: Policy\nrules:\n- level: Metadata\n", "", "# just a comment\n", "---\n", "{}"])
def test_missing_api_version_decodes_as_the_internal_version_and_is_rejected(text):
    assert load_error(text).message == "unknown group version field audit.k8s.io/__internal, Kind=Policy in policy"


def test_unknown_fields_are_a_warning_with_their_paths():
    policy, warnings = ap.load_policy(
        HEAD
        + "omitStage: [RequestReceived]\nrules:\n- level: Metadata\n  resources:\n  - group: ''\n    resource: [pods]\n"
    )
    assert warnings == [LENIENT + 'unknown field "omitStage", unknown field "rules[0].resources[0].resource"']
    assert policy["rules"] == [{"level": "Metadata", "resources": [{"group": ""}]}]
    assert "omitStages" not in policy


def test_unknown_fields_are_reported_in_sorted_key_order_because_yaml_becomes_json_first():
    _policy, warnings = ap.load_policy(HEAD + "zeta: 1\nrules:\n- verb: get\n  level: Metadata\nalpha: 2\n")
    assert warnings == [LENIENT + 'unknown field "alpha", unknown field "rules[0].verb", unknown field "zeta"']


def test_field_names_are_case_sensitive():
    error = load_error(HEAD + "rules:\n- Level: Metadata\n")
    assert error.message == "rules[0].level: Required value"
    assert error.warnings == [LENIENT + 'unknown field "rules[0].Level"']


def test_duplicate_yaml_keys_are_a_warning_and_the_last_one_wins():
    text = (
        HEAD + "rules:\n- level: Request\n  level: Metadata\nrules:\n- level: None\n  verbs: [get]\n  verbs: [list]\n"
    )
    policy, warnings = ap.load_policy(text)
    assert (
        warnings
        == [
            LENIENT + "yaml: unmarshal errors:\n"
            '  line 5: key "level" already set in map\n'
            '  line 9: key "verbs" already set in map\n'  # the repeated value is decoded before its key is checked
            '  line 7: key "rules" already set in map'
        ]
    )
    assert policy["rules"] == [{"level": "None", "verbs": ["list"]}]


def test_yaml_duplicates_come_before_unknown_fields():
    _policy, warnings = ap.load_policy(HEAD + "rules:\n- level: Metadata\n  level: Request\n  foo: 1\n")
    assert warnings == [
        LENIENT + 'yaml: unmarshal errors:\n  line 5: key "level" already set in map, unknown field "rules[0].foo"'
    ]


def test_json_duplicates_and_unknown_fields_in_document_order():
    text = '{"apiVersion": "audit.k8s.io/v1", "x": 1, "rules": [{"level": "None", "level": "Metadata"}], "x": 2}'
    policy, warnings = ap.load_policy(text)
    assert warnings == [LENIENT + 'unknown field "x", duplicate field "rules[0].level"']
    assert policy["rules"] == [{"level": "Metadata"}]


def test_zero_rules():
    for rules in ("rules: []\n", "rules:\n", "omitStages: [RequestReceived]\n"):
        assert load_error(HEAD + rules).message == "loaded illegal policy with 0 rules"


def test_validation_errors_come_before_the_zero_rules_check():
    assert load_error(HEAD + "omitStages: [Nope]\n").message == (
        f'omitStages[0]: Invalid value: "Nope": {STAGES_DETAIL}'
    )


def test_validation_errors_are_aggregated():
    error = load_error(HEAD + "rules:\n- level: metadata\n- {}\n- level: None\n  nonResourceURLs: [healthz]\n")
    assert error.message == (
        '[rules[0].level: Unsupported value: "metadata": supported values: "None", "Metadata", "Request", '
        '"RequestResponse", rules[1].level: Required value, rules[2].nonResourceURLs[0]: Invalid value: '
        "\"healthz\": non-resource URL rules must begin with a '/' character]"
    )


@pytest.mark.parametrize(
    "text",
    ["this is not YAML at all\n", "42\n", "'quoted'\n"],
    ids=["prose", "number", "quoted"],
)
def test_a_scalar_document_is_not_an_object(text):
    kind = "number" if text == "42\n" else "string"
    assert load_error(text).message == (
        f"failed decoding: couldn't get version/kind; json parse error: json: cannot unmarshal {kind} into Go value "
        f"of type {FIND_KIND}"
    )


def test_a_list_document_is_not_an_object():
    assert load_error("- level: Metadata\n").message.endswith(
        f"cannot unmarshal array into Go value of type {FIND_KIND}"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (HEAD + "rules:\n- level: Metadata\n verbs: [get]\n", "yaml: line 4: did not find expected key"),
        (HEAD + "rules:\n- level: Metadata\n  verbs: [get\n", "yaml: line 5: did not find expected ',' or ']'"),
        (HEAD + "rules: a: b\n", "yaml: line 3: mapping values are not allowed in this context"),
        ("kind: Policy: x\n", "yaml: mapping values are not allowed in this context"),
        (HEAD + "rules:\n\t- level: Metadata\n", "yaml: line 4: found character that cannot start any token"),
        (HEAD + 'rules:\n- level: "Metadata\n', "yaml: line 5: found unexpected end of stream"),
        (HEAD + "rules: *missing\n", "yaml: unknown anchor 'missing' referenced"),
        ("%YAML 1.2\n---\n" + HEAD + "rules:\n- level: Metadata\n", "yaml: found incompatible YAML document"),
        (HEAD + "rules:\n- level: \x07\n", "yaml: control characters are not allowed"),
    ],
    ids=["indent", "flow", "colon", "colon-line-1", "tab", "quote", "anchor", "yaml-1.2", "control"],
)
def test_yaml_syntax_errors(text, message):
    assert load_error(text).message == "failed decoding: " + message


@pytest.mark.parametrize(
    "line",
    [
        "- level:\tMetadata",
        "- level: \tMetadata",
        "- level: Metadata\t",
        "- level: Metadata\t# comment",
        "- {level: Metadata,\tverbs: [get]}",
        '- level: "Metadata"\t',
    ],
    ids=["after-colon", "after-space", "trailing", "before-comment", "flow", "after-quoted"],
)
def test_tabs_that_go_yaml_accepts(line):
    # PyYAML alone refuses these; libyaml (go-yaml) treats the tabs as blanks.
    policy, warnings = ap.load_policy(HEAD + "rules:\n" + line + "\n")
    assert (policy["rules"][0]["level"], warnings) == ("Metadata", [])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("rules:\n-\tlevel: Metadata\n", "yaml: line 4: found character that cannot start any token"),
        ("rules:\n- level: Meta\n\tdata\n", "yaml: line 5: found a tab character that violates indentation"),
    ],
)
def test_tabs_that_go_yaml_refuses(text, message):
    assert load_error(HEAD + text).message == "failed decoding: " + message


def test_plain_scalars_as_go_yaml_scans_them():
    policy, _warnings = ap.load_policy(
        HEAD + "rules:\n- level: None\n  users: [a:b, 'c', d:, e\tf]\n  verbs: [get\n    , list]\n"
    )
    assert policy["rules"][0]["users"] == ["a:b", "c", "d:", "e\tf"]
    assert policy["rules"][0]["verbs"] == ["get", "list"]


def test_invalid_utf8():
    assert (
        load_error(HEAD.encode() + b"rules:\n- level: \xff\n").message
        == "failed decoding: yaml: invalid leading UTF-8 octet"
    )


# --- encodings, as go-yaml's reader (readerc.go) sees the bytes ------------------------------------

ENCODED = HEAD + 'rules:\n- level: Metadata\n  users: ["jos\u00e9", "\U0001f600"]\n'
ENCODED_RULES = [{"level": "Metadata", "users": ["jos\u00e9", "\U0001f600"]}]


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (ENCODED.encode(), "UTF-8"),
        (b"\xef\xbb\xbf" + ENCODED.encode(), "UTF-8"),
        (b"\xff\xfe" + ENCODED.encode("utf-16-le"), "UTF-16LE"),
        (b"\xfe\xff" + ENCODED.encode("utf-16-be"), "UTF-16BE"),
    ],
    ids=["utf-8", "utf-8-bom", "utf-16le-bom", "utf-16be-bom"],
)
def test_encodings_kube_apiserver_reads(data, encoding):
    policy, _warnings = ap.load_policy(data)
    assert policy["rules"] == ENCODED_RULES
    text, used = ap.policy_text(data)
    assert used == encoding
    assert text == ("\ufeff" if data[:1] in (b"\xef", b"\xff", b"\xfe") else "") + ENCODED
    assert text.encode(encoding.replace("UTF-", "utf-").lower()) == data  # the text is exactly the bytes


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        # without a BOM the input is UTF-8: UTF-16's NUL bytes come first, before any invalid octet
        (ENCODED.encode("utf-16-le"), "control characters are not allowed"),
        (ENCODED.encode("utf-16-be"), "control characters are not allowed"),
        # UTF-32: its little-endian BOM starts like UTF-16LE's; the big-endian one starts with NUL bytes
        (ENCODED.encode("utf-32"), "control characters are not allowed"),
        (b"\x00\x00\xfe\xff" + ENCODED.encode("utf-32-be"), "control characters are not allowed"),
        (
            (HEAD + "rules:\n- level: Metadata\n  users: [jos\u00e9]\n").encode("latin-1"),
            "invalid trailing UTF-8 octet",
        ),
        (HEAD.encode() + b"rules:\n- level: \xc0\x80\n", "invalid length of a UTF-8 sequence"),  # overlong
        (HEAD.encode() + b"rules:\n- level: \xed\xa0\x80\n", "invalid Unicode character"),  # a surrogate
        (HEAD.encode() + b"rules:\n- level: \xf4\x90\x80\x80\n", "invalid Unicode character"),  # > U+10FFFF
        (HEAD.encode() + b"rules:\n- level: \xf8\n", "invalid leading UTF-8 octet"),
        (HEAD.encode() + b"rules:\n- level: \xe9\x41\x41\n", "invalid trailing UTF-8 octet"),
        (HEAD.encode() + b"rules:\n- level: a\xe9\x41", "incomplete UTF-8 octet sequence"),  # cut at the end
        (HEAD.encode() + b"rules:\n- level: \x01\xff\n", "control characters are not allowed"),  # first wins
        (HEAD.encode() + b"rules:\n- level: \xc3\xa9\xf0\x9f\x98\x80\xff\x01\n", "invalid leading UTF-8 octet"),
        (HEAD.encode() + b"rules:\n- level: \xc3\xa9\xef\xbf\xbe\xff\n", "control characters are not allowed"),
        (b"\xff\xfe" + ENCODED.encode("utf-16-le") + b"a", "incomplete UTF-16 character"),
        (b"\xff\xfe" + HEAD.encode("utf-16-le") + b"\x00\xdc", "unexpected low surrogate area"),
        (b"\xfe\xff" + HEAD.encode("utf-16-be") + b"\xd8\x00", "incomplete UTF-16 surrogate pair"),
        (b"\xff\xfe" + HEAD.encode("utf-16-le") + b"\x00\xd8a\x00", "expected low surrogate area"),
        (b"\xff\xfe" + HEAD.encode("utf-16-le") + b"\x07\x00", "control characters are not allowed"),
    ],
    ids=[
        "utf-16le-no-bom",
        "utf-16be-no-bom",
        "utf-32le-bom",
        "utf-32be-bom",
        "latin-1",
        "overlong",
        "surrogate",
        "beyond-unicode",
        "leading-octet",
        "trailing-octet",
        "incomplete-at-end",
        "control-before-invalid",
        "valid-characters-before-invalid",
        "u+fffe-before-invalid",
        "odd-utf-16",
        "lone-low-surrogate",
        "cut-surrogate-pair",
        "high-surrogate-alone",
        "utf-16-control",
    ],
)
def test_encodings_kube_apiserver_refuses(data, problem):
    assert load_error(data).message == "failed decoding: yaml: " + problem


def test_json_keeps_invalid_utf8_inside_strings_as_kube_apiserver_does():
    # encoding/json replaces an invalid byte in a string by U+FFFD; outside a string it is a syntax error
    data = b'{"apiVersion": "audit.k8s.io/v1", "kind": "Policy", "rules": [{"level": "None", "users": ["b\xffb"]}]}'
    policy, _warnings = ap.load_policy(data)
    assert policy["rules"][0]["users"] == ["b\ufffdb"]
    assert ap.policy_text(data) == (data.decode("utf-8", "replace"), "UTF-8")
    # after a byte order mark it is not JSON to the recognizer; go-yaml reads it, as a flow mapping
    with_bom = b"\xef\xbb\xbf" + data.replace(b"\xff", b"o")
    assert ap.load_policy(with_bom)[0]["rules"][0]["users"] == ["bob"]
    utf16 = b"\xff\xfe" + data.replace(b"\xff", b"o").decode().encode("utf-16-le")
    assert ap.load_policy(utf16)[0]["rules"][0]["users"] == ["bob"]


@pytest.mark.parametrize("word", ["yes", "Yes", "YES", "on", "ON", "y", "Y", "true", "no", "off", "n", "N", "False"])
def test_yaml_1_1_booleans_are_not_strings(word):
    assert load_error(HEAD + f"rules:\n- level: {word}\n").message == (
        "failed decoding: json: cannot unmarshal bool into Go struct field PolicyRule.rules.level of type v1.Level"
    )


@pytest.mark.parametrize("word", ["yES", "Off_", "nope", "t", "F"])
def test_words_that_are_not_yaml_1_1_booleans_stay_strings(word):
    assert load_error(HEAD + f"rules:\n- level: {word}\n").message.startswith(
        f'rules[0].level: Unsupported value: "{word}"'
    )


def test_quoted_booleans_are_strings():
    assert load_error(HEAD + "rules:\n- level: 'yes'\n").message.startswith('rules[0].level: Unsupported value: "yes"')


@pytest.mark.parametrize(
    ("field", "value", "json_kind", "struct", "go_type"),
    [
        ("verbs", "[get, y]", "bool", "PolicyRule", "string"),
        ("users", "[1]", "number", "PolicyRule", "string"),
        ("namespaces", "[0x1F]", "number", "PolicyRule", "string"),
        ("userGroups", "[1_000]", "number", "PolicyRule", "string"),
        ("nonResourceURLs", "[1.5e3]", "number", "PolicyRule", "string"),
        ("omitStages", "[~, on]", "bool", "PolicyRule", "v1.Stage"),
        ("verbs", "get", "string", "PolicyRule", "[]string"),
        ("resources", "{group: x}", "object", "PolicyRule", "[]v1.GroupResources"),
        ("omitManagedFields", "'true'", "string", "PolicyRule", "bool"),
    ],
)
def test_type_errors_in_rules(field, value, json_kind, struct, go_type):
    assert load_error(HEAD + f"rules:\n- level: Metadata\n  {field}: {value}\n").message == (
        f"failed decoding: json: cannot unmarshal {json_kind} into Go struct field {struct}.rules.{field} "
        f"of type {go_type}"
    )


def test_type_error_inside_resources():
    assert load_error(HEAD + "rules:\n- level: Metadata\n  resources: [{group: no}]\n").message == (
        "failed decoding: json: cannot unmarshal bool into Go struct field GroupResources.rules.resources.group "
        "of type string"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "rules: {level: Metadata}\n",
            "cannot unmarshal object into Go struct field Policy.rules of type []v1.PolicyRule",
        ),
        ("rules: [Metadata]\n", "cannot unmarshal string into Go struct field Policy.rules of type v1.PolicyRule"),
        (
            "omitManagedFields: 'yes'\nrules: [{level: None}]\n",
            "cannot unmarshal string into Go struct field Policy.omitManagedFields of type bool",
        ),
        (
            "metadata: {labels: {a: 1}}\nrules: [{level: None}]\n",
            "cannot unmarshal number into Go struct field ObjectMeta.metadata.labels of type string",
        ),
        (
            "metadata: {generation: 1.5}\nrules: [{level: None}]\n",
            "cannot unmarshal number 1.5 into Go struct field ObjectMeta.metadata.generation of type int64",
        ),
    ],
)
def test_type_errors_outside_rules(text, message):
    assert load_error(HEAD + text).message == "failed decoding: json: " + message


def test_a_type_error_hides_the_strict_errors():
    error = load_error(HEAD + "foo: 1\nrules:\n- level: on\n")
    assert error.warnings == []
    assert "cannot unmarshal bool" in error.message


def test_yaml_1_1_booleans_where_a_boolean_is_wanted():
    policy, warnings = ap.load_policy(
        HEAD + "omitManagedFields: yes\nrules:\n- level: None\n  omitManagedFields: off\n"
    )
    assert warnings == []
    assert policy["omitManagedFields"] is True
    assert policy["rules"][0]["omitManagedFields"] is False


def test_null_fields_are_empty():
    policy, _warnings = ap.load_policy(HEAD + "rules:\n- level: Metadata\n  verbs: ~\n  users: null\n")
    assert policy["rules"] == [{"level": "Metadata", "verbs": None, "users": None}]
    assert ap.evaluate(policy, {"verb": "get", "user": {"name": "x"}})[0] == "Metadata"
    assert load_error(HEAD + "rules:\n- level: Metadata\n- ~\n").message == "rules[1].level: Required value"


def test_apiversion_and_kind_are_found_case_insensitively_but_decoded_case_sensitively():
    policy, warnings = ap.load_policy("APIVersion: audit.k8s.io/v1\nrules:\n- level: Metadata\n")
    assert policy["rules"] == [{"level": "Metadata"}]
    assert warnings == [LENIENT + 'unknown field "APIVersion"']


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "apiVersion: 1\n",
            "couldn't get version/kind; json parse error: "
            "json: cannot unmarshal number into Go struct field .apiVersion of type string",
        ),
        ("apiVersion: a/b/c\n", "unexpected GroupVersion string: a/b/c"),
        (
            "apiVersion: v1\nkind: Policy\n",
            f'no kind "Policy" is registered for version "v1" in scheme {SCHEME}',
        ),
        (
            "kind: Nope\n",
            f'no kind "Nope" is registered for the internal version of group "audit.k8s.io" in scheme {SCHEME}',
        ),
        ("apiVersion: example.com/\n", "Object 'apiVersion' is missing in 'apiVersion: example.com/\n'"),
    ],
    ids=["number", "slashes", "core-v1", "internal-kind", "no-version"],
)
def test_api_version_and_kind_errors(text, message):
    assert load_error(text).message == "failed decoding: " + message


def test_only_the_first_yaml_document_is_read():
    policy, warnings = ap.load_policy(HEAD + "rules:\n- level: Metadata\n---\nthis: [is, ignored\n---\nkind: Junk\n")
    assert (policy["rules"], warnings) == ([{"level": "Metadata"}], [])
    assert load_error("---\n---\n" + HEAD + "rules:\n- level: Metadata\n").message == (
        "unknown group version field audit.k8s.io/__internal, Kind=Policy in policy"
    )


def test_anchors_and_merge_keys():
    text = HEAD + (
        "x-writes: &writes [create, update]\n"
        "rules:\n"
        "- &base {level: Metadata, verbs: *writes}\n"
        "- <<: *base\n"
        "  level: None\n"
    )
    policy, warnings = ap.load_policy(text)
    assert policy["rules"] == [
        {"level": "Metadata", "verbs": ["create", "update"]},
        {"level": "None", "verbs": ["create", "update"]},
    ]
    # go-yaml v2's strict mode counts a key that overrides a merged one as set twice (kept: the explicit one).
    assert warnings == [
        LENIENT + 'yaml: unmarshal errors:\n  line 7: key "level" already set in map, unknown field "x-writes"'
    ]


def test_excessive_aliasing_is_refused():
    lines = ["a: &a [" + ", ".join(["x"] * 10) + "]"]
    for name, previous in (("b", "a"), ("c", "b"), ("d", "c")):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 10) + "]")
    assert load_error("\n".join(lines) + "\n").message == "failed decoding: yaml: document contains excessive aliasing"


def test_nan_cannot_become_json():
    assert load_error(HEAD + "rules:\n- level: .nan\n").message == "failed decoding: json: unsupported value: NaN"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"apiVersion": "audit.k8s.io/v1",}', "invalid character '}' looking for beginning of object key string"),
        ('{"rules": [{"level": "None"} {"level": "None"}]}', "invalid character '{' after array element"),
        ('{"rules": tru}', "invalid character '}' in literal true (expecting 'e')"),
        ('{"kind": "Policy"} trailing', "invalid character 't' after top-level value"),
        ('{"kind": ', "unexpected end of JSON input"),
    ],
)
def test_json_syntax_errors(text, message):
    assert load_error(text).message == "failed decoding: couldn't get version/kind; json parse error: " + message


def test_policy_errors_are_the_collections_user_errors():
    error = load_error(HEAD + "rules: []\n")
    assert isinstance(error, _errors.KubeAuditError)
    assert (str(error), error.message, error.warnings, error.result) == (
        "loaded illegal policy with 0 rules",
        "loaded illegal policy with 0 rules",
        [],
        {},
    )
    error = ap.PolicyError("text", ("logged",), result={"error": "text"})
    assert (str(error), error.warnings, error.result) == ("text", ["logged"], {"error": "text"})


def test_json_policy():
    policy, warnings = ap.load_policy('  {"apiVersion": "audit.k8s.io/v1", "rules": [{"level": "Metadata"}]}')
    assert (policy["rules"], warnings) == ([{"level": "Metadata"}], [])


def test_load_policy_file_errors(tmp_path):
    missing = tmp_path / "missing.yaml"
    with pytest.raises(ap.PolicyError) as raised:
        ap.load_policy_file(str(missing))
    assert raised.value.message == f'failed to read file path "{missing}": open {missing}: no such file or directory'
    with pytest.raises(ap.PolicyError) as raised:
        ap.load_policy_file(str(tmp_path))
    assert raised.value.message == f'failed to read file path "{tmp_path}": read {tmp_path}: is a directory'
    bad = tmp_path / "policy.yaml"
    bad.write_text(HEAD + "foo: 1\nrules: []\n")
    with pytest.raises(ap.PolicyError) as raised:
        ap.load_policy_file(str(bad))
    assert raised.value.message == f"loaded illegal policy with 0 rules: from file {bad}"
    assert raised.value.warnings == [LENIENT + 'unknown field "foo"']
    assert ap.apiserver_error_message(raised.value.message) == (
        f"loading audit policy file: loaded illegal policy with 0 rules: from file {bad}"
    )


# --- ValidatePolicy details -----------------------------------------------------------------------


def test_errors_of_one_rule_come_in_kube_apiserver_order():
    rule = {
        "level": "",
        "nonResourceURLs": ["x*y"],
        "resources": [{"group": "Bad", "resourceNames": ["n"]}],
        "omitStages": ["Never"],
    }
    assert ap.validate_policy({"omitStages": ["Also"], "rules": [rule]}) == [
        f'omitStages[0]: Invalid value: "Also": {STAGES_DETAIL}',
        "rules[0].level: Required value",
        "rules[0].nonResourceURLs[0]: Invalid value: \"x*y\": non-resource URL rules must begin with a '/' character",
        "rules[0].nonResourceURLs[0]: Invalid value: \"x*y\": non-resource URL wildcards '*' must be the final "
        "character of the rule",
        f'rules[0].resources.group: Invalid value: "Bad": {ap._DNS1123_SUBDOMAIN_MESSAGE}',
        'rules[0].resources.resourceNames: Invalid value: []string{"n"}: using resourceNames requires at least one '
        "resource",
        f'rules[0].omitStages[0]: Invalid value: "Never": {STAGES_DETAIL}',
        'rules[0].nonResourceURLs: Invalid value: []string{"x*y"}: rules cannot apply to both regular resources and '
        "non-resource URLs",
    ]


def test_identical_errors_are_reported_once():
    rule = {"level": "None", "resources": [{"group": "UPPER"}, {"group": "UPPER"}]}
    assert len(ap.validate_policy_errors({"rules": [rule]})) == 2
    assert ap.validate_policy({"rules": [rule]}) == [
        f'rules[0].resources.group: Invalid value: "UPPER": {ap._DNS1123_SUBDOMAIN_MESSAGE}'
    ]


def test_group_longer_than_253_characters():
    group = "a" * 254
    assert ap.validate_policy({"rules": [{"level": "None", "resources": [{"group": group}]}]}) == [
        f'rules[0].resources.group: Invalid value: "{group}": must be no more than 253 characters'
    ]


def test_go_quoting_in_messages():
    assert ap.go_quote('a"\\\n\t\x00\x7f\u00ad\u2028é😀') == '"a\\"\\\\\\n\\t\\x00\\x7f\\u00ad\\u2028é😀"'
    error = ap.FieldError("FieldValueInvalid", "f", ["a\nb", 'c"'], "d")
    assert str(error) == 'f: Invalid value: []string{"a\\nb", "c\\""}: d'


def test_aggregate_message():
    assert ap.aggregate_message([]) == ""
    assert ap.aggregate_message(["a"]) == "a"
    assert ap.aggregate_message(["a", "a"]) == "a"
    assert ap.aggregate_message(["a", "b", "a"]) == "[a, b]"


# --- evaluation details ---------------------------------------------------------------------------

POD_LOG = {"user": {"name": "u", "groups": ["g"]}, "verb": "get", "resource": "pods", "subresource": "log"}


@pytest.mark.parametrize(
    ("spec", "request_update", "matches"),
    [
        ("*", {}, True),
        ("pods/log", {}, True),
        ("pods", {}, False),
        ("*/log", {}, True),
        ("*/status", {}, False),
        ("pods/*", {}, True),
        ("pods/*", {"subresource": ""}, True),  # upstream: "pods/*" also matches pods itself
        ("*/*", {}, False),  # only a literal "*/*" resource would match
        ("*/log", {"subresource": ""}, False),
    ],
)
def test_resource_wildcards(spec, request_update, matches):
    policy = {"rules": [{"level": "Request", "resources": [{"group": "", "resources": [spec]}]}]}
    assert ap.evaluate(policy, dict(POD_LOG, **request_update))[0] == ("Request" if matches else "None")


def test_resource_names_namespaces_and_groups():
    rule = {
        "level": "Metadata",
        "namespaces": [""],
        "resources": [{"group": "rbac.authorization.k8s.io", "resources": ["clusterroles"], "resourceNames": ["edit"]}],
    }
    policy = {"rules": [rule]}
    request = {"verb": "get", "apiGroup": "rbac.authorization.k8s.io", "resource": "clusterroles", "name": "edit"}
    assert ap.evaluate(policy, request)[0] == "Metadata"
    assert ap.evaluate(policy, dict(request, name="view"))[0] == "None"
    assert ap.evaluate(policy, dict(request, namespace="default"))[0] == "None"
    assert ap.evaluate(policy, dict(request, apiGroup=""))[0] == "None"


def test_non_resource_urls():
    policy = {"rules": [{"level": "Request", "nonResourceURLs": ["/healthz*", "/metrics"]}]}
    assert ap.evaluate(policy, {"path": "/healthz/ready"})[0] == "Request"
    assert ap.evaluate(policy, {"path": "/metrics"})[0] == "Request"
    assert ap.evaluate(policy, {"path": "/metrics/x"})[0] == "None"
    assert ap.evaluate(policy, {"path": "/healthz", "resource": "pods"})[0] == "None"


def test_omit_stages_and_managed_fields():
    policy = {
        "omitStages": ["RequestReceived"],
        "omitManagedFields": True,
        "rules": [
            {"level": "Request", "verbs": ["create"], "omitStages": ["ResponseStarted"], "omitManagedFields": False},
            {"level": "Metadata", "verbs": ["get"]},
        ],
    }
    assert ap.evaluate_request(policy, {"verb": "create"}) == {
        "level": "Request",
        "omit_stages": ["RequestReceived", "ResponseStarted"],
        "omit_managed_fields": False,
    }
    assert ap.evaluate_request(policy, {"verb": "get"})["omit_managed_fields"] is True
    assert ap.evaluate_request(policy, {"verb": "list"}) == {
        "level": "None",
        "omit_stages": ["RequestReceived"],
        "omit_managed_fields": True,
    }


def test_request_defaults():
    assert ap.normalize_request({"resource": "pods"}) == {
        "verb": "",
        "namespace": "",
        "apiGroup": "",
        "apiVersion": "",
        "resource": "pods",
        "subresource": "",
        "name": "",
        "path": "",
        "user": None,
        "resourceRequest": True,
    }
    assert ap.normalize_request({"path": "/x"})["resourceRequest"] is False
    assert ap.normalize_request({"user": {"name": "a"}})["user"] == {"name": "a", "groups": []}
    policy = {"rules": [{"level": "Request", "users": ["a"]}, {"level": "Metadata", "userGroups": ["g"]}]}
    assert ap.evaluate(policy, {})[0] == "None"


# --- rendering ----------------------------------------------------------------------------------


def test_render_policy_is_canonical():
    rules = [
        {
            "verbs": ["get"],
            "resources": [{"resources": ["pods"], "group": ""}],
            "level": "Metadata",
            "zzz": 1,
            "aaa": {},
        },
        {"level": "None", "users": ["system:masters"], "nonResourceURLs": ["/healthz*"]},
    ]
    content = ap.render_policy(ap.build_policy(rules, ["RequestReceived"]))
    assert content == (
        "apiVersion: audit.k8s.io/v1\n"
        "kind: Policy\n"
        "omitStages:\n"
        "  - RequestReceived\n"
        "rules:\n"
        "  - level: Metadata\n"
        "    verbs:\n"
        "      - get\n"
        "    resources:\n"
        '      - group: ""\n'
        "        resources:\n"
        "          - pods\n"
        "    aaa: {}\n"
        "    zzz: 1\n"
        "  - level: None\n"
        "    users:\n"
        "      - system:masters\n"
        "    nonResourceURLs:\n"
        "      - /healthz*\n"
    )
    assert ap.render_policy(ap.build_policy(list(reversed(rules[::-1])), ["RequestReceived"])) == content
    assert "omitStages" not in ap.render_policy(ap.build_policy(rules, []))


@pytest.mark.parametrize(
    "value",
    [
        "y",
        "no",
        "ON",
        "1.0",
        "0x1F",
        "1_000",
        "~",
        "null",
        "",
        ".inf",
        "2001-01-01",
        "a: b",
        "#x",
        "- x",
        " x",
        "x:",
        "*x",
        "&x",
        "!x",
        "@x",
        "%x",
        "'x",
        '"x"',
        "a\nb",
        "tab\there",
        "=",
        "<<",
        "---",
        "é",
        "\u2028",
        "1e3",
    ],
)
def test_render_keeps_strings_as_strings(value):
    content = ap.render_policy(ap.build_policy([{"level": "None", "users": [value], value or "k": value}]))
    policy, warnings = ap.load_policy(content)
    assert policy["rules"][0]["users"] == [value]
    assert warnings == [LENIENT + "unknown field " + ap.go_quote("rules[0]." + (value or "k"))]


@pytest.mark.parametrize("value", ["system:serviceaccount:nnf-system:nnf-clientmount", "/logs*", "pods/log", "a.b-c_d"])
def test_render_writes_ordinary_strings_plain(value):
    assert f"- {value}\n" in ap.render_policy(ap.build_policy([{"level": "None", "users": [value]}]))


def test_render_keeps_other_types_so_kube_apiserver_judges_them():
    content = ap.render_policy(ap.build_policy([{"level": True, "verbs": [1, 2.5, None]}]))
    assert "level: true\n" in content
    assert "      - 1\n      - 2.5\n      - null\n" in content
    assert load_error(content).message == (
        "failed decoding: json: cannot unmarshal bool into Go struct field PolicyRule.rules.level of type v1.Level"
    )


def test_checksum():
    assert ap.checksum("x") == hashlib.sha256(b"x").hexdigest()
    assert ap.checksum(b"x") == hashlib.sha256(b"x").hexdigest()

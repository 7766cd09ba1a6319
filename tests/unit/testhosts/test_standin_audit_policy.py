"""kube-apiserver stand-in's own audit policy reader and evaluator (tests/testhosts/standin/audit_policy.py).

The stand-in judges the collection, so it must not borrow the collection's code: its reader and evaluator are its
own, held here to kube-apiserver's cases (tests/conformance/*.jsonl are the oracle), then cross-checked against the
collection's ``module_utils/audit_policy.py``: two engines written apart that must agree with the oracle and with
each other.
"""

import ast
import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import testhosts
import yaml
from standin import audit_policy, requestinfo

from ansible_collections.nnf.kube_audit.plugins.plugin_utils import audit_policy as collection_policy

TESTS = Path(__file__).resolve().parents[2]
CONFORMANCE = TESTS / "conformance"
POLICIES = sorted((TESTS / "fixtures" / "policies").glob("*.yaml"))
STANDIN = Path(testhosts.TESTHOSTS_DIR) / "standin"
STANDIN_SOURCES = sorted(STANDIN.glob("*.py")) + sorted((Path(testhosts.TESTHOSTS_DIR) / "bin").iterdir())
HEAD = "apiVersion: audit.k8s.io/v1\nkind: Policy\n"
LENIENT = "Audit policy contains errors, falling back to lenient decoding: strict decoding error: "
SCHEME = '"k8s.io/apiserver/pkg/audit/scheme.go:30"'


def cases(name):
    return [json.loads(line) for line in (CONFORMANCE / name).read_text().splitlines() if line.strip()]


EVALUATION = cases("policy-evaluation.jsonl")
VALIDATION = cases("policy-validation.jsonl")


def by_name(vectors):
    return pytest.mark.parametrize("case", vectors, ids=[case["name"] for case in vectors])


def load_error(text):
    with pytest.raises(audit_policy.PolicyLoadError) as raised:
        audit_policy.load_policy(text.encode())
    return raised.value


# --------------------------------------------------------------------------------------------------- independence


def test_the_conformance_files_hold_every_vector():
    assert (len(EVALUATION), len(VALIDATION)) == (102, 22)


@pytest.mark.parametrize("path", STANDIN_SOURCES, ids=[path.name for path in STANDIN_SOURCES])
def test_no_stand_in_source_imports_the_collection(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    imported = [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
    imported += [node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
    assert not [name for name in imported if name.split(".")[0] in ("ansible", "ansible_collections")]
    docstrings = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Expr)}
    strings = [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    ]
    assert not [text for text in strings if "ansible_collections" in text or "module_utils" in text]  # no sys.path
    assert "__import__" not in path.read_text() and "importlib" not in path.read_text()


def test_importing_every_stand_in_module_loads_nothing_of_the_collection():
    code = (
        "import json, pkgutil, sys\n"
        f"sys.path.insert(0, {testhosts.TESTHOSTS_DIR!r})\n"
        "import standin\n"
        "names = [m.name for m in pkgutil.iter_modules(standin.__path__)]\n"
        "for name in names:\n"
        "    __import__('standin.' + name)\n"
        "files = [getattr(m, '__file__', None) or '' for m in list(sys.modules.values())]\n"
        "print(json.dumps({'names': names, 'modules': sorted(sys.modules), 'files': files}))\n"
    )
    environment = {key: value for key, value in os.environ.items() if not key.startswith("PYTHON")}
    done = subprocess.run(
        [sys.executable, "-I", "-c", code], capture_output=True, text=True, env=environment, check=True, timeout=60
    )
    found = json.loads(done.stdout)
    assert {"apiserver", "audit_policy", "kubelet", "crictl", "requestinfo"} <= set(found["names"])
    assert [name for name in found["modules"] if name.split(".")[0] in ("ansible", "ansible_collections")] == []
    plugins = os.path.join(testhosts.REPO, "plugins") + os.sep
    assert [path for path in found["files"] if os.path.realpath(path).startswith(plugins)] == []


# --------------------------------------------------------------------------------------------------- the oracle


@by_name(EVALUATION)
def test_the_stand_in_evaluator_alone_reproduces_every_evaluation_vector(case):
    level, omit_stages = audit_policy.Policy(case["policy"]).evaluate(case["request"])
    assert (level, sorted(omit_stages)) == (case["level"], sorted(case["omitStages"]))


@by_name(EVALUATION)
def test_the_vectors_policies_read_from_yaml_evaluate_the_same(case):
    policy, warnings = audit_policy.load_policy(yaml.safe_dump(dict(apiVersion="audit.k8s.io/v1", **case["policy"])))
    level, omit_stages = policy.evaluate(case["request"])
    assert warnings == []
    assert (level, sorted(omit_stages)) == (case["level"], sorted(case["omitStages"]))


@by_name(VALIDATION)
@pytest.mark.parametrize("syntax", ["yaml", "json"])
def test_the_stand_in_reader_alone_accepts_and_refuses_like_kube_apiserver(case, syntax):
    document = dict(apiVersion="audit.k8s.io/v1", kind="Policy", **case["policy"])
    text = yaml.safe_dump(document) if syntax == "yaml" else json.dumps(document)
    errors = audit_policy.validate(case["policy"])
    assert [str(error) for error in errors] == [error["error"] for error in case["errors"]]
    if not case["valid"]:
        assert load_error(text).message == case["message"]
    elif not case["policy"].get("rules"):
        assert load_error(text).message == "loaded illegal policy with 0 rules"
    else:
        policy, warnings = audit_policy.load_policy(text)
        assert (len(policy.rules), warnings) == (len(case["policy"]["rules"]), [])


# --------------------------------------------------------------------------------------------------- cross-check

REQUESTS = [
    ("GET", "/api/v1/namespaces/default/pods/p1"),
    ("GET", "/api/v1/namespaces/default/pods/p1/log"),
    ("POST", "/api/v1/namespaces/default/pods/p1/exec"),
    ("GET", "/api/v1/namespaces/nnf-dm-system/configmaps"),
    ("PUT", "/api/v1/namespaces/nnf-dm-system/configmaps/c1"),
    ("DELETE", "/api/v1/namespaces/nnf-dm-system/configmaps"),
    ("GET", "/api/v1/namespaces/kube-system/secrets/s1"),
    ("GET", "/api/v1/nodes/n1"),
    ("PATCH", "/api/v1/nodes/n1/status"),
    ("GET", "/api/v1/namespaces/default/pods?watch=true"),
    ("GET", "/apis/nnf.cray.hpe.com/v1alpha1/namespaces/default/nnfstorages/s1"),
    ("PATCH", "/apis/nnf.cray.hpe.com/v1alpha1/namespaces/default/nnfstorages/s1/status"),
    ("POST", "/apis/lus.cray.hpe.com/v1beta1/namespaces/default/lustrefilesystems"),
    ("DELETE", "/apis/dataworkflowservices.github.io/v1alpha2/namespaces/default/workflows"),
    ("PUT", "/apis/dm.cray.hpe.com/v1alpha1/namespaces/nnf-dm-system/datamovements/d1"),
    ("POST", "/apis/kubeflow.org/v2beta1/namespaces/default/mpijobs"),
    ("PUT", "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-scheduler"),
    ("GET", "/apis/rbac.authorization.k8s.io/v1/clusterroles/edit"),
    ("GET", "/healthz"),
    ("GET", "/livez/ping"),
    ("GET", "/metrics"),
    ("GET", "/logs/kubelet.log"),
    ("GET", "/version"),
]
USERS = [
    None,
    {"username": "system:anonymous", "groups": ["system:unauthenticated"]},
    {"username": "kubernetes-admin", "groups": ["system:masters", "system:authenticated"]},
    {"username": "system:serviceaccount:nnf-system:nnf-clientmount", "groups": ["system:serviceaccounts"]},
    {"username": "alice", "groups": ["nnf-admins", "system:authenticated"]},
]
WILDCARDS = HEAD + (
    "omitStages: [ResponseStarted]\n"
    "rules:\n"
    "- level: None\n  users: [system:anonymous]\n  nonResourceURLs: ['/healthz*', /livez*]\n"
    "- level: RequestResponse\n  userGroups: [nnf-admins]\n  resources:\n"
    "  - group: nnf.cray.hpe.com\n    resources: ['*/status', nnfstorages]\n    resourceNames: [s1]\n"
    "- level: Request\n  verbs: [get, create]\n  resources:\n  - group: ''\n    resources: [pods/*]\n"
    "- level: Metadata\n  namespaces: ['', kube-system]\n  omitStages: [RequestReceived]\n"
    "- level: Request\n  resources:\n  - group: coordination.k8s.io\n  - group: rbac.authorization.k8s.io\n"
    "    resources: ['*']\n"
    "- level: Metadata\n  nonResourceURLs: ['*']\n"
    "- level: None\n  verbs: [watch]\n"
)
POLICY_TEXTS = {**{path.name: path.read_text() for path in POLICIES}, "wildcards": WILDCARDS}


def attributes(method, uri, user):
    return requestinfo.policy_request(requestinfo.request_info(method, uri), user)


@by_name(EVALUATION)
def test_both_engines_give_every_vectors_level_and_stages(case):
    expected = (case["level"], sorted(case["omitStages"]))
    standin_level, standin_stages = audit_policy.Policy(case["policy"]).evaluate(case["request"])
    collection_level, collection_stages = collection_policy.evaluate(case["policy"], case["request"])
    assert (standin_level, sorted(standin_stages)) == expected
    assert (collection_level, sorted(collection_stages)) == expected


@pytest.mark.parametrize("name", sorted(POLICY_TEXTS))
def test_both_engines_agree_on_real_policies_for_every_request(name):
    text = POLICY_TEXTS[name]
    standin, standin_warnings = audit_policy.load_policy(text)
    collection, collection_warnings = collection_policy.load_policy(text)
    assert standin_warnings == collection_warnings == []
    disagreements = []
    for (method, uri), user in itertools.product(REQUESTS, USERS):
        request = attributes(method, uri, user)
        standin_level, standin_stages = standin.evaluate(request)
        collection_level, collection_stages = collection_policy.evaluate(collection, request)
        if (standin_level, sorted(standin_stages)) != (collection_level, sorted(collection_stages or [])):
            disagreements.append((method, uri, user, standin_level, standin_stages, collection_level))
    assert disagreements == []


def test_the_wildcard_policy_reaches_every_level():
    policy, _warnings = audit_policy.load_policy(WILDCARDS)
    levels = {policy.evaluate(attributes(m, u, user))[0] for (m, u), user in itertools.product(REQUESTS, USERS)}
    assert levels == set(audit_policy.LEVELS)


@pytest.mark.parametrize(
    "text",
    [
        HEAD + "rules:\n- level: Metadata\n  verb: [get]\n",
        HEAD + "rules:\n- level: Metadata\n  level: None\n",
        "apiVersion: audit.k8s.io/v1beta1\nkind: Policy\nrules:\n- level: Metadata\n",
        "kind: Policy\nrules:\n- level: Metadata\n",
        "apiVersion: audit.k8s.io/v1\nrules:\n- level: Metadata\n",
        HEAD + "rules:\n- level: Everything\n",
        HEAD + "rules:\n- level: 5\n",
        HEAD + "rules: []\n",
        "",
    ],
    ids=["unknown", "duplicate", "v1beta1", "no-apiversion", "no-kind", "level", "type", "no-rules", "empty"],
)
def test_both_readers_accept_and_refuse_the_same_policies(text):
    try:
        audit_policy.load_policy(text)
        standin = "accepted"
    except audit_policy.PolicyLoadError:
        standin = "refused"
    try:
        collection_policy.load_policy(text)
        collection = "accepted"
    except collection_policy.PolicyError:
        collection = "refused"
    assert standin == collection


# --------------------------------------------------------------------------------------------------- the reader


def test_unknown_and_duplicate_fields_only_warn_like_the_lenient_fallback():
    policy, warnings = audit_policy.load_policy(HEAD + "rules:\n- level: Metadata\n  verb: [get]\n  level: None\n")
    assert warnings == [
        LENIENT + 'yaml: unmarshal errors:\n  line 6: key "level" already set in map, unknown field "rules[0].verb"'
    ]
    assert policy.evaluate(attributes("POST", "/api/v1/namespaces/default/pods", None)) == ("None", [])


def test_json_duplicates_and_unknown_fields_warn_too():
    text = '{"apiVersion": "audit.k8s.io/v1", "kind": "Policy", "rules": [{"level": "None", "Level": "x"}], "kind": ""}'
    _policy, warnings = audit_policy.load_policy(text)
    assert warnings == [LENIENT + 'unknown field "rules[0].Level", duplicate field "kind"']


@pytest.mark.parametrize("version", ["v1beta1", "v1alpha1"])
def test_the_removed_versions_are_not_registered(version):
    error = load_error(f"apiVersion: audit.k8s.io/{version}\nkind: Policy\nrules:\n- level: Metadata\n")
    assert error.message == (
        f'failed decoding: no kind "Policy" is registered for version "audit.k8s.io/{version}" in scheme {SCHEME}'
    )


def test_a_missing_kind_defaults_to_policy():
    policy, warnings = audit_policy.load_policy("apiVersion: audit.k8s.io/v1\nrules:\n- level: Request\n")
    assert (policy.rules[0]["level"], warnings) == ("Request", [])


@pytest.mark.parametrize("text", ["kind: Policy\nrules:\n- level: Metadata\n", "", "# comment\n", "---\n", "{}"])
def test_a_missing_api_version_is_the_internal_version_and_refused(text):
    assert load_error(text).message == "unknown group version field audit.k8s.io/__internal, Kind=Policy in policy"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (HEAD + "rules:\n- level: 5\n", "json: cannot unmarshal number into Go struct field PolicyRule.rules.level"),
        (
            HEAD + "rules: x\n",
            "json: cannot unmarshal string into Go struct field Policy.rules of type []v1.PolicyRule",
        ),
        (HEAD + "rules:\n- level: None\n  users: [yes]\n", "cannot unmarshal bool into Go struct field PolicyRule"),
        ("- a\n", "couldn't get version/kind; json parse error: json: cannot unmarshal array into Go value"),
        ("kind: Policy: x\n", "yaml: line 1: mapping values are not allowed"),
        ("apiVersion: v1\nkind: Policy\n", f'no kind "Policy" is registered for version "v1" in scheme {SCHEME}'),
        ("apiVersion: a/b/c\n", "unexpected GroupVersion string: a/b/c"),
        ("apiVersion: audit.k8s.io/v1\nkind: Event\n", "converting (v1.Event) to (audit.Policy): unknown conversion"),
    ],
    ids=["level", "rules", "yaml-bool", "list", "syntax", "core-v1", "slashes", "event"],
)
def test_decoding_errors_fail(text, message):
    error = load_error(text)
    assert error.message.startswith("failed decoding: ")
    assert message in error.message


def test_only_the_first_yaml_document_counts():
    policy, warnings = audit_policy.load_policy(HEAD + "rules:\n- level: Metadata\n---\nkind: Junk\n")
    assert (len(policy.rules), warnings) == (1, [])


def test_validation_errors_are_aggregated_in_order():
    text = HEAD + "omitStages: [Nope]\nrules:\n- level: ''\n- level: None\n  nonResourceURLs: [x*y]\n"
    assert load_error(text).message == (
        '[omitStages[0]: Invalid value: "Nope": allowed stages are RequestReceived,ResponseStarted,'
        "ResponseComplete,Panic, rules[0].level: Required value, rules[1].nonResourceURLs[0]: Invalid value: "
        "\"x*y\": non-resource URL rules must begin with a '/' character, rules[1].nonResourceURLs[0]: Invalid "
        "value: \"x*y\": non-resource URL wildcards '*' must be the final character of the rule]"
    )


@pytest.mark.parametrize(
    ("text", "quoted"),
    [
        ("plain", '"plain"'),
        ('a"b\\c', '"a\\"b\\\\c"'),
        ("\n\t\x00\x7f", '"\\n\\t\\x00\\x7f"'),
        ("é\u200b", '"é\\u200b"'),
    ],
)
def test_go_quote_is_strconv_quote(text, quoted):
    assert audit_policy.go_quote(text) == quoted


# --------------------------------------------------------------------------------------------------- evaluation


def test_policy_omit_stages_join_every_rules_and_stand_alone_without_a_match():
    policy, _warnings = audit_policy.load_policy(
        HEAD + "omitStages: [RequestReceived]\nrules:\n- level: Request\n  verbs: [list]\n  omitStages: [Panic]\n"
    )
    level, stages = policy.evaluate(attributes("GET", "/api/v1/pods", None))
    assert (level, sorted(stages)) == ("Request", ["Panic", "RequestReceived"])
    assert policy.evaluate(attributes("POST", "/api/v1/namespaces/a/pods", None)) == ("None", ["RequestReceived"])


@pytest.mark.parametrize(
    ("spec", "uri", "matches"),
    [
        ("pods/*", "/api/v1/namespaces/a/pods/p", True),  # upstream: "resource/*" also matches the resource itself
        ("pods/*", "/api/v1/namespaces/a/pods/p/log", True),
        ("*/log", "/api/v1/namespaces/a/pods/p/log", True),
        ("*/log", "/api/v1/namespaces/a/pods/p", False),
        ("*/status", "/api/v1/namespaces/a/pods/p/log", False),
        ("pods", "/api/v1/namespaces/a/pods/p/log", False),
        ("*", "/api/v1/namespaces/a/pods/p/exec", True),
    ],
)
def test_resource_forms(spec, uri, matches):
    rule = {"level": "Metadata", "resources": [{"group": "", "resources": [spec]}]}
    assert audit_policy.rule_matches(rule, attributes("GET", uri, None)) is matches


def test_unauthenticated_requests_match_no_user_or_group_rule():
    rules = [{"level": "Metadata", "users": ["u"]}, {"level": "Request", "userGroups": ["g"]}]
    assert [audit_policy.rule_matches(rule, attributes("GET", "/healthz", None)) for rule in rules] == [False, False]

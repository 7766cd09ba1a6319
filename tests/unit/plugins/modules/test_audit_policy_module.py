"""audit_policy as Ansible runs it: its action plugin, which checks the policy on the controller."""

import base64
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ansible_collections.nnf.kube_audit.plugins.module_utils import _errors
from ansible_collections.nnf.kube_audit.plugins.plugin_utils import _goyaml, _policy_task
from ansible_collections.nnf.kube_audit.plugins.plugin_utils import audit_policy as ap

COLLECTIONS = Path(__file__).resolve().parents[4] / ".tmp" / "collections"
POLICIES = Path(__file__).resolve().parents[3] / "fixtures" / "policies"
NNF_DEPLOY = POLICIES / "nnf-deploy-audit-policy.yaml"
LENIENT = "Audit policy contains errors, falling back to lenient decoding: strict decoding error: "
NNF_RULES = [
    {
        "level": "Metadata",
        "verbs": ["get", "list", "watch", "create", "patch", "update"],
        "resources": [
            {"group": "lus.cray.hpe.com"},
            {"group": "dataworkflowservices.github.io"},
            {"group": "nnf.cray.hpe.com"},
            {"group": "dm.cray.hpe.com"},
        ],
    }
]


# The task as Ansible runs it: the real action plugin (the checks run on the controller, in its process), in a
# process of its own so that a test can hide a library from it.
DRIVER = """
import json, sys
import action_runner
from ansible.errors import AnsibleActionFail
from ansible_collections.nnf.kube_audit.plugins.action import audit_policy
params, workdir, check_mode = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3] == "1"
action = action_runner.action_module(audit_policy, params, workdir, check_mode=check_mode)
try:
    result = action.run(task_vars={})
except AnsibleActionFail as exc:
    result = {"failed": True, "msg": exc.message}
print(json.dumps(result))
"""
HELPERS = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parent)]


def run_module(tmp_path, check_mode=False, **params):
    completed = subprocess.run(
        [sys.executable, "-c", DRIVER, json.dumps(params), str(tmp_path), "1" if check_mode else "0"],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=os.pathsep.join([*HELPERS, str(COLLECTIONS)])),
        check=False,
        timeout=60,
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)


def test_src_is_checked_and_returned_unchanged(tmp_path):
    result = run_module(tmp_path, src=str(NNF_DEPLOY))
    assert not result.get("failed"), result
    assert result["changed"] is False
    assert result["content"] == NNF_DEPLOY.read_text()
    assert result["checksum"] == hashlib.sha256(NNF_DEPLOY.read_bytes()).hexdigest()
    assert result["policy"] == ap.load_policy(NNF_DEPLOY.read_bytes())[0]
    assert result["policy_warnings"] == []
    assert "levels" not in result


@pytest.mark.parametrize("check_mode", [False, True])
def test_rules_build_the_canonical_document(tmp_path, check_mode):
    result = run_module(tmp_path, check_mode=check_mode, rules=NNF_RULES)
    assert result["changed"] is False
    assert result["content"] == (
        "apiVersion: audit.k8s.io/v1\n"
        "kind: Policy\n"
        "omitStages:\n"
        "  - RequestReceived\n"
        "rules:\n"
        "  - level: Metadata\n"
        "    verbs:\n"
        "      - get\n"
        "      - list\n"
        "      - watch\n"
        "      - create\n"
        "      - patch\n"
        "      - update\n"
        "    resources:\n"
        "      - group: lus.cray.hpe.com\n"
        "      - group: dataworkflowservices.github.io\n"
        "      - group: nnf.cray.hpe.com\n"
        "      - group: dm.cray.hpe.com\n"
    )
    assert result["checksum"] == hashlib.sha256(result["content"].encode()).hexdigest()
    # Same policy as the seed's hand-written example.
    assert result["policy"] == ap.load_policy((POLICIES / "nnf-docs-default.yaml").read_bytes())[0]


def test_rules_without_policy_wide_omit_stages(tmp_path):
    result = run_module(tmp_path, rules=[{"level": "Metadata"}], omit_stages=[])
    assert result["content"] == "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n  - level: Metadata\n"
    assert "omitStages" not in result["policy"]


def test_content_is_checked(tmp_path):
    content = (POLICIES / "nnf-docs-clientmount.yaml").read_text()
    result = run_module(tmp_path, content=content)
    assert result["content"] == content
    assert result["checksum"] == hashlib.sha256(content.encode()).hexdigest()
    assert result["policy"]["rules"][0]["users"] == ["system:serviceaccount:nnf-system:nnf-clientmount"]


def test_unknown_fields_are_warnings(tmp_path):
    result = run_module(tmp_path, rules=[{"level": "Metadata", "verb": ["get"]}])
    expected = LENIENT + 'unknown field "rules[0].verb"'
    assert not result.get("failed"), result
    assert result["policy_warnings"] == [expected]
    # ansible-core 2.19 module output carries warnings as structured events; older versions as strings.
    messages = [w["event"]["msg"] if isinstance(w, dict) else w for w in result["warnings"]]
    assert messages == [expected]
    assert result["policy"]["rules"] == [{"level": "Metadata"}]


@pytest.mark.parametrize(
    ("params", "msg"),
    [
        (
            {"rules": [{"level": "metadata"}]},
            'audit policy built from rules: rules[0].level: Unsupported value: "metadata": supported values: '
            '"None", "Metadata", "Request", "RequestResponse"',
        ),
        ({"rules": []}, "audit policy built from rules: loaded illegal policy with 0 rules"),
        (
            {"rules": [{"level": True}]},  # what `level: yes` in a playbook becomes
            "audit policy built from rules: failed decoding: json: cannot unmarshal bool into Go struct field "
            "PolicyRule.rules.level of type v1.Level",
        ),
        (
            {"content": "apiVersion: audit.k8s.io/v1beta1\nkind: Policy\nrules: [{level: Metadata}]\n"},
            'audit policy content: failed decoding: no kind "Policy" is registered for version '
            '"audit.k8s.io/v1beta1" in scheme "k8s.io/apiserver/pkg/audit/scheme.go:30"',
        ),
        (
            {"content": "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: on\n"},
            "audit policy content: failed decoding: json: cannot unmarshal bool into Go struct field "
            "PolicyRule.rules.level of type v1.Level",
        ),
    ],
    ids=["level", "no-rules", "boolean-level", "v1beta1", "yaml-1.1"],
)
def test_invalid_policies_fail_with_kube_apiserver_message(tmp_path, params, msg):
    result = run_module(tmp_path, **params)
    assert result["failed"] is True
    assert result["msg"] == msg
    assert result["error"] == msg.split(": ", 1)[1]


def test_invalid_file_names_the_file(tmp_path):
    policy = tmp_path / "policy.yaml"
    policy.write_text("apiVersion: audit.k8s.io/v1\nkind: Policy\nfoo: bar\nrules:\n- {}\n")
    result = run_module(tmp_path, src=str(policy))
    assert result["msg"] == f"audit policy file {policy}: rules[0].level: Required value"
    assert result["policy_warnings"] == [LENIENT + 'unknown field "foo"']
    missing = tmp_path / "missing.yaml"
    result = run_module(tmp_path, src=str(missing))
    assert result["msg"] == (
        f'audit policy file {missing}: failed to read file path "{missing}": open {missing}: no such file or directory'
    )


def test_requests_are_evaluated(tmp_path):
    requests = [
        {
            "user": {"name": "alice", "groups": ["system:authenticated"]},
            "verb": "create",
            "apiGroup": "kubeflow.org",
            "resource": "notebooks",
            "namespace": "x",
        },
        {"user": {"name": "system:masters"}, "verb": "get", "resource": "configmaps", "namespace": "nnf-dm-system"},
        {"user": {"name": "bob"}, "verb": "update", "resource": "configmaps", "namespace": "nnf-dm-system"},
        {"verb": "patch", "apiGroup": "nnf.cray.hpe.com", "resource": "nnfstorages", "subresource": "status"},
        {"verb": "get", "path": "/healthz"},
    ]
    result = run_module(tmp_path, src=str(NNF_DEPLOY), requests=requests)
    assert [level["level"] for level in result["levels"]] == [
        "RequestResponse",
        "None",
        "RequestResponse",
        "Metadata",
        "None",
    ]
    assert all(level["omit_stages"] == ["RequestReceived"] for level in result["levels"])
    assert all(level["omit_managed_fields"] is False for level in result["levels"])


def test_request_values_are_normalized(tmp_path):
    rules = [{"level": "Request", "nonResourceURLs": ["/metrics"]}, {"level": "Metadata"}]
    requests = [{"path": "/metrics", "resourceRequest": "no"}, {"path": "/metrics", "resourceRequest": "yes"}]
    result = run_module(tmp_path, rules=rules, requests=requests)
    assert [level["level"] for level in result["levels"]] == ["Request", "Metadata"]
    assert run_module(tmp_path, rules=rules, requests=[])["levels"] == []


@pytest.mark.parametrize(
    ("request_", "msg"),
    [
        ({"resources": "pods"}, "requests[0]: unknown key(s) resources; known keys are " + ", ".join(ap.REQUEST_KEYS)),
        ({"user": "alice"}, "requests[0]: user must be a dict with name and groups, or null"),
        (
            {"user": {"name": "alice", "group": ["g"]}},
            "requests[0]: unknown user key(s) group; known keys are name, groups",
        ),
        ({"user": {"name": "alice", "groups": "g"}}, "requests[0]: user.groups must be a list"),
    ],
)
def test_malformed_requests_fail(tmp_path, request_, msg):
    result = run_module(tmp_path, rules=[{"level": "Metadata"}], requests=[request_])
    assert (result["failed"], result["msg"]) == (True, msg)


@pytest.mark.parametrize(
    ("params", "msg"),
    [
        ({}, "one of the following is required: src, content, rules"),
        ({"src": "/x", "content": "y"}, "parameters are mutually exclusive: src|content|rules"),
    ],
)
def test_exactly_one_source(tmp_path, params, msg):
    result = run_module(tmp_path, **params)
    assert (result["failed"], result["msg"]) == (True, msg)


def test_an_invalid_policy_fails_with_its_warnings_and_no_traceback(tmp_path):
    result = run_module(tmp_path, content="apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- verb: [get]\n")
    assert result["failed"] is True
    assert result["msg"] == "audit policy content: rules[0].level: Required value"
    assert result["error"] == "rules[0].level: Required value"
    assert result["policy_warnings"] == [LENIENT + 'unknown field "rules[0].verb"']
    assert [item["event"]["msg"] if isinstance(item, dict) else item for item in result["warnings"]] == [
        LENIENT + 'unknown field "rules[0].verb"'
    ]
    assert "exception" not in result


def test_missing_pyyaml_is_reported_without_a_traceback(monkeypatch):
    # Ansible itself cannot start without PyYAML, so this is the engine's own guard, called as the action calls it.
    monkeypatch.setattr(_goyaml, "HAS_YAML", False)
    params = {"src": None, "content": None, "rules": [{"level": "Metadata"}], "omit_stages": [], "requests": None}
    with pytest.raises(_errors.KubeAuditError, match=r"^Failed to import the required Python library \(PyYAML\)"):
        _policy_task.check(params, _policy_task.subject_of(params))


# --- the bytes validated are the bytes returned ------------------------------------------------------

UNICODE_POLICY = 'apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n  users: ["jos\u00e9"]\n'


@pytest.mark.parametrize(
    ("data", "encoding", "codec"),
    [
        (b"\xff\xfe" + UNICODE_POLICY.encode("utf-16-le"), "UTF-16LE", "utf-16-le"),
        (b"\xfe\xff" + UNICODE_POLICY.encode("utf-16-be"), "UTF-16BE", "utf-16-be"),
        (b"\xef\xbb\xbf" + UNICODE_POLICY.encode(), "UTF-8", "utf-8"),
        (UNICODE_POLICY.encode(), "UTF-8", "utf-8"),
    ],
    ids=["utf-16le-bom", "utf-16be-bom", "utf-8-bom", "utf-8"],
)
def test_a_file_is_returned_as_exactly_the_bytes_validated(tmp_path, data, encoding, codec):
    policy = tmp_path / "policy.yaml"
    policy.write_bytes(data)

    result = run_module(tmp_path, src=str(policy))

    assert not result.get("failed"), result
    assert base64.b64decode(result["content_base64"]) == data
    assert result["checksum"] == hashlib.sha256(data).hexdigest()
    assert result["encoding"] == encoding
    assert result["content"] == data.decode(codec)  # readable text; a byte order mark stays as U+FEFF
    assert result["content"].lstrip("\ufeff") == UNICODE_POLICY
    assert result["policy"]["rules"] == [{"level": "Metadata", "users": ["jos\u00e9"]}]


def test_utf8_content_and_rules_are_returned_as_their_utf8_bytes(tmp_path):
    content = (POLICIES / "nnf-docs-clientmount.yaml").read_text()
    given = run_module(tmp_path, content=content)
    built = run_module(tmp_path, rules=NNF_RULES)
    for result in (given, built):
        assert base64.b64decode(result["content_base64"]) == result["content"].encode()
        assert result["checksum"] == hashlib.sha256(result["content"].encode()).hexdigest()
        assert result["encoding"] == "UTF-8"
    assert given["content"] == content


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (UNICODE_POLICY.encode("utf-16-le"), "control characters are not allowed"),  # UTF-16 without a BOM
        (UNICODE_POLICY.encode("utf-32"), "control characters are not allowed"),
        (UNICODE_POLICY.encode("latin-1"), "invalid trailing UTF-8 octet"),
        (b"\xff\xfe" + UNICODE_POLICY.encode("utf-16-le")[:-1], "incomplete UTF-16 character"),
    ],
    ids=["utf-16-no-bom", "utf-32", "latin-1", "cut-utf-16"],
)
def test_encodings_kube_apiserver_refuses_fail_naming_the_file(tmp_path, data, problem):
    policy = tmp_path / "policy.yaml"
    policy.write_bytes(data)
    result = run_module(tmp_path, src=str(policy))
    assert result["failed"] is True
    assert result["msg"] == f"audit policy file {policy}: failed decoding: yaml: {problem}"
    assert "content_base64" not in result


# --- extra rules go first; the linter's findings are warnings --------------------------------------------------


def test_extra_rules_go_before_the_rules(tmp_path):
    extra = [{"level": "None", "users": ["system:kube-proxy"]}]
    result = run_module(tmp_path, rules=[{"level": "Metadata"}], extra_rules=extra)
    assert [rule["level"] for rule in result["policy"]["rules"]] == ["None", "Metadata"]
    levels = run_module(
        tmp_path,
        content=result["content"],
        requests=[{"user": {"name": "system:kube-proxy"}, "verb": "get", "resource": "pods"}],
    )["levels"]
    assert levels[0]["level"] == "None"


def test_extra_rules_go_before_the_rules_of_a_content_and_keep_its_omitted_stages(tmp_path):
    content = (POLICIES / "nnf-docs-clientmount.yaml").read_text()
    result = run_module(tmp_path, content=content, extra_rules=[{"level": "RequestResponse", "verbs": ["delete"]}])
    given = ap.load_policy(content.encode())[0]
    assert result["policy"]["rules"] == [{"level": "RequestResponse", "verbs": ["delete"]}, *given["rules"]]
    assert result["policy"].get("omitStages") == given.get("omitStages")
    assert result["checksum"] == hashlib.sha256(base64.b64decode(result["content_base64"])).hexdigest()


def test_extra_rules_are_refused_with_src(tmp_path):
    result = run_module(tmp_path, src=str(NNF_DEPLOY), extra_rules=[{"level": "Metadata"}])
    assert result["failed"] is True
    assert "extra_rules cannot be added to src, a policy file installed byte for byte" in result["msg"]


def test_lint_warnings_are_returned_and_warned(tmp_path):
    result = run_module(tmp_path, rules=[{"level": "Metadata"}], omit_stages=[])
    assert result["lint_warnings"] == [
        "rules[0]: omitStages does not hold RequestReceived: every request is logged twice (RequestReceived and "
        "ResponseComplete)"
    ]
    messages = [w["event"]["msg"] if isinstance(w, dict) else w for w in result["warnings"]]
    assert [f"audit policy lint: {warning}" for warning in result["lint_warnings"]] == [
        m for m in messages if m.startswith("audit policy lint: ")
    ]
    assert run_module(tmp_path, rules=[{"level": "Metadata"}], omit_stages=[], lint=False)["lint_warnings"] == []

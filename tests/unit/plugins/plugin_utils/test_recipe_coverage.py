"""Whether a master's policy records what a recipe looks for: judged with the evaluator, on the master's policy file,
and said in the merged report, so that an empty result is never read as "nobody did it" when nobody would know."""

import base64
import hashlib
import os

import pytest

from ansible_collections.nnf.kube_audit.plugins.filter.audit_report import audit_report_merge, audit_report_table
from ansible_collections.nnf.kube_audit.plugins.module_utils import _audit_recipes
from ansible_collections.nnf.kube_audit.plugins.plugin_utils import _recipe_coverage

HERE = os.path.dirname(os.path.abspath(__file__))
PRESETS = os.path.join(HERE, "..", "..", "..", "..", "roles", "kube_audit", "files", "presets")
CATCH_ALL = b"apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n"
# Only one service account's Secret reads are recorded: the recipe's samples are recorded for that user.
ONE_ACCOUNT = b"""apiVersion: audit.k8s.io/v1
kind: Policy
rules:
- level: Metadata
  users: ["system:serviceaccount:nnf-system:nnf-clientmount"]
  resources:
  - group: ""
    resources: ["secrets"]
"""


def preset(name):
    with open(os.path.join(PRESETS, f"{name}.yaml"), "rb") as handle:
        return handle.read()


def recipe(name):
    found = _audit_recipes.RECIPES[name]
    return {"name": name, "description": found.description, "samples": [dict(s) for s in found.samples]}


def state(data, path="/etc/kubernetes/policies/audit-policy.yaml", **changes):
    found = {
        "path": path,
        "exists": data is not None,
        "size": None if data is None else len(data),
        "sha256": None if data is None else hashlib.sha256(data).hexdigest(),
        "content_base64": None if data is None else base64.b64encode(data).decode(),
        "error": None,
    }
    found.update(changes)
    return found


@pytest.mark.parametrize("name", sorted(_audit_recipes.RECIPES))
def test_a_catch_all_policy_records_every_recipe(name):
    assert _recipe_coverage.note(recipe(name), state(CATCH_ALL)) is None


@pytest.mark.parametrize(
    ("name", "recorded"),
    [
        ("deletions", False),  # the nnf preset records no deletions
        ("secret_access", False),
        ("exec", False),
        ("rbac_changes", False),
        ("denied", True),  # its NNF sample is recorded: a 403 on NNF resources would be logged
        ("impersonation", True),
    ],
)
def test_the_nnf_preset_is_said_not_to_record_what_it_does_not(name, recorded):
    note = _recipe_coverage.note(recipe(name), state(preset("nnf")))
    if recorded:
        assert note is None
    else:
        assert note.startswith(_recipe_coverage.NOT_RECORDED)
        assert name in note and "/etc/kubernetes/policies/audit-policy.yaml" in note


def test_a_policy_for_one_user_records_the_recipe_for_that_user():
    assert _recipe_coverage.note(recipe("secret_access"), state(ONE_ACCOUNT)) is None
    # ...and not what it does not name for anyone
    assert _recipe_coverage.note(recipe("exec"), state(ONE_ACCOUNT)).startswith(_recipe_coverage.NOT_RECORDED)


@pytest.mark.parametrize(
    ("policy_state", "expected"),
    [
        (state(None), "there is no audit policy at /etc/kubernetes/policies/audit-policy.yaml"),
        (state(b"x", error="cannot read /p: Permission denied"), "could not be read (cannot read /p: Permission"),
        (state(b"x" * 10, content_base64=None), "is too large to be judged here"),
        (state(b"apiVersion: audit.k8s.io/v1\nkind: Policy\nrules: []\n"), "is not valid (loaded illegal policy"),
    ],
    ids=["missing", "unreadable", "too-large", "invalid"],
)
def test_a_policy_that_cannot_be_judged_is_said_so(policy_state, expected):
    assert expected in _recipe_coverage.note(recipe("exec"), policy_state)


def test_no_recipe_or_no_policy_read_means_no_note():
    assert _recipe_coverage.note(None, state(CATCH_ALL)) is None
    assert _recipe_coverage.note(recipe("exec"), None) is None


def test_the_merged_report_names_the_master_whose_policy_does_not_record_the_recipe():
    def result(policy):
        return {
            "kube_audit_report_read": {
                "events": [],
                "stats": {"matched": 0, "returned": 0},
                "log_found": True,
                "recipe": recipe("secret_access"),
                "policy": state(policy),
            }
        }

    hostvars = {"master-1": result(CATCH_ALL), "master-2": result(preset("nnf"))}
    report = audit_report_merge(hostvars, ["master-1", "master-2"])
    assert "policy_note" not in report["hosts"][0]
    assert report["hosts"][1]["policy_note"].startswith(_recipe_coverage.NOT_RECORDED)
    lines = audit_report_table(report)
    assert next(line for line in lines if _recipe_coverage.NOT_RECORDED in line).startswith("master-2: ")
    assert not [line for line in lines if line.startswith("master-1: ") and _recipe_coverage.NOT_RECORDED in line]

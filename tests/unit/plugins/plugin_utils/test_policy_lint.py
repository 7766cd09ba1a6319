"""_policy_lint: warnings about an audit policy kube-apiserver accepts, judged with the collection's evaluator.

Policies are loaded with ``audit_policy.load_policy`` from YAML, the role's presets from their files.
"""

import copy
from pathlib import Path

import pytest

from ansible_collections.nnf.kube_audit.plugins.plugin_utils import audit_policy
from ansible_collections.nnf.kube_audit.plugins.plugin_utils._policy_lint import (
    CIS_3_2_2_AREAS,
    cis_3_2_2_coverage,
    lint,
)

PRESETS = Path(__file__).resolve().parents[4] / "roles" / "kube_audit" / "files" / "presets"
HEAD = "apiVersion: audit.k8s.io/v1\nkind: Policy\n"
OMIT = "omitStages: [RequestReceived]\n"
NO_CATCH_ALL = "no rule matches every request: requests no rule names are not audited (this may be intended)"
CIS_ALL_MISSING = (
    "CIS 3.2.2: the policy does not record: secrets access, pods/exec, pods/attach, pods/portforward, pods/proxy, "
    "RBAC writes"
)
TWICE = "omitStages does not hold RequestReceived: every request is logged twice (RequestReceived and ResponseComplete)"
AREAS = ["secrets access", "pods/exec", "pods/attach", "pods/portforward", "pods/proxy", "RBAC writes"]


def load(rules, omit=OMIT):
    """A policy from the YAML text of its rules (``rules:`` included), decoded as kube-apiserver decodes it."""
    policy, warnings = audit_policy.load_policy((HEAD + omit + rules).encode("utf-8"))
    assert warnings == []
    return policy


def contents(policy):
    """The "logs the contents of" warnings."""
    return [warning for warning in lint(policy) if "logs the contents of" in warning]


def content_warning(index, label, verbs, level):
    return (
        f"rules[{index}]: logs the contents of {label} ({verbs} at {level}): "
        f"the audit log holds them in clear text; record {label} at Metadata"
    )


# --------------------------------------------------------------------------------------------------
# Secret contents logged
# --------------------------------------------------------------------------------------------------


def test_a_request_response_catch_all_logs_every_sensitive_resource():
    assert contents(load("rules:\n- level: RequestResponse\n")) == [
        content_warning(0, "secrets", "create, update, patch, get, list, watch", "RequestResponse"),
        content_warning(0, "configmaps", "create, update, patch, get, list, watch", "RequestResponse"),
        content_warning(0, "tokenreviews", "create", "RequestResponse"),
        content_warning(0, "serviceaccounts/token", "create", "RequestResponse"),
    ]


def test_request_level_logs_the_writes_only():
    assert contents(load("rules:\n- level: Request\n")) == [
        content_warning(0, "secrets", "create, update, patch", "Request"),
        content_warning(0, "configmaps", "create, update, patch", "Request"),
        content_warning(0, "tokenreviews", "create", "Request"),
        content_warning(0, "serviceaccounts/token", "create", "Request"),
    ]


def test_reads_at_request_level_are_not_flagged():
    policy = load("rules:\n- level: Request\n  verbs: [get, list, watch]\n- level: Metadata\n")
    assert contents(policy) == []


def test_metadata_catch_all_logs_no_contents():
    assert contents(load("rules:\n- level: Metadata\n")) == []


def test_the_first_matching_rule_decides():
    # The sensitive resources at Metadata first, as the reference policy does: the RequestResponse catch-all after
    # them never sees them.
    policy = load(
        "rules:\n"
        "- level: Metadata\n"
        "  resources:\n"
        "  - group: ''\n"
        "    resources: [secrets, serviceaccounts/token]\n"
        "  - group: authentication.k8s.io\n"
        "    resources: [tokenreviews]\n"
        "- level: RequestResponse\n"
    )
    assert contents(policy) == [
        content_warning(1, "configmaps", "create, update, patch, get, list, watch", "RequestResponse"),
    ]


def test_a_rule_below_a_none_rule_is_found_for_other_users():
    policy = load(
        "rules:\n"
        "- level: None\n"
        "  users: [admin]\n"
        "  resources:\n"
        "  - group: ''\n"
        "    resources: [secrets]\n"
        "- level: RequestResponse\n"
        "  verbs: [create]\n"
        "  resources:\n"
        "  - group: ''\n"
        "    resources: [secrets]\n"
    )
    assert contents(policy) == [content_warning(1, "secrets", "create", "RequestResponse")]


def test_a_none_rule_for_everyone_hides_the_rule_after_it():
    policy = load(
        "rules:\n"
        "- level: None\n"
        "  resources:\n"
        "  - group: ''\n"
        "    resources: [secrets]\n"
        "- level: RequestResponse\n"
        "  resources:\n"
        "  - group: ''\n"
        "    resources: [secrets]\n"
    )
    assert contents(policy) == []


@pytest.mark.parametrize(
    "target",
    [
        "  users: ['system:serviceaccount:ops:writer']\n",
        "  userGroups: [ops]\n",
        "  users: [alice]\n  userGroups: [ops]\n",
        "  namespaces: [ops]\n",
    ],
    ids=["user", "group", "user-and-group", "namespace"],
)
def test_a_rule_aimed_at_one_user_group_or_namespace_is_found(target):
    policy = load(
        "rules:\n- level: Request\n"
        + target
        + "  verbs: [patch]\n  resources:\n  - group: ''\n    resources: [secrets]\n"
    )
    assert contents(policy) == [content_warning(0, "secrets", "patch", "Request")]


def test_a_rule_aimed_at_one_resource_name_is_found():
    policy = load(
        "rules:\n"
        "- level: RequestResponse\n"
        "  verbs: [update]\n"
        "  resources:\n"
        "  - group: ''\n"
        "    resources: [configmaps]\n"
        "    resourceNames: [settings]\n"
    )
    assert contents(policy) == [content_warning(0, "configmaps", "update", "RequestResponse")]


def test_the_wrong_group_is_not_a_sensitive_resource():
    policy = load(
        "rules:\n"
        "- level: RequestResponse\n"
        "  resources:\n"
        "  - group: example.com\n"
        "    resources: [secrets, configmaps, tokenreviews]\n"
        "- level: Metadata\n"
    )
    assert contents(policy) == []


def test_tokenreviews_are_cluster_scoped():
    # A namespace rule never sees a tokenreview (cluster scope), while the cluster-scope rule ("") does.
    namespaced = load(
        "rules:\n"
        "- level: RequestResponse\n"
        "  namespaces: [default]\n"
        "  resources:\n"
        "  - group: authentication.k8s.io\n"
        "- level: Metadata\n"
    )
    assert contents(namespaced) == []
    cluster = load(
        "rules:\n"
        "- level: RequestResponse\n"
        "  namespaces: ['']\n"
        "  resources:\n"
        "  - group: authentication.k8s.io\n"
        "- level: Metadata\n"
    )
    assert contents(cluster) == [content_warning(0, "tokenreviews", "create", "RequestResponse")]


def test_one_warning_per_resource_and_rule():
    policy = load(
        "rules:\n"
        "- level: RequestResponse\n"
        "  namespaces: [kube-system]\n"
        "  resources:\n"
        "  - group: ''\n"
        "    resources: [configmaps]\n"
        "- level: Request\n"
        "  resources:\n"
        "  - group: ''\n"
        "    resources: [configmaps]\n"
        "- level: Metadata\n"
    )
    assert contents(policy) == [
        content_warning(0, "configmaps", "create, update, patch, get, list, watch", "RequestResponse"),
        content_warning(1, "configmaps", "create, update, patch", "Request"),
    ]


# --------------------------------------------------------------------------------------------------
# No catch-all
# --------------------------------------------------------------------------------------------------


def test_a_policy_without_a_catch_all_is_told():
    policy = load("rules:\n- level: Metadata\n  resources:\n  - group: ''\n  - group: apps\n")
    assert NO_CATCH_ALL in lint(policy)


def test_a_catch_all_none_still_matches_every_request():
    assert NO_CATCH_ALL not in lint(load("rules:\n- level: None\n"))


def test_a_policy_that_covers_resources_but_not_urls_is_told():
    assert NO_CATCH_ALL in lint(load("rules:\n- level: Metadata\n  resources:\n  - group: example.com\n"))


def test_a_group_everyone_is_in_catches_all():
    assert NO_CATCH_ALL not in lint(load("rules:\n- level: Metadata\n  userGroups: ['system:authenticated']\n"))


# --------------------------------------------------------------------------------------------------
# RequestReceived not omitted
# --------------------------------------------------------------------------------------------------


def test_request_received_logged_names_the_first_rule_that_logs():
    policy = load("rules:\n- level: None\n  nonResourceURLs: [/healthz]\n- level: Metadata\n", omit="")
    assert lint(policy)[0] == "rules[1]: " + TWICE


def test_request_received_omitted_for_the_policy():
    assert not any(TWICE in warning for warning in lint(load("rules:\n- level: Metadata\n")))


def test_request_received_omitted_by_every_logging_rule():
    policy = load(
        "rules:\n- level: None\n  nonResourceURLs: [/healthz]\n- level: Metadata\n  omitStages: [RequestReceived]\n",
        omit="",
    )
    assert not any(TWICE in warning for warning in lint(policy))


def test_request_received_omitted_by_one_rule_only():
    policy = load(
        "rules:\n"
        "- level: Metadata\n"
        "  resources:\n"
        "  - group: apps\n"
        "  omitStages: [RequestReceived]\n"
        "- level: Metadata\n",
        omit="omitStages: [ResponseStarted]\n",
    )
    assert "rules[1]: " + TWICE in lint(policy)


def test_a_policy_that_logs_nothing_logs_nothing_twice():
    assert not any(TWICE in warning for warning in lint(load("rules:\n- level: None\n", omit="")))


# --------------------------------------------------------------------------------------------------
# Unreachable rules
# --------------------------------------------------------------------------------------------------


def test_rules_after_a_catch_all_are_never_reached():
    policy = load(
        "rules:\n"
        "- level: None\n"
        "  nonResourceURLs: [/healthz]\n"
        "- level: Metadata\n"
        "- level: RequestResponse\n"
        "  resources:\n"
        "  - group: ''\n"
        "    resources: [secrets]\n"
        "- level: None\n"
    )
    assert lint(policy)[:2] == [
        "rules[2]: never reached: rules[1] matches every request first",
        "rules[3]: never reached: rules[1] matches every request first",
    ]


def test_a_catch_all_last_hides_nothing():
    policy = load("rules:\n- level: None\n  nonResourceURLs: [/healthz]\n- level: Metadata\n")
    assert not any("never reached" in warning for warning in lint(policy))


def test_an_unreachable_rule_is_not_counted_as_logging_request_received():
    policy = load("rules:\n- level: None\n- level: Metadata\n", omit="")
    assert lint(policy) == ["rules[1]: never reached: rules[0] matches every request first", CIS_ALL_MISSING]


# --------------------------------------------------------------------------------------------------
# CIS 3.2.2
# --------------------------------------------------------------------------------------------------


def test_a_metadata_catch_all_covers_cis_3_2_2():
    policy = load("rules:\n- level: Metadata\n")
    assert cis_3_2_2_coverage(policy) == dict.fromkeys(AREAS, True)
    assert lint(policy) == []


def test_cis_3_2_2_areas_are_in_report_order():
    assert [area for area, _requests in CIS_3_2_2_AREAS] == AREAS


def test_cis_3_2_2_missing_areas_are_listed():
    policy = load(
        "rules:\n"
        "- level: Metadata\n"
        "  resources:\n"
        "  - group: ''\n"
        "    resources: [secrets, pods/attach, pods/portforward]\n"
        "  - group: rbac.authorization.k8s.io\n"
    )
    assert cis_3_2_2_coverage(policy) == {
        "secrets access": True,
        "pods/exec": False,
        "pods/attach": True,
        "pods/portforward": True,
        "pods/proxy": False,
        "RBAC writes": True,
    }
    assert lint(policy)[-1] == "CIS 3.2.2: the policy does not record: pods/exec, pods/proxy"


def test_cis_3_2_2_needs_every_request_of_an_area():
    # exec over a websocket is a get: recording the create alone leaves it out; a None rule hides RBAC writes.
    policy = load(
        "rules:\n"
        "- level: None\n"
        "  resources:\n"
        "  - group: rbac.authorization.k8s.io\n"
        "    resources: [clusterrolebindings]\n"
        "- level: Metadata\n"
        "  verbs: [create]\n"
        "  resources:\n"
        "  - group: ''\n"
        "    resources: [pods/exec]\n"
        "- level: Metadata\n"
        "  resources:\n"
        "  - group: rbac.authorization.k8s.io\n"
        "  - group: ''\n"
        "    resources: [secrets, pods/attach]\n"
    )
    coverage = cis_3_2_2_coverage(policy)
    assert coverage["pods/exec"] is False
    assert coverage["RBAC writes"] is False
    assert coverage["pods/attach"] is True


def test_cis_3_2_2_ignores_a_rule_for_another_user():
    policy = load("rules:\n- level: Metadata\n  users: [admin]\n")
    assert cis_3_2_2_coverage(policy) == dict.fromkeys(AREAS, False)
    assert lint(policy)[-1] == CIS_ALL_MISSING


# --------------------------------------------------------------------------------------------------
# Order, and the policy left as it was
# --------------------------------------------------------------------------------------------------


def test_warnings_come_in_rule_order_then_policy_wide():
    policy = load(
        "rules:\n"
        "- level: Request\n"
        "  resources:\n"
        "  - group: ''\n"
        "    resources: [configmaps]\n"
        "- level: RequestResponse\n"
        "  verbs: [create]\n"
        "  resources:\n"
        "  - group: ''\n"
        "    resources: [secrets]\n",
        omit="",
    )
    assert lint(policy) == [
        content_warning(0, "configmaps", "create, update, patch", "Request"),
        "rules[0]: " + TWICE,
        content_warning(1, "secrets", "create", "RequestResponse"),
        NO_CATCH_ALL,
        CIS_ALL_MISSING,
    ]


def test_lint_leaves_the_policy_as_it_was():
    policy = load("rules:\n- level: RequestResponse\n  users: [alice]\n- level: Metadata\n")
    before = copy.deepcopy(policy)
    lint(policy)
    cis_3_2_2_coverage(policy)
    assert policy == before


# --------------------------------------------------------------------------------------------------
# The role's presets
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("preset", "expected"),
    [
        ("nnf.yaml", [NO_CATCH_ALL, CIS_ALL_MISSING]),
        ("nnf_clientmount.yaml", [NO_CATCH_ALL, CIS_ALL_MISSING]),
        # On purpose: the deploy preset keeps configmap writes in nnf-dm-system whole (its rules[3]).
        (
            "nnf_deploy.yaml",
            [
                content_warning(3, "configmaps", "create, update, patch", "RequestResponse"),
                NO_CATCH_ALL,
                CIS_ALL_MISSING,
            ],
        ),
    ],
)
def test_the_nnf_presets(preset, expected):
    policy, warnings = audit_policy.load_policy((PRESETS / preset).read_bytes())
    assert warnings == []
    assert lint(policy) == expected
    assert cis_3_2_2_coverage(policy) == dict.fromkeys(AREAS, False)

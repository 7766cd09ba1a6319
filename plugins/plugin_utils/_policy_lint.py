# Copyright: (c) 2026, NNF kube_audit maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Warnings about an audit policy kube-apiserver would accept: what it logs that it should not, and what it misses.

Controller side, plain Python. A policy is a decoded ``audit.k8s.io/v1`` Policy, the dict
``audit_policy.load_policy(data)`` returns. Nothing here makes a policy invalid: these are warnings, each naming the
rule it is about the way kube-apiserver's validation errors name fields (``rules[3]``).

* ``lint(policy)``: the warnings, rule-indexed ones in rule order, then the policy-wide ones.
* ``cis_3_2_2_coverage(policy)``: ``{area: recorded}`` for the areas CIS 3.2.2 asks an audit policy to cover.

Rules are judged as kube-apiserver judges them, by the FIRST rule matching sample requests (the collection's
evaluator, ``audit_policy.evaluate_request``), not by reading each rule on its own; only "never reached" is read from
the rules' structure. The warnings:

* ``rules[N]: logs the contents of secrets (...)``: for secrets, configmaps, tokenreviews and
  serviceaccounts/token, a write whose first matching rule is at Request or RequestResponse, or a read at
  RequestResponse, puts their contents in the audit log in clear text. Sample requests come from an ordinary user
  (``lint-check``, group ``system:authenticated``) in namespaces ``default`` and ``kube-system``, and from the users,
  groups, namespaces and resourceNames the rules themselves name, so that a rule aimed at one service account or one
  namespace is found. tokenreviews and serviceaccounts/token are only ever created (``create`` is the one verb their
  API serves); tokenreviews is cluster-scoped. The level alone decides (omitted stages are not considered).
* ``rules[N]: omitStages does not hold RequestReceived``: the first rule that can log (level other than None, not
  after a catch-all) without RequestReceived in its own or the policy's omitStages.
* ``rules[N]: never reached``: a rule after a catch-all (a rule naming no users, userGroups, verbs, resources,
  namespaces or nonResourceURLs).
* ``no rule matches every request``: an ordinary request no rule names (a custom resource, a non-resource URL) is
  not audited.
* ``CIS 3.2.2: the policy does not record: ...``: the areas of ``cis_3_2_2_coverage`` that are not recorded.
"""

from ansible_collections.nnf.kube_audit.plugins.plugin_utils import audit_policy

LINT_USER_NAME = "lint-check"
AUTHENTICATED = "system:authenticated"
LINT_USER = {"name": LINT_USER_NAME, "groups": [AUTHENTICATED]}
SAMPLE_NAMESPACES = ("default", "kube-system")
REQUEST_RECEIVED = "RequestReceived"
NO_LEVEL = audit_policy.DEFAULT_LEVEL  # "None"
BODY_LEVELS = ("Request", "RequestResponse")  # levels that log the request body
WRITES = ("create", "update", "patch")
READS = ("get", "list", "watch")

# What must not be logged in clear text. ``label`` is the name the warning uses.
SENSITIVE = (
    {
        "label": "secrets",
        "apiGroup": "",
        "resource": "secrets",
        "subresource": "",
        "namespaced": True,
        "verbs": WRITES + READS,
    },
    {
        "label": "configmaps",
        "apiGroup": "",
        "resource": "configmaps",
        "subresource": "",
        "namespaced": True,
        "verbs": WRITES + READS,
    },
    {
        "label": "tokenreviews",
        "apiGroup": "authentication.k8s.io",
        "resource": "tokenreviews",
        "subresource": "",
        "namespaced": False,
        "verbs": ("create",),
    },
    {
        "label": "serviceaccounts/token",
        "apiGroup": "",
        "resource": "serviceaccounts",
        "subresource": "token",
        "namespaced": True,
        "verbs": ("create",),
    },
)

# Requests a catch-all would match and a targeted policy would not name: a custom resource, a non-resource URL.
CATCH_ALL_PROBES = (
    {
        "verb": "get",
        "apiGroup": "example.com",
        "apiVersion": "v1",
        "resource": "widgets",
        "namespace": LINT_USER_NAME,
        "name": LINT_USER_NAME,
        "user": LINT_USER,
    },
    {"verb": "get", "path": "/" + LINT_USER_NAME, "resourceRequest": False, "user": LINT_USER},
)


def _probe(verb, group, resource, namespace="default", subresource=""):
    return {
        "verb": verb,
        "apiGroup": group,
        "apiVersion": "v1",
        "resource": resource,
        "subresource": subresource,
        "namespace": namespace,
        "user": LINT_USER,
    }


def _pod_subresource(subresource):
    return tuple(_probe(verb, "", "pods", subresource=subresource) for verb in ("create", "get"))


_RBAC = "rbac.authorization.k8s.io"

# CIS 3.2.2 ("ensure that the audit policy covers key security concerns"): area -> requests that must all be
# recorded (a level other than None) for the area to count as covered. exec, attach, portforward and proxy are
# reached with POST (create) and with GET (get, websockets); secrets are read with get, list and watch.
CIS_3_2_2_AREAS = (
    ("secrets access", tuple(_probe(verb, "", "secrets") for verb in READS)),
    ("pods/exec", _pod_subresource("exec")),
    ("pods/attach", _pod_subresource("attach")),
    ("pods/portforward", _pod_subresource("portforward")),
    ("pods/proxy", _pod_subresource("proxy")),
    (
        "RBAC writes",
        (
            _probe("create", _RBAC, "roles"),
            _probe("create", _RBAC, "clusterroles", namespace=""),
            _probe("create", _RBAC, "rolebindings"),
            _probe("create", _RBAC, "clusterrolebindings", namespace=""),
        ),
    ),
)

_RULE_FILTERS = ("users", "userGroups", "verbs", "resources", "namespaces", "nonResourceURLs")
_TAG = "#"


def _rules(policy):
    return [rule or {} for rule in (policy or {}).get("rules") or []]


def _indexed(policy):
    """A copy of ``policy`` whose rules' levels are their indexes (``#0``, ``#1``...), for ``_first_match``.

    ``evaluate_request`` reports the matching rule's level, not which rule matched; with the levels replaced by
    indexes it tells the rule, through the evaluator's public entry point (no private matcher is called here).
    """
    return {"rules": [dict(rule, level=f"{_TAG}{index}") for index, rule in enumerate(_rules(policy))]}


def _first_match(indexed, request):
    """Index of the first rule of ``indexed`` (``_indexed``'s copy) matching ``request``, or None."""
    level = audit_policy.evaluate_request(indexed, request)["level"]
    return int(level[len(_TAG) :]) if level.startswith(_TAG) else None


def _path(index):
    return f"rules[{index}]"


def _is_catch_all(rule):
    return not any(rule.get(key) for key in _RULE_FILTERS)


def _first_catch_all(rules):
    return next((index for index, rule in enumerate(rules) if _is_catch_all(rule)), None)


def _add(ordered, value):
    if value not in ordered:
        ordered.append(value)


def sample_users(rules):
    """The ordinary user, then users made from what each rule names (its users x its userGroups). Also what the
    recipes' coverage (``_recipe_coverage``) asks the policy about."""
    users = [LINT_USER]
    for rule in rules:
        names = rule.get("users") or []
        groups = rule.get("userGroups") or []
        if not names and not groups:
            continue
        for name in names or [LINT_USER_NAME]:
            for group in groups or [None]:
                extra = [group] if group and group != AUTHENTICATED else []
                _add(users, {"name": name, "groups": [AUTHENTICATED, *extra]})
    return users


def _sample_namespaces(rules, namespaced):
    if not namespaced:
        return [""]
    namespaces = list(SAMPLE_NAMESPACES)
    for rule in rules:
        for namespace in rule.get("namespaces") or []:
            if namespace:  # "" is the cluster scope, which a namespaced resource is never in
                _add(namespaces, namespace)
    return namespaces


def _sample_names(rules):
    names = [""]
    for rule in rules:
        for entry in rule.get("resources") or []:
            for name in (entry or {}).get("resourceNames") or []:
                _add(names, name)
    return names


def _logs_contents(verb, level):
    return (verb in WRITES and level in BODY_LEVELS) or (verb in READS and level == "RequestResponse")


def _content_warnings(rules, indexed):
    """``{rule index: [warning]}``: the sensitive resources each rule logs the contents of."""
    users = sample_users(rules)
    names = _sample_names(rules)
    found = {}  # (rule index, position in SENSITIVE) -> verbs, in order
    for position, spec in enumerate(SENSITIVE):
        namespaces = _sample_namespaces(rules, spec["namespaced"])
        for verb in spec["verbs"]:
            for user in users:
                for namespace in namespaces:
                    for name in names:
                        request = {
                            "verb": verb,
                            "apiGroup": spec["apiGroup"],
                            "apiVersion": "v1",
                            "resource": spec["resource"],
                            "subresource": spec["subresource"],
                            "namespace": namespace,
                            "name": name,
                            "user": user,
                        }
                        index = _first_match(indexed, request)
                        if index is not None and _logs_contents(verb, rules[index].get("level")):
                            _add(found.setdefault((index, position), []), verb)
    warnings = {}
    for index, position in sorted(found):
        level = rules[index].get("level")
        label = SENSITIVE[position]["label"]
        verbs = ", ".join(found[(index, position)])
        warnings.setdefault(index, []).append(
            f"{_path(index)}: logs the contents of {label} ({verbs} at {level}): "
            f"the audit log holds them in clear text; record {label} at Metadata"
        )
    return warnings


def _request_received_warning(policy, rules, reachable):
    """``(index, warning)`` for the first rule that can log RequestReceived, or None."""
    if REQUEST_RECEIVED in ((policy or {}).get("omitStages") or []):
        return None
    for index in range(reachable):
        rule = rules[index]
        if rule.get("level") != NO_LEVEL and REQUEST_RECEIVED not in (rule.get("omitStages") or []):
            return index, (
                f"{_path(index)}: omitStages does not hold RequestReceived: every request is logged twice "
                "(RequestReceived and ResponseComplete)"
            )
    return None


def cis_3_2_2_coverage(policy):
    """``{area: bool}``: whether ``policy`` records each area CIS 3.2.2 asks for, for an ordinary user.

    An area is recorded when every one of its requests (``CIS_3_2_2_AREAS``) gets a level other than None.
    """
    return {
        area: all(audit_policy.evaluate_request(policy, request)["level"] != NO_LEVEL for request in requests)
        for area, requests in CIS_3_2_2_AREAS
    }


def lint(policy):
    """Warnings (strings) about ``policy``: rule-indexed ones in rule order, then the policy-wide ones."""
    rules = _rules(policy)
    indexed = _indexed(policy)
    catch_all = _first_catch_all(rules)
    reachable = len(rules) if catch_all is None else catch_all + 1

    by_rule = _content_warnings(rules, indexed)
    request_received = _request_received_warning(policy, rules, reachable)
    if request_received is not None:
        by_rule.setdefault(request_received[0], []).append(request_received[1])
    for index in range(reachable, len(rules)):
        by_rule.setdefault(index, []).append(
            f"{_path(index)}: never reached: {_path(catch_all)} matches every request first"
        )

    warnings = [warning for index in sorted(by_rule) for warning in by_rule[index]]
    if any(_first_match(indexed, request) is None for request in CATCH_ALL_PROBES):
        warnings.append("no rule matches every request: requests no rule names are not audited (this may be intended)")
    missing = [area for area, recorded in cis_3_2_2_coverage(policy).items() if not recorded]
    if missing:
        warnings.append("CIS 3.2.2: the policy does not record: " + ", ".join(missing))
    return warnings

# Copyright: (c) 2026, NNF kube_audit maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The ``audit_policy`` task, from its options to its result (run by its action plugin, on the controller).

The policy engine is ``audit_policy.py``; this is the task around it (option checks, the result's keys). The
action plugin runs it in the controller's own process, whatever the task's host.
"""

import base64

from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.nnf.kube_audit.plugins.module_utils._errors import KubeAuditError
from ansible_collections.nnf.kube_audit.plugins.plugin_utils import _goyaml, _policy_lint, audit_policy

ARGUMENT_SPEC = dict(
    src=dict(type="path"),
    content=dict(type="str"),
    rules=dict(type="list", elements="dict"),
    omit_stages=dict(type="list", elements="str", default=["RequestReceived"]),
    extra_rules=dict(type="list", elements="dict", default=[]),
    lint=dict(type="bool", default=True),
    requests=dict(type="list", elements="dict"),
)
ARGUMENT_RULES = dict(mutually_exclusive=[("src", "content", "rules")], required_one_of=[("src", "content", "rules")])
_MISSING_PYYAML = (
    "Failed to import the required Python library (PyYAML) on the Ansible controller; install PyYAML "
    "(python3-yaml) where ansible-playbook runs"
)


def subject_of(params):
    """How messages name the policy."""
    if params["src"] is not None:
        return "audit policy file " + params["src"]
    if params["content"] is not None:
        return "audit policy content"
    return "audit policy built from rules"


USER_KEYS = ("name", "groups")


def request_problem(request):
    """Why a request dict is malformed, or None. Catches misspelled keys before they silently match."""
    if not isinstance(request, dict):
        return "must be a dict"
    unknown = sorted(set(request) - set(audit_policy.REQUEST_KEYS))
    if unknown:
        return f"unknown key(s) {', '.join(unknown)}; known keys are {', '.join(audit_policy.REQUEST_KEYS)}"
    user = request.get("user")
    if user is not None:
        if not isinstance(user, dict):
            return "user must be a dict with name and groups, or null"
        unknown = sorted(set(user) - set(USER_KEYS))
        if unknown:
            return f"unknown user key(s) {', '.join(unknown)}; known keys are name, groups"
        if not isinstance(user.get("groups") or [], list):
            return "user.groups must be a list"
    return None


def normalize_request(request):
    """Request values as kube-apiserver sees them: strings, and a real boolean for resourceRequest."""
    normalized = {}
    for key, value in request.items():
        if value is None:
            normalized[key] = None
        elif key == "user":
            groups = [str(group) for group in value.get("groups") or []]
            normalized[key] = {"name": str(value.get("name") or ""), "groups": groups}
        elif key == "resourceRequest":
            normalized[key] = boolean(value, strict=False)
        else:
            normalized[key] = str(value)
    return normalized


def check(params, subject):
    """The task's result for validated ``params``: the policy checked, and the levels of the requests.

    A policy kube-apiserver would refuse, malformed requests and a missing PyYAML are raised as KubeAuditError, for
    the error boundary (``_errors``) to report without a traceback; an invalid policy's failure still returns
    ``error`` and ``policy_warnings``, and its ``warnings``.
    """
    if not _goyaml.HAS_YAML:
        raise KubeAuditError(_MISSING_PYYAML, {"exception": _goyaml.YAML_IMPORT_ERROR})
    requests = params["requests"] or []
    for index, request in enumerate(requests):
        problem = request_problem(request)
        if problem:
            raise KubeAuditError(f"requests[{index}]: {problem}")

    extra_rules = params["extra_rules"] or []
    if extra_rules and params["src"] is not None:
        raise KubeAuditError(
            f"{subject}: extra_rules cannot be added to src, a policy file installed byte for byte; put them in the "
            "file, or give its rules as rules or its text as content"
        )
    try:
        if params["src"] is not None:
            data = audit_policy.read_policy_file(params["src"])
        elif params["content"] is not None:
            data = params["content"].encode("utf-8")
            if extra_rules:  # first match wins: the user's rules go before the policy's own
                given, _warnings = audit_policy.load_policy(data)
                document = audit_policy.build_policy(extra_rules + given["rules"], given.get("omitStages"))
                if given.get("omitManagedFields"):
                    document["omitManagedFields"] = True
                data = audit_policy.render_policy(document).encode("utf-8")
        else:
            document = audit_policy.build_policy(extra_rules + params["rules"], params["omit_stages"])
            data = audit_policy.render_policy(document).encode("utf-8")
        policy, warnings = audit_policy.load_policy(data)
    except audit_policy.PolicyError as error:
        raise KubeAuditError(
            f"{subject}: {error.message}",
            {"error": error.message, "policy_warnings": error.warnings, "warnings": list(error.warnings)},
        ) from None

    # Exactly the bytes checked go back, as base64; the text is for people, in the encoding kube-apiserver uses.
    content, encoding = audit_policy.policy_text(data)
    result = dict(
        changed=False,
        policy=policy,
        content=content,
        content_base64=base64.b64encode(data).decode("ascii"),
        encoding=encoding,
        checksum=audit_policy.checksum(data),
        policy_warnings=warnings,
        lint_warnings=_policy_lint.lint(policy) if params["lint"] else [],
        warnings=list(warnings),
    )
    result["warnings"] += [f"audit policy lint: {warning}" for warning in result["lint_warnings"]]
    if params["requests"] is not None:
        result["levels"] = [audit_policy.evaluate_request(policy, normalize_request(request)) for request in requests]
    return result

# Copyright: (c) 2026, NNF kube_audit maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Which request proves that a master audits: a harmless read its audit policy records, for the kubeconfig's user.

Chosen on the controller, with the collection's policy evaluator (``audit_policy.evaluate_request``), as
kube-apiserver would judge it for the user the kubeconfig's client certificate authenticates as (the subject's CN
is the user name, each O a group; the API server adds ``system:authenticated``):

* the candidates are ``get`` requests built from the policy's own rules, in order (each rule's first group and
  resource, first resourceName or a name that does not exist, first namespace or the cluster scope; a
  nonResourceURL without its ``*``), then a few reads every cluster serves (``/version``, namespace ``default``);
* a candidate proves something when the policy gives it a level other than None and does not omit both stages a
  ``get`` goes through (RequestReceived, ResponseComplete);
* never a read of Secrets or tokens (whatever the policy says about them), never a subresource (``pods/exec``
  with GET is a connection, not a read).

A name that does not exist is the point: the API server answers 404, which it audits like any other answer, and
nothing is read.
"""

from ansible_collections.nnf.kube_audit.plugins.plugin_utils import audit_policy

try:  # ansible-core depends on it: only a broken controller lacks it
    from cryptography import x509
    from cryptography.x509.oid import NameOID
except ImportError as exc:
    x509 = NameOID = None
    CRYPTOGRAPHY_IMPORT_ERROR = str(exc)
else:
    CRYPTOGRAPHY_IMPORT_ERROR = None

PROBE_NAME = "nnf-kube-audit-probe"
AUTHENTICATED = "system:authenticated"
LOGGING_LEVELS = ("Metadata", "Request", "RequestResponse")
GET_STAGES = ("RequestReceived", "ResponseComplete")
NEVER = {("", "secrets"), ("", "serviceaccounts/token"), ("authentication.k8s.io", "tokenreviews")}
FALLBACKS = (
    {"path": "/version", "resourceRequest": False},
    {"apiGroup": "", "apiVersion": "v1", "resource": "namespaces", "name": "default"},
    {"apiGroup": "", "apiVersion": "v1", "resource": "configmaps", "namespace": "kube-system", "name": PROBE_NAME},
)


class ProbeIdentityError(ValueError):
    """The kubeconfig's client certificate cannot be read."""


def identity(certificate_pem):
    """``(user, groups)`` a client certificate authenticates as: its subject's (last) CN and Os, as kube-apiserver."""
    if x509 is None:
        raise ProbeIdentityError(f"the cryptography library is needed on the controller: {CRYPTOGRAPHY_IMPORT_ERROR}")
    try:
        certificate = x509.load_pem_x509_certificate(certificate_pem.encode("ascii"))
    except (ValueError, UnicodeEncodeError) as exc:
        raise ProbeIdentityError(f"the client certificate cannot be read: {exc}") from None
    subject = certificate.subject
    names = [attribute.value for attribute in subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    groups = [attribute.value for attribute in subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)]
    # Go's pkix.Name keeps the last CN (FillFromRDNSequence overwrites it); kube-apiserver's user is Subject.CommonName
    return (names[-1] if names else ""), groups


def _api_path(request):
    group, version = request.get("apiGroup") or "", request.get("apiVersion") or "v1"
    path = "/api/v1" if not group else f"/apis/{group}/{version}"
    if request.get("namespace"):
        path += f"/namespaces/{request['namespace']}"
    path += f"/{request['resource']}"
    if request.get("name"):
        path += f"/{request['name']}"
    return path


def _from_rule(rule):
    """The candidate requests one rule suggests (possibly none)."""
    namespaces = [ns for ns in rule.get("namespaces") or [] if ns]
    namespace = namespaces[0] if namespaces else ""
    for listed in rule.get("resources") or []:
        entry = listed or {}
        group = entry.get("group") or ""
        names = entry.get("resourceNames") or []
        resources = entry.get("resources") or ["*"]
        for spec in resources:
            resource = spec[:-2] if spec.endswith("/*") else spec
            if resource == "*":
                resource = "configmaps" if group == "" else PROBE_NAME + "s"
            if "/" in resource or "*" in resource or (group, resource) in NEVER:
                continue
            yield {
                "apiGroup": group,
                "apiVersion": "v1",
                "resource": resource,
                "namespace": namespace,
                "name": names[0] if names else PROBE_NAME,
            }
    if not rule.get("resources") and namespaces:
        yield {"apiGroup": "", "apiVersion": "v1", "resource": "configmaps", "namespace": namespace, "name": PROBE_NAME}
    for url in rule.get("nonResourceURLs") or []:
        path = url.rstrip("*") or "/"
        if path.startswith("/") and "*" not in path:
            yield {"path": path, "resourceRequest": False}


def candidates(policy):
    """Every candidate request, in the order tried (the policy's rules first, then the fallbacks)."""
    for rule in policy.get("rules") or []:
        yield from _from_rule(rule or {})
    yield from FALLBACKS


def choose(policy, user, groups):
    """The first harmless ``get`` the policy records for ``user``: ``{path, request, level}``; None if there is none.

    ``policy`` is the decoded Policy document (as ``audit_policy`` validates it).
    """
    who = {"name": user, "groups": list(groups) + ([AUTHENTICATED] if AUTHENTICATED not in groups else [])}
    for candidate in candidates(policy):
        request = dict(candidate, verb="get", user=who)
        if request.get("resourceRequest") is False:
            request["resource"] = ""
        config = audit_policy.evaluate_request(policy, request)
        if config["level"] in LOGGING_LEVELS and not set(GET_STAGES) <= set(config["omit_stages"]):
            path = request["path"] if request.get("resourceRequest") is False else _api_path(request)
            return {"path": path, "level": config["level"], "request": audit_policy.normalize_request(request)}
    return None

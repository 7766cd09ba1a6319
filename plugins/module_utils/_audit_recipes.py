# Copyright: (c) 2026, NNF kube_audit maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Investigation recipes: named sets of audit log filters, defined here once, as data.

Each recipe has

* ``description``: one line saying what it keeps (audit_log_info's documentation repeats it, a test holds them
  together);
* ``filters``: keyword arguments of ``audit_log.EventFilter``, the same names as audit_log_info's options; a
  recipe's filters combine (AND) with the ones given explicitly;
* ``group_by``: the fields its matches are counted by with ``format=counts`` (``recipe_counts``), names of
  ``audit_log.GROUP_FIELDS``;
* ``samples``: requests the recipe is about, in the shape of the policy evaluator's resource requests
  (``plugin_utils.audit_policy.normalize_request``: ``verb``, ``apiGroup``, ``resource``, ``subresource``,
  ``namespace``), so that the controller can ask whether the installed policy records them at all. A recipe can
  only find what the policy logs.

Subresources are spelled as the reader's ``resources`` filter takes them, ``resource/subresource`` (``pods/exec``).

Standard library only: this runs on the masters under Python 3.8+.
"""

from typing import Any, Dict, NamedTuple, Tuple

# The keys of a sample request: a resource request of the policy evaluator, without a user.
SAMPLE_KEYS = ("verb", "apiGroup", "resource", "subresource", "namespace")

RBAC_GROUP = "rbac.authorization.k8s.io"
NNF_GROUP = "nnf.cray.hpe.com"


class Recipe(NamedTuple):
    description: str
    filters: Dict[str, Any]
    group_by: Tuple[str, ...]
    samples: Tuple[Dict[str, str], ...]


def _request(verb: str, resource: str, namespace: str = "", group: str = "", subresource: str = "") -> Dict[str, str]:
    return {"verb": verb, "apiGroup": group, "resource": resource, "subresource": subresource, "namespace": namespace}


# Reaching into pods and nodes: kubectl exec, attach, port-forward and the apiserver's proxies.
EXEC_RESOURCES = ("pods/exec", "pods/attach", "pods/portforward", "pods/proxy", "services/proxy", "nodes/proxy")
RBAC_RESOURCES = ("roles", "clusterroles", "rolebindings", "clusterrolebindings")
RBAC_WRITE_VERBS = ("create", "update", "patch", "delete", "deletecollection")

RECIPES = {
    "deletions": Recipe(
        description="deletions (verbs delete and deletecollection) of any resource",
        filters={"verbs": ("delete", "deletecollection")},
        group_by=("user", "resource"),
        samples=(
            _request("delete", "pods", "default"),
            _request("deletecollection", "pods", "default"),
            _request("delete", "deployments", "default", "apps"),
            _request("delete", "namespaces"),
            _request("delete", "nnfstorages", "default", NNF_GROUP),
        ),
    ),
    "secret_access": Recipe(
        description="any request on Secrets, and service account token requests (serviceaccounts/token)",
        filters={"groups": ("core",), "resources": ("secrets", "serviceaccounts/token")},
        group_by=("user", "verb"),
        samples=(
            _request("get", "secrets", "default"),
            _request("list", "secrets", "default"),
            _request("watch", "secrets"),
            _request("create", "secrets", "default"),
            _request("create", "serviceaccounts", "default", subresource="token"),
        ),
    ),
    "exec": Recipe(
        description="exec, attach and port-forward into pods, and the pod, service and node proxies",
        filters={"groups": ("core",), "resources": EXEC_RESOURCES},
        group_by=("user", "resource", "namespace", "name"),
        samples=tuple(
            # exec and attach are a POST (verb create) over SPDY, a GET (verb get) over websockets (kubectl 1.30 on).
            _request(verb, resource, namespace, subresource=subresource)
            for resource, subresource, namespace in (
                ("pods", "exec", "default"),
                ("pods", "attach", "default"),
                ("pods", "portforward", "default"),
                ("pods", "proxy", "default"),
                ("services", "proxy", "default"),
                ("nodes", "proxy", ""),
            )
            for verb in ("create", "get")
        ),
    ),
    "denied": Recipe(
        description="requests refused as unauthenticated (401) or forbidden (403)",
        filters={"codes": (401, 403)},
        group_by=("user", "source_ips", "code"),
        samples=(
            _request("get", "pods", "default"),
            _request("list", "secrets", "kube-system"),
            _request("create", "deployments", "default", "apps"),
            _request("list", "nodes"),
            _request("get", "nnfstorages", "default", NNF_GROUP),
        ),
    ),
    "rbac_changes": Recipe(
        description="changes (create, update, patch, delete, deletecollection) of roles, cluster roles and their "
        "bindings (group rbac.authorization.k8s.io)",
        filters={"verbs": RBAC_WRITE_VERBS, "groups": (RBAC_GROUP,), "resources": RBAC_RESOURCES},
        group_by=("user", "verb", "resource", "namespace", "name"),
        samples=(
            _request("create", "roles", "default", RBAC_GROUP),
            _request("patch", "rolebindings", "default", RBAC_GROUP),
            _request("update", "clusterroles", "", RBAC_GROUP),
            _request("delete", "clusterrolebindings", "", RBAC_GROUP),
            _request("deletecollection", "roles", "default", RBAC_GROUP),
        ),
    ),
    "impersonation": Recipe(
        description="requests made as another user (events with an impersonatedUser)",
        filters={"impersonated_user": "*"},
        group_by=("user", "impersonated_user"),
        samples=(
            _request("get", "pods", "default"),
            _request("create", "deployments", "default", "apps"),
            _request("list", "secrets", "default"),
            _request("update", "nnfstorages", "default", NNF_GROUP),
        ),
    ),
}

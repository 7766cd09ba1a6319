"""The role's bundled audit policies (roles/kube_audit/files/presets): golden tables of what each one records.

Each preset is loaded with ``audit_policy.load_policy`` (kube-apiserver's LoadPolicyFromBytes) and sample requests
are judged with ``audit_policy.evaluate_request`` (kube-apiserver's policy checker). A row is
``(request name, expected level)``; its test id is ``<preset>-<request name>``. The requests are described once, in
``REQUESTS``, in ``audit_policy.normalize_request``'s shape. The ``kubernetes_reference`` rows follow the cases of
upstream's own test of that policy (kubernetes/kubernetes cluster/gce/gci/audit_policy_test.go).
"""

from pathlib import Path

import pytest
import yaml

from ansible_collections.nnf.kube_audit.plugins.plugin_utils import audit_policy

REPO = Path(__file__).resolve().parents[4]
PRESETS = REPO / "roles" / "kube_audit" / "files" / "presets"
ARGUMENT_SPECS = REPO / "roles" / "enable_audit" / "meta" / "argument_specs.yml"
NAMES = ["nnf", "nnf_clientmount", "nnf_deploy", "kubernetes_reference", "metadata"]

AUTHENTICATED = "system:authenticated"
USERS = {
    "admin": {"name": "kubernetes-admin", "groups": ["kubeadm:cluster-admins", AUTHENTICATED]},
    "masters": {"name": "kubernetes-admin", "groups": ["system:masters", AUTHENTICATED]},
    "user-named-masters": {"name": "system:masters", "groups": [AUTHENTICATED]},
    "anonymous": {"name": "system:anonymous", "groups": ["system:unauthenticated"]},
    "kube-proxy": {"name": "system:kube-proxy", "groups": [AUTHENTICATED]},
    "node": {"name": "system:node:rabbit-node-1", "groups": ["system:nodes", AUTHENTICATED]},
    "kubelet": {"name": "kubelet", "groups": ["system:nodes", AUTHENTICATED]},
    "controller-manager": {"name": "system:kube-controller-manager", "groups": [AUTHENTICATED]},
    "apiserver": {"name": "system:apiserver", "groups": ["system:masters"]},
    "autoscaler": {"name": "cluster-autoscaler", "groups": [AUTHENTICATED]},
    "namespace-controller": {
        "name": "system:serviceaccount:kube-system:namespace-controller",
        "groups": ["system:serviceaccounts", "system:serviceaccounts:kube-system", AUTHENTICATED],
    },
    "clientmount": {
        "name": "system:serviceaccount:nnf-system:nnf-clientmount",
        "groups": ["system:serviceaccounts", "system:serviceaccounts:nnf-system", AUTHENTICATED],
    },
    "nnf-controller": {
        "name": "system:serviceaccount:nnf-system:nnf-controller-manager",
        "groups": ["system:serviceaccounts", "system:serviceaccounts:nnf-system", AUTHENTICATED],
    },
}


def resource(user, verb, res, namespace="", group="", *, subresource="", version="v1"):
    """A resource request (``resourceRequest`` follows from ``resource``)."""
    return {
        "user": USERS[user],
        "verb": verb,
        "apiGroup": group,
        "apiVersion": version,
        "resource": res,
        "subresource": subresource,
        "namespace": namespace,
    }


def url(user, path, verb="get"):
    """A non-resource request (``path`` without a resource)."""
    return {"user": USERS[user], "verb": verb, "path": path, "resourceRequest": False}


NNF = "nnf.cray.hpe.com"
DWS = "dataworkflowservices.github.io"
LUS = "lus.cray.hpe.com"
DM = "dm.cray.hpe.com"
AUTHN = "authentication.k8s.io"
RBAC = "rbac.authorization.k8s.io"
METRICS = "metrics.k8s.io"

REQUESTS = {
    # Ordinary requests of an administrator.
    "secret-get": resource("admin", "get", "secrets", "default"),
    "secret-create": resource("admin", "create", "secrets", "default"),
    "configmap-update": resource("admin", "update", "configmaps", "default"),
    "pod-create": resource("admin", "create", "pods", "default"),
    "pod-list": resource("admin", "list", "pods", "default"),
    "deployment-patch": resource("admin", "patch", "deployments", "default", "apps"),
    "clusterrole-delete": resource("admin", "delete", "clusterroles", group=RBAC),
    "tokenreview-create": resource("admin", "create", "tokenreviews", group=AUTHN),
    "serviceaccount-token-create": resource("admin", "create", "serviceaccounts", "default", subresource="token"),
    # Custom resources (no known API group): NNF's own.
    "nnfstorage-get": resource("admin", "get", "nnfstorages", "default", NNF, version="v1alpha1"),
    "nnfstorage-create": resource("admin", "create", "nnfstorages", "default", NNF, version="v1alpha1"),
    "nnfstorage-delete": resource("admin", "delete", "nnfstorages", "default", NNF, version="v1alpha1"),
    "workflow-patch": resource("admin", "patch", "workflows", "default", DWS, version="v1alpha2"),
    "workflow-delete": resource("admin", "delete", "workflows", "default", DWS, version="v1alpha2"),
    "lustrefilesystem-watch": resource("admin", "watch", "lustrefilesystems", "default", LUS, version="v1beta1"),
    "datamovementmanager-update": resource(
        "admin", "update", "nnfdatamovementmanagers", "nnf-dm-system", DM, version="v1alpha1"
    ),
    "kubeflow-create": resource("admin", "create", "notebooks", "default", "kubeflow.org"),
    "kubeflow-get": resource("admin", "get", "notebooks", "default", "kubeflow.org"),
    # nnf-deploy's nnf-dm-system configmap rules.
    "dm-configmap-update": resource("admin", "update", "configmaps", "nnf-dm-system"),
    "dm-configmap-get": resource("admin", "get", "configmaps", "nnf-dm-system"),
    "dm-configmap-update-by-masters-group": resource("masters", "update", "configmaps", "nnf-dm-system"),
    "dm-configmap-update-by-user-named-masters": resource(
        "user-named-masters", "update", "configmaps", "nnf-dm-system"
    ),
    # The nnf-clientmount service account, and another one of nnf-system.
    "clientmount-configmap-get": resource("clientmount", "get", "configmaps", "nnf-system"),
    "clientmount-secret-delete": resource("clientmount", "delete", "secrets", "nnf-system"),
    "clientmount-events-create": resource("clientmount", "create", "events", "nnf-system"),
    "clientmount-status-update": resource(
        "clientmount", "update", "clientmounts", "default", DWS, subresource="status", version="v1alpha2"
    ),
    "clientmount-nnfstorage-get": resource("clientmount", "get", "nnfstorages", "default", NNF, version="v1alpha1"),
    "clientmount-deployment-get": resource("clientmount", "get", "deployments", "nnf-system", "apps"),
    "clientmount-healthz": url("clientmount", "/healthz"),
    "nnf-controller-nnfstorage-update": resource(
        "nnf-controller", "update", "nnfstorages", "default", NNF, version="v1alpha1"
    ),
    # The system components' routine requests.
    "kube-proxy-watch-endpoints": resource("kube-proxy", "watch", "endpoints", "default"),
    "kube-proxy-watch-pods": resource("kube-proxy", "watch", "pods"),
    "kube-proxy-watch-endpointslices": resource("kube-proxy", "watch", "endpointslices", group="discovery.k8s.io"),
    "node-get-node": resource("node", "get", "nodes"),
    "node-patch-node-status": resource("node", "patch", "nodes", subresource="status"),
    "kubelet-update-pod-status": resource("kubelet", "update", "pods", "default", subresource="status"),
    "node-create-events": resource("node", "create", "events", "default"),
    "controller-update-kube-system-endpoints": resource("controller-manager", "update", "endpoints", "kube-system"),
    "controller-update-default-endpoints": resource("controller-manager", "update", "endpoints", "default"),
    "controller-update-kube-system-lease": resource(
        "controller-manager", "update", "leases", "kube-system", "coordination.k8s.io"
    ),
    "controller-list-podmetrics": resource("controller-manager", "list", "pods", "default", METRICS, version="v1beta1"),
    "apiserver-get-namespace": resource("apiserver", "get", "namespaces"),
    "autoscaler-update-kube-system-configmap": resource("autoscaler", "update", "configmaps", "kube-system"),
    "namespace-controller-deletecollection-pods": resource("namespace-controller", "deletecollection", "pods", "ns1"),
    # Non-resource URLs.
    "healthz": url("anonymous", "/healthz"),
    "healthz-etcd": url("anonymous", "/healthz/etcd"),
    "version": url("anonymous", "/version"),
    "metrics": url("admin", "/metrics"),
    "openapi": url("admin", "/openapi/v2"),
}

GOLDEN = {
    # NNF resource groups at Metadata, for reads and writes but not deletes; nothing else.
    "nnf": [
        ("secret-get", "None"),
        ("secret-create", "None"),
        ("configmap-update", "None"),
        ("pod-create", "None"),
        ("pod-list", "None"),
        ("deployment-patch", "None"),
        ("tokenreview-create", "None"),
        ("kube-proxy-watch-endpoints", "None"),
        ("node-create-events", "None"),
        ("healthz", "None"),
        ("nnfstorage-get", "Metadata"),
        ("nnfstorage-create", "Metadata"),
        ("nnfstorage-delete", "None"),
        ("workflow-patch", "Metadata"),
        ("lustrefilesystem-watch", "Metadata"),
        ("datamovementmanager-update", "Metadata"),
        ("kubeflow-create", "None"),
    ],
    # Everything the nnf-clientmount service account does in the core and NNF groups, at Metadata; nobody else.
    "nnf_clientmount": [
        ("clientmount-configmap-get", "Metadata"),
        ("clientmount-secret-delete", "Metadata"),
        ("clientmount-events-create", "Metadata"),
        ("clientmount-status-update", "Metadata"),
        ("clientmount-nnfstorage-get", "Metadata"),
        ("clientmount-deployment-get", "None"),
        ("clientmount-healthz", "None"),
        ("nnf-controller-nnfstorage-update", "None"),
        ("secret-get", "None"),
        ("pod-create", "None"),
        ("nnfstorage-get", "None"),
        ("kube-proxy-watch-endpoints", "None"),
        ("healthz", "None"),
    ],
    # Writes to lus/dws/nnf at Metadata (not dm), kubeflow writes and nnf-dm-system configmap writes at
    # RequestResponse. Its None rule names system:masters as a user: a member of the system:masters group is
    # still recorded.
    "nnf_deploy": [
        ("nnfstorage-create", "Metadata"),
        ("nnfstorage-delete", "Metadata"),
        ("nnfstorage-get", "None"),
        ("workflow-delete", "Metadata"),
        ("lustrefilesystem-watch", "None"),
        ("datamovementmanager-update", "None"),
        ("kubeflow-create", "RequestResponse"),
        ("kubeflow-get", "None"),
        ("dm-configmap-update", "RequestResponse"),
        ("dm-configmap-get", "None"),
        ("dm-configmap-update-by-masters-group", "RequestResponse"),
        ("dm-configmap-update-by-user-named-masters", "None"),
        ("configmap-update", "None"),
        ("secret-get", "None"),
        ("pod-create", "None"),
        ("healthz", "None"),
    ],
    "kubernetes_reference": [
        ("secret-get", "Metadata"),
        ("secret-create", "Metadata"),
        ("configmap-update", "Metadata"),
        ("tokenreview-create", "Metadata"),
        ("serviceaccount-token-create", "Metadata"),
        ("pod-create", "RequestResponse"),
        ("pod-list", "Request"),
        ("deployment-patch", "RequestResponse"),
        ("clusterrole-delete", "RequestResponse"),
        ("nnfstorage-get", "Metadata"),
        ("nnfstorage-delete", "Metadata"),
        ("kube-proxy-watch-endpoints", "None"),
        ("kube-proxy-watch-pods", "Request"),
        # Today's kube-proxy watches EndpointSlices and leader election renews Leases: groups upstream does not
        # list, recorded at Metadata.
        ("kube-proxy-watch-endpointslices", "Metadata"),
        ("controller-update-kube-system-lease", "Metadata"),
        ("node-get-node", "None"),
        ("node-patch-node-status", "Request"),
        ("kubelet-update-pod-status", "Request"),
        ("node-create-events", "None"),
        ("controller-update-kube-system-endpoints", "None"),
        ("controller-update-default-endpoints", "RequestResponse"),
        ("controller-list-podmetrics", "None"),
        ("apiserver-get-namespace", "None"),
        ("autoscaler-update-kube-system-configmap", "None"),
        ("namespace-controller-deletecollection-pods", "Request"),
        ("healthz", "None"),
        ("healthz-etcd", "None"),
        ("version", "None"),
        ("metrics", "Metadata"),
        ("openapi", "Metadata"),
    ],
    "metadata": [
        ("secret-get", "Metadata"),
        ("secret-create", "Metadata"),
        ("configmap-update", "Metadata"),
        ("tokenreview-create", "Metadata"),
        ("pod-create", "Metadata"),
        ("pod-list", "Metadata"),
        ("deployment-patch", "Metadata"),
        ("nnfstorage-get", "Metadata"),
        ("kube-proxy-watch-endpoints", "None"),
        ("kube-proxy-watch-pods", "Metadata"),
        ("kube-proxy-watch-endpointslices", "Metadata"),
        ("controller-update-kube-system-lease", "Metadata"),
        ("node-get-node", "None"),
        ("node-patch-node-status", "Metadata"),
        ("node-create-events", "Metadata"),
        ("controller-update-kube-system-endpoints", "None"),
        ("controller-list-podmetrics", "None"),
        ("apiserver-get-namespace", "None"),
        ("healthz", "None"),
        ("version", "None"),
        ("metrics", "Metadata"),
    ],
}

# (preset, request name, omitted stages): a recorded request's stages; a None one keeps the policy's own.
OMIT_STAGES = [
    ("nnf", "nnfstorage-get", ["RequestReceived"]),
    ("nnf_deploy", "kubeflow-create", ["RequestReceived"]),
    ("kubernetes_reference", "secret-get", ["RequestReceived"]),
    ("kubernetes_reference", "pod-create", ["RequestReceived"]),
    ("kubernetes_reference", "pod-list", ["RequestReceived"]),
    ("kubernetes_reference", "node-patch-node-status", ["RequestReceived"]),
    ("kubernetes_reference", "nnfstorage-get", ["RequestReceived"]),
    # Upstream puts omitStages on the rules, not on the policy: its None rules omit nothing (they record nothing).
    ("kubernetes_reference", "healthz", []),
    ("metadata", "secret-get", ["RequestReceived"]),
    ("metadata", "nnfstorage-get", ["RequestReceived"]),
    ("metadata", "healthz", ["RequestReceived"]),
]


def preset_bytes(name):
    return (PRESETS / f"{name}.yaml").read_bytes()


def load(name):
    policy, warnings = audit_policy.load_policy(preset_bytes(name))
    assert warnings == []
    return policy


def golden_rows():
    return [
        pytest.param(name, request, level, id=f"{name}-{request}")
        for name, rows in GOLDEN.items()
        for request, level in rows
    ]


@pytest.mark.parametrize(("name", "request_name", "level"), golden_rows())
def test_golden_level(name, request_name, level):
    assert audit_policy.evaluate_request(load(name), REQUESTS[request_name])["level"] == level


@pytest.mark.parametrize(
    ("name", "request_name", "stages"),
    [pytest.param(*row, id=f"{row[0]}-{row[1]}") for row in OMIT_STAGES],
)
def test_golden_omit_stages(name, request_name, stages):
    assert audit_policy.evaluate_request(load(name), REQUESTS[request_name])["omit_stages"] == stages


def test_every_preset_has_a_golden_table():
    assert sorted(GOLDEN) == sorted(NAMES)
    assert sorted(path.stem for path in PRESETS.glob("*.yaml")) == sorted(NAMES)


def test_the_argument_spec_offers_every_preset():
    specs = yaml.safe_load(ARGUMENT_SPECS.read_text(encoding="utf-8"))
    option = specs["argument_specs"]["main"]["options"]["kube_audit_policy_preset"]
    assert sorted(option["choices"]) == sorted(NAMES)
    description = " ".join(option["description"])
    for name in NAMES:
        assert f"C({name})" in description


@pytest.mark.parametrize("name", NAMES)
def test_the_preset_loads_without_warnings(name):
    policy, warnings = audit_policy.load_policy(preset_bytes(name))
    assert warnings == []
    assert policy["rules"]


@pytest.mark.parametrize("name", ["kubernetes_reference", "metadata"])
def test_the_preset_starts_with_a_comment_naming_its_source(name):
    first = preset_bytes(name).decode("utf-8").splitlines()[0]
    assert first.startswith("# Source: ")
    assert "kubernetes/kubernetes" in first or "kubernetes_reference.yaml" in first


def test_the_reference_names_its_upstream_file_and_function():
    head = preset_bytes("kubernetes_reference").decode("utf-8").split("\napiVersion:")[0]
    for needle in ("kubernetes/kubernetes", "cluster/gce/gci/configure-helper.sh", "create-master-audit-policy"):
        assert needle in head


def test_the_reference_expands_known_apis_identically_in_both_rules():
    rules = load("kubernetes_reference")["rules"]
    reads, others = rules[-3], rules[-2]
    assert (reads["level"], others["level"]) == ("Request", "RequestResponse")
    assert reads["resources"] == others["resources"]
    groups = [entry["group"] for entry in reads["resources"]]
    assert groups[0] == ""
    assert len(groups) == len(set(groups)) == 18


def test_metadata_keeps_the_reference_none_rules_except_events():
    reference = [rule for rule in load("kubernetes_reference")["rules"] if rule["level"] == "None"]
    events = {"level": "None", "resources": [{"group": "", "resources": ["events"]}]}
    assert events in reference
    metadata = load("metadata")["rules"]
    assert metadata[:-1] == [rule for rule in reference if rule != events]
    assert metadata[-1] == {"level": "Metadata"}

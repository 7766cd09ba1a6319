"""module_utils.audit_log: the investigation filters (name, source_ips, user_agents, impersonated_user,
effective_user) and recipes, on a log written here.

Every case runs three ways, since the reader parses a line only where it found the filter's needle, when it has one:

* ``scan``: no needle (forced), every line parsed, the fast path for the usual lines and json for the others;
* ``own``: the filter's own needle, if it has one (name, effective_user, impersonated_user, the impersonation recipe);
* ``every-line``: a needle every event holds (forced), so every line goes through the needle branch of the scan.

The results must be the same: the needle only narrows which lines are parsed, matches() decides.
"""

import json
import re

import pytest

from ansible_collections.nnf.kube_audit.plugins.module_utils import _audit_recipes
from ansible_collections.nnf.kube_audit.plugins.module_utils import audit_log as al

RBAC = "rbac.authorization.k8s.io"
ADMIN = "kubernetes-admin"
DEPLOYER = "system:serviceaccount:ci:deployer"
ARGOCD = "system:serviceaccount:argocd:argocd-server"
KUBECTL_29 = "kubectl/v1.29.0 (linux/amd64) kubernetes/3f7a50f"
KUBECTL_30 = "kubectl/v1.30.1"


def go_json(obj):
    """Compact JSON escaped as Go's encoding/json escapes it (the apiserver's writer)."""
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def ref(resource, namespace=None, name=None, group=None, *, subresource=None):
    found = {
        "resource": resource,
        "namespace": namespace,
        "name": name,
        "apiGroup": group,
        "apiVersion": "v1",
        "subresource": subresource,
    }
    return {key: value for key, value in found.items() if value is not None}


def ok(code=200):
    return {"metadata": {}, "code": code}


def refused(code, reason, details=None):
    """A metav1.Status of failure, in Go's key order."""
    status = {"metadata": {}, "status": "Failure", "message": reason.lower(), "reason": reason, "details": details}
    return dict({key: value for key, value in status.items() if value is not None}, code=code)


def v1(n, user, verb, uri, *, obj=None, status=None, **fields):
    """An audit.k8s.io/v1 Event in the apiserver's key order; None leaves a field out.

    ``user`` is a name, or a mapping for the whole user (``{}`` for a request that failed authentication).
    """
    stamp = f"2026-11-20T10:00:{n:02d}"
    body = {
        "kind": "Event",
        "apiVersion": "audit.k8s.io/v1",
        "level": "Metadata",
        "auditID": f"00000000-0000-4000-8000-{n:012d}",
        "stage": fields.pop("stage", "ResponseComplete"),
        "requestURI": uri,
        "verb": verb,
        "user": user if isinstance(user, dict) else {"username": user, "groups": ["system:authenticated"]},
        "impersonatedUser": fields.pop("impersonatedUser", None),
        "sourceIPs": fields.pop("sourceIPs", None),
        "userAgent": fields.pop("userAgent", None),
        "objectRef": obj,
        "responseStatus": status,
        "requestReceivedTimestamp": stamp + ".000100Z",
        "stageTimestamp": stamp + ".000200Z",
        "annotations": fields.pop("annotations", {"authorization.k8s.io/decision": "allow"}),
    }
    assert not fields, fields
    return {key: value for key, value in body.items() if value is not None}


def v1beta1(n, user, verb, uri, *, obj=None, status=None, **fields):
    """An event as Kubernetes 1.8 to 1.12 logged it: audit.k8s.io/v1beta1, one 'timestamp', no stage times."""
    body = {
        "kind": "Event",
        "apiVersion": "audit.k8s.io/v1beta1",
        "metadata": {"creationTimestamp": None},
        "level": "Metadata",
        "timestamp": f"2026-11-20T10:00:{n:02d}Z",
        "auditID": f"00000000-0000-4000-8000-{n:012d}",
        "stage": fields.pop("stage", "ResponseComplete"),
        "requestURI": uri,
        "verb": verb,
        "user": {"username": user, "groups": ["system:authenticated"]},
        "impersonatedUser": fields.pop("impersonatedUser", None),
        "sourceIPs": fields.pop("sourceIPs", None),
        "userAgent": fields.pop("userAgent", None),
        "objectRef": obj,
        "responseStatus": status,
    }
    assert not fields, fields
    return {key: value for key, value in body.items() if value is not None}


# Every event is at 10:00:<n>, so the results come in the order of n.
LOG = [
    v1(1, "alice", "delete", "/api/v1/namespaces/default/pods/web-1",
       obj=ref("pods", "default", "web-1"), status=ok(), sourceIPs=["10.0.0.5"], userAgent=KUBECTL_29),
    v1(2, "bob", "get", "/api/v1/namespaces/kube-system/secrets/db-pass",
       obj=ref("secrets", "kube-system", "db-pass"), status=refused(403, "Forbidden", {"name": "db-pass"}),
       sourceIPs=["192.168.1.7"], userAgent="curl/8.1.2"),
    v1(3, ADMIN, "create", "/api/v1/namespaces/default/pods/web-1/exec?command=sh",
       obj=ref("pods", "default", "web-1", subresource="exec"), status=ok(101),
       impersonatedUser={"username": "carol", "groups": ["dev"]}, sourceIPs=["2001:db8::7"], userAgent=KUBECTL_29),
    # v1beta1, two source addresses (X-Forwarded-For), no name.
    v1beta1(4, "dave", "deletecollection", "/api/v1/namespaces/ns1/pods",
            obj=ref("pods", "ns1"), status=ok(), sourceIPs=["10.1.2.3", "172.16.0.1"],
            userAgent="kube-controller-manager/v1.8.0"),
    # No responseStatus: logged when the request was received.
    v1(5, "eve", "create", "/api/v1/namespaces/default/serviceaccounts/builder/token",
       obj=ref("serviceaccounts", "default", "builder", subresource="token"), stage="RequestReceived",
       sourceIPs=["10.0.0.9"], userAgent=KUBECTL_29),
    # Failed authentication: no user at all, and no objectRef.
    v1(6, {}, "get", "/api",
       status=refused(401, "Unauthorized"), sourceIPs=["203.0.113.9"], userAgent="python-requests/2.31"),
    v1(7, "frank", "patch", "/apis/rbac.authorization.k8s.io/v1/clusterroles/edit",
       obj=ref("clusterroles", None, "edit", RBAC), status=ok(), sourceIPs=["::ffff:10.0.0.77"], userAgent=KUBECTL_30),
    # v1beta1, impersonation, and no responseStatus.
    v1beta1(8, ADMIN, "get", "/api/v1/nodes/n1/proxy/metrics",
            obj=ref("nodes", None, "n1", subresource="proxy"), stage="RequestReceived",
            impersonatedUser={"username": DEPLOYER}, sourceIPs=["10.0.0.5"], userAgent="curl/7.29"),
    v1(9, "grace", "delete", "/apis/rbac.authorization.k8s.io/v1/namespaces/ns1/rolebindings/view-binding",
       obj=ref("rolebindings", "ns1", "view-binding", RBAC), status=ok(), sourceIPs=["10.2.0.1"], userAgent=KUBECTL_30),
    v1(10, "henry", "get", "/api/v1/namespaces/default/services/dash/proxy/",
       obj=ref("services", "default", "dash", subresource="proxy"), status=refused(403, "Forbidden"),
       sourceIPs=["10.0.0.6"], userAgent="Mozilla/5.0"),
    v1(11, "alice", "get", "/api/v1/namespaces/default/pods/web-1",
       obj=ref("pods", "default", "web-1"), status=ok(), sourceIPs=["10.0.0.5"], userAgent=KUBECTL_29),
    v1(12, ADMIN, "create", "/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles",
       obj=ref("roles", "default", "pod-reader", RBAC), status=ok(201), impersonatedUser={"username": "alice"},
       sourceIPs=["10.0.0.5"], userAgent=KUBECTL_29),
    # Decoys: "web-1" and "impersonatedUser" in annotations only; an address list with something else in it.
    v1(13, DEPLOYER, "get", "/api/v1/namespaces/default/configmaps/settings",
       obj=ref("configmaps", "default", "settings"), status=ok(), sourceIPs=["unknown", "10.9.9.9"],
       annotations={"note": "web-1", "impersonatedUser": "nobody"}),
    v1(14, ARGOCD, "list", "/api/v1/namespaces/default/secrets",
       obj=ref("secrets", "default"), status=ok(), sourceIPs=["10.3.0.1"], userAgent="argocd/2.9"),
    # A custom resource named secrets is not a Secret; pods/log is not exec; reading a role is no change.
    v1(15, "jack", "get", "/apis/vault.example.com/v1/namespaces/default/secrets/api-key",
       obj=ref("secrets", "default", "api-key", "vault.example.com"), status=ok(), sourceIPs=["10.4.0.1"],
       userAgent="vault/1.15"),
    v1(16, "alice", "get", "/api/v1/namespaces/default/pods/web-1/log",
       obj=ref("pods", "default", "web-1", subresource="log"), status=ok(), sourceIPs=["10.0.0.5"],
       userAgent=KUBECTL_29),
    v1(17, "kate", "get", "/apis/rbac.authorization.k8s.io/v1/clusterroles/admin",
       obj=ref("clusterroles", None, "admin", RBAC), status=ok(), sourceIPs=["10.5.0.1"], userAgent=KUBECTL_30),
    v1(18, "bob", "get", "/api/v1/namespaces/kube-system/configmaps/cm",
       obj=ref("configmaps", "kube-system", "cm"), status=refused(403, "Forbidden"), sourceIPs=["192.168.1.7"],
       userAgent="curl/8.1.2"),
]  # fmt: skip


@pytest.fixture
def log(tmp_path):
    path = tmp_path / "kube-apiserver-audit.log"
    path.write_text("".join(go_json(item) + "\n" for item in LOG), encoding="utf-8")
    return path


def test_the_log_holds_both_paths_and_the_old_shapes():
    """The fixture is what the cases claim it is: fast-path lines and json ones, v1beta1, no responseStatus."""
    fast = [n for n, item in enumerate(LOG, 1) if al._fast_record(go_json(item)) is not None]
    assert fast == [1, 2, 3, 5, 7, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18]  # 4 and 8 are v1beta1, 6 has no username
    assert [n for n, item in enumerate(LOG, 1) if "timestamp" in item] == [4, 8]
    assert [n for n, item in enumerate(LOG, 1) if "responseStatus" not in item] == [5, 8]
    assert [n for n, item in enumerate(LOG, 1) if "impersonatedUser" in item] == [3, 8, 12]


MODES = ("scan", "own", "every-line")


@pytest.fixture(params=MODES)
def mode(request, monkeypatch):
    if request.param == "scan":
        monkeypatch.setattr(al.EventFilter, "needle", property(lambda self: None))
    elif request.param == "every-line":
        monkeypatch.setattr(al.EventFilter, "needle", property(lambda self: '"auditID"'))
    return request.param


def read(path, output="summary", **filters):
    return al.read_audit_log(str(path), event_filter=al.EventFilter(**filters), output=output, limit=0)


def numbers(result):
    return [int(item["auditID"][-3:]) for item in result["events"]]


FILTER_CASES = {
    # name: objectRef.name, exact or a shell pattern
    "name exact": ({"name": "web-1"}, [1, 3, 11, 16]),  # not 13, whose annotation says web-1
    "name pattern": ({"name": "*-binding"}, [9]),
    "name pattern d*": ({"name": "d*"}, [2, 10]),
    "name on v1beta1 without status": ({"name": "n?"}, [8]),
    "name without status": ({"name": "builder"}, [5]),
    "name with brackets": ({"name": "[ep]*"}, [7, 12]),
    "name is case-sensitive": ({"name": "WEB-1"}, []),
    # source_ips: any address of the event in any network
    "source network": ({"source_ips": ["10.0.0.0/24"]}, [1, 5, 7, 8, 10, 11, 12, 16]),  # 7 is ::ffff:10.0.0.77
    "source in X-Forwarded-For, v1beta1": ({"source_ips": ["172.16.0.0/12"]}, [4]),
    "source IPv6": ({"source_ips": ["2001:db8::/32"]}, [3]),
    "source address": ({"source_ips": ["203.0.113.9"]}, [6]),
    "source addresses": ({"source_ips": ["10.9.9.9", " 192.168.1.7 "]}, [2, 13, 18]),  # 13 lists "unknown" first
    "source host bits": ({"source_ips": ["10.1.2.99/24"]}, [4]),  # taken as 10.1.2.0/24
    "source mapped IPv6": ({"source_ips": ["::ffff:10.0.0.77"]}, [7]),
    # user_agents
    "agent pattern": ({"user_agents": ["kubectl/*"]}, [1, 3, 5, 7, 9, 11, 12, 16, 17]),
    "agent patterns": ({"user_agents": ["Mozilla/*", "python-requests/*"]}, [6, 10]),
    "agent exact": ({"user_agents": [KUBECTL_30]}, [7, 9, 17]),
    "agent exact v1beta1": ({"user_agents": ["kube-controller-manager/v1.8.0"]}, [4]),
    "agent pattern v1beta1 without status": ({"user_agents": ["curl/*"]}, [2, 8, 18]),
    "agent prefix is not a pattern": ({"user_agents": ["kubectl"]}, []),
    # impersonated_user
    "impersonated exact": ({"impersonated_user": "carol"}, [3]),
    "impersonated any": ({"impersonated_user": "*"}, [3, 8, 12]),  # not 13, whose annotation is named so
    "impersonated pattern v1beta1": ({"impersonated_user": "system:serviceaccount:*"}, [8]),
    "impersonated is not the authenticated": ({"impersonated_user": "alice"}, [12]),
    # effective_user: the impersonated user, else the authenticated one
    "effective exact": ({"effective_user": "alice"}, [1, 11, 12, 16]),
    "effective is never the impersonator": ({"effective_user": ADMIN}, []),
    "effective pattern": ({"effective_user": "system:serviceaccount:ci:*"}, [8, 13]),
    "effective impersonated": ({"effective_user": "carol"}, [3]),
    # user stays the authenticated user, as the NNF jq recipe reads it
    "user is authenticated": ({"user": "alice"}, [1, 11, 16]),
    "user is the impersonator": ({"user": ADMIN}, [3, 8, 12]),
    # combined (AND)
    "name and verb": ({"name": "web-1", "verbs": ["get"]}, [11, 16]),
    "agent and source": ({"user_agents": ["kubectl/*"], "source_ips": ["10.0.0.0/24"], "effective_user": "a*"},
                         [1, 11, 12, 16]),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(FILTER_CASES))
def test_each_new_filter_with_and_without_the_needle(log, mode, case):
    filters, expected = FILTER_CASES[case]
    assert numbers(read(log, **filters)) == expected


RECIPE_CASES = {
    "deletions": [1, 4, 9],  # 4 is a v1beta1 deletecollection
    "secret_access": [2, 5, 14],  # 5 has no responseStatus; 15 is a custom resource named secrets
    "exec": [3, 8, 10],  # 8 is v1beta1 nodes/proxy without responseStatus; 16 is pods/log
    "denied": [2, 6, 10, 18],  # 6 failed authentication
    "rbac_changes": [7, 9, 12],  # 17 only reads a cluster role
    "impersonation": [3, 8, 12],  # 13 has "impersonatedUser" in an annotation only
}


def test_every_recipe_has_a_case():
    assert sorted(RECIPE_CASES) == sorted(_audit_recipes.RECIPES)


@pytest.mark.parametrize("recipe", sorted(RECIPE_CASES))
def test_each_recipe_with_and_without_the_needle(log, mode, recipe):
    result = read(log, recipe=recipe)
    assert numbers(result) == RECIPE_CASES[recipe]
    assert result["stats"]["matched"] == len(RECIPE_CASES[recipe])


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"recipe": "deletions", "user": "alice"}, [1]),
        ({"recipe": "deletions", "verbs": ["get"]}, []),  # AND, not OR, with the recipe's own verbs
        ({"recipe": "denied", "source_ips": ["192.168.0.0/16"]}, [2, 18]),
        ({"recipe": "denied", "codes": ["401"]}, [6]),
        ({"recipe": "impersonation", "effective_user": "alice"}, [12]),
        ({"recipe": "rbac_changes", "name": "view-*"}, [9]),
        ({"recipe": "exec", "namespaces": ["default"]}, [3, 10]),
        ({"recipe": "secret_access", "verbs": ["get"]}, [2]),
        ({"recipe": "secret_access", "since": "2026-11-20T10:00:04Z"}, [5, 14]),
        ({"recipe": "exec", "until": "2026-11-20T10:00:09Z"}, [3, 8]),  # 8 by its v1beta1 timestamp
    ],
)
def test_recipes_combine_with_the_explicit_filters(log, mode, filters, expected):
    assert numbers(read(log, **filters)) == expected


RECIPE_COUNTS = {
    "deletions": [
        {"user": "alice", "resource": "pods", "count": 1},
        {"user": "dave", "resource": "pods", "count": 1},
        {"user": "grace", "resource": "rolebindings." + RBAC, "count": 1},
    ],
    "secret_access": [
        {"user": "bob", "verb": "get", "count": 1},
        {"user": "eve", "verb": "create", "count": 1},
        {"user": ARGOCD, "verb": "list", "count": 1},
    ],
    "exec": [
        {"user": "henry", "resource": "services/proxy", "namespace": "default", "name": "dash", "count": 1},
        {"user": ADMIN, "resource": "nodes/proxy", "namespace": "<none>", "name": "n1", "count": 1},
        {"user": ADMIN, "resource": "pods/exec", "namespace": "default", "name": "web-1", "count": 1},
    ],
    "denied": [
        {"user": "bob", "source_ips": "192.168.1.7", "code": "403", "count": 2},
        {"user": "<none>", "source_ips": "203.0.113.9", "code": "401", "count": 1},
        {"user": "henry", "source_ips": "10.0.0.6", "code": "403", "count": 1},
    ],
    "rbac_changes": [
        {"user": "frank", "verb": "patch", "resource": "clusterroles." + RBAC, "namespace": "<none>", "name": "edit",
         "count": 1},
        {"user": "grace", "verb": "delete", "resource": "rolebindings." + RBAC, "namespace": "ns1",
         "name": "view-binding", "count": 1},
        {"user": ADMIN, "verb": "create", "resource": "roles." + RBAC, "namespace": "default", "name": "pod-reader",
         "count": 1},
    ],
    "impersonation": [
        {"user": ADMIN, "impersonated_user": "alice", "count": 1},
        {"user": ADMIN, "impersonated_user": "carol", "count": 1},
        {"user": ADMIN, "impersonated_user": DEPLOYER, "count": 1},
    ],
}  # fmt: skip


@pytest.mark.parametrize("recipe", sorted(RECIPE_COUNTS))
def test_each_recipe_counts_its_matches_by_its_own_fields(log, mode, recipe):
    result = read(log, output="counts", recipe=recipe)
    fields = list(_audit_recipes.RECIPES[recipe].group_by)
    assert result["recipe_counts"] == {"recipe": recipe, "fields": fields, "rows": RECIPE_COUNTS[recipe]}
    assert sum(result["counts"]["user"].values()) == len(RECIPE_CASES[recipe])  # the usual counts are still there
    assert set(result["counts"]) == set(al.COUNT_DIMENSIONS)


def test_source_ips_are_grouped_all_together(log):
    result = read(log, output="counts", recipe="denied", source_ips=["0.0.0.0/0"])
    assert [row["source_ips"] for row in result["recipe_counts"]["rows"]] == ["192.168.1.7", "203.0.113.9", "10.0.0.6"]
    spoofable = v1(1, "x", "get", "/api", status=refused(403, "Forbidden"), sourceIPs=["1.2.3.4", "10.0.0.1"])
    record = al._LineParser(al.ScanStats()).parse(go_json(spoofable), "x.log", 1)
    assert al.GROUP_FIELDS["source_ips"](record) == "1.2.3.4,10.0.0.1"  # the forwarded one and the peer


def test_without_a_recipe_or_without_counts_there_are_no_recipe_counts(log):
    assert "recipe_counts" not in read(log, output="counts")
    assert "recipe_counts" not in read(log, recipe="denied")
    assert "recipe_counts" not in read(log, output="events", recipe="denied")


def test_a_missing_log_read_with_missing_ok_has_empty_recipe_counts(tmp_path):
    result = al.read_audit_log(
        str(tmp_path / "none.log"), event_filter=al.EventFilter(recipe="exec"), output="counts", missing_ok=True
    )
    assert result["recipe_counts"] == {"recipe": "exec", "fields": list(al.RECIPES["exec"].group_by), "rows": []}
    assert result["recipe_counts"]["fields"] == ["user", "resource", "namespace", "name"]


# --- the needle -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filters", "needle", "examined", "expected"),
    [
        ({"name": "web-1"}, ('"web-1"', "the name value"), [1, 3, 11, 13, 16], [1, 3, 11, 16]),
        ({"name": "view-bind*"}, ("view-bind", "the name pattern's text"), [9], [9]),
        ({"effective_user": "alice"}, ('"alice"', "the effective_user value"), [1, 11, 12, 16], [1, 11, 12, 16]),
        ({"effective_user": "system:serviceaccount:ci:*"},
         ("system:serviceaccount:ci:", "the effective_user pattern's text"), [8, 13], [8, 13]),
        ({"impersonated_user": "carol"}, ('"impersonatedUser"', "an impersonatedUser field"), [3, 8, 12, 13], [3]),
        ({"recipe": "impersonation"}, ('"impersonatedUser"', "an impersonatedUser field"), [3, 8, 12, 13],
         [3, 8, 12]),
        ({"user": "bob", "name": "web-1"}, ('"bob"', "the user value"), [2, 18], []),  # user's needle comes first
    ],
)  # fmt: skip
def test_the_new_look_ups_parse_only_the_lines_that_hold_their_needle(log, filters, needle, examined, expected):
    event_filter = al.EventFilter(**filters)
    assert (event_filter.needle, event_filter.needle_label) == needle
    needle = needle[0]
    holding = [n for n, item in enumerate(LOG, 1) if needle in go_json(item)]
    assert holding == examined  # the decoys (13) hold it too
    result = read(log, **filters)
    assert numbers(result) == expected
    assert result["stats"]["examined"] == len(examined)
    assert result["stats"]["lines"] == len(LOG)


@pytest.mark.parametrize(
    "filters",
    [
        {"source_ips": ["10.0.0.5"]},
        {"user_agents": ["curl/8.1.2"]},
        {"name": 'we"b'},  # could be escaped in the log
        {"name": "*-1"},  # too short a literal to narrow anything
        {"effective_user": "j\u00f6rg"},
        {"recipe": "denied"},
        {"recipe": "exec"},
    ],
)
def test_filters_without_text_to_look_for_read_every_line(filters):
    assert al.EventFilter(**filters).needle is None


def test_a_line_without_impersonated_user_is_not_decoded_to_know_it():
    record = al._fast_record(go_json(LOG[0]))
    assert record.effective_username() == "alice"
    assert record.impersonated_username() is None
    assert record._event is None  # answered from the line: the key is not in it
    impersonated = al._fast_record(go_json(LOG[2]))
    assert (impersonated.username, impersonated.effective_username()) == (ADMIN, "carol")


def test_a_fast_path_line_that_is_not_json_after_all_does_not_match_and_does_not_fail(tmp_path):
    # The fast path does not check the annotations: this line reads, but json.loads refuses it.
    line = go_json(LOG[0])
    damaged = line[: line.rindex("}}")] + ",}}"
    assert al._fast_record(damaged) is not None
    with pytest.raises(ValueError):
        json.loads(damaged)
    path = tmp_path / "kube-apiserver-audit.log"
    path.write_text(damaged + "\n" + go_json(LOG[10]) + "\n", encoding="utf-8")
    assert numbers(read(path)) == [1, 11]
    assert numbers(read(path, source_ips=["10.0.0.5"])) == [11]
    assert numbers(read(path, user_agents=["kubectl/*"])) == [11]
    assert numbers(read(path, effective_user="alice")) == [1, 11]  # no impersonatedUser in the line: not decoded


# --- bad values ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"source_ips": ["10.0.0.300"]}, "source_ips: '10.0.0.300' is neither an IP address"),
        ({"source_ips": ["10.0.0.0/8", "10.0.0.0/33"]}, "source_ips: '10.0.0.0/33' is neither"),
        ({"source_ips": ["fd00::/129"]}, "source_ips: 'fd00::/129' is neither"),
        ({"source_ips": ["example.com"]}, "source_ips: 'example.com' is neither"),
        ({"source_ips": [""]}, "source_ips: '' is neither"),
        ({"recipe": "secrets"}, "recipe must be one of deletions, secret_access, exec, denied, rbac_changes, "),
    ],
)
def test_bad_values_are_refused_naming_the_option_and_the_value(filters, message):
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        al.EventFilter(**filters)


def test_empty_values_are_no_filter(log):
    event_filter = al.EventFilter(name="", user_agents=[], impersonated_user="", effective_user="", recipe="")
    assert event_filter.is_empty()
    assert numbers(read(log, name="", user_agents=[""], recipe=None)) == list(range(1, len(LOG) + 1))


def test_each_new_filter_makes_the_filter_non_empty():
    for filters in (
        {"name": "x"},
        {"source_ips": ["10.0.0.0/8"]},
        {"user_agents": ["x"]},
        {"impersonated_user": "x"},
        {"effective_user": "x"},
        {"recipe": "denied"},
    ):
        assert not al.EventFilter(**filters).is_empty(), filters

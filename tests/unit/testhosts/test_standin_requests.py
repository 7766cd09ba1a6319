"""kube-apiserver stand-in: from an HTTP request to audit attributes, and the audit event lines it writes."""

import email.message
import json

import pytest
from standin import apiserver, audit_event, requestinfo


def info(method, uri):
    found = requestinfo.request_info(method, uri)
    return (
        found["resourceRequest"],
        found["verb"],
        found["apiGroup"],
        found["apiVersion"],
        found["namespace"],
        found["resource"],
        found["subresource"],
        found["name"],
    )


# The cases of k8s.io/apiserver requestinfo_test.go (TestGetAPIRequestInfo), with the NNF groups added.
@pytest.mark.parametrize(
    ("method", "uri", "expected"),
    [
        ("GET", "/api/v1/namespaces", (True, "list", "", "v1", "", "namespaces", "", "")),
        ("GET", "/api/v1/namespaces/other", (True, "get", "", "v1", "other", "namespaces", "", "other")),
        ("GET", "/api/v1/namespaces/other/pods", (True, "list", "", "v1", "other", "pods", "", "")),
        ("GET", "/api/v1/namespaces/other/pods/foo", (True, "get", "", "v1", "other", "pods", "", "foo")),
        ("HEAD", "/api/v1/namespaces/other/pods/foo", (True, "get", "", "v1", "other", "pods", "", "foo")),
        ("GET", "/api/v1/pods", (True, "list", "", "v1", "", "pods", "", "")),
        ("GET", "/api/v1/namespaces/other/pods?watch=true", (True, "watch", "", "v1", "other", "pods", "", "")),
        ("GET", "/api/v1/namespaces/other/pods?watch=false", (True, "list", "", "v1", "other", "pods", "", "")),
        ("GET", "/api/v1/watch/namespaces/other/pods", (True, "watch", "", "v1", "other", "pods", "", "")),
        ("GET", "/api/v1/watch/pods/foo", (True, "watch", "", "v1", "", "pods", "", "foo")),
        (
            "GET",
            "/api/v1/namespaces/other/pods?fieldSelector=metadata.name%3Dfoo",
            (True, "list", "", "v1", "other", "pods", "", "foo"),
        ),
        ("POST", "/api/v1/namespaces/other/pods", (True, "create", "", "v1", "other", "pods", "", "")),
        ("PUT", "/api/v1/namespaces/other/pods/foo", (True, "update", "", "v1", "other", "pods", "", "foo")),
        ("PATCH", "/api/v1/namespaces/other/pods/foo", (True, "patch", "", "v1", "other", "pods", "", "foo")),
        ("DELETE", "/api/v1/namespaces/other/pods/foo", (True, "delete", "", "v1", "other", "pods", "", "foo")),
        ("DELETE", "/api/v1/namespaces/other/pods", (True, "deletecollection", "", "v1", "other", "pods", "", "")),
        ("GET", "/api/v1/namespaces/other/pods/foo/log", (True, "get", "", "v1", "other", "pods", "log", "foo")),
        ("GET", "/api/v1/namespaces/other/status", (True, "get", "", "v1", "other", "namespaces", "status", "other")),
        ("GET", "/api/v1/proxy/namespaces/other/pods/foo/a/b", (True, "proxy", "", "v1", "other", "pods", "", "foo")),
        (
            "GET",
            "/apis/extensions/v1beta1/namespaces/other/ingresses",
            (True, "list", "extensions", "v1beta1", "other", "ingresses", "", ""),
        ),
        (
            "PATCH",
            "/apis/nnf.cray.hpe.com/v1alpha1/namespaces/default/nnfstorages/s1/status",
            (True, "patch", "nnf.cray.hpe.com", "v1alpha1", "default", "nnfstorages", "status", "s1"),
        ),
        ("GET", "/", (False, "get", "", "", "", "", "", "")),
        ("GET", "/readyz", (False, "get", "", "", "", "", "", "")),
        ("GET", "/api", (False, "get", "", "", "", "", "", "")),
        ("GET", "/api/v1", (False, "get", "", "", "", "", "", "")),
        ("POST", "/apis/extensions/v1beta1", (False, "post", "", "", "", "", "", "")),
    ],
)
def test_request_info_matches_kube_apiserver(method, uri, expected):
    assert info(method, uri) == expected


def test_a_special_verb_without_a_resource_is_an_error():
    with pytest.raises(requestinfo.RequestInfoError, match="unable to determine kind and namespace"):
        requestinfo.request_info("GET", "/api/v1/watch")


def test_the_path_is_percent_decoded_and_the_query_left_out():
    found = requestinfo.request_info("GET", "/api/v1/namespaces/a%2Db/pods?limit=5")
    assert found["path"] == "/api/v1/namespaces/a-b/pods"


def headers(*pairs):
    message = email.message.Message()
    for name, value in pairs:
        message[name] = value
    return message


def test_the_request_header_user_gets_its_groups_and_the_authenticated_group():
    user = requestinfo.authenticate(
        headers(("x-remote-user", "alice"), ("X-Remote-Group", "ops"), ("X-Remote-Group", "nnf-admins")),
        ["X-Remote-User"],
        ["X-Remote-Group"],
        [],
    )
    assert user == {"username": "alice", "groups": ["ops", "nnf-admins", "system:authenticated"]}


def test_extra_headers_become_lowercased_unescaped_extra_keys():
    user = requestinfo.authenticate(
        headers(("X-Remote-User", "bob"), ("X-Remote-Extra-Scopes%2Fread", "a"), ("X-Remote-Extra-Scopes%2Fread", "b")),
        ["X-Remote-User"],
        [],
        ["X-Remote-Extra-"],
    )
    assert user["extra"] == {"scopes/read": ["a", "b"]}


def test_without_a_user_header_the_request_is_anonymous():
    user = requestinfo.authenticate(headers(("X-Remote-Group", "ops")), ["X-Remote-User"], ["X-Remote-Group"], [])
    assert user == {"username": "system:anonymous", "groups": ["system:unauthenticated"]}


def test_source_ips_list_forwarded_addresses_then_the_peer():
    found = requestinfo.source_ips(headers(("X-Forwarded-For", "10.0.0.1, bogus, 10.0.0.2")), "127.0.0.1")
    assert found == ["10.0.0.1", "10.0.0.2", "127.0.0.1"]
    assert requestinfo.source_ips(headers(("X-Real-Ip", "127.0.0.1")), "127.0.0.1") == ["127.0.0.1"]


def test_policy_attributes_have_the_conformance_shape():
    found = requestinfo.request_info("GET", "/apis/nnf.cray.hpe.com/v1alpha1/namespaces/default/nnfstorages/s1")
    attributes = requestinfo.policy_request(found, {"username": "alice", "groups": ["g"]})
    assert attributes == {
        "user": {"name": "alice", "groups": ["g"]},
        "verb": "get",
        "namespace": "default",
        "apiGroup": "nnf.cray.hpe.com",
        "apiVersion": "v1alpha1",
        "resource": "nnfstorages",
        "subresource": "",
        "name": "s1",
        "resourceRequest": True,
        "path": "/apis/nnf.cray.hpe.com/v1alpha1/namespaces/default/nnfstorages/s1",
    }


def test_object_reference_only_for_resource_requests_and_without_empty_fields():
    assert requestinfo.object_reference(requestinfo.request_info("GET", "/healthz")) is None
    reference = requestinfo.object_reference(requestinfo.request_info("GET", "/api/v1/namespaces/default/pods"))
    assert list(reference.items()) == [("resource", "pods"), ("namespace", "default"), ("apiVersion", "v1")]


# --------------------------------------------------------------------------------------------------- events

RECEIVED = 1716903590.342694  # 2024-05-28T13:39:50.342694Z


def event(**overrides):
    fields = {
        "api_version": "audit.k8s.io/v1",
        "level": "Metadata",
        "audit_id": "d1053ee5-0734-4b40-815f-3f6831f82bac",
        "stage": "ResponseComplete",
        "request_uri": "/api/v1/namespaces/default/pods?limit=500",
        "verb": "list",
        "user": {"username": "admin", "groups": ["system:masters", "system:authenticated"]},
        "source_ips": ["127.0.0.1"],
        "user_agent": "kubectl/v1.29.0",
        "object_ref": {"resource": "pods", "namespace": "default", "apiVersion": "v1"},
        "received": RECEIVED,
        "stage_time": RECEIVED + 0.002,
        "response_code": 200,
        "annotations": {"authorization.k8s.io/decision": "allow", "authorization.k8s.io/reason": ""},
    }
    fields.update(overrides)
    return audit_event.new_event(**fields)


def test_event_fields_are_in_the_go_struct_order():
    assert list(event()) == [
        "kind",
        "apiVersion",
        "level",
        "auditID",
        "stage",
        "requestURI",
        "verb",
        "user",
        "sourceIPs",
        "userAgent",
        "objectRef",
        "responseStatus",
        "requestReceivedTimestamp",
        "stageTimestamp",
        "annotations",
    ]


def test_an_impersonated_user_follows_the_user_and_gets_the_authenticated_group():
    found = event(impersonated_user=apiserver.impersonated_user(headers(("Impersonate-User", "jane"))))
    assert list(found)[7:9] == ["user", "impersonatedUser"]
    assert found["impersonatedUser"] == {"username": "jane", "groups": ["system:authenticated"]}
    both = apiserver.impersonated_user(
        headers(("Impersonate-User", "jane"), ("Impersonate-Group", "ops"), ("Impersonate-Group", "dev"))
    )
    assert both == {"username": "jane", "groups": ["ops", "dev", "system:authenticated"]}
    assert apiserver.impersonated_user(headers(("Impersonate-User", "system:anonymous")))["groups"] == []
    assert apiserver.impersonated_user(headers(("X-Remote-User", "jane"))) is None
    assert "impersonatedUser" not in event()


def test_the_request_received_stage_has_no_status_and_empty_fields_are_left_out():
    received = event(stage="RequestReceived", response_code=None, annotations=None, user_agent="", object_ref=None)
    assert "responseStatus" not in received and "annotations" not in received
    assert "userAgent" not in received and "objectRef" not in received


def test_bodies_are_logged_only_at_the_levels_that_log_them():
    body = {"kind": "Pod"}
    assert "requestObject" not in event(request_object=body, response_object=body)
    at_request = event(level="Request", request_object=body, response_object=body)
    assert at_request["requestObject"] == body and "responseObject" not in at_request
    both = event(level="RequestResponse", request_object=body, response_object=body)
    assert list(both)[12:14] == ["requestObject", "responseObject"]


def test_json_line_is_compact_micro_time_utc_with_gos_html_escaping():
    line = audit_event.encode_json(event(user_agent="a<b>&c"))
    assert line.endswith(b"}\n") and b" " not in line.replace(b"a\\u003cb\\u003e\\u0026c", b"")
    decoded = json.loads(line)
    assert decoded["requestReceivedTimestamp"] == "2024-05-28T13:39:50.342694Z"
    assert decoded["stageTimestamp"] == "2024-05-28T13:39:50.344694Z"
    assert b'"userAgent":"a\\u003cb\\u003e\\u0026c"' in line


def test_legacy_line_is_audit_event_string():
    line = audit_event.encode_legacy(event()).decode()
    assert line == (
        '2024-05-28T13:39:50.342694Z AUDIT: id="d1053ee5-0734-4b40-815f-3f6831f82bac" stage="ResponseComplete" '
        'ip="127.0.0.1" method="list" user="admin" groups="\\"system:masters\\",\\"system:authenticated\\"" '
        'as="<self>" asgroups="<lookup>" user-agent="kubectl/v1.29.0" namespace="default" '
        'uri="/api/v1/namespaces/default/pods?limit=500" response="200"\n'
    )


def test_rfc3339_nano_drops_trailing_zeros():
    assert audit_event.rfc3339_nano(RECEIVED) == "2024-05-28T13:39:50.342694Z"
    assert audit_event.rfc3339_nano(1716903590.5) == "2024-05-28T13:39:50.5Z"
    assert audit_event.rfc3339_nano(1716903590.0) == "2024-05-28T13:39:50Z"

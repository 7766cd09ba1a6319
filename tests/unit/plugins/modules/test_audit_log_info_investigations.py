"""audit_log_info: the investigation options (name, source_ips, user_agents, impersonated_user, effective_user, recipe)
as Ansible hands them to the module, and recipe_counts in its result."""

import json

import pytest
from ansible.module_utils import _internal as module_utils_internal
from ansible.module_utils.testing import patch_module_args

from ansible_collections.nnf.kube_audit.plugins.modules import audit_log_info


def event(n, user, verb, resource, name, *, code=200, source="10.0.0.5", agent="kubectl/v1.30.1", **extra):
    body = {
        "kind": "Event",
        "apiVersion": "audit.k8s.io/v1",
        "level": "Metadata",
        "auditID": f"00000000-0000-4000-8000-{n:012d}",
        "stage": "ResponseComplete",
        "requestURI": f"/api/v1/namespaces/default/{resource}/{name}",
        "verb": verb,
        "user": {"username": user, "groups": ["system:authenticated"]},
    }
    if "impersonatedUser" in extra:
        body["impersonatedUser"] = extra.pop("impersonatedUser")
    body.update(
        sourceIPs=[source],
        userAgent=agent,
        objectRef={"resource": resource, "namespace": "default", "name": name, "apiVersion": "v1"},
        responseStatus={"metadata": {}, "code": code},
        requestReceivedTimestamp=f"2026-11-20T10:00:{n:02d}.000001Z",
        stageTimestamp=f"2026-11-20T10:00:{n:02d}.000002Z",
    )
    assert not extra
    return body


LOG = [
    event(1, "alice", "delete", "pods", "web-1"),
    event(2, "bob", "get", "secrets", "db-pass", code=403, source="192.168.1.7", agent="curl/8.1.2"),
    event(3, "kubernetes-admin", "get", "pods", "web-2", impersonatedUser={"username": "carol"}),
    event(4, "bob", "list", "secrets", "db-pass", code=403, source="192.168.1.7", agent="curl/8.1.2"),
]


@pytest.fixture
def log(tmp_path):
    path = tmp_path / "kube-apiserver-audit.log"
    path.write_text("".join(json.dumps(item, separators=(",", ":")) + "\n" for item in LOG))
    return path


def run(capsys, monkeypatch, **args):
    """Run the module's main() in-process, as Ansible would hand it ``args``; returns its JSON result."""
    monkeypatch.setattr(module_utils_internal, "is_controller", False, raising=False)
    with patch_module_args(args), pytest.raises(SystemExit):
        audit_log_info.main()
    return json.loads(capsys.readouterr().out)


def numbers(result):
    return [int(item["auditID"][-1]) for item in result["events"]]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ({"name": "web-*"}, [1, 3]),
        ({"name": "db-pass"}, [2, 4]),
        ({"source_ips": "192.168.0.0/16,10.9.0.0/16"}, [2, 4]),  # a comma-separated string, as -e gives it
        ({"source_ips": ["10.0.0.5"]}, [1, 3]),
        ({"user_agents": ["curl/*"]}, [2, 4]),
        ({"impersonated_user": "carol"}, [3]),
        ({"effective_user": "carol"}, [3]),
        ({"user": "kubernetes-admin"}, [3]),
        ({"effective_user": "kubernetes-admin"}, []),
        ({"recipe": "denied"}, [2, 4]),
        ({"recipe": "deletions"}, [1]),
        ({"recipe": "impersonation"}, [3]),
        ({"recipe": "secret_access", "verbs": ["list"]}, [4]),
    ],
)
def test_the_new_options_filter(capsys, monkeypatch, log, args, expected):
    result = run(capsys, monkeypatch, path=str(log), **args)
    assert "failed" not in result, result.get("msg")
    assert numbers(result) == expected


def test_a_recipe_counts_by_its_fields(capsys, monkeypatch, log):
    result = run(capsys, monkeypatch, path=str(log), recipe="denied", format="counts")
    assert result["recipe_counts"] == {
        "recipe": "denied",
        "fields": ["user", "source_ips", "code"],
        "rows": [{"user": "bob", "source_ips": "192.168.1.7", "code": "403", "count": 2}],
    }
    assert result["counts"]["verb"] == {"get": 1, "list": 1}  # the usual counts, unchanged
    assert "recipe_counts" not in run(capsys, monkeypatch, path=str(log), format="counts")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            {"source_ips": ["10.0.0.0/8", "10.0.0.256"]},
            "Invalid filter: source_ips: '10.0.0.256' is neither an IP address (10.0.0.5, fd00::5) nor a network in "
            "CIDR notation (10.0.0.0/8, fd00::/8)",
        ),
        ({"source_ips": "10.0.0.0/8,bad"}, "Invalid filter: source_ips: 'bad' is neither an IP address"),
        ({"recipe": "secrets"}, "value of recipe must be one of: deletions, secret_access, exec, denied, rbac_changes"),
    ],
)
def test_bad_values_fail_before_anything_is_read(capsys, monkeypatch, log, args, message):
    result = run(capsys, monkeypatch, path=str(log), **args)
    assert result["failed"] is True
    assert message in result["msg"]
    assert "events" not in result and "files" not in result  # nothing was read

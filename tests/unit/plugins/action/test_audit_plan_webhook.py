"""The webhook kubeconfig's content is a no_log option wherever it travels: audit_files, manifest_io, audit_plan.

audit_plan hands ``files`` to manifest_io, whose ``files`` dict is logged like any option: its
``webhook_config_content_base64`` is moved to manifest_io's own no_log option of that name, and manifest_io puts it
back before planning audit_files.
"""

import base64
import json
import os

import action_runner
import module_runner
import pytest
from manifest_fixtures import NNF, read, tree_state

from ansible_collections.nnf.kube_audit.plugins.action import audit_plan
from ansible_collections.nnf.kube_audit.plugins.module_utils import audit_files
from ansible_collections.nnf.kube_audit.plugins.modules import manifest_io
from ansible_collections.nnf.kube_audit.plugins.plugin_utils import _action

MASKED = "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
KEY_B64 = base64.b64encode(b"-----BEGIN PRIVATE KEY-----\nwebhook-client-key\n-----END PRIVATE KEY-----\n").decode()
KUBECONFIG = (
    "apiVersion: v1\n"
    "kind: Config\n"
    "current-context: audit-webhook\n"
    "users:\n"
    "- name: audit-webhook\n"
    "  user:\n"
    "    client-certificate-data: Q0VSVA==\n"
    f"    client-key-data: {KEY_B64}\n"
)
CONTENT_B64 = base64.b64encode(KUBECONFIG.encode()).decode()


# --------------------------------------------------------------------------------------------------
# the argument specs
# --------------------------------------------------------------------------------------------------


def test_audit_files_never_logs_the_webhook_content():
    spec = audit_files.ARGUMENT_SPEC
    assert spec["webhook_config_content_base64"] == {"type": "str", "no_log": True}
    assert not spec["webhook_config_path"].get("no_log")
    assert not spec["webhook_config_restore_from"].get("no_log")


class _Declared(Exception):
    """Stops manifest_io.main() once it has declared its options."""


def test_manifest_io_never_logs_the_webhook_content(monkeypatch):
    declared = {}

    def module(**kwargs):
        declared.update(kwargs)
        raise _Declared

    monkeypatch.setattr(manifest_io, "AnsibleModule", module)
    with pytest.raises(_Declared):
        manifest_io.main()
    spec = declared["argument_spec"]
    assert spec["webhook_config_content_base64"] == {"type": "str", "no_log": True}
    assert spec["files"] == {"type": "dict"}  # logged as it is: the content must not travel in it


@pytest.mark.skipif(os.geteuid() != 0, reason="the module makes the file root-owned")
def test_the_audit_files_module_masks_the_content_in_its_output(tmp_path):
    path = tmp_path / "etc" / "audit-webhook.conf"
    completed, result = module_runner.execute(
        "audit_files",
        {
            "webhook_config_path": str(path),
            "webhook_config_content_base64": CONTENT_B64,
            "manifests_dir": str(tmp_path / "manifests"),
            "_ansible_diff": True,
        },
        tmp_path,
    )
    assert result is not None, completed.stderr
    assert not result.get("failed"), result
    assert path.read_text() == KUBECONFIG
    assert result["invocation"]["module_args"]["webhook_config_content_base64"] == MASKED
    assert "    client-key-data: REDACTED\n" in result["diff"][0]["after"]
    assert CONTENT_B64 not in completed.stdout
    assert KEY_B64 not in completed.stdout


# --------------------------------------------------------------------------------------------------
# audit_plan moves it out of files
# --------------------------------------------------------------------------------------------------


@pytest.fixture
def node(tmp_path):
    root = tmp_path / "node"
    (root / "manifests").mkdir(parents=True)
    (root / "manifests" / "kube-apiserver.yaml").write_text(read(NNF))
    return root


def files_options(node):
    return {
        "webhook_config_path": str(node / "etc" / "audit-webhook.conf"),
        "webhook_config_content_base64": CONTENT_B64,
        "manifests_dir": str(node / "manifests"),
    }


def manifest_options(node):
    return {"path": str(node / "manifests" / "kube-apiserver.yaml"), "backup_dir": str(node / "backup")}


class _Read(Exception):
    """Stops audit_plan.plan() at its manifest_io call."""


def planned_read(monkeypatch, args):
    """The module arguments audit_plan gives manifest_io (its one remote call)."""
    calls = []

    def execute(action, module, module_args, task_vars):
        calls.append((module, json.loads(json.dumps(module_args))))
        raise _Read

    monkeypatch.setattr(_action, "execute", execute)
    action = action_runner.FakeAction(args, "/nonexistent", name="audit_plan")
    with pytest.raises(_Read):
        audit_plan.plan(action, {})
    (call,) = calls
    return call, action


def test_the_content_becomes_manifest_ios_own_option(monkeypatch, node):
    args = {"files": files_options(node), "manifest": manifest_options(node)}

    (module, module_args), action = planned_read(monkeypatch, args)

    assert module == "manifest_io"
    assert module_args["webhook_config_content_base64"] == CONTENT_B64
    expected_files = {
        key: value for key, value in files_options(node).items() if key != "webhook_config_content_base64"
    }
    assert module_args["files"] == expected_files
    assert action._task.args["files"]["webhook_config_content_base64"] == CONTENT_B64  # the task's own args untouched


def test_without_the_content_no_option_is_added(monkeypatch, node):
    files = {"webhook_config_path": str(node / "etc" / "audit-webhook.conf"), "webhook_config_state": "absent"}

    (_module, module_args), _unused = planned_read(monkeypatch, {"files": files, "manifest": manifest_options(node)})

    assert "webhook_config_content_base64" not in module_args
    assert module_args["files"] == files


def test_the_plan_installs_nothing_and_shows_the_kubeconfig_redacted(tmp_path, node):
    before = tree_state(node)
    args = {"files": files_options(node), "manifest": manifest_options(node)}
    action = action_runner.FakeAction(args, tmp_path, diff=True, name="audit_plan")

    result = action_runner.run_plan(action)

    assert not result.get("failed"), result
    assert tree_state(node) == before
    (call,) = action.calls
    assert call.args["webhook_config_content_base64"] == CONTENT_B64
    assert "webhook_config_content_base64" not in call.args["files"]
    invocation = call.result["invocation"]["module_args"]
    assert invocation["webhook_config_content_base64"] == MASKED
    assert "webhook_config_content_base64" not in invocation["files"]
    assert result["files"]["webhook_config"] == {
        "path": str(node / "etc" / "audit-webhook.conf"),
        "state": "present",
        "existed": False,
        "changes": ["create"],
        "checksum": audit_files.sha256_hex(KUBECONFIG.encode()),
        "backup_file": None,
    }
    (entry,) = [
        item for item in result["diff"] if item.get("after_header") == files_options(node)["webhook_config_path"]
    ]
    assert entry["after"] == KUBECONFIG.replace(KEY_B64, "REDACTED")
    for output in (json.dumps(call.result), json.dumps(result)):
        assert CONTENT_B64 not in output
        assert KEY_B64 not in output

"""audit_policy's action plugin: the checks run on the controller, in Ansible's own process, whatever the host.

The in-process run must be the module, only faster: the same result for a good policy, the same failure (message,
``error``, ``policy_warnings``) for a bad one, the same refusal of bad options; on any other connection the module
runs on its host.
"""

import base64
import hashlib
import types
from pathlib import Path

import action_runner
import pytest
from ansible.errors import AnsibleActionFail

from ansible_collections.nnf.kube_audit.plugins.action import audit_policy
from ansible_collections.nnf.kube_audit.plugins.plugin_utils import audit_policy as engine

PRESET = Path(__file__).resolve().parents[4] / "roles" / "kube_audit" / "files" / "presets" / "nnf.yaml"
BAD_LEVEL = "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: metadata\n"


def in_process(args, tmp_path, transport="local", **options):
    action = action_runner.action_module(audit_policy, args, tmp_path, **options)
    action._connection = types.SimpleNamespace(transport=transport, _shell=types.SimpleNamespace(tmpdir=None))
    return action, action.run(task_vars={})


def test_the_result_is_the_engines_for_exactly_the_file_bytes(tmp_path):
    action, result = in_process({"src": str(PRESET)}, tmp_path)
    assert action.calls == []  # nothing was executed on the host
    data = PRESET.read_bytes()
    assert base64.b64decode(result["content_base64"]) == data
    assert result["checksum"] == hashlib.sha256(data).hexdigest()
    assert result["policy"] == engine.load_policy(data)[0]
    # the preset records only the NNF groups: the linter says what that leaves out, as warnings
    assert result["warnings"] == [f"audit policy lint: {warning}" for warning in result["lint_warnings"]]
    assert result["lint_warnings"][0].startswith("no rule matches every request")
    _action, quiet = in_process({"src": str(PRESET), "lint": False}, tmp_path)
    assert "warnings" not in quiet and quiet["lint_warnings"] == []  # none to show: no empty list either


def test_an_invalid_policy_fails_with_kube_apiservers_message_and_no_traceback(tmp_path):
    action, result = in_process({"content": BAD_LEVEL}, tmp_path)
    assert action.calls == []
    assert result["failed"] is True
    assert result["msg"].startswith('audit policy content: rules[0].level: Unsupported value: "metadata"')
    assert result["error"] == result["msg"][len("audit policy content: ") :]
    assert result["policy_warnings"] == []
    assert "exception" not in result  # the user's input, not our bug: no traceback


def test_bad_options_are_refused_by_ansibles_own_checks(tmp_path):
    with pytest.raises(AnsibleActionFail, match=r"parameters are mutually exclusive: src\|content\|rules"):
        in_process({"src": str(PRESET), "content": BAD_LEVEL}, tmp_path)


@pytest.mark.parametrize("transport", ["ssh", "local"])
def test_on_any_connection_the_checks_run_on_the_controller(tmp_path, transport):
    """Masters have no YAML library: the policy is never checked on the task's host, whatever the connection."""
    action, result = in_process({"src": str(PRESET)}, tmp_path, transport=transport)
    assert action.calls == []
    assert result["checksum"] == hashlib.sha256(PRESET.read_bytes()).hexdigest()

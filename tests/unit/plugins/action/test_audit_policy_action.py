"""audit_policy's action plugin: on the controller (a local connection) the checks run in Ansible's own process.

The in-process run must be the module, only faster: the same result for a good policy, the same failure (message,
``error``, ``policy_warnings``) for a bad one, the same refusal of bad options; on any other connection the module
runs on its host.
"""

import types
from pathlib import Path

import action_runner
import module_runner
import pytest
from ansible.errors import AnsibleActionFail

from ansible_collections.nnf.kube_audit.plugins.action import audit_policy

PRESET = Path(__file__).resolve().parents[4] / "roles" / "kube_audit" / "files" / "presets" / "nnf.yaml"
BAD_LEVEL = "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: metadata\n"


def in_process(args, tmp_path, transport="local", **options):
    action = action_runner.action_module(audit_policy, args, tmp_path, **options)
    action._connection = types.SimpleNamespace(transport=transport, _shell=types.SimpleNamespace(tmpdir=None))
    return action, action.run(task_vars={})


def without_noise(result):
    return {key: value for key, value in result.items() if key not in ("invocation", "_ansible_no_log")}


def test_on_the_controller_the_result_is_the_modules_without_a_module_process(tmp_path):
    module = module_runner.run("audit_policy", {"src": str(PRESET)}, tmp_path)
    action, result = in_process({"src": str(PRESET)}, tmp_path)
    assert action.calls == []  # nothing was executed as a module
    assert without_noise(result) == without_noise(module)
    assert result["checksum"] and result["content_base64"]


def test_an_invalid_policy_fails_in_process_as_the_module_fails(tmp_path):
    args = {"content": BAD_LEVEL}
    module = module_runner.run("audit_policy", args, tmp_path)
    action, result = in_process(args, tmp_path)
    assert action.calls == []
    assert result["failed"] is True
    assert result["msg"] == module["msg"]
    assert 'rules[0].level: Unsupported value: "metadata"' in result["msg"]
    assert (result["error"], result["policy_warnings"]) == (module["error"], module["policy_warnings"])
    assert "exception" not in result  # the user's input, not our bug: no traceback


def test_bad_options_are_refused_by_ansibles_own_checks(tmp_path):
    with pytest.raises(AnsibleActionFail, match=r"parameters are mutually exclusive: src\|content\|rules"):
        in_process({"src": str(PRESET), "content": BAD_LEVEL}, tmp_path)


def test_on_another_connection_the_module_runs_on_its_host(tmp_path):
    action, result = in_process({"src": str(PRESET)}, tmp_path, transport="ssh", stdlib_only=False)
    assert [call.module for call in action.calls] == ["audit_policy"]
    assert result["checksum"] == module_runner.run("audit_policy", {"src": str(PRESET)}, tmp_path)["checksum"]


def test_on_a_bare_host_the_module_says_what_it_needs(tmp_path):
    action, result = in_process({"src": str(PRESET)}, tmp_path, transport="ssh", stdlib_only=True)
    assert [call.module for call in action.calls] == ["audit_policy"]
    assert result["failed"] is True
    assert result["msg"].startswith("Failed to import the required Python library (PyYAML) on the host")

"""audit_plan as Ansible runs it: one manifest_io read (audit_files planned in it), the manifest edit planned here."""

import os

import action_runner
import pytest
from manifest_fixtures import FIXTURES, NNF, NNF_PATCHED, SEED_ARGS, SEED_MOUNTS, read, tree_state

from ansible_collections.nnf.kube_audit.plugins.action import audit_plan

POLICY = "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n"


@pytest.fixture
def node(tmp_path):
    root = tmp_path / "node"
    (root / "manifests").mkdir(parents=True)
    (root / "manifests" / "kube-apiserver.yaml").write_text(read(NNF))
    (root / "manifests" / "etcd.yaml").write_text(read(FIXTURES / "etcd-v3.5.10.yaml"))
    return root


def manifest_options(node, **options):
    return dict(
        {"path": str(node / "manifests" / "kube-apiserver.yaml"), "backup_dir": str(node / "backup")}, **options
    )


def files_options(node):
    return {
        "policy_path": str(node / "policies" / "audit-policy.yaml"),
        "policy_content": POLICY,
        "log_dir": str(node / "log" / "kubernetes"),
        "manifests_dir": str(node / "manifests"),
    }


def plan(tmp_path, args, check_mode=False, diff=False):
    action = action_runner.FakeAction(args, tmp_path, check_mode=check_mode, diff=diff, name="audit_plan")
    return action_runner.run_plan(action), action


def test_one_read_plans_the_files_and_the_manifest_and_changes_nothing(tmp_path, node):
    (node / "manifests" / "kube-apiserver.yaml.orig").write_text(read(NNF))
    before = tree_state(node)
    args = {"files": files_options(node), "manifest": manifest_options(node, args=SEED_ARGS, mounts=SEED_MOUNTS)}

    result, action = plan(tmp_path, args, diff=True)

    assert not result.get("failed"), result
    assert tree_state(node) == before
    assert action.module_calls() == [("manifest_io", "read")]
    assert action.calls[0].args["files"] == files_options(node)
    assert result["changed"] is True
    assert result["needs_change"] is True
    assert result["files"]["policy"]["changes"] == ["create"]
    assert result["files"]["log_dir"]["changes"] == ["create"]
    assert "diff" not in result["files"]  # moved to the task's diff
    manifest = result["manifest"]
    assert manifest["changed"] is True and manifest["manifest_changed"] is True
    assert manifest["stray_files"][0]["from"] == str(node / "manifests" / "kube-apiserver.yaml.orig")
    assert "before" not in manifest and "after" not in manifest
    headers = [entry.get("after_header") for entry in result["diff"]]
    assert headers == [
        str(node / "policies" / "audit-policy.yaml"),
        str(node / "log" / "kubernetes"),
        str(node / "manifests" / "kube-apiserver.yaml"),
        None,  # the stray files moving out
    ]
    assert result["diff"][2]["after"] == read(NNF_PATCHED)


def test_the_plan_is_what_apiserver_manifest_plans_in_check_mode(tmp_path, node):
    options = manifest_options(node, args=SEED_ARGS, mounts=SEED_MOUNTS, backup=True)
    result, _action = plan(tmp_path, {"manifest": options})
    checked = action_runner.run_edit(
        action_runner.FakeAction(options, tmp_path, check_mode=True, name="apiserver_manifest")
    )
    assert result["changed"] is True
    assert result["manifest"] == checked


def test_the_plan_changes_nothing_in_any_mode(tmp_path, node):
    before = tree_state(node)
    result, action = plan(tmp_path, {"files": files_options(node), "manifest": manifest_options(node, args=SEED_ARGS)})
    assert result["changed"] is True
    assert tree_state(node) == before
    assert action.calls[0].args.get("operation") is None  # a read, never a write


def test_nothing_to_do_is_unchanged_and_has_no_diff(tmp_path, node):
    result, _action = plan(tmp_path, {"manifest": manifest_options(node, args={"secure-port": 6443})}, diff=True)
    assert result["changed"] is False
    assert result["needs_change"] is False
    assert "diff" not in result
    assert "files" not in result


def test_warnings_of_the_manifest_plan_reach_ansible(tmp_path, node):
    (node / "manifests" / "notes.txt").write_text("a: [b\n")
    result, _action = plan(tmp_path, {"manifest": manifest_options(node)})
    assert action_runner.warning_texts(result) == [
        f"{node}/manifests/notes.txt is not a readable manifest (yaml: line 1: did not find expected ',' or ']'); "
        "left in place"
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"manifest": {}, "bogus": 1}, "Unsupported parameters: bogus (supported: files, manifest, kubeadm_config)"),
        ({"manifest": ["path"]}, "manifest must be a dict of apiserver_manifest options, got ['path']"),
        ({"manifest": {"restore_from": "/b/x.yaml"}}, "manifest: restore_from is not a plan; use apiserver_manifest"),
        ({"manifest": {"clean_stray": "perhaps"}}, "manifest: "),
    ],
)
def test_bad_options_fail_before_the_master_is_asked(tmp_path, args, message):
    result, action = plan(tmp_path, args)
    assert result["failed"] is True
    assert result["msg"].startswith(message)
    assert action.calls == []


def test_bad_files_options_fail_on_the_master_naming_them(tmp_path, node):
    files = dict(files_options(node), policy_state="maybe")
    result, action = plan(tmp_path, {"files": files, "manifest": manifest_options(node)})
    assert result["failed"] is True
    assert result["msg"].startswith("files: ")
    assert "policy_state" in result["msg"]
    assert action.module_calls() == [("manifest_io", "read")]


def test_the_action_module_runs_the_same_plan(tmp_path, node):
    args = {"files": files_options(node), "manifest": manifest_options(node, args=SEED_ARGS)}
    expected, _action = plan(tmp_path, args, diff=True)
    action = action_runner.action_module(audit_plan, args, tmp_path, diff=True)
    assert action.run(task_vars={}) == expected
    assert action.removed_tmp_paths == [(None, False)]
    assert sorted(os.listdir(node)) == ["manifests"]

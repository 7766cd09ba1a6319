"""audit_plan as Ansible runs it: one manifest_io read (audit_files planned in it), the manifest edit planned here.

With ``kubeadm_config``, the same read says whether the kubeconfig exists and (``read``) reads
kube-system/kubeadm-config from the local kube-apiserver stand-in (``kube_api_server``); a node with neither manifest
nor kubeconfig is not a master yet.
"""

import os

import action_runner
import pytest
from kube_api_server import NAME, NAMESPACE, configmap, unused_url, write_admin_conf
from manifest_fixtures import FIXTURES, NNF, NNF_PATCHED, SEED_ARGS, SEED_MOUNTS, read, tree_state

from ansible_collections.nnf.kube_audit.plugins.action import audit_plan
from ansible_collections.nnf.kube_audit.plugins.plugin_utils.kubeadm_config_editor import edit_cluster_configuration

KUBEADM_FIXTURES = FIXTURES.parent / "kubeadm"

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


# --------------------------------------------------------------------------------------------------
# kubeadm_config: the kubeconfig's existence, and kube-system/kubeadm-config read and planned in the same call
# --------------------------------------------------------------------------------------------------

CONFIGMAP = f"ConfigMap {NAMESPACE}/{NAME}"
KUBEADM_HEADER = f"{CONFIGMAP} ClusterConfiguration"
V1BETA3 = read(KUBEADM_FIXTURES / "cluster-configuration-v1beta3-v1.29.0.yaml")


@pytest.fixture
def cluster(start_apiserver, pki, node):
    """The API server of the node's cluster (kubeadm-config holds the v1beta3 fixture) and the node's admin.conf."""
    server = start_apiserver(objects=[configmap(V1BETA3, ClusterStatus="apiEndpoints: {}\n")])
    kubeconfig = write_admin_conf(node / "etc", server.url, pki.ca, pki.admin_cert, pki.admin_key)
    return server, kubeconfig


def kubeadm_options(kubeconfig, **options):
    return dict({"kubeconfig": kubeconfig}, **options)


def test_kubeadm_config_is_read_and_planned_in_the_same_call(tmp_path, node, cluster):
    server, kubeconfig = cluster
    manifest = manifest_options(node, args=SEED_ARGS, mounts=SEED_MOUNTS)
    before = tree_state(node)
    expected = edit_cluster_configuration(V1BETA3, args=SEED_ARGS, mounts=SEED_MOUNTS)

    result, action = plan(
        tmp_path,
        {"files": files_options(node), "manifest": manifest, "kubeadm_config": kubeadm_options(kubeconfig, read=True)},
        diff=True,
    )

    assert not result.get("failed"), result
    assert action.module_calls() == [("manifest_io", "read")]  # one remote call for everything
    assert action.calls[0].args["kubeconfig"] == kubeconfig
    assert action.calls[0].args["read_kubeadm_config"] is True
    assert result["kubeconfig_exists"] is True
    assert result["kubeadm_config"] == {
        "changed": True,
        "found": True,
        "changes": list(expected.changes),
        "api_version": "kubeadm.k8s.io/v1beta3",
        "resource_version": "1000",
    }
    assert result["changed"] is True and result["needs_change"] is True
    assert result["diff"][-1] == {
        "before_header": KUBEADM_HEADER,
        "after_header": KUBEADM_HEADER,
        "before": V1BETA3,
        "after": expected.after,
    }
    headers = [entry.get("after_header") for entry in result["diff"]]
    assert headers[2] == manifest["path"]  # files, manifest, then the ConfigMap
    assert "warnings" not in result
    # the manifest part is the plan without kubeadm_config
    alone, _action = plan(tmp_path, {"files": files_options(node), "manifest": manifest})
    assert result["manifest"] == alone["manifest"]
    # a plan: one GET, nothing written anywhere
    assert [request.method for request in server.requests] == ["GET"]
    assert server.stored()["data"]["ClusterConfiguration"] == V1BETA3
    assert tree_state(node) == before


def test_a_configmap_change_alone_is_a_change_but_needs_no_rollout(tmp_path, node, cluster):
    _server, kubeconfig = cluster
    (node / "manifests" / "kube-apiserver.yaml").write_text(read(NNF_PATCHED))
    manifest = manifest_options(node, args=SEED_ARGS, mounts=SEED_MOUNTS)
    result, _action = plan(tmp_path, {"manifest": manifest, "kubeadm_config": kubeadm_options(kubeconfig, read=True)})
    assert result["manifest"]["changed"] is False
    assert result["kubeadm_config"]["changed"] is True
    assert result["changed"] is True
    assert result["needs_change"] is False  # the masters to roll out: none


def test_read_false_says_whether_the_kubeconfig_exists_and_asks_the_api_server_nothing(tmp_path, node, cluster):
    server, kubeconfig = cluster
    for options in (kubeadm_options(kubeconfig, read=False), kubeadm_options(kubeconfig)):
        result, action = plan(tmp_path, {"manifest": manifest_options(node), "kubeadm_config": options})
        assert not result.get("failed"), result
        assert result["kubeconfig_exists"] is True
        assert "kubeadm_config" not in result
        assert action.calls[0].args["read_kubeadm_config"] is False
    result, _action = plan(
        tmp_path, {"manifest": manifest_options(node), "kubeadm_config": kubeadm_options(str(node / "nope.conf"))}
    )
    assert result["kubeconfig_exists"] is False
    assert server.requests == []


def test_without_kubeadm_config_a_missing_manifest_still_fails(tmp_path, node):
    (node / "manifests" / "kube-apiserver.yaml").unlink()
    result, action = plan(tmp_path, {"manifest": manifest_options(node)})
    assert result["failed"] is True
    assert result["msg"] == f"{node}/manifests/kube-apiserver.yaml does not exist"
    assert "kubeconfig" not in action.calls[0].args


@pytest.mark.parametrize("manifests_dir", [True, False], ids=["empty-manifests-dir", "bare-node"])
def test_a_node_that_is_not_a_master_yet_skips_the_manifest_and_plans_the_files(tmp_path, node, manifests_dir):
    (node / "manifests" / "kube-apiserver.yaml").unlink()
    (node / "manifests" / "etcd.yaml").unlink()
    if not manifests_dir:
        (node / "manifests").rmdir()
    before = tree_state(node)
    kubeconfig = str(node / "etc" / "admin.conf")
    path = str(node / "manifests" / "kube-apiserver.yaml")

    result, action = plan(
        tmp_path,
        {
            "files": files_options(node),
            "manifest": manifest_options(node, args=SEED_ARGS, mounts=SEED_MOUNTS),
            "kubeadm_config": kubeadm_options(kubeconfig),
        },
        diff=True,
    )

    assert not result.get("failed"), result
    assert action.module_calls() == [("manifest_io", "read")]
    warning = (
        f"{path} and {kubeconfig} do not exist: not a control-plane node yet. The manifest is skipped; the policy "
        "file and the log directory are prepared, and kubeadm join --control-plane renders the manifest from "
        "kubeadm-config."
    )
    assert action_runner.warning_texts(result) == [warning]
    assert result["manifest"] == {
        "changed": False,
        "manifest_changed": False,
        "skipped": True,
        "stray_files": [],
        "msg": warning,
    }
    assert result["kubeconfig_exists"] is False
    assert result["files"]["policy"]["changes"] == ["create"]
    assert result["files"]["log_dir"]["changes"] == ["create"]
    assert result["changed"] is True and result["needs_change"] is True  # the files
    assert [entry["after_header"] for entry in result["diff"]] == [
        str(node / "policies" / "audit-policy.yaml"),
        str(node / "log" / "kubernetes"),
    ]
    assert tree_state(node) == before


def test_a_node_that_is_not_a_master_yet_and_reads_kubeadm_config_warns_twice(tmp_path, node):
    (node / "manifests" / "kube-apiserver.yaml").unlink()
    kubeconfig = str(node / "etc" / "admin.conf")
    result, _action = plan(
        tmp_path,
        {"manifest": manifest_options(node, args=SEED_ARGS), "kubeadm_config": kubeadm_options(kubeconfig, read=True)},
    )
    assert not result.get("failed"), result
    assert result["manifest"]["skipped"] is True
    assert result["kubeadm_config"]["found"] is False and result["kubeadm_config"]["changed"] is False
    warnings = action_runner.warning_texts(result)
    assert len(warnings) == 2
    assert warnings[1] == f"no kubeconfig at {kubeconfig}: {CONFIGMAP} is left alone"
    required, _action = plan(
        tmp_path,
        {
            "manifest": manifest_options(node, args=SEED_ARGS),
            "kubeadm_config": kubeadm_options(kubeconfig, read=True, required=True),
        },
    )
    assert required["failed"] is True
    assert required["msg"] == f"no kubeconfig at {kubeconfig}: cannot keep {CONFIGMAP} in step"


def test_a_kubeconfig_without_the_manifest_fails(tmp_path, node, cluster):
    server, kubeconfig = cluster
    (node / "manifests" / "kube-apiserver.yaml").unlink()
    path = str(node / "manifests" / "kube-apiserver.yaml")
    for read_config in (False, True):
        result, action = plan(
            tmp_path,
            {
                "files": files_options(node),
                "manifest": manifest_options(node, args=SEED_ARGS),
                "kubeadm_config": kubeadm_options(kubeconfig, read=read_config),
            },
        )
        assert result["failed"] is True
        assert result["msg"] == (
            f"{path} does not exist, but {kubeconfig} does: this is a control-plane node without that manifest "
            "(is kube_audit_manifest_path right?)"
        )
        assert action.module_calls() == [("manifest_io", "read")]
    assert server.puts() == []


@pytest.mark.parametrize("required", [False, True])
def test_a_cluster_without_kubeadm_config(tmp_path, node, start_apiserver, pki, required):
    server = start_apiserver(objects=[])
    kubeconfig = write_admin_conf(node / "etc", server.url, pki.ca, pki.admin_cert, pki.admin_key)
    result, _action = plan(
        tmp_path,
        {
            "manifest": manifest_options(node, args=SEED_ARGS),
            "kubeadm_config": kubeadm_options(kubeconfig, read=True, required=required),
        },
    )
    missing = f"the cluster has no {CONFIGMAP} (not a kubeadm cluster?)"
    if required:
        assert result["failed"] is True
        assert result["msg"] == f"{missing}: cannot keep {CONFIGMAP} in step"
    else:
        assert not result.get("failed"), result
        assert result["manifest"]["changed"] is True
        assert result["kubeadm_config"]["found"] is False
        assert action_runner.warning_texts(result) == [f"{missing}: {CONFIGMAP} is left alone"]


def test_an_api_server_that_is_down_fails_the_plan_naming_it(tmp_path, node, pki):
    url = unused_url()
    kubeconfig = write_admin_conf(node / "etc", url, pki.ca, pki.admin_cert, pki.admin_key)
    result, _action = plan(
        tmp_path, {"manifest": manifest_options(node), "kubeadm_config": kubeadm_options(kubeconfig, read=True)}
    )
    assert result["failed"] is True
    assert result["msg"] == (
        f"reading {CONFIGMAP} from {url} (kubeconfig {kubeconfig}): connection refused (is kube-apiserver running?)"
    )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"read": "perhaps"}, "kubeadm_config: argument 'read' is of type str"),
        ({"bogus": 1}, "kubeadm_config: bogus. Supported parameters include: identity, kubeconfig, read, required"),
        ("yes", "kubeadm_config must be a dict of kubeconfig, read, required and identity, got 'yes'"),
    ],
)
def test_bad_kubeadm_config_options_fail_before_the_master_is_asked(tmp_path, node, options, message):
    result, action = plan(tmp_path, {"manifest": manifest_options(node), "kubeadm_config": options})
    assert result["failed"] is True
    assert result["msg"].startswith(message)
    assert "exception" not in result
    assert action.calls == []


def test_the_action_module_runs_the_same_kubeadm_plan(tmp_path, node, cluster):
    server, kubeconfig = cluster
    args = {
        "manifest": manifest_options(node, args=SEED_ARGS),
        "kubeadm_config": kubeadm_options(kubeconfig, read=True),
    }
    expected, _action = plan(tmp_path, args, diff=True)
    action = action_runner.action_module(audit_plan, args, tmp_path, diff=True)
    assert action.run(task_vars={}) == expected
    assert action.module_calls() == [("manifest_io", "read")]
    assert [request.method for request in server.requests] == ["GET", "GET"]


def test_a_kubeconfig_the_proof_cannot_use_fails_the_plan_before_any_change(tmp_path, node):
    """kube_audit_verify: an admin.conf that exists but cannot be used failed the wait after the restart (and the
    master was put back); the plan reads who it authenticates as in the same call and fails first."""
    broken = node / "admin.conf"
    broken.write_text("apiVersion: v1\nkind: Config\ncurrent-context: nowhere\n")
    before = tree_state(node)
    args = {
        "files": files_options(node),
        "manifest": manifest_options(node),
        "kubeadm_config": kubeadm_options(str(broken), read=False, identity=True),
    }
    result, action = plan(tmp_path, args)
    assert result.get("failed") is True, result
    assert result["msg"].startswith(f"the rollout's proof request (kube_audit_verify) cannot be sent with {broken}: ")
    assert "nowhere" in result["msg"]
    assert action.calls[0].args["kubeconfig_identity"] is True
    assert tree_state(node) == before
    # Without identity (kube_audit_verify false), the same kubeconfig does not stop the plan
    args["kubeadm_config"] = kubeadm_options(str(broken), read=False)
    result, _action = plan(tmp_path, args)
    assert not result.get("failed"), result
    # A missing kubeconfig is no error: the proof is skipped later, with a warning
    args["kubeadm_config"] = kubeadm_options(str(node / "nope.conf"), read=False, identity=True)
    result, _action = plan(tmp_path, args)
    assert not result.get("failed"), result

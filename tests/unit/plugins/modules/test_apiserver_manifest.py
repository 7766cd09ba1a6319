"""apiserver_manifest, run as Ansible runs it (a module process reading its arguments file), on temp dirs."""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

COLLECTIONS = Path(__file__).resolve().parents[4] / ".tmp" / "collections"
MODULE = "ansible_collections.nnf.kube_audit.plugins.modules.apiserver_manifest"
FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "manifests"
NNF = (FIXTURES / "kube-apiserver-v1.29.3-rhel-nnf-shape.yaml").read_text()
NNF_PATCHED = (FIXTURES / "kube-apiserver-v1.29.3-rhel-nnf-shape.seed-patched.yaml").read_text()

ENABLE = {
    "args": {
        "audit-policy-file": "/etc/kubernetes/policies/audit-policy.yaml",
        "audit-log-path": "/var/log/kubernetes/kube-apiserver-audit.log",
        "audit-log-maxsize": 100,
    },
    "remove_args": ["audit-*"],
    "mounts": [
        {
            "name": "k8s-policies",
            "host_path": "/etc/kubernetes/policies/audit-policy.yaml",
            "type": "File",
            "read_only": True,
        },
        {"name": "k8s-log", "host_path": "/var/log/kubernetes/", "type": "DirectoryOrCreate"},
    ],
}
DISABLE = {"remove_args": ["audit-*"], "remove_mounts": ["k8s-policies", "k8s-log"]}


@pytest.fixture
def node(tmp_path):
    root = tmp_path / "node"
    manifests = root / "manifests"
    manifests.mkdir(parents=True)
    (manifests / "kube-apiserver.yaml").write_text(NNF)
    (manifests / "etcd.yaml").write_text((FIXTURES / "etcd-v3.5.10.yaml").read_text())
    node = {"manifests": manifests, "manifest": manifests / "kube-apiserver.yaml", "root": root, "tmp": tmp_path}
    return type("Node", (), node)


def run_module(node, check_mode=False, diff=False, pythonpath=(), **params):
    args = {"path": str(node.manifest), "backup_dir": str(node.root / "backup")}
    args.update(params)
    args.update(_ansible_check_mode=check_mode, _ansible_diff=diff)
    args_file = node.tmp / "args.json"
    args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([*pythonpath, str(COLLECTIONS)]))
    completed = subprocess.run(
        [sys.executable, "-m", MODULE, str(args_file)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )
    assert completed.stdout, completed.stderr
    return json.loads(completed.stdout)


def warning_texts(result):
    """Warnings as text; ansible-core 2.19 modules emit them as structured events."""
    return [item["event"]["msg"] if isinstance(item, dict) else item for item in result.get("warnings", [])]


def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def test_check_mode_with_diff_shows_everything_and_changes_nothing(node):
    (node.manifests / "kube-apiserver.yaml.orig").write_text(NNF)
    before = sorted(os.listdir(node.root))

    result = run_module(node, check_mode=True, diff=True, backup=True, **ENABLE)

    assert not result.get("failed"), result
    assert result["changed"] is True
    assert result["manifest_changed"] is True
    assert node.manifest.read_text() == NNF
    assert (node.manifests / "kube-apiserver.yaml.orig").exists()
    assert sorted(os.listdir(node.root)) == before  # no backup or stray dir created
    manifest_diff, stray_diff = result["diff"]
    assert manifest_diff["before"] == NNF
    assert manifest_diff["after"] == NNF_PATCHED
    assert manifest_diff["before_header"] == str(node.manifest)
    assert f"{node.manifests}/kube-apiserver.yaml.orig -> {node.root}/backup/stray-manifests/" in stray_diff["prepared"]
    assert result["checksum_before"] == sha256(node.manifest)
    assert result["checksum_after"] == hashlib.sha256(NNF_PATCHED.encode()).hexdigest()
    assert result["backup_file"] is None
    assert "before" not in result and "after" not in result


def test_enable_writes_the_seed_patch_then_a_second_run_changes_nothing(node):
    result = run_module(node, backup=True, **ENABLE)

    assert not result.get("failed"), result
    assert result["changed"] is True
    assert node.manifest.read_text() == NNF_PATCHED
    assert Path(result["backup_file"]).read_text() == NNF
    assert result["checksum_after"] == sha256(node.manifest)
    assert result["args"]["audit-log-maxsize"] == "100"
    assert result["command"][-3:] == [
        "--audit-policy-file=/etc/kubernetes/policies/audit-policy.yaml",
        "--audit-log-path=/var/log/kubernetes/kube-apiserver-audit.log",
        "--audit-log-maxsize=100",
    ]
    assert result["mounts"][1] == {
        "name": "k8s-log",
        "host_path": "/var/log/kubernetes/",
        "mount_path": "/var/log/kubernetes/",  # defaulted from host_path
        "type": "DirectoryOrCreate",
        "read_only": False,
    }
    assert "diff" not in result  # only in diff mode

    stat_before = os.stat(node.manifest)
    again = run_module(node, backup=True, diff=True, **ENABLE)
    assert again["changed"] is False
    assert again["backup_file"] is None
    assert again["diff"] == []
    stat_after = os.stat(node.manifest)
    assert (stat_after.st_ino, stat_after.st_mtime_ns) == (stat_before.st_ino, stat_before.st_mtime_ns)
    assert len(os.listdir(node.root / "backup")) == 1


def test_disable_restores_the_original_bytes(node):
    run_module(node, **ENABLE)
    result = run_module(node, **DISABLE)
    assert result["changed"] is True
    assert node.manifest.read_text() == NNF
    assert not any(name.startswith("audit-") for name in result["args"])


def test_restore_from_puts_the_backup_back_byte_for_byte_and_nothing_else(node):
    enabled = run_module(node, backup=True, **ENABLE)
    (node.manifests / "kube-apiserver.yaml.bak").write_text(NNF)  # a stray: restore must leave it alone
    os.chmod(node.manifest, 0o640)
    listing = sorted(os.listdir(node.manifests))

    checked = run_module(node, check_mode=True, diff=True, restore_from=enabled["backup_file"])
    assert checked["changed"] is True and node.manifest.read_text() == NNF_PATCHED
    assert checked["diff"][0]["before"] == NNF_PATCHED and checked["diff"][0]["after"] == NNF

    restored = run_module(node, restore_from=enabled["backup_file"])
    assert not restored.get("failed"), restored
    assert restored["changed"] is True
    assert restored["restored_from"] == enabled["backup_file"]
    assert node.manifest.read_bytes() == NNF.encode()
    assert os.stat(node.manifest).st_mode & 0o777 == 0o640  # the manifest's mode is kept
    assert sorted(os.listdir(node.manifests)) == listing  # no temporary file left, the stray untouched
    assert restored["checksum_after"] == sha256(node.manifest)

    again = run_module(node, restore_from=enabled["backup_file"])
    assert again["changed"] is False


def test_restore_from_refuses_edits_and_files_inside_the_manifests_directory(node):
    mixed = run_module(node, restore_from=str(node.root / "backup.yaml"), **DISABLE)
    assert mixed["failed"] and "mutually exclusive" in mixed["msg"]

    inside = node.manifests / "kube-apiserver.yaml.orig"
    inside.write_text(NNF_PATCHED)
    refused = run_module(node, restore_from=str(inside))
    assert refused["failed"] and "inside the manifests directory" in refused["msg"]
    assert node.manifest.read_text() == NNF

    missing = run_module(node, restore_from=str(node.root / "nope.yaml"))
    assert missing["failed"] and f"{node.root}/nope.yaml does not exist" in missing["msg"]


def test_stray_files_move_even_without_a_manifest_change(node):
    (node.manifests / "kube-apiserver.yaml.12345.2024-05-28@13:39:50~").write_text(NNF)
    result = run_module(node, stray_dir=str(node.root / "strays"))
    assert result["changed"] is True
    assert result["manifest_changed"] is False
    assert result["stray_files"] == [
        {
            "from": f"{node.manifests}/kube-apiserver.yaml.12345.2024-05-28@13:39:50~",
            "to": f"{node.root}/strays/kube-apiserver.yaml.12345.2024-05-28@13:39:50~",
            "reason": "leftover name (*~), defines pod kube-system/kube-apiserver",
        }
    ]
    assert sorted(os.listdir(node.manifests)) == ["etcd.yaml", "kube-apiserver.yaml"]


def test_warnings_reach_ansible(node):
    (node.manifests / "notes.txt").write_text("a: [b\n")
    result = run_module(node)
    assert result["changed"] is False
    (warning,) = warning_texts(result)
    assert warning == (
        f"{node.manifests}/notes.txt is not a readable manifest (while parsing a flow sequence: "
        "expected ',' or ']', but got '<stream end>' at line 2, column 1); left in place"
    )


def test_bad_input_fails_naming_the_file_and_changes_nothing(node):
    (node.manifests / "kube-apiserver.yaml.orig").write_text(NNF)
    conflicting = {"name": "k8s-log", "host_path": "/var/log/kubernetes/", "mount_path": "/etc/pki"}
    result = run_module(node, backup=True, args=ENABLE["args"], mounts=[conflicting])
    assert result["failed"] is True
    assert result["changed"] is False
    assert result["msg"].startswith(f"{node.manifest}: ")
    assert "'k8s-log'" in result["msg"] and "'etc-pki'" in result["msg"]
    assert node.manifest.read_text() == NNF
    assert (node.manifests / "kube-apiserver.yaml.orig").exists()
    assert not (node.root / "backup").exists()


def test_argument_spec_rejects_unknown_hostpath_types(node):
    result = run_module(node, mounts=[{"name": "x", "host_path": "/x", "type": "Dir"}])
    assert result["failed"] is True
    assert "value of type must be one of" in result["msg"]


def test_backup_dir_inside_the_manifests_directory_is_refused(node):
    result = run_module(node, backup=True, backup_dir=str(node.manifests / "backup"), **ENABLE)
    assert result["failed"] is True
    assert "backup_dir" in result["msg"] and "inside the manifests directory" in result["msg"]
    assert node.manifest.read_text() == NNF


def test_missing_ruamel_yaml_is_reported_as_a_missing_library(node, tmp_path):
    # A ruamel package that fails to import, found before the real one.
    shadow = tmp_path / "shadow" / "ruamel" / "yaml"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('ruamel.yaml hidden for this test')\n")
    result = run_module(node, pythonpath=[str(tmp_path / "shadow")], **ENABLE)
    assert result["failed"] is True
    assert "Failed to import the required Python library (ruamel.yaml)" in result["msg"]
    assert node.manifest.read_text() == NNF

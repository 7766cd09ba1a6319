"""apiserver_manifest as Ansible runs it: the action plugin edits here, manifest_io reads and writes on the "master".

Each remote call runs the collection's module as its own process in a Python with the standard library only
(``action_runner``), on temporary directories.
"""

import hashlib
import os
from pathlib import Path

import action_runner
import pytest
from ansible.errors import AnsibleActionFail
from manifest_fixtures import FIXTURES, NNF, NNF_PATCHED, read

from ansible_collections.nnf.kube_audit.plugins.action import apiserver_manifest
from ansible_collections.nnf.kube_audit.plugins.plugin_utils import _ruamel

NNF_TEXT = read(NNF)
NNF_PATCHED_TEXT = read(NNF_PATCHED)

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
READ = ("manifest_io", "read")
WRITE = ("manifest_io", "write")


class Node:
    """A master's manifests directory (with the NNF apiserver manifest and etcd), and the task's last run."""

    def __init__(self, tmp_path):
        self.tmp = tmp_path
        self.root = tmp_path / "node"
        self.manifests = self.root / "manifests"
        self.manifests.mkdir(parents=True)
        self.manifest = self.manifests / "kube-apiserver.yaml"
        self.manifest.write_text(NNF_TEXT)
        (self.manifests / "etcd.yaml").write_text(read(FIXTURES / "etcd-v3.5.10.yaml"))
        self.action = None

    def run(self, check_mode=False, diff=False, after_call=None, **params):
        """The task's result; the FakeAction (its remote calls) is kept as ``self.action``."""
        args = {"path": str(self.manifest), "backup_dir": str(self.root / "backup")}
        args.update(params)
        self.action = action_runner.FakeAction(
            args, self.tmp, check_mode=check_mode, diff=diff, after_call=after_call, name="apiserver_manifest"
        )
        return action_runner.run_edit(self.action)


@pytest.fixture
def node(tmp_path):
    return Node(tmp_path)


def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def test_check_mode_with_diff_shows_everything_and_changes_nothing(node):
    (node.manifests / "kube-apiserver.yaml.orig").write_text(NNF_TEXT)
    before = sorted(os.listdir(node.root))

    result = node.run(check_mode=True, diff=True, backup=True, **ENABLE)

    assert not result.get("failed"), result
    assert result["changed"] is True
    assert result["manifest_changed"] is True
    assert node.manifest.read_text() == NNF_TEXT
    assert (node.manifests / "kube-apiserver.yaml.orig").exists()
    assert sorted(os.listdir(node.root)) == before  # no backup or stray dir created
    manifest_diff, stray_diff = result["diff"]
    assert manifest_diff["before"] == NNF_TEXT
    assert manifest_diff["after"] == NNF_PATCHED_TEXT
    assert manifest_diff["before_header"] == str(node.manifest)
    assert f"{node.manifests}/kube-apiserver.yaml.orig -> {node.root}/backup/stray-manifests/" in stray_diff["prepared"]
    assert result["checksum_before"] == sha256(node.manifest)
    assert result["checksum_after"] == hashlib.sha256(NNF_PATCHED_TEXT.encode()).hexdigest()
    assert result["backup_file"] is None
    assert "before" not in result and "after" not in result and "path" not in result
    assert node.action.module_calls() == [READ]  # one read, no write in check mode
    assert node.action.removed_tmp_paths == [(None, False)]


def test_enable_writes_the_seed_patch_then_a_second_run_changes_nothing(node):
    result = node.run(backup=True, **ENABLE)

    assert not result.get("failed"), result
    assert result["changed"] is True
    assert node.action.module_calls() == [READ, WRITE]
    assert node.manifest.read_text() == NNF_PATCHED_TEXT
    assert Path(result["backup_file"]).read_text() == NNF_TEXT
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
    again = node.run(backup=True, diff=True, **ENABLE)
    assert again["changed"] is False
    assert again["backup_file"] is None
    assert again["diff"] == []
    assert node.action.module_calls() == [READ]  # nothing to write: one remote call
    stat_after = os.stat(node.manifest)
    assert (stat_after.st_ino, stat_after.st_mtime_ns) == (stat_before.st_ino, stat_before.st_mtime_ns)
    assert len(os.listdir(node.root / "backup")) == 1


def test_the_write_sends_the_bytes_planned_against_the_checksum_read(node):
    node.run(backup=True, **ENABLE)
    read_call, write_call = node.action.calls
    assert (
        write_call.args["expected_sha256"]
        == read_call.result["snapshot"]["sha256"]
        == hashlib.sha256(NNF_TEXT.encode()).hexdigest()
    )
    assert write_call.args["operation"] == "write"
    assert write_call.args["backup"] is True


def test_disable_restores_the_original_bytes(node):
    node.run(**ENABLE)
    result = node.run(**DISABLE)
    assert result["changed"] is True
    assert node.manifest.read_text() == NNF_TEXT
    assert not any(name.startswith("audit-") for name in result["args"])


def test_restore_from_puts_the_backup_back_byte_for_byte_and_nothing_else(node):
    enabled = node.run(backup=True, **ENABLE)
    (node.manifests / "kube-apiserver.yaml.bak").write_text(NNF_TEXT)  # a stray: restore must leave it alone
    os.chmod(node.manifest, 0o640)
    listing = sorted(os.listdir(node.manifests))

    checked = node.run(check_mode=True, diff=True, restore_from=enabled["backup_file"])
    assert checked["changed"] is True and node.manifest.read_text() == NNF_PATCHED_TEXT
    assert checked["diff"][0]["before"] == NNF_PATCHED_TEXT and checked["diff"][0]["after"] == NNF_TEXT

    restored = node.run(restore_from=enabled["backup_file"])
    assert not restored.get("failed"), restored
    assert restored["changed"] is True
    assert restored["restored_from"] == enabled["backup_file"]
    assert node.manifest.read_bytes() == NNF_TEXT.encode()
    assert os.stat(node.manifest).st_mode & 0o777 == 0o640  # the manifest's mode is kept
    assert sorted(os.listdir(node.manifests)) == listing  # no temporary file left, the stray untouched
    assert restored["checksum_after"] == sha256(node.manifest)

    again = node.run(restore_from=enabled["backup_file"])
    assert again["changed"] is False
    assert node.action.module_calls() == [READ]


def test_restore_from_refuses_edits_and_files_inside_the_manifests_directory(node):
    mixed = node.run(restore_from=str(node.root / "backup.yaml"), **DISABLE)
    assert mixed["failed"] and "mutually exclusive" in mixed["msg"]
    assert node.action.calls == []  # refused before the master is asked anything

    inside = node.manifests / "kube-apiserver.yaml.orig"
    inside.write_text(NNF_PATCHED_TEXT)
    refused = node.run(restore_from=str(inside))
    assert refused["failed"] and "inside the manifests directory" in refused["msg"]
    assert node.manifest.read_text() == NNF_TEXT

    missing = node.run(restore_from=str(node.root / "nope.yaml"))
    assert missing["failed"] and f"{node.root}/nope.yaml does not exist" in missing["msg"]


def test_stray_files_move_even_without_a_manifest_change(node):
    (node.manifests / "kube-apiserver.yaml.12345.2024-05-28@13:39:50~").write_text(NNF_TEXT)
    result = node.run(stray_dir=str(node.root / "strays"))
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
    assert node.action.calls[1].args["content_base64"] is None  # the manifest is not rewritten


def test_warnings_reach_ansible(node):
    (node.manifests / "notes.txt").write_text("a: [b\n")
    result = node.run()
    assert result["changed"] is False
    (warning,) = action_runner.warning_texts(result)
    # Read as the kubelet reads it (go-yaml v2's words), no longer with ruamel.yaml's.
    assert warning == (
        f"{node.manifests}/notes.txt is not a readable manifest (yaml: line 1: did not find expected ',' or ']'); "
        "left in place"
    )


def test_bad_input_fails_naming_the_file_and_changes_nothing(node):
    (node.manifests / "kube-apiserver.yaml.orig").write_text(NNF_TEXT)
    conflicting = {"name": "k8s-log", "host_path": "/var/log/kubernetes/", "mount_path": "/etc/pki"}
    result = node.run(backup=True, args=ENABLE["args"], mounts=[conflicting])
    assert result["failed"] is True
    assert result.get("changed", False) is False  # Ansible reports a result without "changed" as unchanged
    assert result["msg"].startswith(f"{node.manifest}: ")
    assert "'k8s-log'" in result["msg"] and "'etc-pki'" in result["msg"]
    assert "exception" not in result  # a message, not a traceback
    assert node.manifest.read_text() == NNF_TEXT
    assert (node.manifests / "kube-apiserver.yaml.orig").exists()
    assert not (node.root / "backup").exists()
    assert node.action.module_calls() == [READ]


def test_argument_spec_rejects_unknown_hostpath_types(node):
    result = node.run(mounts=[{"name": "x", "host_path": "/x", "type": "Dir"}])
    assert result["failed"] is True
    assert "value of type must be one of" in result["msg"]
    assert node.action.calls == []


def test_backup_dir_inside_the_manifests_directory_is_refused(node):
    result = node.run(backup=True, backup_dir=str(node.manifests / "backup"), **ENABLE)
    assert result["failed"] is True
    assert "backup_dir" in result["msg"] and "inside the manifests directory" in result["msg"]
    assert node.manifest.read_text() == NNF_TEXT
    assert node.action.module_calls() == [READ]  # the read refuses it: no write is planned


def test_a_missing_manifest_fails_naming_it(node):
    result = node.run(path=str(node.manifests / "nope.yaml"))
    assert result["failed"] is True
    assert result["msg"] == f"{node.manifests}/nope.yaml does not exist"


def test_without_ruamel_yaml_on_the_controller_the_task_says_where_to_install_it(node, monkeypatch):
    monkeypatch.setattr(_ruamel, "IMPORT_ERROR", "Traceback (most recent call last): ...")
    result = node.run(**ENABLE)
    assert result == {
        "failed": True,
        "msg": "the ruamel.yaml Python library is needed on the Ansible controller (not on the masters): install "
        "ruamel.yaml >= 0.17.21, < 0.20 where ansible-playbook runs (requirements: meta/ee-requirements.txt)",
    }
    assert node.manifest.read_text() == NNF_TEXT
    assert node.action.module_calls() == [READ]


# --------------------------------------------------------------------------------------------------
# Compare-and-swap: the manifest changes between the read and the write
# --------------------------------------------------------------------------------------------------


def edit_after_read(path, text):
    """An after_call hook: someone writes ``text`` to ``path`` right after the master answered the read."""

    def hook(call):
        if call.module == "manifest_io" and call.args.get("operation", "read") == "read":
            Path(path).write_text(text)

    return hook


def test_a_manifest_changed_between_the_read_and_the_write_is_not_overwritten(node):
    theirs = NNF_TEXT + "# edited by someone else\n"
    listing = sorted(os.listdir(node.manifests))

    result = node.run(backup=True, after_call=edit_after_read(node.manifest, theirs), **ENABLE)

    assert result["failed"] is True
    assert node.action.module_calls() == [READ, WRITE]
    assert result["msg"].startswith(f"{node.manifest} changed after it was read (sha256 ")
    assert "it was edited underneath this task, so nothing was written" in result["msg"]
    assert result["changed"] is False
    assert result["backup_file"] is None
    assert result["stray_files"] == []
    assert node.manifest.read_text() == theirs
    assert sorted(os.listdir(node.manifests)) == listing  # no partial file, no dot-file
    assert not (node.root / "backup").exists()


def test_a_refused_write_reports_no_stray_as_moved(node):
    stray = node.manifests / "kube-apiserver.yaml.orig"
    stray.write_text(NNF_TEXT)
    theirs = NNF_TEXT + "# edited by someone else\n"
    listing = sorted(os.listdir(node.manifests))

    result = node.run(backup=True, after_call=edit_after_read(node.manifest, theirs), **ENABLE)

    assert result["failed"] is True
    assert "edited underneath this task" in result["msg"]
    assert node.manifest.read_text() == theirs
    assert sorted(os.listdir(node.manifests)) == listing  # the stray did not move
    assert not any(name.startswith(".") for name in os.listdir(node.manifests))
    assert result["stray_files"] == []
    assert result["changed"] is False


def test_a_stray_changed_between_the_read_and_the_write_stops_the_write(node):
    stray = node.manifests / "kube-apiserver.yaml.orig"
    stray.write_text(NNF_TEXT)

    result = node.run(backup=True, after_call=edit_after_read(stray, NNF_TEXT + "# edited\n"), **ENABLE)

    assert result["failed"] is True
    assert result["msg"].startswith(f"{stray} changed after it was read")
    assert node.manifest.read_text() == NNF_TEXT
    assert stray.read_text() == NNF_TEXT + "# edited\n"
    assert sorted(os.listdir(node.manifests)) == ["etcd.yaml", "kube-apiserver.yaml", "kube-apiserver.yaml.orig"]


# --------------------------------------------------------------------------------------------------
# The plugin's own ActionModule.run: the same task
# --------------------------------------------------------------------------------------------------


def test_the_action_module_runs_the_same_task(node):
    (node.manifests / "kube-apiserver.yaml.orig").write_text(NNF_TEXT)
    args = dict(ENABLE, path=str(node.manifest), backup_dir=str(node.root / "backup"))
    planned = node.run(check_mode=True, diff=True, **args)
    action = action_runner.action_module(apiserver_manifest, args, node.tmp, check_mode=True, diff=True)
    assert action.run(task_vars={}) == planned
    assert action.module_calls() == [READ]
    assert action.removed_tmp_paths == [(None, False)]


def test_the_action_module_fails_invalid_arguments_before_any_remote_call(node):
    action = action_runner.action_module(apiserver_manifest, {"path": str(node.manifest), "bogus": 1}, node.tmp)
    with pytest.raises(AnsibleActionFail, match=r"Unsupported parameters for \(nnf\.kube_audit\.apiserver_manifest"):
        action.run(task_vars={})
    assert action.calls == []

"""manifest_update: the apiserver_manifest task planned on the controller, written by compare-and-swap, on real files.

Each run is the action plugin's chain in one process (``manifest_chain``): ``snapshot()`` on a temporary manifests
directory, ``plan()`` or ``plan_restore()``, then ``compare_and_swap()`` with the write the plan returned.
"""

import base64
import hashlib
import os
import stat
from pathlib import Path

import manifest_chain
import pytest
from manifest_chain import apply_manifest_update
from manifest_fixtures import (
    MASTER_PODS,
    NNF,
    NNF_PATCHED,
    SEED_ARGS,
    SEED_MOUNTS,
    make_manifests_dir,
    read,
    tree_state,
)

from ansible_collections.nnf.kube_audit.plugins.module_utils import _static_pod_files
from ansible_collections.nnf.kube_audit.plugins.module_utils._errors import KubeAuditError, ManifestError
from ansible_collections.nnf.kube_audit.plugins.module_utils._static_pod_files import check_outside_manifests_dir
from ansible_collections.nnf.kube_audit.plugins.plugin_utils import manifest_update
from ansible_collections.nnf.kube_audit.plugins.plugin_utils.manifest_update import build_diff


@pytest.fixture
def manifests(tmp_path):
    return make_manifests_dir(tmp_path)


def run(manifests, tmp_path, **kwargs):
    options = {"path": str(manifests / "kube-apiserver.yaml"), "backup_dir": str(tmp_path / "backup")}
    options.update(kwargs)
    return apply_manifest_update(**options)


def test_check_mode_changes_nothing_but_reports_everything(manifests, tmp_path):
    (manifests / "kube-apiserver.yaml.orig").write_text(read(NNF))
    before = tree_state(tmp_path)
    result = run(manifests, tmp_path, args=SEED_ARGS, mounts=SEED_MOUNTS, backup=True, check_mode=True)
    assert tree_state(tmp_path) == before
    assert result["changed"] and result["manifest_changed"]
    assert result["after"] == read(NNF_PATCHED)
    assert result["checksum_after"] == hashlib.sha256(read(NNF_PATCHED).encode()).hexdigest()
    assert result["stray_files"] == [
        {
            "from": str(manifests / "kube-apiserver.yaml.orig"),
            "to": str(tmp_path / "backup" / "stray-manifests" / "kube-apiserver.yaml.orig"),
            "reason": "leftover name (*.orig), defines pod kube-system/kube-apiserver",
        }
    ]
    assert result["backup_file"] is None


def test_a_real_run_writes_backs_up_and_moves_strays(manifests, tmp_path):
    manifest = manifests / "kube-apiserver.yaml"
    os.chmod(manifest, 0o640)  # not the 0600 a fresh temporary file gets
    os.chown(manifest, 1234, 1235)
    (manifests / "kube-apiserver.yaml.orig").write_text("leftover\n")
    inode = os.stat(manifest).st_ino

    result = run(manifests, tmp_path, args=SEED_ARGS, mounts=SEED_MOUNTS, backup=True)

    assert manifest.read_text() == read(NNF_PATCHED)
    info = os.stat(manifest)
    assert (stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid) == (0o640, 1234, 1235)
    assert info.st_ino != inode  # replaced by rename, never rewritten in place
    assert result["checksum_before"] == hashlib.sha256(read(NNF).encode()).hexdigest()
    assert result["checksum_after"] == hashlib.sha256(manifest.read_bytes()).hexdigest()

    backup = Path(result["backup_file"])
    assert backup.parent == tmp_path / "backup"
    assert backup.name.startswith("kube-apiserver.yaml.20")
    assert backup.read_text() == read(NNF)
    assert stat.S_IMODE(os.stat(backup).st_mode) == 0o640
    assert (os.stat(backup).st_uid, os.stat(backup).st_gid) == (1234, 1235)
    assert stat.S_IMODE(os.stat(backup.parent).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(tmp_path / "backup" / "stray-manifests").st_mode) == 0o700

    assert result["stray_files"][0]["to"] == str(tmp_path / "backup" / "stray-manifests" / "kube-apiserver.yaml.orig")
    assert (tmp_path / "backup" / "stray-manifests" / "kube-apiserver.yaml.orig").read_text() == "leftover\n"
    assert sorted(os.listdir(manifests)) == MASTER_PODS


def test_a_second_run_writes_nothing(manifests, tmp_path):
    run(manifests, tmp_path, args=SEED_ARGS, mounts=SEED_MOUNTS, backup=True)
    before = tree_state(tmp_path)
    result = run(manifests, tmp_path, args=SEED_ARGS, mounts=SEED_MOUNTS, backup=True)
    assert not result["changed"]
    assert result["checksum_before"] == result["checksum_after"]
    assert tree_state(tmp_path) == before


def test_strays_are_cleaned_when_the_manifest_needs_no_change(manifests, tmp_path):
    (manifests / "kube-apiserver.yaml~").write_text(read(NNF))
    result = run(manifests, tmp_path, backup=True)
    assert result["changed"] and not result["manifest_changed"]
    assert result["backup_file"] is None
    assert not (manifests / "kube-apiserver.yaml~").exists()
    assert (tmp_path / "backup" / "stray-manifests" / "kube-apiserver.yaml~").exists()
    assert build_diff(result) == [
        {
            "prepared": f"stray files moved out of {manifests} (the kubelet reads every file there):\n"
            f"  {manifests}/kube-apiserver.yaml~ -> {tmp_path}/backup/stray-manifests/kube-apiserver.yaml~"
            "  [leftover name (*~), defines pod kube-system/kube-apiserver]\n"
        }
    ]


def test_clean_stray_false_leaves_strays(manifests, tmp_path):
    (manifests / "kube-apiserver.yaml.bak").write_text(read(NNF))
    result = run(manifests, tmp_path, clean_stray=False)
    assert not result["changed"]
    assert (manifests / "kube-apiserver.yaml.bak").exists()


def test_a_failing_edit_moves_no_stray_and_writes_nothing(manifests, tmp_path):
    (manifests / "kube-apiserver.yaml.orig").write_text(read(NNF))
    before = tree_state(tmp_path)
    conflicting = dict(SEED_MOUNTS[1], mount_path="/etc/pki")
    with pytest.raises(ManifestError, match="'etc-pki'"):
        run(manifests, tmp_path, args=SEED_ARGS, mounts=[conflicting], backup=True)
    assert tree_state(tmp_path) == before


@pytest.mark.parametrize("option", ["backup_dir", "stray_dir"])
def test_directories_inside_the_manifests_directory_are_refused(manifests, tmp_path, option):
    os.symlink(manifests, tmp_path / "link-to-manifests")
    for directory in (manifests / "backup", tmp_path / "link-to-manifests" / "old", manifests):
        before = tree_state(tmp_path)
        with pytest.raises(KubeAuditError, match=f"{option} .* is inside the manifests directory"):
            run(manifests, tmp_path, args=SEED_ARGS, backup=True, **{option: str(directory)})
        assert tree_state(tmp_path) == before


def test_the_default_stray_dir_follows_backup_dir_and_is_checked(manifests, tmp_path):
    with pytest.raises(KubeAuditError, match="stray_dir"):
        run(manifests, tmp_path, backup_dir=str(manifests / "backup"))
    check_outside_manifests_dir(str(tmp_path / "manifests-backup"), str(manifests), "backup_dir")


def test_a_missing_manifest_fails_naming_it(tmp_path):
    with pytest.raises(ManifestError, match=f"{tmp_path}/nope.yaml does not exist"):
        apply_manifest_update(path=str(tmp_path / "nope.yaml"))


def test_a_manifest_that_changed_meanwhile_is_not_overwritten(manifests, tmp_path, monkeypatch):
    manifest = manifests / "kube-apiserver.yaml"
    real_read = _static_pod_files.read_manifest
    calls = []

    def read_then_change(path, what=None):
        calls.append(path)
        if len(calls) == 2:  # the compare-and-swap's check: after the snapshot, before anything is written
            manifest.write_text(read(NNF) + "# edited by someone else\n")
        return real_read(path, what)

    monkeypatch.setattr(_static_pod_files, "read_manifest", read_then_change)
    with pytest.raises(ManifestError, match=f"^{manifest} changed after it was read .*edited underneath this task"):
        run(manifests, tmp_path, args=SEED_ARGS, backup=True)
    assert manifest.read_text().endswith("# edited by someone else\n")
    assert not (tmp_path / "backup").exists() or not os.listdir(tmp_path / "backup")
    assert sorted(os.listdir(manifests)) == MASTER_PODS  # no temporary file left


def test_a_failed_write_reports_the_strays_already_moved(manifests, tmp_path, monkeypatch):
    (manifests / "kube-apiserver.yaml.bak").write_text(read(NNF))

    def full_disk(*_args):
        raise OSError(28, "No space left on device", str(manifests / "kube-apiserver.yaml"))

    monkeypatch.setattr(_static_pod_files, "write_file_atomically", full_disk)
    with pytest.raises(ManifestError) as error:
        run(manifests, tmp_path, args=SEED_ARGS)
    stray = tmp_path / "backup" / "stray-manifests" / "kube-apiserver.yaml.bak"
    assert str(error.value) == (
        f"{manifests}/kube-apiserver.yaml: No space left on device "
        f"(stray files already moved: {manifests}/kube-apiserver.yaml.bak -> {stray})"
    )
    assert error.value.partial["stray_files"][0]["to"] == str(stray)
    assert stray.exists()
    assert (manifests / "kube-apiserver.yaml").read_text() == read(NNF)


def test_a_symlinked_manifest_stays_a_symlink(manifests, tmp_path):
    real = tmp_path / "real-kube-apiserver.yaml"
    os.rename(manifests / "kube-apiserver.yaml", real)
    os.symlink(real, manifests / "kube-apiserver.yaml")
    run(manifests, tmp_path, args=SEED_ARGS, mounts=SEED_MOUNTS)
    assert os.path.islink(manifests / "kube-apiserver.yaml")
    assert real.read_text() == read(NNF_PATCHED)


def test_build_diff_shows_the_manifest_change(manifests, tmp_path):
    result = run(manifests, tmp_path, args=SEED_ARGS, check_mode=True)
    (diff,) = build_diff(result)
    assert diff["before_header"] == diff["after_header"] == str(manifests / "kube-apiserver.yaml")
    assert diff["before"] == read(NNF)
    assert "--audit-log-maxsize=100" in diff["after"]


# --------------------------------------------------------------------------------------------------
# What the controller asks the master for, and what it sends back
# --------------------------------------------------------------------------------------------------


def params(**options):
    return manifest_chain.params_of(dict({"path": "/m/kube-apiserver.yaml"}, **options))


def test_read_options_ask_for_what_the_plan_needs():
    mounts = [
        {"name": "a", "host_path": "/srv/b"},
        {"name": "b", "host_path": "/srv/a"},
        {"name": "c", "host_path": "/srv/a"},
    ]
    assert manifest_update.read_options(params(mounts=mounts, backup=True, backup_dir="/b")) == {
        "path": "/m/kube-apiserver.yaml",
        "scan_strays": True,
        "max_candidate_bytes": 4 * 1024 * 1024,
        "backup_dir": "/b",
        "stray_dir": "/b/stray-manifests",
        "host_paths": ["/srv/a", "/srv/b"],
    }
    assert manifest_update.read_options(params(clean_stray=False, stray_dir="/s")) == {
        "path": "/m/kube-apiserver.yaml",
        "scan_strays": False,
        "max_candidate_bytes": 4 * 1024 * 1024,
        "backup_dir": None,  # only checked when a backup is to be written
        "stray_dir": None,
        "host_paths": [],
    }
    assert manifest_update.read_options(params(restore_from="/b/old.yaml")) == {
        "path": "/m/kube-apiserver.yaml",
        "restore_from": "/b/old.yaml",
    }


def test_the_write_is_a_compare_and_swap_of_what_was_read(manifests, tmp_path):
    (manifests / "kube-apiserver.yaml.orig").write_text("leftover\n")
    _params, snapshot, result, write = manifest_chain.plan(
        {"path": str(manifests / "kube-apiserver.yaml"), "backup_dir": str(tmp_path / "b"), "backup": True,
         "args": SEED_ARGS, "mounts": SEED_MOUNTS}
    )  # fmt: skip
    assert write == {
        "path": str(manifests / "kube-apiserver.yaml"),
        "expected_sha256": hashlib.sha256(read(NNF).encode()).hexdigest(),
        "content_base64": base64.b64encode(read(NNF_PATCHED).encode()).decode(),
        "backup": True,
        "backup_dir": str(tmp_path / "b"),
        "stray_dir": str(tmp_path / "b" / "stray-manifests"),
        "moves": [
            {
                "from": str(manifests / "kube-apiserver.yaml.orig"),
                "name": "kube-apiserver.yaml.orig",
                "reason": "leftover name (*.orig)",
                "sha256": hashlib.sha256(b"leftover\n").hexdigest(),
            }
        ],
    }
    assert snapshot["sha256"] == write["expected_sha256"] == result["checksum_before"]
    assert manifest_update.registered(result).keys() == set(result) - {"before", "after", "warnings", "path"}


def test_moving_strays_alone_sends_no_content_and_no_backup(manifests, tmp_path):
    (manifests / "kube-apiserver.yaml.bak").write_text(read(NNF))
    _params, _snapshot, result, write = manifest_chain.plan(
        {"path": str(manifests / "kube-apiserver.yaml"), "backup_dir": str(tmp_path / "b"), "backup": True}
    )
    assert result["changed"] and not result["manifest_changed"]
    assert write["content_base64"] is None
    assert write["backup"] is False
    assert [move["name"] for move in write["moves"]] == ["kube-apiserver.yaml.bak"]


def test_nothing_to_change_plans_no_write(manifests, tmp_path):
    _params, _snapshot, result, write = manifest_chain.plan(
        {
            "path": str(manifests / "kube-apiserver.yaml"),
            "backup_dir": str(tmp_path / "b"),
            "args": {"secure-port": 6443},
        }
    )
    assert write is None
    assert result["changed"] is False
    assert result["checksum_before"] == result["checksum_after"]


def test_a_stray_that_changed_meanwhile_is_not_moved(manifests, tmp_path):
    stray = manifests / "kube-apiserver.yaml.orig"
    stray.write_text(read(NNF))
    _params, _snapshot, _result, write = manifest_chain.plan(
        {"path": str(manifests / "kube-apiserver.yaml"), "backup_dir": str(tmp_path / "b"), "args": SEED_ARGS}
    )
    stray.write_text(read(NNF) + "# edited meanwhile\n")
    with pytest.raises(ManifestError, match=f"^{stray} changed after it was read .*nothing was written"):
        manifest_chain.compare_and_swap(write)
    assert stray.read_text().endswith("# edited meanwhile\n")
    assert (manifests / "kube-apiserver.yaml").read_text() == read(NNF)
    assert not (tmp_path / "b").exists()


def test_finish_reports_where_the_backup_and_the_strays_went():
    result = {"backup_file": None, "stray_files": [{"from": "/m/a.orig", "to": "/s/a.orig", "reason": "r"}]}
    landed = [{"from": "/m/a.orig", "to": "/s/a.orig.1", "reason": "r"}]
    assert manifest_update.finish(result, {"backup_file": "/b/x", "stray_files": landed}) == {
        "backup_file": "/b/x",
        "stray_files": landed,
    }

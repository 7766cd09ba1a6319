"""_static_pod_files: the master's side of a manifest edit (standard library only): one read, one compare-and-swap.

No YAML here: the writes are made by hand, as the controller would send them (``manifest_update.plan``).
"""

import base64
import datetime
import hashlib
import os
import stat

import pytest
from manifest_fixtures import MASTER_PODS, NNF, NNF_PATCHED, make_manifests_dir, read, tree_state

from ansible_collections.nnf.kube_audit.plugins.module_utils import _fileops, _static_pod_files
from ansible_collections.nnf.kube_audit.plugins.module_utils._errors import KubeAuditError, ManifestError
from ansible_collections.nnf.kube_audit.plugins.module_utils._static_pod_files import (
    check_outside_manifests_dir,
    compare_and_swap,
    read_manifest,
    snapshot,
    stray_candidates,
)

NOW = datetime.datetime(2024, 5, 28, 13, 39, 50, 342694)


def sha256(data):
    return hashlib.sha256(data if isinstance(data, bytes) else data.encode()).hexdigest()


@pytest.fixture
def manifests(tmp_path):
    return make_manifests_dir(tmp_path)


@pytest.fixture
def manifest(manifests):
    return manifests / "kube-apiserver.yaml"


def move(path, name=None, reason="leftover name (*.orig)", checked=True):
    """A stray move as the controller plans it: the file's checksum as it was read."""
    return {
        "from": str(path),
        "name": name or os.path.basename(path),
        "reason": reason,
        "sha256": sha256(path.read_bytes()) if checked else None,
    }


# --------------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------------


def test_snapshot_reads_the_manifest_and_changes_nothing(manifests, manifest, tmp_path):
    before = tree_state(tmp_path)
    result = snapshot(str(manifest))
    assert tree_state(tmp_path) == before
    assert base64.b64decode(result["content_base64"]) == manifest.read_bytes()
    assert result["sha256"] == sha256(read(NNF))
    assert result["mtime"] == os.stat(manifest).st_mtime
    assert result["path"] == str(manifest)
    assert (result["candidates"], result["stray_dir_entries"], result["restore"]) == (None, None, None)
    assert result["host_paths"] == {}


def test_snapshot_lists_candidates_stray_dir_host_paths_and_the_backup_to_restore(manifests, manifest, tmp_path):
    (manifests / "kube-apiserver.yaml.orig").write_bytes(b"leftover\n")
    (tmp_path / "strays").mkdir()
    (tmp_path / "strays" / "kube-apiserver.yaml.orig").write_text("older\n")
    (tmp_path / "backup.yaml").write_text(read(NNF_PATCHED))
    os.symlink("/", tmp_path / "rootlink")

    result = snapshot(
        str(manifest),
        scan_strays=True,
        stray_dir=str(tmp_path / "strays"),
        host_paths=[str(tmp_path / "rootlink"), "/var/log/kubernetes/"],
        restore_from=str(tmp_path / "backup.yaml"),
    )

    assert [candidate["name"] for candidate in result["candidates"]] == [
        "etcd.yaml",
        "haproxy.yaml",
        "kube-apiserver.yaml.orig",
        "kube-scheduler.yaml",
        "kube-vip.yaml",
    ]
    assert result["candidates"][2] == {
        "name": "kube-apiserver.yaml.orig",
        "path": str(manifests / "kube-apiserver.yaml.orig"),
        "size": 9,
        "content_base64": base64.b64encode(b"leftover\n").decode(),
        "sha256": sha256(b"leftover\n"),
    }
    assert result["stray_dir_entries"] == ["kube-apiserver.yaml.orig"]
    assert result["host_paths"] == {str(tmp_path / "rootlink"): "/", "/var/log/kubernetes/": "/var/log/kubernetes"}
    assert result["restore"] == {
        "path": str(tmp_path / "backup.yaml"),
        "content_base64": base64.b64encode(read(NNF_PATCHED).encode()).decode(),
        "sha256": sha256(read(NNF_PATCHED)),
    }
    assert snapshot(str(manifest), scan_strays=True, stray_dir=str(tmp_path / "none"))["stray_dir_entries"] == []


def test_stray_candidates_are_the_files_the_kubelet_reads(manifests, manifest, tmp_path):
    (manifests / ".kube-apiserver.yaml.swp").write_text("dot-files are skipped\n")
    (manifests / "backup.orig").mkdir()
    os.mkfifo(manifests / "pipe.yaml")  # the kubelet reads regular files only; reading a fifo would block
    os.symlink(manifests / "missing.yaml", manifests / "dangling.bak")
    os.symlink(tmp_path / "elsewhere.yaml", manifests / "linked.yaml")
    (tmp_path / "elsewhere.yaml").write_text("followed\n")
    names = [candidate["name"] for candidate in stray_candidates(str(manifests), "kube-apiserver.yaml", 1 << 20)]
    assert names == ["etcd.yaml", "haproxy.yaml", "kube-scheduler.yaml", "kube-vip.yaml", "linked.yaml"]


@pytest.mark.parametrize(
    ("option", "inside"),
    [("backup_dir", "backup"), ("stray_dir", "old"), ("restore_from", "kube-apiserver.yaml.orig")],
)
def test_snapshot_refuses_paths_inside_the_manifests_directory_first(manifests, manifest, tmp_path, option, inside):
    os.symlink(manifests, tmp_path / "link-to-manifests")
    kwargs = {"scan_strays": True, "stray_dir": str(tmp_path / "strays")}
    for path in (manifests / inside, tmp_path / "link-to-manifests" / inside):
        kwargs[option] = str(path)
        # Before the manifest is even read: a missing manifest is not what the message is about.
        for target in (manifest, manifests / "missing.yaml"):
            with pytest.raises(KubeAuditError, match=f"^{option} {path}.* is inside the manifests directory"):
                snapshot(str(target), **kwargs)


def test_snapshot_refuses_a_backup_dir_below_a_file(manifest, tmp_path):
    (tmp_path / "notadir").write_text("x")
    with pytest.raises(KubeAuditError, match=f"backup_dir {tmp_path}/notadir/b cannot be created: .*notadir is not a"):
        snapshot(str(manifest), backup_dir=str(tmp_path / "notadir" / "b"))


def test_read_manifest_names_the_file_and_the_problem(manifests, tmp_path):
    assert read_manifest(str(manifests / "etcd.yaml"))[0] == (manifests / "etcd.yaml").read_bytes()
    with pytest.raises(ManifestError, match=f"^{tmp_path}/nope.yaml does not exist$"):
        read_manifest(str(tmp_path / "nope.yaml"))
    with pytest.raises(ManifestError, match=f"^restore_from {tmp_path}/nope.yaml does not exist$"):
        read_manifest(str(tmp_path / "nope.yaml"), "restore_from")
    with pytest.raises(ManifestError, match=f"^{manifests} is not a regular file$"):
        read_manifest(str(manifests))


def test_check_outside_manifests_dir_compares_real_paths(manifests, tmp_path):
    check_outside_manifests_dir(str(tmp_path / "manifests-backup"), str(manifests), "backup_dir")
    os.symlink(manifests, tmp_path / "alias")
    with pytest.raises(KubeAuditError, match=rf"resolves to {manifests}/b\) is inside the manifests directory"):
        check_outside_manifests_dir(str(tmp_path / "alias" / "b"), str(manifests), "backup_dir")


# --------------------------------------------------------------------------------------------------
# Compare-and-swap
# --------------------------------------------------------------------------------------------------


def test_compare_and_swap_moves_strays_backs_up_and_replaces(manifests, manifest, tmp_path):
    os.chmod(manifest, 0o640)
    stray = manifests / "kube-apiserver.yaml.orig"
    stray.write_text("leftover\n")
    inode = os.stat(manifest).st_ino

    result = compare_and_swap(
        str(manifest),
        expected_sha256=sha256(read(NNF)),
        content=read(NNF_PATCHED).encode(),
        backup=True,
        backup_dir=str(tmp_path / "backup"),
        stray_dir=str(tmp_path / "strays"),
        moves=[move(stray)],
        now=NOW,
    )

    assert result == {
        "backup_file": str(tmp_path / "backup" / "kube-apiserver.yaml.2024-05-28T13-39-50.342694"),
        "stray_files": [
            {
                "from": str(stray),
                "to": str(tmp_path / "strays" / "kube-apiserver.yaml.orig"),
                "reason": "leftover name (*.orig)",
            }
        ],
    }
    assert manifest.read_text() == read(NNF_PATCHED)
    assert os.stat(manifest).st_ino != inode  # replaced by rename, never rewritten in place
    assert stat.S_IMODE(os.stat(manifest).st_mode) == 0o640
    assert (tmp_path / "backup" / "kube-apiserver.yaml.2024-05-28T13-39-50.342694").read_text() == read(NNF)
    assert (tmp_path / "strays" / "kube-apiserver.yaml.orig").read_text() == "leftover\n"
    assert stat.S_IMODE(os.stat(tmp_path / "strays").st_mode) == 0o700
    assert sorted(os.listdir(manifests)) == MASTER_PODS


def test_compare_and_swap_with_only_moves_leaves_the_manifest_alone(manifests, manifest, tmp_path):
    stray = manifests / "kube-apiserver.yaml.bak"
    stray.write_text(read(NNF))
    info = os.stat(manifest)
    result = compare_and_swap(
        str(manifest), expected_sha256=sha256(read(NNF)), stray_dir=str(tmp_path / "s"), moves=[move(stray)]
    )
    assert result["backup_file"] is None
    assert [entry["to"] for entry in result["stray_files"]] == [str(tmp_path / "s" / "kube-apiserver.yaml.bak")]
    assert (os.stat(manifest).st_ino, os.stat(manifest).st_mtime_ns) == (info.st_ino, info.st_mtime_ns)


def test_a_manifest_changed_between_the_read_and_the_write_is_not_overwritten(manifests, manifest, tmp_path):
    stray = manifests / "kube-apiserver.yaml.orig"
    stray.write_text("leftover\n")
    read_sha256 = snapshot(str(manifest))["sha256"]
    planned_move = move(stray)
    theirs = read(NNF) + "# edited by someone else\n"
    manifest.write_text(theirs)
    listing = sorted(os.listdir(manifests))

    with pytest.raises(ManifestError) as error:
        compare_and_swap(
            str(manifest),
            expected_sha256=read_sha256,
            content=read(NNF_PATCHED).encode(),
            backup=True,
            backup_dir=str(tmp_path / "backup"),
            stray_dir=str(tmp_path / "strays"),
            moves=[planned_move],
        )

    assert str(error.value) == (
        f"{manifest} changed after it was read (sha256 {read_sha256[:12]}... then, {sha256(theirs)[:12]}... now): it "
        "was edited underneath this task, so nothing was written; run again to plan from the new content"
    )
    assert error.value.result == {}
    assert manifest.read_text() == theirs
    assert sorted(os.listdir(manifests)) == listing  # no partial file, no dot-file, the stray still there
    assert not any(name.startswith(".") for name in os.listdir(manifests))
    assert not (tmp_path / "backup").exists()
    assert not (tmp_path / "strays").exists()


def test_a_stray_changed_between_the_read_and_the_write_stops_everything(manifests, manifest, tmp_path):
    stray = manifests / "kube-apiserver.yaml.orig"
    stray.write_text("leftover\n")
    planned_move = move(stray)
    stray.write_text("leftover, edited\n")
    with pytest.raises(ManifestError, match=f"^{stray} changed after it was read .*nothing was written"):
        compare_and_swap(
            str(manifest),
            expected_sha256=sha256(read(NNF)),
            content=read(NNF_PATCHED).encode(),
            stray_dir=str(tmp_path / "strays"),
            moves=[planned_move],
        )
    assert manifest.read_text() == read(NNF)
    assert stray.read_text() == "leftover, edited\n"
    assert not (tmp_path / "strays").exists()


def test_a_stray_gone_since_the_read_stops_everything(manifests, manifest, tmp_path):
    stray = manifests / "kube-apiserver.yaml.orig"
    stray.write_text("leftover\n")
    planned_move = move(stray)
    stray.unlink()
    with pytest.raises(ManifestError, match=f"^{stray} cannot be read any more: No such file or directory; nothing"):
        compare_and_swap(
            str(manifest),
            expected_sha256=sha256(read(NNF)),
            content=read(NNF_PATCHED).encode(),
            stray_dir=str(tmp_path / "strays"),
            moves=[planned_move],
        )
    assert manifest.read_text() == read(NNF)


def test_a_stray_too_large_to_read_is_moved_by_its_name(manifests, manifest, tmp_path):
    stray = manifests / "kube-apiserver.yaml.orig"
    stray.write_text("leftover\n")
    planned_move = move(stray, checked=False)
    stray.write_text("changed, but never read\n")
    result = compare_and_swap(
        str(manifest), expected_sha256=sha256(read(NNF)), stray_dir=str(tmp_path / "s"), moves=[planned_move]
    )
    assert (tmp_path / "s" / "kube-apiserver.yaml.orig").read_text() == "changed, but never read\n"
    assert len(result["stray_files"]) == 1


def test_a_manifest_changed_while_strays_move_is_not_overwritten(manifests, manifest, tmp_path, monkeypatch):
    """The manifest is compared again right before it is written: after the strays moved."""
    stray = manifests / "kube-apiserver.yaml.orig"
    stray.write_text("leftover\n")
    real_move = _static_pod_files.move_without_overwrite

    def move_then_edit(source, directory, name):
        landed = real_move(source, directory, name)
        manifest.write_text(read(NNF) + "# edited by someone else\n")
        return landed

    monkeypatch.setattr(_static_pod_files, "move_without_overwrite", move_then_edit)
    with pytest.raises(ManifestError) as error:
        compare_and_swap(
            str(manifest),
            expected_sha256=sha256(read(NNF)),
            content=read(NNF_PATCHED).encode(),
            backup=True,
            backup_dir=str(tmp_path / "backup"),
            stray_dir=str(tmp_path / "strays"),
            moves=[move(stray)],
        )
    landed = tmp_path / "strays" / "kube-apiserver.yaml.orig"
    assert str(error.value).startswith(f"{manifest} changed after it was read (sha256 ")
    assert str(error.value).endswith(
        f"run again to plan from the new content (stray files already moved: {stray} -> {landed})"
    )
    assert error.value.result == {
        "backup_file": None,
        "stray_files": [{"from": str(stray), "to": str(landed), "reason": "leftover name (*.orig)"}],
    }
    assert manifest.read_text().endswith("# edited by someone else\n")
    assert sorted(os.listdir(manifests)) == MASTER_PODS
    assert not (tmp_path / "backup").exists()


def test_a_failed_write_leaves_the_manifest_and_no_dot_file(manifests, manifest, tmp_path, monkeypatch):
    def full_disk(_descriptor, _data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_fileops, "_write_all", full_disk)
    with pytest.raises(
        ManifestError, match=f"^cannot write {manifest}: No space left on device; it was left as it was"
    ):
        compare_and_swap(str(manifest), expected_sha256=sha256(read(NNF)), content=read(NNF_PATCHED).encode())
    assert manifest.read_text() == read(NNF)
    assert sorted(os.listdir(manifests)) == MASTER_PODS


@pytest.mark.parametrize("option", ["backup_dir", "stray_dir"])
def test_compare_and_swap_applies_the_path_guards_again(manifests, manifest, tmp_path, option):
    """A write needs no read before it: a backup or stray directory inside the manifests directory is refused."""
    stray = manifests / "kube-apiserver.yaml.orig"
    stray.write_text("leftover\n")
    listing = sorted(os.listdir(manifests))
    inside = str(manifests / "backup")
    kwargs = {"backup_dir": str(tmp_path / "backup"), "stray_dir": str(tmp_path / "strays"), option: inside}

    with pytest.raises(KubeAuditError, match=rf"^{option} {inside} is inside the manifests directory"):
        compare_and_swap(
            str(manifest),
            expected_sha256=sha256(read(NNF)),
            content=read(NNF_PATCHED).encode(),
            backup=True,
            moves=[move(stray)],
            **kwargs,
        )

    assert sorted(os.listdir(manifests)) == listing
    assert manifest.read_text() == read(NNF)

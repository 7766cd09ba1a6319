"""_fileops: every write, copy, move and backup on a master loses no byte, whatever fails."""

import datetime
import errno
import hashlib
import os
import shutil
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ansible_collections.nnf.kube_audit.plugins.module_utils import _fileops
from ansible_collections.nnf.kube_audit.plugins.module_utils._errors import KubeAuditError
from ansible_collections.nnf.kube_audit.plugins.module_utils._fileops import (
    FileError,
    check_directory_path,
    check_outside,
    copy_file_exclusive,
    ensure_private_directory,
    move_without_overwrite,
    write_backup,
    write_file_atomically,
)

COLLECTIONS = Path(__file__).resolve().parents[4] / ".tmp" / "collections"


def digest(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def listing(directory):
    return sorted(os.listdir(directory))


@pytest.fixture
def short_writes(monkeypatch):
    """os.write that writes at most 3000 bytes per call, and nothing at all once ``budget`` bytes are written."""
    real_write = os.write
    state = {"budget": None, "written": 0}

    def write(descriptor, data):
        room = 3000 if state["budget"] is None else min(3000, state["budget"] - state["written"])
        if room <= 0:
            return 0
        count = real_write(descriptor, bytes(data[:room]))
        state["written"] += count
        return count

    monkeypatch.setattr(_fileops.os, "write", write)
    return state


@pytest.fixture
def no_hard_links(monkeypatch):
    def refuse(*_args, **_kwargs):
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(_fileops.os, "link", refuse)


# --------------------------------------------------------------------------------------------------
# Moves and copies (hardening item 1: a short write must never lose the source)
# --------------------------------------------------------------------------------------------------


def test_moves_never_overwrite_and_get_a_suffix(tmp_path):
    source_dir, target = tmp_path / "manifests", tmp_path / "stray"
    source_dir.mkdir()
    target.mkdir()
    (target / "x").write_text("older\n")
    (source_dir / "a.orig").write_text("first\n")
    (source_dir / "b.bak").write_text("second\n")
    assert move_without_overwrite(str(source_dir / "a.orig"), str(target), "x") == str(target / "x.1")
    assert move_without_overwrite(str(source_dir / "b.bak"), str(target), "x") == str(target / "x.2")
    assert (target / "x").read_text() == "older\n"
    assert (target / "x.1").read_text() == "first\n"
    assert listing(source_dir) == []


def test_moving_across_file_systems_copies_exclusively(tmp_path, no_hard_links):
    source_dir, target = tmp_path / "manifests", tmp_path / "stray"
    source_dir.mkdir()
    target.mkdir()
    (source_dir / "a.bak").write_text("a\n")
    os.chmod(source_dir / "a.bak", 0o640)
    os.utime(source_dir / "a.bak", ns=(1_000_000_000, 2_000_000_000))
    os.symlink("etcd.yaml", source_dir / "b.orig")
    (target / "a.bak").write_text("keep me\n")
    assert move_without_overwrite(str(source_dir / "a.bak"), str(target), "a.bak") == str(target / "a.bak.1")
    assert move_without_overwrite(str(source_dir / "b.orig"), str(target), "b.orig") == str(target / "b.orig")
    assert (target / "a.bak").read_text() == "keep me\n"
    assert (target / "a.bak.1").read_text() == "a\n"
    assert stat.S_IMODE(os.stat(target / "a.bak.1").st_mode) == 0o640
    assert os.stat(target / "a.bak.1").st_mtime_ns == 2_000_000_000
    assert os.readlink(target / "b.orig") == "etcd.yaml"
    assert listing(source_dir) == []


def test_a_copy_resumes_short_writes_and_is_complete(tmp_path, no_hard_links, short_writes):
    data = os.urandom(10 * 1024 + 17)
    (tmp_path / "src").mkdir()
    (tmp_path / "dst").mkdir()
    (tmp_path / "src" / "kube-apiserver.yaml.orig").write_bytes(data)
    landed = move_without_overwrite(str(tmp_path / "src" / "kube-apiserver.yaml.orig"), str(tmp_path / "dst"), "k")
    assert Path(landed).read_bytes() == data
    assert listing(tmp_path / "src") == []


def test_a_copy_to_a_full_disk_fails_and_keeps_the_source(tmp_path, no_hard_links, short_writes):
    """The review's repro, with os.write stopping after 4 KiB: before the fix the move succeeded with 4 KiB."""
    short_writes["budget"] = 4096
    data = os.urandom(10 * 1024)
    (tmp_path / "src").mkdir()
    (tmp_path / "dst").mkdir()
    source = tmp_path / "src" / "kube-apiserver.yaml.orig"
    source.write_bytes(data)
    with pytest.raises(
        FileError, match=r"cannot move .*kube-apiserver.yaml.orig .*No space left on device.*left in place"
    ):
        move_without_overwrite(str(source), str(tmp_path / "dst"), "kube-apiserver.yaml.orig")
    assert source.read_bytes() == data
    assert listing(tmp_path / "dst") == []


def test_a_copy_whose_bytes_differ_on_disk_is_refused(tmp_path, no_hard_links, monkeypatch):
    """Size and sha256 are checked by reading the copy back, not trusted from the writes."""
    real_verify = _fileops._verify

    def corrupt_then_verify(path, size, checksum, what):
        with open(path, "r+b") as handle:
            handle.write(b"X")
        real_verify(path, size, checksum, what)

    monkeypatch.setattr(_fileops, "_verify", corrupt_then_verify)
    (tmp_path / "src").mkdir()
    (tmp_path / "dst").mkdir()
    (tmp_path / "src" / "a.bak").write_bytes(b"original bytes\n")
    with pytest.raises(FileError, match="holds 15 bytes"):
        move_without_overwrite(str(tmp_path / "src" / "a.bak"), str(tmp_path / "dst"), "a.bak")
    assert (tmp_path / "src" / "a.bak").read_bytes() == b"original bytes\n"
    assert listing(tmp_path / "dst") == []


def test_a_source_that_cannot_be_removed_stays_and_its_copy_goes(tmp_path, monkeypatch):
    """Item 11: a read-only manifests directory left an unreported copy in stray_dir."""
    (tmp_path / "src").mkdir()
    (tmp_path / "dst").mkdir()
    (tmp_path / "src" / "a.bak").write_text("a\n")

    real_unlink = os.unlink

    def read_only(path):
        if os.path.dirname(path) == str(tmp_path / "src"):
            raise OSError(errno.EROFS, "Read-only file system")
        real_unlink(path)

    monkeypatch.setattr(_fileops.os, "unlink", read_only)
    with pytest.raises(
        FileError, match=r"cannot move .*a.bak out of .*src: Read-only file system; it was left in place"
    ):
        move_without_overwrite(str(tmp_path / "src" / "a.bak"), str(tmp_path / "dst"), "a.bak")
    monkeypatch.undo()
    assert (tmp_path / "src" / "a.bak").read_text() == "a\n"
    assert listing(tmp_path / "dst") == []


def test_copy_file_exclusive_never_replaces_a_file(tmp_path):
    (tmp_path / "a").write_text("a\n")
    (tmp_path / "b").write_text("b\n")
    with pytest.raises(FileExistsError):
        copy_file_exclusive(str(tmp_path / "a"), str(tmp_path / "b"))
    assert (tmp_path / "b").read_text() == "b\n"


def _can_mount_in_a_namespace():
    return os.geteuid() == 0 and shutil.which("unshare") and shutil.which("mount")


@pytest.mark.skipif(not _can_mount_in_a_namespace(), reason="needs root and util-linux unshare")
@pytest.mark.parametrize("operation", ["move", "backup"])
def test_a_real_nearly_full_tmpfs(tmp_path, operation):
    """The review's exact repro on a real 64 KiB tmpfs with 4 KiB free, in a private mount namespace."""
    (tmp_path / "manifests").mkdir()
    (tmp_path / "small").mkdir()
    data = os.urandom(10 * 1024)
    (tmp_path / "manifests" / "kube-apiserver.yaml.orig").write_bytes(data)
    script = textwrap.dedent(
        f"""
        import os, sys
        sys.path.insert(0, {str(COLLECTIONS)!r})
        from ansible_collections.nnf.kube_audit.plugins.module_utils import _fileops
        small = {str(tmp_path / "small")!r}
        with open(os.path.join(small, "filler"), "wb") as handle:
            handle.write(b"f" * 60 * 1024)
        source = {str(tmp_path / "manifests" / "kube-apiserver.yaml.orig")!r}
        try:
            if {operation!r} == "move":
                _fileops.move_without_overwrite(source, os.path.join(small, "stray"), "kube-apiserver.yaml.orig")
            else:
                with open(source, "rb") as handle:
                    data = handle.read()
                _fileops.write_backup(source, data, os.stat(source), os.path.join(small, "backup"))
        except _fileops.FileError as exc:
            print("FAILED:", exc)
        print(sorted(os.listdir(os.path.join(small, "stray" if {operation!r} == "move" else "backup"))))
        """
    )
    setup = f"mount -t tmpfs -o size=64k tmpfs {tmp_path / 'small'} && mkdir -m 700 {tmp_path / 'small' / 'stray'}"
    setup += f' {tmp_path / "small" / "backup"} && exec {sys.executable} -c "$0"'
    done = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", setup, script],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "FAILED:" in done.stdout and "No space left on device" in done.stdout, done.stdout
    assert done.stdout.strip().endswith("[]"), done.stdout  # no partial file under any name, no dot-file
    assert (tmp_path / "manifests" / "kube-apiserver.yaml.orig").read_bytes() == data


# --------------------------------------------------------------------------------------------------
# Atomic writes
# --------------------------------------------------------------------------------------------------


def test_atomic_write_leaves_no_temporary_file_and_copies_the_selinux_context(tmp_path, monkeypatch):
    target = tmp_path / "kube-apiserver.yaml"
    target.write_text("old\n")
    calls = []

    class FakeSelinux:
        @staticmethod
        def is_selinux_enabled():
            return 1

        @staticmethod
        def lgetfilecon_raw(path):
            calls.append(("get", path))
            return [0, b"system_u:object_r:kubernetes_file_t:s0"]

        @staticmethod
        def lsetfilecon(path, context):
            calls.append(("set", os.path.basename(path), context))
            assert os.path.dirname(path) == str(tmp_path)
            assert os.path.basename(path).startswith(".kube-apiserver.yaml.")  # the kubelet ignores dot-files

    monkeypatch.setattr(_fileops, "SELINUX_BINDINGS", FakeSelinux)
    write_file_atomically(str(target), b"new\n")
    assert target.read_bytes() == b"new\n"
    assert listing(tmp_path) == ["kube-apiserver.yaml"]
    assert calls[0] == ("get", str(target))
    assert calls[1][0] == "set"
    assert calls[1][2] == "system_u:object_r:kubernetes_file_t:s0"


def test_a_failed_write_keeps_the_old_file_and_removes_the_temporary_one(tmp_path, monkeypatch):
    target = tmp_path / "kube-apiserver.yaml"
    target.write_text("old\n")

    def refuse(*_args):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(_fileops.os, "rename", refuse)
    with pytest.raises(FileError, match=f"cannot write {target}: No space left on device"):
        write_file_atomically(str(target), b"new\n")
    assert target.read_text() == "old\n"
    assert listing(tmp_path) == ["kube-apiserver.yaml"]


def test_an_atomic_write_on_a_full_disk_keeps_the_old_file(tmp_path, short_writes):
    target = tmp_path / "kube-apiserver.yaml"
    target.write_text("old\n")
    short_writes["budget"] = 5000
    with pytest.raises(FileError, match="No space left on device"):
        write_file_atomically(str(target), os.urandom(8000))
    assert target.read_text() == "old\n"
    assert listing(tmp_path) == ["kube-apiserver.yaml"]


# --------------------------------------------------------------------------------------------------
# Backups (item 7: never a truncated backup under a valid name; the message names the backup)
# --------------------------------------------------------------------------------------------------


def test_backups_never_overwrite_each_other(tmp_path):
    source = tmp_path / "kube-apiserver.yaml"
    source.write_text("x\n")
    os.chmod(source, 0o640)
    info = os.stat(source)
    moment = datetime.datetime(2024, 5, 28, 13, 39, 50, 342694)
    first = write_backup(str(source), b"one\n", info, str(tmp_path / "b"), moment)
    second = write_backup(str(source), b"two\n", info, str(tmp_path / "b"), moment)
    assert os.path.basename(first) == "kube-apiserver.yaml.2024-05-28T13-39-50.342694"
    assert second == first + ".1"
    assert Path(first).read_text() == "one\n"
    assert Path(second).read_text() == "two\n"
    assert stat.S_IMODE(os.stat(first).st_mode) == 0o640
    assert listing(tmp_path / "b") == [os.path.basename(first), os.path.basename(second)]


def test_a_backup_on_a_full_disk_leaves_nothing_and_names_the_backup(tmp_path, short_writes):
    source = tmp_path / "kube-apiserver.yaml"
    source.write_bytes(b"m" * 9000)
    short_writes["budget"] = 4096
    moment = datetime.datetime(2024, 5, 28, 13, 39, 50, 342694)
    backup = tmp_path / "b" / "kube-apiserver.yaml.2024-05-28T13-39-50.342694"
    with pytest.raises(FileError, match=f"cannot write the backup {backup} of {source}: No space left on device"):
        write_backup(str(source), source.read_bytes(), os.stat(source), str(tmp_path / "b"), moment)
    assert listing(tmp_path / "b") == []


def test_a_backup_dir_under_a_regular_file_is_named(tmp_path):
    """Item 11: it said "notadir: File exists"."""
    (tmp_path / "notadir").write_text("a file\n")
    wanted = tmp_path / "notadir" / "backup"
    with pytest.raises(
        FileError, match=f"backup_dir {wanted} cannot be created: {tmp_path / 'notadir'} is not a directory"
    ):
        write_backup(str(tmp_path / "m.yaml"), b"x", os.stat(tmp_path / "notadir"), str(wanted))
    with pytest.raises(FileError, match=f"backup_dir {tmp_path / 'notadir'} exists and is not a directory"):
        check_directory_path(str(tmp_path / "notadir"), "backup_dir")
    os.symlink("nowhere", tmp_path / "dangling")
    with pytest.raises(FileError, match="is a symlink that does not lead to a directory"):
        check_directory_path(str(tmp_path / "dangling" / "x"), "stray_dir")


def test_private_directories_are_0700_whatever_the_umask(tmp_path):
    previous = os.umask(0o277)
    try:
        assert ensure_private_directory(str(tmp_path / "a" / "b"))
    finally:
        os.umask(previous)
    assert stat.S_IMODE(os.stat(tmp_path / "a").st_mode) == 0o700
    assert stat.S_IMODE(os.stat(tmp_path / "a" / "b").st_mode) == 0o700
    assert not ensure_private_directory(str(tmp_path / "a" / "b"))


# --------------------------------------------------------------------------------------------------
# Path guards (item 3: real paths, not strings)
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spelling",
    ["{m}/audit.yaml", "{m}/./audit.yaml", "{d}//manifests/audit.yaml", "/{m}/audit.yaml", "{link}/audit.yaml", "{m}"],
)
def test_check_outside_compares_real_paths(tmp_path, spelling):
    manifests = tmp_path / "kubernetes" / "manifests"
    manifests.mkdir(parents=True)
    os.symlink(manifests, tmp_path / "link")
    path = spelling.format(m=manifests, d=manifests.parent, link=tmp_path / "link")
    with pytest.raises(KubeAuditError, match="is inside the manifests directory"):
        check_outside(path, str(manifests), "policy_path", "the kubelet reads it", place="the manifests directory")
    check_outside(str(tmp_path / "kubernetes" / "policies" / "a.yaml"), str(manifests), "policy_path", "x")
    check_outside(str(tmp_path / "kubernetes" / "manifests-old"), str(manifests), "backup_dir", "x")

"""kubelet stand-in: directory events as the kubelet's file source turns fsnotify events into pod events."""

import os

from standin import inotify


def test_events_map_to_the_kubelets_add_modify_delete_and_dot_files_are_ignored(tmp_path):
    watch = inotify.DirectoryWatch(str(tmp_path))
    try:
        (tmp_path / ".kube-apiserver.yaml.tmp").write_text("x")  # a module's temporary file: ignored
        os.replace(tmp_path / ".kube-apiserver.yaml.tmp", tmp_path / "kube-apiserver.yaml")  # moved in: add
        with open(tmp_path / "kube-apiserver.yaml", "a", encoding="utf-8") as handle:
            handle.write("y")  # written: modify
        os.chmod(tmp_path / "kube-apiserver.yaml", 0o600)  # chmod: modify
        os.replace(tmp_path / "kube-apiserver.yaml", tmp_path.parent / f"{tmp_path.name}-moved")  # moved out: delete
        (tmp_path / "etcd.yaml").write_text("z")  # created (add), then written (modify)
        os.remove(tmp_path / "etcd.yaml")  # removed: delete
        events = [(os.path.basename(event.path), event.kind) for event in watch.read()]
    finally:
        watch.close()
    manifest, etcd = "kube-apiserver.yaml", "etcd.yaml"
    assert events == [
        (manifest, inotify.ADD),
        (manifest, inotify.MODIFY),
        (manifest, inotify.MODIFY),
        (manifest, inotify.DELETE),
        (etcd, inotify.ADD),
        (etcd, inotify.MODIFY),
        (etcd, inotify.DELETE),
    ]
    assert not watch.lost


def test_nothing_happened_reads_as_no_events(tmp_path):
    watch = inotify.DirectoryWatch(str(tmp_path))
    try:
        assert watch.read() == []
    finally:
        watch.close()


def test_the_watched_directory_going_away_is_noticed(tmp_path):
    directory = tmp_path / "manifests"
    directory.mkdir()
    watch = inotify.DirectoryWatch(str(directory))
    try:
        directory.rmdir()
        assert watch.read() == []
        assert watch.lost
    finally:
        watch.close()


def test_the_first_matching_kind_wins_like_fsnotifys_op_order():
    assert inotify.kubelet_event_kind(inotify.IN_CREATE | inotify.IN_MODIFY) == inotify.ADD
    assert inotify.kubelet_event_kind(inotify.IN_ATTRIB | inotify.IN_DELETE) == inotify.MODIFY
    assert inotify.kubelet_event_kind(inotify.IN_MOVED_FROM) == inotify.DELETE
    assert inotify.kubelet_event_kind(inotify.IN_IGNORED) is None

"""Stray files: what the master lists (_static_pod_files.stray_candidates), what must go (_strays.classify), where.

The kubelet reads every non-dot regular file in the manifests directory. The master sends each candidate's bytes;
which pod a file defines is read on the controller, as the kubelet reads it (go-yaml v2).
"""

import base64
import hashlib
import json
import os

import pytest
from manifest_fixtures import FIXTURES, NNF, NNF_PATCHED, make_manifests_dir, pod, read

from ansible_collections.nnf.kube_audit.plugins.module_utils._static_pod_files import stray_candidates
from ansible_collections.nnf.kube_audit.plugins.plugin_utils import _strays
from ansible_collections.nnf.kube_audit.plugins.plugin_utils._strays import (
    MAX_SCAN_BYTES,
    STRAY_PATTERNS,
    classify,
    plan_moves,
    pod_identity,
    stray_pattern,
)


@pytest.fixture
def manifests(tmp_path):
    return make_manifests_dir(tmp_path)


def scan(directory, max_bytes=MAX_SCAN_BYTES):
    """The master's listing, then the controller's classification, as the action plugin chains them."""
    candidates = stray_candidates(str(directory), "kube-apiserver.yaml", max_bytes)
    return classify(candidates, "kube-apiserver.yaml", "kube-apiserver", "kube-system")


def plan_stray_moves(strays, stray_dir):
    """Destinations in ``stray_dir``, planned from the names the master listed there."""
    existing = sorted(os.listdir(stray_dir)) if os.path.isdir(stray_dir) else []
    return plan_moves(strays, str(stray_dir), existing)


def stray_names(result):
    return sorted(os.path.basename(stray.path) for stray in result.strays)


LEFTOVER_NAMES = [
    "kube-apiserver.yaml.orig",
    "kube-apiserver.yaml.rej",
    "kube-apiserver.yaml.bak",
    "kube-apiserver.yaml.old",
    "kube-apiserver.yaml.save",
    "kube-apiserver.yaml~",
    "kube-apiserver.yaml.swp",
    "kube-apiserver.yaml.dpkg-old",
    "kube-apiserver.yaml.rpmnew",
    "kube-apiserver.yaml.rpmsave",
    "kube-apiserver.yaml.rpmorig",
    "kube-apiserver.yaml.patch",
    "audit.diff",
    "kube-apiserver.yaml-orig",
    "kube-apiserver.yml-2024",
    "#kube-apiserver.yaml#",
    "kube-apiserver.yaml.12345.2024-05-28@13:39:50~",
    "ETCD.YAML.BAK",
]


def test_every_leftover_pattern_is_covered_by_the_name_list():
    covered = {stray_pattern(name) for name in LEFTOVER_NAMES}
    assert covered == set(STRAY_PATTERNS)


@pytest.mark.parametrize("name", LEFTOVER_NAMES)
@pytest.mark.parametrize("content", ["pod", "patch"])
def test_leftover_names_are_stray(manifests, name, content):
    (manifests / name).write_text(read(NNF) if content == "pod" else (FIXTURES / "seed-doc.patch").read_text())
    result = scan(manifests)
    assert stray_names(result) == [name]
    assert result.strays[0].reason.startswith("leftover name (")
    assert result.warnings == []


@pytest.mark.parametrize("name", ["kube-apiserver-old.yaml", "kube-apiserver.yaml.20240528", "copy.json"])
def test_any_other_file_defining_the_same_pod_is_stray(manifests, name):
    content = read(NNF_PATCHED)
    if name.endswith(".json"):
        metadata = {"name": "kube-apiserver", "namespace": "kube-system"}
        content = json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": metadata})
    (manifests / name).write_text(content)
    result = scan(manifests)
    assert stray_names(result) == [name]
    assert result.strays[0].reason == "defines pod kube-system/kube-apiserver, like kube-apiserver.yaml"


def test_other_static_pods_dot_files_and_directories_are_left_alone(manifests):
    (manifests / ".kube-apiserver.yaml.swp").write_text(read(NNF))
    (manifests / ".hidden.yaml").write_text(read(NNF))
    (manifests / "backup.orig").mkdir()
    (manifests / "backup.orig" / "kube-apiserver.yaml").write_text(read(NNF))
    os.mkfifo(manifests / "pipe.yaml")  # the kubelet reads regular files only; reading a fifo would block
    os.symlink(manifests / "missing.yaml", manifests / "dangling.bak")
    result = scan(manifests)
    assert result.strays == []
    assert result.warnings == []


def test_unparsable_files_are_left_with_a_warning(manifests):
    (manifests / "notes.txt").write_text("key: [unclosed\n")
    (manifests / "binary.yaml").write_bytes(b"\xff\xfe\x00")
    result = scan(manifests)
    assert result.strays == []
    assert len(result.warnings) == 2
    assert all("left in place" in warning for warning in result.warnings)


def test_a_leftover_that_is_the_only_definition_of_a_pod_stays(manifests):
    os.rename(manifests / "kube-vip.yaml", manifests / "kube-vip.yaml.orig")
    (manifests / "haproxy.yaml.bak").write_text(pod("haproxy"))
    result = scan(manifests)
    assert stray_names(result) == ["haproxy.yaml.bak"]
    assert len(result.warnings) == 1
    assert "only definition of static pod kube-system/kube-vip" in result.warnings[0]


def test_same_name_in_another_namespace_is_only_a_warning(manifests):
    (manifests / "other.yaml").write_text(pod(namespace="default"))
    result = scan(manifests)
    assert result.strays == []
    assert "namespace default" in result.warnings[0]


def test_symlinks_to_the_manifest_are_stray_but_its_target_is_not(manifests):
    os.rename(manifests / "kube-apiserver.yaml", manifests / "apiserver-real.yaml")
    os.symlink("apiserver-real.yaml", manifests / "kube-apiserver.yaml")
    os.symlink("apiserver-real.yaml", manifests / "alias.yaml")
    assert stray_names(scan(manifests)) == ["alias.yaml"]


def test_planned_moves_never_overwrite_and_get_a_suffix(manifests, tmp_path):
    stray_dir = tmp_path / "stray"
    stray_dir.mkdir()
    (stray_dir / "kube-apiserver.yaml.orig").write_text("older leftover\n")
    (stray_dir / "kube-apiserver.yaml.orig.1").write_text("even older\n")
    (manifests / "kube-apiserver.yaml.orig").write_text(read(NNF))
    moves = plan_stray_moves(scan(manifests).strays, str(stray_dir))
    assert [move["to"] for move in moves] == [str(stray_dir / "kube-apiserver.yaml.orig.2")]


def test_planned_moves_take_the_names_the_master_listed():
    strays = [_strays.StrayFile("/m/a.orig", "leftover name (*.orig)", "1" * 64), _strays.StrayFile("/m/b.bak", "r")]
    moves = plan_moves(strays, "/s", ["a.orig", "a.orig.1", "b.bak.1"])
    assert moves == [
        {"from": "/m/a.orig", "to": "/s/a.orig.2", "name": "a.orig.2", "reason": "leftover name (*.orig)",
         "sha256": "1" * 64},
        {"from": "/m/b.bak", "to": "/s/b.bak", "name": "b.bak", "reason": "r", "sha256": None},
    ]  # fmt: skip


def test_each_stray_carries_the_checksum_of_the_bytes_that_were_read(manifests):
    (manifests / "kube-apiserver.yaml.orig").write_text(read(NNF))
    (stray,) = scan(manifests).strays
    assert stray.sha256 == hashlib.sha256(read(NNF).encode()).hexdigest()


def test_files_over_the_bound_are_listed_without_their_bytes(manifests):
    big = read(NNF) + "# padding\n" * 3000  # 30 KB; the other pods are a few KB
    (manifests / "kube-apiserver.yaml.bak").write_text(big)
    (manifests / "big.yaml").write_text(big)
    candidates = {c["name"]: c for c in stray_candidates(str(manifests), "kube-apiserver.yaml", 16384)}
    assert candidates["big.yaml"]["content_base64"] is None
    assert candidates["big.yaml"]["sha256"] is None
    assert candidates["big.yaml"]["size"] == len(big.encode())
    assert candidates["etcd.yaml"]["content_base64"] is not None
    result = scan(manifests, max_bytes=16384)
    # A leftover name goes unread (moved by its name alone); any other file stays, with a warning.
    assert [(os.path.basename(s.path), s.reason, s.sha256) for s in result.strays] == [
        ("kube-apiserver.yaml.bak", "leftover name (*.bak)", None)
    ]
    assert result.warnings == [f"{manifests}/big.yaml is not a readable manifest (larger than {MAX_SCAN_BYTES} "
                               "bytes, not read); left in place"]  # fmt: skip


def candidate(content, name="copy.yaml"):
    data = content.encode() if isinstance(content, str) else content
    return {"name": name, "path": f"/m/{name}", "content_base64": base64.b64encode(data).decode(), "sha256": "x"}


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (pod(), (("kube-system", "kube-apiserver"), None)),
        (pod(namespace='""'), (("default", "kube-apiserver"), None)),
        (json.dumps({"kind": "Pod", "metadata": {"name": "x"}}), (("default", "x"), None)),
        ("kind: ConfigMap\nmetadata:\n  name: x\n", (None, None)),
        ("kind: Pod\nmetadata:\n  name: yes\n", (None, None)),  # a YAML 1.1 boolean: no pod name for the kubelet
        (pod() + "---\n" + pod("other"), (("kube-system", "kube-apiserver"), None)),  # the first document only
        ("key: [unclosed\n", (None, "yaml: line 1: did not find expected ',' or ']'")),
        (b"\xff\xfe\x00", (None, "'utf-8' codec can't decode byte 0xff in position 0: invalid start byte")),
    ],
)
def test_pod_identity_reads_the_candidate_as_the_kubelet_does(content, expected):
    assert pod_identity(candidate(content)) == expected


def test_pod_identity_reports_what_the_master_could_not_read():
    assert pod_identity({"name": "x", "path": "/m/x", "problem": "Permission\n denied"}) == (None, "Permission denied")
    assert pod_identity({"name": "x", "path": "/m/x", "content_base64": None}) == (
        None,
        f"larger than {MAX_SCAN_BYTES} bytes, not read",
    )

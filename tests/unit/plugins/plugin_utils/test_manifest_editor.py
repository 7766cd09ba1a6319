"""manifest_editor: manifest edits as text (no file system), on the real fixtures and on hand-edited manifests."""

import difflib

import pytest
from manifest_fixtures import (
    ALL_MANIFESTS,
    APISERVER_MANIFESTS,
    FIXTURES,
    FOREIGN,
    NNF,
    NNF_PATCHED,
    SEED_ARGS,
    SEED_MOUNTS,
    SEED_REMOVAL,
    changed_lines,
    pod,
    read,
)

from ansible_collections.nnf.kube_audit.plugins.module_utils._errors import ManifestError
from ansible_collections.nnf.kube_audit.plugins.plugin_utils import _ruamel
from ansible_collections.nnf.kube_audit.plugins.plugin_utils.manifest_editor import (
    edit_manifest_text,
    flags_of,
    parse_flags,
    roundtrip_text,
)

# A small hand-edited manifest: comments after list items at several indentations.
COMMENTED = """\
apiVersion: v1
kind: Pod
metadata:
  name: kube-apiserver
  namespace: kube-system
spec:
  containers:
  - command:
    - kube-apiserver
    - --secure-port=6443   # keep in sync with the load balancer
    # the flags below came from the hardening guide
    - --profiling=false
      # profiling off: CIS 1.2.18

    # image pinned by the platform team
    image: registry.k8s.io/kube-apiserver:v1.29.3
    name: kube-apiserver
    volumeMounts:
    - mountPath: /etc/kubernetes/pki
      name: k8s-certs
      readOnly: true  # certificates are never written
      # k8s-certs holds the serving certificate
    # end of mounts
  # volumes follow
  hostNetwork: true
  volumes:
  - hostPath:
      path: /etc/kubernetes/pki
      type: DirectoryOrCreate
    name: k8s-certs
status: {}
"""


def unified_diff(edit, fromfile, tofile):
    """The edit as a unified diff (what ManifestEdit.unified_diff gave before it moved out of plugins)."""
    return "".join(
        difflib.unified_diff(
            edit.before.splitlines(True), edit.after.splitlines(True), fromfile=fromfile, tofile=tofile
        )
    )


# --------------------------------------------------------------------------------------------------
# Round trip and the seed patch
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("manifest", ALL_MANIFESTS, ids=lambda path: path.name)
def test_load_and_dump_without_edits_is_byte_identical(manifest):
    text = read(manifest)
    assert roundtrip_text(text) == text


@pytest.mark.parametrize("manifest", ALL_MANIFESTS, ids=lambda path: path.name)
def test_a_request_that_changes_nothing_returns_the_input_text(manifest):
    text = read(manifest)
    container = "etcd" if "etcd" in manifest.name else "kube-scheduler" if "scheduler" in manifest.name else None
    edit = edit_manifest_text(text, container=container or "kube-apiserver", remove_args=["no-such-flag-*"])
    assert edit.after is text
    assert not edit.changed
    assert edit.changes == []


def test_seed_patch_gives_the_seed_document_byte_for_byte():
    edit = edit_manifest_text(read(NNF), args=SEED_ARGS, mounts=SEED_MOUNTS)
    assert edit.after == read(NNF_PATCHED)
    assert edit.changed
    assert edit.flags["audit-log-maxsize"] == "100"
    assert edit.mounts == [dict(mount) for mount in SEED_MOUNTS]
    summary = edit.summary()
    assert summary["pod"] == "kube-system/kube-apiserver"
    assert summary["changed"] is True
    assert summary["changes"][0] == "added --audit-policy-file=/etc/kubernetes/policies/audit-policy.yaml"
    assert summary["command"][-1] == "--audit-log-maxsize=100"
    diff = unified_diff(edit, "a/kube-apiserver.yaml", "b/kube-apiserver.yaml").splitlines()
    patch = (FIXTURES / "seed-doc.patch").read_text().splitlines()
    # The seed document's own patch, apart from its file headers and hunk line numbers.
    assert [line for line in diff if line[:1] in "+- " and line[:3] not in ("---", "+++")] == [
        line for line in patch if line[:1] in "+- " and line[:3] not in ("---", "+++")
    ]


def test_removing_the_seed_patch_gives_back_the_original_bytes():
    edit = edit_manifest_text(read(NNF_PATCHED), **SEED_REMOVAL)
    assert edit.after == read(NNF)
    assert not any(key.startswith("audit-") for key in edit.flags)


def test_seed_patch_applied_twice_changes_nothing_the_second_time():
    patched = read(NNF_PATCHED)
    edit = edit_manifest_text(patched, args=SEED_ARGS, mounts=SEED_MOUNTS)
    assert not edit.changed
    assert edit.after is patched


@pytest.mark.parametrize("manifest", APISERVER_MANIFESTS, ids=lambda path: path.name)
def test_enable_then_disable_round_trips_on_every_apiserver_fixture(manifest):
    original = read(manifest)
    enabled = edit_manifest_text(original, args=SEED_ARGS, mounts=SEED_MOUNTS, remove_args=["audit-*"]).after
    assert enabled != original
    assert edit_manifest_text(enabled, args=SEED_ARGS, mounts=SEED_MOUNTS, remove_args=["audit-*"]).after is enabled
    disabled = edit_manifest_text(enabled, **SEED_REMOVAL).after
    if manifest == FOREIGN:
        # Their audit flags went away with audit-*; their mounts and comments stay.
        removed, added = changed_lines(original, disabled)
        assert added == []
        assert [line.split()[1].split("=")[0] for line in removed] == ["--audit-policy", "--audit-log-path"]
    else:
        assert disabled == original


def test_appended_lines_are_the_only_difference_from_the_original():
    original = read(manifest := FIXTURES / "kube-apiserver-v1.32.0-minikube-8443.yaml")
    removed, added = changed_lines(original, edit_manifest_text(original, args=SEED_ARGS, mounts=SEED_MOUNTS).after)
    assert removed == [], manifest
    assert added == [
        "    - --audit-policy-file=/etc/kubernetes/policies/audit-policy.yaml",
        "    - --audit-log-path=/var/log/kubernetes/kube-apiserver-audit.log",
        "    - --audit-log-maxsize=100",
        "    - mountPath: /etc/kubernetes/policies/audit-policy.yaml",
        "      name: k8s-policies",
        "      readOnly: true",
        "    - mountPath: /var/log/kubernetes/",
        "      name: k8s-log",
        "      readOnly: false",
        "  - hostPath:",
        "      path: /etc/kubernetes/policies/audit-policy.yaml",
        "      type: File",
        "    name: k8s-policies",
        "  - hostPath:",
        "      path: /var/log/kubernetes/",
        "      type: DirectoryOrCreate",
        "    name: k8s-log",
    ]


# --------------------------------------------------------------------------------------------------
# The hand-audited foreign manifest
# --------------------------------------------------------------------------------------------------


def test_enabling_on_the_foreign_manifest_keeps_their_comments_and_mounts():
    original = read(FOREIGN)
    edit = edit_manifest_text(original, args=SEED_ARGS, mounts=SEED_MOUNTS, remove_args=["audit-*"])
    removed, added = changed_lines(original, edit.after)

    # The typo'd --audit-policy goes; --audit-log-path is replaced where it stands, keeping its comment.
    assert removed == [
        "    - --audit-policy=/etc/kubernetes/audit-policy.yaml" + " " * 23 + "# Added audit policy file option",
        "    - --audit-log-path=/var/log/kubernetes/audit/audit.log" + " " * 19 + "# Added audit log file path option",
    ]
    # The comment keeps its column.
    assert added[0] == (
        "    - --audit-log-path=/var/log/kubernetes/kube-apiserver-audit.log"
        + " " * 10
        + "# Added audit log file path option"
    )
    assert added[1:3] == [
        "    - --audit-policy-file=/etc/kubernetes/policies/audit-policy.yaml",
        "    - --audit-log-maxsize=100",
    ]
    # Every other comment line is still there, byte for byte.
    kept = [line for line in original.splitlines() if "#" in line and line not in removed]
    assert len(kept) == 4
    for line in kept:
        assert line in edit.after.splitlines()
    assert "--audit-policy=" not in edit.after
    assert edit.flags["audit-log-path"] == "/var/log/kubernetes/kube-apiserver-audit.log"
    assert "replaced --audit-log-path=/var/log/kubernetes/audit/audit.log" in edit.changes[1]


def test_a_mount_path_they_already_use_under_another_name_fails_naming_both():
    mount = dict(SEED_MOUNTS[1], mount_path="/var/log/kubernetes/audit/")
    with pytest.raises(ManifestError) as error:
        edit_manifest_text(read(FOREIGN), mounts=[mount], source=str(FOREIGN))
    message = str(error.value)
    assert str(FOREIGN) in message
    assert "'k8s-log'" in message
    assert "'audit-log'" in message
    assert "/var/log/kubernetes/audit/" in message


def test_mount_paths_are_compared_without_trailing_slash():
    mount = dict(SEED_MOUNTS[1], mount_path="/var/log/kubernetes/audit")
    with pytest.raises(ManifestError, match="'audit-log'"):
        edit_manifest_text(read(FOREIGN), mounts=[mount])


def test_a_name_they_already_mount_at_another_path_fails_naming_both():
    mount = dict(SEED_MOUNTS[1], name="audit-log")
    with pytest.raises(ManifestError) as error:
        edit_manifest_text(read(FOREIGN), mounts=[mount])
    message = str(error.value)
    assert "'audit-log'" in message
    assert "/var/log/kubernetes/audit/" in message
    assert "/var/log/kubernetes/" in message
    assert "remove_mounts" in message


def test_listing_a_mount_in_remove_mounts_too_moves_it():
    original = read(FOREIGN)
    mount = dict(SEED_MOUNTS[1], name="audit-log")
    edit = edit_manifest_text(original, mounts=[mount], remove_mounts=["audit-log"])
    assert edit.mounts == [dict(mount)]
    assert "mountPath: /var/log/kubernetes/audit/" not in edit.after
    assert "path: /var/log/kubernetes/audit/" not in edit.after
    assert edit.after.count("name: audit-log") == 2
    assert "removed volumeMount audit-log (/var/log/kubernetes/audit/)" in edit.changes


# --------------------------------------------------------------------------------------------------
# Flags
# --------------------------------------------------------------------------------------------------

TWO_ITEM = pod(flag="--audit-log-path\n    - /var/log/old.log\n    - --secure-port=6443")


def test_a_flag_in_two_item_form_is_replaced_in_that_form():
    edit = edit_manifest_text(TWO_ITEM, args={"audit-log-path": "/var/log/new.log"})
    assert changed_lines(TWO_ITEM, edit.after) == (["    - /var/log/old.log"], ["    - /var/log/new.log"])
    assert edit.command == ["kube-apiserver", "--audit-log-path", "/var/log/new.log", "--secure-port=6443"]


def test_a_flag_in_two_item_form_is_removed_with_its_value():
    edit = edit_manifest_text(TWO_ITEM, remove_args=["--audit-log-*"])
    assert edit.command == ["kube-apiserver", "--secure-port=6443"]


def test_duplicates_of_a_managed_flag_collapse_into_the_first_one():
    text = pod(flag="--audit-log-maxsize=10\n    - --secure-port=6443\n    - --audit-log-maxsize=20")
    edit = edit_manifest_text(text, args={"audit-log-maxsize": 100})
    assert edit.command == ["kube-apiserver", "--audit-log-maxsize=100", "--secure-port=6443"]
    assert "removed duplicate --audit-log-maxsize=20" in edit.changes


def test_remove_args_removes_every_occurrence_in_both_forms():
    text = pod(flag="--audit-log-path=/a\n    - --audit-log-path\n    - /b\n    - --secure-port=6443\n    - --audit-x")
    edit = edit_manifest_text(text, remove_args=["audit-*"])
    assert edit.command == ["kube-apiserver", "--secure-port=6443"]


def test_new_flags_are_appended_in_the_order_given():
    args = {"b-flag": "2", "a-flag": "1", "c-flag": "3"}
    edit = edit_manifest_text(pod(), args=args)
    assert edit.command[-3:] == ["--b-flag=2", "--a-flag=1", "--c-flag=3"]


def test_values_are_rendered_as_kube_apiserver_reads_them():
    edit = edit_manifest_text(pod(), args={"--profiling": False, "enable-x": True, "max": 7, "ratio": 0.5})
    assert edit.command[-4:] == ["--profiling=false", "--enable-x=true", "--max=7", "--ratio=0.5"]


def test_a_null_value_removes_the_flag_and_underscores_name_the_same_flag():
    text = pod(flag="--audit_log_path=/x\n    - --secure-port=6443")
    assert edit_manifest_text(text, args={"audit-log-path": None}).command == ["kube-apiserver", "--secure-port=6443"]
    replaced = edit_manifest_text(text, args={"audit-log-path": "/y"})
    assert replaced.command[1] == "--audit_log_path=/y"


def test_flags_set_in_args_are_exempt_from_remove_args_and_stay_in_place():
    text = pod(flag="--audit-log-path=/x\n    - --audit-log-maxage=3\n    - --secure-port=6443")
    edit = edit_manifest_text(text, args={"audit-log-path": "/x"}, remove_args=["audit-*"])
    assert edit.command == ["kube-apiserver", "--audit-log-path=/x", "--secure-port=6443"]
    assert edit.changes == ["removed --audit-log-maxage=3"]


def test_a_replaced_item_keeps_its_quotes():
    text = pod(flag="'--audit-log-maxsize=10'")
    edit = edit_manifest_text(text, args={"audit-log-maxsize": 20})
    assert changed_lines(text, edit.after) == (["    - '--audit-log-maxsize=10'"], ["    - '--audit-log-maxsize=20'"])


def test_a_bare_flag_gets_its_value_in_equals_form():
    edit = edit_manifest_text(pod(flag="--profiling"), args={"profiling": False})
    assert edit.command == ["kube-apiserver", "--profiling=false"]


def test_parse_flags_reads_all_forms():
    items = ["kube-apiserver", "--a=1", "--b", "two", "--c", "--d", "-5", "-v=2", "--", "--e=ignored"]
    parsed = [(flag.name, flag.value, flag.index, flag.value_index) for flag in parse_flags(items)]
    assert parsed == [
        ("a", "1", 1, None),
        ("b", "two", 2, 3),
        ("c", None, 4, None),
        ("d", "-5", 5, 6),
        ("v", "2", 7, None),
    ]
    assert flags_of(["kube-apiserver", "--x=1", "--x=2"]) == {"x": "2"}


def test_a_managed_flag_in_the_containers_args_list_fails():
    text = pod() + "    args:\n    - --audit-log-path=/x\n"
    with pytest.raises(ManifestError, match="args list"):
        edit_manifest_text(text, args={"audit-log-path": "/y"})
    assert not edit_manifest_text(text, args={"secure-port": 6443}).changed


# --------------------------------------------------------------------------------------------------
# Mounts and annotations
# --------------------------------------------------------------------------------------------------


def test_an_existing_mount_is_updated_in_place_changing_only_what_differs():
    patched = read(NNF_PATCHED)
    mounts = [dict(SEED_MOUNTS[0], host_path="/srv/policy.yaml", type="FileOrCreate", read_only=False)]
    edit = edit_manifest_text(patched, mounts=mounts)
    removed, added = changed_lines(patched, edit.after)
    assert removed == [
        "      readOnly: true",
        "      path: /etc/kubernetes/policies/audit-policy.yaml",
        "      type: File",
    ]
    assert added == ["      readOnly: false", "      path: /srv/policy.yaml", "      type: FileOrCreate"]


def test_an_absent_read_only_counts_as_false():
    text = read(FIXTURES / "etcd-v3.5.10.yaml")
    mount = {"name": "etcd-data", "host_path": "/var/lib/etcd", "type": "DirectoryOrCreate", "read_only": False}
    assert not edit_manifest_text(text, container="etcd", mounts=[mount]).changed
    edit = edit_manifest_text(text, container="etcd", mounts=[dict(mount, read_only=True)])
    assert changed_lines(text, edit.after) == ([], ["      readOnly: true"])
    assert edit.after.index("readOnly: true") > edit.after.index("name: etcd-data")


def test_mount_path_defaults_to_host_path_and_type_is_optional():
    edit = edit_manifest_text(read(NNF), mounts=[{"name": "extra", "host_path": "/srv/extra"}])
    assert edit.mounts == [
        {"name": "extra", "host_path": "/srv/extra", "mount_path": "/srv/extra", "type": None, "read_only": False}
    ]
    assert "    - mountPath: /srv/extra\n      name: extra\n      readOnly: false\n" in edit.after
    assert "  - hostPath:\n      path: /srv/extra\n    name: extra\n" in edit.after


def test_a_container_without_volume_mounts_gets_them_where_kubeadm_puts_them():
    text = pod()
    edit = edit_manifest_text(text, mounts=[SEED_MOUNTS[1]])
    assert edit.after.index("    volumeMounts:") > edit.after.index("    name: kube-apiserver")
    assert edit.after.endswith(
        "  volumes:\n  - hostPath:\n      path: /var/log/kubernetes/\n"
        "      type: DirectoryOrCreate\n    name: k8s-log\n"
    )
    assert edit_manifest_text(edit.after, remove_mounts=["k8s-log"]).after == text


def test_a_volume_shared_with_another_container_is_kept_on_removal():
    text = read(NNF_PATCHED).replace(
        "  hostNetwork: true\n",
        "  - name: sidecar\n    image: busybox\n    volumeMounts:\n    - mountPath: /logs\n      name: k8s-log\n"
        "  hostNetwork: true\n",
    )
    edit = edit_manifest_text(text, remove_mounts=["k8s-log"])
    assert "removed volumeMount k8s-log (/var/log/kubernetes/)" in edit.changes
    assert "removed volume k8s-log" not in edit.changes
    assert any("sidecar" in warning for warning in edit.warnings)


def test_a_volume_only_another_container_mounts_is_not_taken_over():
    text = read(NNF).replace(
        "  hostNetwork: true\n",
        "  - name: sidecar\n    image: busybox\n    volumeMounts:\n    - mountPath: /logs\n      name: logs\n"
        "  hostNetwork: true\n",
    )
    text = text.replace("  volumes:\n", "  volumes:\n  - hostPath:\n      path: /var/log/kubernetes/\n    name: logs\n")
    with pytest.raises(ManifestError, match=r"volume 'logs' is already used by container\(s\) sidecar"):
        edit_manifest_text(text, mounts=[dict(SEED_MOUNTS[1], name="logs")])


def test_a_non_host_path_volume_of_that_name_fails():
    text = read(NNF).replace("  volumes:\n", "  volumes:\n  - emptyDir: {}\n    name: k8s-log\n")
    with pytest.raises(ManifestError, match="not a hostPath volume"):
        edit_manifest_text(text, mounts=[SEED_MOUNTS[1]])


def test_annotations_are_set_sorted_updated_and_removed():
    original = read(NNF)
    edit = edit_manifest_text(original, annotations={"a.example/first": "1", "z.example/last": True})
    lines = edit.after.splitlines()
    start = lines.index("  annotations:")
    assert lines[start + 1 : start + 4] == [
        "    a.example/first: '1'",
        "    kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint: 10.30.1.2:6443",
        "    z.example/last: 'true'",
    ]
    assert edit_manifest_text(edit.after, annotations={"a.example/first": None, "z.example/last": None}).after == (
        original
    )


def test_a_removed_annotation_takes_its_comment_along():
    text = read(NNF).replace("10.30.1.2:6443\n", "10.30.1.2:6443  # set by kubeadm\n", 1)
    key = "kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint"
    removed = edit_manifest_text(text, annotations={key: None})
    assert "set by kubeadm" not in removed.after
    assert "annotations" not in removed.after
    readded = edit_manifest_text(removed.after, annotations={key: "10.30.1.2:6443"})
    assert "set by kubeadm" not in readded.after
    assert "    " + key + ": 10.30.1.2:6443\n" in readded.after


def test_an_empty_annotations_map_we_did_not_empty_stays():
    text = pod().replace("metadata:\n", "metadata:\n  annotations: {}\n")
    assert not edit_manifest_text(text, annotations={"absent/key": None}).changed


def test_annotations_map_is_created_and_dropped_again():
    text = pod()
    edit = edit_manifest_text(text, annotations={"nnf.example/audit": "on"})
    assert "metadata:\n  annotations:\n    nnf.example/audit: 'on'\n  name: kube-apiserver\n" in edit.after
    assert edit_manifest_text(edit.after, annotations={"nnf.example/audit": None}).after == text


# --------------------------------------------------------------------------------------------------
# Comments
# --------------------------------------------------------------------------------------------------


def test_appended_flags_go_above_the_comment_block_that_precedes_image():
    edit = edit_manifest_text(COMMENTED, args={"audit-log-maxsize": 100})
    assert (
        "    - --profiling=false\n"
        "      # profiling off: CIS 1.2.18\n"
        "    - --audit-log-maxsize=100\n"
        "\n"
        "    # image pinned by the platform team\n"
        "    image: registry.k8s.io/kube-apiserver:v1.29.3\n"
    ) in edit.after
    assert changed_lines(COMMENTED, edit.after) == ([], ["    - --audit-log-maxsize=100"])


def test_appended_mounts_go_above_comments_that_precede_the_next_key():
    edit = edit_manifest_text(COMMENTED, mounts=[SEED_MOUNTS[1]])
    assert (
        "      readOnly: true  # certificates are never written\n"
        "      # k8s-certs holds the serving certificate\n"
        "    - mountPath: /var/log/kubernetes/\n"
        "      name: k8s-log\n"
        "      readOnly: false\n"
        "    # end of mounts\n"
        "  # volumes follow\n"
        "  hostNetwork: true\n"
    ) in edit.after
    assert changed_lines(COMMENTED, edit.after)[0] == []


def test_enable_then_disable_restores_a_commented_manifest():
    enabled = edit_manifest_text(COMMENTED, args=SEED_ARGS, mounts=SEED_MOUNTS).after
    assert edit_manifest_text(enabled, **SEED_REMOVAL).after == COMMENTED


def test_removing_a_flag_drops_its_own_comments_and_keeps_the_ones_that_follow():
    edit = edit_manifest_text(COMMENTED, remove_args=["profiling"])
    removed, added = changed_lines(COMMENTED, edit.after)
    assert removed == ["    - --profiling=false", "      # profiling off: CIS 1.2.18"]
    assert added == []
    assert (
        "    - --secure-port=6443   # keep in sync with the load balancer\n"
        "    # the flags below came from the hardening guide\n"
        "\n"
        "    # image pinned by the platform team\n"
        "    image:"
    ) in edit.after


def test_comments_after_a_removed_first_mount_stay_in_place():
    edit = edit_manifest_text(COMMENTED, mounts=[SEED_MOUNTS[1]], remove_mounts=["k8s-certs"])
    assert (
        "    volumeMounts:\n"
        "    - mountPath: /var/log/kubernetes/\n"
        "      name: k8s-log\n"
        "      readOnly: false\n"
        "    # end of mounts\n"
        "  # volumes follow\n"
    ) in edit.after


def test_comments_after_the_last_mount_stay_when_all_mounts_go():
    edit = edit_manifest_text(COMMENTED, remove_mounts=["k8s-certs"])
    assert "    name: kube-apiserver\n    # end of mounts\n  # volumes follow\n  hostNetwork: true\n" in edit.after
    assert "volumeMounts" not in edit.after and "volumes" not in edit.after.replace("# volumes follow", "")
    assert edit.warnings == []


# --------------------------------------------------------------------------------------------------
# Framing: what ruamel.yaml does not keep by itself
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "wrap",
    [
        pytest.param(lambda text: "# managed by hand\n---\n" + text, id="leading-comment-and-document-start"),
        pytest.param(lambda text: "\n\n" + text + "...\n# end\n", id="blank-lines-and-document-end"),
        pytest.param(lambda text: text.rstrip("\n"), id="no-final-newline"),
        pytest.param(lambda text: text.replace("\n", "\r\n"), id="crlf"),
    ],
)
def test_document_framing_is_kept(wrap):
    original = wrap(read(NNF))
    assert roundtrip_text(original) == original
    edit = edit_manifest_text(original, args=SEED_ARGS, mounts=SEED_MOUNTS)
    assert edit.after == wrap(read(NNF_PATCHED))
    assert edit_manifest_text(edit.after, **SEED_REMOVAL).after == original


def test_a_file_that_cannot_round_trip_is_refused_only_when_it_needs_an_edit():
    text = pod().replace("  - command:\n    - kube-apiserver\n", "  - command:\n      - kube-apiserver\n")
    text = text.replace("    - --secure-port=6443\n", "      - --secure-port=6443\n")
    text = text.replace("kind: Pod", "kind:   Pod")
    assert not edit_manifest_text(text, args={"secure-port": 6443}).changed
    with pytest.raises(ManifestError, match="would be rewritten") as error:
        edit_manifest_text(text, args={"audit-log-maxsize": 100}, source="/x/kube-apiserver.yaml")
    assert str(error.value).startswith("/x/kube-apiserver.yaml: ")


# --------------------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kwargs", "problem"),
    [
        pytest.param("kind: Pod\nspec: [a\n", {}, "is not valid YAML", id="not-yaml"),
        pytest.param("# note\n---\nkind: Pod\nspec: [a\n", {}, "but got '<stream end>' at line 5", id="line-number"),
        pytest.param("kind: Pod\nkind: Pod\n", {}, 'found duplicate key "kind"', id="duplicate-key"),
        pytest.param("# nothing\n", {}, "is empty", id="empty"),
        pytest.param(pod() + "---\n" + pod(), {}, "contains 2 YAML documents", id="several-documents"),
        pytest.param(pod().replace("kind: Pod", "kind: Deployment"), {}, "kind is 'Deployment'", id="not-pod"),
        pytest.param("- a\n", {}, "not a Pod mapping", id="list"),
        pytest.param(pod(), {"container": "etcd"}, "no container named 'etcd' (containers: kube-apiserver)", id="c"),
        pytest.param(
            pod().replace("  - command:\n    - kube-apiserver\n    - --secure-port=6443\n", "  - image: x\n"),
            {"args": {"a": 1}},
            "has no command list",
            id="no-command",
        ),
        pytest.param(pod().replace("  name: kube-apiserver\n  namespace", "  namespace"), {}, "metadata.name", id="n"),
        pytest.param(pod(), {"args": {"bad name": 1}}, "is not a flag name", id="flag-name"),
        pytest.param(pod(), {"args": {"a": [1, 2]}}, "is a list", id="list-value"),
        pytest.param(pod(), {"args": {"a": "x\ny"}}, "single line", id="multi-line-value"),
        pytest.param(pod(), {"args": {"a-b": 1, "--a_b": 2}}, "name the same flag", id="same-flag-twice"),
        pytest.param(pod(), {"mounts": [{"name": "Bad_Name", "host_path": "/x"}]}, "not a valid volume name", id="m1"),
        pytest.param(pod(), {"mounts": [{"name": "x", "host_path": "relative"}]}, "absolute path", id="m2"),
        pytest.param(pod(), {"mounts": [{"name": "x", "host_path": "/x", "type": "Dir"}]}, "is not one of", id="m3"),
        pytest.param(
            pod(),
            {"mounts": [{"name": "x", "host_path": "/x"}, {"name": "y", "host_path": "/x/"}]},
            "both use mountPath",
            id="m4",
        ),
        pytest.param(
            pod(), {"mounts": [{"name": "x", "host_path": "/x"}, {"name": "x", "host_path": "/y"}]}, "also", id="m5"
        ),
    ],
)
def test_bad_input_fails_naming_the_file_and_the_problem(text, kwargs, problem):
    with pytest.raises(ManifestError) as error:
        edit_manifest_text(text, source="/etc/kubernetes/manifests/kube-apiserver.yaml", **kwargs)
    assert problem in str(error.value)
    if not any(key in kwargs for key in ("args", "mounts")) or "command" in problem:
        assert "/etc/kubernetes/manifests/kube-apiserver.yaml" in str(error.value)


# --------------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------------


def test_an_emitted_manifest_that_does_not_read_back_is_refused(monkeypatch):
    real_dump = _ruamel.dump
    dumps = []

    def corrupting_dump(yaml, document):
        dumps.append(document)
        text = real_dump(yaml, document)
        return text.replace("--audit-log-maxsize=100", "--audit-log-maxsize=1000") if len(dumps) > 1 else text

    monkeypatch.setattr(_ruamel, "dump", corrupting_dump)
    with pytest.raises(ManifestError, match="does not read back as the intended data"):
        edit_manifest_text(read(NNF), args=SEED_ARGS)

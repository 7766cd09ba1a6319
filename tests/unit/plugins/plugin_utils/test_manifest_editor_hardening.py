"""The manifest editor against hostile input: the review's findings (hardening items 2, 4, 5, 6 and 11).

Runs that touch files go through the action plugin's chain (``manifest_chain``: snapshot, plan, compare-and-swap).

The oracle for "what the kubelet reads" is PyYAML (a YAML 1.1 loader independent of the collection) plus the exact
bytes written; go-yaml v2's extra booleans ``y``/``n`` (which PyYAML reads as strings) are checked by the bytes.
"""

import os

import pytest
import yaml as pyyaml
from manifest_chain import apply_manifest_update, restore_manifest
from manifest_fixtures import NNF

from ansible_collections.nnf.kube_audit.plugins.module_utils import _flags
from ansible_collections.nnf.kube_audit.plugins.module_utils._errors import KubeAuditError, ManifestError
from ansible_collections.nnf.kube_audit.plugins.plugin_utils import manifest_editor
from ansible_collections.nnf.kube_audit.plugins.plugin_utils.manifest_editor import edit_manifest_text


def pod(*command, name="kube-apiserver", namespace="kube-system"):
    items = "".join(f"    - {item}\n" for item in (name, *command))
    return (
        f"apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\n  namespace: {namespace}\nspec:\n  containers:\n"
        f"  - command:\n{items}    name: {name}\n"
    )


def command_of(text):
    return pyyaml.safe_load(text)["spec"]["containers"][0]["command"]


# --------------------------------------------------------------------------------------------------
# Item 4: two-item flags whose value starts with "-" (pflag takes the next item whatever it is)
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["-", "-1", "-x", "-=", "-v"])
def test_a_two_item_value_starting_with_a_dash_is_replaced_not_left_behind(value):
    text = pod("--audit-log-path", f"'{value}'" if value in ("-", "-=") else value, "--secure-port=6443")
    edit = edit_manifest_text(text, args={"audit-log-path": "/var/log/kubernetes/audit.log"})
    assert command_of(edit.after) == [
        "kube-apiserver",
        "--audit-log-path",
        "/var/log/kubernetes/audit.log",
        "--secure-port=6443",
    ]
    removed = edit_manifest_text(text, remove_args=["audit-*"])
    assert command_of(removed.after) == ["kube-apiserver", "--secure-port=6443"]
    assert f"removed --audit-log-path {value}" in removed.changes


def test_a_two_item_value_of_a_known_value_flag_is_taken_even_if_it_looks_like_a_flag():
    edit = edit_manifest_text(pod("--audit-log-path", "--secure-port=6443"), remove_args=["audit-*"])
    assert command_of(edit.after) == ["kube-apiserver"]


def test_a_boolean_flag_never_takes_the_next_item():
    edit = edit_manifest_text(pod("--profiling", "--audit-log-path", '"-"'), remove_args=["audit-*"])
    assert command_of(edit.after) == ["kube-apiserver", "--profiling"]


def test_an_unknown_flag_does_not_swallow_a_following_long_flag():
    edit = edit_manifest_text(pod("--some-new-bool", "--audit-log-path=/x/a.log"), remove_args=["audit-*"])
    assert command_of(edit.after) == ["kube-apiserver", "--some-new-bool"]


def test_a_flag_whose_value_is_in_args_is_refused():
    text = pod("--audit-log-path").replace(
        "    name: kube-apiserver\n", "    args:\n    - /x.log\n    name: kube-apiserver\n"
    )
    with pytest.raises(ManifestError, match="passes --audit-log-path in its args list"):
        edit_manifest_text(text, remove_args=["audit-*"])


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        (["kube-apiserver", "--audit-log-path", "-"], [("audit-log-path", "-", 1, 2)]),
        (["kube-apiserver", "--v", "2"], [("v", "2", 1, 2)]),
        (["kube-apiserver", "-v", "2", "-h"], [("v", "2", 1, 2), ("help", None, 3, None)]),
        (["kube-apiserver", "-v3"], [("v", "3", 1, None)]),
        (["kube-apiserver", "--profiling", "false"], [("profiling", None, 1, None)]),
        (["kube-apiserver", "--bind-address", "--x"], [("bind-address", "--x", 1, 2)]),
        (["kube-apiserver", "-", "--a=1", "--", "--b=2"], [("a", "1", 2, None)]),
    ],
)
def test_the_flag_parser_reads_like_pflag(items, expected):
    assert [(f.name, f.value, f.index, f.value_index) for f in _flags.parse(items)] == expected


def test_the_two_item_bind_address_is_read_by_every_user_of_flags():
    assert _flags.value_of(["kube-apiserver", "--bind-address", "10.1.2.3"], "bind-address") == "10.1.2.3"
    assert _flags.value_of(["kube-apiserver", "--bind_address=10.1.2.4"], "bind-address") == "10.1.2.4"


# --------------------------------------------------------------------------------------------------
# Item 5: YAML 1.1 booleans and numbers are quoted; the post-write check reads as the kubelet does
# --------------------------------------------------------------------------------------------------

YAML11_NON_STRINGS = [
    "yes",
    "Yes",
    "on",
    "ON",
    "off",
    "no",
    "NO",
    "y",
    "Y",
    "n",
    "N",
    "true",
    "~",
    "null",
    "0x1F",
    "0755",
]
YAML11_NON_STRINGS += ["1_000", "0b101", "1e3", ".inf", "12345", "1.5", ""]


@pytest.mark.parametrize("value", YAML11_NON_STRINGS)
def test_new_annotation_values_and_keys_are_quoted_for_yaml_1_1(value):
    edit = edit_manifest_text(pod("--secure-port=6443"), annotations={"nnf.example/x": value})
    line = next(line for line in edit.after.splitlines() if "nnf.example/x" in line)
    assert line == f"    nnf.example/x: '{value}'"
    assert pyyaml.safe_load(edit.after)["metadata"]["annotations"] == {"nnf.example/x": value}
    if value:
        keyed = edit_manifest_text(pod("--secure-port=6443"), annotations={value: "v"})
        assert f"    '{value}': v" in keyed.after.splitlines()


@pytest.mark.parametrize("name", ["yes", "on", "off", "no", "y", "n"])
def test_new_volume_names_are_quoted_for_yaml_1_1(name):
    mount = {"name": name, "host_path": "/var/log/kubernetes", "type": "DirectoryOrCreate"}
    edit = edit_manifest_text(pod("--secure-port=6443"), mounts=[mount])
    assert edit.after.count(f"name: '{name}'") == 2  # the volume and its volumeMount
    document = pyyaml.safe_load(edit.after)
    assert document["spec"]["volumes"][0]["name"] == name
    assert document["spec"]["containers"][0]["volumeMounts"][0]["name"] == name


@pytest.mark.parametrize("value", ["on", "n", "yes", "0x10", "true"])
def test_a_replaced_two_item_value_is_quoted_for_yaml_1_1(value):
    edit = edit_manifest_text(pod("--audit-log-format", "json"), args={"audit-log-format": value})
    assert f"    - '{value}'\n" in edit.after
    assert command_of(edit.after)[-1] == value


def test_existing_quoting_and_plain_values_are_kept(monkeypatch):
    text = pod("--audit-log-format", '"json"', "--secure-port=6443")
    edit = edit_manifest_text(text, args={"audit-log-format": "legacy", "secure-port": 6444})
    assert '    - "legacy"\n' in edit.after
    assert "    - --secure-port=6444\n" in edit.after


def test_the_post_write_check_reads_as_the_kubelet_does(monkeypatch):
    """Without the quoting, the check itself must stop an unquoted YAML 1.1 boolean (the kubelet's reading)."""
    monkeypatch.setattr(manifest_editor, "kubelet_safe", lambda value: value)
    with pytest.raises(ManifestError, match=r"the kubelet \(YAML 1.1\) would read metadata.annotations.nnf.example/x"):
        edit_manifest_text(pod("--secure-port=6443"), annotations={"nnf.example/x": "y"})


def test_the_post_write_check_allows_what_the_original_already_had():
    """A hand-written manifest with a YAML 1.1 boolean in a bool field (readOnly: yes) can still be edited."""
    text = pod("--secure-port=6443").replace(
        "    name: kube-apiserver\n",
        "    name: kube-apiserver\n    volumeMounts:\n    - mountPath: /x\n      name: x\n      readOnly: yes\n",
    )
    text += "  volumes:\n  - hostPath:\n      path: /x\n    name: x\n"
    edit = edit_manifest_text(text, args={"audit-log-path": "/var/log/k/audit.log"})
    assert edit.changed


# --------------------------------------------------------------------------------------------------
# Item 2: never add a mount of the host's / (or over the container's /)
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "//", "///", "/./", "/var/..", "/."])
@pytest.mark.parametrize("key", ["host_path", "mount_path"])
def test_a_mount_of_the_root_directory_is_refused(path, key):
    mount = {"name": "k8s-log", "host_path": "/var/log/kubernetes/", "type": "DirectoryOrCreate", key: path}
    with pytest.raises(ManifestError, match=r"mounts\[0\] \(k8s-log\): " + key + " .* is the root directory"):
        edit_manifest_text(pod("--secure-port=6443"), mounts=[mount])


def test_an_existing_root_mount_is_not_our_business():
    text = pod("--secure-port=6443").replace(
        "    name: kube-apiserver\n",
        "    name: kube-apiserver\n    volumeMounts:\n    - mountPath: /host\n      name: host\n",
    )
    text += "  volumes:\n  - hostPath:\n      path: /\n    name: host\n"
    assert edit_manifest_text(text, args={"audit-log-maxage": 30}).changed


def test_a_host_path_that_resolves_to_root_on_the_master_is_refused(tmp_path):
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    (manifests / "kube-apiserver.yaml").write_text(pod("--secure-port=6443"))
    os.symlink("/", tmp_path / "rootlink")
    mount = {"name": "k8s-log", "host_path": str(tmp_path / "rootlink"), "type": "DirectoryOrCreate"}
    with pytest.raises(ManifestError, match="resolves to / on this host"):
        apply_manifest_update(
            path=str(manifests / "kube-apiserver.yaml"), mounts=[mount], backup_dir=str(tmp_path / "b")
        )
    assert (manifests / "kube-apiserver.yaml").read_text() == pod("--secure-port=6443")


# --------------------------------------------------------------------------------------------------
# Item 6: restore_from takes only a manifest of the same pod
# --------------------------------------------------------------------------------------------------


@pytest.fixture
def manifest(tmp_path):
    (tmp_path / "manifests").mkdir()
    path = tmp_path / "manifests" / "kube-apiserver.yaml"
    path.write_text(NNF.read_text())
    return path


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("just some text\n", "is not a static-pod manifest"),
        ("", "is empty"),
        ("a: [\n", "is not valid YAML"),
        ("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n", "kind 'ConfigMap', not 'Pod'"),
        (pod("--x=1", name="etcd"), "has no container named 'kube-apiserver'"),
        (
            pod("--x=1", namespace="default"),
            "defines pod default/kube-apiserver, but .* defines kube-system/kube-apiserver",
        ),
        ("kind: Pod\nmetadata: {}\n", "metadata.name is missing"),
    ],
)
def test_restore_from_refuses_what_is_not_a_manifest_of_the_same_pod(manifest, tmp_path, content, message):
    backup = tmp_path / "backup.yaml"
    backup.write_text(content)
    before = manifest.read_bytes()
    for check_mode in (True, False):
        with pytest.raises(KubeAuditError, match=message):
            restore_manifest(path=str(manifest), backup_file=str(backup), check_mode=check_mode)
    assert manifest.read_bytes() == before


def test_restore_from_puts_a_manifest_of_the_same_pod_back(manifest, tmp_path):
    backup = tmp_path / "backup.yaml"
    backup.write_text(NNF.read_text())
    manifest.write_text(NNF.read_text().replace("--secure-port=6443", "--secure-port=6444"))
    assert restore_manifest(path=str(manifest), backup_file=str(backup))["changed"]
    assert manifest.read_text() == NNF.read_text()


def test_restore_from_repairs_a_manifest_that_no_longer_parses(manifest, tmp_path):
    backup = tmp_path / "backup.yaml"
    backup.write_text(NNF.read_text())
    manifest.write_text("garbage: [\n")
    assert restore_manifest(path=str(manifest), backup_file=str(backup))["changed"]
    assert manifest.read_text() == NNF.read_text()


# --------------------------------------------------------------------------------------------------
# Item 11: messages say what is wrong and where
# --------------------------------------------------------------------------------------------------


def test_mixed_line_endings_are_named_as_such():
    text = pod("--secure-port=6443").replace("kind: Pod\n", "kind: Pod\r\n")
    with pytest.raises(ManifestError) as error:
        edit_manifest_text(text, args={"audit-log-maxage": 30})
    assert "line 2 ends with CRLF but would end with LF (the file mixes CRLF and LF line endings)" in str(error.value)
    assert "line count would change" not in str(error.value)


def test_a_backup_dir_under_a_file_fails_in_check_mode_naming_it(manifest, tmp_path):
    (tmp_path / "notadir").write_text("x")
    for check_mode in (True, False):
        with pytest.raises(
            KubeAuditError, match=f"backup_dir {tmp_path}/notadir/b cannot be created: .*notadir is not a"
        ):
            apply_manifest_update(
                path=str(manifest),
                args={"audit-log-maxage": 30},
                backup=True,
                backup_dir=str(tmp_path / "notadir" / "b"),
                check_mode=check_mode,
            )
    assert manifest.read_text() == NNF.read_text()

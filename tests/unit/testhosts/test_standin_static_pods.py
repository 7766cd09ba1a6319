"""kubelet stand-in: which manifest files count, which one wins, when a pod is new, and hostPath volume checks."""

import glob
import os
import stat

import pytest
import testhosts
from standin import static_pods

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "manifests")


def fixture(name, address="127.0.10.1"):
    with open(os.path.join(FIXTURES, name), encoding="utf-8") as handle:
        return testhosts.localize_manifest(handle.read(), address)


APISERVER = fixture("kube-apiserver-v1.29.3-rhel-nnf-shape.yaml")


@pytest.mark.parametrize("path", sorted(glob.glob(os.path.join(FIXTURES, "*.yaml"))))
def test_every_fixture_is_a_valid_static_pod(path):
    pod = static_pods.parse_pod(fixture(os.path.basename(path)), path)
    assert pod_key_of(pod) in ("kube-system/kube-apiserver", "kube-system/etcd", "kube-system/kube-scheduler")


def pod_key_of(pod):
    return static_pods.pod_key(pod)


def test_manifest_files_are_every_regular_file_not_starting_with_a_dot_sorted(tmp_path):
    for name in ("b.yaml", "a.yaml.bak", ".a.yaml.swp", "c~", "notes.txt"):
        (tmp_path / name).write_text("x")
    (tmp_path / "subdir").mkdir()
    (tmp_path / "subdir" / "d.yaml").write_text("x")
    (tmp_path / "link.yaml").symlink_to(tmp_path / "b.yaml")
    (tmp_path / "dangling.yaml").symlink_to(tmp_path / "missing.yaml")
    names = [os.path.basename(path) for path in static_pods.list_manifest_files(str(tmp_path))]
    assert names == ["a.yaml.bak", "b.yaml", "c~", "link.yaml", "notes.txt"]


def test_a_missing_manifests_directory_holds_no_pods(tmp_path):
    assert static_pods.list_manifest_files(str(tmp_path / "nothing")) == []


def test_when_two_files_define_the_same_pod_the_one_sorted_last_wins(tmp_path):
    for name in ("kube-apiserver.yaml", "kube-apiserver.yaml-orig", "kube-apiserver.yaml.bak"):
        (tmp_path / name).write_text(APISERVER)
    (tmp_path / "etcd.yaml").write_text(fixture("etcd-v3.5.10.yaml"))
    pods, errors = static_pods.effective_pods(str(tmp_path))
    assert errors == {}
    assert pods["kube-system/kube-apiserver"].source == str(tmp_path / "kube-apiserver.yaml.bak")
    assert pods["kube-system/etcd"].source == str(tmp_path / "etcd.yaml")


def test_a_file_that_is_no_valid_pod_is_skipped_with_an_error(tmp_path):
    (tmp_path / "kube-apiserver.yaml").write_text(APISERVER)
    (tmp_path / "notes.txt").write_text("remember to restart\n")
    (tmp_path / "broken.yaml").write_text("kind: Pod\napiVersion: v1\nmetadata: [\n")
    pods, errors = static_pods.effective_pods(str(tmp_path))
    assert list(pods) == ["kube-system/kube-apiserver"]
    assert set(errors) == {str(tmp_path / "notes.txt"), str(tmp_path / "broken.yaml")}
    assert "couldn't parse as pod" in errors[str(tmp_path / "broken.yaml")]


def test_validation_catches_what_the_kubelet_rejects():
    text = APISERVER.replace("      name: etc-pki\n      readOnly: true\n", "      name: nope\n      readOnly: true\n")
    text = text.replace("      type: DirectoryOrCreate\n    name: k8s-certs", "      type: Dir\n    name: ca-certs")
    with pytest.raises(static_pods.ManifestError) as caught:
        static_pods.parse_pod(text, "kube-apiserver.yaml")
    message = str(caught.value)
    assert message.startswith("invalid pod: [")
    assert 'spec.volumes[2].name: Duplicate value: "ca-certs"' in message
    assert 'spec.volumes[2].hostPath.type: Unsupported value: "Dir"' in message
    assert 'spec.containers[0].volumeMounts[1].name: Not found: "nope"' in message


def test_a_repeated_mount_path_is_invalid():
    text = APISERVER.replace("- mountPath: /etc/pki\n", "- mountPath: /etc/ssl/certs\n")
    with pytest.raises(static_pods.ManifestError, match=r'mountPath: Invalid value: "/etc/ssl/certs": must be unique'):
        static_pods.parse_pod(text, "kube-apiserver.yaml")


def uid(text, source="/etc/kubernetes/manifests/kube-apiserver.yaml", node="master-1"):
    return static_pods.pod_uid(static_pods.parse_pod(text, source), source, node)


def test_the_pod_identity_ignores_formatting_and_comments():
    reformatted = "# edited by hand\n" + APISERVER.replace("  - command:\n", "  - command:   # the flags\n")
    assert uid(reformatted) == uid(APISERVER)
    assert len(uid(APISERVER)) == 32


@pytest.mark.parametrize(
    "change",
    [
        ("--secure-port=6443", "--secure-port=6444"),
        ("  creationTimestamp: null\n", "  creationTimestamp: null\n  labels2: {}\n"),
        (
            "    kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint",
            "    kube-audit.nnf/checksum: abc\n    kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint",
        ),
    ],
)
def test_any_change_to_the_parsed_pod_makes_a_new_pod(change):
    changed = APISERVER.replace(*change)
    assert changed != APISERVER
    assert uid(changed) != uid(APISERVER)


def test_the_winning_file_and_the_node_are_part_of_the_identity():
    assert uid(APISERVER, source="/etc/kubernetes/manifests/kube-apiserver.yaml.bak") != uid(APISERVER)
    assert uid(APISERVER, node="master-2") != uid(APISERVER)


def test_container_argv_and_probe_come_from_the_manifest():
    pod = static_pods.parse_pod(APISERVER, "m")
    container = static_pods.find_container(pod)
    argv = static_pods.container_argv(container)
    assert argv[0] == "kube-apiserver" and "--advertise-address=127.0.10.1" in argv
    assert static_pods.probe_endpoint(container, "127.0.10.9") == ("HTTPS", "127.0.10.1", 6443, "/readyz")


def test_probe_host_defaults_to_the_node_address():
    without_host = APISERVER.replace("        host: 127.0.10.1\n        path: /readyz", "        path: /readyz")
    pod = static_pods.parse_pod(without_host, "m")
    assert static_pods.probe_endpoint(static_pods.find_container(pod), "127.0.10.9")[1] == "127.0.10.9"


# --------------------------------------------------------------------------------------------------- mounts


MOUNTS = [
    static_pods.Mount("k8s-certs", "/etc/kubernetes/pki", "/etc/kubernetes/pki", "DirectoryOrCreate", True),
    static_pods.Mount("k8s-policies", "/etc/kubernetes/policies/audit-policy.yaml", "/srv/policy.yaml", "File", True),
    static_pods.Mount("k8s-log", "/var/log/kubernetes", "/data/logs", "DirectoryOrCreate", False),
]


@pytest.mark.parametrize(
    ("path", "volume", "host"),
    [
        ("/etc/kubernetes/policies/audit-policy.yaml", "k8s-policies", "/srv/policy.yaml"),
        ("/var/log/kubernetes/audit.log", "k8s-log", "/data/logs/audit.log"),
        ("/var/log/kubernetes/", "k8s-log", "/data/logs"),
        ("/etc/kubernetes/pki/ca.crt", "k8s-certs", "/etc/kubernetes/pki/ca.crt"),
        ("/etc/kubernetes/policies/other.yaml", None, None),
        ("/var/log/kubernetes-audit.log", None, None),
    ],
)
def test_a_container_path_is_seen_through_the_deepest_mount_containing_it(path, volume, host):
    mount = static_pods.covering_mount(MOUNTS, path)
    assert (mount.volume if mount else None) == volume
    assert (static_pods.host_side(mount, path) if mount else None) == host


def test_mounts_of_the_seed_documents_shape_keep_a_trailing_slash_mount_path_working():
    text = APISERVER.replace(
        "    - mountPath: /etc/kubernetes/pki\n",
        "    - mountPath: /var/log/kubernetes/\n      name: k8s-log\n    - mountPath: /etc/kubernetes/pki\n",
    ).replace("  volumes:\n", "  volumes:\n  - hostPath:\n      path: /var/log/kubernetes/\n    name: k8s-log\n")
    pod = static_pods.parse_pod(text, "m")
    mounts = static_pods.container_mounts(pod, static_pods.find_container(pod))
    log = static_pods.covering_mount(mounts, "/var/log/kubernetes/kube-apiserver-audit.log")
    assert (log.volume, log.mount_path, log.host_path) == ("k8s-log", "/var/log/kubernetes", "/var/log/kubernetes")
    assert log.read_only is False


def test_file_must_exist_as_a_file(tmp_path):
    missing = tmp_path / "audit-policy.yaml"
    assert static_pods.check_host_path(str(missing), "File") == f"hostPath type check failed: {missing} is not a file"
    missing.mkdir()
    assert static_pods.check_host_path(str(missing), "File") == f"hostPath type check failed: {missing} is not a file"


def test_directory_must_exist_as_a_directory(tmp_path):
    (tmp_path / "f").write_text("")
    expected = f"hostPath type check failed: {tmp_path / 'f'} is not a directory"
    assert static_pods.check_host_path(str(tmp_path / "f"), "Directory") == expected
    assert static_pods.check_host_path(str(tmp_path / "f"), "DirectoryOrCreate") == expected


def test_directory_or_create_makes_the_directory_0755(tmp_path):
    target = tmp_path / "var" / "log" / "kubernetes"
    assert static_pods.check_host_path(str(target), "DirectoryOrCreate") is None
    assert stat.S_IMODE(target.stat().st_mode) == 0o755


def test_file_or_create_makes_an_empty_file_but_no_parent(tmp_path):
    assert static_pods.check_host_path(str(tmp_path / "scheduler.conf"), "FileOrCreate") is None
    assert (tmp_path / "scheduler.conf").read_text() == ""
    error = static_pods.check_host_path(str(tmp_path / "no" / "scheduler.conf"), "FileOrCreate")
    assert error == f"open {tmp_path / 'no' / 'scheduler.conf'}: no such file or directory"


def test_nothing_is_created_outside_where_creating_is_allowed(tmp_path):
    error = static_pods.check_host_path(str(tmp_path / "d"), "DirectoryOrCreate", may_create=lambda path: False)
    assert "refuses to create" in error
    assert not (tmp_path / "d").exists()


def test_no_type_means_no_check_and_an_unknown_type_is_reported(tmp_path):
    assert static_pods.check_host_path(str(tmp_path / "anything"), "") is None
    assert static_pods.check_host_path(str(tmp_path), "Dir") == "Dir is an invalid volume type"


def test_mount_volumes_reports_every_failing_volume_in_order(tmp_path):
    text = fixture("kube-apiserver-v1.29.3-rhel-nnf-shape.seed-patched.yaml")
    pod = static_pods.parse_pod(text, "m")
    for volume in pod["spec"]["volumes"]:
        volume["hostPath"]["path"] = str(tmp_path) + volume["hostPath"]["path"]
    failures = static_pods.mount_volumes(pod, may_create=lambda path: True)
    assert failures == [
        (
            "k8s-policies",
            f"hostPath type check failed: {tmp_path}/etc/kubernetes/policies/audit-policy.yaml is not a file",
        )
    ]
    assert (tmp_path / "var" / "log" / "kubernetes").is_dir()

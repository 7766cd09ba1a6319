"""audit_files: planning and making the policy file and the log directory, on a temporary tree."""

import os
import stat

import pytest

from ansible_collections.nnf.kube_audit.plugins.module_utils import audit_files
from ansible_collections.nnf.kube_audit.plugins.module_utils._errors import KubeAuditError

POLICY = b"apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n"
NEWER = POLICY + "- level: None  # caf\u00e9\n".encode()

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the files are made root-owned")


def mode_of(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_a_missing_policy_is_created_in_a_private_directory(tmp_path):
    path = str(tmp_path / "policies" / "audit-policy.yaml")
    plan = audit_files.plan_policy(path, POLICY)
    assert plan["changes"] == ["create"]
    assert plan["existed"] is False
    assert plan["after"] == POLICY.decode()
    assert not os.path.exists(os.path.dirname(path))  # planning touches nothing

    assert audit_files.apply_policy(plan, POLICY, str(tmp_path / "backup")) is None

    with open(path, "rb") as handle:
        assert handle.read() == POLICY
    assert mode_of(path) == 0o600
    assert mode_of(os.path.dirname(path)) == 0o700
    assert (os.stat(path).st_uid, os.stat(path).st_gid) == (0, 0)
    assert os.listdir(os.path.dirname(path)) == ["audit-policy.yaml"]  # no temporary file left
    assert not os.path.exists(str(tmp_path / "backup"))
    assert audit_files.plan_policy(path, POLICY)["changes"] == []


def test_an_existing_policy_directory_keeps_its_mode(tmp_path):
    directory = tmp_path / "kubernetes"
    directory.mkdir(mode=0o755)
    os.chmod(str(directory), 0o755)
    path = str(directory / "audit-policy.yaml")
    audit_files.apply_policy(audit_files.plan_policy(path, POLICY), POLICY)
    assert mode_of(str(directory)) == 0o755


def test_new_content_is_installed_after_a_backup_of_the_old(tmp_path):
    path = tmp_path / "audit-policy.yaml"
    path.write_bytes(POLICY)
    os.chmod(str(path), 0o640)
    backup_dir = tmp_path / "backup"

    plan = audit_files.plan_policy(str(path), NEWER)
    assert plan["changes"] == ["content", "mode 0640 -> 0600"]
    assert plan["before"] == POLICY.decode() and plan["after"] == NEWER.decode()
    assert plan["checksum"] == audit_files.sha256_hex(NEWER)
    backup = audit_files.apply_policy(plan, NEWER, str(backup_dir))

    assert path.read_bytes() == NEWER
    assert mode_of(str(path)) == 0o600
    assert os.path.dirname(backup) == str(backup_dir)
    assert os.path.basename(backup).startswith("audit-policy.yaml.")
    with open(backup, "rb") as handle:
        assert handle.read() == POLICY
    assert mode_of(backup) == 0o640  # the previous file as it was, to be put back byte for byte
    assert mode_of(str(backup_dir)) == 0o700


def test_owner_and_mode_are_fixed_in_place_without_a_backup(tmp_path):
    path = tmp_path / "audit-policy.yaml"
    path.write_bytes(POLICY)
    os.chmod(str(path), 0o644)
    os.chown(str(path), 1000, 1000)
    inode = os.stat(str(path)).st_ino

    plan = audit_files.plan_policy(str(path), POLICY)
    assert plan["changes"] == ["mode 0644 -> 0600", "owner 1000:1000 -> 0:0"]
    assert plan["before_attributes"] == "file, mode 0644, owner 1000:1000\n"
    assert audit_files.apply_policy(plan, POLICY, str(tmp_path / "backup")) is None

    info = os.stat(str(path))
    assert (stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid, info.st_ino) == (0o600, 0, 0, inode)
    assert not (tmp_path / "backup").exists()


def test_absent_removes_the_policy_after_a_backup(tmp_path):
    path = tmp_path / "audit-policy.yaml"
    path.write_bytes(POLICY)
    plan = audit_files.plan_policy(str(path), None, "absent")
    assert plan["changes"] == ["remove"]
    assert plan["checksum"] is None
    backup = audit_files.apply_policy(plan, None, str(tmp_path / "backup"))
    assert not path.exists()
    with open(backup, "rb") as handle:
        assert handle.read() == POLICY
    assert audit_files.plan_policy(str(path), None, "absent")["changes"] == []


@pytest.mark.parametrize("kind", ["symlink", "directory"])
def test_a_policy_path_that_is_no_regular_file_is_refused(tmp_path, kind):
    path = tmp_path / "audit-policy.yaml"
    if kind == "symlink":
        (tmp_path / "elsewhere.yaml").write_bytes(POLICY)
        path.symlink_to(tmp_path / "elsewhere.yaml")
    else:
        path.mkdir()
    with pytest.raises(audit_files.AuditFilesError, match="not a regular file"):
        audit_files.plan_policy(str(path), NEWER)


def test_relative_paths_are_refused():
    with pytest.raises(audit_files.AuditFilesError, match=r"policy_path policies/audit-policy\.yaml is not"):
        audit_files.plan_policy("policies/audit-policy.yaml", POLICY)
    with pytest.raises(audit_files.AuditFilesError, match="log_dir var/log/kubernetes is not an absolute path"):
        audit_files.plan_directory("var/log/kubernetes")


def test_the_log_directory_is_created_and_kept_private(tmp_path):
    path = str(tmp_path / "log" / "kubernetes")
    plan = audit_files.plan_directory(path)
    assert plan["changes"] == ["create"]
    assert plan["before_attributes"] == "(absent)\n"
    assert plan["after_attributes"] == "directory, mode 0700, owner 0:0\n"
    audit_files.apply_directory(plan)
    assert mode_of(path) == 0o700
    assert audit_files.plan_directory(path)["changes"] == []

    os.chmod(path, 0o755)  # what the kubelet's DirectoryOrCreate would have made
    plan = audit_files.plan_directory(path)
    assert plan["changes"] == ["mode 0755 -> 0700"]
    audit_files.apply_directory(plan)
    assert mode_of(path) == 0o700


@pytest.mark.parametrize("path", ["/var/log", "/var/log/", "/etc/kubernetes", "/etc//kubernetes/manifests", "/tmp"])
def test_shared_system_directories_are_refused(path):
    with pytest.raises(audit_files.AuditFilesError, match="shared system directory"):
        audit_files.plan_directory(path)


def test_a_file_where_the_log_directory_belongs_is_refused(tmp_path):
    (tmp_path / "kubernetes").write_text("not a directory")
    with pytest.raises(KubeAuditError, match="not a directory"):
        audit_files.plan_directory(str(tmp_path / "kubernetes"))


# Hardening item 3: the guards compare real paths on the master, and the module is safe without the role.


@pytest.mark.parametrize(
    "spelling", ["//var/log", "/var//log", "/var/log/.", "/var/./log/", "/var/log/kubernetes/..", "///var"]
)
def test_shared_directories_are_refused_however_they_are_spelled(spelling):
    with pytest.raises(audit_files.AuditFilesError, match=r"shared system directory"):
        audit_files.plan_directory(spelling)


def test_a_path_through_a_symlink_to_a_shared_directory_is_refused(tmp_path):
    os.symlink("/var", tmp_path / "varlink")
    with pytest.raises(audit_files.AuditFilesError, match=f"log_dir {tmp_path}/varlink/log .resolves to /var/log."):
        audit_files.plan_directory(str(tmp_path / "varlink" / "log"))


@pytest.mark.parametrize(
    "spelling", ["{m}/audit.yaml", "{m}/./audit.yaml", "{k}//manifests/audit.yaml", "{link}/a.yaml"]
)
def test_a_policy_in_the_manifests_directory_is_refused_however_it_is_spelled(tmp_path, spelling):
    manifests = tmp_path / "kubernetes" / "manifests"
    manifests.mkdir(parents=True)
    os.symlink(manifests, tmp_path / "link")
    path = spelling.format(m=manifests, k=manifests.parent, link=tmp_path / "link")
    with pytest.raises(KubeAuditError, match=r"policy_path .* is inside the manifests directory"):
        audit_files.plan_policy(path, POLICY, manifests_dir=str(manifests))
    with pytest.raises(KubeAuditError, match=r"log_dir .* is inside the manifests directory"):
        audit_files.plan_directory(os.path.dirname(path), manifests_dir=str(manifests))
    assert os.listdir(manifests) == []

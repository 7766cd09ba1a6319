"""audit_files as Ansible runs it: check mode and diff, the change, the rerun that changes nothing."""

import os
import stat

import module_runner
import pytest

POLICY = "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n"

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the files are made root-owned")


def run(tmp_path, **params):
    return module_runner.run_module("audit_files", tmp_path, **params)


def test_check_mode_shows_the_change_and_makes_none(tmp_path):
    policy, log_dir = tmp_path / "policies" / "audit-policy.yaml", tmp_path / "log" / "kubernetes"

    result = run(
        tmp_path, check_mode=True, diff=True, policy_path=str(policy), policy_content=POLICY, log_dir=str(log_dir)
    )

    assert result["changed"] is True
    assert result["policy"]["changes"] == ["create"]
    assert result["log_dir"]["changes"] == ["create"]
    assert [entry["after_header"] for entry in result["diff"]] == [str(policy), str(log_dir)]
    assert result["diff"][0]["after"] == POLICY
    assert result["diff"][1] == {
        "before_header": str(log_dir),
        "after_header": str(log_dir),
        "before": "(absent)\n",
        "after": "directory, mode 0700, owner 0:0\n",
    }
    assert sorted(os.listdir(tmp_path)) == ["audit_files-args.json"]


def test_install_then_rerun_changes_nothing(tmp_path):
    policy, log_dir = tmp_path / "policies" / "audit-policy.yaml", tmp_path / "kubernetes"
    params = dict(policy_path=str(policy), policy_content=POLICY, log_dir=str(log_dir), backup=True)
    params["backup_dir"] = str(tmp_path / "backup")

    first = run(tmp_path, **params)
    again = run(tmp_path, diff=True, **params)

    assert first["changed"] is True and first["policy"]["backup_file"] is None
    assert policy.read_text() == POLICY
    assert stat.S_IMODE(log_dir.stat().st_mode) == 0o700
    assert again["changed"] is False
    assert "diff" not in again
    assert again["policy"]["changes"] == [] and again["log_dir"]["changes"] == []


def test_replacing_returns_the_backup_and_absent_removes(tmp_path):
    policy = tmp_path / "audit-policy.yaml"
    policy.write_text("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules: []\n")
    os.chmod(str(policy), 0o600)
    backup_dir = str(tmp_path / "backup")

    replaced = run(tmp_path, policy_path=str(policy), policy_content=POLICY, backup=True, backup_dir=backup_dir)
    removed = run(tmp_path, policy_path=str(policy), policy_state="absent", backup=True, backup_dir=backup_dir)

    assert replaced["policy"]["changes"] == ["content"]
    with open(replaced["policy"]["backup_file"]) as handle:
        assert handle.read().endswith("rules: []\n")
    assert removed["changed"] is True and not policy.exists()
    with open(removed["policy"]["backup_file"]) as handle:
        assert handle.read() == POLICY


def test_bad_requests_fail_before_changing_anything(tmp_path):
    missing_content = run(tmp_path, policy_path=str(tmp_path / "audit-policy.yaml"))
    assert missing_content["failed"] is True
    assert "policy_content is required" in missing_content["msg"]
    shared = run(tmp_path, policy_path=str(tmp_path / "p.yaml"), policy_content=POLICY, log_dir="/var/log")
    assert shared["failed"] is True
    assert "shared system directory" in shared["msg"]
    assert not (tmp_path / "p.yaml").exists()
    neither = run(tmp_path, backup=True)
    assert "one of the following is required: policy_path, log_dir" in neither["msg"]

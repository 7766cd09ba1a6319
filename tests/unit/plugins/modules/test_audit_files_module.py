"""audit_files as Ansible runs it: check mode and diff, the change, the rerun that changes nothing."""

import base64
import hashlib
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
    assert (
        missing_content["msg"]
        == "policy_content, policy_content_base64 or policy_restore_from is required to install the policy file"
    )
    shared = run(tmp_path, policy_path=str(tmp_path / "p.yaml"), policy_content=POLICY, log_dir="/var/log")
    assert shared["failed"] is True
    assert "shared system directory" in shared["msg"]
    assert not (tmp_path / "p.yaml").exists()
    neither = run(tmp_path, backup=True)
    assert "one of the following is required: policy_path, webhook_config_path, log_dir" in neither["msg"]


# --- policy_content_base64: the bytes audit_policy checked, whatever their encoding -------------------

UTF16_POLICY = (
    b"\xff\xfe"
    + 'apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n  users: ["jos\u00e9"]\n'.encode(
        "utf-16-le"
    )
)


def test_base64_content_is_installed_byte_for_byte_and_shown_as_text(tmp_path):
    policy = tmp_path / "policies" / "audit-policy.yaml"
    params = dict(policy_path=str(policy), policy_content_base64=base64.b64encode(UTF16_POLICY).decode())

    planned = run(tmp_path, check_mode=True, diff=True, **params)
    first = run(tmp_path, **params)
    again = run(tmp_path, **params)

    assert planned["diff"][0]["after"] == UTF16_POLICY.decode("utf-16-le")  # text, not UTF-8-decoded UTF-16
    assert "jos\u00e9" in planned["diff"][0]["after"]
    assert first["changed"] is True
    assert policy.read_bytes() == UTF16_POLICY
    assert first["policy"]["checksum"] == hashlib.sha256(UTF16_POLICY).hexdigest()
    assert again["changed"] is False


def test_base64_content_replacing_a_policy_shows_both_as_text(tmp_path):
    policy = tmp_path / "audit-policy.yaml"
    policy.write_bytes(UTF16_POLICY)
    os.chmod(str(policy), 0o600)
    wanted = b"\xfe\xff" + POLICY.encode("utf-16-be")

    result = run(tmp_path, diff=True, policy_path=str(policy), policy_content_base64=base64.b64encode(wanted).decode())

    assert result["policy"]["changes"] == ["content"]
    assert result["diff"][0]["before"] == UTF16_POLICY.decode("utf-16-le")
    assert result["diff"][0]["after"] == wanted.decode("utf-16-be")
    assert policy.read_bytes() == wanted


def test_base64_accepts_line_breaks_and_utf8(tmp_path):
    policy = tmp_path / "audit-policy.yaml"
    wrapped = base64.encodebytes(POLICY.encode()).decode()  # 76 characters a line, as base64(1) writes it
    assert "\n" in wrapped.strip()
    result = run(tmp_path, policy_path=str(policy), policy_content_base64=wrapped)
    assert not result.get("failed"), result
    assert policy.read_text() == POLICY


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("not base64!", "the character '!'; only A-Z, a-z, 0-9, + and /, with at most two = at the end, are base64"),
        ("\u00e9t\u00e9", "the character '\u00e9'; only A-Z, a-z, 0-9, + and /, with at most two = at the end, are"),
        ("YW==YWJj", "padding (=) before the end"),
        ("YWJj====", "more than two = at the end"),
        ("YWJj=", "its length, 5 characters without line breaks, is not a multiple of 4"),
        ("YWJjZA", "its length, 6 characters without line breaks, is not a multiple of 4"),
    ],
    ids=["alphabet", "non-ascii", "inner-padding", "long-padding", "extra-padding", "no-padding"],
)
def test_invalid_base64_fails_naming_the_option(tmp_path, value, problem):
    policy = tmp_path / "audit-policy.yaml"
    result = run(tmp_path, check_mode=True, policy_path=str(policy), policy_content_base64=value)
    assert result["failed"] is True
    assert result["msg"].startswith("policy_content_base64 is not valid base64: " + problem)
    assert "exception" not in result
    result = run(tmp_path, policy_path=str(policy), policy_content_base64=value)
    assert result["failed"] is True
    assert not policy.exists()


def test_policy_content_and_base64_are_mutually_exclusive(tmp_path):
    result = run(
        tmp_path,
        policy_path=str(tmp_path / "p.yaml"),
        policy_content=POLICY,
        policy_content_base64=base64.b64encode(POLICY.encode()).decode(),
    )
    assert result["failed"] is True
    assert (
        result["msg"] == "parameters are mutually exclusive: policy_content|policy_content_base64|policy_restore_from"
    )


# Hardening: the module guards itself (item 3) and the rollback puts a policy back through it (item 1).


def test_a_policy_or_log_dir_in_the_manifests_directory_is_refused_without_the_role(tmp_path):
    manifests = tmp_path / "kubernetes" / "manifests"
    manifests.mkdir(parents=True)
    for policy_path in (f"{manifests}/./audit.yaml", f"{tmp_path}/kubernetes//manifests/audit.yaml"):
        result = run(tmp_path, policy_path=policy_path, policy_content=POLICY, manifests_dir=str(manifests))
        assert result["failed"] is True
        assert "is inside the manifests directory" in result["msg"] and "exception" not in result
    result = run(tmp_path, log_dir=f"{manifests}/.", manifests_dir=str(manifests))
    assert result["failed"] is True and "log_dir" in result["msg"]
    assert os.listdir(manifests) == []


def test_a_shared_directory_spelled_oddly_is_not_made_private(tmp_path):
    before = stat.S_IMODE(os.stat("/var/log").st_mode)
    result = run(tmp_path, log_dir="//var/log")
    assert result["failed"] is True
    assert (
        result["msg"] == "log_dir //var/log (resolves to /var/log) is a shared system directory: the audit log "
        "needs a directory of its own (its mode is set to 0700)"
    )
    assert stat.S_IMODE(os.stat("/var/log").st_mode) == before


def test_policy_restore_from_puts_the_backup_back_byte_for_byte(tmp_path):
    policy, backup = tmp_path / "policies" / "audit-policy.yaml", tmp_path / "backup" / "audit-policy.yaml.1"
    backup.parent.mkdir()
    old = "\ufeffapiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: None\n".encode("utf-16-le")
    backup.write_bytes(old)
    run(tmp_path, policy_path=str(policy), policy_content=POLICY)
    result = run(tmp_path, policy_path=str(policy), policy_restore_from=str(backup))
    assert result["changed"] is True
    assert policy.read_bytes() == old
    assert result["policy"]["checksum"] == hashlib.sha256(old).hexdigest()
    assert sorted(os.listdir(policy.parent)) == ["audit-policy.yaml"]
    missing = run(tmp_path, policy_path=str(policy), policy_restore_from=str(tmp_path / "nope"))
    assert missing["failed"] is True and missing["msg"] == f"policy_restore_from {tmp_path}/nope does not exist"

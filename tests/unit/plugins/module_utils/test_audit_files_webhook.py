"""audit_files.run() with the webhook kubeconfig: installed 0600 like the policy, never returned, shown redacted.

The options go through the module's own argument spec (``ArgumentSpecValidator``), as the module and manifest_io
check them. Files are made owned by whoever runs the tests: ``ROOT_UID`` and ``ROOT_GID`` are that user's.
"""

import hashlib
import json
import os
import stat

import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from webhook_pki import b64 as _b64

from ansible_collections.nnf.kube_audit.plugins.module_utils import _redact, audit_files
from ansible_collections.nnf.kube_audit.plugins.module_utils._errors import KubeAuditError

POLICY = b"apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n"


def kubeconfig(key_name):
    """A kubeconfig laid out as _webhook_config.build_kubeconfig lays it out; the key's base64 is the secret."""
    key = f"-----BEGIN PRIVATE KEY-----\n{key_name}-key-material\n-----END PRIVATE KEY-----\n".encode("ascii")
    cert = b"-----BEGIN CERTIFICATE-----\nclient-certificate\n-----END CERTIFICATE-----\n"
    ca = b"-----BEGIN CERTIFICATE-----\nwebhook-ca\n-----END CERTIFICATE-----\n"
    text = (
        "apiVersion: v1\n"
        "clusters:\n"
        "- cluster:\n"
        f"    certificate-authority-data: {_b64(ca)}\n"
        "    server: https://audit.example:8443/events\n"
        "  name: audit-webhook\n"
        "contexts:\n"
        "- context:\n"
        "    cluster: audit-webhook\n"
        "    user: audit-webhook\n"
        "  name: audit-webhook\n"
        "current-context: audit-webhook\n"
        "kind: Config\n"
        "users:\n"
        "- name: audit-webhook\n"
        "  user:\n"
        f"    client-certificate-data: {_b64(cert)}\n"
        f"    client-key-data: {_b64(key)}\n"
    )
    return text.encode("ascii"), _b64(key), _b64(cert)


CONFIG, KEY_B64, CERT_B64 = kubeconfig("first")
NEWER, NEWER_KEY_B64, _cert = kubeconfig("second")
TOKEN_CONFIG = CONFIG.replace(f"    client-key-data: {KEY_B64}\n".encode(), b'    token: "s3cr3t.token"\n')


@pytest.fixture(autouse=True)
def owner(monkeypatch):
    """Root's files are the test user's (root when run as root)."""
    monkeypatch.setattr(audit_files, "ROOT_UID", os.getuid())
    monkeypatch.setattr(audit_files, "ROOT_GID", os.getgid())
    return os.getuid(), os.getgid()


@pytest.fixture
def node(tmp_path):
    root = tmp_path / "node"
    (root / "manifests").mkdir(parents=True)
    return root


def params(node, **options):
    options.setdefault("backup_dir", str(node / "backup"))
    options.setdefault("manifests_dir", str(node / "manifests"))
    validated = ArgumentSpecValidator(audit_files.ARGUMENT_SPEC, **audit_files.ARGUMENT_RULES).validate(options)
    assert not validated.error_messages, validated.error_messages
    return validated.validated_parameters


def webhook_params(node, content=CONFIG, **options):
    options.setdefault("webhook_config_path", str(node / "etc" / "audit-webhook.conf"))
    if content is not None:
        options.setdefault("webhook_config_content_base64", _b64(content))
    return params(node, **options)


def mode_of(path):
    return stat.S_IMODE(os.lstat(str(path)).st_mode)


def tree(directory):
    """Names, bytes and modes of everything below ``directory``."""
    state = {}
    for root, dirs, files in os.walk(directory):
        for name in dirs + files:
            path = os.path.join(root, name)
            info = os.lstat(path)
            content = open(path, "rb").read() if stat.S_ISREG(info.st_mode) else None  # noqa: SIM115
            state[os.path.relpath(path, directory)] = (content, info.st_mode, info.st_mtime_ns)
    return state


def assert_no_secret(result, *secrets):
    dumped = json.dumps(result)
    for secret in secrets:
        assert secret not in dumped
        assert secret[:24] not in dumped and secret[-24:] not in dumped


# --------------------------------------------------------------------------------------------------
# install, rerun, replace, remove, restore
# --------------------------------------------------------------------------------------------------


def test_the_webhook_kubeconfig_is_created_0600_and_never_returned(node, owner):
    path = node / "etc" / "audit-webhook.conf"

    result = audit_files.run(webhook_params(node), check_mode=False, diff=True)

    assert result["changed"] is True
    assert set(result) == {"changed", "diff", "webhook_config"}
    assert result["webhook_config"] == {
        "path": str(path),
        "state": "present",
        "existed": False,
        "changes": ["create"],
        "checksum": hashlib.sha256(CONFIG).hexdigest(),
        "backup_file": None,
    }
    assert path.read_bytes() == CONFIG
    assert mode_of(path) == 0o600
    assert mode_of(path.parent) == 0o700
    assert (path.stat().st_uid, path.stat().st_gid) == owner
    assert os.listdir(str(path.parent)) == ["audit-webhook.conf"]  # no temporary file left
    assert result["diff"] == [
        {
            "before_header": str(path),
            "after_header": str(path),
            "before": "",
            "after": CONFIG.decode().replace(KEY_B64, "REDACTED"),
        }
    ]
    assert "    client-key-data: REDACTED\n" in result["diff"][0]["after"]
    assert f"    client-certificate-data: {CERT_B64}\n" in result["diff"][0]["after"]
    assert_no_secret(result, KEY_B64, _b64(CONFIG))


def test_a_rerun_changes_nothing(node):
    audit_files.run(webhook_params(node, backup=True), check_mode=False, diff=False)

    again = audit_files.run(webhook_params(node, backup=True), check_mode=False, diff=True)

    assert again["changed"] is False
    assert "diff" not in again
    assert again["webhook_config"]["changes"] == []
    assert again["webhook_config"]["existed"] is True
    assert again["webhook_config"]["backup_file"] is None
    assert not (node / "backup").exists()


def test_new_content_is_installed_after_a_backup_and_the_diff_shows_both_redacted(node):
    path = node / "etc" / "audit-webhook.conf"
    audit_files.run(webhook_params(node), check_mode=False, diff=False)

    result = audit_files.run(webhook_params(node, content=NEWER, backup=True), check_mode=False, diff=True)

    registered = result["webhook_config"]
    assert result["changed"] is True
    assert registered["changes"] == ["content"]
    assert registered["checksum"] == hashlib.sha256(NEWER).hexdigest()
    assert path.read_bytes() == NEWER
    assert mode_of(path) == 0o600
    backup = registered["backup_file"]
    assert os.path.dirname(backup) == str(node / "backup")
    assert os.path.basename(backup).startswith("audit-webhook.conf.")
    with open(backup, "rb") as handle:
        assert handle.read() == CONFIG
    assert mode_of(backup) == 0o600
    assert mode_of(node / "backup") == 0o700
    (entry,) = result["diff"]
    assert entry["before"] == CONFIG.decode().replace(KEY_B64, "REDACTED")
    assert entry["after"] == NEWER.decode().replace(NEWER_KEY_B64, "REDACTED")
    assert "    client-key-data: REDACTED\n" in entry["before"]
    assert "    client-key-data: REDACTED\n" in entry["after"]
    assert_no_secret(result, KEY_B64, NEWER_KEY_B64, _b64(NEWER))


def test_a_token_is_redacted_in_the_diff_too(node):
    result = audit_files.run(webhook_params(node, content=TOKEN_CONFIG), check_mode=False, diff=True)
    assert '    token: "REDACTED"\n' in result["diff"][0]["after"]
    assert "s3cr3t" not in json.dumps(result)


def test_mode_and_owner_are_fixed_in_place_and_the_diff_shows_only_attributes(node, owner):
    path = node / "etc" / "audit-webhook.conf"
    path.parent.mkdir()
    path.write_bytes(CONFIG)
    os.chmod(str(path), 0o644)
    inode = path.stat().st_ino

    result = audit_files.run(webhook_params(node, backup=True), check_mode=False, diff=True)

    assert result["webhook_config"]["changes"] == ["mode 0644 -> 0600"]
    assert result["webhook_config"]["backup_file"] is None
    assert result["diff"] == [
        {
            "before_header": str(path),
            "after_header": str(path),
            "before": f"file, mode 0644, owner {owner[0]}:{owner[1]}\n",
            "after": f"file, mode 0600, owner {owner[0]}:{owner[1]}\n",
        }
    ]
    assert (mode_of(path), path.stat().st_ino, path.read_bytes()) == (0o600, inode, CONFIG)


def test_absent_removes_the_file_after_a_backup(node):
    path = node / "etc" / "audit-webhook.conf"
    audit_files.run(webhook_params(node), check_mode=False, diff=False)

    result = audit_files.run(
        webhook_params(node, content=None, webhook_config_state="absent", backup=True), check_mode=False, diff=True
    )

    registered = result["webhook_config"]
    assert result["changed"] is True
    assert registered["state"] == "absent"
    assert registered["changes"] == ["remove"]
    assert registered["checksum"] is None
    assert not path.exists()
    with open(registered["backup_file"], "rb") as handle:
        assert handle.read() == CONFIG
    assert mode_of(registered["backup_file"]) == 0o600
    (entry,) = result["diff"]
    assert entry["before"] == CONFIG.decode().replace(KEY_B64, "REDACTED")
    assert entry["after"] == ""
    assert_no_secret(result, KEY_B64)

    again = audit_files.run(
        webhook_params(node, content=None, webhook_config_state="absent"), check_mode=False, diff=True
    )
    assert again["changed"] is False
    assert again["webhook_config"]["changes"] == []


def test_restore_from_puts_the_backup_back_byte_for_byte(node):
    path = node / "etc" / "audit-webhook.conf"
    odd = CONFIG.replace(b"\n", b"\r\n") + b"# caf\xc3\xa9 \t \r\n"  # CRLF, trailing blanks, UTF-8
    audit_files.run(webhook_params(node, content=odd), check_mode=False, diff=False)
    replaced = audit_files.run(webhook_params(node, content=NEWER, backup=True), check_mode=False, diff=False)
    backup = replaced["webhook_config"]["backup_file"]

    result = audit_files.run(
        webhook_params(node, content=None, webhook_config_restore_from=backup), check_mode=False, diff=True
    )

    assert path.read_bytes() == odd
    assert mode_of(path) == 0o600
    assert result["webhook_config"]["changes"] == ["content"]
    assert result["webhook_config"]["checksum"] == hashlib.sha256(odd).hexdigest()
    # A tab: the file is not shown at all rather than risk a secret.
    assert result["diff"][0]["after"] == _redact.NOT_SHOWN
    assert_no_secret(result, KEY_B64, NEWER_KEY_B64)


def test_a_missing_restore_from_fails_naming_the_option(node):
    missing = str(node / "backup" / "nothing")
    with pytest.raises(audit_files.AuditFilesError) as info:
        audit_files.run(
            webhook_params(node, content=None, webhook_config_restore_from=missing), check_mode=False, diff=False
        )
    assert str(info.value) == f"webhook_config_restore_from {missing} does not exist"
    assert not (node / "etc").exists()


def test_a_restore_from_inside_the_manifests_directory_is_refused_naming_the_option(node):
    backup = node / "manifests" / "audit-webhook.conf.old"
    backup.write_bytes(CONFIG)
    with pytest.raises(KubeAuditError, match=r"^webhook_config_restore_from .* is inside the manifests directory"):
        audit_files.run(
            webhook_params(node, content=None, webhook_config_restore_from=str(backup)), check_mode=False, diff=False
        )
    assert not (node / "etc").exists()


@pytest.mark.parametrize(
    ("before", "why"),
    [
        pytest.param(CONFIG.replace(b"kind: Config\n", b'kind: "Con\\x66ig"\n'), "escape", id="backslash"),
        pytest.param(CONFIG + b"# \xff\n", "not UTF-8", id="invalid-utf8"),
        pytest.param(CONFIG.replace(b"kind: Config\n", b"kind: &k Config\n"), "anchor", id="anchor"),
    ],
)
def test_a_file_whose_secrets_cannot_be_told_apart_is_not_shown(node, before, why):
    path = node / "etc" / "audit-webhook.conf"
    path.parent.mkdir()
    path.write_bytes(before)
    os.chmod(str(path), 0o600)

    result = audit_files.run(webhook_params(node), check_mode=False, diff=True)

    (entry,) = result["diff"]
    assert entry["before"] == _redact.NOT_SHOWN, why
    assert entry["after"] == CONFIG.decode().replace(KEY_B64, "REDACTED")
    assert_no_secret(result, KEY_B64)


# --------------------------------------------------------------------------------------------------
# refusals, check mode, the policy in the same call
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("spelling", ["manifests/audit-webhook.conf", "etc/../manifests/./audit-webhook.conf"])
def test_a_webhook_kubeconfig_inside_the_manifests_directory_is_refused(node, spelling):
    before = tree(node)
    path = f"{node}/{spelling}"

    with pytest.raises(KubeAuditError) as info:
        audit_files.run(webhook_params(node, webhook_config_path=path), check_mode=False, diff=True)

    message = str(info.value)
    assert message.startswith(f"webhook_config_path {path}")
    assert f"is inside the manifests directory {node / 'manifests'}: the kubelet reads every file there" in message
    assert "policy_path" not in message
    assert tree(node) == before


def test_a_symlink_into_the_manifests_directory_is_refused(node):
    (node / "etc").symlink_to(node / "manifests")
    before = tree(node)
    path = str(node / "etc" / "audit-webhook.conf")

    with pytest.raises(KubeAuditError, match=r"^webhook_config_path .* is inside the manifests"):
        audit_files.run(webhook_params(node, webhook_config_path=path), check_mode=False, diff=False)
    assert tree(node) == before


def test_a_relative_path_is_refused_naming_webhook_config_path(node):
    with pytest.raises(audit_files.AuditFilesError) as info:
        audit_files.run(webhook_params(node, webhook_config_path="etc/hook.conf"), check_mode=False, diff=False)
    assert str(info.value) == "webhook_config_path etc/hook.conf is not an absolute path"


def test_the_content_is_required_to_install(node):
    before = tree(node)
    with pytest.raises(audit_files.AuditFilesError) as info:
        audit_files.run(webhook_params(node, content=None), check_mode=False, diff=True)
    assert str(info.value) == (
        "webhook_config_content_base64 or webhook_config_restore_from is required to install the webhook kubeconfig"
    )
    assert tree(node) == before


def test_invalid_base64_fails_naming_the_option(node):
    options = webhook_params(node, content=None, webhook_config_content_base64="not*base64")
    with pytest.raises(audit_files.AuditFilesError, match=r"^webhook_config_content_base64 is not valid base64: "):
        audit_files.run(options, check_mode=False, diff=False)
    assert not (node / "etc").exists()


def test_content_and_restore_from_are_mutually_exclusive(node):
    options = {
        "webhook_config_path": str(node / "etc" / "audit-webhook.conf"),
        "webhook_config_content_base64": _b64(CONFIG),
        "webhook_config_restore_from": str(node / "backup" / "old"),
    }
    validated = ArgumentSpecValidator(audit_files.ARGUMENT_SPEC, **audit_files.ARGUMENT_RULES).validate(options)
    assert validated.error_messages == [
        "parameters are mutually exclusive: webhook_config_content_base64|webhook_config_restore_from"
    ]


def test_check_mode_writes_nothing_and_shows_the_redacted_change(node):
    path = node / "etc" / "audit-webhook.conf"
    before = tree(node)

    created = audit_files.run(webhook_params(node, backup=True), check_mode=True, diff=True)

    assert created["changed"] is True
    assert created["webhook_config"]["changes"] == ["create"]
    assert created["diff"][0]["after"] == CONFIG.decode().replace(KEY_B64, "REDACTED")
    assert tree(node) == before

    audit_files.run(webhook_params(node), check_mode=False, diff=False)
    before = tree(node)
    replaced = audit_files.run(webhook_params(node, content=NEWER, backup=True), check_mode=True, diff=True)
    removed = audit_files.run(
        webhook_params(node, content=None, webhook_config_state="absent", backup=True), check_mode=True, diff=True
    )

    assert replaced["webhook_config"]["changes"] == ["content"]
    assert replaced["webhook_config"]["backup_file"] is None
    assert removed["webhook_config"]["changes"] == ["remove"]
    assert tree(node) == before
    assert path.read_bytes() == CONFIG
    assert_no_secret([created, replaced, removed], KEY_B64, NEWER_KEY_B64)


def test_policy_webhook_and_log_directory_in_one_call(node):
    policy = node / "policies" / "audit-policy.yaml"
    webhook = node / "policies" / "audit-webhook.conf"
    log_dir = node / "log"
    options = dict(
        policy_path=str(policy),
        policy_content_base64=_b64(POLICY),
        webhook_config_path=str(webhook),
        log_dir=str(log_dir),
        backup=True,
    )

    result = audit_files.run(webhook_params(node, **options), check_mode=False, diff=True)

    assert result["changed"] is True
    assert result["policy"]["changes"] == ["create"]
    assert result["policy"]["checksum"] == hashlib.sha256(POLICY).hexdigest()
    assert result["webhook_config"]["changes"] == ["create"]
    assert result["webhook_config"]["checksum"] == hashlib.sha256(CONFIG).hexdigest()
    assert result["log_dir"]["changes"] == ["create"]
    assert policy.read_bytes() == POLICY and webhook.read_bytes() == CONFIG
    assert mode_of(policy) == mode_of(webhook) == 0o600
    assert [entry["after_header"] for entry in result["diff"]] == [str(policy), str(webhook), str(log_dir)]
    assert result["diff"][0]["after"] == POLICY.decode()  # the policy is shown as it is
    assert result["diff"][1]["after"] == CONFIG.decode().replace(KEY_B64, "REDACTED")
    assert_no_secret(result, KEY_B64)

    again = audit_files.run(webhook_params(node, **options), check_mode=False, diff=True)
    assert again["changed"] is False
    assert again["policy"]["changes"] == again["webhook_config"]["changes"] == again["log_dir"]["changes"] == []


def test_the_policy_changes_while_the_webhook_kubeconfig_stays(node):
    options = dict(policy_path=str(node / "policies" / "audit-policy.yaml"), policy_content_base64=_b64(POLICY))
    audit_files.run(webhook_params(node, **options), check_mode=False, diff=False)

    options["policy_content_base64"] = _b64(POLICY + b"- level: None\n")
    result = audit_files.run(webhook_params(node, **options), check_mode=False, diff=True)

    assert result["policy"]["changes"] == ["content"]
    assert result["webhook_config"]["changes"] == []
    assert [entry["after_header"] for entry in result["diff"]] == [options["policy_path"]]

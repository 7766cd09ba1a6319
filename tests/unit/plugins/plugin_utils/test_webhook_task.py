"""_webhook_task.check(): the audit_webhook task's result from its options, on the controller.

PEM inputs are given as text or as files (``find_file`` resolves them as the action plugin's ``find_in`` does, here
in a temporary directory); a complete kubeconfig comes from ``kubeconfig_src``. Certificates and keys are made here
(EC keys: quick to make) as test_webhook_config.py makes them.
"""

import base64
import hashlib
import json

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from webhook_pki import b64 as _b64
from webhook_pki import certificate as _certificate
from webhook_pki import key_pem as _key_pem
from webhook_pki import name as _name

from ansible_collections.nnf.kube_audit.plugins.module_utils import _redact
from ansible_collections.nnf.kube_audit.plugins.module_utils._errors import KubeAuditError
from ansible_collections.nnf.kube_audit.plugins.plugin_utils import _webhook_config, _webhook_task

SERVER = "https://audit.example:8443/events"


CA_KEY = ec.generate_private_key(ec.SECP256R1())
CA = _certificate(CA_KEY, _name("audit-webhook-ca"), ca=True)
CLIENT_KEY = ec.generate_private_key(ec.SECP256R1())
CLIENT_CERT = _certificate(CLIENT_KEY, _name("kube-apiserver-audit"), CA_KEY, _name("audit-webhook-ca"))
KEY = _key_pem(CLIENT_KEY)
OTHER_KEY = _key_pem(ec.generate_private_key(ec.SECP256R1()))

SUMMARY_KEYS = {"server", "ca_subjects", "client_certificate_subject", "has_client_key"}
RESULT_KEYS = SUMMARY_KEYS | {"changed", "mode", "content_base64", "checksum", "kubeconfig"}


def options(**given):
    return dict(
        {"server": None, "ca": None, "client_cert": None, "client_key": None, "kubeconfig_src": None, "mode": "batch"},
        **given,
    )


def no_files(path):
    raise AssertionError(f"PEM text was taken for a file name: {path!r}")


@pytest.fixture
def files(tmp_path):
    """The controller's files directory: find_file resolves names in it, and absolute paths as they are."""
    directory = tmp_path / "files"
    directory.mkdir()

    def search(name):
        path = directory / name
        return str(path) if path.exists() else None

    return directory, _webhook_task.find_in(search)


def content_of(result):
    return base64.b64decode(result["content_base64"]).decode("utf-8")


def refusal(params, find_file=no_files):
    with pytest.raises(KubeAuditError) as info:
        _webhook_task.check(params, find_file)
    return str(info.value)


# --------------------------------------------------------------------------------------------------
# built from server, ca, client_cert and client_key
# --------------------------------------------------------------------------------------------------


def test_pem_text_builds_the_kubeconfig_and_the_result_never_shows_the_key():
    result = _webhook_task.check(options(server=SERVER, ca=CA, client_cert=CLIENT_CERT, client_key=KEY), no_files)

    text = _webhook_config.build_kubeconfig(SERVER, CA, CLIENT_CERT, KEY)
    assert set(result) == RESULT_KEYS | {"_ansible_no_log"}
    assert content_of(result) == text
    assert result["checksum"] == hashlib.sha256(base64.b64decode(result["content_base64"])).hexdigest()
    assert result["checksum"] == _webhook_config.checksum(text)
    assert result["kubeconfig"] == text.replace(_b64(KEY), "REDACTED")
    assert "    client-key-data: REDACTED\n" in result["kubeconfig"]
    assert f"    client-certificate-data: {_b64(CLIENT_CERT)}\n" in result["kubeconfig"]
    assert result["server"] == SERVER
    assert result["ca_subjects"] == ["audit-webhook-ca"]
    assert result["client_certificate_subject"] == "kube-apiserver-audit"
    assert result["has_client_key"] is True
    assert result["mode"] == "batch"
    assert result["changed"] is False
    assert result["_ansible_no_log"] is True
    shown = json.dumps({key: value for key, value in result.items() if key != "content_base64"})
    assert _b64(KEY) not in shown and "PRIVATE KEY" not in shown


def test_without_a_secret_the_result_is_not_no_log_and_the_kubeconfig_is_shown_whole():
    result = _webhook_task.check(options(server=SERVER, ca=CA), no_files)

    text = _webhook_config.build_kubeconfig(SERVER, CA)
    assert set(result) == RESULT_KEYS
    assert "_ansible_no_log" not in result
    assert result["kubeconfig"] == content_of(result) == text
    assert result["has_client_key"] is False
    assert result["client_certificate_subject"] is None
    assert result["checksum"] == hashlib.sha256(text.encode()).hexdigest()


def test_pem_inputs_are_read_from_files_relative_or_absolute(files):
    directory, find_file = files
    (directory / "ca.pem").write_text(CA)
    (directory / "client.crt").write_text(CLIENT_CERT)
    key = directory / "client.key"
    key.write_text(KEY)

    from_files = _webhook_task.check(
        options(server=SERVER, ca="ca.pem", client_cert="client.crt", client_key=str(key)), find_file
    )
    from_text = _webhook_task.check(options(server=SERVER, ca=CA, client_cert=CLIENT_CERT, client_key=KEY), no_files)

    assert from_files == from_text
    assert from_files["_ansible_no_log"] is True


def test_empty_client_options_are_unset():
    result = _webhook_task.check(options(server=SERVER, ca=CA, client_cert="", client_key=""), no_files)
    assert result["has_client_key"] is False
    assert "_ansible_no_log" not in result


@pytest.mark.parametrize(
    ("option", "variable"),
    [
        ("ca", "kube_audit_webhook_ca"),
        ("client_cert", "kube_audit_webhook_client_cert"),
        ("client_key", "kube_audit_webhook_client_key"),
    ],
)
def test_a_missing_file_names_the_variable_and_the_value(files, option, variable):
    _directory, find_file = files
    given = options(server=SERVER, ca=CA, client_cert=CLIENT_CERT, client_key=KEY)
    given[option] = "pki/missing.pem"

    message = refusal(given, find_file)

    assert message == (
        f"{variable} is neither PEM text (it has no -----BEGIN line) nor a file on the controller: "
        "pki/missing.pem not found"
    )


def test_a_file_that_cannot_be_read_names_the_variable(files):
    directory, find_file = files
    (directory / "ca.pem").mkdir()
    message = refusal(options(server=SERVER, ca="ca.pem"), find_file)
    assert message == f"kube_audit_webhook_ca: {directory / 'ca.pem'} cannot be read on the controller: Is a directory"


def test_a_key_that_does_not_match_fails_naming_the_variable_without_showing_the_key():
    message = refusal(options(server=SERVER, ca=CA, client_cert=CLIENT_CERT, client_key=OTHER_KEY))
    assert message.startswith("kube_audit_webhook_client_key does not match the client certificate")
    assert "PRIVATE KEY" not in message
    assert _b64(OTHER_KEY)[:40] not in message


# --------------------------------------------------------------------------------------------------
# given whole: kubeconfig_src
# --------------------------------------------------------------------------------------------------


def kubeconfig(user_lines, current_context="w"):
    lines = [
        "apiVersion: v1",
        "kind: Config",
        "clusters:",
        "- name: w",
        "  cluster:",
        f"    server: {SERVER}",
        f"    certificate-authority-data: {_b64(CA)}",
        "contexts:",
        "- name: w",
        "  context: {cluster: w, user: u}",
    ]
    if current_context:
        lines.append(f"current-context: {current_context}")
    lines += ["users:", "- name: u", *(["  user:", *user_lines] if user_lines else ["  user: {}"])]
    return "\n".join(lines) + "\n"


CLIENT_USER = [f"    client-certificate-data: {_b64(CLIENT_CERT)}", f"    client-key-data: {_b64(KEY)}"]


def test_kubeconfig_src_is_taken_byte_for_byte(files):
    directory, find_file = files
    text = kubeconfig(CLIENT_USER).replace("\n", "\r\n") + "# caf\u00e9\r\n"
    (directory / "webhook.conf").write_bytes(text.encode("utf-8"))

    result = _webhook_task.check(options(kubeconfig_src="webhook.conf"), find_file)

    assert base64.b64decode(result["content_base64"]) == text.encode("utf-8")
    assert result["checksum"] == hashlib.sha256(text.encode("utf-8")).hexdigest()
    assert result["kubeconfig"] == text.replace(_b64(KEY), "REDACTED")
    assert result["server"] == SERVER
    assert result["client_certificate_subject"] == "kube-apiserver-audit"
    assert result["has_client_key"] is True
    assert result["_ansible_no_log"] is True


def test_kubeconfig_src_with_an_absolute_path(tmp_path, files):
    _directory, find_file = files
    path = tmp_path / "elsewhere.conf"
    path.write_text(kubeconfig(["    token: abc.def"]))
    result = _webhook_task.check(options(kubeconfig_src=str(path)), find_file)
    assert result["kubeconfig"] == kubeconfig(["    token: REDACTED"])


def test_a_missing_kubeconfig_src_names_the_variable(files):
    _directory, find_file = files
    message = refusal(options(kubeconfig_src="nowhere.conf"), find_file)
    assert message == "kube_audit_webhook_kubeconfig_src: nowhere.conf not found on the controller"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        pytest.param(kubeconfig(CLIENT_USER, current_context=None), "current-context is not set", id="no-context"),
        pytest.param("users: [\n", "the kubeconfig is not valid YAML", id="not-yaml"),
        pytest.param(
            kubeconfig(
                ["    client-certificate-data: " + _b64(CLIENT_CERT), "    client-key-data: " + _b64(OTHER_KEY)]
            ),
            "user 'u': client-key-data does not match the client certificate",
            id="key-mismatch",
        ),
    ],
)
def test_an_invalid_kubeconfig_src_fails_naming_the_variable_and_the_file(files, text, problem):
    directory, find_file = files
    (directory / "webhook.conf").write_text(text)

    message = refusal(options(kubeconfig_src="webhook.conf"), find_file)

    assert message.startswith(f"kube_audit_webhook_kubeconfig_src {directory / 'webhook.conf'}: ")
    assert problem in message
    assert _b64(OTHER_KEY)[:40] not in message


def test_a_kubeconfig_src_that_is_not_utf8_is_refused(files):
    directory, find_file = files
    (directory / "webhook.conf").write_bytes(kubeconfig([]).encode() + b"# \xff\n")

    message = refusal(options(kubeconfig_src="webhook.conf"), find_file)

    assert message.startswith(f"kube_audit_webhook_kubeconfig_src {directory / 'webhook.conf'} is not UTF-8 text: ")


@pytest.mark.parametrize(
    "user_lines",
    [
        pytest.param(["    password: 123456", "    username: admin"], id="password-a-number"),
        pytest.param(["    token:", "    - abc.def"], id="token-a-list"),
    ],
)
def test_a_kubeconfig_src_whose_secret_is_not_a_string_is_refused(files, user_lines):
    """client-go decodes token and password into strings: kube-apiserver would not start with these."""
    directory, find_file = files
    (directory / "webhook.conf").write_text(kubeconfig(user_lines))

    message = refusal(options(kubeconfig_src="webhook.conf"), find_file)

    assert message.startswith(f"kube_audit_webhook_kubeconfig_src {directory / 'webhook.conf'}: user 'u': ")


# --------------------------------------------------------------------------------------------------
# no_log, warnings
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("user_lines", "no_log"),
    [
        pytest.param(CLIENT_USER, True, id="client-key"),
        pytest.param(['    token: "abc.def"'], True, id="token"),
        pytest.param(["    username: admin", "    password: pw"], True, id="password"),
        pytest.param([], False, id="no-credentials"),
        pytest.param(["    username: admin"], False, id="username-only"),
    ],
)
def test_the_result_is_no_log_exactly_when_the_kubeconfig_holds_a_secret(files, user_lines, no_log):
    directory, find_file = files
    (directory / "webhook.conf").write_text(kubeconfig(user_lines))

    result = _webhook_task.check(options(kubeconfig_src="webhook.conf"), find_file)

    assert result.get("_ansible_no_log", False) is no_log
    for secret in (_b64(KEY), "abc.def", "pw\n"):
        assert secret not in result["kubeconfig"]


def test_a_kubeconfig_that_cannot_be_redacted_is_not_shown_and_no_log(files):
    directory, find_file = files
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "w", "cluster": {"server": SERVER, "certificate-authority-data": _b64(CA)}}],
        "contexts": [{"name": "w", "context": {"cluster": "w", "user": "u"}}],
        "current-context": "w",
        "users": [{"name": "u", "user": {"token": "abc.def"}}],
    }
    (directory / "webhook.json").write_text(json.dumps(config))

    result = _webhook_task.check(options(kubeconfig_src="webhook.json"), find_file)

    assert result["kubeconfig"] == _redact.NOT_SHOWN
    assert result["_ansible_no_log"] is True


@pytest.mark.parametrize(
    ("mode", "words"),
    [
        ("blocking", "kube_audit_webhook_mode is blocking: every API request waits"),
        ("blocking-strict", "kube_audit_webhook_mode is blocking-strict: an API request whose RequestReceived event"),
    ],
)
def test_blocking_modes_warn_naming_the_server(mode, words):
    result = _webhook_task.check(options(server=SERVER, ca=CA, mode=mode), no_files)
    assert result["mode"] == mode
    (warning,) = result["warnings"]
    assert warning.startswith(words)
    assert SERVER in warning
    assert warning == _webhook_task.WARNINGS[mode].format(server=SERVER)


def test_batch_mode_has_no_warnings():
    result = _webhook_task.check(options(server=SERVER, ca=CA, mode="batch"), no_files)
    assert "warnings" not in result

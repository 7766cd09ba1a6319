"""audit_webhook's action plugin end to end: options checked by Ansible, files found as Ansible finds them (the
role's ``files/``), nothing run on the host, a result Ansible censors when it holds a secret, failures shown."""

import base64
import types

import action_runner
import pytest
from ansible.errors import AnsibleActionFail
from ansible.parsing.dataloader import DataLoader
from cryptography.hazmat.primitives.asymmetric import ec
from webhook_pki import certificate as _certificate
from webhook_pki import key_pem as _key_pem
from webhook_pki import name as _name

from ansible_collections.nnf.kube_audit.plugins.action import audit_webhook

SERVER = "https://audit.example:8443/events"


CA_KEY = ec.generate_private_key(ec.SECP256R1())
CA = _certificate(CA_KEY, _name("audit-webhook-ca"), ca=True)
CLIENT_KEY = ec.generate_private_key(ec.SECP256R1())
CLIENT_CERT = _certificate(CLIENT_KEY, _name("kube-apiserver-audit"), CA_KEY, _name("audit-webhook-ca"))
KEY = _key_pem(CLIENT_KEY)
KEY_B64 = base64.b64encode(KEY.encode()).decode()
OTHER_KEY = _key_pem(ec.generate_private_key(ec.SECP256R1()))


@pytest.fixture
def role(tmp_path):
    """A role directory whose files/ holds the PEM files."""
    directory = tmp_path / "role"
    (directory / "files").mkdir(parents=True)
    (directory / "files" / "ca.pem").write_text(CA)
    (directory / "files" / "client.crt").write_text(CLIENT_CERT)
    (directory / "files" / "client.key").write_text(KEY)
    return directory


def run(args, workdir, search_path):
    action = action_runner.action_module(audit_webhook, args, workdir)
    action._connection = types.SimpleNamespace(transport="ssh", _shell=types.SimpleNamespace(tmpdir=None))
    action._loader = DataLoader()
    action._task.get_search_path = lambda: [str(search_path)]
    return action, action.run(task_vars={})


def test_the_kubeconfig_is_built_from_the_roles_files_and_the_result_is_censored(tmp_path, role):
    args = {"server": SERVER, "ca": "ca.pem", "client_cert": "client.crt", "client_key": "client.key"}

    action, result = run(args, tmp_path, role)

    assert not result.get("failed"), result
    assert action.calls == []  # nothing ran on the host
    assert action.removed_tmp_paths == [(None, False)]
    assert result["_ansible_no_log"] is True
    assert KEY_B64 in base64.b64decode(result["content_base64"]).decode()
    assert "    client-key-data: REDACTED\n" in result["kubeconfig"]
    assert KEY_B64 not in result["kubeconfig"]
    assert result["client_certificate_subject"] == "kube-apiserver-audit"
    assert result["changed"] is False
    assert "warnings" not in result


def test_a_blocking_mode_warns_and_a_result_without_secret_is_shown(tmp_path, role):
    _action, result = run({"server": SERVER, "ca": "ca.pem", "mode": "blocking"}, tmp_path, role)

    assert "_ansible_no_log" not in result
    assert result["has_client_key"] is False
    (warning,) = result["warnings"]
    assert SERVER in warning


def test_a_failure_is_a_visible_message(tmp_path, role):
    args = {"server": SERVER, "ca": "missing-ca.pem", "client_cert": "client.crt", "client_key": "client.key"}

    action, result = run(args, tmp_path, role)

    assert result["failed"] is True
    assert result["msg"] == (
        "kube_audit_webhook_ca is neither PEM text (it has no -----BEGIN line) nor a file on the controller: "
        "missing-ca.pem not found"
    )
    assert "_ansible_no_log" not in result
    assert "exception" not in result
    assert action.calls == []


def test_a_key_that_does_not_match_fails_visibly_without_the_key(tmp_path, role):
    (role / "files" / "other.key").write_text(OTHER_KEY)
    args = {"server": SERVER, "ca": "ca.pem", "client_cert": "client.crt", "client_key": "other.key"}

    _action, result = run(args, tmp_path, role)

    assert result["failed"] is True
    assert result["msg"].startswith("kube_audit_webhook_client_key does not match the client certificate")
    assert "_ansible_no_log" not in result
    assert "PRIVATE KEY" not in str(result)


def test_an_invalid_kubeconfig_src_fails_naming_the_file(tmp_path, role):
    (role / "files" / "webhook.conf").write_text("apiVersion: v1\nkind: Config\n")

    _action, result = run({"kubeconfig_src": "webhook.conf"}, tmp_path, role)

    assert result["failed"] is True
    assert result["msg"].startswith(f"kube_audit_webhook_kubeconfig_src {role / 'files' / 'webhook.conf'}: ")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"server": SERVER, "ca": CA, "kubeconfig_src": "webhook.conf"}, "mutually exclusive: server|kubeconfig_src"),
        ({"server": SERVER}, "missing parameter(s) required by 'server': ca"),
        ({"ca": CA}, "one of the following is required: server, kubeconfig_src"),
        (
            {"server": SERVER, "ca": CA, "mode": "sync"},
            "value of mode must be one of: batch, blocking, blocking-strict",
        ),
    ],
)
def test_bad_options_are_refused_by_ansibles_own_checks(tmp_path, role, args, message):
    with pytest.raises(AnsibleActionFail) as info:
        run(args, tmp_path, role)
    assert message in info.value.message

"""_webhook_config: the audit webhook kubeconfig, built from the role's variables or given whole, checked.

Certificates and keys are made here with cryptography's x509 builder: a CA, a server certificate and a client
certificate it signed, the client's key (RSA), a key that matches nothing (EC), a second CA and a CA without a common
name. Given kubeconfigs are Python dicts written with PyYAML (or JSON, or literal text where the layout matters).
"""

import base64
import copy
import hashlib
import json

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from webhook_pki import b64 as _b64
from webhook_pki import certificate as _certificate
from webhook_pki import key_pem as _key_pem
from webhook_pki import name as _name

from ansible_collections.nnf.kube_audit.plugins.module_utils._errors import KubeAuditError
from ansible_collections.nnf.kube_audit.plugins.plugin_utils import _webhook_config, audit_policy

SOURCE = "kube_audit_webhook_kubeconfig_src (files/webhook.conf)"
SERVER = "https://audit.example:8443/events"
DELETE = object()


CA_KEY = ec.generate_private_key(ec.SECP256R1())
CA = _certificate(CA_KEY, _name("audit-webhook-ca"), ca=True)
SECOND_CA = _certificate(ec.generate_private_key(ec.SECP256R1()), _name("second-ca"), ca=True)
NAMELESS_CA = _certificate(ec.generate_private_key(ec.SECP256R1()), _name(organization="NNF"), ca=True)
TWO_NAMES_CA = _certificate(ec.generate_private_key(ec.SECP256R1()), _name("first", "last"), ca=True)
SERVER_KEY = ec.generate_private_key(ec.SECP256R1())
SERVER_CERT = _certificate(SERVER_KEY, _name("audit.example"), CA_KEY, _name("audit-webhook-ca"))
CLIENT_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
CLIENT_CERT = _certificate(
    CLIENT_KEY, _name("kube-apiserver-audit", organization="system:masters"), CA_KEY, _name("audit-webhook-ca")
)
KEY = _key_pem(CLIENT_KEY)
RSA_KEY = _key_pem(CLIENT_KEY, serialization.PrivateFormat.TraditionalOpenSSL)
ENCRYPTED_KEY = _key_pem(CLIENT_KEY, encryption=serialization.BestAvailableEncryption(b"secret"))
OTHER_KEY = _key_pem(ec.generate_private_key(ec.SECP256R1()))


def _given():
    """A kubeconfig as kubectl writes one: two contexts and two users, the current context with the client cert."""
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "webhook", "cluster": {"server": SERVER, "certificate-authority-data": _b64(CA)}}],
        "contexts": [
            {"name": "anonymous", "context": {"cluster": "webhook", "user": "nobody"}},
            {"name": "webhook", "context": {"cluster": "webhook", "user": "apiserver"}},
        ],
        "current-context": "webhook",
        "users": [
            {"name": "nobody", "user": {}},
            {
                "name": "apiserver",
                "user": {"client-certificate-data": _b64(CLIENT_CERT), "client-key-data": _b64(KEY)},
            },
        ],
    }


def _changed(*changes):
    """The _given() kubeconfig as YAML text, with each (path, value) set (DELETE removes the key)."""
    config = copy.deepcopy(_given())
    for path, value in changes:
        parent = config
        for step in path[:-1]:
            parent = parent[step]
        if value is DELETE:
            del parent[path[-1]]
        else:
            parent[path[-1]] = value
    return yaml.safe_dump(config, sort_keys=False)


def _refusal(call, *args):
    with pytest.raises(KubeAuditError) as info:
        call(*args)
    return str(info.value)


CLUSTER = ("clusters", 0, "cluster")
CONTEXT = ("contexts", 1, "context")
USER = ("users", 1, "user")
IN_CLUSTER = f"{SOURCE}: cluster 'webhook': "
IN_USER = f"{SOURCE}: user 'apiserver': "
FILE_PATH = (
    "is a file path on the master, which cannot be checked on the controller and need not be visible inside the "
    "kube-apiserver pod: inline it as"
)
PLUGIN = (
    "the kube-apiserver pod cannot run credential plugins: authenticate with client-certificate-data and "
    "client-key-data, or a token"
)


# --------------------------------------------------------------------------------------------------
# build_kubeconfig
# --------------------------------------------------------------------------------------------------


def _expected(server, ca, user_lines):
    return (
        "apiVersion: v1\n"
        "clusters:\n"
        "- cluster:\n"
        f"    certificate-authority-data: {_b64(ca)}\n"
        f"    server: {server}\n"
        "  name: audit-webhook\n"
        "contexts:\n"
        "- context:\n"
        "    cluster: audit-webhook\n"
        "    user: audit-webhook\n"
        "  name: audit-webhook\n"
        "current-context: audit-webhook\n"
        "kind: Config\n"
        "users:\n"
        "- name: audit-webhook\n" + "".join(line + "\n" for line in user_lines)
    )


def test_build_without_client_certificate_has_an_empty_user():
    text = _webhook_config.build_kubeconfig(SERVER, CA)
    assert text == _expected(SERVER, CA, ["  user: {}"])
    assert _webhook_config.validate_kubeconfig(text, SOURCE) == {
        "server": SERVER,
        "ca_subjects": ["audit-webhook-ca"],
        "client_certificate_subject": None,
        "has_client_key": False,
    }


def test_build_with_client_certificate_inlines_certificate_and_key():
    text = _webhook_config.build_kubeconfig(SERVER, CA, CLIENT_CERT, KEY)
    user = ["  user:", f"    client-certificate-data: {_b64(CLIENT_CERT)}", f"    client-key-data: {_b64(KEY)}"]
    assert text == _expected(SERVER, CA, user)
    assert _webhook_config.validate_kubeconfig(text, SOURCE) == {
        "server": SERVER,
        "ca_subjects": ["audit-webhook-ca"],
        "client_certificate_subject": "kube-apiserver-audit",
        "has_client_key": True,
    }


def test_build_is_deterministic_whatever_the_whitespace_around_the_pem():
    reference = _webhook_config.build_kubeconfig(SERVER, CA, CLIENT_CERT, KEY)
    stripped = _webhook_config.build_kubeconfig(SERVER, CA.strip(), CLIENT_CERT.strip(), KEY.strip())
    padded = _webhook_config.build_kubeconfig(SERVER, f"\n{CA}\n\n", f"{CLIENT_CERT}\n", f"  {KEY}")
    assert stripped == reference
    assert padded == reference
    assert _webhook_config.build_kubeconfig(SERVER, CA.encode("ascii"), CLIENT_CERT, KEY) == reference


def test_build_treats_empty_client_variables_as_unset():
    assert _webhook_config.build_kubeconfig(SERVER, CA, "", "") == _webhook_config.build_kubeconfig(SERVER, CA)


def test_build_takes_a_ca_bundle_and_a_pkcs1_rsa_key():
    text = _webhook_config.build_kubeconfig("https://[fd00::1]/audit", CA + SECOND_CA, CLIENT_CERT, RSA_KEY)
    assert "-----BEGIN RSA PRIVATE KEY-----" in RSA_KEY
    summary = _webhook_config.validate_kubeconfig(text, SOURCE)
    assert summary["ca_subjects"] == ["audit-webhook-ca", "second-ca"]
    assert summary["server"] == "https://[fd00::1]/audit"
    assert summary["client_certificate_subject"] == "kube-apiserver-audit"


@pytest.mark.parametrize(
    ("server", "ca", "cert", "key", "message"),
    [
        pytest.param(
            "http://audit.example/events",
            CA,
            None,
            None,
            "kube_audit_webhook_server 'http://audit.example/events' is not an https:// URL: kube-apiserver must "
            "send audit events over TLS",
            id="server-http",
        ),
        pytest.param(
            None,
            CA,
            None,
            None,
            "kube_audit_webhook_server is not set: give the webhook's https:// URL",
            id="no-server",
        ),
        pytest.param(
            8443,
            CA,
            None,
            None,
            "kube_audit_webhook_server must be the webhook's https:// URL, not the number 8443",
            id="server-number",
        ),
        pytest.param(
            "https://audit.example:99999/",
            CA,
            None,
            None,
            "kube_audit_webhook_server 'https://audit.example:99999/' has an invalid port (give 1 to 65535, or none "
            "for 443)",
            id="server-port",
        ),
        pytest.param(
            "https://audit.example/ events",
            CA,
            None,
            None,
            "kube_audit_webhook_server 'https://audit.example/ events' contains white space or a control character",
            id="server-space",
        ),
        pytest.param(
            "http://audit:pw@audit.example/events",
            CA,
            None,
            None,
            "kube_audit_webhook_server 'http://REDACTED@audit.example/events' is not an https:// URL: kube-apiserver "
            "must send audit events over TLS",
            id="server-http-password-not-shown",
        ),
        pytest.param(
            "https:///events",
            CA,
            None,
            None,
            "kube_audit_webhook_server 'https:///events' has no host: use https://host[:port][/path]",
            id="server-no-host",
        ),
        pytest.param(
            "",
            CA,
            None,
            None,
            "kube_audit_webhook_server is not set: give the webhook's https:// URL",
            id="server-empty",
        ),
        pytest.param(
            SERVER,
            None,
            None,
            None,
            "kube_audit_webhook_ca is not set: give the PEM certificate(s) of the CA that signed the webhook server's "
            "certificate",
            id="no-ca",
        ),
        pytest.param(
            SERVER,
            "not a certificate",
            None,
            None,
            "kube_audit_webhook_ca holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
            id="ca-not-pem",
        ),
        pytest.param(
            SERVER,
            CA + KEY,
            None,
            None,
            "kube_audit_webhook_ca holds a PEM PRIVATE KEY block (block 2): give certificates only",
            id="ca-with-key",
        ),
        pytest.param(
            SERVER,
            "caf\u00e9",
            None,
            None,
            "kube_audit_webhook_ca is not PEM text: it contains characters outside ASCII",
            id="ca-not-ascii",
        ),
        pytest.param(
            SERVER,
            CA,
            CLIENT_CERT,
            None,
            "kube_audit_webhook_client_cert is set but kube_audit_webhook_client_key is not: set both (client "
            "certificate authentication) or neither",
            id="cert-without-key",
        ),
        pytest.param(
            SERVER,
            CA,
            "",
            KEY,
            "kube_audit_webhook_client_key is set but kube_audit_webhook_client_cert is not: set both (client "
            "certificate authentication) or neither",
            id="key-without-cert",
        ),
        pytest.param(
            SERVER,
            CA,
            CLIENT_CERT,
            OTHER_KEY,
            "kube_audit_webhook_client_key does not match the client certificate in kube_audit_webhook_client_cert "
            "(subject 'kube-apiserver-audit'): give the key the certificate was issued for",
            id="key-mismatch",
        ),
        pytest.param(
            SERVER,
            CA,
            SERVER_CERT,
            KEY,
            "kube_audit_webhook_client_key does not match the client certificate in kube_audit_webhook_client_cert "
            "(subject 'audit.example'): give the key the certificate was issued for",
            id="server-certificate-as-client",
        ),
        pytest.param(
            SERVER,
            CA,
            CLIENT_CERT,
            ENCRYPTED_KEY,
            "kube_audit_webhook_client_key is encrypted; kube-apiserver cannot use an encrypted key: give it "
            "unencrypted",
            id="key-encrypted",
        ),
        pytest.param(
            SERVER,
            CA,
            CLIENT_CERT,
            CLIENT_CERT,
            "kube_audit_webhook_client_key holds no PEM private key (-----BEGIN ... PRIVATE KEY-----)",
            id="key-is-a-certificate",
        ),
    ],
)
def test_build_refuses(server, ca, cert, key, message):
    assert _refusal(_webhook_config.build_kubeconfig, server, ca, cert, key) == message


def test_build_refuses_a_certificate_that_cannot_be_read():
    lines = CA.splitlines()
    broken = "\n".join([lines[0], "AAAA" + lines[1][4:], *lines[2:]]) + "\n"
    message = _refusal(_webhook_config.build_kubeconfig, SERVER, broken)
    assert message.startswith("kube_audit_webhook_ca: certificate 1 cannot be read: ")


# --------------------------------------------------------------------------------------------------
# validate_kubeconfig
# --------------------------------------------------------------------------------------------------

GIVEN_SUMMARY = {
    "server": SERVER,
    "ca_subjects": ["audit-webhook-ca"],
    "client_certificate_subject": "kube-apiserver-audit",
    "has_client_key": True,
}


def test_validate_uses_the_current_context_among_several():
    assert _webhook_config.validate_kubeconfig(_changed(), SOURCE) == GIVEN_SUMMARY
    anonymous = _changed((("current-context",), "anonymous"))
    assert _webhook_config.validate_kubeconfig(anonymous, SOURCE) == dict(
        GIVEN_SUMMARY, client_certificate_subject=None, has_client_key=False
    )


def test_validate_reads_json_and_bytes():
    text = json.dumps(_given(), indent=2)
    assert _webhook_config.validate_kubeconfig(text, SOURCE) == GIVEN_SUMMARY
    assert _webhook_config.validate_kubeconfig(text.encode("utf-8"), SOURCE) == GIVEN_SUMMARY


def test_validate_takes_base64_wrapped_in_lines_and_names_each_ca_as_go_does():
    """Go's pkix.Name keeps the last CN; a subject without CN is shown whole."""
    wrapped = base64.encodebytes((NAMELESS_CA + TWO_NAMES_CA + CA).encode("ascii")).decode("ascii")
    assert "\n" in wrapped.strip()
    text = _changed(((*CLUSTER, "certificate-authority-data"), wrapped))
    assert _webhook_config.validate_kubeconfig(text, SOURCE)["ca_subjects"] == ["O=NNF", "last", "audit-webhook-ca"]


def test_validate_accepts_a_token_user():
    text = _changed((USER, {"token": "abc.def"}))
    summary = _webhook_config.validate_kubeconfig(text, SOURCE)
    assert summary["client_certificate_subject"] is None
    assert summary["has_client_key"] is False


def test_validate_reads_yaml_1_1_booleans_as_kube_apiserver_does():
    text = _changed().replace("    server: ", "    insecure-skip-tls-verify: yes\n    server: ", 1)
    assert _refusal(_webhook_config.validate_kubeconfig, text, SOURCE) == (
        f"{IN_CLUSTER}insecure-skip-tls-verify is true; the webhook's certificate must be verified: remove it and "
        "set certificate-authority-data"
    )


def test_validate_refuses_a_missing_current_context_even_with_one_context():
    """client-go does not fall back to the only context: kube-apiserver would exit (no configuration provided)."""
    config = _given()
    del config["current-context"]
    config["contexts"] = config["contexts"][1:]
    assert len(config["contexts"]) == 1
    assert _refusal(_webhook_config.validate_kubeconfig, yaml.safe_dump(config), SOURCE) == (
        f"{SOURCE}: current-context is not set; kube-apiserver uses the current context only (it does not pick one "
        "by itself): set current-context to the context of the webhook"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("clusters: [\n", f"{SOURCE}: the kubeconfig is not valid YAML: yaml: ", id="not-yaml"),
        pytest.param("# nothing\n", f"{SOURCE}: the kubeconfig is empty", id="empty"),
        pytest.param(
            "- a\n",
            f"{SOURCE}: the kubeconfig must be a mapping (apiVersion, clusters, contexts, users...), not a list",
            id="list",
        ),
        pytest.param(
            b"server: caf\xe9\n", f"{SOURCE}: the kubeconfig is not UTF-8 text (invalid continuation byte)", id="latin1"
        ),
    ],
)
def test_validate_refuses_what_is_not_a_kubeconfig(text, message):
    assert _refusal(_webhook_config.validate_kubeconfig, text, SOURCE).startswith(message)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        pytest.param(
            [(("apiVersion",), "v2")], f"{SOURCE}: apiVersion is 'v2'; a kubeconfig has apiVersion v1", id="api-version"
        ),
        pytest.param([(("kind",), "Pod")], f"{SOURCE}: kind is 'Pod'; a kubeconfig has kind Config", id="kind"),
        pytest.param(
            [(("clusters",), [])],
            f"{SOURCE}: it has 0 clusters; the audit webhook kubeconfig must have exactly one",
            id="no-cluster",
        ),
        pytest.param(
            [(("clusters",), [*_given()["clusters"], {"name": "spare", "cluster": {"server": SERVER}}])],
            f"{SOURCE}: it has 2 clusters ('webhook', 'spare'); the audit webhook kubeconfig must have exactly one",
            id="two-clusters",
        ),
        pytest.param(
            [(("clusters",), {"webhook": {}})], f"{SOURCE}: clusters must be a list, not a mapping", id="clusters-map"
        ),
        pytest.param([(("clusters", 0, "name"), DELETE)], f"{SOURCE}: clusters[0]: has no name", id="cluster-unnamed"),
        pytest.param(
            [(("users", 0, "name"), "apiserver")],
            f"{SOURCE}: users has two entries named 'apiserver': give each a different name",
            id="duplicate-users",
        ),
        pytest.param(
            [(("current-context",), "missing")],
            f"{SOURCE}: current-context 'missing' is not among its contexts",
            id="current-context-unknown",
        ),
        pytest.param(
            [((*CONTEXT, "cluster"), "elsewhere")],
            f"{SOURCE}: context 'webhook': its cluster 'elsewhere' is not among the clusters",
            id="context-cluster-unknown",
        ),
        pytest.param(
            [((*CONTEXT, "cluster"), DELETE)],
            f"{SOURCE}: context 'webhook': it names no cluster",
            id="context-without-cluster",
        ),
        pytest.param(
            [((*CONTEXT, "user"), "someone")],
            f"{SOURCE}: context 'webhook': its user 'someone' is not among the users",
            id="context-user-unknown",
        ),
        pytest.param(
            [((*CONTEXT, "user"), DELETE)],
            f"{SOURCE}: context 'webhook': it names no user (a user entry is needed, {{}} for no client credentials)",
            id="context-without-user",
        ),
        pytest.param(
            [((*CLUSTER, "server"), DELETE)],
            f"{IN_CLUSTER}server is not set: give the webhook's https:// URL",
            id="no-server",
        ),
        pytest.param(
            [((*CLUSTER, "server"), "http://audit.example")],
            f"{IN_CLUSTER}server 'http://audit.example' is not an https:// URL: kube-apiserver must send audit events "
            "over TLS",
            id="server-http",
        ),
        pytest.param(
            [((*CLUSTER, "server"), "https://audit.example/events?tenant=a")],
            f"{IN_CLUSTER}server 'https://audit.example/events?tenant=a' has a query or a fragment, which "
            "kube-apiserver's client drops: remove it",
            id="server-query",
        ),
        pytest.param(
            [((*CLUSTER, "server"), "https://audit:pw@audit.example/")],
            f"{IN_CLUSTER}server 'https://REDACTED@audit.example/' holds user information (user@host): remove it, "
            "credentials belong in the kubeconfig's user",
            id="server-userinfo",
        ),
        pytest.param(
            [((*CLUSTER, "server"), ["https://audit.example"])],
            f"{SOURCE}: cluster 'webhook': server must be a string, not a list",
            id="server-list",
        ),
        pytest.param(
            [((*CLUSTER, "certificate-authority-data"), DELETE), ((*CLUSTER, "certificate-authority"), "/pki/ca")],
            f"{IN_CLUSTER}certificate-authority {FILE_PATH} certificate-authority-data (the file's base64) instead",
            id="ca-file",
        ),
        pytest.param(
            [((*CLUSTER, "certificate-authority-data"), DELETE)],
            f"{IN_CLUSTER}certificate-authority-data is not set: give the base64 of the PEM certificate(s) of the CA "
            "that signed the webhook server's certificate",
            id="no-ca",
        ),
        pytest.param(
            [((*CLUSTER, "certificate-authority-data"), CA)],
            f"{IN_CLUSTER}certificate-authority-data is not valid base64 (it holds PEM text itself): give the base64 "
            "of the PEM file (",
            id="ca-raw-pem",
        ),
        pytest.param(
            [((*CLUSTER, "certificate-authority-data"), _b64("just text\n"))],
            f"{IN_CLUSTER}certificate-authority-data holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
            id="ca-not-pem",
        ),
        pytest.param(
            [((*CLUSTER, "certificate-authority-data"), _b64(KEY))],
            f"{IN_CLUSTER}certificate-authority-data holds a PEM PRIVATE KEY block (block 1): give certificates only",
            id="ca-is-a-key",
        ),
        pytest.param(
            [((*CLUSTER, "insecure-skip-tls-verify"), True)],
            f"{IN_CLUSTER}insecure-skip-tls-verify is true; the webhook's certificate must be verified: remove it and "
            "set certificate-authority-data",
            id="insecure",
        ),
        pytest.param(
            [((*USER, "exec"), {"apiVersion": "client.authentication.k8s.io/v1", "command": "get-token"})],
            f"{IN_USER}exec is set (an exec credential plugin); {PLUGIN}",
            id="exec",
        ),
        pytest.param(
            [((*USER, "auth-provider"), {"name": "oidc", "config": {"id-token": "x"}})],
            f"{IN_USER}auth-provider is set (an auth-provider plugin); {PLUGIN}",
            id="auth-provider",
        ),
        pytest.param(
            [((*USER, "client-certificate-data"), DELETE), ((*USER, "client-certificate"), "/pki/client.crt")],
            f"{IN_USER}client-certificate {FILE_PATH} client-certificate-data (the file's base64) instead",
            id="client-certificate-file",
        ),
        pytest.param(
            [((*USER, "client-key-data"), DELETE), ((*USER, "client-key"), "/pki/client.key")],
            f"{IN_USER}client-key {FILE_PATH} client-key-data (the file's base64) instead",
            id="client-key-file",
        ),
        pytest.param(
            [(USER, {"tokenFile": "/var/run/token"})],
            f"{IN_USER}tokenFile {FILE_PATH} token (the token itself) instead",
            id="token-file",
        ),
        pytest.param(
            [((*USER, "client-key-data"), DELETE)],
            f"{IN_USER}client-certificate-data is set but client-key-data is not: set both or neither",
            id="cert-without-key",
        ),
        pytest.param(
            [((*USER, "client-certificate-data"), DELETE)],
            f"{IN_USER}client-key-data is set but client-certificate-data is not: set both or neither",
            id="key-without-cert",
        ),
        pytest.param(
            [((*USER, "client-key-data"), _b64(OTHER_KEY))],
            f"{IN_USER}client-key-data does not match the client certificate in client-certificate-data (subject "
            "'kube-apiserver-audit'): give the key the certificate was issued for",
            id="key-mismatch",
        ),
        pytest.param(
            [((*USER, "client-key-data"), _b64(ENCRYPTED_KEY))],
            f"{IN_USER}client-key-data is encrypted; kube-apiserver cannot use an encrypted key: give it unencrypted",
            id="key-encrypted",
        ),
        pytest.param(
            [((*USER, "client-certificate-data"), _b64(CLIENT_CERT + KEY))],
            f"{IN_USER}client-certificate-data holds a PEM PRIVATE KEY block (block 2): give certificates only",
            id="cert-with-key",
        ),
        pytest.param(
            [((*USER, "client-key-data"), _b64("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"))],
            f"{IN_USER}client-key-data cannot be read as a private key: ",
            id="key-garbage",
        ),
    ],
)
def test_validate_refuses(changes, message):
    refusal = _refusal(_webhook_config.validate_kubeconfig, _changed(*changes), SOURCE)
    if message.endswith((": ", "(")):  # the rest is the parser's wording
        assert refusal.startswith(message)
    else:
        assert refusal == message


# --------------------------------------------------------------------------------------------------
# redacted
# --------------------------------------------------------------------------------------------------


def test_redacted_built_kubeconfig_keeps_every_line_but_the_key():
    text = _webhook_config.build_kubeconfig(SERVER, CA, CLIENT_CERT, KEY)
    shown = _webhook_config.redacted(text)
    assert _b64(KEY) in text
    assert _b64(KEY) not in shown
    before, after = text.splitlines(keepends=True), shown.splitlines(keepends=True)
    assert len(before) == len(after)
    changed = [(old, new) for old, new in zip(before, after) if old != new]
    assert changed == [(f"    client-key-data: {_b64(KEY)}\n", "    client-key-data: REDACTED\n")]


def test_redacted_quoted_plain_block_and_commented_values():
    text = (
        "users:\r\n"
        "- name: a\r\n"
        "  user:\r\n"
        '    token: "abc.def" # the token\r\n'
        "- name: b\n"
        "  user:\n"
        "    password: 'it''s secret'\n"
        "    username: admin\n"
        "- token: plain-secret # why\n"
        "  name: c\n"
        "  user:\n"
        "    client-key-data: |\n"
        "      TUlJRXZRSUJBREFOQmdrcWhraUc5dzBCQVFFRkFBU0NC\n"
        "\n"
        "      S2N3Z2dTakFnRUFBb0lCQVFD\n"
        "    client-certificate-data: Q0VSVA==\n"
        '    "client-key-data":\n'
        "      multi line\n"
        "      plain secret\n"
    )
    assert _webhook_config.redacted(text) == (
        "users:\r\n"
        "- name: a\r\n"
        "  user:\r\n"
        '    token: "REDACTED" # the token\r\n'
        "- name: b\n"
        "  user:\n"
        "    password: 'REDACTED'\n"
        "    username: admin\n"
        "- token: REDACTED # why\n"
        "  name: c\n"
        "  user:\n"
        "    client-key-data: REDACTED\n"
        "      REDACTED\n"
        "\n"
        "      REDACTED\n"
        "    client-certificate-data: Q0VSVA==\n"
        '    "client-key-data":\n'
        "      REDACTED\n"
        "      REDACTED\n"
    )


def test_redacted_auth_provider_secrets():
    text = (
        "    auth-provider:\n"
        "      config:\n"
        "        client-id: kube\n"
        "        client-secret: c1\n"
        "        id-token: t1\n"
        "        idp-issuer-url: https://issuer.example\n"
        "        refresh-token: r1\n"
    )
    assert _webhook_config.redacted(text) == (
        "    auth-provider:\n"
        "      config:\n"
        "        client-id: kube\n"
        "        client-secret: REDACTED\n"
        "        id-token: REDACTED\n"
        "        idp-issuer-url: https://issuer.example\n"
        "        refresh-token: REDACTED\n"
    )


def test_redacted_json_stays_json():
    config = _given()
    config["users"][0]["user"] = {"token": "abc.def", "password": "pw"}
    shown = _webhook_config.redacted(json.dumps(config, indent=2))
    expected = copy.deepcopy(config)
    expected["users"][0]["user"] = {"token": "REDACTED", "password": "REDACTED"}
    expected["users"][1]["user"]["client-key-data"] = "REDACTED"
    assert json.loads(shown) == expected


def test_redacted_leaves_a_text_without_secrets_alone():
    text = _webhook_config.build_kubeconfig(SERVER, CA) + "# token is not a key here\ntokens: 3\n"
    assert _webhook_config.redacted(text) == text


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(json.dumps(_given()), id="json-on-one-line"),
        pytest.param("users: [{name: a, user: {client-key-data: c2VjcmV0}}]\n", id="flow-mapping"),
        pytest.param("users: {token: c2VjcmV0\n", id="not-yaml"),
        pytest.param("kind: Config\n---\nuser: {password: c2VjcmV0}\n", id="second-document"),
        pytest.param('user: {"token":\n  c2VjcmV0}\n', id="key-and-value-on-two-lines"),
        pytest.param(b"token: c2VjcmV0 \xff\n", id="not-utf8"),
    ],
)
def test_redacted_shows_nothing_when_a_secret_would_remain(text):
    assert _webhook_config.redacted(text) == _webhook_config.NOT_SHOWN


# --------------------------------------------------------------------------------------------------
# checksum
# --------------------------------------------------------------------------------------------------


def test_checksum_is_the_collections_sha256_of_the_utf8_text():
    text = _webhook_config.build_kubeconfig(SERVER, CA, CLIENT_CERT, KEY)
    assert _webhook_config.checksum is audit_policy.checksum
    assert _webhook_config.checksum(text) == hashlib.sha256(text.encode("utf-8")).hexdigest()
    assert _webhook_config.checksum("caf\u00e9") == hashlib.sha256(b"caf\xc3\xa9").hexdigest()


def test_checksum_is_stable_and_follows_the_content():
    first = _webhook_config.checksum(_webhook_config.build_kubeconfig(SERVER, CA, CLIENT_CERT, KEY))
    again = _webhook_config.checksum(_webhook_config.build_kubeconfig(SERVER, CA.strip(), CLIENT_CERT, KEY))
    without_client = _webhook_config.checksum(_webhook_config.build_kubeconfig(SERVER, CA))
    assert first == again
    assert first != without_client

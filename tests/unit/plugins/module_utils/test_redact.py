"""_redact: a kubeconfig's secrets replaced line by line (``line_redacted``), or not shown at all (``shown``).

``shown()`` is what a master's diff of the webhook kubeconfig shows. Every secret below is spelled ``s3cr3t...``:
each case asserts that none of it reaches the output, so that a case fails whenever ``shown()`` leaks, whatever
else it returns. The built kubeconfig is ``_webhook_config.build_kubeconfig``'s, from a CA and a client certificate
and key made here.
"""

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from webhook_pki import b64 as _b64
from webhook_pki import certificate as _certificate
from webhook_pki import name as _name

from ansible_collections.nnf.kube_audit.plugins.module_utils import _redact
from ansible_collections.nnf.kube_audit.plugins.plugin_utils import _webhook_config

NOT_SHOWN = _redact.NOT_SHOWN
SECRET = "s3cr3t"


CA_KEY = ec.generate_private_key(ec.SECP256R1())
CA = _certificate(CA_KEY, _name("audit-webhook-ca"), ca=True)
CLIENT_KEY = ec.generate_private_key(ec.SECP256R1())
CLIENT_CERT = _certificate(CLIENT_KEY, _name("kube-apiserver-audit"), CA_KEY, _name("audit-webhook-ca"))
KEY = CLIENT_KEY.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
).decode("ascii")
SERVER = "https://audit.example:8443/events"
BUILT = _webhook_config.build_kubeconfig(SERVER, CA, CLIENT_CERT, KEY)


def assert_hidden(shown, *secrets):
    for secret in secrets:
        assert secret not in shown, f"{secret!r} leaked into:\n{shown}"


# --------------------------------------------------------------------------------------------------
# line_redacted
# --------------------------------------------------------------------------------------------------


def test_line_redacted_replaces_the_values_and_keeps_every_other_byte():
    text = (
        "apiVersion: v1\r\n"
        "users:\r\n"
        "- name: a\r\n"
        "  user:\r\n"
        '    token: "s3cr3t-dq" # the token\r\n'
        "    username: admin\n"
        "    password: 's3cr3t-sq''s'\n"
        "- token: s3cr3t-plain # why\n"
        "  name: c\n"
        "  user:\n"
        "    client-key-data: |-\n"
        "      s3cr3t-block-1\n"
        "\n"
        "      s3cr3t-block-2\n"
        "    client-certificate-data: Q0VSVA==\n"
        "    'password':\n"
        "      s3cr3t-next-line\n"
        "tokens: 3\n"
        "last: without a newline"
    )
    assert _redact.line_redacted(text) == (
        "apiVersion: v1\r\n"
        "users:\r\n"
        "- name: a\r\n"
        "  user:\r\n"
        '    token: "REDACTED" # the token\r\n'
        "    username: admin\n"
        "    password: 'REDACTED'\n"
        "- token: REDACTED # why\n"
        "  name: c\n"
        "  user:\n"
        "    client-key-data: REDACTED\n"
        "      REDACTED\n"
        "\n"
        "      REDACTED\n"
        "    client-certificate-data: Q0VSVA==\n"
        "    'password':\n"
        "      REDACTED\n"
        "tokens: 3\n"
        "last: without a newline"
    )


def test_line_redacted_leaves_a_text_without_secrets_byte_for_byte():
    text = _webhook_config.build_kubeconfig(SERVER, CA) + "# a token: in a comment\r\ntokens: 3\r\n  \n"
    assert _redact.line_redacted(text) == text


def test_line_redacted_changes_only_the_key_line_of_the_built_kubeconfig():
    out = _redact.line_redacted(BUILT)
    before, after = BUILT.splitlines(keepends=True), out.splitlines(keepends=True)
    assert len(before) == len(after)
    assert [(old, new) for old, new in zip(before, after) if old != new] == [
        (f"    client-key-data: {_b64(KEY)}\n", "    client-key-data: REDACTED\n")
    ]


# --------------------------------------------------------------------------------------------------
# shown: what can be redacted line by line
# --------------------------------------------------------------------------------------------------


def test_shown_built_kubeconfig_redacts_the_key_and_keeps_the_certificates():
    shown = _redact.shown(BUILT)
    assert shown == BUILT.replace(_b64(KEY), "REDACTED")
    assert "    client-key-data: REDACTED\n" in shown
    assert f"    client-certificate-data: {_b64(CLIENT_CERT)}\n" in shown
    assert f"    certificate-authority-data: {_b64(CA)}\n" in shown
    assert_hidden(shown, _b64(KEY), _b64(KEY)[:40], _b64(KEY)[-40:])


def test_shown_takes_utf8_bytes_as_text():
    assert _redact.shown(BUILT.encode("utf-8")) == _redact.shown(BUILT)


def test_shown_built_kubeconfig_without_secrets_is_the_text_itself():
    text = _webhook_config.build_kubeconfig(SERVER, CA)
    assert _redact.shown(text) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "users:\n- name: a\n  user:\n    token: s3cr3t-plain\n",
            "users:\n- name: a\n  user:\n    token: REDACTED\n",
            id="token-plain",
        ),
        pytest.param(
            'users:\n- name: a\n  user:\n    token: "s3cr3t.dq" # a comment\n',
            'users:\n- name: a\n  user:\n    token: "REDACTED" # a comment\n',
            id="token-double-quoted",
        ),
        pytest.param(
            "users:\n- name: a\n  user:\n    token: 's3cr3t''sq'\n",
            "users:\n- name: a\n  user:\n    token: 'REDACTED'\n",
            id="token-single-quoted",
        ),
        pytest.param(
            "users:\n- name: a\n  user:\n    token: >-\n      s3cr3t-fold-1\n      s3cr3t-fold-2\n    username: u\n",
            "users:\n- name: a\n  user:\n    token: REDACTED\n      REDACTED\n      REDACTED\n    username: u\n",
            id="token-block",
        ),
        pytest.param(
            "users:\n- name: a\n  user:\n    username: admin\n    password: s3cr3t-plain # why\n",
            "users:\n- name: a\n  user:\n    username: admin\n    password: REDACTED # why\n",
            id="password-plain",
        ),
        pytest.param(
            'users:\n- name: a\n  user:\n    "password": "s3cr3t dq"\n',
            'users:\n- name: a\n  user:\n    "password": "REDACTED"\n',
            id="password-quoted-key-and-value",
        ),
        pytest.param(
            "users:\n- name: a\n  user:\n    password: |\n      s3cr3t-literal\n\n      s3cr3t-after-blank\n",
            "users:\n- name: a\n  user:\n    password: REDACTED\n      REDACTED\n\n      REDACTED\n",
            id="password-block",
        ),
        pytest.param(
            'users:\n- name: a\n  user:\n    token: "s3cr3t-first\n      s3cr3t-second"\n',
            'users:\n- name: a\n  user:\n    token: "REDACTED\n      REDACTED"\n',  # quotes kept, to the closing one
            id="token-double-quoted-on-two-lines",
        ),
        pytest.param(
            "users:\n- name: a\n  user:\n    token:\n      s3cr3t-on-the-next-line\n",
            "users:\n- name: a\n  user:\n    token:\n      REDACTED\n",
            id="token-on-the-next-line",
        ),
        pytest.param(
            "users:\r\n- name: a\r\n  user:\r\n    token: s3cr3t-crlf\r\n",
            "users:\r\n- name: a\r\n  user:\r\n    token: REDACTED\r\n",
            id="crlf",
        ),
        pytest.param(
            "auth:\n  config:\n    client-secret: s3cr3t-c\n    id-token: s3cr3t-i\n    refresh-token: s3cr3t-r\n",
            "auth:\n  config:\n    client-secret: REDACTED\n    id-token: REDACTED\n    refresh-token: REDACTED\n",
            id="auth-provider-keys",
        ),
    ],
)
def test_shown_redacts_tokens_and_passwords_in_every_form(text, expected):
    shown = _redact.shown(text)
    assert shown == expected
    assert_hidden(shown, SECRET)


# --------------------------------------------------------------------------------------------------
# shown: NOT_SHOWN whenever in doubt
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(
            '{"users":[{"name":"a","user":{"token":"s3cr3t-json"}}],"current-context":"w"}\n', id="json-one-liner"
        ),
        pytest.param("users:\n- name: a\n  user: {token: s3cr3t-flow}\n", id="flow-mapping"),
        pytest.param(
            # The secret sits on a line that names no secret key: only the anchor tells.
            "defaults: &secret s3cr3t-anchored\nusers:\n- name: a\n  user:\n    token: *secret\n",
            id="anchor-and-alias",
        ),
        pytest.param(
            "shared: &creds\n  tok: s3cr3t-under-an-anchor\nusers:\n- name: a\n  user: *creds\n",
            id="alias-of-a-mapping",
        ),
        pytest.param(
            # Every secret line is redacted; the merge key alone is the doubt.
            "users:\n- name: a\n  user:\n    <<:\n      token: s3cr3t-merged\n",
            id="merge-key",
        ),
        pytest.param(
            "users:\n- name: a\n  user:\n    <<: {password: s3cr3t-merged-flow}\n", id="merge-key-flow-mapping"
        ),
        pytest.param('users:\n- name: a\n  user:\n    "tok\\x65n": s3cr3t-escaped-key\n', id="escaped-key"),
        pytest.param('users:\n- name: a\n  user:\n    "pass\\u0077ord": s3cr3t-escaped\n', id="unicode-escaped-key"),
        pytest.param(
            # A tab before the continuation would end it by the indentation rule: the tab is the doubt.
            'users:\n- name: a\n  user:\n    token: "s3cr3t-tab-1\n\ts3cr3t-tab-2"\n',
            id="tab-in-a-continuation",
        ),
        pytest.param("users:\n- name: a\n  user:\n    token:\ts3cr3t-tab\n", id="tab-after-the-key"),
        pytest.param(b"note: \xff\nusers:\n- name: a\n  user:\n    token: s3cr3t-bytes\n", id="invalid-utf8"),
        pytest.param(b"token: s3cr3t-bytes \xc3\x28\n", id="invalid-utf8-on-the-secret-line"),
        pytest.param("users:\n- name: a\n  user:\n    ? token\n    : s3cr3t-complex-key\n", id="complex-key"),
        pytest.param(
            "users:\n- name: a\n  user: {\n    token\n    : s3cr3t-split-flow }\n", id="key-and-value-on-two-lines"
        ),
        pytest.param("# token: s3cr3t-in-a-comment\nkind: Config\n", id="secret-key-named-in-a-comment"),
        pytest.param("users:\n- name: token\n  user:\n    username: s3cr3t-user\n", id="secret-key-named-in-a-value"),
    ],
)
def test_shown_gives_not_shown_for_every_doubtful_form(text):
    shown = _redact.shown(text)
    assert shown == NOT_SHOWN
    assert_hidden(shown, SECRET)


# --------------------------------------------------------------------------------------------------
# shown: a secret value continued on lines that are not more indented than its key
# --------------------------------------------------------------------------------------------------

USER = "apiVersion: v1\nkind: Config\nusers:\n- name: u\n  user:\n"


@pytest.mark.parametrize(
    ("tail", "value"),
    [
        pytest.param(
            '    token: "s3cr3t-first-half\n    s3cr3t-second-half"\n',
            "s3cr3t-first-half s3cr3t-second-half",
            id="double-quoted-continued-at-the-keys-indentation",
        ),
        pytest.param(
            "    password: 's3cr3t-first-half\n  s3cr3t-second-half'\n",
            "s3cr3t-first-half s3cr3t-second-half",
            id="single-quoted-continued-left-of-the-key",
        ),
        pytest.param(
            '    token: "s3cr3t-first\n        s3cr3t-middle\n    s3cr3t-last"\n',
            "s3cr3t-first s3cr3t-middle s3cr3t-last",
            id="double-quoted-closed-at-the-keys-indentation",
        ),
        pytest.param("    token:\n    - s3cr3t-in-a-sequence\n", ["s3cr3t-in-a-sequence"], id="compact-sequence"),
    ],
)
def test_shown_never_shows_a_value_continued_at_or_left_of_its_keys_indentation(tail, value):
    """YAML (PyYAML, and go-yaml as kube-apiserver reads the file) takes these lines as the secret's value: a quoted
    scalar ends at its closing quote whatever the indentation, and a block sequence may sit at its key's column."""
    text = USER + tail
    assert yaml.safe_load(text)["users"][0]["user"] == {tail.split(":")[0].strip(): value}
    shown = _redact.shown(text)
    assert_hidden(shown, SECRET)

"""_kubeconfig: admin.conf read with the standard library only, as client-go reads it, or refused with a message."""

import base64
import copy
import json
import os
import random
import textwrap

import pytest
from kube_api_server import write_admin_conf

from ansible_collections.nnf.kube_audit.plugins.module_utils import _kubeconfig
from ansible_collections.nnf.kube_audit.plugins.module_utils._errors import KubeAuditError
from ansible_collections.nnf.kube_audit.plugins.module_utils._kubeconfig import (
    Kubeconfig,
    KubeconfigError,
    KubeconfigMissing,
    load_kubeconfig,
    parse_kubeconfig_text,
)
from ansible_collections.nnf.kube_audit.plugins.plugin_utils import _goyaml

CA_PEM = (
    b"-----BEGIN CERTIFICATE-----\n"
    b"MIIC/jCCAeagAwIBAgIBADANBgkqhkiG9w0BAQsFADAVMRMwEQYDVQQDEwprdWJl\n"
    b"-----END CERTIFICATE-----\n"
)
CERT_PEM = (
    b"-----BEGIN CERTIFICATE-----\n"
    b"MIIDITCCAgmgAwIBAgIIUvzKJ1bJzL8wDQYJKoZIhvcNAQELBQAwFTETMBEGA1UE\n"
    b"-----END CERTIFICATE-----\n"
)
KEY_PEM = (
    b"-----BEGIN RSA PRIVATE KEY-----\n"
    b"MIIEowIBAAKCAQEAwq7s0Qm4nQ3O2rW7kHq1JvFv6t9nqU0a0Nn5PqUu3hGv0Yx\n"
    b"-----END RSA PRIVATE KEY-----\n"
)


def b64(data):
    return base64.b64encode(data).decode("ascii")


# /etc/kubernetes/admin.conf as kubeadm writes it (client-go's clientcmd.Write: go-yaml v2, keys sorted).
ADMIN_CONF = f"""\
apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: {b64(CA_PEM)}
    server: https://10.30.1.2:6443
  name: kubernetes
contexts:
- context:
    cluster: kubernetes
    user: kubernetes-admin
  name: kubernetes-admin@kubernetes
current-context: kubernetes-admin@kubernetes
kind: Config
preferences: {{}}
users:
- name: kubernetes-admin
  user:
    client-certificate-data: {b64(CERT_PEM)}
    client-key-data: {b64(KEY_PEM)}
"""

ADMIN = {
    "apiVersion": "v1",
    "clusters": [
        {
            "cluster": {"certificate-authority-data": b64(CA_PEM), "server": "https://10.30.1.2:6443"},
            "name": "kubernetes",
        }
    ],
    "contexts": [
        {"context": {"cluster": "kubernetes", "user": "kubernetes-admin"}, "name": "kubernetes-admin@kubernetes"}
    ],
    "current-context": "kubernetes-admin@kubernetes",
    "kind": "Config",
    "preferences": {},
    "users": [
        {
            "name": "kubernetes-admin",
            "user": {"client-certificate-data": b64(CERT_PEM), "client-key-data": b64(KEY_PEM)},
        }
    ],
}


def write(tmp_path, text, name="admin.conf"):
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return str(path)


def write_json(tmp_path, config, name="admin.conf"):
    return write(tmp_path, json.dumps(config, indent=2), name)


def refused(path, *fragments, missing=False):
    with pytest.raises(KubeconfigError) as caught:
        load_kubeconfig(path)
    message = str(caught.value)
    assert isinstance(caught.value, KubeAuditError)
    assert isinstance(caught.value, KubeconfigMissing) is missing, message
    assert path in message
    for fragment in fragments:
        assert fragment in message
    return message


def assert_admin(config, path):
    assert isinstance(config, Kubeconfig)
    assert config.path == path
    assert config.server == "https://10.30.1.2:6443"
    assert config.ca_pem == CA_PEM
    assert config.client_cert_pem == CERT_PEM
    assert config.client_key_pem == KEY_PEM
    assert config.token is None
    assert config.tls_server_name is None
    assert (config.context, config.cluster, config.user) == (
        "kubernetes-admin@kubernetes",
        "kubernetes",
        "kubernetes-admin",
    )
    assert config.credentials == "client certificate"


# --------------------------------------------------------------------------------------------------
# The forms client-go and kubeadm write
# --------------------------------------------------------------------------------------------------


def test_admin_conf_as_kubeadm_writes_it(tmp_path):
    path = write(tmp_path, ADMIN_CONF)
    config = load_kubeconfig(path)
    assert_admin(config, path)
    # no secret in its repr (it may end up in a message or a log)
    assert b64(KEY_PEM)[:20] not in repr(config)
    assert "PRIVATE" not in repr(config)
    assert "kubernetes-admin@kubernetes" in repr(config)


def test_the_yaml_reader_reads_admin_conf_as_go_yaml_does():
    assert parse_kubeconfig_text(ADMIN_CONF, "admin.conf") == ADMIN == _goyaml.load(ADMIN_CONF)


def test_json_form(tmp_path):
    path = write_json(tmp_path, ADMIN)
    assert_admin(load_kubeconfig(path), path)
    compact = write(tmp_path, json.dumps(ADMIN), "compact.json")
    assert_admin(load_kubeconfig(compact), compact)


def test_byte_order_mark_crlf_comments_and_document_markers(tmp_path):
    text = "# written by hand\n---\n" + ADMIN_CONF.replace("kind: Config\n", "kind: Config   # the kind\n") + "...\n"
    path = write(tmp_path, b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode("utf-8"))
    assert_admin(load_kubeconfig(path), path)


def test_indented_sequences_and_quoted_scalars(tmp_path):
    # what other writers (kubectl config, ruamel, PyYAML) produce: indented sequences, quotes, explicit nulls
    text = textwrap.dedent(
        f"""\
        apiVersion: "v1"
        kind: 'Config'
        clusters:
          - name: "kubernetes"
            cluster:
              server: 'https://10.30.1.2:6443'
              certificate-authority-data: "{b64(CA_PEM)}"
              insecure-skip-tls-verify: false
        contexts:
          -   name: kubernetes-admin@kubernetes
              context: {{cluster: kubernetes, user: kubernetes-admin}}
        current-context: kubernetes-admin@kubernetes
        users:
          - name: kubernetes-admin
            user:
              client-certificate-data: {b64(CERT_PEM)}
              client-key-data: {b64(KEY_PEM)}
              token: ~
        extensions: []
        preferences: null
        """
    )
    # a flow mapping is outside the subset: refused, never misread
    path = write(tmp_path, text)
    refused(path, "line 11:", "a flow collection other than {} or []")
    fixed = text.replace(
        "      context: {cluster: kubernetes, user: kubernetes-admin}\n",
        "      context:\n        cluster: kubernetes\n        user: kubernetes-admin\n",
    )
    path = write(tmp_path, fixed, "fixed.conf")
    assert_admin(load_kubeconfig(path), path)
    assert parse_kubeconfig_text(fixed, path) == _goyaml.load(fixed)


def test_file_paths_are_relative_to_the_kubeconfig(tmp_path, monkeypatch):
    (tmp_path / "etc" / "pki").mkdir(parents=True)
    (tmp_path / "etc" / "pki" / "ca.crt").write_bytes(CA_PEM)
    (tmp_path / "etc" / "pki" / "admin.crt").write_bytes(CERT_PEM)
    absolute_key = tmp_path / "elsewhere" / "admin.key"
    absolute_key.parent.mkdir()
    absolute_key.write_bytes(KEY_PEM)
    config = copy.deepcopy(ADMIN)
    config["clusters"][0]["cluster"] = {"certificate-authority": "pki/ca.crt", "server": "https://10.30.1.2:6443"}
    config["users"][0]["user"] = {"client-certificate": "pki/admin.crt", "client-key": str(absolute_key)}
    write_json(tmp_path, config, "etc/admin.conf")
    monkeypatch.chdir(tmp_path)  # a relative kubeconfig path: its directory is still the base
    assert_admin(load_kubeconfig("etc/admin.conf"), "etc/admin.conf")
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert_admin(load_kubeconfig("../etc/admin.conf"), "../etc/admin.conf")
    os.unlink(tmp_path / "etc" / "pki" / "ca.crt")
    message = refused("../etc/admin.conf", "cluster 'kubernetes'")
    assert f"the certificate-authority file {tmp_path / 'etc' / 'pki' / 'ca.crt'} does not exist" in message


def test_token_tls_server_name_ipv6_and_path_prefix(tmp_path):
    config = copy.deepcopy(ADMIN)
    config["clusters"][0]["cluster"].update(
        {"server": "https://[fd00::2]:6443/k8s/clusters/c-1", "tls-server-name": "kubernetes"}
    )
    config["users"][0]["user"] = {"token": "abcdef.0123456789abcdef"}
    loaded = load_kubeconfig(write_json(tmp_path, config))
    assert loaded.server == "https://[fd00::2]:6443/k8s/clusters/c-1"
    assert loaded.tls_server_name == "kubernetes"
    assert loaded.token == "abcdef.0123456789abcdef"
    assert (loaded.client_cert_pem, loaded.client_key_pem) == (None, None)
    assert loaded.credentials == "token"
    assert "abcdef" not in repr(loaded)


def test_a_cluster_without_certificate_authority_uses_the_system_trust(tmp_path):
    config = copy.deepcopy(ADMIN)
    del config["clusters"][0]["cluster"]["certificate-authority-data"]
    assert load_kubeconfig(write_json(tmp_path, config)).ca_pem is None


# --------------------------------------------------------------------------------------------------
# The YAML subset: read as go-yaml v2 reads it, or refused
# --------------------------------------------------------------------------------------------------

ACCEPTED = [
    ADMIN_CONF,
    "a:\n- 1\n- -\n  - x\n-\n  k: v\n- - 1\n  - 2\nb: end\n",
    "- a\n- b: 1\n  c:\n  - d\n  e: ~\n-\n- last\n",
    "s: 'it''s # not a comment'\nd: \"\\u00e9\\x41\\t\\\"\\\\ \\/\\N\\_\"\ne: \"\"\nf: ''\n",
    "n1:\nn2: ~\nn3: null\nn4: NULL\nb1: yes\nb2: off\nb3: True\nb4: n\ni: 0755\nj: 1_000\nk: -12\nx: 0x1F\n",
    "f1: 1.5\nf2: .5\nf3: 1e3\nt: 2024-01-02\nt2: 2001-12-14t21:59:43.10-05:00\nv: 1.2.3\nip: 10.30.1.2\n",
    "u: https://host:6443/path?x=1#frag\nh: a#b\nc: a # comment\n-k: dash key\n'quoted key': 1\n\"dq\": 2\n",
    "e1: {}\ne2: [ ]\ne3: { }  # empty\ncolon: a:b\nsp: a  b\n",
    "top:\n    deep:\n            deeper: 1\n    back: 2\n",
    "# only a comment\n\n---   # start\nkey: value\n...\n# trailing comment\n",
    'k: "tab\tinside" \n',
    "k: 'x'   \n",
]


@pytest.mark.parametrize("text", ACCEPTED)
def test_accepted_yaml_reads_as_go_yaml_v2_reads_it(text):
    assert parse_kubeconfig_text(text, "f") == _goyaml.load(text)


REFUSED = [
    ("a: &anchor 1\n", 1, "an anchor (&)"),
    ("a: 1\nb: *anchor\n", 2, "an alias (*)"),
    ("a: !!str 1\n", 1, "a tag (!)"),
    ("a: |\n  text\n", 1, "a block scalar (|)"),
    ("a: >-\n  text\n", 1, "a block scalar (>)"),
    ("a: [1, 2]\n", 1, "a flow collection other than {} or []"),
    ("a: {b: 1}\n", 1, "a flow collection other than {} or []"),
    ("a: plain\n  continued\n", 2, "unexpected indentation (a multi-line scalar"),
    ("a: 'quoted\n  continued'\n", 1, "a quoted scalar that continues on the next line"),
    ('a: "escaped \\\n  break"\n', 1, "a quoted scalar that continues on the next line"),
    ("a: 1\na: 2\n", 2, "key 'a' appears twice in one mapping (first on line 1)"),
    ("? a\n: b\n", 1, "a complex mapping key ('? ')"),
    ("a:\n\tb: 1\n", 2, "a tab in the indentation"),
    ("a:\tb\n", 1, "a tab outside a quoted scalar"),
    ("a: b\tc\n", 1, "a tab outside a quoted scalar"),
    ("1: x\n", 1, "the key '1' is not a string (YAML 1.1 reads it as the number 1); quote it"),
    ("yes: x\n", 1, "the key 'yes' is not a string (YAML 1.1 reads it as the boolean true)"),
    ("~: x\n", 1, "the key '~' is not a string (YAML 1.1 reads it as null)"),
    ("a: b: c\n", 1, "a ': ' inside a plain value"),
    ("a: b:\n", 1, "a ': ' inside a plain value"),
    ("a: - b\n", 1, "'-' followed by a space or the line's end cannot start a value"),
    ("- a\nb: c\n", 2, "this line does not continue the block above it"),
    ("a: 1\n- b\n", 2, "a sequence entry ('- ') where a mapping key was expected"),
    ("a:\n  b\n", 2, "a scalar on a line of its own"),
    ("a:\n  - b\n  c: 1\n", 3, "unexpected indentation"),
    ("a:\n  - b\n c: 1\n", 3, "unexpected indentation"),
    ("a:\n  b: 1\n   c: 2\n", 3, "unexpected indentation"),
    ("---\na: 1\n---\nb: 2\n", 3, "a second YAML document"),
    ("a: 1\n---\n", 2, "a second YAML document"),
    ("a: 1\n...\nb: 2\n", 3, "content after the end of the document"),
    ("--- a: 1\n", 1, "content after the document marker '---'"),
    ("%YAML 1.1\n---\na: 1\n", 1, "a YAML directive (%)"),
    ("a: 'x' y\n", 1, "unexpected text after a value: 'y'"),
    ("a: {}x\n", 1, "unexpected text after a value"),
    ("a: 'x'#c\n", 1, "unexpected text after a value"),
    ('a: "\\q"\n', 1, "an invalid escape '\\\\q'"),
    ('a: "\\x4"\n', 1, "an invalid escape"),
    ('a: "\\ud800"\n', 1, "is not a Unicode character"),
    ("a: @x\n", 1, "a reserved character (@)"),
    ("a: `x\n", 1, "a reserved character (`)"),
    ("a: ]\n", 1, "a stray ']'"),
    ("a: 1\rb: 2\n", 1, "a carriage return inside a line"),
    ("a: b\x01c\n", 1, "the character U+0001, which this reader does not take"),
    ("a: 'b\x85c'\n", 1, "the character U+0085"),
    ("a: b\u2028c\n", 1, "the character U+2028"),
    ("a: 1\n\t\n", 2, "a tab in the indentation"),
    ("# comment\n...\n", 2, "a document end marker ('...') without a document"),
    ("k" * 1001 + ": 1\n", 1, "a mapping key longer than 1000 characters"),
    ("just a scalar\n", 1, "the document is a single scalar, not a mapping"),
    ("&a just a scalar\n", 1, "an anchor (&)"),
    ("a:\n  &x b: 1\n", 2, "an anchor (&)"),
    ("a:\n- &x b\n", 2, "an anchor (&)"),
    ("a:\n  'k' x: 1\n", 2, "unexpected text after a value"),
]


@pytest.mark.parametrize(("text", "line", "problem"), REFUSED)
def test_refused_yaml_names_the_file_and_line(tmp_path, text, line, problem):
    path = write(tmp_path, text)
    message = refused(path, f"kubeconfig {path} line {line}: ", problem)
    assert message == f"kubeconfig {path} line {line}: " + message.split(": ", 1)[1]


def _mutations(seed, count):
    """Documents near admin.conf and near the accepted cases: characters and lines changed at random."""
    rng = random.Random(seed)
    alphabet = [*" :-#'\"\t{}[]&*!|>?,%@\\\nxy0~.", "\x01", "\x7f", "\x85", "\u2028", "\ufeff", "\r", "é"]
    bases = [ADMIN_CONF, *ACCEPTED]
    for _case in range(count):
        text = rng.choice(bases)
        for _edit in range(rng.randint(1, 3)):
            lines = text.split("\n")
            choice = rng.random()
            if choice < 0.2 and len(lines) > 1:  # re-indent a line
                index = rng.randrange(len(lines))
                lines[index] = " " * rng.randint(0, 6) + lines[index].lstrip(" ")
                text = "\n".join(lines)
            elif choice < 0.3 and len(lines) > 1:  # duplicate or drop a line
                index = rng.randrange(len(lines))
                if rng.random() < 0.5:
                    lines.insert(index, lines[index])
                else:
                    del lines[index]
                text = "\n".join(lines)
            else:
                position = rng.randrange(len(text) + 1)
                if rng.random() < 0.5:
                    text = text[:position] + rng.choice(alphabet) + text[position:]
                else:
                    text = text[:position] + text[position + 1 :]
        yield text


def test_near_misses_are_read_as_go_yaml_v2_reads_them_or_refused():
    read = 0
    for text in _mutations(20260601, 3000):
        try:
            ours = parse_kubeconfig_text(text, "f")
        except KubeconfigError:
            continue  # refusing is always allowed
        if text.lstrip(" \t\r\n")[:1] in ("{", "["):
            continue  # JSON: the json module's business
        read += 1
        try:
            expected = _goyaml.load(text)
        except _goyaml.YamlError as exc:
            pytest.fail(f"accepted text that go-yaml v2 refuses ({exc}):\n{text}")
        assert ours == expected, text
    assert read > 500  # the check did check something


# --------------------------------------------------------------------------------------------------
# The file
# --------------------------------------------------------------------------------------------------


def test_missing_file_is_distinguishable(tmp_path):
    path = str(tmp_path / "admin.conf")
    message = refused(path, missing=True)
    assert message == f"kubeconfig {path} does not exist"
    with pytest.raises(KubeconfigMissing):
        load_kubeconfig(str(tmp_path / "no-such-dir" / "admin.conf"))


def test_dangling_symlink_is_missing_and_says_so(tmp_path):
    path = tmp_path / "admin.conf"
    path.symlink_to(tmp_path / "gone.conf")
    refused(str(path), "is a symlink to", "gone.conf", missing=True)


def test_directory_and_unreadable_files_are_not_missing(tmp_path, monkeypatch):
    refused(str(tmp_path), "is a directory, not a file")
    path = write(tmp_path, ADMIN_CONF)

    def denied(*_args, **_kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(_kubeconfig, "open", denied, raising=False)
    assert refused(path) == f"cannot read kubeconfig {path}: Permission denied"


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"", "the file is empty"),
        (b"# nothing but a comment\n\n", "the file is empty"),
        (b"---\n", "the file is empty"),
        (b"- a\n- b\n", "the document must be a mapping, not a list"),
        (b"[]", "the document must be a mapping, not a list"),
        (b"apiVersion: v1\nkind: \xff\n", "line 2: not UTF-8 text (invalid start byte)"),
        (b'{"apiVersion": "v1",\n "kind": }', "line 2 column 10: not valid JSON: Expecting value"),
        (b'{"kind": "Config", "kind": "Config"}', "key 'kind' appears twice in one JSON object"),
        (b'{"kind": NaN}', "NaN is not valid JSON"),
    ],
)
def test_unusable_documents(tmp_path, data, problem):
    refused(write(tmp_path, data), problem)


def test_oversized_file(tmp_path, monkeypatch):
    monkeypatch.setattr(_kubeconfig, "MAX_SIZE", 100)
    refused(write(tmp_path, ADMIN_CONF), "is larger than 100 bytes")


# --------------------------------------------------------------------------------------------------
# Resolution: what client-go needs, or a message naming the entry
# --------------------------------------------------------------------------------------------------


def _cluster(config):
    return config["clusters"][0]["cluster"]


def _user(config):
    return config["users"][0]["user"]


def _context(config):
    return config["contexts"][0]["context"]


RESOLUTION_REFUSALS = [
    (lambda c: c.pop("current-context"), "no current-context is set"),
    (lambda c: c.update({"current-context": "other"}), "the current-context 'other' is not among its contexts"),
    (lambda c: _context(c).pop("cluster"), "context 'kubernetes-admin@kubernetes': it names no cluster"),
    (lambda c: _context(c).update(cluster="x"), "its cluster 'x' is not among the clusters"),
    (lambda c: _context(c).pop("user"), "it names no user (credentials are needed)"),
    (lambda c: _context(c).update(user="x"), "its user 'x' is not among the users"),
    (lambda c: c["contexts"][0].pop("context"), "it names no cluster"),
    (lambda c: _cluster(c).pop("server"), "cluster 'kubernetes': it has no server"),
    (lambda c: _cluster(c).update(server="http://10.30.1.2:6443"), "is not an https:// URL"),
    (lambda c: _cluster(c).update(server="10.30.1.2:6443"), "is not an https:// URL"),
    (lambda c: _cluster(c).update(server="https://10.30.1.2:99999"), "is not a URL of the form https://host"),
    (lambda c: _cluster(c).update(server="https://u:p@10.30.1.2"), "is not a URL of the form https://host"),
    (lambda c: _cluster(c).update(server="https://10.30.1.2/?x=1"), "is not a URL of the form https://host"),
    (lambda c: _cluster(c).update(server=6443), "server must be a string, not the number 6443"),
    (lambda c: _cluster(c).update({"insecure-skip-tls-verify": True}), "insecure-skip-tls-verify is true"),
    (lambda c: _cluster(c).update({"insecure-skip-tls-verify": "false"}), "must be a boolean, not the string"),
    (lambda c: _cluster(c).update({"proxy-url": "http://proxy:3128"}), "proxy-url is set"),
    (lambda c: _cluster(c).update({"certificate-authority": "ca.crt"}), "both certificate-authority-data and"),
    (lambda c: _cluster(c).update({"certificate-authority-data": "not base64!"}), "is not valid base64"),
    (lambda c: _cluster(c).update({"certificate-authority-data": b64(KEY_PEM)}), "does not hold a PEM certificate"),
    (
        lambda c: _cluster(c).pop("certificate-authority-data") and _cluster(c).update({"certificate-authority": "x"}),
        "the certificate-authority file",
    ),
    (lambda c: _user(c).pop("client-key-data"), "it has a client certificate but no client-key-data"),
    (lambda c: _user(c).pop("client-certificate-data"), "it has a client key but no client-certificate-data"),
    (lambda c: _user(c).update({"client-key-data": b64(CERT_PEM)}), "client-key-data does not hold a PEM private key"),
    (lambda c: c["users"][0].update(user={}), "user 'kubernetes-admin': it has no credentials"),
    (lambda c: _user(c).update(exec={"command": "x"}), "exec is set, which this reader does not support"),
    (lambda c: _user(c).update({"auth-provider": {"name": "oidc"}}), "auth-provider is set"),
    (lambda c: _user(c).update(username="admin", password="x"), "username is set"),
    (lambda c: _user(c).update(tokenFile="/t"), "tokenFile is set"),
    (lambda c: _user(c).update({"as": "someone"}), "as is set"),
    (lambda c: _user(c).update({"as-groups": ["system:masters"]}), "as-groups is set"),
    (lambda c: _user(c).update(token="a\nb"), "the token contains a line break"),
    (lambda c: c["clusters"].append(copy.deepcopy(c["clusters"][0])), "clusters has two entries named 'kubernetes'"),
    (lambda c: c.update(apiVersion="v2"), "apiVersion is 'v2'; a kubeconfig has apiVersion v1"),
    (lambda c: c.update(kind="Pod"), "kind is 'Pod'; a kubeconfig has kind Config"),
    (lambda c: c.update(clusters={"kubernetes": {}}), "clusters must be a list, not a mapping"),
    (lambda c: c["clusters"].append("x"), "clusters[1]: must be a mapping with name and cluster, not the string 'x'"),
    (lambda c: c["users"][0].update(user=[]), "user must be a mapping, not a list"),
]


@pytest.mark.parametrize(("change", "problem"), RESOLUTION_REFUSALS)
def test_missing_or_unsupported_pieces_are_refused(tmp_path, change, problem):
    config = copy.deepcopy(ADMIN)
    change(config)
    path = write_json(tmp_path, config)
    message = refused(path, problem)
    assert message.startswith(f"kubeconfig {path}: ")


@pytest.mark.parametrize(
    ("replace", "by", "problem"),
    [
        (
            "    server: https://10.30.1.2:6443\n",
            "    server: https://10.30.1.2:6443\n    insecure-skip-tls-verify: yes\n",
            "insecure-skip-tls-verify is true",
        ),
        ("  name: kubernetes\n", "  name: 0x1\n", "clusters[0]: name must be a string, not the number 1"),
        ("current-context: kubernetes-admin@kubernetes\n", "current-context:\n", "no current-context is set"),
        (
            "current-context: kubernetes-admin@kubernetes\n",
            "current-context: off\n",
            "current-context must be a string, not the boolean false",
        ),
    ],
)
def test_yaml_types_are_go_yaml_v2_types(tmp_path, replace, by, problem):
    assert replace in ADMIN_CONF
    refused(write(tmp_path, ADMIN_CONF.replace(replace, by)), problem)


def test_insecure_skip_tls_verify_false_is_fine_and_nameless_entries_are_ignored(tmp_path):
    config = copy.deepcopy(ADMIN)
    _cluster(config)["insecure-skip-tls-verify"] = False
    config["users"].append({"user": {"exec": {"command": "ignored: never referenced"}}})
    path = write_json(tmp_path, config)
    assert_admin(load_kubeconfig(path), path)


# --------------------------------------------------------------------------------------------------
# identity: who the kubeconfig authenticates as, for the controller (never the key)
# --------------------------------------------------------------------------------------------------


def test_identity_returns_the_client_certificate_and_never_the_key(tmp_path, pki):
    path = write_admin_conf(tmp_path, "https://10.0.0.1:6443", pki.ca, pki.admin_cert, pki.admin_key)
    found = _kubeconfig.identity(path)
    assert found == {
        "exists": True,
        "user": "kubernetes-admin",
        "client_certificate": pki.admin_cert.decode("ascii"),
        "error": None,
    }
    assert "PRIVATE KEY" not in repr(found)


def test_identity_of_a_token_user_has_no_certificate(tmp_path, pki):
    path = write_admin_conf(tmp_path, "https://10.0.0.1:6443", pki.ca, token="abc")
    assert _kubeconfig.identity(path)["client_certificate"] is None


def test_identity_of_a_missing_or_unusable_kubeconfig(tmp_path):
    assert _kubeconfig.identity(str(tmp_path / "absent.conf")) == {
        "exists": False,
        "user": None,
        "client_certificate": None,
        "error": None,
    }
    broken = tmp_path / "admin.conf"
    broken.write_text("apiVersion: v2\n")
    found = _kubeconfig.identity(str(broken))
    assert found["exists"] is True and found["client_certificate"] is None
    assert found["error"] == f"kubeconfig {broken}: apiVersion is 'v2'; a kubeconfig has apiVersion v1"

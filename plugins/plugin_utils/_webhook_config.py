# Copyright: (c) 2026, NNF kube_audit maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The kubeconfig of kube-apiserver's audit webhook backend (``--audit-webhook-config-file``), judged on the controller.

kube-apiserver reads this file once at start-up (k8s.io/apiserver pkg/util/webhook: client-go's clientcmd with the
file as its only source and no overrides) and does not start when it cannot build a client from it. So the file is
checked here, before any master changes:

* ``build_kubeconfig(server, ca_pem, client_cert_pem=None, client_key_pem=None)``: the kubeconfig the role installs
  from ``kube_audit_webhook_server``, ``kube_audit_webhook_ca`` and, optionally, ``kube_audit_webhook_client_cert``
  and ``kube_audit_webhook_client_key`` (PEM text). One cluster, one user and one context, all named
  ``audit-webhook``, and ``current-context`` set; the user is ``{}`` without a client certificate. The text is
  deterministic: PEM inputs are taken without their surrounding whitespace and end with one newline, so a file read
  with ``lookup('file')`` (trailing newline stripped) and the same file read with ``slurp`` give the same text. The
  inputs are checked as ``validate_kubeconfig`` checks a given file, and the result is validated again.
* ``validate_kubeconfig(text, source)``: a complete kubeconfig (``kube_audit_webhook_kubeconfig_src``), or
  ``KubeAuditError`` whose message starts with ``source`` and says what to fix. Returns ``{server, ca_subjects,
  client_certificate_subject, has_client_key}``.
* ``redacted(text)``: the text with the values of ``client-key-data``, ``token`` and ``password`` (and of an
  auth-provider's ``id-token``, ``refresh-token`` and ``client-secret``) replaced by ``REDACTED``, every other byte
  kept, for diffs and outputs.
* ``checksum(text)``: the collection's checksum (``audit_policy.checksum``: sha256 hex of the UTF-8 bytes), for the
  pod annotation that restarts kube-apiserver when the file changes.

What ``validate_kubeconfig`` requires (client-go's rules, made stricter where client-go would fail only later, at
the first audit event, or would silently drop something):

* YAML as kube-apiserver reads it (go-yaml v2, YAML 1.1, first document; JSON is YAML); a mapping; ``apiVersion``
  ``v1`` and ``kind`` ``Config`` when they are set (client-go's decoder refuses other values);
* ``clusters``, ``contexts`` and ``users`` lists of entries with a unique ``name``; exactly one cluster;
* ``current-context`` set and naming one of the contexts, whose ``cluster`` and ``user`` name existing entries.
  client-go does not fall back to the only context when ``current-context`` is empty: it uses an empty context,
  hence an empty cluster, and kube-apiserver exits with "invalid configuration: no configuration has been
  provided". So a missing ``current-context`` is refused, even with a single context;
* the cluster's ``server`` an ``https://`` URL with a host, a valid port if any, no user information (``user@``),
  no query and no fragment (client-go's REST client drops both), no white space;
* ``certificate-authority-data``: base64 of one or more PEM certificates, each parseable, and no other PEM block.
  A ``certificate-authority`` file path is refused: a path on the master cannot be checked here, and the file need
  not be visible inside the kube-apiserver pod. ``insecure-skip-tls-verify: true`` is refused (client-go refuses it
  next to a certificate authority, and the webhook's certificate must be verified);
* the user: no ``exec`` or ``auth-provider`` (the kube-apiserver pod cannot run credential plugins); no file paths
  (``client-certificate``, ``client-key``, ``tokenFile``: inline them); ``client-certificate-data`` and
  ``client-key-data`` both set or both unset; the certificate data only certificates (the first is the client
  certificate, as Go's ``tls.X509KeyPair`` takes it), the key data's first ``... PRIVATE KEY`` block an unencrypted
  RSA, ECDSA or Ed25519 key whose public key is the certificate's. ``token``, ``username`` and ``password`` are
  accepted as they are.

Subjects are reported by their common name (the last CN, as Go's ``pkix.Name`` keeps it), or the whole subject in
RFC 4514 form when it has none. Known approximations: certificates and keys are parsed by ``cryptography``
(OpenSSL's rules), not Go's ``crypto/x509``; a certificate one accepts and the other refuses is judged by
``cryptography``.
"""

import base64
import binascii
import re
from urllib.parse import urlsplit

from ansible_collections.nnf.kube_audit.plugins.module_utils import _kubeconfig, _redact
from ansible_collections.nnf.kube_audit.plugins.module_utils._errors import KubeAuditError
from ansible_collections.nnf.kube_audit.plugins.plugin_utils import _goyaml, audit_policy

try:  # ansible-core depends on it: only a broken controller lacks it
    from cryptography import x509
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
    from cryptography.x509.oid import NameOID
except ImportError as exc:
    x509 = NameOID = serialization = ec = ed25519 = rsa = UnsupportedAlgorithm = None
    CRYPTOGRAPHY_IMPORT_ERROR = str(exc)
else:
    CRYPTOGRAPHY_IMPORT_ERROR = None

try:  # ansible-core depends on it too; without it redacted() shows nothing
    import yaml
except ImportError:
    yaml = None

NAME = "audit-webhook"
SERVER_VARIABLE = "kube_audit_webhook_server"
CA_VARIABLE = "kube_audit_webhook_ca"
CLIENT_CERT_VARIABLE = "kube_audit_webhook_client_cert"
CLIENT_KEY_VARIABLE = "kube_audit_webhook_client_key"
# The secrets of a kubeconfig and their redaction, shared with the masters' diffs (module_utils/_redact.py).
REDACTED = _redact.REDACTED
SECRET_KEYS = _redact.SECRET_KEYS
NOT_SHOWN = _redact.NOT_SHOWN

# The collection's one checksum (sha256 hex of the UTF-8 bytes).
checksum = audit_policy.checksum

_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9][A-Z0-9 ]*)-----(.*?)-----END \1-----", re.DOTALL)
_WHITE_SPACE_OR_CONTROL = re.compile(r"[\s\x00-\x1f\x7f]")
_USER_INFO = re.compile(r"^([^:/?#]*://)[^/?#]*@")


# --------------------------------------------------------------------------------------------------
# Checks shared by build_kubeconfig (the role's variables) and validate_kubeconfig (a given file)
# --------------------------------------------------------------------------------------------------


def _need_cryptography():
    if CRYPTOGRAPHY_IMPORT_ERROR is not None:
        raise KubeAuditError(
            "the cryptography library is needed on the controller to check the audit webhook kubeconfig: "
            f"{CRYPTOGRAPHY_IMPORT_ERROR}"
        )


_describe = _kubeconfig.describe


def _subject(certificate):
    """The certificate's common name (the last, as Go keeps it), or its whole subject when it has none."""
    names = [attribute.value for attribute in certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    if names:
        return names[-1]
    return certificate.subject.rfc4514_string() or "(empty subject)"


def _check_server(server, prefix, name):
    """``server`` if it is an https:// URL kube-apiserver's client can use; ``prefix + name`` names it in messages."""
    if server is None or server == "":
        raise KubeAuditError(f"{prefix}{name} is not set: give the webhook's https:// URL")
    if not isinstance(server, str):
        raise KubeAuditError(f"{prefix}{name} must be the webhook's https:// URL, not {_describe(server)}")
    shown = repr(_USER_INFO.sub(r"\1REDACTED@", server))  # a password in the URL stays out of messages
    if _WHITE_SPACE_OR_CONTROL.search(server):
        raise KubeAuditError(f"{prefix}{name} {shown} contains white space or a control character")
    parts = urlsplit(server)
    if parts.scheme.lower() != "https":
        raise KubeAuditError(
            f"{prefix}{name} {shown} is not an https:// URL: kube-apiserver must send audit events over TLS"
        )
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0:
        raise KubeAuditError(f"{prefix}{name} {shown} has an invalid port (give 1 to 65535, or none for 443)")
    if not parts.hostname:
        raise KubeAuditError(f"{prefix}{name} {shown} has no host: use https://host[:port][/path]")
    if "@" in parts.netloc:
        raise KubeAuditError(
            f"{prefix}{name} {shown} holds user information (user@host): remove it, credentials belong in the "
            "kubeconfig's user"
        )
    if parts.query or parts.fragment or server.endswith(("?", "#")):
        raise KubeAuditError(
            f"{prefix}{name} {shown} has a query or a fragment, which kube-apiserver's client drops: remove it"
        )
    return server


def _pem_blocks(data):
    """[(type, whole block bytes)] of the PEM blocks in ``data``, in order."""
    return [(match.group(1).decode("ascii"), match.group(0)) for match in _PEM_BLOCK.finditer(data)]


def _certificates(data, prefix, name):
    """The certificates of the PEM bundle ``data`` (bytes): at least one, all parseable, nothing else."""
    _need_cryptography()
    blocks = _pem_blocks(data)
    if not blocks:
        raise KubeAuditError(f"{prefix}{name} holds no PEM certificate (-----BEGIN CERTIFICATE-----)")
    certificates = []
    for number, (kind, block) in enumerate(blocks, 1):
        if kind != "CERTIFICATE":
            raise KubeAuditError(f"{prefix}{name} holds a PEM {kind} block (block {number}): give certificates only")
        try:
            certificates.append(x509.load_pem_x509_certificate(block))
        except ValueError as exc:
            raise KubeAuditError(f"{prefix}{name}: certificate {number} cannot be read: {exc}") from None
    return certificates


def _private_key(data, prefix, name):
    """The first ``... PRIVATE KEY`` block of ``data`` (bytes), as Go's tls.X509KeyPair picks it, parsed."""
    _need_cryptography()
    blocks = [block for kind, block in _pem_blocks(data) if kind == "PRIVATE KEY" or kind.endswith(" PRIVATE KEY")]
    if not blocks:
        raise KubeAuditError(f"{prefix}{name} holds no PEM private key (-----BEGIN ... PRIVATE KEY-----)")
    try:
        key = serialization.load_pem_private_key(blocks[0], password=None)
    except TypeError:
        raise KubeAuditError(
            f"{prefix}{name} is encrypted; kube-apiserver cannot use an encrypted key: give it unencrypted"
        ) from None
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise KubeAuditError(f"{prefix}{name} cannot be read as a private key: {exc}") from None
    if not isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey, ed25519.Ed25519PrivateKey)):
        raise KubeAuditError(
            f"{prefix}{name} is a {type(key).__name__.lstrip('_')}; kube-apiserver's TLS client takes RSA, ECDSA or "
            "Ed25519 keys"
        )
    return key


def _public_key_bytes(public_key):
    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _check_client_pair(cert_data, key_data, prefix, cert_name, key_name):
    """The client certificate (the first of ``cert_data``) after checking that ``key_data`` holds its key."""
    certificate = _certificates(cert_data, prefix, cert_name)[0]
    key = _private_key(key_data, prefix, key_name)
    if _public_key_bytes(key.public_key()) != _public_key_bytes(certificate.public_key()):
        raise KubeAuditError(
            f"{prefix}{key_name} does not match the client certificate in {cert_name} (subject "
            f"{_subject(certificate)!r}): give the key the certificate was issued for"
        )
    return certificate


# --------------------------------------------------------------------------------------------------
# build_kubeconfig: the kubeconfig the role installs from its variables
# --------------------------------------------------------------------------------------------------


def _pem_input(value, name):
    """The PEM variable ``value`` (text or bytes) as bytes, stripped and ending with one newline; None if unset."""
    if value is None or value in ("", b""):
        return None
    if isinstance(value, str):
        try:
            value = value.encode("ascii")
        except UnicodeEncodeError:
            raise KubeAuditError(f"{name} is not PEM text: it contains characters outside ASCII") from None
    if not isinstance(value, bytes):
        raise KubeAuditError(f"{name} must be PEM text, not {_describe(value)}")
    return value.strip() + b"\n"


def _base64(data):
    return base64.b64encode(data).decode("ascii")


def build_kubeconfig(server, ca_pem, client_cert_pem=None, client_key_pem=None):
    """The audit webhook kubeconfig text for these role variables, after checking them; see the module's doc."""
    _check_server(server, "", SERVER_VARIABLE)
    ca_data = _pem_input(ca_pem, CA_VARIABLE)
    if ca_data is None:
        raise KubeAuditError(
            f"{CA_VARIABLE} is not set: give the PEM certificate(s) of the CA that signed the webhook server's "
            "certificate"
        )
    _certificates(ca_data, "", CA_VARIABLE)
    cert_data = _pem_input(client_cert_pem, CLIENT_CERT_VARIABLE)
    key_data = _pem_input(client_key_pem, CLIENT_KEY_VARIABLE)
    if (cert_data is None) != (key_data is None):
        given, missing = (
            (CLIENT_CERT_VARIABLE, CLIENT_KEY_VARIABLE)
            if key_data is None
            else (CLIENT_KEY_VARIABLE, CLIENT_CERT_VARIABLE)
        )
        raise KubeAuditError(
            f"{given} is set but {missing} is not: set both (client certificate authentication) or neither"
        )
    if cert_data is not None:
        _check_client_pair(cert_data, key_data, "", CLIENT_CERT_VARIABLE, CLIENT_KEY_VARIABLE)
        user = [
            "  user:",
            f"    client-certificate-data: {_base64(cert_data)}",
            f"    client-key-data: {_base64(key_data)}",
        ]
    else:
        user = ["  user: {}"]
    lines = [
        "apiVersion: v1",
        "clusters:",
        "- cluster:",
        f"    certificate-authority-data: {_base64(ca_data)}",
        f"    server: {audit_policy._yaml_scalar(server)}",
        f"  name: {NAME}",
        "contexts:",
        "- context:",
        f"    cluster: {NAME}",
        f"    user: {NAME}",
        f"  name: {NAME}",
        f"current-context: {NAME}",
        "kind: Config",
        "users:",
        f"- name: {NAME}",
        *user,
    ]
    text = "\n".join(lines) + "\n"
    validate_kubeconfig(text, f"the audit webhook kubeconfig built from {SERVER_VARIABLE} and {CA_VARIABLE}")
    return text


# --------------------------------------------------------------------------------------------------
# validate_kubeconfig: a complete kubeconfig, as kube-apiserver's webhook client would use it
# --------------------------------------------------------------------------------------------------


class _Reader(_kubeconfig.TypedReader):
    """Typed access to the decoded kubeconfig (the master side's reader, stricter); messages start with the source."""

    def __init__(self, source):
        super().__init__(f"{source}: ", nameless="refuse", error_class=KubeAuditError)
        self.source = source

    def data(self, mapping, key, where):
        """The bytes of the base64 field ``key`` (Go's encoding/json: standard alphabet, padded, CR/LF ignored)."""
        encoded = self.field(mapping, key, str, where)
        if not encoded:
            return None
        try:
            return base64.b64decode(encoded.replace("\r", "").replace("\n", ""), validate=True)
        except (binascii.Error, ValueError) as exc:
            hint = " (it holds PEM text itself)" if "-----BEGIN" in encoded else ""
            raise self.error(
                where, f"{key} is not valid base64{hint}: give the base64 of the PEM file ({exc})"
            ) from None

    def refuse_file(self, mapping, key, where, inline):
        if self.field(mapping, key, str, where):
            raise self.error(
                where,
                f"{key} is a file path on the master, which cannot be checked on the controller and need not be "
                f"visible inside the kube-apiserver pod: inline it as {inline} instead",
            )


def _load(text, reader):
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise reader.error("", f"the kubeconfig is not UTF-8 text ({exc.reason})") from None
    if not isinstance(text, str):
        raise reader.error("", f"the kubeconfig must be text, not {_describe(text)}")
    try:
        config = _goyaml.load(text)
    except _goyaml.YamlError as exc:
        raise reader.error("", f"the kubeconfig is not valid YAML: {exc}") from None
    if config is None:
        raise reader.error("", "the kubeconfig is empty")
    if not isinstance(config, dict):
        raise reader.error(
            "", f"the kubeconfig must be a mapping (apiVersion, clusters, contexts, users...), not {_describe(config)}"
        )
    return config


def validate_kubeconfig(text, source):
    """``{server, ca_subjects, client_certificate_subject, has_client_key}`` of the kubeconfig ``text``.

    KubeAuditError, its message starting with ``source``, when kube-apiserver's audit webhook could not use it or
    it cannot be checked here; see the module's doc for the rules.
    """
    _need_cryptography()
    reader = _Reader(source)
    config = _load(text, reader)
    clusters, contexts, users = reader.sections(config)
    if len(clusters) != 1:
        listed = f" ({', '.join(repr(name) for name in clusters)})" if clusters else ""
        raise reader.error(
            "", f"it has {len(clusters)} clusters{listed}; the audit webhook kubeconfig must have exactly one"
        )

    context_name = reader.field(config, "current-context", str, "")
    if not context_name:
        raise reader.error(
            "",
            "current-context is not set; kube-apiserver uses the current context only (it does not pick one by "
            "itself): set current-context to the context of the webhook",
        )
    if context_name not in contexts:
        raise reader.error("", f"current-context {context_name!r} is not among its contexts")
    where = f"context {context_name!r}"
    context = contexts[context_name]
    cluster_name = reader.field(context, "cluster", str, where)
    if not cluster_name:
        raise reader.error(where, "it names no cluster")
    if cluster_name not in clusters:
        raise reader.error(where, f"its cluster {cluster_name!r} is not among the clusters")
    user_name = reader.field(context, "user", str, where)
    if not user_name:
        raise reader.error(where, "it names no user (a user entry is needed, {} for no client credentials)")
    if user_name not in users:
        raise reader.error(where, f"its user {user_name!r} is not among the users")

    cluster = clusters[cluster_name]
    where = f"cluster {cluster_name!r}"
    prefix = f"{source}: {where}: "
    server = _check_server(reader.field(cluster, "server", str, where), prefix, "server")
    if reader.field(cluster, "insecure-skip-tls-verify", bool, where):
        raise reader.error(
            where,
            "insecure-skip-tls-verify is true; the webhook's certificate must be verified: remove it and set "
            "certificate-authority-data",
        )
    reader.refuse_file(cluster, "certificate-authority", where, "certificate-authority-data (the file's base64)")
    ca_data = reader.data(cluster, "certificate-authority-data", where)
    if ca_data is None:
        raise reader.error(
            where,
            "certificate-authority-data is not set: give the base64 of the PEM certificate(s) of the CA that signed "
            "the webhook server's certificate",
        )
    ca_certificates = _certificates(ca_data, prefix, "certificate-authority-data")

    user = users[user_name]
    where = f"user {user_name!r}"
    prefix = f"{source}: {where}: "
    for plugin, what in (("exec", "an exec credential plugin"), ("auth-provider", "an auth-provider plugin")):
        if user.get(plugin) not in (None, "", {}, []):
            raise reader.error(
                where,
                f"{plugin} is set ({what}); the kube-apiserver pod cannot run credential plugins: authenticate with "
                "client-certificate-data and client-key-data, or a token",
            )
    for key, inline in (
        ("client-certificate", "client-certificate-data (the file's base64)"),
        ("client-key", "client-key-data (the file's base64)"),
        ("tokenFile", "token (the token itself)"),
    ):
        reader.refuse_file(user, key, where, inline)
    # client-go reads these as strings (a number or a list fails kube-apiserver's start); the value is never shown.
    for key in ("token", "username", "password"):
        value = user.get(key)
        if value is not None and not isinstance(value, str):
            kinds = ((bool, "a boolean"), ((int, float), "a number"), (list, "a list"), (dict, "a mapping"))
            kind = next((name for types, name in kinds if isinstance(value, types)), "not text")
            raise reader.error(where, f"{key} must be a string (quote it), not {kind}")
    cert_data = reader.data(user, "client-certificate-data", where)
    key_data = reader.data(user, "client-key-data", where)
    if (cert_data is None) != (key_data is None):
        given, missing = (
            ("client-certificate-data", "client-key-data")
            if key_data is None
            else ("client-key-data", "client-certificate-data")
        )
        raise reader.error(where, f"{given} is set but {missing} is not: set both or neither")
    client_certificate = None
    if cert_data is not None:
        client_certificate = _check_client_pair(
            cert_data, key_data, prefix, "client-certificate-data", "client-key-data"
        )
    return {
        "server": server,
        "ca_subjects": [_subject(certificate) for certificate in ca_certificates],
        "client_certificate_subject": None if client_certificate is None else _subject(client_certificate),
        "has_client_key": key_data is not None,
    }


# --------------------------------------------------------------------------------------------------
# redacted: the text for diffs and outputs
# --------------------------------------------------------------------------------------------------


def _only_redacted(node, seen):
    """Whether every secret key under the composed YAML ``node`` has a REDACTED (or empty) value."""
    if id(node) in seen:
        return True
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value in SECRET_KEYS:
                if not isinstance(value, yaml.ScalarNode):
                    return False
                if any(word != REDACTED for word in value.value.split()):
                    return False
            if not (_only_redacted(key, seen) and _only_redacted(value, seen)):
                return False
    elif isinstance(node, yaml.SequenceNode):
        return all(_only_redacted(item, seen) for item in node.value)
    return True


def redacted(text):
    """``text`` with the values of SECRET_KEYS replaced by REDACTED, line by line, every other byte kept.

    The result is read back (every YAML document, every key, duplicates included); when a secret could still show
    (a flow mapping on one line, an anchor, text that is not YAML), NOT_SHOWN is returned instead of the text.
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            return NOT_SHOWN
    out = _redact.line_redacted(text)
    if yaml is None:
        return NOT_SHOWN
    try:
        documents = list(yaml.compose_all(out, Loader=yaml.SafeLoader))
    except yaml.YAMLError:
        return NOT_SHOWN
    seen = set()
    if all(document is None or _only_redacted(document, seen) for document in documents):
        return out
    return NOT_SHOWN

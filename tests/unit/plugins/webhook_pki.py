"""Certificates and keys for the webhook tests (made with cryptography, in memory): one home for all of them."""

import base64
import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID


def name(*common_names, organization=None):
    """An X.509 name: the organization (if any), then each common name (Go keeps the last)."""
    attributes = []
    if organization:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    attributes.extend(x509.NameAttribute(NameOID.COMMON_NAME, common_name) for common_name in common_names)
    return x509.Name(attributes)


def certificate(key, subject, issuer_key=None, issuer=None, ca=False):
    """A PEM certificate of ``key`` for ``subject``, self-signed unless ``issuer_key`` and ``issuer`` are given."""
    now = datetime.datetime.now(datetime.timezone.utc)
    built = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer or subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .sign(issuer_key or key, hashes.SHA256())
    )
    return built.public_bytes(serialization.Encoding.PEM).decode("ascii")


def key_pem(key, private_format=serialization.PrivateFormat.PKCS8, encryption=None):
    """The private key as PEM text, unencrypted unless ``encryption`` is given."""
    return key.private_bytes(
        serialization.Encoding.PEM, private_format, encryption or serialization.NoEncryption()
    ).decode("ascii")


def b64(text):
    """base64 of text (str or bytes), as a kubeconfig's *-data fields hold it."""
    return base64.b64encode(text.encode() if isinstance(text, str) else text).decode("ascii")

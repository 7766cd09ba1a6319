"""Client certificates for the kube-apiserver stand-in: kube-apiserver's x509 authenticator, next to request headers.

kube-apiserver with ``--client-ca-file`` asks every TLS client for a certificate without demanding one; a client
that presents one signed by that CA is the user the certificate names (x509 ``CommonNameUserConversion``): the
subject's CN is the user name, each O a group, plus ``system:authenticated``. That is how ``kubeadm`` and the
collection talk to the API server with ``/etc/kubernetes/admin.conf`` (CN=kubernetes-admin,
O=kubeadm:cluster-admins).

The stand-in keeps its request-header authentication as it was (``X-Remote-User``/``X-Remote-Group`` trusted
without the front-proxy certificate), for clients without a certificate and for a certificate whose CN is one of
``--requestheader-allowed-names`` (the front proxy's). Any other certificate wins over headers, as in
kube-apiserver, where the request-header authenticator refuses such a certificate and the x509 one takes it.

Difference: Python's TLS server verifies a presented certificate during the handshake, so a certificate from
another CA fails the handshake (kube-apiserver would answer 401 Unauthorized).
"""

from __future__ import annotations

import ssl
from typing import Callable, Dict, List, Optional, Tuple

from standin import requestinfo

AUTHENTICATED_GROUP = "system:authenticated"


def request_client_certificates(
    context: ssl.SSLContext, client_ca_file: Optional[str], resolve: Callable[[str], Tuple[str, bool]]
) -> Optional[str]:
    """Make ``context`` ask for optional client certificates signed by ``--client-ca-file``; an error, or None.

    ``resolve`` maps the flag's container path to the host path (the pod's mounts). Without the flag nothing
    changes: no certificate is asked for and every client is anonymous unless its headers say otherwise.
    """
    if not client_ca_file:
        return None
    try:
        context.load_verify_locations(cafile=resolve(client_ca_file)[0])
    except FileNotFoundError:
        return f"unable to load client CA provider: open {client_ca_file}: no such file or directory"
    except (OSError, ssl.SSLError) as exc:
        return f"unable to load client CA provider: {client_ca_file}: {exc}"
    context.verify_mode = ssl.CERT_OPTIONAL
    return None


def certificate_user(connection) -> Optional[Dict]:
    """The user of the verified client certificate on ``connection`` (an SSLSocket), or None without one."""
    getpeercert = getattr(connection, "getpeercert", None)
    certificate = getpeercert() if getpeercert else None
    if not certificate:
        return None
    names: List[str] = []
    groups: List[str] = []
    for rdn in certificate.get("subject") or ():
        for key, value in rdn:
            if key == "commonName":
                names.append(value)
            elif key == "organizationName":
                groups.append(value)
    if not names or not names[0]:
        return None  # CommonNameUserConversion: no CN, no user
    return {"username": names[0], "groups": [*groups, AUTHENTICATED_GROUP]}


def authenticate(connection, headers, state) -> Dict:
    """The request's user: the client certificate's, else the request headers' (else system:anonymous).

    ``state`` carries the ``--requestheader-*`` flags: ``username_headers``, ``group_headers``,
    ``extra_prefixes`` and ``allowed_names``.
    """
    user = certificate_user(connection)
    if user is not None and user["username"] not in (getattr(state, "allowed_names", None) or []):
        return user
    return requestinfo.authenticate(headers, state.username_headers, state.group_headers, state.extra_prefixes)


def authenticated_by_certificate(connection, user: Dict) -> bool:
    """Whether ``user`` is the user of the client certificate on ``connection`` (not one taken from headers)."""
    return user is not None and certificate_user(connection) == user

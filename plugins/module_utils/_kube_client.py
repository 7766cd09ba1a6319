# Copyright: (c) 2026, NNF kube_audit maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A minimal Kubernetes API client (ConfigMaps, one read), with the standard library only (http.client and ssl).

* ``get_configmap(kubeconfig, namespace, name, timeout)``: the ConfigMap as the API server sends it (a dict), or
  ``NotFound``.
* ``put_configmap(kubeconfig, obj, timeout)``: replace the ConfigMap ``obj`` names; the API server compares
  ``metadata.resourceVersion`` with the stored one and answers 409 when it is stale: ``Conflict``. Returns the
  stored object (with its new resourceVersion).
* ``send_read(kubeconfig, server, path, headers, timeout)``: one ``GET`` to a given API server (one master's own,
  not the kubeconfig's, which may be a load balancer), whatever it answers: ``(status, message)``.

``kubeconfig`` is a ``_kubeconfig.Kubeconfig`` or the path of a kubeconfig file (then read with
``load_kubeconfig``, whose KubeconfigMissing/KubeconfigError pass through). Every failure the cluster or the host
can cause is a ``KubeClientError`` (a KubeAuditError) whose message names the request, the server URL and the
kubeconfig: refused connections, timeouts, TLS failures, 401/403 and other error statuses (with the message of the
Kubernetes Status the API server sends). ``status`` holds the HTTP status (None before an answer).

TLS as client-go does it: the server's certificate is verified against the kubeconfig's certificate authority (the
system's trust store when it has none) and against the URL's host (or ``tls-server-name``), by subject alternative
names only; TLS 1.2 at least. ``load_cert_chain`` takes files only, so the client certificate and key are written
to a private temporary directory (mode 0700, files 0600) that is removed as soon as they are loaded, whatever
happens. Proxy environment variables are not used, redirects are not followed.
"""

import http.client
import json
import os
import re
import shutil
import socket
import ssl
import tempfile
from urllib.parse import quote, urlsplit

from ansible_collections.nnf.kube_audit.plugins.module_utils._errors import KubeAuditError
from ansible_collections.nnf.kube_audit.plugins.module_utils._kubeconfig import Kubeconfig, load_kubeconfig

DEFAULT_TIMEOUT = 30
USER_AGENT = "nnf.kube_audit"
# A ConfigMap holds at most 1 MiB; an answer far larger than that is not one.
MAX_RESPONSE = 16 * 1024 * 1024
_STATUS_TEXT_LIMIT = 300
_OPENSSL_LOCATION = re.compile(r"\s*\(_ssl\.c:\d+\)$")


class KubeClientError(KubeAuditError):
    """A request to the API server failed; ``status`` is the HTTP status, or None when there was no answer."""

    def __init__(self, message, status=None, result=None):
        super().__init__(message, result)
        self.status = status


class NotFound(KubeClientError):
    """The API server answered 404 with a Kubernetes Status of reason NotFound: the object does not exist."""


class Conflict(KubeClientError):
    """The API server answered 409: the object changed since it was read (stale metadata.resourceVersion)."""


class _EncryptedKey(Exception):
    """The client key asked for a password (load_cert_chain would otherwise prompt on the terminal)."""


def _no_password():
    raise _EncryptedKey()


# --------------------------------------------------------------------------------------------------
# The API
# --------------------------------------------------------------------------------------------------


def get_configmap(kubeconfig, namespace, name, timeout=DEFAULT_TIMEOUT):
    """The ConfigMap ``namespace``/``name`` (a dict, as JSON-decoded), or NotFound when it does not exist."""
    config = _kubeconfig(kubeconfig)
    what = f"reading ConfigMap {namespace}/{name} from {config.server} (kubeconfig {config.path})"
    obj = _request(config, "GET", _configmap_path(namespace, name), None, timeout=timeout, what=what)
    _check_configmap(obj, what)
    return obj


def put_configmap(kubeconfig, obj, timeout=DEFAULT_TIMEOUT):
    """Replace the ConfigMap ``obj`` (a dict with metadata.namespace, .name and .resourceVersion); the stored object.

    Conflict when the ConfigMap changed since ``obj`` was read; NotFound when it no longer exists. A missing
    resourceVersion is a caller's bug (ValueError): without it the API server would overwrite unconditionally.
    """
    metadata = obj.get("metadata") if isinstance(obj, dict) else None
    if not isinstance(metadata, dict):
        raise ValueError("put_configmap needs a ConfigMap object with metadata")
    namespace, name = metadata.get("namespace"), metadata.get("name")
    if not metadata.get("resourceVersion"):
        raise ValueError(f"put_configmap: ConfigMap {namespace}/{name} has no metadata.resourceVersion")
    if obj.get("kind", "ConfigMap") != "ConfigMap" or obj.get("apiVersion", "v1") != "v1":
        raise ValueError(f"put_configmap: {obj.get('apiVersion')}/{obj.get('kind')} is not a v1 ConfigMap")
    config = _kubeconfig(kubeconfig)
    what = f"writing ConfigMap {namespace}/{name} to {config.server} (kubeconfig {config.path})"
    body = json.dumps(obj, separators=(",", ":")).encode("utf-8")
    stored = _request(config, "PUT", _configmap_path(namespace, name), body, timeout=timeout, what=what)
    _check_configmap(stored, what)
    return stored


def _kubeconfig(kubeconfig):
    if isinstance(kubeconfig, Kubeconfig):
        return kubeconfig
    return load_kubeconfig(os.fspath(kubeconfig))


def _configmap_path(namespace, name):
    for value in (namespace, name):
        if not isinstance(value, str) or value in ("", ".", ".."):
            raise ValueError(f"not a Kubernetes object name: {value!r}")
    return f"/api/v1/namespaces/{quote(namespace, safe='')}/configmaps/{quote(name, safe='')}"


def _check_configmap(obj, what):
    if not isinstance(obj, dict) or obj.get("kind", "ConfigMap") != "ConfigMap":
        kind = obj.get("kind") if isinstance(obj, dict) else type(obj).__name__
        raise KubeClientError(f"{what}: the API server answered with a {kind}, not a ConfigMap", status=200)


# --------------------------------------------------------------------------------------------------
# TLS
# --------------------------------------------------------------------------------------------------


def _ssl_reason(exc):
    return _OPENSSL_LOCATION.sub("", str(exc))


def _tls_context(config, what):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies the certificate and the host name
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if hasattr(context, "hostname_checks_common_name"):
        context.hostname_checks_common_name = False  # Go checks subject alternative names only
    try:
        if config.ca_pem is None:
            context.load_default_certs(ssl.Purpose.SERVER_AUTH)
        else:
            context.load_verify_locations(cadata=config.ca_pem.decode("ascii"))
    except (ssl.SSLError, ValueError) as exc:  # UnicodeDecodeError is a ValueError
        raise KubeClientError(
            f"{what}: the certificate authority of cluster {config.cluster!r} cannot be used: {_ssl_reason(exc)}"
        ) from None
    if config.client_cert_pem is not None:
        _load_client_certificate(context, config, what)
    return context


def _write_private(path, data):
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)


def _load_client_certificate(context, config, what):
    """Load the client certificate and key through files in a private directory, removed before returning."""
    whose = f"the client certificate and key of user {config.user!r}"
    try:
        directory = tempfile.mkdtemp(prefix="kube_audit-")
    except OSError as exc:
        raise KubeClientError(f"{what}: cannot create a temporary directory for {whose}: {exc}") from None
    try:
        os.chmod(directory, 0o700)
        certificate, key = os.path.join(directory, "client.crt"), os.path.join(directory, "client.key")
        _write_private(certificate, config.client_cert_pem)
        _write_private(key, config.client_key_pem)
        context.load_cert_chain(certificate, key, password=_no_password)
    except _EncryptedKey:
        raise KubeClientError(
            f"{what}: the client key of user {config.user!r} is encrypted (needs a password)"
        ) from None
    except ssl.SSLError as exc:
        raise KubeClientError(f"{what}: {whose} cannot be used: {_ssl_reason(exc)}") from None
    except OSError as exc:
        raise KubeClientError(f"{what}: cannot write {whose} to {directory}: {exc.strerror or exc}") from None
    finally:
        shutil.rmtree(directory, ignore_errors=True)


class _Connection(http.client.HTTPSConnection):
    """An HTTPS connection that verifies the server's certificate for ``server_name`` (tls-server-name)."""

    def __init__(self, host, port, server_name, tls, timeout):
        super().__init__(host, port, timeout=timeout, context=tls)
        self._server_name = server_name
        self._tls = tls

    def connect(self):
        http.client.HTTPConnection.connect(self)
        self.sock = self._tls.wrap_socket(self.sock, server_hostname=self._server_name)


# --------------------------------------------------------------------------------------------------
# Requests
# --------------------------------------------------------------------------------------------------


def _exchange(config, method, path, body, *, timeout, what, server=None, headers=None):
    """``(status, reason, body bytes)`` of ``method`` ``path`` at ``server`` (the kubeconfig's by default).

    Every transport failure (refused, timeout, TLS, not HTTP) is a KubeClientError naming ``what``.
    """
    context = _tls_context(config, what)
    url = urlsplit(server or config.server)
    host = url.hostname
    server_name = (config.tls_server_name if server is None else None) or host
    sent = {"Accept": "application/json", "User-Agent": USER_AGENT}
    if body is not None:
        sent["Content-Type"] = "application/json"
    if config.token:
        sent["Authorization"] = f"Bearer {config.token}"
    sent.update(headers or {})
    connection = _Connection(host, url.port or 443, server_name, context, timeout)
    try:
        connection.request(method, url.path.rstrip("/") + path, body=body, headers=sent)
        response = connection.getresponse()
        data = response.read(MAX_RESPONSE + 1)
        status, reason = response.status, response.reason
    except ssl.SSLCertVerificationError as exc:
        raise KubeClientError(
            f"{what}: the API server's certificate is not trusted for {server_name}: {exc.verify_message} "
            f"(verified against the certificate authority of cluster {config.cluster!r})"
        ) from None
    except ssl.SSLError as exc:
        hint = ""
        if isinstance(exc, ssl.SSLEOFError) or re.search(r"CERTIFICATE|UNKNOWN_CA|HANDSHAKE_FAILURE", exc.reason or ""):
            hint = f" ({_client_certificate_hint(config)})"
        raise KubeClientError(f"{what}: TLS error: {_ssl_reason(exc)}{hint}") from None
    except (socket.timeout, TimeoutError):
        raise KubeClientError(f"{what}: no answer within {timeout} seconds") from None
    except ConnectionRefusedError:
        raise KubeClientError(f"{what}: connection refused (is kube-apiserver running?)") from None
    except http.client.RemoteDisconnected:
        raise KubeClientError(f"{what}: the server closed the connection without answering") from None
    except (ConnectionResetError, BrokenPipeError) as exc:
        raise KubeClientError(
            f"{what}: the server closed the connection ({exc.strerror or exc}; {_client_certificate_hint(config)})"
        ) from None
    except socket.gaierror as exc:
        raise KubeClientError(f"{what}: cannot resolve {host}: {exc.strerror or exc}") from None
    except OSError as exc:
        raise KubeClientError(f"{what}: {exc.strerror or exc}") from None
    except http.client.HTTPException as exc:
        raise KubeClientError(f"{what}: not a valid HTTP answer ({type(exc).__name__}: {exc})") from None
    finally:
        connection.close()
    return status, reason, data


def send_read(kubeconfig, server, path, headers=None, timeout=DEFAULT_TIMEOUT):
    """``GET path`` at ``server`` (an https URL) with the kubeconfig's credentials: ``(status, Status message)``.

    Any answer is a result (a 404 or a 403 is still a request the API server received and audits); only a request
    that got no HTTP answer is a KubeClientError.
    """
    config = _kubeconfig(kubeconfig)
    what = f"GET {path} from {server} (kubeconfig {config.path})"
    status, reason, data = _exchange(
        config, "GET", path, None, timeout=timeout, what=what, server=server, headers=headers
    )
    if 200 <= status < 300:
        return status, reason
    return status, f"{reason}: {_status_message(data)[0]}"


def _request(config, method, path, body, *, timeout, what):
    """The JSON object of a 2xx answer to ``method`` ``path``; KubeClientError (NotFound, Conflict) otherwise."""
    status, reason, data = _exchange(config, method, path, body, timeout=timeout, what=what)
    if len(data) > MAX_RESPONSE:
        raise KubeClientError(f"{what}: the answer is larger than {MAX_RESPONSE} bytes", status=status)
    if 200 <= status < 300:
        try:
            return json.loads(data.decode("utf-8"))
        except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError
            raise KubeClientError(f"{what}: the answer ({status} {reason}) is not JSON: {exc}", status=status) from None
    message, status_reason = _status_message(data)
    answered = f"{status} {reason}: {message}"
    if status == 404 and status_reason == "NotFound":
        raise NotFound(f"{what}: it does not exist ({answered})", status=status)
    if status == 409:
        raise Conflict(f"{what}: it was changed by someone else since it was read ({answered})", status=status)
    if status == 401:
        credentials = f"the {config.credentials}" if config.client_cert_pem or config.token else "missing credentials"
        raise KubeClientError(
            f"{what}: the API server did not accept {credentials} of user {config.user!r}: {answered}", status=status
        )
    if status == 403:
        raise KubeClientError(
            f"{what}: the API server refused access to user {config.user!r} ({config.credentials}): {answered}",
            status=status,
        )
    raise KubeClientError(f"{what}: the API server answered {answered}", status=status)


def _client_certificate_hint(config):
    if config.client_cert_pem is None:
        return f"the server may require a client certificate, which user {config.user!r} does not have"
    return f"the server may have refused the client certificate of user {config.user!r}"


def _status_message(data):
    """(message, reason) of a Kubernetes Status in ``data``; (the text, shortened, None) for anything else."""
    try:
        status = json.loads(data.decode("utf-8"))
    except ValueError:
        status = None
    if isinstance(status, dict) and status.get("kind") == "Status":
        reason = status.get("reason") if isinstance(status.get("reason"), str) else None
        message = status.get("message")
        return (message if isinstance(message, str) and message else reason or "(no message)"), reason
    text = " ".join(data.decode("utf-8", "replace").split())
    if len(text) > _STATUS_TEXT_LIMIT:
        text = text[:_STATUS_TEXT_LIMIT] + "..."
    return (text or "(no body)") + " (not a Kubernetes Status: is this a kube-apiserver?)", None

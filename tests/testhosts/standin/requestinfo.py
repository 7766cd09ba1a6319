"""What kube-apiserver derives from an HTTP request before it audits it: request info, user and source IPs.

* request info: k8s.io/apiserver ``RequestInfoFactory.NewRequestInfo`` (APIPrefixes ``api``/``apis``, groupless
  ``api``): resource or non-resource request, verb, API group/version, namespace, resource, subresource, name.
* user: the request-header authenticator kubeadm configures (``--requestheader-username-headers``,
  ``--requestheader-group-headers``, ``--requestheader-extra-headers-prefix``); the stand-in trusts the headers
  without the front-proxy client certificate the real one demands. Authenticated users get the
  ``system:authenticated`` group; without a user header the request is ``system:anonymous``.
* source IPs: ``utilnet.SourceIPs`` (X-Forwarded-For, X-Real-Ip, then the peer address).
"""

from __future__ import annotations

import ipaddress
from typing import Dict, List, Optional
from urllib.parse import parse_qs, unquote, urlsplit

SPECIAL_VERBS = ("proxy", "watch")
SPECIAL_VERBS_NO_SUBRESOURCES = ("proxy",)
NAMESPACE_SUBRESOURCES = ("status", "finalize")
API_PREFIXES = ("api", "apis")
GROUPLESS_API_PREFIXES = ("api",)
_METHOD_VERBS = {"POST": "create", "GET": "get", "HEAD": "get", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}

ANONYMOUS = {"username": "system:anonymous", "groups": ["system:unauthenticated"]}
AUTHENTICATED_GROUP = "system:authenticated"


class RequestInfoError(Exception):
    """The URL names a special verb without a resource (the real apiserver answers 500 for it)."""


def _split_path(path: str) -> List[str]:
    path = path.strip("/")
    return path.split("/") if path else []


def _field_selector_name(selector: str) -> Optional[str]:
    """The value ``metadata.name`` must equal in a field selector, or None; raises ValueError on bad syntax."""
    name = None
    for term in selector.split(","):
        for operator in ("!=", "==", "="):
            field, found, value = term.partition(operator)
            if found:
                break
        else:
            raise ValueError(f"invalid field selector term {term!r}")
        if field.strip() == "metadata.name" and operator != "!=":
            name = value.strip()
    return name


def _valid_path_segment(name: str) -> bool:
    return name not in (".", "..") and "/" not in name and "%" not in name


def request_info(method: str, request_uri: str) -> Dict:
    """NewRequestInfo for ``method`` and the raw ``request_uri`` (path and query as sent)."""
    split = urlsplit(request_uri)
    path = unquote(split.path)
    info = {
        "resourceRequest": False,
        "path": path,
        "verb": method.lower(),
        "apiPrefix": "",
        "apiGroup": "",
        "apiVersion": "",
        "namespace": "",
        "resource": "",
        "subresource": "",
        "name": "",
        "parts": [],
    }
    parts = _split_path(path)
    if len(parts) < 3 or parts[0] not in API_PREFIXES:
        return info
    info["apiPrefix"], parts = parts[0], parts[1:]
    if info["apiPrefix"] not in GROUPLESS_API_PREFIXES:
        if len(parts) < 3:
            return info
        info["apiGroup"], parts = parts[0], parts[1:]
    info["resourceRequest"] = True
    info["apiVersion"], parts = parts[0], parts[1:]

    if parts[0] in SPECIAL_VERBS:
        if len(parts) < 2:
            raise RequestInfoError(f"unable to determine kind and namespace from url, {request_uri}")
        info["verb"], parts = parts[0], parts[1:]
    else:
        info["verb"] = _METHOD_VERBS.get(method.upper(), "")

    if parts[0] == "namespaces" and len(parts) > 1:
        info["namespace"] = parts[1]
        if len(parts) > 2 and parts[2] not in NAMESPACE_SUBRESOURCES:
            parts = parts[2:]
    info["parts"] = parts

    if len(parts) >= 3 and info["verb"] not in SPECIAL_VERBS_NO_SUBRESOURCES:
        info["subresource"] = parts[2]
    if len(parts) >= 2:
        info["name"] = parts[1]
    if len(parts) >= 1:
        info["resource"] = parts[0]

    if not info["name"] and info["verb"] == "get":
        query = parse_qs(split.query, keep_blank_values=True)
        watch_values = query.get("watch")
        # metainternalversion's []string -> bool conversion: anything but "0" and "false" is true
        watch = bool(watch_values) and not (watch_values[0] == "0" or watch_values[0].lower() == "false")
        info["verb"] = "watch" if watch else "list"
        selector = (query.get("fieldSelector") or [""])[0]
        if selector:
            try:
                name = _field_selector_name(selector)
            except ValueError:
                name = None  # a list options decoding error: the verb stays, the name is not taken
            if name and _valid_path_segment(name):
                info["name"] = name
    if not info["name"] and info["verb"] == "delete":
        info["verb"] = "deletecollection"
    return info


def _header_values(headers, names: List[str]) -> List[str]:
    values: List[str] = []
    for name in names:
        values.extend(value for value in headers.get_all(name) or [] if value != "")
    return values


def split_list_flag(value: Optional[str]) -> List[str]:
    """A pflag string slice given as one ``a,b`` value."""
    return [item.strip() for item in (value or "").split(",") if item.strip()]


def authenticate(headers, username_headers: List[str], group_headers: List[str], extra_prefixes: List[str]) -> Dict:
    """The user the request-header authenticator (plus the authenticated-group adder) makes of ``headers``.

    ``headers`` is an ``email.message.Message`` (what http.server gives), matched case-insensitively.
    """
    usernames = _header_values(headers, username_headers)
    if not usernames:
        return {"username": ANONYMOUS["username"], "groups": list(ANONYMOUS["groups"])}
    user: Dict = {"username": usernames[0]}
    groups = _header_values(headers, group_headers)
    if AUTHENTICATED_GROUP not in groups:
        groups.append(AUTHENTICATED_GROUP)
    user["groups"] = groups
    extra: Dict[str, List[str]] = {}
    for prefix in extra_prefixes:
        for header, value in headers.items():
            if header.lower().startswith(prefix.lower()) and len(header) > len(prefix):
                extra.setdefault(unquote(header[len(prefix) :].lower()), []).append(value)
    if extra:
        user["extra"] = extra
    return user


def source_ips(headers, peer: str) -> List[str]:
    """utilnet.SourceIPs: X-Forwarded-For entries, then X-Real-Ip, then the peer when it differs from the last."""
    ips: List[str] = []
    for raw in (headers.get("X-Forwarded-For") or "").split(","):
        entry = raw.strip()
        if _is_ip(entry):
            ips.append(str(ipaddress.ip_address(entry)))
    real_ip = (headers.get("X-Real-Ip") or "").strip()
    if _is_ip(real_ip) and str(ipaddress.ip_address(real_ip)) not in ips:
        ips.append(str(ipaddress.ip_address(real_ip)))
    if _is_ip(peer) and (not ips or ips[-1] != str(ipaddress.ip_address(peer))):
        ips.append(str(ipaddress.ip_address(peer)))
    return ips


def is_loopback(host: str) -> bool:
    """The test masters only ever talk to loopback addresses."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def policy_request(info: Dict, user: Optional[Dict]) -> Dict:
    """The attributes the audit policy evaluator takes (the shape of tests/conformance/policy-evaluation.jsonl)."""
    return {
        "user": None if user is None else {"name": user["username"], "groups": list(user.get("groups") or [])},
        "verb": info["verb"],
        "namespace": info["namespace"],
        "apiGroup": info["apiGroup"],
        "apiVersion": info["apiVersion"],
        "resource": info["resource"],
        "subresource": info["subresource"],
        "name": info["name"],
        "resourceRequest": info["resourceRequest"],
        "path": info["path"],
    }


def object_reference(info: Dict) -> Optional[Dict]:
    """The audit event's objectRef: resource requests only, keys in audit/v1 ObjectReference order, empties left out."""
    if not info["resourceRequest"]:
        return None
    reference = {
        "resource": info["resource"],
        "namespace": info["namespace"],
        "name": info["name"],
        "apiGroup": info["apiGroup"],
        "apiVersion": info["apiVersion"],
        "subresource": info["subresource"],
    }
    return {key: value for key, value in reference.items() if value}

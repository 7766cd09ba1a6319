"""audit.k8s.io/v1 Event lines as kube-apiserver's log backend writes them.

Field order is the Go struct's (k8s.io/apiserver/pkg/apis/audit/v1 ``Event``): kind, apiVersion, level, auditID,
stage, requestURI, verb, user, impersonatedUser, sourceIPs, userAgent, objectRef, responseStatus, requestObject,
responseObject, requestReceivedTimestamp, stageTimestamp, annotations; ``omitempty`` fields are left out when
empty. Timestamps are metav1.MicroTime: RFC 3339, UTC, six fractional digits. JSON is encoding/json's: compact,
with ``<``, ``>``, ``&``, U+2028 and U+2029 escaped. The legacy format is audit.EventString after an RFC3339Nano
timestamp.
"""

from __future__ import annotations

import datetime
import json
from typing import Dict, List, Optional

STAGE_REQUEST_RECEIVED = "RequestReceived"
STAGE_RESPONSE_STARTED = "ResponseStarted"
STAGE_RESPONSE_COMPLETE = "ResponseComplete"
STAGES = (STAGE_REQUEST_RECEIVED, STAGE_RESPONSE_STARTED, STAGE_RESPONSE_COMPLETE, "Panic")
LEVELS = ("None", "Metadata", "Request", "RequestResponse")

_GO_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}


def _utc(timestamp: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(timestamp, tz=datetime.timezone.utc)


def micro_time(timestamp: float) -> str:
    """metav1.MicroTime JSON: ``2006-01-02T15:04:05.000000Z``."""
    return _utc(timestamp).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def rfc3339_nano(timestamp: float) -> str:
    """time.RFC3339Nano in UTC: trailing zeros of the fraction (and a bare dot) dropped."""
    moment = _utc(timestamp)
    fraction = f"{moment.microsecond:06d}".rstrip("0")
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + (f".{fraction}" if fraction else "") + "Z"


def level_at_least(level: str, minimum: str) -> bool:
    return LEVELS.index(level) >= LEVELS.index(minimum)


def new_event(
    *,
    api_version: str,
    level: str,
    audit_id: str,
    stage: str,
    request_uri: str,
    verb: str,
    user: Dict,
    source_ips: List[str],
    impersonated_user: Optional[Dict] = None,
    user_agent: str,
    object_ref: Optional[Dict],
    received: float,
    stage_time: float,
    response_code: Optional[int] = None,
    request_object: Optional[object] = None,
    response_object: Optional[object] = None,
    annotations: Optional[Dict[str, str]] = None,
) -> Dict:
    """One event, keys in the order the apiserver serializes them. Bodies are kept only at the levels that log them."""
    event: Dict = {
        "kind": "Event",
        "apiVersion": api_version,
        "level": level,
        "auditID": audit_id,
        "stage": stage,
        "requestURI": request_uri,
        "verb": verb,
        "user": user,
    }
    if impersonated_user:
        event["impersonatedUser"] = impersonated_user
    if source_ips:
        event["sourceIPs"] = source_ips
    if user_agent:
        event["userAgent"] = user_agent
    if object_ref:
        event["objectRef"] = object_ref
    if response_code is not None:
        event["responseStatus"] = {"metadata": {}, "code": response_code}
    if request_object is not None and level_at_least(level, "Request"):
        event["requestObject"] = request_object
    if response_object is not None and level_at_least(level, "RequestResponse"):
        event["responseObject"] = response_object
    event["requestReceivedTimestamp"] = micro_time(received)
    event["stageTimestamp"] = micro_time(stage_time)
    if annotations:
        event["annotations"] = annotations
    return event


def encode_json(event: Dict) -> bytes:
    """One log line: the event as Go's encoding/json writes it, then a newline."""
    text = json.dumps(event, ensure_ascii=False, separators=(",", ":"))
    for raw, escaped in _GO_ESCAPES.items():
        text = text.replace(raw, escaped)
    return (text + "\n").encode("utf-8")


def _go_quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def encode_legacy(event: Dict) -> bytes:
    """One log line in ``--audit-log-format=legacy``: timestamp, then audit.EventString."""
    user = event.get("user") or {}
    username, groups = "<none>", "<none>"
    if user.get("username"):
        username = user["username"]
        if user.get("groups"):
            groups = ",".join(_go_quote(group) for group in user["groups"])
    impersonated = event.get("impersonatedUser")
    as_user, as_groups = "<self>", "<lookup>"
    if impersonated:
        as_user = impersonated.get("username", "")
        if impersonated.get("groups") is not None:
            as_groups = ",".join(_go_quote(group) for group in impersonated["groups"])
    namespace = (event.get("objectRef") or {}).get("namespace") or "<none>"
    response = str(event["responseStatus"]["code"]) if event.get("responseStatus") else "<deferred>"
    source_ip = (event.get("sourceIPs") or ["<unknown>"])[0]
    received = datetime.datetime.strptime(event["requestReceivedTimestamp"], "%Y-%m-%dT%H:%M:%S.%fZ")
    stamp = rfc3339_nano(received.replace(tzinfo=datetime.timezone.utc).timestamp())
    fields = [
        ("id", event["auditID"]),
        ("stage", event["stage"]),
        ("ip", source_ip),
        ("method", event["verb"]),
        ("user", username),
        ("groups", groups),
        ("as", as_user),
        ("asgroups", as_groups),
        ("user-agent", event.get("userAgent", "")),
        ("namespace", namespace),
        ("uri", event["requestURI"]),
    ]
    text = " ".join(f"{key}={_go_quote(value)}" for key, value in fields)
    return f'{stamp} AUDIT: {text} response="{response}"\n'.encode()

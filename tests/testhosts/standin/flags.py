"""kube-apiserver's command line as cobra/pflag parse it, and the audit options as k8s.io/apiserver validates them.

Messages are kube-apiserver's own (pflag's and ``options/audit.go``'s), so a test can match what a real master
would print. The flag table is the union of kube-apiserver v1.29 to v1.32; every value is typed as pflag types it
where a wrong value would fail (ints, bools, floats, durations), the rest are plain strings.
"""

from __future__ import annotations

import re
from typing import Dict, List, NamedTuple, Optional

BOOL, INT, FLOAT, DURATION, STRING, OPTIONAL = "bool", "int", "float", "duration", "string", "optional"

_FLAG_TABLE = """
admission-control string
admission-control-config-file string
advertise-address string
aggregator-reject-forwarding-redirect bool
allow-metric-labels string
allow-metric-labels-manifest string
allow-privileged bool
anonymous-auth bool
api-audiences string
apiserver-count int
audit-log-batch-buffer-size int
audit-log-batch-max-size int
audit-log-batch-max-wait duration
audit-log-batch-throttle-burst int
audit-log-batch-throttle-enable bool
audit-log-batch-throttle-qps float
audit-log-compress bool
audit-log-format string
audit-log-maxage int
audit-log-maxbackup int
audit-log-maxsize int
audit-log-mode string
audit-log-path string
audit-log-truncate-enabled bool
audit-log-truncate-max-batch-size int
audit-log-truncate-max-event-size int
audit-log-version string
audit-policy-file string
audit-webhook-batch-buffer-size int
audit-webhook-batch-initial-backoff duration
audit-webhook-batch-max-size int
audit-webhook-batch-max-wait duration
audit-webhook-batch-throttle-burst int
audit-webhook-batch-throttle-enable bool
audit-webhook-batch-throttle-qps float
audit-webhook-config-file string
audit-webhook-initial-backoff duration
audit-webhook-mode string
audit-webhook-truncate-enabled bool
audit-webhook-truncate-max-batch-size int
audit-webhook-truncate-max-event-size int
audit-webhook-version string
authentication-config string
authentication-token-webhook-cache-ttl duration
authentication-token-webhook-config-file string
authentication-token-webhook-version string
authorization-config string
authorization-mode string
authorization-policy-file string
authorization-webhook-cache-authorized-ttl duration
authorization-webhook-cache-unauthorized-ttl duration
authorization-webhook-config-file string
authorization-webhook-version string
bind-address string
cert-dir string
client-ca-file string
cloud-config string
cloud-provider string
contention-profiling bool
cors-allowed-origins string
debug-socket-path string
default-not-ready-toleration-seconds int
default-unreachable-toleration-seconds int
default-watch-cache-size int
delete-collection-workers int
disable-admission-plugins string
disable-http2-serving bool
disabled-metrics string
egress-selector-config-file string
emulated-version string
enable-admission-plugins string
enable-aggregator-routing bool
enable-bootstrap-token-auth bool
enable-garbage-collector bool
enable-logs-handler bool
enable-priority-and-fairness bool
encryption-provider-config string
encryption-provider-config-automatic-reload bool
endpoint-reconciler-type string
etcd-cafile string
etcd-certfile string
etcd-compaction-interval duration
etcd-count-metric-poll-period duration
etcd-db-metric-poll-interval duration
etcd-healthcheck-timeout duration
etcd-keyfile string
etcd-prefix string
etcd-readycheck-timeout duration
etcd-servers string
etcd-servers-overrides string
event-ttl duration
external-hostname string
feature-gates string
goaway-chance float
help bool
http2-max-streams-per-connection int
identity-lease-duration-seconds int
identity-lease-renew-interval-seconds int
kubelet-certificate-authority string
kubelet-client-certificate string
kubelet-client-key string
kubelet-preferred-address-types string
kubelet-timeout duration
kubernetes-service-node-port int
lease-reuse-duration-seconds int
livez-grace-period duration
log-flush-frequency duration
log-json-info-buffer-size string
log-json-split-stream bool
log-text-info-buffer-size string
log-text-split-stream bool
logging-format string
max-connection-bytes-per-sec int
max-mutating-requests-inflight int
max-requests-inflight int
min-request-timeout int
oidc-ca-file string
oidc-client-id string
oidc-groups-claim string
oidc-groups-prefix string
oidc-issuer-url string
oidc-required-claim string
oidc-signing-algs string
oidc-username-claim string
oidc-username-prefix string
peer-advertise-ip string
peer-advertise-port string
peer-ca-file string
permit-address-sharing bool
permit-port-sharing bool
profiling bool
proxy-client-cert-file string
proxy-client-key-file string
request-timeout duration
requestheader-allowed-names string
requestheader-client-ca-file string
requestheader-extra-headers-prefix string
requestheader-group-headers string
requestheader-uid-headers string
requestheader-username-headers string
runtime-config string
secure-port int
service-account-extend-token-expiration bool
service-account-issuer string
service-account-jwks-uri string
service-account-key-file string
service-account-lookup bool
service-account-max-token-expiration duration
service-account-signing-endpoint string
service-account-signing-key-file string
service-cluster-ip-range string
service-node-port-range string
show-hidden-metrics-for-version string
shutdown-delay-duration duration
shutdown-send-retry-after bool
shutdown-watch-termination-grace-period duration
storage-backend string
storage-initialization-timeout duration
storage-media-type string
strict-transport-security-directives string
tls-cert-file string
tls-cipher-suites string
tls-min-version string
tls-private-key-file string
tls-sni-cert-key string
token-auth-file string
tracing-config-file string
v int
version optional
vmodule string
watch-cache bool
watch-cache-sizes string
"""

FLAGS: Dict[str, str] = dict(line.split() for line in _FLAG_TABLE.strip().splitlines())
SHORTHANDS = {"v": "v", "h": "help"}
# Flags whose value cobra's list-typed (string slice) parser accumulates over repeats.
_REPEATABLE = {"service-account-issuer", "service-account-key-file", "tls-sni-cert-key", "oidc-required-claim"}

_GO_DURATION = re.compile(r"^[-+]?(0|((\d+(\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h))+)$")
_GO_BOOLS = {"1": True, "t": True, "T": True, "TRUE": True, "true": True, "True": True}
_GO_BOOLS.update({"0": False, "f": False, "F": False, "FALSE": False, "false": False, "False": False})
_INT64 = 2**63


class FlagError(Exception):
    """A command-line error: kube-apiserver prints its usage, then ``Error: <message>``, and exits 1."""


class ParsedArgs(NamedTuple):
    values: Dict[str, str]  # flag name (normalized) -> last value given, as text
    repeated: Dict[str, List[str]]  # every value of list-typed flags, in order
    positional: List[str]


def normalize(name: str) -> str:
    """cliflag.WordSepNormalizeFunc: ``_`` and ``-`` are the same in kube-apiserver flag names."""
    return name.replace("_", "-")


def parse_go_int(text: str) -> int:
    """strconv.ParseInt(text, 0, 64), with its error text."""
    body = text[1:] if text[:1] in "+-" else text
    sign = -1 if text.startswith("-") else 1
    try:
        if re.fullmatch(r"0[0-7]+", body):  # a leading 0 means octal in Go, not in Python
            value = int(body, 8)
        elif "_" in body and not re.match(r"0[xXoObB]", body):
            raise ValueError(body)
        else:
            value = int(body, 0)
    except ValueError:
        raise ValueError(f'strconv.ParseInt: parsing "{text}": invalid syntax') from None
    value *= sign
    if not -_INT64 <= value < _INT64:
        raise ValueError(f'strconv.ParseInt: parsing "{text}": value out of range')
    return value


def parse_go_bool(text: str) -> bool:
    """strconv.ParseBool, with its error text."""
    if text not in _GO_BOOLS:
        raise ValueError(f'strconv.ParseBool: parsing "{text}": invalid syntax')
    return _GO_BOOLS[text]


def _check_value(kind: str, text: str) -> None:
    if kind == INT:
        parse_go_int(text)
    elif kind == BOOL:
        parse_go_bool(text)
    elif kind == FLOAT:
        try:
            float(text)
        except ValueError:
            raise ValueError(f'strconv.ParseFloat: parsing "{text}": invalid syntax') from None
    elif kind == DURATION and not _GO_DURATION.match(text):
        raise ValueError(f'time: invalid duration "{text}"')


def _store(parsed: ParsedArgs, name: str, value: str, shown: str) -> None:
    kind = FLAGS[name]
    try:
        _check_value(kind, value)
    except ValueError as exc:
        raise FlagError(f'invalid argument "{value}" for "{shown}" flag: {exc}') from None
    parsed.values[name] = value
    if name in _REPEATABLE:
        parsed.repeated.setdefault(name, []).append(value)


def _shown(name: str) -> str:
    shorthand = next((short for short, long in SHORTHANDS.items() if long == name), None)
    return f"-{shorthand}, --{name}" if shorthand else f"--{name}"


def parse_args(argv: List[str]) -> ParsedArgs:
    """Parse kube-apiserver's arguments (without argv[0]) the way pflag does; raise FlagError like it."""
    parsed = ParsedArgs({}, {}, [])
    args = list(argv)
    while args:
        arg = args.pop(0)
        if len(arg) < 2 or not arg.startswith("-"):
            parsed.positional.append(arg)
        elif arg == "--":
            parsed.positional.extend(args)
            break
        elif arg.startswith("--"):
            _parse_long(parsed, arg, args)
        else:
            _parse_short(parsed, arg, args)
    return parsed


def _parse_long(parsed: ParsedArgs, arg: str, rest: List[str]) -> None:
    body = arg[2:]
    if not body or body[0] in "-=":
        raise FlagError(f"bad flag syntax: {arg}")
    given, has_value, value = body.partition("=")
    name = normalize(given)
    if name not in FLAGS:
        raise FlagError(f"unknown flag: --{given}")
    kind = FLAGS[name]
    if not has_value:
        if kind in (BOOL, OPTIONAL):
            value = "true"
        elif rest:
            value = rest.pop(0)
        else:
            raise FlagError(f"flag needs an argument: {arg}")
    if kind == OPTIONAL:  # --version[=true|false|raw]
        parsed.values[name] = value
        return
    _store(parsed, name, value, _shown(name))


def _parse_short(parsed: ParsedArgs, arg: str, rest: List[str]) -> None:
    shorthands = arg[1:]
    while shorthands:
        letter = shorthands[0]
        if letter not in SHORTHANDS:
            raise FlagError(f"unknown shorthand flag: '{letter}' in {arg}")
        name = SHORTHANDS[letter]
        remainder = shorthands[1:]
        if remainder.startswith("="):
            value, shorthands = remainder[1:], ""
        elif FLAGS[name] == BOOL:
            value, shorthands = "true", remainder
        elif remainder:
            value, shorthands = remainder, ""
        elif rest:
            value, shorthands = rest.pop(0), ""
        else:
            raise FlagError(f"flag needs an argument: '{letter}' in {arg}")
        _store(parsed, name, value, _shown(name))


# --------------------------------------------------------------------------------------------------- audit


AUDIT_FLAG_PREFIX = "audit-"
ALLOWED_MODES = ("batch", "blocking", "blocking-strict")
ALLOWED_FORMATS = ("legacy", "json")
KNOWN_GROUP_VERSIONS = ("audit.k8s.io/v1",)
# Flags naming files the apiserver opens: the container must see them through a volumeMount.
AUDIT_PATH_FLAGS = ("audit-policy-file", "audit-log-path", "audit-webhook-config-file")


class AuditOptions(NamedTuple):
    policy_file: str
    log_path: str
    log_maxage: int
    log_maxbackup: int
    log_maxsize: int
    log_compress: bool
    log_format: str
    log_mode: str
    log_version: str
    webhook_config_file: str
    webhook_mode: str
    webhook_version: str
    truncate: Dict[str, Dict[str, int]]  # backend -> {max_event_size, max_batch_size}
    batch: Dict[str, Dict[str, float]]  # backend -> {buffer_size, max_size, throttle_enable, qps, burst}

    @classmethod
    def from_args(cls, values: Dict[str, str]) -> AuditOptions:
        def text(name: str, default: str = "") -> str:
            return values.get(name, default)

        def integer(name: str, default: int = 0) -> int:
            return parse_go_int(values[name]) if name in values else default

        def boolean(name: str, default: bool) -> bool:
            return parse_go_bool(values[name]) if name in values else default

        def number(name: str, default: float) -> float:
            return float(values[name]) if name in values else default

        defaults = {  # NewAuditOptions: the log backend buffers nothing, the webhook batches with throttling
            "log": {"max_size": 1, "throttle_enable": False, "qps": 0.0, "burst": 0},
            "webhook": {"max_size": 400, "throttle_enable": True, "qps": 10.0, "burst": 15},
        }
        batch = {
            backend: {
                "buffer_size": integer(f"audit-{backend}-batch-buffer-size", 10000),
                "max_size": integer(f"audit-{backend}-batch-max-size", int(default["max_size"])),
                "throttle_enable": boolean(f"audit-{backend}-batch-throttle-enable", bool(default["throttle_enable"])),
                "qps": number(f"audit-{backend}-batch-throttle-qps", float(default["qps"])),
                "burst": integer(f"audit-{backend}-batch-throttle-burst", int(default["burst"])),
            }
            for backend, default in defaults.items()
        }
        truncate = {
            backend: {
                "max_event_size": integer(f"audit-{backend}-truncate-max-event-size", 100 * 1024),
                "max_batch_size": integer(f"audit-{backend}-truncate-max-batch-size", 10 * 1024 * 1024),
            }
            for backend in defaults
        }
        return cls(
            policy_file=text("audit-policy-file"),
            log_path=text("audit-log-path"),
            log_maxage=integer("audit-log-maxage"),
            log_maxbackup=integer("audit-log-maxbackup"),
            log_maxsize=integer("audit-log-maxsize"),
            log_compress=boolean("audit-log-compress", False),
            log_format=text("audit-log-format", "json"),
            log_mode=text("audit-log-mode", "blocking"),
            log_version=text("audit-log-version", "audit.k8s.io/v1"),
            webhook_config_file=text("audit-webhook-config-file"),
            webhook_mode=text("audit-webhook-mode", "batch"),
            webhook_version=text("audit-webhook-version", "audit.k8s.io/v1"),
            truncate=truncate,
            batch=batch,
        )

    def validate(self) -> List[str]:
        """AuditOptions.Validate: every error, in kube-apiserver's order and words."""
        errors: List[str] = []
        if self.log_path:
            errors.extend(self._backend_errors("log", self.log_mode, self.log_version))
            if self.log_format not in ALLOWED_FORMATS:
                allowed = ",".join(ALLOWED_FORMATS)
                errors.append(f'invalid audit log format {self.log_format}, allowed formats are "{allowed}"')
            for flag, value in (
                ("maxage", self.log_maxage),
                ("maxbackup", self.log_maxbackup),
                ("maxsize", self.log_maxsize),
            ):
                if value < 0:
                    errors.append(f"--audit-log-{flag} {value} can't be a negative number")
        if self.webhook_config_file:
            errors.extend(self._backend_errors("webhook", self.webhook_mode, self.webhook_version))
        return errors

    def _backend_errors(self, backend: str, mode: str, version: str) -> List[str]:
        errors = []
        batch = self.batch[backend]
        if mode not in ALLOWED_MODES:
            errors.append(f'invalid audit {backend} mode {mode}, allowed modes are "{",".join(ALLOWED_MODES)}"')
        elif mode == "batch":
            if batch["buffer_size"] <= 0:
                errors.append(
                    f"invalid audit batch {backend} buffer size {batch['buffer_size']}, must be a positive number"
                )
            elif batch["max_size"] <= 0:
                errors.append(
                    f"invalid audit batch {backend} max batch size {batch['max_size']}, must be a positive number"
                )
            elif batch["throttle_enable"] and batch["qps"] <= 0:
                errors.append(f"invalid audit batch {backend} throttle QPS {batch['qps']:g}, must be a positive number")
            elif batch["throttle_enable"] and batch["burst"] <= 0:
                errors.append(
                    f"invalid audit batch {backend} throttle burst {batch['burst']}, must be a positive number"
                )
        truncate = self.truncate[backend]
        if truncate["max_event_size"] <= 0:
            errors.append(
                f"invalid audit truncate {backend} max event size {truncate['max_event_size']}, "
                "must be a positive number"
            )
        elif truncate["max_batch_size"] < truncate["max_event_size"]:
            errors.append(
                f"invalid audit truncate {backend} max batch size {truncate['max_batch_size']}, must be greater "
                f"than max event size ({truncate['max_event_size']})"
            )
        if version not in KNOWN_GROUP_VERSIONS:
            if version.count("/") > 1:
                errors.append(f"unexpected GroupVersion string: {version}")
            else:
                known = ", ".join(f'"{gv}"' for gv in KNOWN_GROUP_VERSIONS)
                errors.append(f"invalid group version, allowed versions are [{known}]")
        return errors


def audit_flags_present(values: Dict[str, str]) -> bool:
    return any(name.startswith(AUDIT_FLAG_PREFIX) for name in values)


def audit_paths(values: Dict[str, str]) -> List[tuple]:
    """(flag, path) for every audit flag that names a file the apiserver opens (``-`` is standard out)."""
    return [(name, values[name]) for name in AUDIT_PATH_FLAGS if values.get(name) and values[name] != "-"]


def aggregate(errors: List[str]) -> Optional[str]:
    """utilerrors.NewAggregate(errs).Error()."""
    if not errors:
        return None
    return errors[0] if len(errors) == 1 else "[" + ", ".join(errors) + "]"

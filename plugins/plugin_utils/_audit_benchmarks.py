# Copyright: (c) 2026, NNF kube_audit maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The benchmark columns of the audit status report: CIS and DISA STIG audit checks, and the audit log's disk budget.

Judged on the flags of the RUNNING kube-apiserver (what it enforces now), with the manifest's value shown beside a
check when the manifest says something else (what it will enforce after its next restart). Controller side, plain
Python. Flags are ``{flag key: value}`` dicts as ``_flags.values(items)`` returns them: keys without the leading
dashes, ``_`` read as ``-`` (``_flags.flag_key``), values strings (None for a flag given without a value).

* ``disk_budget(flags)``: the bytes kube-apiserver's audit log rotation (lumberjack) may keep on disk, or None.
* ``evaluate(live_flags, manifest_flags, policy, thresholds=None)``: one row per check, in ``RULES`` order.

Numeric flags are read as kube-apiserver reads them: pflag's ``IntVar``, ``strconv.ParseInt(value, 0, 64)``
(``0x64``, ``0o144``, ``0144`` and ``1_00`` are all 100; `` 100`` and ``100.0`` are refused, and kube-apiserver
exits on such a value). kube-apiserver also exits on a negative ``--audit-log-maxage``, ``--audit-log-maxbackup`` or
``--audit-log-maxsize`` when ``--audit-log-path`` is set (``AuditLogOptions.Validate``).

Check numbering: CIS Kubernetes Benchmark v1.8 and later (kube-bench's ``cis-1.8``: 1.2.16 to 1.2.19, 3.2.1), DISA
Kubernetes STIG vulnerability ids (V-242402 to V-242465).
"""

from ansible_collections.nnf.kube_audit.plugins.module_utils import _flags
from ansible_collections.nnf.kube_audit.plugins.module_utils._goyaml_scalars import _go_parse_int
from ansible_collections.nnf.kube_audit.plugins.plugin_utils import audit_policy

# What CIS (1.2.17 to 1.2.19) and the STIG (V-242462 to V-242464) ask for: days, old files, megabytes.
DEFAULT_THRESHOLDS = {"maxage": 30, "maxbackup": 10, "maxsize": 100}

# lumberjack.Logger: MaxSize 0 means 100 megabytes, a megabyte being 1024 * 1024 bytes.
DEFAULT_MAXSIZE_MB = 100
MEGABYTE = 1024 * 1024

PATH_FLAG = "audit-log-path"
POLICY_FLAG = "audit-policy-file"
MAXAGE_FLAG = "audit-log-maxage"
MAXBACKUP_FLAG = "audit-log-maxbackup"
MAXSIZE_FLAG = "audit-log-maxsize"

# STIG V-242403: a request no rule of a targeted policy would single out (an ordinary user writing an ordinary
# object of a built-in group), so that its level is what the policy does with ordinary writes. DISA's fix text sets
# the catch-all ``- level: RequestResponse``. Not a Secret or a ConfigMap: a policy that keeps those at Metadata (as
# Kubernetes' reference policy does, and as the policy linter asks) must still be able to pass.
STIG_REQUEST = {
    "verb": "create",
    "apiGroup": "apps",
    "apiVersion": "v1",
    "resource": "deployments",
    "namespace": "default",
    "name": "stig-check",
    "user": {"name": "stig-check", "groups": ["system:authenticated"]},
}
STIG_LEVEL = "RequestResponse"

# The checks, in report order. ``check`` names the judge (``_CHECKS``): "set" (the flag is present with a non-empty
# value), "minimum" (the flag is an integer >= ``thresholds[threshold]``), "policy" (the live policy records
# STIG_REQUEST at STIG_LEVEL). ``title`` is formatted with the thresholds in force.
RULES = (
    {"id": "CIS 1.2.16", "title": "audit log path set", "check": "set", "flag": PATH_FLAG},
    {
        "id": "CIS 1.2.17",
        "title": "audit log kept >= {maxage} days",
        "check": "minimum",
        "flag": MAXAGE_FLAG,
        "threshold": "maxage",
    },
    {
        "id": "CIS 1.2.18",
        "title": "audit log backups >= {maxbackup}",
        "check": "minimum",
        "flag": MAXBACKUP_FLAG,
        "threshold": "maxbackup",
    },
    {
        "id": "CIS 1.2.19",
        "title": "audit log rotated at >= {maxsize} MB",
        "check": "minimum",
        "flag": MAXSIZE_FLAG,
        "threshold": "maxsize",
    },
    {"id": "CIS 3.2.1", "title": "audit policy file set", "check": "set", "flag": POLICY_FLAG},
    {"id": "STIG V-242402", "title": "audit log path set", "check": "set", "flag": PATH_FLAG},
    {"id": "STIG V-242403", "title": "requests recorded at RequestResponse", "check": "policy"},
    {"id": "STIG V-242461", "title": "audit policy file set", "check": "set", "flag": POLICY_FLAG},
    {
        "id": "STIG V-242462",
        "title": "audit log rotated at >= {maxsize} MB",
        "check": "minimum",
        "flag": MAXSIZE_FLAG,
        "threshold": "maxsize",
    },
    {
        "id": "STIG V-242463",
        "title": "audit log backups >= {maxbackup}",
        "check": "minimum",
        "flag": MAXBACKUP_FLAG,
        "threshold": "maxbackup",
    },
    {
        "id": "STIG V-242464",
        "title": "audit log kept >= {maxage} days",
        "check": "minimum",
        "flag": MAXAGE_FLAG,
        "threshold": "maxage",
    },
    {"id": "STIG V-242465", "title": "audit log path set", "check": "set", "flag": PATH_FLAG},
)


def _keyed(flags):
    """``flags`` with every key as ``_flags.flag_key`` spells it (None is an empty dict)."""
    return {_flags.flag_key(name): value for name, value in (flags or {}).items()}


def _underscores_ok(text):
    """Go strconv ``underscoreOK``: ``_`` only between digits, or between a base prefix and a digit."""
    saw = "^"
    index = 0
    if text[:1] in ("+", "-"):
        text = text[1:]
    hexadecimal = False
    if len(text) >= 2 and text[0] == "0" and text[1].lower() in "box":
        index = 2
        saw = "0"
        hexadecimal = text[1].lower() == "x"
    for char in text[index:]:
        if "0" <= char <= "9" or (hexadecimal and "a" <= char.lower() <= "f"):
            saw = "0"
        elif char == "_":
            if saw != "0":
                return False
            saw = "_"
        elif saw == "_":
            return False
        else:
            saw = "!"
    return saw != "_"


def parse_int(value):
    """The integer kube-apiserver reads from a numeric flag's value (pflag: ``strconv.ParseInt(value, 0, 64)``).

    None when kube-apiserver would refuse the value (not an integer, out of the int64 range) or when there is no
    value (None or "").
    """
    if not value or not isinstance(value, str):
        return None
    if "_" in value:
        if not _underscores_ok(value):
            return None
        value = value.replace("_", "")
    return _go_parse_int(value)


def disk_budget(flags):
    """Bytes kube-apiserver's audit log may take on disk: ``maxsize`` MiB times (``maxbackup`` + 1) files; or None.

    ``flags`` are the kube-apiserver flags (``_flags.values`` shape). lumberjack keeps the current file (rotated
    before it grows past ``--audit-log-maxsize`` megabytes of 1024 * 1024 bytes; 0, unset or empty is its default,
    100) and ``--audit-log-maxbackup`` old ones. This is the steady-state bound: compressed backups
    (``--audit-log-compress``) take less, and for a moment after a rotation, until lumberjack's cleanup goroutine
    deletes the oldest backup, one more file exists.

    None means no bound can be stated:

    * no log file: ``--audit-log-path`` unset, empty, or ``-`` (standard output);
    * unlimited: ``--audit-log-maxbackup`` unset, empty or 0 (lumberjack then keeps every backup; ``--audit-log-maxage``
      may delete old ones, but by age, not size);
    * unknown: ``--audit-log-maxbackup`` or ``--audit-log-maxsize`` is not an integer kube-apiserver accepts, or is
      negative. kube-apiserver refuses to start with such a value, so no running server has it; ``evaluate``'s
      CIS 1.2.18 and 1.2.19 rows fail with "not a number" / "negative", which says why there is no budget.
    """
    flags = _keyed(flags)
    path = flags.get(PATH_FLAG)
    if not path or path == "-":
        return None
    raw_backups = flags.get(MAXBACKUP_FLAG)
    if not raw_backups:
        return None
    backups = parse_int(raw_backups)
    if backups is None or backups <= 0:
        return None
    raw_size = flags.get(MAXSIZE_FLAG)
    size = parse_int(raw_size) if raw_size else 0
    if size is None or size < 0:
        return None
    return (size or DEFAULT_MAXSIZE_MB) * MEGABYTE * (backups + 1)


def _check_set(rule, flags, policy, thresholds):
    """``(ok, live value, reason)``: the flag is present with a non-empty value."""
    flag = rule["flag"]
    value = flags.get(flag)
    if value is None:
        return False, None, f"--{flag} is not set"
    if value == "":
        return False, value, f"--{flag} is empty"
    return True, value, ""


def _check_minimum(rule, flags, policy, thresholds):
    """``(ok, live value, reason)``: the flag is an integer at least the rule's threshold."""
    flag = rule["flag"]
    minimum = thresholds[rule["threshold"]]
    value = flags.get(flag)
    if not value:
        return False, value, f"--{flag} is not set (at least {minimum} is required)"
    number = parse_int(value)
    if number is None:
        return False, value, f"--{flag} is not a number: {value!r}"
    if number < 0:
        return False, value, f"--{flag} is negative ({number}), which kube-apiserver refuses"
    if number < minimum:
        return False, value, f"--{flag} is {number}, below {minimum}"
    return True, value, ""


def _check_policy(rule, flags, policy, thresholds):
    """``(ok, level, reason)``: the policy records STIG_REQUEST at STIG_LEVEL; the level it gives is the live value."""
    if policy is None:
        if not flags.get(POLICY_FLAG):
            return False, None, f"the audit policy could not be read: --{POLICY_FLAG} is not set"
        return False, None, f"the audit policy (--{POLICY_FLAG}={flags[POLICY_FLAG]}) could not be read"
    level = audit_policy.evaluate_request(policy, STIG_REQUEST)["level"]
    if level == STIG_LEVEL:
        return True, level, ""
    resource = ".".join(part for part in (STIG_REQUEST["resource"], STIG_REQUEST["apiGroup"]) if part)
    request = f"{STIG_REQUEST['verb']} {resource} in namespace {STIG_REQUEST['namespace']}"
    if level == audit_policy.DEFAULT_LEVEL:
        return False, level, f"the policy does not record an ordinary request ({request}); {STIG_LEVEL} is required"
    return False, level, f"the policy records an ordinary request ({request}) at {level}, not {STIG_LEVEL}"


_CHECKS = {"set": _check_set, "minimum": _check_minimum, "policy": _check_policy}


def _thresholds(thresholds):
    """DEFAULT_THRESHOLDS updated with ``thresholds``; ValueError for an unknown key or a value that is not an int."""
    merged = dict(DEFAULT_THRESHOLDS)
    for key, value in (thresholds or {}).items():
        if key not in DEFAULT_THRESHOLDS:
            raise ValueError(f"unknown threshold {key!r}: expected one of {', '.join(sorted(DEFAULT_THRESHOLDS))}")
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"threshold {key!r} must be an integer, not {value!r}")
        merged[key] = value
    return merged


def evaluate(live_flags, manifest_flags, policy, thresholds=None):
    """The benchmark rows for one master, in ``RULES`` order, judged on the running kube-apiserver's flags.

    ``live_flags``: the running kube-apiserver's flags; ``manifest_flags``: its static-pod manifest's (None when there
    is no manifest); both in ``_flags.values`` shape. ``policy``: the Policy the live ``--audit-policy-file`` holds, as
    ``audit_policy.load_policy`` decodes it, or None when it could not be read. ``thresholds``: overrides of
    ``DEFAULT_THRESHOLDS`` (a partial dict is merged with the defaults; ValueError for an unknown key or a value
    that is not an int).

    Each row is ``{"id", "title", "ok", "live", "reason"}``, plus ``"manifest"`` when the manifest differs:

    * ``ok``: True or False; ``reason``: why it fails, a short sentence ("" when ok);
    * ``live``: the live flag's value as given (a string, None when unset); for STIG V-242403 the level the policy
      gives STIG_REQUEST (None when there is no policy);
    * ``manifest``: present only when there is a manifest and its value of the row's flag differs from the live
      one (compared as text, so ``0144`` differs from ``100``); None there means the manifest does not set the flag.
      So ``"manifest" in row`` is the test for "the next restart changes this". STIG V-242403 never has it: only the
      live policy is judged.
    """
    thresholds = _thresholds(thresholds)
    live = _keyed(live_flags)
    manifest = None if manifest_flags is None else _keyed(manifest_flags)
    rows = []
    for rule in RULES:
        ok, value, reason = _CHECKS[rule["check"]](rule, live, policy, thresholds)
        row = {"id": rule["id"], "title": rule["title"].format(**thresholds), "ok": ok, "live": value}
        flag = rule.get("flag")
        if flag and manifest is not None and manifest.get(flag) != live.get(flag):
            row["manifest"] = manifest.get(flag)
        row["reason"] = reason
        rows.append(row)
    return rows

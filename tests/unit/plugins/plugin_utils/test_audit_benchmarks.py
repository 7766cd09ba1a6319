"""_audit_benchmarks: the CIS / STIG rows of the audit status report and the audit log's disk budget.

Flags are dicts in ``_flags.values`` shape (made here with ``_flags.values`` from command items, or written out);
policies are loaded with ``audit_policy.load_policy`` from YAML, the role's presets from their files.
"""

import re
from pathlib import Path

import pytest

from ansible_collections.nnf.kube_audit.plugins.module_utils import _flags
from ansible_collections.nnf.kube_audit.plugins.plugin_utils import _audit_benchmarks, _policy_lint, audit_policy
from ansible_collections.nnf.kube_audit.plugins.plugin_utils._audit_benchmarks import (
    DEFAULT_THRESHOLDS,
    disk_budget,
    evaluate,
    parse_int,
)

PRESETS = Path(__file__).resolve().parents[4] / "roles" / "kube_audit" / "files" / "presets"
MIB = 1024 * 1024
LOG = "/var/log/kubernetes/audit/kube-apiserver-audit.log"
POLICY_FILE = "/etc/kubernetes/audit-policy.yaml"
# A kube-apiserver command meeting every check.
COMMAND = [
    "kube-apiserver",
    "--advertise-address=192.168.0.10",
    f"--audit-log-path={LOG}",
    "--audit-log-maxage=30",
    "--audit-log-maxbackup",
    "10",
    "--audit-log-maxsize=100",
    f"--audit-policy-file={POLICY_FILE}",
]
ALL_IDS = [
    "CIS 1.2.16",
    "CIS 1.2.17",
    "CIS 1.2.18",
    "CIS 1.2.19",
    "CIS 3.2.1",
    "STIG V-242402",
    "STIG V-242403",
    "STIG V-242461",
    "STIG V-242462",
    "STIG V-242463",
    "STIG V-242464",
    "STIG V-242465",
]
PATH_IDS = {"CIS 1.2.16", "STIG V-242402", "STIG V-242465"}
MAXAGE_IDS = {"CIS 1.2.17", "STIG V-242464"}
MAXBACKUP_IDS = {"CIS 1.2.18", "STIG V-242463"}
MAXSIZE_IDS = {"CIS 1.2.19", "STIG V-242462"}
POLICY_FILE_IDS = {"CIS 3.2.1", "STIG V-242461"}

STIG_POLICY = b"""apiVersion: audit.k8s.io/v1
kind: Policy
rules:
- level: Metadata
  resources:
  - group: ""
    resources: ["secrets"]
- level: RequestResponse
"""
METADATA_CATCH_ALL = b"""apiVersion: audit.k8s.io/v1
kind: Policy
rules:
- level: Metadata
"""
# A catch-all at RequestResponse after a rule that does single out the check request: the request is judged for real.
CONFIGMAPS_IGNORED = b"""apiVersion: audit.k8s.io/v1
kind: Policy
rules:
- level: None
  resources:
  - group: "apps"
    resources: ["deployments"]
- level: RequestResponse
"""


def load(data):
    policy, warnings = audit_policy.load_policy(data)
    assert warnings == []
    return policy


def live_flags(**changes):
    """The flags of COMMAND; ``name=value`` sets a flag (``_`` for ``-``), ``name=None`` removes it."""
    flags = _flags.values(COMMAND)
    for name, value in changes.items():
        key = _flags.flag_key(name)
        if value is None:
            flags.pop(key, None)
        else:
            flags[key] = value
    return flags


def rows_by_id(rows):
    return {row["id"]: row for row in rows}


def failing(rows):
    return {row["id"] for row in rows if not row["ok"]}


# --------------------------------------------------------------------------------------------------
# evaluate: the rows
# --------------------------------------------------------------------------------------------------


def test_every_rule_passes_on_a_compliant_master():
    rows = evaluate(live_flags(), None, load(STIG_POLICY))
    assert [row["id"] for row in rows] == ALL_IDS
    assert all(row["ok"] is True for row in rows)
    assert all(row["reason"] == "" for row in rows)


def test_row_shape_without_a_manifest():
    rows = evaluate(live_flags(), None, load(STIG_POLICY))
    assert all(set(row) == {"id", "title", "ok", "live", "reason"} for row in rows)


def test_rows_give_live_values_and_titles():
    rows = rows_by_id(evaluate(live_flags(), None, load(STIG_POLICY)))
    assert {row_id: (row["title"], row["live"]) for row_id, row in rows.items()} == {
        "CIS 1.2.16": ("audit log path set", LOG),
        "CIS 1.2.17": ("audit log kept >= 30 days", "30"),
        "CIS 1.2.18": ("audit log backups >= 10", "10"),
        "CIS 1.2.19": ("audit log rotated at >= 100 MB", "100"),
        "CIS 3.2.1": ("audit policy file set", POLICY_FILE),
        "STIG V-242402": ("audit log path set", LOG),
        "STIG V-242403": ("requests recorded at RequestResponse", "RequestResponse"),
        "STIG V-242461": ("audit policy file set", POLICY_FILE),
        "STIG V-242462": ("audit log rotated at >= 100 MB", "100"),
        "STIG V-242463": ("audit log backups >= 10", "10"),
        "STIG V-242464": ("audit log kept >= 30 days", "30"),
        "STIG V-242465": ("audit log path set", LOG),
    }


@pytest.mark.parametrize(
    ("changes", "failing_ids", "reason"),
    [
        ({"audit-log-path": None}, PATH_IDS, r"^--audit-log-path is not set$"),
        ({"audit-log-path": ""}, PATH_IDS, r"^--audit-log-path is empty$"),
        ({"audit-policy-file": None}, POLICY_FILE_IDS, r"^--audit-policy-file is not set$"),
        ({"audit-policy-file": ""}, POLICY_FILE_IDS, r"^--audit-policy-file is empty$"),
        ({"audit-log-maxage": None}, MAXAGE_IDS, r"^--audit-log-maxage is not set \(at least 30 is required\)$"),
        ({"audit-log-maxage": ""}, MAXAGE_IDS, r"^--audit-log-maxage is not set"),
        ({"audit-log-maxage": "29"}, MAXAGE_IDS, r"^--audit-log-maxage is 29, below 30$"),
        ({"audit-log-maxage": "0"}, MAXAGE_IDS, r"^--audit-log-maxage is 0, below 30$"),
        ({"audit-log-maxage": "thirty"}, MAXAGE_IDS, r"^--audit-log-maxage is not a number: 'thirty'$"),
        ({"audit-log-maxage": "30.0"}, MAXAGE_IDS, r"^--audit-log-maxage is not a number: '30\.0'$"),
        ({"audit-log-maxage": " 30"}, MAXAGE_IDS, r"^--audit-log-maxage is not a number: ' 30'$"),
        ({"audit-log-maxage": "-1"}, MAXAGE_IDS, r"^--audit-log-maxage is negative \(-1\), which kube-apiserver"),
        ({"audit-log-maxbackup": None}, MAXBACKUP_IDS, r"^--audit-log-maxbackup is not set"),
        ({"audit-log-maxbackup": "9"}, MAXBACKUP_IDS, r"^--audit-log-maxbackup is 9, below 10$"),
        ({"audit-log-maxbackup": "ten"}, MAXBACKUP_IDS, r"^--audit-log-maxbackup is not a number: 'ten'$"),
        ({"audit-log-maxsize": None}, MAXSIZE_IDS, r"^--audit-log-maxsize is not set"),
        ({"audit-log-maxsize": "99"}, MAXSIZE_IDS, r"^--audit-log-maxsize is 99, below 100$"),
        ({"audit-log-maxsize": "100M"}, MAXSIZE_IDS, r"^--audit-log-maxsize is not a number: '100M'$"),
        ({"audit-log-maxsize": "0144_"}, MAXSIZE_IDS, r"^--audit-log-maxsize is not a number"),
    ],
)
def test_a_flag_rule_fails(changes, failing_ids, reason):
    rows = evaluate(live_flags(**changes), None, load(STIG_POLICY))
    assert failing(rows) == failing_ids
    for row in rows:
        if row["id"] in failing_ids:
            assert row["ok"] is False
            assert row["live"] == next(iter(changes.values()))
            assert row["reason"]
            assert re.search(reason, row["reason"]), row["reason"]
        else:
            assert row["reason"] == ""


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("audit-log-path", "-"),  # set: standard output counts for these rules
        ("audit-log-path", "/audit.log"),
        ("audit-policy-file", "/p.yaml"),
        ("audit-log-maxage", "30"),
        ("audit-log-maxage", "365"),
        ("audit-log-maxage", "0x1e"),  # 30, as pflag reads it (strconv.ParseInt base 0)
        ("audit-log-maxage", "036"),  # 30, octal
        ("audit-log-maxage", "3_0"),
        ("audit-log-maxage", "+30"),
        ("audit-log-maxbackup", "10"),
        ("audit-log-maxbackup", "0b1010"),
        ("audit-log-maxsize", "100"),
        ("audit-log-maxsize", "0o144"),
        ("audit-log-maxsize", "1024"),
    ],
)
def test_a_flag_rule_passes(name, value):
    rows = evaluate(live_flags(**{name: value}), None, load(STIG_POLICY))
    assert failing(rows) == set()
    judged = [row for row in rows if row["live"] == value]
    assert judged
    assert all(row["ok"] and row["reason"] == "" for row in judged)


def test_underscored_keys_are_read_as_flag_keys():
    flags = {key.replace("-", "_"): value for key, value in live_flags(audit_log_maxage="7").items()}
    rows = rows_by_id(evaluate(flags, None, load(STIG_POLICY)))
    assert rows["CIS 1.2.16"]["live"] == LOG
    assert failing(rows.values()) == MAXAGE_IDS


def test_every_rule_fails_without_any_audit_flag():
    rows = evaluate(_flags.values(["kube-apiserver", "--secure-port=6443"]), None, None)
    assert failing(rows) == set(ALL_IDS)
    assert all(row["live"] is None for row in rows)
    assert all(row["reason"] for row in rows)


# --------------------------------------------------------------------------------------------------
# evaluate: thresholds
# --------------------------------------------------------------------------------------------------


def test_thresholds_raised():
    rows = rows_by_id(evaluate(live_flags(), None, load(STIG_POLICY), {"maxage": 90, "maxbackup": 20, "maxsize": 200}))
    assert failing(rows.values()) == MAXAGE_IDS | MAXBACKUP_IDS | MAXSIZE_IDS
    assert rows["CIS 1.2.17"]["title"] == "audit log kept >= 90 days"
    assert rows["STIG V-242464"]["reason"] == "--audit-log-maxage is 30, below 90"
    assert rows["CIS 1.2.18"]["title"] == "audit log backups >= 20"
    assert rows["STIG V-242463"]["reason"] == "--audit-log-maxbackup is 10, below 20"
    assert rows["CIS 1.2.19"]["title"] == "audit log rotated at >= 200 MB"
    assert rows["STIG V-242462"]["reason"] == "--audit-log-maxsize is 100, below 200"


def test_thresholds_lowered():
    flags = live_flags(audit_log_maxage="7", audit_log_maxbackup="1", audit_log_maxsize="10")
    assert failing(evaluate(flags, None, load(STIG_POLICY))) == MAXAGE_IDS | MAXBACKUP_IDS | MAXSIZE_IDS
    rows = evaluate(flags, None, load(STIG_POLICY), {"maxage": 7, "maxbackup": 1, "maxsize": 10})
    assert failing(rows) == set()
    assert rows_by_id(rows)["STIG V-242462"]["title"] == "audit log rotated at >= 10 MB"


def test_a_partial_threshold_dict_keeps_the_other_defaults():
    rows = rows_by_id(evaluate(live_flags(audit_log_maxbackup="5"), None, load(STIG_POLICY), {"maxbackup": 5}))
    assert failing(rows.values()) == set()
    assert rows["CIS 1.2.18"]["title"] == "audit log backups >= 5"
    assert rows["CIS 1.2.17"]["title"] == "audit log kept >= 30 days"
    assert rows["CIS 1.2.19"]["title"] == "audit log rotated at >= 100 MB"


def test_default_thresholds():
    assert DEFAULT_THRESHOLDS == {"maxage": 30, "maxbackup": 10, "maxsize": 100}
    evaluate(live_flags(), None, None, {"maxage": 1})
    assert DEFAULT_THRESHOLDS == {"maxage": 30, "maxbackup": 10, "maxsize": 100}


@pytest.mark.parametrize(
    ("thresholds", "message"),
    [
        ({"max_age": 30}, r"^unknown threshold 'max_age': expected one of maxage, maxbackup, maxsize$"),
        ({"maxage": "30"}, r"^threshold 'maxage' must be an integer, not '30'$"),
        ({"maxsize": 100.0}, r"^threshold 'maxsize' must be an integer, not 100\.0$"),
        ({"maxbackup": True}, r"^threshold 'maxbackup' must be an integer, not True$"),
    ],
)
def test_bad_thresholds_are_refused(thresholds, message):
    with pytest.raises(ValueError, match=message):
        evaluate(live_flags(), None, None, thresholds)


# --------------------------------------------------------------------------------------------------
# evaluate: the manifest beside the live value
# --------------------------------------------------------------------------------------------------


def test_an_identical_manifest_adds_nothing():
    rows = evaluate(live_flags(), _flags.values(COMMAND), load(STIG_POLICY))
    assert all("manifest" not in row for row in rows)


def test_a_differing_manifest_value_is_shown_and_the_live_one_judged():
    manifest = live_flags(audit_log_maxage="7")
    rows = rows_by_id(evaluate(live_flags(), manifest, load(STIG_POLICY)))
    assert {row_id for row_id, row in rows.items() if "manifest" in row} == MAXAGE_IDS
    for row_id in MAXAGE_IDS:
        assert rows[row_id]["ok"] is True
        assert rows[row_id]["live"] == "30"
        assert rows[row_id]["manifest"] == "7"


def test_a_manifest_fixing_a_live_failure():
    rows = rows_by_id(evaluate(live_flags(audit_log_maxbackup="3"), _flags.values(COMMAND), load(STIG_POLICY)))
    for row_id in MAXBACKUP_IDS:
        assert rows[row_id]["ok"] is False
        assert rows[row_id]["live"] == "3"
        assert rows[row_id]["manifest"] == "10"


def test_a_flag_only_in_one_of_them():
    live = live_flags(audit_policy_file=None)
    manifest = live_flags(audit_log_path=None)
    rows = rows_by_id(evaluate(live, manifest, load(STIG_POLICY)))
    assert {row_id for row_id, row in rows.items() if "manifest" in row} == PATH_IDS | POLICY_FILE_IDS
    for row_id in PATH_IDS:
        assert rows[row_id]["live"] == LOG
        assert rows[row_id]["manifest"] is None  # the manifest does not set it
    for row_id in POLICY_FILE_IDS:
        assert rows[row_id]["live"] is None
        assert rows[row_id]["manifest"] == POLICY_FILE
        assert rows[row_id]["ok"] is False


def test_values_are_compared_as_text():
    rows = rows_by_id(evaluate(live_flags(), live_flags(audit_log_maxsize="0144"), load(STIG_POLICY)))
    assert rows["CIS 1.2.19"]["manifest"] == "0144"
    assert rows["STIG V-242462"]["manifest"] == "0144"


def test_the_policy_row_never_shows_the_manifest():
    rows = rows_by_id(evaluate(live_flags(), live_flags(audit_policy_file="/other.yaml"), load(STIG_POLICY)))
    assert "manifest" not in rows["STIG V-242403"]
    assert rows["CIS 3.2.1"]["manifest"] == "/other.yaml"


# --------------------------------------------------------------------------------------------------
# evaluate: STIG V-242403, the policy's level for an ordinary request
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("preset", ["nnf.yaml", "nnf_clientmount.yaml", "nnf_deploy.yaml"])
def test_the_nnf_presets_fail_stig_v_242403(preset):
    policy = load((PRESETS / preset).read_bytes())
    row = rows_by_id(evaluate(live_flags(), None, policy))["STIG V-242403"]
    assert row["ok"] is False
    assert row["live"] == "None"
    assert row["reason"] == (
        "the policy does not record an ordinary request (create deployments.apps in namespace default); "
        "RequestResponse is required"
    )


def test_a_request_response_catch_all_passes():
    row = rows_by_id(evaluate(live_flags(), None, load(STIG_POLICY)))["STIG V-242403"]
    assert row == {
        "id": "STIG V-242403",
        "title": "requests recorded at RequestResponse",
        "ok": True,
        "live": "RequestResponse",
        "reason": "",
    }


def test_a_metadata_catch_all_fails():
    row = rows_by_id(evaluate(live_flags(), None, load(METADATA_CATCH_ALL)))["STIG V-242403"]
    assert row["ok"] is False
    assert row["live"] == "Metadata"
    assert row["reason"] == (
        "the policy records an ordinary request (create deployments.apps in namespace default) at Metadata, "
        "not RequestResponse"
    )


def test_the_check_request_goes_through_the_rules():
    row = rows_by_id(evaluate(live_flags(), None, load(CONFIGMAPS_IGNORED)))["STIG V-242403"]
    assert row["ok"] is False
    assert row["live"] == "None"


def test_the_check_request():
    request = audit_policy.normalize_request(_audit_benchmarks.STIG_REQUEST)
    assert request == {
        "user": {"name": "stig-check", "groups": ["system:authenticated"]},
        "verb": "create",
        "namespace": "default",
        "apiGroup": "apps",
        "apiVersion": "v1",
        "resource": "deployments",
        "subresource": "",
        "name": "stig-check",
        "resourceRequest": True,
        "path": "",
    }


def test_an_unreadable_policy_fails():
    row = rows_by_id(evaluate(live_flags(), None, None))["STIG V-242403"]
    assert row["ok"] is False
    assert row["live"] is None
    assert row["reason"] == f"the audit policy (--audit-policy-file={POLICY_FILE}) could not be read"


def test_no_policy_file_flag_and_no_policy():
    rows = rows_by_id(evaluate(live_flags(audit_policy_file=None), None, None))
    assert rows["STIG V-242403"]["ok"] is False
    assert rows["STIG V-242403"]["reason"] == "the audit policy could not be read: --audit-policy-file is not set"
    assert failing(rows.values()) == POLICY_FILE_IDS | {"STIG V-242403"}


# --------------------------------------------------------------------------------------------------
# Numbers as kube-apiserver reads them (pflag IntVar: strconv.ParseInt(value, 0, 64))
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("100", 100),
        ("+100", 100),
        ("-1", -1),
        ("0", 0),
        ("0x64", 100),
        ("0X64", 100),
        ("0o144", 100),
        ("0144", 100),
        ("0b1100100", 100),
        ("1_00", 100),
        ("0x_64", 100),
        ("9223372036854775807", 2**63 - 1),
        ("-9223372036854775808", -(2**63)),
        ("9223372036854775808", None),
        ("", None),
        (None, None),
        (" 100", None),
        ("100 ", None),
        ("100.0", None),
        ("1e2", None),
        ("1__00", None),
        ("_100", None),
        ("100_", None),
        ("08", None),
        ("0x", None),
        ("+-1", None),
        ("\u0661\u0660\u0660", None),  # Arabic-Indic digits: Python's int() reads them, Go does not
    ],
)
def test_parse_int(text, number):
    assert parse_int(text) == number


# --------------------------------------------------------------------------------------------------
# disk_budget
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "budget"),
    [
        ({}, 100 * MIB * 11),
        ({"audit-log-maxsize": None}, 100 * MIB * 11),  # lumberjack's default: 100 MB
        ({"audit-log-maxsize": ""}, 100 * MIB * 11),
        ({"audit-log-maxsize": "0"}, 100 * MIB * 11),
        ({"audit-log-maxsize": "200", "audit-log-maxbackup": "1"}, 200 * MIB * 2),
        ({"audit-log-maxsize": "1", "audit-log-maxbackup": "0xa"}, 1 * MIB * 11),
        ({"audit-log-maxage": None}, 100 * MIB * 11),  # maxage does not bound the size
        ({"audit-log-path": "relative.log"}, 100 * MIB * 11),
    ],
)
def test_disk_budget(changes, budget):
    assert disk_budget(live_flags(**changes)) == budget


def test_disk_budget_in_bytes():
    assert disk_budget(live_flags()) == 1_153_433_600


@pytest.mark.parametrize(
    "changes",
    [
        # unlimited: lumberjack keeps every backup
        {"audit-log-maxbackup": None},
        {"audit-log-maxbackup": ""},
        {"audit-log-maxbackup": "0"},
        {"audit-log-maxbackup": "0", "audit-log-maxage": "1"},
        # no log file
        {"audit-log-path": None},
        {"audit-log-path": ""},
        {"audit-log-path": "-"},
        # unknown: values kube-apiserver refuses
        {"audit-log-maxbackup": "ten"},
        {"audit-log-maxbackup": "-1"},
        {"audit-log-maxsize": "100MB"},
        {"audit-log-maxsize": "-100"},
    ],
)
def test_no_disk_budget(changes):
    assert disk_budget(live_flags()) is not None
    assert disk_budget(live_flags(**changes)) is None


def test_disk_budget_reads_underscored_keys():
    flags = {key.replace("-", "_"): value for key, value in live_flags(audit_log_maxbackup="2").items()}
    assert disk_budget(flags) == 100 * MIB * 3


def test_the_kubernetes_reference_preset_passes_stig_v_242403_and_the_linter_has_nothing_to_say():
    # the STIG request is an ordinary write of a built-in group: a policy keeping Secrets and ConfigMaps at Metadata
    # (as the linter asks) can pass; Kubernetes' reference policy records deployments writes at RequestResponse
    policy = load((PRESETS / "kubernetes_reference.yaml").read_bytes())
    assert rows_by_id(evaluate(live_flags(), None, policy))["STIG V-242403"]["ok"] is True
    assert _policy_lint.lint(policy) == []

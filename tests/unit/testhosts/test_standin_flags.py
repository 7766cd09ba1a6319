"""kube-apiserver stand-in: command-line parsing (pflag's rules and messages) and audit option validation."""

import glob
import os

import pytest
import testhosts
from ruamel.yaml import YAML
from standin import flags

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "manifests")


def fixture_command(name):
    """The container command of a fixture as the test masters get it (placeholders of the v1.30 one filled)."""
    with open(os.path.join(FIXTURES, name), encoding="utf-8") as handle:
        pod = YAML(typ="safe", pure=True).load(testhosts.localize_manifest(handle.read(), "127.0.10.1"))
    return pod["spec"]["containers"][0]["command"]


@pytest.mark.parametrize(
    "name",
    sorted(
        os.path.basename(path)
        for path in glob.glob(os.path.join(FIXTURES, "kube-apiserver-*.yaml"))
        if "foreign-audit" not in path
    ),
)
def test_every_flag_kubeadm_writes_is_accepted(name):
    command = fixture_command(name)
    parsed = flags.parse_args(command[1:])
    assert parsed.positional == []
    assert set(parsed.values) == {item[2:].split("=", 1)[0] for item in command[1:]}


def test_the_hand_written_typo_is_rejected_like_kube_apiserver_does():
    command = fixture_command("kube-apiserver-v1.29.1-foreign-audit.yaml")
    with pytest.raises(flags.FlagError) as caught:
        flags.parse_args(command[1:])
    assert str(caught.value) == "unknown flag: --audit-policy"


def test_values_keep_their_text_and_the_last_repeat_wins():
    argv = ["--audit-log-maxsize=100", "--audit-log-path", "/var/log/a.log", "--audit-log-maxsize=7"]
    parsed = flags.parse_args(argv)
    assert parsed.values == {"audit-log-maxsize": "7", "audit-log-path": "/var/log/a.log"}


def test_underscores_and_dashes_name_the_same_flag():
    parsed = flags.parse_args(["--audit_log_path=/x.log"])
    assert parsed.values == {"audit-log-path": "/x.log"}


def test_a_bool_flag_alone_is_true_and_does_not_take_the_next_argument():
    parsed = flags.parse_args(["--audit-log-compress", "--profiling=false"])
    assert parsed.values == {"audit-log-compress": "true", "profiling": "false"}


def test_a_string_flag_takes_the_next_argument_even_when_it_looks_like_a_flag():
    parsed = flags.parse_args(["--audit-log-path", "--audit-log-compress"])
    assert parsed.values == {"audit-log-path": "--audit-log-compress"}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--audit-log-path"], "flag needs an argument: --audit-log-path"),
        (
            ["--audit-log-maxsize=abc"],
            'invalid argument "abc" for "--audit-log-maxsize" flag: strconv.ParseInt: parsing "abc": invalid syntax',
        ),
        (
            ["--audit-log-compress=yes"],
            'invalid argument "yes" for "--audit-log-compress" flag: strconv.ParseBool: parsing "yes": invalid syntax',
        ),
        (
            ["--audit-log-batch-max-wait=5x"],
            'invalid argument "5x" for "--audit-log-batch-max-wait" flag: time: invalid duration "5x"',
        ),
        (["-v=x"], 'invalid argument "x" for "-v, --v" flag: strconv.ParseInt: parsing "x": invalid syntax'),
        (["-x"], "unknown shorthand flag: 'x' in -x"),
        (["---audit-log-path=x"], "bad flag syntax: ---audit-log-path=x"),
        (["--audit-log-pathh=/x"], "unknown flag: --audit-log-pathh"),
    ],
)
def test_command_line_errors_read_like_pflag(argv, message):
    with pytest.raises(flags.FlagError) as caught:
        flags.parse_args(argv)
    assert str(caught.value) == message


def test_shorthands_and_positional_arguments():
    parsed = flags.parse_args(["-v", "2", "-h", "stray", "--", "--not-a-flag"])
    assert parsed.values == {"v": "2", "help": "true"}
    assert parsed.positional == ["stray", "--not-a-flag"]


def test_go_integers_include_octal_and_hex_like_strconv():
    assert flags.parse_go_int("010") == 8
    assert flags.parse_go_int("0x10") == 16
    assert flags.parse_go_int("-3") == -3
    with pytest.raises(ValueError, match="value out of range"):
        flags.parse_go_int(str(2**63))


def options(*argv):
    return flags.AuditOptions.from_args(flags.parse_args(list(argv)).values)


def test_default_audit_options_are_kube_apiservers():
    parsed = options("--audit-log-path=/var/log/audit.log")
    assert (parsed.log_format, parsed.log_mode, parsed.log_version) == ("json", "blocking", "audit.k8s.io/v1")
    assert (parsed.log_maxage, parsed.log_maxbackup, parsed.log_maxsize, parsed.log_compress) == (0, 0, 0, False)
    assert parsed.validate() == []


def test_log_options_are_only_validated_when_the_log_backend_is_on():
    assert options("--audit-log-maxage=-1", "--audit-log-format=yaml").validate() == []


def test_audit_validation_errors_in_kube_apiservers_order_and_words():
    parsed = options(
        "--audit-log-path=/x.log",
        "--audit-log-mode=fast",
        "--audit-log-version=audit.k8s.io/v1beta1",
        "--audit-log-format=yaml",
        "--audit-log-maxage=-1",
        "--audit-log-maxbackup=-2",
        "--audit-log-maxsize=-3",
    )
    assert parsed.validate() == [
        'invalid audit log mode fast, allowed modes are "batch,blocking,blocking-strict"',
        'invalid group version, allowed versions are ["audit.k8s.io/v1"]',
        'invalid audit log format yaml, allowed formats are "legacy,json"',
        "--audit-log-maxage -1 can't be a negative number",
        "--audit-log-maxbackup -2 can't be a negative number",
        "--audit-log-maxsize -3 can't be a negative number",
    ]


def test_batch_mode_checks_its_buffer_like_kube_apiserver():
    parsed = options("--audit-log-path=/x.log", "--audit-log-mode=batch", "--audit-log-batch-buffer-size=0")
    assert parsed.validate() == ["invalid audit batch log buffer size 0, must be a positive number"]


def test_truncate_sizes_are_checked_against_each_other():
    parsed = options("--audit-log-path=/x.log", "--audit-log-truncate-max-batch-size=10")
    assert parsed.validate() == [
        "invalid audit truncate log max batch size 10, must be greater than max event size (102400)"
    ]


def test_audit_paths_are_the_files_the_apiserver_opens():
    values = flags.parse_args(
        ["--audit-policy-file=/p.yaml", "--audit-log-path=-", "--audit-webhook-config-file=/w.conf"]
    ).values
    assert flags.audit_paths(values) == [("audit-policy-file", "/p.yaml"), ("audit-webhook-config-file", "/w.conf")]
    assert flags.audit_flags_present(values)
    assert not flags.audit_flags_present({"secure-port": "6443"})


def test_errors_aggregate_like_utilerrors():
    assert flags.aggregate([]) is None
    assert flags.aggregate(["a"]) == "a"
    assert flags.aggregate(["a", "b"]) == "[a, b]"

"""_goyaml: the collection's one go-yaml v2 decoder (YAML as sigs.k8s.io/yaml reads it), and its plain view.

The policy engine's YAML cases (tests/conformance, test_audit_policy.py) run through this decoder too; these cases
are about the module itself: what ``load`` and ``plain_scalar_is_string`` give the manifest side, and the reader.
"""

import random

import pytest

from ansible_collections.nnf.kube_audit.plugins.plugin_utils import _goyaml, audit_policy


def test_the_policy_engine_uses_this_decoder():
    # one home: audit_policy imports the decoder, it has no copy of its own
    assert audit_policy._yaml_document is _goyaml._yaml_document
    assert audit_policy._decode_yaml_bytes is _goyaml._decode_yaml_bytes
    assert audit_policy._DecodeFailure is _goyaml._DecodeFailure
    assert audit_policy.go_quote is _goyaml.go_quote
    assert audit_policy.HAS_YAML is _goyaml.HAS_YAML is True


def test_load_reads_yaml_1_1_as_the_kubelet_does():
    text = (
        "b: yes\n"
        "a: [on, off, y, n, ~, 0755, 1_000, 0x1F, 0b101, 0o17, +12, 1.5, 1e3, 'yes', 2024-01-02,"
        " 18446744073709551615]\n"
        "c: &x {k: 1}\n"
        "d: {<<: *x, m: 2}\n"
        "1: one\n"
        "true: t\n"
        "---\n"
        "second: document\n"
    )
    assert _goyaml.load(text) == {
        "1": "one",  # map keys become JSON strings
        "a": [True, False, True, False, None, 493, 1000, 31, 5, 15, 12, 1.5, 1000, "yes", "2024-01-02", 2**64 - 1],
        "b": True,
        "c": {"k": 1},
        "d": {"k": 1, "m": 2},
        "true": "t",
    }  # only the first document is read


def test_load_of_nothing_is_none_and_a_repeated_key_keeps_the_last_value():
    assert _goyaml.load("") is None
    assert _goyaml.load("# only a comment\n") is None
    assert _goyaml.load("a: 1\na: 2\n") == {"a": 2}  # the lenient decode; only the strict one refuses it


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: [1", "yaml: did not find expected ',' or ']'"),
        ("a: 1\n b: 2", "yaml: line 2: mapping values are not allowed in this context"),
        ("a: *nope", "yaml: unknown anchor 'nope' referenced"),
        ("? [a]\n: 1", 'yaml: invalid map key: []interface {}{"a"}'),
        ("a: .inf", "json: unsupported value: +Inf"),
        ("a: \x07", "yaml: control characters are not allowed"),
    ],
    ids=["flow", "indent", "anchor", "list-key", "infinity", "control"],
)
def test_load_errors_carry_the_decoders_message(text, message):
    with pytest.raises(_goyaml.YamlError) as raised:
        _goyaml.load(text)
    assert str(raised.value) == message
    assert isinstance(raised.value, ValueError)


def test_load_without_pyyaml_is_a_yaml_error_not_a_traceback(monkeypatch):
    monkeypatch.setattr(_goyaml, "HAS_YAML", False)
    with pytest.raises(_goyaml.YamlError, match="PyYAML"):
        _goyaml.load("a: 1\n")


@pytest.mark.parametrize(
    ("text", "is_string"),
    [
        ("Metadata", True),
        ("a:b", True),
        ("tRUE", True),  # not one of YAML 1.1's spellings
        ("yes", False),
        ("y", False),
        ("True", False),
        ("null", False),
        ("", False),
        ("0755", False),
        ("1_000", False),
        ("0o17", False),
        ("1e3", False),
        (".inf", False),
        ("2024-01-02", False),  # resolves as !!timestamp, not !!str
    ],
)
def test_plain_scalar_is_string(text, is_string):
    assert _goyaml.plain_scalar_is_string(text) is is_string


def test_the_reader_refuses_exactly_what_strict_decoding_and_the_yaml_character_set_refuse():
    # the in-order reader only words the first problem; whether there is one must not depend on it
    rng = random.Random(7)
    pieces = [b"a", b"\n", b"\x00", b"\x01", b"\xc3\xa9", b"\xc3", b"\xa9", b"\xe2\x82\xac", b"\xed\xa0\x80",
              b"\xf0\x9f\x98\x80", b"\xf4\x90\x80\x80", b"\xc0\x80", b"\xff", b"\xef\xbf\xbe", b"\x00\xd8",
              b"\x00\xdc", b"\x3d\xd8", b"\xd8"]  # fmt: skip
    for _attempt in range(3000):
        codec = rng.choice(["utf-8", "utf-16-le", "utf-16-be"])
        data = b"".join(rng.choice(pieces) for _piece in range(rng.randint(0, 8)))
        try:
            accepted = not _goyaml._DISALLOWED_CHARACTER.search(data.decode(codec))
        except UnicodeDecodeError:
            accepted = False
        assert (_goyaml._reader_problem(data, codec) is None) is accepted, (codec, data)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1" * 5000, "1" * 5000),  # out of int64/uint64 range, +Inf as a float: a string, as for go-yaml
        ("-" + "9" * 5000, "-" + "9" * 5000),
        ("0" * 5000 + "7", 7),  # leading zeros are not digits of the value
        ("0b" + "1" * 64, 2**64 - 1),
        ("0b" + "1" * 65, "0b" + "1" * 65),
    ],
    ids=["5000-digits", "negative-5000-digits", "5000-leading-zeros", "uint64-max-binary", "65-bit-binary"],
)
def test_integers_too_long_for_any_64_bit_value_are_strings_not_a_crash(text, expected):
    # Python refuses int() of more than 4300 digits; the decoder must answer as go-yaml does, not raise ValueError
    assert _goyaml.load(f"a: {text}\n") == {"a": expected}

"""YAML as kubeadm writes it (sigs.k8s.io/yaml over go-yaml v2), and read back, for the kubeadm stand-in.

kubeadm marshals static pods, kubeconfigs and the ClusterConfiguration with ``sigs.k8s.io/yaml``: the object goes
to JSON and the JSON to YAML through go-yaml v2, so every mapping's keys come out in go-yaml's order (its
``keyList.Less``: letters compared as characters, digit runs as numbers, non-letters before letters), block style,
two spaces of indentation, sequences inside mappings at the key's column (``- `` indentless), ``{}`` and ``[]``
for empty collections, ``null`` for nil, and a string that would read back as something else (``"false"``,
``"100"``, ``""``, ``"y"``) double-quoted; a string plain YAML cannot hold (``'*x'``, ``'a: b'``) single-quoted.
Every kubeadm-generated fixture in ``tests/fixtures`` comes out of ``dump(load(text))`` byte for byte.

The stand-ins run with the project venv's Python, where PyYAML is available (Ansible needs it).
"""

from __future__ import annotations

import functools
from typing import Any

import yaml

_STR_TAG = "tag:yaml.org,2002:str"
# go-yaml v2 resolves these plain scalars to booleans or the merge key, PyYAML's YAML 1.1 resolver does not.
_GO_ONLY_SPECIAL = frozenset(("y", "Y", "n", "N", "<<"))


def _go_key_less(a: str, b: str) -> bool:
    """go-yaml v2 ``keyList.Less`` for two string keys."""
    ar, br = list(a), list(b)
    for index in range(min(len(ar), len(br))):
        if ar[index] == br[index]:
            continue
        a_letter, b_letter = ar[index].isalpha(), br[index].isalpha()
        if a_letter and b_letter:
            return ar[index] < br[index]
        if a_letter or b_letter:
            return b_letter
        a_number = b_number = 0
        if ar[index] == "0" or br[index] == "0":
            back = index - 1
            while back >= 0 and ar[back].isdigit():
                if ar[back] != "0":
                    a_number = b_number = 1
                    break
                back -= 1
        a_end = index
        while a_end < len(ar) and ar[a_end].isdigit():
            a_number = a_number * 10 + int(ar[a_end])
            a_end += 1
        b_end = index
        while b_end < len(br) and br[b_end].isdigit():
            b_number = b_number * 10 + int(br[b_end])
            b_end += 1
        if a_number != b_number:
            return a_number < b_number
        if a_end != b_end:
            return a_end < b_end
        return ar[index] < br[index]
    return len(ar) < len(br)


def _go_key_compare(left: Any, right: Any) -> int:
    first, second = str(left), str(right)
    if _go_key_less(first, second):
        return -1
    return 1 if _go_key_less(second, first) else 0


class _GoDumper(yaml.SafeDumper):
    """PyYAML's emitter already writes block style with indentless sequences; keys, quoting and null as go-yaml."""


def _represent_str(dumper: _GoDumper, data: str):
    resolved = dumper.resolve(yaml.ScalarNode, data, (True, False))
    style = '"' if resolved != _STR_TAG or data in _GO_ONLY_SPECIAL else None
    return dumper.represent_scalar(_STR_TAG, data, style=style)


def _represent_none(dumper: _GoDumper, _data):
    return dumper.represent_scalar("tag:yaml.org,2002:null", "null")


def _represent_dict(dumper: _GoDumper, data: dict):
    items = sorted(data.items(), key=functools.cmp_to_key(lambda x, y: _go_key_compare(x[0], y[0])))
    return dumper.represent_mapping("tag:yaml.org,2002:map", items)


_GoDumper.add_representer(str, _represent_str)
_GoDumper.add_representer(type(None), _represent_none)
_GoDumper.add_representer(dict, _represent_dict)


def dump(obj: Any) -> str:
    """``obj`` (dicts, lists, strings, numbers, booleans, None) as sigs.k8s.io/yaml.Marshal writes it."""
    return yaml.dump(obj, Dumper=_GoDumper, default_flow_style=False, sort_keys=False, allow_unicode=True)


def load(text: str) -> Any:
    """The one document of ``text`` (YAML 1.1 like go-yaml v2); raises ``YAMLError``."""
    return yaml.safe_load(text)


YAMLError = yaml.YAMLError

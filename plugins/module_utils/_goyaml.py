# Copyright: (c) 2026, NNF kube_audit maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""YAML as the kubelet and kube-apiserver read it: sigs.k8s.io/yaml over go-yaml v2 (YAML 1.1).

Where YAML 1.1 and 1.2 disagree, Kubernetes reads 1.1: a plain ``yes``, ``on``, ``off``, ``y`` or ``n`` is a
boolean, ``0755`` an octal number, ``1_000`` a thousand. A static-pod manifest whose string field reads as a
boolean does not decode, and the kubelet drops the pod. The decoder itself (a faithful go-yaml v2) lives with the
audit policy engine, its first user; this module is the manifest side's view of it:

* ``plain_scalar_is_string(text)``: would go-yaml v2 read ``text``, written as a plain (unquoted) scalar, back as the
  same string?
* ``load(text)``: the first document of ``text`` as the kubelet reads it, in plain Python (dicts with string keys,
  lists, str, int, float, bool, None), or ``YamlError`` with the decoder's message.
"""

from ansible_collections.nnf.kube_audit.plugins.module_utils import audit_policy as _engine


class YamlError(ValueError):
    """The text does not decode as go-yaml v2 decodes it; the message is the decoder's."""


HAS_YAML = _engine.HAS_YAML
YAML_IMPORT_ERROR = _engine.YAML_IMPORT_ERROR


def plain_scalar_is_string(text):
    """True when a plain scalar ``text`` resolves to the string ``text`` under go-yaml v2's rules."""
    tag, value = _engine._yaml_resolve_plain("", text)
    return tag == _engine._STR and value == text


def _plain(value):
    if isinstance(value, _engine._Object):
        return {key: _plain(item) for key, item in value.pairs}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, _engine._Number):
        text = value.text
        try:
            return int(text)
        except ValueError:
            return float(text)
    return value


def load(text):
    """The first YAML document of ``text``, decoded as sigs.k8s.io/yaml.YAMLToJSON decodes it.

    The decoder uses PyYAML's tokenizer; where PyYAML is missing (a bare master) this raises YamlError, and callers
    treat the text as unreadable rather than fail with a traceback.
    """
    if not HAS_YAML:
        raise YamlError("the PyYAML library is needed to read YAML as the kubelet does")
    try:
        tree, _strict_error = _engine._yaml_document(text)
    except _engine._DecodeFailure as exc:
        raise YamlError(str(exc)) from None
    return _plain(tree)

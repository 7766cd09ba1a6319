# Copyright: (c) 2026, NNF kube_audit maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every use of ruamel.yaml beyond its documented API, in one place (controller side only).

The manifest editor (``manifest_editor.py``) round-trips kubeadm manifests with ruamel.yaml and keeps comments where
a person would expect them. Documented API (``YAML``, ``CommentedMap``, ``CommentedSeq``, the scalar string types)
is used freely there; everything that reaches into ruamel.yaml's internals is here, each with what it relies on, so
a new ruamel.yaml release is checked against this one file. Tested with the releases in ``SUPPORTED`` (the oldest,
Debian 12's, and the newest, in ``make test``); others are refused by ``require()`` with a message naming the range.

Comment placement (hand-edited manifests): an end-of-line comment always stays on its line. Full-line comments
that follow an element are split by indentation: lines indented deeper than the enclosing list's dashes (or the
enclosing mapping's keys) belong to that element; the others belong to what comes next (typically the next key,
e.g. a comment block right before ``image:``). So new list items and keys are inserted *above* the comments that
belong to what comes next, which therefore stay right before ``image:``, and when an element is removed, the
comments below it that belong to what comes next are kept (re-attached to the line above) while its own comments
go with it.
"""

import io
import traceback
from typing import Any, Iterable, List, Optional, Tuple

from ansible_collections.nnf.kube_audit.plugins.module_utils._errors import ManifestError

# What the editor takes from here (re-exported names included).
__all__ = [
    "SUPPORTED",
    "SUPPORTED_RANGE",
    "CommentedMap",
    "CommentedSeq",
    "ScalarString",
    "SingleQuotedScalarString",
    "YAMLError",
    "attach_following_comments",
    "dump",
    "lines",
    "map_delete",
    "map_insert",
    "new_yaml",
    "require",
    "seq_append",
    "seq_delete",
    "set_block_style",
    "set_flow_style",
]

# The releases the editor is tested with: [oldest, newest-minor-excluded). Debian 12 ships 0.17.21.
SUPPORTED = ((0, 17, 21), (0, 20))
SUPPORTED_RANGE = "ruamel.yaml >= 0.17.21, < 0.20"

try:
    import ruamel.yaml as _ruamel_yaml
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap, CommentedSeq
    from ruamel.yaml.error import CommentMark, YAMLError  # CommentMark: a comment's column (internal)
    from ruamel.yaml.representer import RoundTripRepresenter
    from ruamel.yaml.scalarstring import ScalarString, SingleQuotedScalarString
    from ruamel.yaml.tokens import CommentToken  # how comments are stored on nodes (internal)
except ImportError:
    IMPORT_ERROR: Optional[str] = traceback.format_exc()
    VERSION: Optional[Tuple[int, ...]] = None
    # Placeholders keep isinstance() checks valid; nothing below runs without ruamel.yaml (require() says so).
    CommentedMap = CommentedSeq = ScalarString = SingleQuotedScalarString = dict  # type: ignore[misc,assignment]
    YAMLError = ValueError  # type: ignore[misc,assignment]
else:
    IMPORT_ERROR = None
    VERSION = tuple(part for part in _ruamel_yaml.version_info if isinstance(part, int))


def require(version: Optional[Tuple[int, ...]] = None) -> None:
    """Raise ManifestError unless a supported ruamel.yaml is importable on the controller."""
    if IMPORT_ERROR is not None:
        raise ManifestError(
            "the ruamel.yaml Python library is needed on the Ansible controller (not on the masters): install "
            f"{SUPPORTED_RANGE} where ansible-playbook runs (requirements: meta/ee-requirements.txt)"
        )
    version = VERSION if version is None else version
    if not (SUPPORTED[0] <= tuple(version) < SUPPORTED[1]):
        found = ".".join(str(part) for part in version)
        raise ManifestError(
            f"ruamel.yaml {found} on the Ansible controller is not supported: the manifest editor needs "
            f"{SUPPORTED_RANGE} (it relies on internals that differ between releases)"
        )


_REPRESENTER_CLASS = None


def _representer_class() -> Any:
    """A round-trip representer that writes None as ``null`` (kubeadm's ``creationTimestamp: null``).

    A subclass, so the global RoundTripRepresenter used by other code in the process is untouched.
    """
    global _REPRESENTER_CLASS  # noqa: PLW0603 - built once, lazily, because ruamel.yaml may be missing
    if _REPRESENTER_CLASS is None:

        class NullAsNullRepresenter(RoundTripRepresenter):
            pass

        NullAsNullRepresenter.add_representer(
            type(None), lambda representer, _data: representer.represent_scalar("tag:yaml.org,2002:null", "null")
        )
        _REPRESENTER_CLASS = NullAsNullRepresenter
    return _REPRESENTER_CLASS


def new_yaml() -> Any:
    """A ruamel.yaml round-trip instance that reproduces kubeadm manifests byte for byte.

    Default indentation (kubeadm writes indentless lists), no line folding, quotes kept, None as null.
    """
    yaml = YAML()
    yaml.width = 4096
    yaml.preserve_quotes = True
    yaml.Representer = _representer_class()
    return yaml


def lines(text: str) -> List[str]:
    """Lines with their newline; unlike str.splitlines, only a newline ends a line (as in YAML)."""
    lines = [line + "\n" for line in text.split("\n")]
    lines[-1] = lines[-1][:-1]  # the text after the last newline has none
    return lines if lines[-1] else lines[:-1]


def dump(yaml: Any, document: Any) -> str:
    stream = io.StringIO()
    yaml.dump(document, stream)
    return stream.getvalue()


# --------------------------------------------------------------------------------------------------
# Comment handling (see the docstring for the rules). Internals relied on:
#   node.ca.items[key] = [pre, eol_or_seq_slot, map_slot, ...]  where a comment after a value is kept (a list's at
#       position 0, a mapping's at position 2), each a CommentToken whose .value is the comment text;
#   node.lc.col: the column of a collection's first key or dash;  node.fa.flow_style(): a flow collection;
#   CommentToken(value, CommentMark(column), None): a new comment token.
# --------------------------------------------------------------------------------------------------


def _is_block_collection(value: Any) -> bool:
    if not isinstance(value, (CommentedMap, CommentedSeq)) or len(value) == 0:
        return False
    fa = getattr(value, "fa", None)
    return not (fa is not None and fa.flow_style())


def _last_key(collection: Any) -> Any:
    if isinstance(collection, CommentedSeq):
        return len(collection) - 1
    return list(collection.keys())[-1]


def _trailing_slot(owner: Any, key: Any) -> Tuple[Any, Any, int]:
    """Where ruamel.yaml keeps the comment that follows the last line of ``owner[key]``."""
    value = owner[key]
    while _is_block_collection(value):
        owner, key = value, _last_key(value)
        value = owner[key]
    return owner, key, (0 if isinstance(owner, CommentedSeq) else 2)


def _get_token(owner: Any, key: Any, position: int) -> Any:
    entry = owner.ca.items.get(key)
    if not entry or len(entry) <= position:
        return None
    token = entry[position]
    if token is None or not isinstance(getattr(token, "value", None), str):
        return None
    return token


def _set_token(owner: Any, key: Any, position: int, token: Any) -> None:
    entry = owner.ca.items.get(key)
    if entry is None:
        if token is None:
            return
        entry = owner.ca.items[key] = [None, None, None, None]
    while len(entry) <= position:
        entry.append(None)
    entry[position] = token


def _column(collection: Any) -> Optional[int]:
    lc = getattr(collection, "lc", None)
    return getattr(lc, "col", None) if lc is not None else None


def _split_comment(value: str, column: Optional[int]) -> Tuple[Optional[str], str]:
    """Split a trailing comment token into (own part, part that belongs to what comes next).

    The own part is the end-of-line comment plus the full-line comments directly below it that are
    indented deeper than ``column``; it stays with its element. ``column`` None means unknown: all
    full-line comments are then treated as belonging to what comes next, so none is ever dropped.
    """
    head, _newline, rest = value.partition("\n")
    rest_lines = lines(rest)
    own: List[str] = []
    for line in rest_lines:
        stripped = line.strip()
        indent = len(line) - len(line.lstrip(" "))
        if column is None or not stripped.startswith("#") or indent <= column:
            break
        own.append(line)
    following = "".join(rest_lines[len(own) :])
    if following and not following.endswith("\n"):
        following += "\n"
    if not head.strip() and not own:
        return None, following
    return head + "\n" + "".join(own), following


def _detach_following_comments(owner: Any, key: Any, column: Optional[int]) -> str:
    """Remove and return the comment lines after ``owner[key]`` that belong to what comes next."""
    slot_owner, slot_key, position = _trailing_slot(owner, key)
    token = _get_token(slot_owner, slot_key, position)
    if token is None:
        return ""
    own, following = _split_comment(token.value, column)
    if following:
        if own is None:
            _set_token(slot_owner, slot_key, position, None)
        else:
            token.value = own
    return following


def attach_following_comments(owner: Any, key: Any, lines: str) -> None:
    """Put comment ``lines`` right below the last line of ``owner[key]``."""
    if not lines:
        return
    slot_owner, slot_key, position = _trailing_slot(owner, key)
    token = _get_token(slot_owner, slot_key, position)
    if token is None:
        _set_token(slot_owner, slot_key, position, CommentToken("\n" + lines, CommentMark(0), None))
    else:
        value = token.value if token.value.endswith("\n") else token.value + "\n"
        token.value = value + lines


def _attach_below_header(parent: Any, key: Any, lines: str) -> bool:
    """Put comment ``lines`` right below the ``key:`` line of a block collection value."""
    if not lines or not isinstance(parent, CommentedMap):
        return False
    token = _get_token(parent, key, 2)
    if token is None:
        _set_token(parent, key, 2, CommentToken("\n" + lines, CommentMark(0), None))
    else:
        value = token.value if token.value.endswith("\n") else token.value + "\n"
        token.value = value + lines
    return True


def seq_append(seq: Any, items: Iterable[Any]) -> None:
    """Append below the last item, above the comments that belong to what follows the list."""
    items = list(items)
    if not items:
        return
    following = _detach_following_comments(seq, len(seq) - 1, _column(seq)) if len(seq) else ""
    for item in items:
        list.append(seq, item)
    attach_following_comments(seq, len(seq) - 1, following)


def seq_delete(seq: Any, index: int, parent: Any, parent_key: Any) -> str:
    """Delete one item; comments below it that belong to what comes next stay where they were.

    Returns those comment lines when there is no line left to keep them below (the list is now
    empty); the caller finds them a place.
    """
    following = _detach_following_comments(seq, index, _column(seq))
    list.__delitem__(seq, index)
    # Shift comment slots ourselves: older ruamel.yaml releases do not do it on deletion.
    items = seq.ca.items
    items.pop(index, None)
    for position in sorted(key for key in list(items) if key > index):
        items[position - 1] = items.pop(position)
    if not following:
        return ""
    if index > 0:
        attach_following_comments(seq, index - 1, following)
        return ""
    if seq and _attach_below_header(parent, parent_key, following):
        return ""
    return following


def map_insert(mapping: Any, key: Any, value: Any) -> None:
    """Insert a key where kubeadm would have it (keys sorted) or, in a hand-ordered mapping, last."""
    keys = list(mapping.keys())
    position = len(keys)
    if all(isinstance(existing, str) for existing in keys) and keys == sorted(keys):
        position = sum(1 for existing in keys if existing < key)
    following = _detach_following_comments(mapping, keys[position - 1], _column(mapping)) if position else ""
    mapping.insert(position, key, value)
    attach_following_comments(mapping, key, following)


def map_delete(mapping: Any, key: Any, parent: Any, parent_key: Any, pending: str = "") -> str:
    """Delete one key, like ``seq_delete``; ``pending`` are comment lines that followed its value."""
    keys = list(mapping.keys())
    position = keys.index(key)
    following = _detach_following_comments(mapping, key, _column(mapping)) + pending
    del mapping[key]
    mapping.ca.items.pop(key, None)  # ruamel.yaml keeps a deleted key's comments otherwise
    if not following:
        return ""
    if position > 0:
        attach_following_comments(mapping, keys[position - 1], following)
        return ""
    if mapping and _attach_below_header(parent, parent_key, following):
        return ""
    return following


# --------------------------------------------------------------------------------------------------
# Collection style. Internal relied on: node.fa (format attribute), set_block_style() / set_flow_style().
# --------------------------------------------------------------------------------------------------


def set_block_style(collection: Any) -> None:
    """Write ``collection`` as a block (``key: value`` lines), e.g. an empty ``{}`` that gets its first key."""
    collection.fa.set_block_style()


def set_flow_style(collection: Any) -> None:
    """Write ``collection`` in flow style: how kubeadm writes an empty mapping (``{}``)."""
    collection.fa.set_flow_style()

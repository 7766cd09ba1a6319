# Copyright: (c) 2026, NNF kube_audit maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A kubeconfig's secrets, replaced by REDACTED for diffs and outputs (standard library only: masters use it too).

* ``line_redacted(text)``: the values of SECRET_KEYS replaced line by line, every other byte kept (a quoted value
  keeps its quotes, a comment after it stays, the lines of a multi-line or block value become REDACTED).
* ``shown(text)``: ``line_redacted(text)`` when no secret can be left in it, judged without a YAML parser: every line
  that names a secret key must be a redacted key line, and anything that could carry a value under another name or
  spelling (anchors, aliases, merge keys, escapes) gives NOT_SHOWN instead. The controller's stricter
  ``plugin_utils/_webhook_config.redacted`` reads the result back with a YAML parser.
"""

import re

REDACTED = "REDACTED"
SECRET_KEYS = ("client-key-data", "token", "password", "id-token", "refresh-token", "client-secret")
NOT_SHOWN = "# kubeconfig not shown: its secrets could not be redacted line by line\n"

_LINE = re.compile(r"([^\r\n]*)(\r\n|\r|\n|$)")
_NAMES = "|".join(re.escape(key) for key in SECRET_KEYS)
_SECRET_LINE = re.compile(
    rf"(?P<lead>[ \t]*(?:-[ \t]+)*)(?P<key>\"(?:{_NAMES})\"|'(?:{_NAMES})'|(?:{_NAMES}))[ \t]*:(?=[ \t]|$)"
)
_DOUBLE_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"')
_SINGLE_QUOTED = re.compile(r"'(?:[^']|'')*'")
_PLAIN_END = re.compile(r"[ \t]#|$")
_SECRET_NAME = re.compile(_NAMES)
# A redacted key line's value: REDACTED, quoted or not (a quoted one may close on a later line), or nothing.
_REDACTED_VALUE = re.compile(rf"[ \t]*(?:{REDACTED}|\"{REDACTED}\"?|'{REDACTED}'?)?(?:[ \t]+#.*)?$")
# An anchor (&name), an alias (*name) or a merge key (<<) where a YAML token starts.
_INDIRECTION = re.compile(r"(?:^|[\s,\[\]{}:?-])(?:[&*][^\s,\[\]{}]|<<)")


# The end of a quoted value that continues on later lines: the first closing quote (escapes and '' skipped).
_CLOSING = {'"': re.compile(r'(?:[^"\\]|\\.)*"'), "'": re.compile(r"(?:[^']|'')*'")}


def _redact_value(rest):
    """(the rest of a secret's key line with its value replaced, what continues it on the next lines).

    What continues: None (the value ended), ``"`` or ``'`` (a quoted value open until its closing quote, whatever
    the indentation), or ``"indented"`` (a plain, block or empty value: the more-indented lines below).
    """
    spaces = len(rest) - len(rest.lstrip(" \t"))
    value = rest[spaces:]
    if not value or value.startswith("#"):
        return rest, "indented"
    for quote, pattern in (('"', _DOUBLE_QUOTED), ("'", _SINGLE_QUOTED)):
        if value.startswith(quote):
            match = pattern.match(value)
            if match is None:  # continues on the next lines, to its closing quote
                return rest[:spaces] + quote + REDACTED, quote
            return rest[:spaces] + quote + REDACTED + quote + value[match.end() :], None
    if value[0] in "|>":  # a block scalar: its header goes too, the lines below become a plain scalar
        return rest[:spaces] + REDACTED, "indented"
    end = _PLAIN_END.search(value).start()
    plain = value[:end]
    return rest[:spaces] + REDACTED + plain[len(plain.rstrip(" \t")) :] + value[end:], "indented"


def _scan(text):
    """``(line_redacted text, doubtful)``: doubtful when a secret's value may go on where no line is redacted (a
    sequence at its key's own column, which YAML allows for a key's value)."""
    out = []
    doubtful = False
    continues = None  # None, a quote, or "indented"
    column = 0
    for match in _LINE.finditer(text):
        content, end = match.group(1), match.group(2)
        if not content and not end:
            continue
        if continues in _CLOSING:
            closing = _CLOSING[continues].match(content)
            indent = len(content) - len(content.lstrip(" "))
            if closing is None:
                out.append(content[:indent] + (REDACTED if content.strip() else "") + end)
                continue
            out.append(content[:indent] + REDACTED + continues + content[closing.end() :] + end)
            continues = None
            continue
        if continues == "indented":
            stripped = content.lstrip(" ")
            if not stripped.strip():
                out.append(content + end)
                continue
            indent = len(content) - len(stripped)
            if indent > column:
                out.append(content[:indent] + REDACTED + end)
                continue
            if indent == column and (stripped == "-" or stripped.startswith("- ")):
                doubtful = True  # key:\n- value: a list at the key's column is the key's value
            continues = None
        secret = _SECRET_LINE.match(content)
        if secret is None:
            out.append(content + end)
            continue
        rest, continues = _redact_value(content[secret.end() :])
        out.append(content[: secret.end()] + rest + end)
        column = len(secret.group("lead"))
    return "".join(out), doubtful


def line_redacted(text):
    """``text`` with the values of SECRET_KEYS replaced by REDACTED, line by line, every other byte kept."""
    return _scan(text)[0]


def shown(text):
    """The text to show for a kubeconfig (bytes or text): ``line_redacted(text)``, or NOT_SHOWN when in doubt."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            return NOT_SHOWN
    if "\\" in text or "\t" in text:
        return NOT_SHOWN
    out, doubtful = _scan(text)
    if doubtful:
        return NOT_SHOWN
    for match in _LINE.finditer(out):
        line = match.group(1)
        if _INDIRECTION.search(line):
            return NOT_SHOWN
        if _SECRET_NAME.search(line) is None:
            continue
        secret = _SECRET_LINE.match(line)
        if secret is None or _REDACTED_VALUE.match(line, secret.end()) is None:
            return NOT_SHOWN
    return out

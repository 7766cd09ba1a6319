# Copyright: (c) 2026, NNF kube_audit maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""kube-apiserver's command line, split into flags the way spf13/pflag (through cobra) splits it.

The one place that knows how a container's ``command`` + ``args`` items become flags: the manifest editor
uses it to find, replace and remove flags, ``apiserver_wait`` to read ``--bind-address`` and friends. Standard
library only (it runs on the masters).

pflag's rules for a long flag (``flag.go`` ``parseLongArg``):

* ``--name=value``: the value is everything after the first ``=``, whatever it is;
* ``--name`` of a flag that has a no-option default (every boolean flag, and ``--version``): no value is taken
  from the next item (``--profiling false`` is ``--profiling`` plus a stray positional ``false``);
* ``--name`` of any other flag: the next item is the value, **whatever it looks like**: ``-``, ``-1`` and even
  ``--other`` are values there;
* ``--`` ends the flags; a lone ``-`` or a word that does not start with ``-`` is a positional argument
  (kube-apiserver refuses every positional argument).

Short flags (``-v 2``, ``-v=2``, ``-v2``, ``-h``) are read the same way, for the two shorthands kube-apiserver has.

A flag these tables do not know (a newer kube-apiserver, another container) takes the next item as its value
unless that item looks like a long flag itself (``--x``): for such a flag we cannot know whether it is boolean,
and reading a following flag as its value would hide that flag.
"""

import re

# Flags of kube-apiserver (v1.29 to v1.35) that never take their value from the next item: pflag's
# NoOptDefVal is set (every bool flag, and --version, whose value is optional).
NO_VALUE_FLAGS = frozenset(
    (
        "aggregator-reject-forwarding-redirect",
        "allow-privileged",
        "anonymous-auth",
        "audit-log-batch-throttle-enable",
        "audit-log-compress",
        "audit-log-truncate-enabled",
        "audit-webhook-batch-throttle-enable",
        "audit-webhook-truncate-enabled",
        "contention-profiling",
        "disable-http2-serving",
        "enable-aggregator-routing",
        "enable-bootstrap-token-auth",
        "enable-garbage-collector",
        "enable-logs-handler",
        "enable-priority-and-fairness",
        "encryption-provider-config-automatic-reload",
        "help",
        "log-json-split-stream",
        "log-text-split-stream",
        "permit-address-sharing",
        "permit-port-sharing",
        "profiling",
        "service-account-extend-token-expiration",
        "service-account-lookup",
        "shutdown-send-retry-after",
        "version",
        "watch-cache",
    )
)
# Flags of kube-apiserver that take a value, which this collection sets or reads: after one of these the next
# item is the value whatever it looks like, exactly as pflag reads it.
VALUE_FLAGS = frozenset(
    (
        "advertise-address",
        "audit-log-batch-buffer-size",
        "audit-log-batch-max-size",
        "audit-log-batch-max-wait",
        "audit-log-batch-throttle-burst",
        "audit-log-batch-throttle-qps",
        "audit-log-format",
        "audit-log-maxage",
        "audit-log-maxbackup",
        "audit-log-maxsize",
        "audit-log-mode",
        "audit-log-path",
        "audit-log-truncate-max-batch-size",
        "audit-log-truncate-max-event-size",
        "audit-log-version",
        "audit-policy-file",
        "audit-webhook-batch-buffer-size",
        "audit-webhook-batch-initial-backoff",
        "audit-webhook-batch-max-size",
        "audit-webhook-batch-max-wait",
        "audit-webhook-batch-throttle-burst",
        "audit-webhook-batch-throttle-qps",
        "audit-webhook-config-file",
        "audit-webhook-initial-backoff",
        "audit-webhook-mode",
        "audit-webhook-truncate-max-batch-size",
        "audit-webhook-truncate-max-event-size",
        "audit-webhook-version",
        "bind-address",
        "secure-port",
    )
)
# Shorthands kube-apiserver defines: -v (klog verbosity) and -h (help).
SHORTHANDS = {"v": "v", "h": "help"}

_LONG_FLAG_RE = re.compile(r"^--[^-=]")


def flag_key(name):
    """The identity of a flag name: kube-apiserver normalises ``_`` to ``-`` (cliflag.WordSepNormalizeFunc)."""
    return name.replace("_", "-")


class Flag:
    """One flag occurrence in a list of command items.

    ``index`` is the item holding the flag; ``value_index`` the separate item holding its value (the two-item
    form ``--name value``), else None; ``value`` is None for a flag given without any value (``--profiling``).
    """

    __slots__ = ("index", "key", "name", "value", "value_index")

    def __init__(self, index, name, value, value_index=None):
        self.index = index
        self.name = name
        self.key = flag_key(name)
        self.value = value
        self.value_index = value_index

    @property
    def indexes(self):
        """The items this occurrence spans: removing a flag removes all of them."""
        return [self.index] if self.value_index is None else [self.index, self.value_index]

    def describe(self):
        if self.value is None:
            return f"--{self.name}"
        separator = " " if self.value_index is not None else "="
        return f"--{self.name}{separator}{self.value}"

    def __repr__(self):
        return f"Flag({self.index}, {self.name!r}, {self.value!r}, {self.value_index!r})"


def parse(items):
    """The flags in ``items`` (a container's command or args list), in order; positional items are skipped.

    Items that are not strings (a YAML number in a command list) are positional.
    """
    flags = []
    index = 0
    count = len(items)
    while index < count:
        item = items[index]
        if not isinstance(item, str) or not item.startswith("-") or item == "-":
            index += 1
            continue
        if item == "--":
            break
        following = items[index + 1] if index + 1 < count else None
        if item.startswith("--"):
            body = item[2:]
            if "=" in body:
                name, value = body.split("=", 1)
                flags.append(Flag(index, name, value))
            elif _takes_value(flag_key(body), following):
                flags.append(Flag(index, body, str(following), index + 1))
                index += 1
            else:
                flags.append(Flag(index, body, None))
            index += 1
            continue
        # Short flags: -v=2, -v2, -v 2, -h
        letter, rest = item[1], item[2:]
        name = SHORTHANDS.get(letter, letter)
        if rest.startswith("="):
            flags.append(Flag(index, name, rest[1:]))
        elif rest and name not in NO_VALUE_FLAGS:
            flags.append(Flag(index, name, rest))
        elif not rest and _takes_value(name, following):
            flags.append(Flag(index, name, str(following), index + 1))
            index += 1
        else:
            flags.append(Flag(index, name, None))
        index += 1
    return flags


def _takes_value(key, following):
    """Whether a flag given without ``=`` takes the next item as its value (see the module docstring)."""
    if key in NO_VALUE_FLAGS or following is None:
        return False
    if not isinstance(following, str):
        return True
    if key in VALUE_FLAGS:
        return True
    return not _LONG_FLAG_RE.match(following)


def values(items):
    """``{flag key: value}`` of a command list; the last occurrence wins, as in pflag. A bare flag maps to None."""
    return {flag.key: flag.value for flag in parse(items)}


def value_of(items, name):
    """The value of flag ``name`` (last occurrence), or None when it is not set or has no value."""
    return values(items).get(flag_key(name))

# Copyright: (c) 2026, NNF kube_audit maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The seed procedure's jq summary line of an audit event, written from an ``audit_log.AuditRecord``.

    jq -c '[.auditID,.verb,.requestURI,.user.username,.responseStatus.code,.stageTimestamp]'

bench_log.py writes every event of a log this way to time the reader against that jq command and to check that
both print the same values. The module itself returns summaries as mappings (``AuditRecord.summary()``); this
line is the benchmark's, so it lives here. Standard library only: bench_log.py's child process loads it by path.
"""

import json
import re

ROW_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
# What ROW_ENCODER escapes in a string: without any of these, a string is its own JSON string body.
_NEEDS_ESCAPE = re.compile(r'["\\\x00-\x1f]').search


def summary_row(record):
    """[auditID, verb, requestURI, username, code, stageTimestamp] of ``record``, the values jq prints.

    As in ``AuditRecord.summary()``, an event without a stageTimestamp shows the time it is sorted on instead of
    null.
    """
    return [record.audit_id, record.verb, record.request_uri, record.username, record.code, record.stage_timestamp]


def summary_json(record):
    """summary_row() as compact JSON text, a line as ``jq -c`` prints it (jq may escape strings differently).

    The same text as ``ROW_ENCODER(summary_row(record))``, built directly in the common case (strings that need no
    escapes, an integer or no code): the benchmark writes a line per event and this keeps its cost out of the timings.
    """
    audit_id, verb, uri, username = record.audit_id, record.verb, record.request_uri, record.username
    code, stamp = record.code, record.stage_timestamp
    try:
        joined = audit_id + verb + uri + username + stamp
    except TypeError:  # a value that is not a string (null, a number): the encoder writes it
        joined = '"'
    if _NEEDS_ESCAPE(joined) is None and (code is None or (isinstance(code, int) and not isinstance(code, bool))):
        return f'["{audit_id}","{verb}","{uri}","{username}",{"null" if code is None else code},"{stamp}"]'
    return ROW_ENCODER([audit_id, verb, uri, username, code, stamp])

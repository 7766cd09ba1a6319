# Copyright: (c) 2026, NNF kube_audit maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Merge the audit_log_info results of several control-plane nodes into one report, and render it.

Documentation: audit_report_merge.yml, audit_report_table.yml and audit_report_jsonl.yml next to this file.
"""

import json
from collections import Counter
from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

from ansible_collections.nnf.kube_audit.plugins.module_utils.audit_log import (
    COUNT_DIMENSIONS,
    NO_VALUE,
    event_time,
    event_time_key,
    grouped_counts,
)
from ansible_collections.nnf.kube_audit.plugins.plugin_utils import _recipe_coverage

TABLE_COLUMNS = ("HOST", "TIME", "USER", "VERB", "CODE", "URI")


def _host_status(host, result):
    """One node's line of the report: how its read went."""
    status = {"host": host, "status": "ok", "msg": "", "matched": 0, "returned": 0}
    if not isinstance(result, Mapping):
        status.update(status="not read", msg="no result (the node was not reached, or the play stopped before it)")
        return status
    status["msg"] = str(result.get("msg", ""))
    if result.get("unreachable"):
        status["status"] = "unreachable"
    elif result.get("failed"):
        status["status"] = "failed"
    elif result.get("skipped"):
        status["status"] = "skipped"
    elif result.get("log_found") is False:
        status["status"] = "no log"
    stats = result.get("stats") or {}
    status["matched"] = int(stats.get("matched") or 0)
    status["returned"] = int(stats.get("returned") or 0)
    # With a recipe: whether the master's policy records what it looks for (else an empty result means nothing).
    note = _recipe_coverage.note(result.get("recipe"), result.get("policy")) if status["status"] == "ok" else None
    if note:
        status["policy_note"] = note
    return status


def _with_host(host, event):
    # The host first, so that a merged line says at once which master logged it.
    merged = {"host": host}
    merged.update(event)
    return merged


class _RecipeCounts:
    """The recipe_counts of several hosts, added up row by row (the same combination of values on two hosts)."""

    def __init__(self):
        self.recipe = self.fields = None
        self.counter = Counter()

    def add(self, host, recipe_counts):
        if not isinstance(recipe_counts, Mapping):
            return
        recipe, fields = recipe_counts.get("recipe"), tuple(recipe_counts.get("fields") or ())
        if self.fields is None:
            self.recipe, self.fields = recipe, fields
        elif (recipe, fields) != (self.recipe, self.fields):
            raise AnsibleFilterError(
                f"audit_report_merge: {host} counted by recipe {recipe!r} ({', '.join(fields)}), the hosts before it "
                f"by {self.recipe!r} ({', '.join(self.fields)}): read every host with the same recipe"
            )
        for row in recipe_counts.get("rows") or []:
            values = tuple(str(row.get(field, NO_VALUE)) for field in fields)
            self.counter[values] += int(row.get("count") or 0)

    def result(self):
        return None if self.fields is None else grouped_counts(self.recipe, self.fields, self.counter)


def audit_report_merge(hostvars, hosts, register="kube_audit_report_read", limit=0):
    """Merge the registered audit_log_info results of ``hosts`` into one report.

    Events are tagged with their host and merged by their time (the newest ``limit``, 0 for all): the first of
    stageTimestamp, requestReceivedTimestamp and timestamp that is set, as on the masters, so that whole events of
    older clusters and summaries (whose stageTimestamp is that time) merge alike, and events without a time come
    first. Counts are added up; every node gets a status line, including those that failed or were not reached.

    No event is ever dropped as a duplicate: one auditID is logged once per stage, and can be logged by two masters
    (a client may send its own Audit-ID header), or twice by one (a client reusing it). Every event stays, with its
    host; the events of one time keep the host order, then each host's order.
    """
    if isinstance(hosts, str) or not all(isinstance(host, str) for host in hosts):
        raise AnsibleFilterError("audit_report_merge: hosts must be a list of inventory host names")
    try:
        limit = int(limit)
    except (TypeError, ValueError) as exc:
        raise AnsibleFilterError(f"audit_report_merge: limit must be an integer, not {limit!r}") from exc
    statuses, events, counts = [], [], {dimension: Counter() for dimension in COUNT_DIMENSIONS}
    has_counts = False
    recipe_counts = _RecipeCounts()
    for host in hosts:
        variables = hostvars.get(host)
        result = variables.get(register) if isinstance(variables, Mapping) else None
        status = _host_status(host, result)
        statuses.append(status)
        if status["status"] not in ("ok", "no log"):
            continue
        for event in result.get("events") or []:
            events.append(_with_host(host, event))
        if result.get("counts") is not None:
            has_counts = True
            for dimension in COUNT_DIMENSIONS:
                counts[dimension].update(result["counts"].get(dimension) or {})
        recipe_counts.add(host, result.get("recipe_counts"))
    # Stable sort: events with the same time keep host order, then each host's own order.
    events.sort(key=event_time_key)
    matched = sum(status["matched"] for status in statuses)
    if limit > 0:
        events = events[-limit:]
    report = {
        "hosts": statuses,
        "failed_hosts": [status["host"] for status in statuses if status["status"] not in ("ok", "no log")],
        "matched": matched,
        "events": events,
    }
    if has_counts:
        report["counts"] = {
            dimension: dict(sorted(counter.items(), key=lambda item: (-item[1], item[0])))
            for dimension, counter in counts.items()
        }
    merged_recipe_counts = recipe_counts.result()
    if merged_recipe_counts is not None:
        report["recipe_counts"] = merged_recipe_counts
    return report


def _event_row(event):
    user = event.get("username")
    if user is None and isinstance(event.get("user"), Mapping):  # a full event rather than a summary
        user = event["user"].get("username")
    code = event.get("code")
    if code is None and isinstance(event.get("responseStatus"), Mapping):
        code = event["responseStatus"].get("code")
    values = (event.get("host"), event_time(event)[0], user, event.get("verb"), code, event.get("requestURI"))
    return ["-" if value is None else str(value) for value in values]


def _align(rows):
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    # The last column is left ragged: URIs are long and nothing follows them.
    return ["  ".join(cell.ljust(width) for cell, width in zip(row[:-1], widths)) + "  " + row[-1] for row in rows]


def _recipe_table(recipe_counts):
    title = f"recipe {recipe_counts['recipe']}, by {', '.join(recipe_counts['fields'])}"
    if not recipe_counts["rows"]:
        return [title + ": none"]
    fields = recipe_counts["fields"]
    rows = [["COUNT", *(field.upper() for field in fields)]]
    rows += [[str(row["count"]), *(str(row.get(field, NO_VALUE)) for field in fields)] for row in recipe_counts["rows"]]
    return [title + ":", *_align(rows)]


def audit_report_table(report):
    """The report as lines of text: events (or counts), then how each node's read went."""
    if not isinstance(report, Mapping) or "hosts" not in report:
        raise AnsibleFilterError("audit_report_table: expects the result of nnf.kube_audit.audit_report_merge")
    lines = []
    if "counts" in report:
        for dimension, counts in report["counts"].items():
            rows = [[dimension.upper(), "COUNT"]] + [[str(key), str(value)] for key, value in counts.items()]
            lines.extend(_align([[row[1], row[0]] for row in rows]) if len(rows) > 1 else [f"{dimension}: none"])
            lines.append("")
        if "recipe_counts" in report:  # a recipe's counts come with the counts only
            lines.extend(_recipe_table(report["recipe_counts"]))
            lines.append("")
    elif report["events"]:
        lines.extend(_align([list(TABLE_COLUMNS)] + [_event_row(event) for event in report["events"]]))
        lines.append("")
    shown = len(report["events"])
    if "counts" not in report:
        if report["matched"] > shown:
            lines.append(f"{shown} newest of {report['matched']} matching events")
        else:
            lines.append(f"{shown} matching event{'' if shown == 1 else 's'}")
    for status in report["hosts"]:
        label = "" if status["status"] == "ok" else status["status"].upper() + ": "
        lines.append(f"{status['host']}: {label}{status['msg']}")
        if status.get("policy_note"):
            lines.append(f"{status['host']}: {status['policy_note']}")
    return lines


def audit_report_jsonl(report):
    """The report's events as JSON lines, one per event with its host, for jq; counts as one JSON line."""
    if not isinstance(report, Mapping) or "events" not in report:
        raise AnsibleFilterError("audit_report_jsonl: expects the result of nnf.kube_audit.audit_report_merge")
    records = [report["counts"]] if "counts" in report else report["events"]
    if "recipe_counts" in report:
        records = [*records, report["recipe_counts"]]
    return "".join(json.dumps(item, separators=(",", ":"), ensure_ascii=False, default=str) + "\n" for item in records)


class FilterModule:
    def filters(self):
        return {
            "audit_report_merge": audit_report_merge,
            "audit_report_table": audit_report_table,
            "audit_report_jsonl": audit_report_jsonl,
        }

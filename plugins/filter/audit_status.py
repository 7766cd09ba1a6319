# Copyright: (c) 2026, NNF kube_audit maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Gather the audit_status results of the masters into one report, and render it as a table.

Documentation: audit_status_collect.yml and audit_status_table.yml next to this file.
"""

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

COLUMNS = ("HOST", "AUDITED", "STARTED", "LOG", "BACKUPS", "NEWEST EVENT", "BUDGET", "FREE", "DRIFT", "FAILED CHECKS")


def _size(value):
    if value is None:
        return "-"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024.0
    return str(value)


def audit_status_collect(hostvars, hosts, register="kube_audit_status_read"):
    """``{"masters": [row with host], "failed_hosts": [...], "not_ok": [...]}`` from each host's registered result."""
    if isinstance(hosts, str):
        raise AnsibleFilterError("audit_status_collect: hosts must be a list of inventory names")
    masters, failed, not_ok = [], [], []
    for host in hosts:
        result = (hostvars.get(host) or {}).get(register)
        if not isinstance(result, Mapping) or result.get("failed") or result.get("unreachable"):
            message = str(result.get("msg", "")) if isinstance(result, Mapping) else "not read"
            masters.append({"host": host, "read": False, "msg": message})
            failed.append(host)
            continue
        row = {"host": host, "read": True}
        keys = ("audited", "ok", "live", "drift", "kubeadm_config", "log", "benchmarks")
        row.update((key, result.get(key)) for key in keys)
        masters.append(row)
        if not row["ok"]:
            not_ok.append(host)
    return {"masters": masters, "failed_hosts": failed, "not_ok": not_ok}


def audit_status_table(report):
    """Lines of text: one row per master, then each master's drift and failed checks in words."""
    rows = [COLUMNS]
    details = []
    for master in report.get("masters") or []:
        if not master.get("read"):
            rows.append((master["host"], "?", "-", "-", "-", "-", "-", "-", "-", "-"))
            details.append(f"{master['host']}: could not be read: {master.get('msg', '')}")
            continue
        log = master.get("log") or {}
        failed_checks = [row["id"] for row in master.get("benchmarks") or [] if not row.get("ok")]
        budget = log.get("budget_bytes")
        rows.append(
            (
                master["host"],
                "yes" if master.get("audited") else "NO",
                (master.get("live") or {}).get("started") or "not running",
                _size(log.get("size")) if log.get("exists") else ("stdout" if log.get("path") == "-" else "none"),
                f"{len(log.get('backups') or [])} ({_size(log.get('backups_size'))})",
                log.get("newest_event") or "-",
                "unlimited" if budget is None else _size(budget),
                _size(log.get("free_bytes")),
                str(len(master.get("drift") or [])),
                ", ".join(failed_checks) or "-",
            )
        )
        for finding in master.get("drift") or []:
            details.append(f"{master['host']}: drift ({finding['kind']}): {finding['message']}")
        if str(master.get("kubeadm_config") or "").startswith("not compared"):
            details.append(f"{master['host']}: kubeadm-config {master['kubeadm_config']}")
        for row in master.get("benchmarks") or []:
            if not row.get("ok"):
                beside = f" (manifest: {row['manifest']})" if "manifest" in row else ""
                details.append(f"{master['host']}: {row['id']} {row['title']}: {row['reason']}{beside}")
    widths = [max(len(str(row[index])) for row in rows) for index in range(len(COLUMNS))]
    lines = ["  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    return lines + details


class FilterModule:
    def filters(self):
        return {"audit_status_collect": audit_status_collect, "audit_status_table": audit_status_table}

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, NNF kube_audit maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: audit_log_info
short_description: Read and filter the kube-apiserver audit log of a control-plane node
version_added: 0.1.0
description:
  - Reads the audit log that kube-apiserver writes with C(--audit-log-path) on the node, together with its rotated
    backups, filters the events on the node and returns the matches, a summary of them or counts.
  - Backups are the files kube-apiserver's log rotation (lumberjack) leaves next to the log,
    C(<stem>-<YYYY-MM-DDTHH-MM-SS.mmm><ext>), optionally gzip-compressed (C(.gz)). They are read oldest first,
    by the rotation time in their names, then the current file.
  - All filters combine (AND); a list filter matches any of its values.
  - Every event has one time, the first of its C(stageTimestamp), C(requestReceivedTimestamp) and C(timestamp)
    that is set (not missing or null). Events of older clusters have no C(stageTimestamp), and those of Kubernetes 1.8
    (C(audit.k8s.io/v1beta1)) have only C(timestamp). O(since), O(until), the order of the events and O(limit) all
    use that time. An event without any time, or whose time does not parse, sorts before all others and is
    left out whenever O(since) or O(until) is given.
  - The log is read as a stream, so memory stays flat whatever its size; an O(audit_id), O(user), O(name),
    O(effective_user) or O(impersonated_user) filter skips the lines that cannot match without parsing them, which
    makes looking up one event in gigabytes take about as long as reading them.
  - O(recipe) names a common investigation (deletions, Secret access, exec into pods, denied requests, RBAC changes,
    impersonation) as a set of filters, and how to count its matches.
  - Bad data is counted and reported, never fatal. Lines in the legacy text format (C(--audit-log-format=legacy)),
    malformed JSON, a last line cut short (still being written, or torn by a crash), lines longer than
    O(max_line_bytes) and damaged C(.gz) backups are skipped and counted in RV(stats.skipped); the first few are
    described in RV(problems). An event that follows a torn write on the same line is still read.
  - When neither the log nor any backup exists, the module fails with a message saying that auditing looks
    disabled on the node, unless O(missing_ok=true), with which it returns no events and RV(log_found=false).
  - The module changes nothing on the node and runs the same in check mode.
author:
  - NNF kube_audit maintainers (@NearNodeFlash)
options:
  path:
    description:
      - The audit log, as given to kube-apiserver by C(--audit-log-path) (the roles' C(kube_audit_log_path)).
    type: path
    default: /var/log/kubernetes/kube-apiserver-audit.log
  rotated:
    description:
      - Also read the rotated backups of O(path), oldest first, before O(path) itself.
      - With V(false), only O(path) is read.
    type: bool
    default: true
  audit_id:
    description:
      - Keep the events of this request only (C(auditID)). One request can log one event per stage
        (C(RequestReceived), C(ResponseStarted), C(ResponseComplete), C(Panic)).
    type: str
  user:
    description:
      - Keep the events of this user (C(user.username)), for example a service account,
        V(system:serviceaccount:nnf-system:nnf-clientmount).
      - This is the authenticated user, C(.user.username), the field the NNF procedure's C(jq) recipe selects on. A
        request made with impersonation (C(kubectl --as)) is logged under the authenticated user, with the user it
        acted as in C(impersonatedUser); see O(impersonated_user) and O(effective_user).
      - A value with C(*), C(?) or C([...]) is a shell pattern, matched case-sensitively,
        for example V(system:serviceaccount:nnf-system:*).
    type: str
  impersonated_user:
    description:
      - Keep the events of requests made as this user with impersonation (C(impersonatedUser.username)). Events
        without impersonation never match; V(*) keeps every impersonated request.
      - An exact value, or a shell pattern as for O(user).
    type: str
  effective_user:
    description:
      - Keep the events of requests that acted as this user, the impersonated user (C(impersonatedUser.username))
        when there is one, else the authenticated user (C(user.username)).
      - An exact value, or a shell pattern as for O(user).
    type: str
  verbs:
    description:
      - Keep events with one of these verbs (C(get), C(list), C(watch), C(create), C(update), C(patch), C(delete),
        C(deletecollection), or any other verb the apiserver logs).
    type: list
    elements: str
  groups:
    description:
      - Keep events on resources of one of these API groups (C(objectRef.apiGroup)), for example
        V(nnf.cray.hpe.com). V(core) or an empty string stands for the core group.
      - Requests that are not for a resource (C(/healthz), C(/version)) never match.
    type: list
    elements: str
  resources:
    description:
      - Keep events on one of these resources (C(objectRef.resource)), for example V(nnfstorages).
      - V(pods) matches the subresources of pods too; V(pods/log) matches only that subresource.
    type: list
    elements: str
  namespaces:
    description:
      - Keep events on resources in one of these namespaces (C(objectRef.namespace)). An empty string stands for
        cluster-scoped resources.
    type: list
    elements: str
  name:
    description:
      - Keep events on the object of this name (C(objectRef.name)), for example V(web-1), whatever its resource
        and namespace (combine with O(resources) and O(namespaces)).
      - An exact value, or a shell pattern as for O(user), such as V(nnf-*).
      - Requests without an object name (lists, collections, non-resource URLs) never match.
    type: str
  source_ips:
    description:
      - Keep events of requests from one of these addresses or networks, each an IPv4 or IPv6 address
        (V(10.30.107.12)) or a network in CIDR notation (V(10.30.0.0/16), V(fd00::/8)).
      - An event matches when any of its C(sourceIPs) is inside any of them. C(sourceIPs) lists the addresses of
        the C(X-Forwarded-For) header, then C(X-Real-Ip), then the address the request came from; the headers are
        the client's word. An IPv4-mapped IPv6 address (V(::ffff:10.0.0.5)) counts as its IPv4 address.
      - A value that is neither an address nor a network fails the task, naming it, before anything is read.
    type: list
    elements: str
  user_agents:
    description:
      - Keep events whose client said one of these C(userAgent), each an exact value or a shell pattern as for
        O(user), such as V(kubectl/*) or V(curl/*). Events without a user agent never match.
    type: list
    elements: str
  stages:
    description:
      - Keep events logged at one of these stages.
    type: list
    elements: str
    choices: [RequestReceived, ResponseStarted, ResponseComplete, Panic]
  levels:
    description:
      - Keep events logged at one of these audit levels.
    type: list
    elements: str
    choices: [Metadata, Request, RequestResponse]
  codes:
    description:
      - Keep events whose response has one of these HTTP status codes (C(responseStatus.code)), each a code
        such as V(403) or a class such as V(4xx).
    type: list
    elements: raw
  since:
    description:
      - Keep events whose time (C(stageTimestamp), else C(requestReceivedTimestamp), else C(timestamp)) is at or
        after this time. Events without a time are left out.
      - An RFC 3339 time with an offset (V(2026-11-20T10:00:00Z), V(2026-11-20T12:00:00+02:00)), a date taken as
        midnight UTC (V(2026-11-20)), or a duration back from now on the node's clock, in C(s), C(m), C(h), C(d)
        or C(w) units, such as V(30m), V(2h), V(1d) or V(1h30m).
      - Backups rotated before this time are not opened. Every event in a backup is older than its rotation time,
        which its name gives to the millisecond, rounded down; so a backup is not opened when its name's
        millisecond is before the millisecond of O(since).
    type: str
  until:
    description:
      - Keep events whose time is before this time. Same forms as O(since). Events without a time are left out.
    type: str
  recipe:
    description:
      - A common investigation, as a named set of filters that combines (AND) with the other filters, such as
        O(since) or O(user). With O(format=counts), RV(recipe_counts) also counts the matches by the recipe's own
        fields.
      - V(deletions) keeps deletions (verbs delete and deletecollection) of any resource; counted by C(user) and
        C(resource).
      - V(secret_access) keeps any request on Secrets, and service account token requests (serviceaccounts/token);
        counted by C(user) and C(verb).
      - V(exec) keeps exec, attach and port-forward into pods, and the pod, service and node proxies; counted by
        C(user), C(resource), C(namespace) and C(name).
      - V(denied) keeps requests refused as unauthenticated (401) or forbidden (403); counted by C(user),
        C(source_ips) and C(code).
      - V(rbac_changes) keeps changes (create, update, patch, delete, deletecollection) of roles, cluster roles and
        their bindings (group rbac.authorization.k8s.io); counted by C(user), C(verb), C(resource), C(namespace) and
        C(name).
      - V(impersonation) keeps requests made as another user (events with an impersonatedUser); counted by C(user)
        and C(impersonated_user).
      - Secrets, tokens, exec and the proxies are those of the core API group. Subresources are matched as
        O(resources) matches them (V(pods/exec)).
      - A recipe finds only what the audit policy records. Under the roles' default preset, C(nnf), which records
        reads and writes of the NNF API groups but no deletions, V(deletions), V(secret_access), V(exec) and
        V(rbac_changes) find nothing, and V(denied) and V(impersonation) find requests on NNF resources only.
    type: str
    choices: [deletions, secret_access, exec, denied, rbac_changes, impersonation]
  policy_path:
    description:
      - With O(recipe), the audit policy installed on the node, returned as RV(policy) in the same call, so that the
        controller can tell "nobody did it" from "the policy does not record it"
        (P(nnf.kube_audit.audit_report_merge#filter) does, with the collection's policy evaluator).
    type: path
    version_added: 0.1.1
  format:
    description:
      - V(summary) returns, per event, the six fields of the seed procedure's C(jq) summary
        C([.auditID,.verb,.requestURI,.user.username,.responseStatus.code,.stageTimestamp]) as a dictionary with
        the keys C(auditID), C(verb), C(requestURI), C(username), C(code) and C(stageTimestamp).
        C(stageTimestamp) is the event's time; for an event without one (older clusters), its
        C(requestReceivedTimestamp) or C(timestamp) as logged, where C(jq) would show null.
      - V(events) returns the events as logged.
      - V(counts) returns no events but RV(counts) of all matching events by user, verb, resource and code, and
        with O(recipe), RV(recipe_counts) by the recipe's fields.
    type: str
    choices: [summary, events, counts]
    default: summary
  limit:
    description:
      - Return the newest O(limit) matching events (by their time), in time order. V(0) returns all of them.
      - A warning says when more events matched; RV(stats.matched) has their number.
      - Ignored with O(format=counts), which counts every match.
    type: int
    default: 1000
  missing_ok:
    description:
      - When neither O(path) nor a backup exists, return no events and RV(log_found=false) instead of failing.
    type: bool
    default: false
  max_line_bytes:
    description:
      - The longest line read, in bytes, without its newline; at least V(1024). The default is 16 MiB, as
        C(RequestResponse) events, such as the response to a large list, can be megabytes long.
      - A longer line is not read but skipped as it streams by, so that memory stays bounded whatever the log holds
        (a line without end, a C(.gz) backup that inflates to gigabytes of zeros). It is counted in
        RV(stats.skipped) as C(oversized) and described in RV(problems).
      - With an O(audit_id), O(user), O(name), O(effective_user) or O(impersonated_user) look-up, a skipped line
        that holds the value (or the pattern's literal text, or for O(impersonated_user) the key C(impersonatedUser))
        written out is also listed in RV(oversized_matches) and counted in RV(stats.oversized_matches), as it may be
        a match that was not returned. Raise O(max_line_bytes) to read it.
      - Memory grows with this bound, as reading a line takes up to about four times its length (its bytes, its
        text and the values parsed from it). With O(format=events), the events returned are held as well.
      - A line holding characters beyond U+FFFF (such as emoji), whose text takes 4 bytes a character in memory,
        is read up to half of O(max_line_bytes) only, and counted as C(oversized) when longer.
    type: int
    default: 16777216
notes:
  - Reading the log takes root on a kubeadm node, where the apiserver creates it with mode 0600, so use C(become).
  - The O(audit_id), O(user), O(name), O(effective_user) and O(impersonated_user) look-ups (and
    O(recipe=impersonation)) skip the lines without the value (or a pattern's longest literal text, or the key
    C(impersonatedUser)) written out verbatim; without a look-up, O(resources) (and the recipes built on it) skips
    the lines where none of its values (or of the subresources that complete them) follows a C(resource) or
    C(subresource) key, when all its values are printable ASCII. Those lines are counted in RV(stats.lines) but not
    examined, so bad data among them is not counted in RV(stats.skipped), except lines longer than
    O(max_line_bytes), which are always counted. Whether a line examined matches is decided on the parsed event,
    never on the text found.
  - O(source_ips), O(user_agents), O(impersonated_user) and O(effective_user) read fields that the fast reading of
    the usual lines skips, so the lines that get that far are parsed whole, which costs more time.
  - Only the C(json) log format is read; legacy lines are counted and skipped.
seealso:
  - name: Kubernetes auditing
    description: The audit log and its events.
    link: https://kubernetes.io/docs/tasks/debug/debug-cluster/audit/
attributes:
  check_mode:
    support: full
    description: The module only reads; it behaves the same in check mode.
  diff_mode:
    support: none
    description: Nothing changes, so there is nothing to show.
  platform:
    support: full
    platforms: posix
    description: Reads files on the node; any POSIX system with the log.
requirements:
  - Python 3.8 or later on the node (standard library only)
"""

EXAMPLES = r"""
# The seed's "quick-to-digest summary", on one master.
- name: Summarize the newest audit events
  nnf.kube_audit.audit_log_info:
    limit: 50
  become: true
  register: audit

# The seed's "extract a specific event record".
- name: Find one request by its audit ID
  nnf.kube_audit.audit_log_info:
    audit_id: d1053ee5-0734-4b40-815f-3f6831f82bac
    format: events
  become: true
  register: request

# The seed's service-account recipe, narrowed to writes of the last two hours.
- name: What did the clientmount daemon change lately?
  nnf.kube_audit.audit_log_info:
    user: system:serviceaccount:nnf-system:nnf-clientmount
    verbs: [create, update, patch, delete]
    since: 2h
    format: events
    limit: 0
  become: true
  register: clientmount

- name: Who was refused what, this week, across all NNF service accounts?
  nnf.kube_audit.audit_log_info:
    user: "system:serviceaccount:nnf-*"
    codes: [401, 403]
    since: 1w
    format: counts
  become: true
  register: refused

- name: Who was refused, from where, in the last day?
  nnf.kube_audit.audit_log_info:
    recipe: denied
    since: 1d
    format: counts
  become: true
  register: denied

- name: What did kubectl and curl do as service accounts, from the admin network?
  nnf.kube_audit.audit_log_info:
    source_ips: [10.40.0.0/16, "fd00:40::/32"]
    effective_user: "system:serviceaccount:*"
    user_agents: ["kubectl/*", "curl/*"]
    format: events
  become: true
  register: admin_network

- name: Every change made to the NNF storage named rabbit-1-storage, by any user
  nnf.kube_audit.audit_log_info:
    name: rabbit-1-storage
    verbs: [create, update, patch, delete]
    limit: 0
  become: true
  register: storage

- name: Read the current file only, on a node where auditing may be off
  nnf.kube_audit.audit_log_info:
    rotated: false
    missing_ok: true
  become: true
  register: current
"""

RETURN = r"""
recipe:
  description: With O(recipe), the recipe's name, description and the requests it is about (C(samples), as the policy
    evaluator takes them).
  returned: when O(recipe) is set
  type: dict
  sample:
    name: secret_access
    description: any request on Secrets, and service account token requests (serviceaccounts/token)
    samples:
      - {verb: get, apiGroup: "", resource: secrets, subresource: "", namespace: default}
policy:
  description: With O(recipe) and O(policy_path), the policy file, C(path), C(exists), C(size), C(sha256),
    C(content_base64) (null above 1 MiB) and C(error).
  returned: when O(recipe) and O(policy_path) are set
  type: dict
log_found:
  description: Whether the log or a backup of it exists. Only V(false) with O(missing_ok=true).
  returned: always
  type: bool
  sample: true
events:
  description:
    - The newest matching events, oldest first, at most O(limit).
    - With O(format=summary), dictionaries with C(auditID), C(verb), C(requestURI), C(username), C(code) and
      C(stageTimestamp); with O(format=events), the events as logged; empty with O(format=counts).
  returned: always
  type: list
  elements: dict
  sample:
    - auditID: d1053ee5-0734-4b40-815f-3f6831f82bac
      verb: update
      requestURI: /apis/nnf.cray.hpe.com/v1alpha2/namespaces/rabbit-node-1/nnfnodestorages/default-0/status
      username: system:serviceaccount:nnf-system:nnf-node-manager
      code: 200
      stageTimestamp: "2026-11-20T10:02:03.427813Z"
counts:
  description:
    - Number of matching events by C(user), C(verb), C(resource) and C(code), each highest first.
    - Resources are spelled as kubectl spells them, C(resource[/subresource][.group]); requests that are not for
      a resource count as C(<non-resource>), events without a response code as C(<none>).
  returned: when O(format=counts)
  type: dict
  sample:
    user: {"system:serviceaccount:nnf-system:nnf-clientmount": 812, "system:kube-controller-manager": 77}
    verb: {get: 640, update: 201, list: 48}
    resource: {"clientmounts.dataworkflowservices.github.io": 640, "nnfnodestorages.nnf.cray.hpe.com/status": 249}
    code: {"200": 870, "404": 19}
recipe_counts:
  description:
    - The matching events counted by the fields of O(recipe) (see O(recipe) for each recipe's), one row per
      combination of their values, the highest count first.
    - Each row holds the recipe's fields and C(count). A missing value is C(<none>); C(source_ips) holds all the
      event's source addresses, joined with commas; C(resource) is spelled as in RV(counts); C(code) is text.
  returned: when O(format=counts) and O(recipe) is set
  type: dict
  contains:
    recipe:
      description: The recipe.
      type: str
      sample: denied
    fields:
      description: The fields counted by, in the order of the rows' keys.
      type: list
      elements: str
      sample: [user, source_ips, code]
    rows:
      description: The combinations of values and their counts.
      type: list
      elements: dict
      sample:
        - {user: "system:serviceaccount:default:builder", source_ips: "10.30.107.12", code: "403", count: 12}
        - {user: "<none>", source_ips: "203.0.113.9", code: "401", count: 3}
  sample:
    recipe: denied
    fields: [user, source_ips, code]
    rows:
      - {user: "system:serviceaccount:default:builder", source_ips: "10.30.107.12", code: "403", count: 12}
      - {user: "<none>", source_ips: "203.0.113.9", code: "401", count: 3}
stats:
  description: What was read and matched.
  returned: always
  type: dict
  contains:
    files_read:
      description: Files read to the end.
      type: int
      sample: 3
    bytes:
      description: Bytes read (uncompressed).
      type: int
      sample: 209715200
    lines:
      description: Lines in the files read.
      type: int
      sample: 171230
    examined:
      description: Lines parsed (all of them, unless a look-up or O(resources) skipped some, see the notes).
      type: int
      sample: 171230
    matched:
      description: Events that passed the filters.
      type: int
      sample: 889
    returned:
      description: Events in RV(events).
      type: int
      sample: 889
    skipped:
      description:
        - Bad data skipped, by kind. C(legacy) lines of the legacy text format; C(malformed) lines that are not an
          audit event in JSON; C(truncated) events cut short (the last line still being written, or a write torn
          by a crash); C(oversized) lines longer than O(max_line_bytes); C(unreadable_files) files that could not
          be read to the end (damaged C(.gz), I/O errors).
      type: dict
      sample: {legacy: 0, malformed: 1, truncated: 1, oversized: 0, unreadable_files: 0}
    oversized_matches:
      description:
        - Lines longer than O(max_line_bytes) that hold the look-up's text written out (see O(max_line_bytes)),
          skipped but possibly matches. Always V(0) without such a look-up. The first ones are in
          RV(oversized_matches).
      type: int
      sample: 0
    oldest:
      description:
        - The time of the oldest matching event (its C(stageTimestamp), else C(requestReceivedTimestamp), else
          C(timestamp)), in UTC with six fractional digits; null when none matched or none has a time.
      type: str
      sample: "2026-11-20T08:00:01.102030Z"
    newest:
      description: The time of the newest matching event, as RV(stats.oldest); null when none matched.
      type: str
      sample: "2026-11-20T10:02:03.427813Z"
  sample:
    files_read: 3
    bytes: 209715200
    lines: 171230
    examined: 171230
    matched: 889
    returned: 889
    skipped: {legacy: 0, malformed: 1, truncated: 1, oversized: 0, unreadable_files: 0}
    oversized_matches: 0
    oldest: "2026-11-20T08:00:01.102030Z"
    newest: "2026-11-20T10:02:03.427813Z"
files:
  description:
    - The files considered, in the order read, with C(path), C(rotated_at) (UTC rotation time from the name,
      null for the current file), C(compressed), C(lines) and C(bytes) read; C(skipped) says why a file was not
      read (rotated before O(since), or removed by log rotation meanwhile) and C(error) why one was not read to
      the end.
  returned: always
  type: list
  elements: dict
  sample:
    - path: /var/log/kubernetes/kube-apiserver-audit-2026-11-19T22-14-05.118.log.gz
      rotated_at: "2026-11-19T22:14:05.118000Z"
      compressed: true
      lines: 0
      bytes: 0
      skipped: rotated before 'since'
    - path: /var/log/kubernetes/kube-apiserver-audit.log
      rotated_at: null
      compressed: false
      lines: 61204
      bytes: 73400320
problems:
  description: The first bad lines and files skipped (at most 10), with C(kind), C(path), C(line) and C(reason).
  returned: always
  type: list
  elements: dict
  sample:
    - kind: truncated
      path: /var/log/kubernetes/kube-apiserver-audit.log
      line: 61204
      reason: the last line is incomplete (still being written?)
oversized_matches:
  description:
    - The first lines (at most 10) longer than O(max_line_bytes) that hold the look-up's text written out (see
      O(max_line_bytes)), with C(path), C(line) (its number in the file) and C(bytes) (its length). They were not
      read, so they may be matches that RV(events) lacks; RV(stats.oversized_matches) has their number.
  returned: always
  type: list
  elements: dict
  sample:
    - path: /var/log/kubernetes/kube-apiserver-audit.log
      line: 18220
      bytes: 20971520
current_missing:
  description: Whether O(path) is missing while backups exist (auditing may have been turned off since).
  returned: always
  type: bool
  sample: false
msg:
  description: A one-line account of the read.
  returned: always
  type: str
  sample: "read 3 files (200.0 MiB, 171230 lines): 889 matched, 889 returned; skipped 1 truncated"
"""

import socket

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nnf.kube_audit.plugins.module_utils import _audit_status_node, _errors, audit_log


def read(params):
    """The module's result for ``params``.

    The failures the user can cause are raised as KubeAuditError, for _errors.run to report without a traceback: a
    ValueError is a bad argument, which its message names; an AuditLogError is a log that cannot be read at all
    (its ``log_found`` goes into the result). Bad data in a log is counted in the result instead.
    """
    try:
        event_filter = audit_log.EventFilter(
            audit_id=params["audit_id"],
            user=params["user"],
            verbs=params["verbs"],
            groups=params["groups"],
            resources=params["resources"],
            namespaces=params["namespaces"],
            stages=params["stages"],
            levels=params["levels"],
            codes=params["codes"],
            since=params["since"],
            until=params["until"],
            name=params["name"],
            source_ips=params["source_ips"],
            user_agents=params["user_agents"],
            impersonated_user=params["impersonated_user"],
            effective_user=params["effective_user"],
            recipe=params["recipe"],
        )
    except ValueError as exc:
        raise _errors.KubeAuditError(f"Invalid filter: {exc}") from None
    extra = {}
    if params["recipe"] is not None:
        recipe = audit_log.RECIPES[params["recipe"]]
        extra["recipe"] = {
            "name": params["recipe"],
            "description": recipe.description,
            "samples": [dict(sample) for sample in recipe.samples],
        }
        if params["policy_path"]:
            # For the controller to judge whether the policy records what the recipe looks for (audit_report_merge).
            extra["policy"] = _audit_status_node.file_state(params["policy_path"])
    try:
        return dict(
            extra,
            **audit_log.read_audit_log(
                params["path"],
                event_filter=event_filter,
                output=params["format"],
                limit=params["limit"],
                rotated=params["rotated"],
                missing_ok=params["missing_ok"],
                max_line_bytes=params["max_line_bytes"],
            ),
        )
    except ValueError as exc:
        raise _errors.KubeAuditError(str(exc)) from None
    except audit_log.AuditLogError as exc:
        raise _errors.KubeAuditError(f"{socket.gethostname()}: {exc}", exc.result) from None


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", default=audit_log.DEFAULT_LOG_PATH),
            rotated=dict(type="bool", default=True),
            audit_id=dict(type="str"),
            user=dict(type="str"),
            verbs=dict(type="list", elements="str"),
            groups=dict(type="list", elements="str"),
            resources=dict(type="list", elements="str"),
            namespaces=dict(type="list", elements="str"),
            stages=dict(type="list", elements="str", choices=list(audit_log.STAGES)),
            levels=dict(type="list", elements="str", choices=list(audit_log.LEVELS)),
            codes=dict(type="list", elements="raw"),
            since=dict(type="str"),
            until=dict(type="str"),
            name=dict(type="str"),
            source_ips=dict(type="list", elements="str"),
            user_agents=dict(type="list", elements="str"),
            impersonated_user=dict(type="str"),
            effective_user=dict(type="str"),
            recipe=dict(type="str", choices=list(audit_log.RECIPES)),
            policy_path=dict(type="path"),
            format=dict(type="str", choices=list(audit_log.OUTPUT_FORMATS), default="summary"),
            limit=dict(type="int", default=audit_log.DEFAULT_LIMIT),
            missing_ok=dict(type="bool", default=False),
            max_line_bytes=dict(type="int", default=audit_log.DEFAULT_MAX_LINE_BYTES),
        ),
        supports_check_mode=True,
    )
    # The result's warnings are issued as the module's warnings by _errors.run.
    result = _errors.run(module, lambda: read(module.params), subject=module.params["path"])
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()

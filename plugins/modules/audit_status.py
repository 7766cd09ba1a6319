#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, NNF kube_audit maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: audit_status
short_description: Say whether a master is audited, what drifted, its audit log, and the CIS and STIG audit checks
version_added: 0.1.1
author:
  - NNF kube_audit maintainers (@NearNodeFlash)
description:
  - Reads a control-plane node and reports, without changing anything, whether its running C(kube-apiserver) audits
    and whether anything drifted since the audit configuration was rolled out.
  - B(live) is the running process the kubelet started (found as M(nnf.kube_audit.apiserver_wait) finds it), its
    C(--audit-*) flags from C(/proc) and its start time.
  - B(drift) compares the manifest with the live process (a restart pending, or a pod that does not start), each
    installed file with its own checksum annotation in the manifest (a policy edited by hand), kubeadm-config with
    the manifest when it can be read (auditing the next C(kubeadm upgrade) would drop), and lists stray files of the
    pod in the manifests directory.
  - B(log) describes the audit log (size, backups, newest event, free space) and the disk budget its flags allow,
    C(maxsize) times C(maxbackup + 1) MB (100 MB when maxsize is unset; unlimited when maxbackup is 0 or unset).
  - B(benchmarks) judges the live flags by CIS Kubernetes Benchmark 1.2.16 to 1.2.19 and 3.2.1 (v1.8 numbering) and
    DISA Kubernetes STIG V-242402, V-242403, V-242461 to V-242465, showing the manifest's value beside the live one
    when they differ. V-242403 (requests recorded at RequestResponse) is judged on the installed policy with the
    collection's policy evaluator.
  - The manifest and the policy are read on the controller; the master needs only Python's standard library.
options:
  manifest_path:
    description: The kube-apiserver static-pod manifest.
    type: path
    default: /etc/kubernetes/manifests/kube-apiserver.yaml
  container:
    description: The container in the manifest, which is also the process name.
    type: str
    default: kube-apiserver
  kubeconfig:
    description: The kubeconfig on the master that reads kubeadm-config (when it exists).
    type: path
    default: /etc/kubernetes/admin.conf
  read_kubeadm_config:
    description: Compare kubeadm-config with the manifest (when O(kubeconfig) exists).
    type: bool
    default: true
  thresholds:
    description: The benchmarks' minimums.
    type: dict
    default: {}
    suboptions:
      maxage:
        description: Days of audit log kept (CIS 1.2.17, STIG V-242464).
        type: int
        default: 30
      maxbackup:
        description: Audit log backups kept (CIS 1.2.18, STIG V-242463).
        type: int
        default: 10
      maxsize:
        description: Megabytes an audit log grows to before rotation (CIS 1.2.19, STIG V-242462).
        type: int
        default: 100
attributes:
  action:
    description: The manifest, kubeadm-config and the policy are judged on the controller.
    support: full
  check_mode:
    description: Reads only; the same result in check mode.
    support: full
  diff_mode:
    description: Changes nothing.
    support: none
  platform:
    description: Runs against a control-plane node.
    support: full
    platforms: posix
requirements:
  - ruamel.yaml >= 0.17.21, < 0.20 and PyYAML on the Ansible controller (not on the managed node)
seealso:
  - module: nnf.kube_audit.apiserver_wait
"""

EXAMPLES = r"""
- name: Is each master audited?
  nnf.kube_audit.audit_status:
  register: status

- name: Fail when a master is not audited or drifted
  ansible.builtin.assert:
    that: status.ok
    fail_msg: "{{ status.drift | map(attribute='message') | list }}"
"""

RETURN = r"""
audited:
  description: Whether a kube-apiserver runs with C(--audit-policy-file) and C(--audit-log-path).
  returned: success
  type: bool
  sample: true
ok:
  description: Audited and nothing drifted.
  returned: success
  type: bool
  sample: true
live:
  description: The running process (C(pid), C(started), C(audit_flags)), or null when none runs.
  returned: success
  type: dict
  sample:
    pid: 2616
    started: "2026-12-03T13:05:10Z"
    audit_flags:
      audit-log-path: /var/log/kubernetes/kube-apiserver-audit.log
drift:
  description: What disagrees, each a C(kind) (not-running, restart-pending, flags-differ, checksum, kubeadm-config,
    stray) and a C(message).
  returned: success
  type: list
  elements: dict
  sample:
    - kind: checksum
      message: /etc/kubernetes/policies/audit-policy.yaml changed since it was installed
kubeadm_config:
  description: Whether kubeadm-config was compared with the manifest, or why not (no kubeconfig, not a kubeadm
    cluster, the API server could not be reached, O(read_kubeadm_config) false).
  returned: success
  type: str
  sample: compared with the manifest
log:
  description: The audit log (C(path), C(exists), C(size), C(modified), C(backups), C(backups_size), C(newest_event),
    C(free_bytes), C(budget_bytes) with null meaning unlimited).
  returned: success
  type: dict
benchmarks:
  description: One row per check, C(id), C(title), C(ok), C(live), C(reason) (empty when ok), and C(manifest) when the
    manifest's value differs from the live one.
  returned: success
  type: list
  elements: dict
  sample:
    - id: CIS 1.2.17
      title: audit log kept >= 30 days
      ok: true
      live: "30"
      reason: ""
"""

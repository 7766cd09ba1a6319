#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, NNF kube_audit maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: audit_plan
short_description: Plan a master's audit change (policy file, log directory, manifest) in one remote call
version_added: 0.1.1
author:
  - NNF kube_audit maintainers (@NearNodeFlash)
description:
  - Says what M(nnf.kube_audit.audit_files) and M(nnf.kube_audit.apiserver_manifest) would change on a master,
    as both do in check mode, with one call to the master instead of two. Changes nothing, in any mode.
  - The master is read once (M(nnf.kube_audit.manifest_io)); the policy file and log directory are planned there,
    the manifest edit on the controller. The master needs only Python 3.8 or later.
  - The roles use it for their plan step, so a rerun with nothing to do costs one call per master.
options:
  files:
    description:
      - Options of M(nnf.kube_audit.audit_files) to plan, checked as that module checks them. Omit to plan only
        the manifest.
    type: dict
  manifest:
    description:
      - Options of M(nnf.kube_audit.apiserver_manifest) to plan, checked as that module checks them
        (its C(restore_from) is not a plan and is refused).
    type: dict
    required: true
  kubeadm_config:
    description:
      - Also say whether O(kubeadm_config.kubeconfig) exists (RV(kubeconfig_exists)) and, with
        O(kubeadm_config.read), plan M(nnf.kube_audit.kubeadm_config) for the flags and mounts of O(manifest), from a
        read of the ConfigMap in the same call (RV(kubeadm_config)).
      - With it, a node that has neither the manifest nor the kubeconfig is not a control-plane node yet, so the
        manifest part is skipped (RV(manifest.skipped)) with a warning instead of failing.
    type: dict
    version_added: 0.1.1
    suboptions:
      kubeconfig:
        description: The kubeconfig on the master.
        type: path
        default: /etc/kubernetes/admin.conf
      read:
        description: Read and plan the ConfigMap too (on one master of the cluster).
        type: bool
        default: false
      required:
        description: A missing kubeconfig or ConfigMap fails instead of being a warning.
        type: bool
        default: false
      identity:
        description:
          - Also check that the kubeconfig, when it exists, can be used to send the rollout's proof request
            (M(nnf.kube_audit.apiserver_wait) O(nnf.kube_audit.apiserver_wait#module:audit_proof)), so that a
            kubeconfig that cannot fails the plan, before any change, rather than the wait after the restart.
        type: bool
        default: false
        version_added: 0.1.1
notes:
  - The result of each part is what the module would return in check mode.
requirements:
  - ruamel.yaml >= 0.17.21, < 0.20 on the Ansible controller (not on the managed node)
attributes:
  action:
    description: The manifest edit is planned on the controller.
    support: full
  check_mode:
    description: Changes nothing in any mode.
    support: full
  diff_mode:
    description: Shows the planned policy, log directory and manifest changes.
    support: full
  platform:
    description: Runs against the control-plane node that holds the manifest.
    support: full
    platforms: posix
seealso:
  - module: nnf.kube_audit.audit_files
  - module: nnf.kube_audit.apiserver_manifest
"""

EXAMPLES = r"""
- name: What would enabling auditing change on each master?
  nnf.kube_audit.audit_plan:
    files:
      policy_path: /etc/kubernetes/policies/audit-policy.yaml
      policy_content: "{{ lookup('ansible.builtin.file', 'audit-policy.yaml') }}"
      log_dir: /var/log/kubernetes
    manifest:
      args:
        audit-policy-file: /etc/kubernetes/policies/audit-policy.yaml
        audit-log-path: /var/log/kubernetes/kube-apiserver-audit.log
      mounts:
        - name: k8s-policies
          host_path: /etc/kubernetes/policies/audit-policy.yaml
          type: File
          read_only: true
  register: plan
"""

RETURN = r"""
needs_change:
  description:
    - Whether O(files) or O(manifest) would change anything. The same as C(changed), but kept when the task
      overrides C(changed) (the roles report a plan as a change only in check mode).
  returned: success
  type: bool
  sample: true
files:
  description:
    - What M(nnf.kube_audit.audit_files) returns in check mode for O(files) (C(changed), C(policy), C(log_dir)).
  returned: when O(files) is set
  type: dict
  sample:
    changed: true
    policy:
      path: /etc/kubernetes/policies/audit-policy.yaml
      state: present
      existed: false
      changes: [create]
      checksum: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
      backup_file: null
manifest:
  description:
    - What M(nnf.kube_audit.apiserver_manifest) returns in check mode for O(manifest) (C(changed),
      C(manifest_changed), C(changes), C(stray_files), C(args), C(mounts), C(checksum_before), ...).
  returned: success
  type: dict
  sample:
    changed: true
    manifest_changed: true
    changes: [added --audit-log-path=/var/log/kubernetes/kube-apiserver-audit.log]
    stray_files: []
  contains:
    skipped:
      description:
        - True when the node is not a control-plane node yet (neither the manifest nor the kubeconfig exists), so
          the manifest was not planned; C(changed) is then false.
      returned: with O(kubeadm_config), on a node that is not a control-plane node yet
      type: bool
      sample: true
kubeconfig_exists:
  description: With O(kubeadm_config), whether the kubeconfig exists on the master.
  returned: when O(kubeadm_config) is set
  type: bool
  sample: true
kubeadm_config:
  description:
    - With O(kubeadm_config.read), what M(nnf.kube_audit.kubeadm_config) returns in check mode (C(changed),
      C(found), C(changes), C(api_version), C(resource_version)).
  returned: when O(kubeadm_config.read) is true
  type: dict
  sample:
    changed: true
    found: true
    changes: ["added extraArgs audit-log-path=/var/log/kubernetes/kube-apiserver-audit.log"]
    api_version: kubeadm.k8s.io/v1beta4
    resource_version: "12345"
diff:
  description: In diff mode, the planned changes of the policy file, the log directory and the manifest.
  returned: when diff mode is on and something would change
  type: list
  elements: dict
  sample:
    - before_header: /etc/kubernetes/manifests/kube-apiserver.yaml
      after_header: /etc/kubernetes/manifests/kube-apiserver.yaml
      before: "apiVersion: v1\n..."
      after: "apiVersion: v1\n..."
"""

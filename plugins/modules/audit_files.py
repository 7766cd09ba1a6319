#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, NNF kube_audit maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: audit_files
short_description: Install the audit policy file, webhook kubeconfig and log directory on a control-plane node
version_added: 0.1.0
description:
  - Makes the audit policy file at O(policy_path) hold O(policy_content_base64) or O(policy_content), owned by root
    with mode 0600, or removes it (O(policy_state=absent)). A missing directory for it is created owned by root with
    mode 0700; an existing one is left as it is.
  - Makes the audit webhook kubeconfig at O(webhook_config_path) hold O(webhook_config_content_base64) (owned by root,
    mode 0600), or removes it (O(webhook_config_state=absent)), in the same way as the policy file. It may hold a
    client key or a token; it is never returned, and a diff shows it with their values replaced by C(REDACTED).
  - Makes O(log_dir) a directory owned by root with mode 0700, as kube-apiserver creates its audit log directory.
  - One call checks every path, so that a rerun with nothing to do costs one module run per node.
  - The policy is replaced in one rename (a temporary dot-file in the same directory). With O(backup=true), the
    previous policy is first copied to O(backup_dir), outside the policy's directory.
  - A path that is not what it should be (a symlink or a directory where the policy belongs, a file where the log
    directory belongs), a log directory that is a shared system directory such as C(/var/log), and a policy file or
    log directory inside O(manifests_dir), fail the task before anything changes. These guards compare real paths
    on the node (C(//var/log), C(/var/log/.) and paths through symlinks are judged by where they lead), so the
    module is safe on its own, without the roles' checks.
author:
  - NNF kube_audit maintainers (@NearNodeFlash)
options:
  policy_path:
    description:
      - The audit policy file (kube-apiserver's C(--audit-policy-file)).
    type: path
  policy_content:
    description:
      - The policy text to install, encoded as UTF-8.
      - Prefer O(policy_content_base64) with the RV(nnf.kube_audit.audit_policy#module:content_base64) that
        M(nnf.kube_audit.audit_policy) returns, which is exactly what it checked whatever the file's encoding.
      - One of O(policy_content) and O(policy_content_base64) is required with O(policy_state=present).
      - Mutually exclusive with O(policy_content_base64).
    type: str
  policy_content_base64:
    description:
      - The policy to install, base64-encoded; its bytes are installed byte for byte, in whatever encoding they are
        (kube-apiserver reads UTF-8 and, after a byte order mark, UTF-16).
      - Meant for the RV(nnf.kube_audit.audit_policy#module:content_base64) of M(nnf.kube_audit.audit_policy), so
        that the file holds exactly the bytes that were checked, and their checksum.
      - Line breaks and spaces are ignored; anything else that is not base64 (standard alphabet, with its padding)
        fails the task before anything changes.
      - One of O(policy_content) and O(policy_content_base64) is required with O(policy_state=present).
      - Mutually exclusive with O(policy_content).
    type: str
  policy_restore_from:
    description:
      - A backup of the policy file on the node (a RV(policy.backup_file) of an earlier run) to put back byte for
        byte, as the roles' rollback does; instead of O(policy_content) or O(policy_content_base64).
      - Written like any other policy (dot-file, every byte checked, one rename), never through a temporary file
        the kubelet could read.
    type: path
  policy_state:
    description:
      - Whether the policy file should exist.
    type: str
    choices: [present, absent]
    default: present
  webhook_config_path:
    description:
      - The kubeconfig of kube-apiserver's audit webhook backend (C(--audit-webhook-config-file)), checked on the
        controller first (M(nnf.kube_audit.audit_webhook)).
    type: path
  webhook_config_content_base64:
    description:
      - The webhook kubeconfig to install, base64-encoded, installed byte for byte (the
        RV(nnf.kube_audit.audit_webhook#module:content_base64) of M(nnf.kube_audit.audit_webhook)).
      - Never logged (it may hold a client key).
      - One of O(webhook_config_content_base64) and O(webhook_config_restore_from) is required with
        O(webhook_config_state=present).
    type: str
  webhook_config_restore_from:
    description:
      - A backup of the webhook kubeconfig on the node (a RV(webhook_config.backup_file) of an earlier run) to put
        back byte for byte.
    type: path
  webhook_config_state:
    description:
      - Whether the webhook kubeconfig should exist.
    type: str
    choices: [present, absent]
    default: present
  log_dir:
    description:
      - The directory of kube-apiserver's audit log (C(--audit-log-path)). Its existing mode and owner are changed.
    type: path
  backup:
    description:
      - Copy a policy file or webhook kubeconfig that is replaced or removed to O(backup_dir) first, with its mode and
        owner. Returned as RV(policy.backup_file) and RV(webhook_config.backup_file).
    type: bool
    default: false
  backup_dir:
    description:
      - Where backups go, created owned by root with mode 0700 when missing.
    type: path
    default: /etc/kubernetes/backup
  manifests_dir:
    description:
      - The kubelet's static-pod manifests directory. The kubelet reads every file there as a pod, so the policy file,
        the webhook kubeconfig and the log directory are refused inside it.
    type: path
    default: /etc/kubernetes/manifests
attributes:
  check_mode:
    support: full
    description: Reports what would change and changes nothing.
  diff_mode:
    support: full
    description:
      - Shows the policy text change, the webhook kubeconfig's with its secrets redacted (or a line saying it is not
        shown, when its secrets cannot be told apart line by line), and mode or owner changes of the files and the
        log directory.
      - The policy is shown as text in the encoding kube-apiserver reads it in (UTF-16 after its byte order mark,
        else UTF-8), bytes invalid in it as U+FFFD.
notes:
  - Give at least one of O(policy_path), O(webhook_config_path) and O(log_dir).
  - Root is the owner of all; the module needs to run as root.
seealso:
  - module: nnf.kube_audit.audit_policy
  - module: nnf.kube_audit.apiserver_manifest
"""

EXAMPLES = r"""
- name: Validate the policy on the controller
  nnf.kube_audit.audit_policy:
    src: files/audit-policy.yaml
  delegate_to: localhost
  run_once: true
  register: policy

- name: Install exactly the bytes checked, with the audit log directory
  nnf.kube_audit.audit_files:
    policy_path: /etc/kubernetes/policies/audit-policy.yaml
    policy_content_base64: "{{ policy.content_base64 }}"
    log_dir: /var/log/kubernetes
    backup: true

- name: Install a policy given as UTF-8 text
  nnf.kube_audit.audit_files:
    policy_path: /etc/kubernetes/policies/audit-policy.yaml
    policy_content: |
      apiVersion: audit.k8s.io/v1
      kind: Policy
      rules:
        - level: Metadata

- name: Remove the policy file
  nnf.kube_audit.audit_files:
    policy_path: /etc/kubernetes/policies/audit-policy.yaml
    policy_state: absent
"""

RETURN = r"""
policy:
  description: What was (or in check mode would be) done to the policy file.
  returned: when O(policy_path) is given
  type: dict
  contains:
    path:
      description: The policy file.
      type: str
      sample: /etc/kubernetes/policies/audit-policy.yaml
    state:
      description: O(policy_state).
      type: str
      sample: present
    existed:
      description: Whether the file existed before.
      type: bool
      sample: true
    changes:
      description: What differs, in words (C(create), C(content), C(remove), a mode or owner change); empty when
        nothing does.
      type: list
      elements: str
      sample: ["content", "mode 0644 -> 0600"]
    checksum:
      description: sha256 of the wanted bytes; null with O(policy_state=absent).
      type: str
      sample: 5f3a0c0e4b9c1d6f6e1a8a1f0f4b8a5e9c2d7b6a3e1f0d9c8b7a6f5e4d3c2b1a
    backup_file:
      description: The backup of the previous file, or null.
      type: str
      sample: /etc/kubernetes/backup/audit-policy.yaml.2026-11-27T13-02-11.338472
webhook_config:
  description: What was (or in check mode would be) done to the webhook kubeconfig; the same keys as RV(policy).
  returned: when O(webhook_config_path) is given
  type: dict
  contains:
    path:
      description: The webhook kubeconfig.
      type: str
      sample: /etc/kubernetes/audit-webhook-kubeconfig.yaml
    state:
      description: O(webhook_config_state).
      type: str
      sample: present
    existed:
      description: Whether the file existed before.
      type: bool
      sample: false
    changes:
      description: What differs, in words; empty when nothing does.
      type: list
      elements: str
      sample: ["create"]
    checksum:
      description: sha256 of the wanted bytes; null with O(webhook_config_state=absent).
      type: str
      sample: 0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c
    backup_file:
      description: The backup of the previous file, or null.
      type: str
      sample: /etc/kubernetes/backup/audit-webhook-kubeconfig.yaml.2026-11-27T13-02-11.338472
log_dir:
  description: What was (or in check mode would be) done to the log directory.
  returned: when O(log_dir) is given
  type: dict
  contains:
    path:
      description: The log directory.
      type: str
      sample: /var/log/kubernetes
    existed:
      description: Whether it existed before.
      type: bool
      sample: false
    changes:
      description: What differs, in words (C(create), a mode or owner change); empty when nothing does.
      type: list
      elements: str
      sample: ["create"]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nnf.kube_audit.plugins.module_utils import _errors, audit_files


def main():
    module = AnsibleModule(
        argument_spec=audit_files.ARGUMENT_SPEC, supports_check_mode=True, **audit_files.ARGUMENT_RULES
    )
    subject = module.params["policy_path"] or module.params["webhook_config_path"] or module.params["log_dir"]
    result = _errors.run(
        module, lambda: audit_files.run(module.params, module.check_mode, module._diff), subject=subject
    )
    module.exit_json(**result)


if __name__ == "__main__":
    main()

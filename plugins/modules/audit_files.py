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
short_description: Install the audit policy file and the audit log directory on a control-plane node
version_added: 0.1.0
description:
  - Makes the audit policy file at O(policy_path) hold O(policy_content), owned by root with mode 0600, or removes
    it (O(policy_state=absent)). A missing directory for it is created owned by root with mode 0700; an existing
    one is left as it is.
  - Makes O(log_dir) a directory owned by root with mode 0700, as kube-apiserver creates its audit log directory.
  - One call checks both paths, so that a rerun with nothing to do costs one module run per node.
  - The policy is replaced in one rename (a temporary dot-file in the same directory). With O(backup=true), the
    previous policy is first copied to O(backup_dir), outside the policy's directory.
  - A path that is not what it should be (a symlink or a directory where the policy belongs, a file where the log
    directory belongs), and a log directory that is a shared system directory such as C(/var/log), fail the task
    before anything changes.
author:
  - NNF kube_audit maintainers (@NearNodeFlash)
options:
  policy_path:
    description:
      - The audit policy file (kube-apiserver's C(--audit-policy-file)).
    type: path
  policy_content:
    description:
      - The policy text to install, byte for byte (UTF-8). Required with O(policy_state=present).
    type: str
  policy_state:
    description:
      - Whether the policy file should exist.
    type: str
    choices: [present, absent]
    default: present
  log_dir:
    description:
      - The directory of kube-apiserver's audit log (C(--audit-log-path)). Its existing mode and owner are changed.
    type: path
  backup:
    description:
      - Copy a policy file that is replaced or removed to O(backup_dir) first, with its mode and owner. Returned as
        RV(policy.backup_file).
    type: bool
    default: false
  backup_dir:
    description:
      - Where backups go, created owned by root with mode 0700 when missing.
    type: path
    default: /etc/kubernetes/backup
attributes:
  check_mode:
    support: full
    description: Reports what would change and changes nothing.
  diff_mode:
    support: full
    description: Shows the policy text change, and mode or owner changes of the policy file and log directory.
notes:
  - Give at least one of O(policy_path) and O(log_dir).
  - Root is the owner of both; the module needs to run as root.
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

- name: Install it, with the audit log directory
  nnf.kube_audit.audit_files:
    policy_path: /etc/kubernetes/policies/audit-policy.yaml
    policy_content: "{{ policy.content }}"
    log_dir: /var/log/kubernetes
    backup: true

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
      description: sha256 of the wanted content; null with O(policy_state=absent).
      type: str
      sample: 5f3a0c0e4b9c1d6f6e1a8a1f0f4b8a5e9c2d7b6a3e1f0d9c8b7a6f5e4d3c2b1a
    backup_file:
      description: The backup of the previous file, or null.
      type: str
      sample: /etc/kubernetes/backup/audit-policy.yaml.2026-11-27T13-02-11.338472
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

import traceback

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nnf.kube_audit.plugins.module_utils import audit_files


def diff_entries(policy, log_dir):
    """The policy's text change (or its attribute change), and the log directory's attribute change."""
    entries = []
    if policy and policy["changes"]:
        entry = {"before_header": policy["path"], "after_header": policy["path"]}
        if set(policy["changes"]) & {"create", "content", "remove"}:
            entry.update(before=policy["before"] or "", after=policy["after"] or "")
        else:
            entry.update(before=policy["before_attributes"], after=policy["after_attributes"])
        entries.append(entry)
    if log_dir and log_dir["changes"]:
        entries.append(
            {
                "before_header": log_dir["path"],
                "after_header": log_dir["path"],
                "before": log_dir["before_attributes"],
                "after": log_dir["after_attributes"],
            }
        )
    return entries


def main():
    module = AnsibleModule(
        argument_spec=dict(
            policy_path=dict(type="path"),
            policy_content=dict(type="str"),
            policy_state=dict(type="str", choices=["present", "absent"], default="present"),
            log_dir=dict(type="path"),
            backup=dict(type="bool", default=False),
            backup_dir=dict(type="path", default="/etc/kubernetes/backup"),
        ),
        required_one_of=[("policy_path", "log_dir")],
        supports_check_mode=True,
    )
    params = module.params
    if params["policy_path"] and params["policy_state"] == "present" and params["policy_content"] is None:
        module.fail_json(msg="policy_content is required to install the policy file")
    content = None if params["policy_content"] is None else params["policy_content"].encode("utf-8")
    try:
        policy = log_dir = None
        if params["policy_path"]:
            policy = audit_files.plan_policy(params["policy_path"], content, params["policy_state"])
        if params["log_dir"]:
            log_dir = audit_files.plan_directory(params["log_dir"])
        changed = bool((policy or {}).get("changes") or (log_dir or {}).get("changes"))
        backup_file = None
        if changed and not module.check_mode:
            if policy:
                backup_file = audit_files.apply_policy(
                    policy, content, params["backup_dir"] if params["backup"] else None
                )
            if log_dir:
                audit_files.apply_directory(log_dir)
    except (OSError, audit_files.AuditFilesError) as exc:
        module.fail_json(msg=str(exc), exception=traceback.format_exc())

    result = {"changed": changed}
    if module._diff and changed:
        result["diff"] = diff_entries(policy, log_dir)
    if policy:
        result["policy"] = {key: policy[key] for key in ("path", "state", "existed", "changes", "checksum")}
        result["policy"]["backup_file"] = backup_file
    if log_dir:
        result["log_dir"] = {key: log_dir[key] for key in ("path", "existed", "changes")}
    module.exit_json(**result)


if __name__ == "__main__":
    main()

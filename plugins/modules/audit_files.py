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
  - Makes the audit policy file at O(policy_path) hold O(policy_content_base64) or O(policy_content), owned by root
    with mode 0600, or removes it (O(policy_state=absent)). A missing directory for it is created owned by root with
    mode 0700; an existing one is left as it is.
  - Makes O(log_dir) a directory owned by root with mode 0700, as kube-apiserver creates its audit log directory.
  - One call checks both paths, so that a rerun with nothing to do costs one module run per node.
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
  manifests_dir:
    description:
      - The kubelet's static-pod manifests directory. The kubelet reads every file there as a pod, so the policy file
        and the log directory are refused inside it.
    type: path
    default: /etc/kubernetes/manifests
attributes:
  check_mode:
    support: full
    description: Reports what would change and changes nothing.
  diff_mode:
    support: full
    description:
      - Shows the policy text change, and mode or owner changes of the policy file and log directory.
      - The policy is shown as text in the encoding kube-apiserver reads it in (UTF-16 after its byte order mark,
        else UTF-8), bytes invalid in it as U+FFFD.
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

import base64
import binascii

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nnf.kube_audit.plugins.module_utils import _defaults, _errors, audit_files

# The byte order marks kube-apiserver's YAML reader (go-yaml) recognises; no mark means UTF-8.
BYTE_ORDER_MARKS = ((b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))
BASE64_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")


def policy_text(data):
    """A policy's bytes as text for the diff, in the encoding kube-apiserver reads them in (a BOM kept as U+FEFF)."""
    if data is None:
        return ""
    for mark, codec in BYTE_ORDER_MARKS:
        if data.startswith(mark):
            return data.decode(codec, "replace")
    return data.decode("utf-8", "replace")


def decode_base64(value):
    """The bytes of a base64 text (line breaks and spaces ignored), or ValueError saying what is wrong.

    Strict: the standard alphabet only, at most two ``=`` and only at the end, a length that is a multiple of 4.
    """
    text = "".join(value.split())
    for index, char in enumerate(text):
        if char in BASE64_ALPHABET or (char == "=" and len(text) - index <= 2 and not text[index:].strip("=")):
            continue
        if char != "=":
            what = f"the character {char!r}"
        elif text[index:].strip("="):
            what = "padding (=) before the end"
        else:
            what = "more than two = at the end"
        raise ValueError(f"{what}; only A-Z, a-z, 0-9, + and /, with at most two = at the end, are base64")
    if len(text) % 4:
        raise ValueError(f"its length, {len(text)} characters without line breaks, is not a multiple of 4")
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error as exc:  # pragma: no cover - the checks above leave nothing for it to refuse
        raise ValueError(str(exc)) from None


def current_bytes(path):
    """The policy file's bytes, for the diff; None when it cannot be read (the plan's text is shown instead)."""
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError:
        return None


def diff_entries(policy, log_dir, before_bytes=None, content=None):
    """The policy's text change (or its attribute change), and the log directory's attribute change.

    ``before_bytes`` and ``content`` are the policy's bytes before and after: shown decoded as kube-apiserver
    decodes them.
    """
    entries = []
    if policy and policy["changes"]:
        entry = {"before_header": policy["path"], "after_header": policy["path"]}
        if set(policy["changes"]) & {"create", "content", "remove"}:
            before = (policy["before"] or "") if before_bytes is None else policy_text(before_bytes)
            after = "" if policy["state"] == "absent" else policy_text(content)
            entry.update(before=before, after=after)
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


def wanted_content(params):
    """The policy bytes asked for, or None; a bad value fails naming its option."""
    if params["policy_content_base64"] is not None:
        try:
            return decode_base64(params["policy_content_base64"])
        except ValueError as exc:
            raise audit_files.AuditFilesError(f"policy_content_base64 is not valid base64: {exc}") from None
    if params["policy_content"] is not None:
        return params["policy_content"].encode("utf-8")
    if params["policy_restore_from"] is not None:
        return audit_files.read_backup(params["policy_restore_from"], params["manifests_dir"])
    return None


def run(params, check_mode, diff):
    content = wanted_content(params)
    if params["policy_path"] and params["policy_state"] == "present" and content is None:
        raise audit_files.AuditFilesError(
            "policy_content, policy_content_base64 or policy_restore_from is required to install the policy file"
        )
    policy = log_dir = None
    if params["policy_path"]:
        policy = audit_files.plan_policy(
            params["policy_path"], content, params["policy_state"], manifests_dir=params["manifests_dir"]
        )
    if params["log_dir"]:
        log_dir = audit_files.plan_directory(params["log_dir"], manifests_dir=params["manifests_dir"])
    changed = bool((policy or {}).get("changes") or (log_dir or {}).get("changes"))
    before_bytes = None
    if diff and policy and set(policy["changes"]) & {"content", "remove"}:
        before_bytes = current_bytes(policy["path"])  # read before the change replaces it
    backup_file = None
    if changed and not check_mode:
        if policy:
            backup_file = audit_files.apply_policy(policy, content, params["backup_dir"] if params["backup"] else None)
        if log_dir:
            audit_files.apply_directory(log_dir)

    result = {"changed": changed}
    if diff and changed:
        result["diff"] = diff_entries(policy, log_dir, before_bytes, content)
    if policy:
        result["policy"] = {key: policy[key] for key in ("path", "state", "existed", "changes", "checksum")}
        result["policy"]["backup_file"] = backup_file
    if log_dir:
        result["log_dir"] = {key: log_dir[key] for key in ("path", "existed", "changes")}
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            policy_path=dict(type="path"),
            policy_content=dict(type="str"),
            policy_content_base64=dict(type="str"),
            policy_restore_from=dict(type="path"),
            policy_state=dict(type="str", choices=["present", "absent"], default="present"),
            log_dir=dict(type="path"),
            backup=dict(type="bool", default=False),
            backup_dir=dict(type="path", default=_defaults.BACKUP_DIR),
            manifests_dir=dict(type="path", default=_defaults.MANIFESTS_DIR),
        ),
        required_one_of=[("policy_path", "log_dir")],
        mutually_exclusive=[("policy_content", "policy_content_base64", "policy_restore_from")],
        supports_check_mode=True,
    )
    subject = module.params["policy_path"] or module.params["log_dir"]
    result = _errors.run(module, lambda: run(module.params, module.check_mode, module._diff), subject=subject)
    module.exit_json(**result)


if __name__ == "__main__":
    main()

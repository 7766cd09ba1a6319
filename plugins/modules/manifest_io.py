#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, NNF kube_audit maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: manifest_io
short_description: Read a static-pod manifest for editing on the controller, and write it back by compare-and-swap
version_added: 0.1.1
author:
  - NNF kube_audit maintainers (@NearNodeFlash)
description:
  - The master's side of M(nnf.kube_audit.apiserver_manifest), M(nnf.kube_audit.apiserver_wait) and
    M(nnf.kube_audit.audit_plan), whose action plugins edit on the Ansible controller. It needs only the Python
    standard library on the master. Use those modules; this one is documented for completeness.
  - O(operation=read) changes nothing. It returns the manifest's bytes and checksum and, with O(scan_strays), every
    other file the kubelet would read in the manifests directory (bytes up to O(max_candidate_bytes)) and the names
    already in O(stray_dir). It applies the path guards first (O(backup_dir), O(stray_dir) and O(restore_from)
    outside the manifests directory, real paths compared; no symlinks in the directories), so a bad path fails
    before anything changes. With O(files), it also plans M(nnf.kube_audit.audit_files) in the same call.
  - O(operation=write) is a compare-and-swap. It writes only if the manifest's sha256 is still O(expected_sha256)
    and every stray file to move still has the sha256 it was read with; otherwise nothing is written and the task
    fails naming the file that changed. Stray files are moved first (never deleted, never over an existing file),
    then the manifest is backed up and replaced through a dot-file in its directory, fsync and rename.
options:
  path:
    description:
      - The static-pod manifest.
    type: path
    default: /etc/kubernetes/manifests/kube-apiserver.yaml
  operation:
    description:
      - V(read) the manifest and what planning an edit needs, or V(write) an edit back.
    type: str
    choices: [read, write]
    default: read
  scan_strays:
    description:
      - With O(operation=read), also return the files the kubelet would read in the manifests directory.
    type: bool
    default: false
  max_candidate_bytes:
    description:
      - With O(scan_strays), the largest file whose bytes are returned; larger files are listed without them.
    type: int
    default: 4194304
  backup_dir:
    description:
      - Where backups go. With O(operation=read) it is checked (outside the manifests directory, no symlinks)
        when given; with O(operation=write) and O(backup), the manifest's previous bytes are stored there.
    type: path
  stray_dir:
    description:
      - Where stray files go. Checked like O(backup_dir) and listed with O(scan_strays); created (mode 0700) by a
        write that moves files.
    type: path
  host_paths:
    description:
      - With O(operation=read), paths whose real paths on the master are returned (as RV(snapshot.host_paths)).
    type: list
    elements: path
    default: []
  restore_from:
    description:
      - With O(operation=read), also return this file's bytes (a backup to put back). Refused inside the
        manifests directory.
    type: path
  missing_ok:
    description:
      - With O(operation=read), report a manifest that does not exist (RV(snapshot.exists) false) instead of failing.
    type: bool
    default: false
    version_added: 0.1.1
  kubeconfig:
    description:
      - With O(operation=read), say whether this kubeconfig exists (RV(kubeconfig_exists)); with
        O(read_kubeadm_config), also read the C(kube-system/kubeadm-config) ConfigMap with it.
    type: path
    version_added: 0.1.1
  read_kubeadm_config:
    description:
      - With O(operation=read) and O(kubeconfig), read the ConfigMap in the same call (RV(kubeadm_config)), as
        M(nnf.kube_audit.kubeadm_config_io) reads it.
    type: bool
    default: false
    version_added: 0.1.1
  kubeconfig_identity:
    description:
      - With O(operation=read) and O(kubeconfig), also return who the kubeconfig authenticates as
        (RV(kubeconfig_identity)), that is its user's client certificate (public; never the key), for the controller to
        read the user name and groups from.
    type: bool
    default: false
    version_added: 0.1.1
  files:
    description:
      - With O(operation=read), plan M(nnf.kube_audit.audit_files) with these options in the same call, in check
        mode, and return its result as RV(files).
      - Its C(webhook_config_content_base64) goes in O(webhook_config_content_base64) instead.
    type: dict
  webhook_config_content_base64:
    description:
      - With O(files), the C(webhook_config_content_base64) option of M(nnf.kube_audit.audit_files), given apart so
        that it is never logged.
    type: str
    version_added: 0.1.1
  expected_sha256:
    description:
      - With O(operation=write), the manifest's sha256 when it was read. Required for a write.
    type: str
  content_base64:
    description:
      - With O(operation=write), the manifest's new bytes, base64-encoded. Omitted when only stray files move.
    type: str
  backup:
    description:
      - With O(operation=write), store the manifest's previous bytes in O(backup_dir) first.
    type: bool
    default: false
  moves:
    description:
      - With O(operation=write), stray files to move to O(stray_dir) before the manifest is written.
    type: list
    elements: dict
    default: []
    suboptions:
      from:
        description: The file in the manifests directory.
        type: path
        required: true
      name:
        description: Its name in O(stray_dir); a name already taken gets a numeric suffix.
        type: str
        required: true
      reason:
        description: Why it is a stray file (reported back).
        type: str
        default: stray
      sha256:
        description: Its sha256 when it was read; when given, the file is moved only if it still has it.
        type: str
notes:
  - Needs only Python 3.8 or later and its standard library on the master.
attributes:
  check_mode:
    description: A read runs in check mode; a write in check mode changes nothing and reports what it would do.
    support: full
  diff_mode:
    description: With O(files), the planned policy and log directory change is in the C(diff) of RV(files).
    support: partial
  platform:
    description: Runs on the control-plane node that holds the manifest.
    support: full
    platforms: posix
seealso:
  - module: nnf.kube_audit.apiserver_manifest
  - module: nnf.kube_audit.audit_plan
"""

EXAMPLES = r"""
- name: Read the manifest and the stray candidates
  nnf.kube_audit.manifest_io:
    scan_strays: true
    stray_dir: /etc/kubernetes/backup/stray-manifests
  register: manifest

- name: Put the bytes back, unless someone changed the file since
  nnf.kube_audit.manifest_io:
    operation: write
    expected_sha256: "{{ manifest.snapshot.sha256 }}"
    content_base64: "{{ manifest.snapshot.content_base64 }}"
"""

RETURN = r"""
snapshot:
  description: What O(operation=read) read.
  returned: when O(operation=read)
  type: dict
  contains:
    path:
      description: The manifest.
      type: str
    exists:
      description: Whether it exists (false only with O(missing_ok); nothing else is returned then).
      type: bool
    content_base64:
      description: Its bytes, base64-encoded.
      type: str
    sha256:
      description: Their sha256.
      type: str
    mtime:
      description: Its modification time (seconds since the epoch).
      type: float
    candidates:
      description:
        - With O(scan_strays), the other files the kubelet would read, each with C(name), C(path), C(size),
          C(content_base64) and C(sha256) (null when larger than O(max_candidate_bytes)) and C(problem) when
          it could not be read.
      type: list
      elements: dict
    stray_dir_entries:
      description: With O(scan_strays), the names already in O(stray_dir).
      type: list
      elements: str
    host_paths:
      description: Each of O(host_paths) and its real path on the master.
      type: dict
    restore:
      description: With O(restore_from), its C(path), C(content_base64) and C(sha256).
      type: dict
  sample:
    path: /etc/kubernetes/manifests/kube-apiserver.yaml
    content_base64: YXBpVmVyc2lvbjogdjEK
    sha256: 6f1ed002ab5595859014ebf0951522d9b9fa8e5fbb7f2a1a3e3e9c1a3a2b1c4d
    mtime: 1716903590.342694
    candidates: []
    stray_dir_entries: []
    host_paths: {}
    restore: null
kubeconfig_exists:
  description: With O(kubeconfig), whether it exists.
  returned: when O(kubeconfig) is set
  type: bool
  sample: true
kubeconfig_identity:
  description:
    - With O(kubeconfig_identity), who the kubeconfig's current context authenticates as. C(user) is the
      kubeconfig's user entry; C(client_certificate) its client certificate (PEM), or null (a token, or none);
      C(error) why the kubeconfig cannot be used (null when it can); C(exists) whether the file exists.
  returned: when O(kubeconfig) and O(kubeconfig_identity) are set
  type: dict
  sample:
    exists: true
    user: kubernetes-admin
    client_certificate: "-----BEGIN CERTIFICATE-----\n..."
    error: null
kubeadm_config:
  description: With O(read_kubeadm_config), what M(nnf.kube_audit.kubeadm_config_io) returns as its C(kubeadm_config).
  returned: when O(read_kubeadm_config) is set
  type: dict
  sample:
    kubeconfig_exists: true
    found: true
    resource_version: "12345"
files:
  description: With O(files), the result of M(nnf.kube_audit.audit_files) planned in check mode.
  returned: when O(files) is set
  type: dict
  sample:
    changed: false
    policy:
      path: /etc/kubernetes/policies/audit-policy.yaml
      changes: []
backup_file:
  description: Where the previous manifest was stored by a write with O(backup).
  returned: when O(operation=write)
  type: str
  sample: /etc/kubernetes/backup/kube-apiserver.yaml.2024-05-28T13-39-50.342694
stray_files:
  description: The stray files a write moved, each with C(from), C(to) and C(reason).
  returned: when O(operation=write)
  type: list
  elements: dict
  sample:
    - from: /etc/kubernetes/manifests/kube-apiserver.yaml.orig
      to: /etc/kubernetes/backup/stray-manifests/kube-apiserver.yaml.orig
      reason: leftover name (*.orig)
"""

import base64
import binascii

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.nnf.kube_audit.plugins.module_utils import (
    _defaults,
    _errors,
    _kubeadm_config,
    _kubeconfig,
    _static_pod_files,
    audit_files,
)


def plan_files(options, diff):
    """audit_files in check mode, its options checked as the audit_files module checks them."""
    validator = ArgumentSpecValidator(audit_files.ARGUMENT_SPEC, **audit_files.ARGUMENT_RULES)
    validated = validator.validate(options)
    if validated.error_messages:
        raise audit_files.AuditFilesError(f"files: {'; '.join(validated.error_messages)}")
    return audit_files.run(validated.validated_parameters, True, diff)


def read(params, diff):
    result = {"changed": False}
    result["snapshot"] = _static_pod_files.snapshot(
        params["path"],
        scan_strays=params["scan_strays"],
        max_candidate_bytes=params["max_candidate_bytes"],
        backup_dir=params["backup_dir"],
        stray_dir=params["stray_dir"],
        host_paths=params["host_paths"],
        restore_from=params["restore_from"],
        missing_ok=params["missing_ok"],
    )
    if params["kubeconfig"]:
        result["kubeconfig_exists"] = _kubeadm_config.kubeconfig_exists(params["kubeconfig"])
        if params["read_kubeadm_config"]:
            result["kubeadm_config"] = _kubeadm_config.read(params["kubeconfig"])
        if params["kubeconfig_identity"]:
            result["kubeconfig_identity"] = _kubeconfig.identity(params["kubeconfig"])
    if params["files"] is not None:
        files = dict(params["files"])
        if params["webhook_config_content_base64"] is not None:
            files["webhook_config_content_base64"] = params["webhook_config_content_base64"]
        result["files"] = plan_files(files, diff)
    return result


def write(params, check_mode):
    if not params["expected_sha256"]:
        raise _errors.ManifestError(f"{params['path']}: expected_sha256 is required to write")
    content = None
    if params["content_base64"] is not None:
        try:
            content = base64.b64decode(params["content_base64"], validate=True)
        except binascii.Error as exc:
            raise _errors.ManifestError(f"content_base64 is not valid base64: {exc}") from None
    if params["moves"] and not params["stray_dir"]:
        raise _errors.ManifestError("stray_dir is required to move stray files")
    if params["backup"] and not params["backup_dir"]:
        raise _errors.ManifestError("backup_dir is required with backup")
    changed = content is not None or bool(params["moves"])
    if check_mode:
        return {"changed": changed, "backup_file": None, "stray_files": []}
    try:
        written = _static_pod_files.compare_and_swap(
            params["path"],
            expected_sha256=params["expected_sha256"],
            content=content,
            backup=params["backup"],
            backup_dir=params["backup_dir"],
            stray_dir=params["stray_dir"],
            moves=params["moves"],
        )
    except _errors.ManifestError as exc:
        # Files already moved are a change even though the write failed.
        raise _errors.ManifestError(str(exc), dict(exc.result, changed=bool(exc.result.get("stray_files")))) from exc
    return dict(written, changed=changed)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", default=_defaults.MANIFEST_PATH),
            operation=dict(type="str", choices=["read", "write"], default="read"),
            scan_strays=dict(type="bool", default=False),
            max_candidate_bytes=dict(type="int", default=4 * 1024 * 1024),
            backup_dir=dict(type="path"),
            stray_dir=dict(type="path"),
            host_paths=dict(type="list", elements="path", default=[]),
            restore_from=dict(type="path"),
            files=dict(type="dict"),
            # Apart from files, so that it is never logged: it may hold a client key.
            webhook_config_content_base64=dict(type="str", no_log=True),
            missing_ok=dict(type="bool", default=False),
            kubeconfig=dict(type="path"),
            read_kubeadm_config=dict(type="bool", default=False),
            kubeconfig_identity=dict(type="bool", default=False),
            expected_sha256=dict(type="str", no_log=False),
            content_base64=dict(type="str"),
            backup=dict(type="bool", default=False),
            moves=dict(
                type="list",
                elements="dict",
                default=[],
                options=dict(
                    # "from" is a Python keyword, but a fine option name.
                    **{"from": dict(type="path", required=True)},
                    name=dict(type="str", required=True),
                    reason=dict(type="str", default="stray"),
                    sha256=dict(type="str", no_log=False),
                ),
            ),
        ),
        required_if=[("scan_strays", True, ("stray_dir",))],
        supports_check_mode=True,
    )
    params = module.params
    if params["operation"] == "read":
        result = _errors.run(module, lambda: read(params, module._diff), subject=params["path"])
    else:
        result = _errors.run(module, lambda: write(params, module.check_mode), subject=params["path"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()

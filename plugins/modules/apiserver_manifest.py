#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, NNF kube_audit maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: apiserver_manifest
short_description: Edit flags, mounts and annotations of a container in a static-pod manifest
version_added: 0.1.0
author:
  - NNF kube_audit maintainers (@NearNodeFlash)
description:
  - Edits one container of a kubelet static-pod manifest, by default the C(kube-apiserver) container of
    C(/etc/kubernetes/manifests/kube-apiserver.yaml), in place.
  - "Only what is asked for changes. Every other byte of the file stays identical, including comments,
    quotes, key order and C(creationTimestamp: null). A run that changes nothing writes nothing."
  - An existing flag is replaced where it stands, in its form (C(--name=value) or C(--name value) as two
    list items); later duplicates of it are dropped; new flags are appended after the last item, in the
    order given. Values are written as kube-apiserver reads them (C(true)/C(false), plain numbers).
  - Each mount is one hostPath volume plus its volumeMount, matched by name, written the way kubeadm
    writes them. A mountPath already used under another name, or a name already mounted at another path,
    fails naming both entries, because the kubelet rejects duplicate mountPaths.
  - A full-line comment below the last item of a list stays right above the line that follows the list
    (for example C(image:)); new items are inserted above it. Comment lines indented deeper than the
    list's dashes stay with the item above them. End-of-line comments stay on their line.
  - The manifest is replaced atomically (temporary dot-file in the same directory, which the kubelet
    ignores, then a rename), keeping mode, owner and SELinux context.
  - The kubelet runs every file in the manifests directory whatever its name, except names starting with
    a dot. With O(clean_stray=true), leftovers there (backup, patch, editor and package-manager files) and
    any other file defining the same pod are moved to O(stray_dir), never deleted. Other static pods are
    never touched.
  - Nothing is changed when the manifest or the request is invalid.
options:
  path:
    description:
      - The static-pod manifest to edit. Its directory is the kubelet's manifests directory.
      - A symlink is kept; the file it points to is replaced.
    type: path
    default: /etc/kubernetes/manifests/kube-apiserver.yaml
  container:
    description:
      - Name of the container to edit in C(spec.containers).
    type: str
    default: kube-apiserver
  args:
    description:
      - Flags to set, as a dict of flag name to value. Names are given without leading dashes;
        C(--name) is accepted too. C(_) and C(-) in names are the same flag, as for kube-apiserver.
      - A value V(null) removes the flag. Booleans are written as C(true)/C(false), numbers plain.
      - Flags listed here are exempt from O(remove_args); they are replaced where they stand.
      - Requires the container to have a C(command) list.
    type: dict
  remove_args:
    description:
      - Flags to remove, by name or shell pattern such as C(audit-*). Every occurrence goes, in both forms.
    type: list
    elements: str
  mounts:
    description:
      - hostPath volumes to mount in the container, each a volume plus its volumeMount kept together.
      - A new mount is appended to C(volumeMounts) as C(mountPath), C(name), C(readOnly) (written even
        when false) and to C(volumes) as C(hostPath) (C(path), C(type)) and C(name).
      - An existing mount of the same name and mountPath is updated in place; only changed keys change.
        An absent C(readOnly) counts as false.
      - To move an existing mount to another mountPath, list its name in O(remove_mounts) too (removals
        are applied first).
    type: list
    elements: dict
    suboptions:
      name:
        description:
          - Volume name (a DNS label), shared by the volume and its volumeMount.
        type: str
        required: true
      host_path:
        description:
          - Path on the node.
        type: str
        required: true
      mount_path:
        description:
          - Path in the container. Defaults to O(mounts[].host_path).
        type: str
      type:
        description:
          - hostPath type. When omitted, a new volume gets no type and an existing type is left alone.
        type: str
        choices: [DirectoryOrCreate, Directory, FileOrCreate, File, Socket, CharDevice, BlockDevice]
      read_only:
        description:
          - Mount read-only.
        type: bool
        default: false
  remove_mounts:
    description:
      - Names of mounts to remove from the container, with their volumes. A volume still mounted by
        another container of the pod is kept (with a warning). Unknown names are ignored.
    type: list
    elements: str
  annotations:
    description:
      - Pod annotations to set in C(metadata.annotations); a value V(null) removes one.
    type: dict
  backup:
    description:
      - When the manifest is changed, first store its original bytes in O(backup_dir) as
        C(<file name>.<timestamp>), with the original mode. Returned as RV(backup_file).
    type: bool
    default: false
  backup_dir:
    description:
      - Directory for backups, created with mode 0700 when missing.
      - Refused when inside the manifests directory (symlinks resolved), where the kubelet would run the
        backup as a second pod.
    type: path
    default: /etc/kubernetes/backup
  clean_stray:
    description:
      - Move stray files out of the manifests directory to O(stray_dir).
      - Stray files are names matching C(*.orig), C(*.rej), C(*.bak), C(*.old), C(*.save), C(*~) (this
        includes Ansible's own backup files), C(*.swp), C(*.dpkg-*), C(*.rpmnew), C(*.rpmsave),
        C(*.rpmorig), C(*.patch), C(*.diff), C(*.yaml-*), C(*.yml-*) and C(#*#), and any other file that
        defines the same pod (namespace and name) as O(path).
      - Like the kubelet, names starting with a dot and directories are ignored. A leftover-named file that
        is the only definition of another static pod, and files that cannot be parsed, are left in place
        with a warning.
      - Runs also when the manifest needs no change; moving files is then the change. Check mode reports
        what would move.
    type: bool
    default: true
  stray_dir:
    description:
      - Where stray files go, created with mode 0700 when missing. A name already there gets a numeric
        suffix; nothing is overwritten.
      - Defaults to C(stray-manifests) inside O(backup_dir).
      - Refused when inside the manifests directory (symlinks resolved).
    type: path
  restore_from:
    description:
      - Put this file's bytes back at O(path) instead of editing it, for example the RV(backup_file) of an
        earlier run, to roll a change back byte for byte.
      - The manifest is replaced the way an edit replaces it (a dot-file in the manifests directory, then a
        rename), never through a temporary file the kubelet would read as a pod. No other file is touched
        and stray files are not cleaned.
      - Refused when inside the manifests directory. Mutually exclusive with the options that edit.
    type: path
    version_added: 0.1.0
notes:
  - Supports check mode and diff mode. The diff shows the manifest change and lists the stray files moved.
  - The kubelet restarts the pod when the manifest changes. Waiting for it to come back is up to the caller.
  - The master needs only Python 3.8 or later. The manifest is read from the master in one call, edited on the
    Ansible controller (an action plugin, with C(ruamel.yaml)), and written back in one call that replaces it only
    if it still has the checksum that was read; if it changed in between, nothing is written and the task fails
    naming the file.
requirements:
  - ruamel.yaml >= 0.17.21, < 0.20 on the Ansible controller (not on the managed node)
attributes:
  action:
    description: The edit runs on the controller; the master only reads and writes the files.
    support: full
  check_mode:
    description: Reports what would change, including the stray files that would move, and changes nothing.
    support: full
  diff_mode:
    description: Shows the manifest change as a unified diff and lists the stray files moved.
    support: full
  platform:
    description: Runs on the control-plane node that holds the manifest.
    support: full
    platforms: posix
seealso:
  - name: Kubernetes auditing
    description: Audit policy, log options and static-pod configuration.
    link: https://kubernetes.io/docs/tasks/debug/debug-cluster/audit/
"""

EXAMPLES = r"""
- name: Enable API-server auditing the way the NNF procedure does
  nnf.kube_audit.apiserver_manifest:
    args:
      audit-policy-file: /etc/kubernetes/policies/audit-policy.yaml
      audit-log-path: /var/log/kubernetes/kube-apiserver-audit.log
      audit-log-maxsize: 100
    remove_args:
      - audit-*
    mounts:
      - name: k8s-policies
        host_path: /etc/kubernetes/policies/audit-policy.yaml
        type: File
        read_only: true
      - name: k8s-log
        host_path: /var/log/kubernetes/
        type: DirectoryOrCreate
        read_only: false
    backup: true
  register: apiserver_manifest

- name: Disable auditing again
  nnf.kube_audit.apiserver_manifest:
    remove_args:
      - audit-*
    remove_mounts:
      - k8s-policies
      - k8s-log
    backup: true

- name: Only clear leftovers out of the manifests directory
  nnf.kube_audit.apiserver_manifest:
    stray_dir: /root/stray-manifests

- name: Roll the manifest back to the bytes backed up by an earlier run
  nnf.kube_audit.apiserver_manifest:
    restore_from: "{{ manifest_result.backup_file }}"
"""

RETURN = r"""
diff:
  description:
    - In diff mode, the change of the manifest (as C(before)/C(after) texts that Ansible shows as a unified
      diff) and, when stray files move, a C(prepared) text listing each move.
  returned: when diff mode is on and something changes
  type: list
  elements: dict
  sample:
    - before_header: /etc/kubernetes/manifests/kube-apiserver.yaml
      after_header: /etc/kubernetes/manifests/kube-apiserver.yaml
      before: "apiVersion: v1\n..."
      after: "apiVersion: v1\n..."
    - prepared: "stray files moved out of /etc/kubernetes/manifests ...\n"
backup_file:
  description: Where the original manifest was stored, when O(backup) was set and the manifest changed.
  returned: success
  type: str
  sample: /etc/kubernetes/backup/kube-apiserver.yaml.2024-05-28T13-39-50.342694
restored_from:
  description: The file whose bytes were put back, with O(restore_from).
  returned: when O(restore_from) is set
  type: str
  sample: /etc/kubernetes/backup/kube-apiserver.yaml.2024-05-28T13-39-50.342694
manifest_changed:
  description: Whether the manifest itself changed (or would change in check mode).
  returned: success
  type: bool
  sample: true
changes:
  description: What was changed in the manifest, one line per change.
  returned: success
  type: list
  elements: str
  sample:
    - added --audit-log-path=/var/log/kubernetes/kube-apiserver-audit.log
    - added volume k8s-log (hostPath /var/log/kubernetes/)
stray_dir:
  description: The directory stray files go to, or null when O(clean_stray) is false.
  returned: success
  type: str
  sample: /etc/kubernetes/backup/stray-manifests
stray_files:
  description:
    - Stray files moved (in check mode, that would be moved) out of the manifests directory.
  returned: success
  type: list
  elements: dict
  contains:
    from:
      description: Former path, in the manifests directory.
      type: str
      sample: /etc/kubernetes/manifests/kube-apiserver.yaml.orig
    to:
      description: New path, in O(stray_dir).
      type: str
      sample: /etc/kubernetes/backup/stray-manifests/kube-apiserver.yaml.orig
    reason:
      description: Why the file counts as stray.
      type: str
      sample: leftover name (*.orig), defines pod kube-system/kube-apiserver
  sample:
    - from: /etc/kubernetes/manifests/kube-apiserver.yaml.orig
      to: /etc/kubernetes/backup/stray-manifests/kube-apiserver.yaml.orig
      reason: leftover name (*.orig), defines pod kube-system/kube-apiserver
args:
  description:
    - Every long flag of the container's resulting command, as flag name (without dashes, C(_) written
      as C(-)) to value. A flag given without a value maps to null. For a repeated flag the last wins.
  returned: success
  type: dict
  sample:
    audit-log-maxsize: "100"
    audit-log-path: /var/log/kubernetes/kube-apiserver-audit.log
    audit-policy-file: /etc/kubernetes/policies/audit-policy.yaml
    secure-port: "6443"
command:
  description: The container's resulting command list.
  returned: success
  type: list
  elements: str
  sample:
    - kube-apiserver
    - --advertise-address=10.30.1.2
    - --audit-log-path=/var/log/kubernetes/kube-apiserver-audit.log
mounts:
  description:
    - The mounts named in O(mounts) as they now are in the manifest.
  returned: success
  type: list
  elements: dict
  contains:
    name:
      description: Volume name.
      type: str
      sample: k8s-log
    host_path:
      description: C(hostPath.path) of the volume.
      type: str
      sample: /var/log/kubernetes/
    mount_path:
      description: C(mountPath) of the volumeMount.
      type: str
      sample: /var/log/kubernetes/
    type:
      description: C(hostPath.type) of the volume, null when unset.
      type: str
      sample: DirectoryOrCreate
    read_only:
      description: C(readOnly) of the volumeMount (absent counts as false).
      type: bool
      sample: false
  sample:
    - name: k8s-log
      host_path: /var/log/kubernetes/
      mount_path: /var/log/kubernetes/
      type: DirectoryOrCreate
      read_only: false
annotations:
  description: The pod's resulting annotations.
  returned: success
  type: dict
  sample:
    kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint: 10.30.1.2:6443
checksum_before:
  description: SHA-256 of the manifest bytes before the run.
  returned: success
  type: str
  sample: 6f1ed002ab5595859014ebf0951522d9b9fa8e5fbb7f2a1a3e3e9c1a3a2b1c4d
checksum_after:
  description: SHA-256 of the manifest bytes after the run (in check mode, as they would be).
  returned: success
  type: str
  sample: 0b1e9f5d8c3a2b4e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e
"""

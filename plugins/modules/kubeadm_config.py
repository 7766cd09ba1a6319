#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, NNF kube_audit maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: kubeadm_config
short_description: Keep kube-apiserver flags and volumes in the kubeadm-config ConfigMap's ClusterConfiguration
version_added: 0.1.1
author:
  - NNF kube_audit maintainers (@NearNodeFlash)
description:
  - C(kubeadm upgrade apply), C(kubeadm upgrade node) and C(kubeadm join --control-plane) render kube-apiserver's
    static-pod manifest from the C(ClusterConfiguration) in the C(kube-system/kubeadm-config) ConfigMap, dropping
    whatever was edited into the manifest by hand. This module sets and removes C(apiServer.extraArgs) and
    C(apiServer.extraVolumes) there, so flags and mounts survive upgrades and reach new control-plane nodes.
  - Both schema versions kubeadm stores, C(kubeadm.k8s.io/v1beta3) (C(extraArgs) a mapping of strings; numbers are
    written quoted) and C(kubeadm.k8s.io/v1beta4) (C(extraArgs) a list of C(name)/C(value)). Every other byte of the
    ClusterConfiguration and every other key of the ConfigMap stays as it was; a run that changes nothing writes
    nothing.
  - The ConfigMap is read and written from the target, a control-plane node, with O(kubeconfig) over HTTPS and the
    Python standard library only (no kubectl, no Kubernetes client library); the text is edited on the controller.
    The write carries the C(resourceVersion) that was read; when the ConfigMap changed in between, it is read and
    edited again, at most O(retries) times.
options:
  kubeconfig:
    description:
      - The kubeconfig on the target (server URL, CA, client certificate and key).
    type: path
    default: /etc/kubernetes/admin.conf
  args:
    description:
      - Flags to set in C(apiServer.extraArgs), as a dict of flag name to value; a value V(null) removes the flag.
      - Flags listed here are exempt from O(remove_args).
    type: dict
  remove_args:
    description:
      - Flags to remove from C(apiServer.extraArgs), by name or shell pattern such as C(audit-*).
    type: list
    elements: str
  mounts:
    description:
      - C(apiServer.extraVolumes) entries to set, matched by name, written as kubeadm writes them (C(hostPath),
        C(mountPath), C(name), C(pathType), C(readOnly) only when true). An existing entry is updated in place.
      - Removals (O(remove_mounts)) are applied first.
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
      - Names of C(apiServer.extraVolumes) entries to remove. Unknown names are ignored.
    type: list
    elements: str
  required:
    description:
      - When the kubeconfig or the ConfigMap does not exist (not a kubeadm cluster, not a control-plane node yet),
        fail (V(true)) or warn and change nothing (V(false)). A kubeconfig that cannot be used, an API server that
        cannot be reached or refuses, or a ClusterConfiguration that does not parse always fails.
    type: bool
    default: true
  retries:
    description:
      - How many times to read and edit again when the ConfigMap changed between the read and the write.
    type: int
    default: 3
notes:
  - The target needs only Python 3.8 or later.
requirements:
  - ruamel.yaml >= 0.17.21, < 0.20 on the Ansible controller (not on the managed node)
attributes:
  action:
    description: The ClusterConfiguration is edited on the controller.
    support: full
  check_mode:
    description: Reads and reports what would change; writes nothing.
    support: full
  diff_mode:
    description: Shows the ClusterConfiguration change.
    support: full
  platform:
    description: Runs against a control-plane node with a kubeconfig.
    support: full
    platforms: posix
seealso:
  - module: nnf.kube_audit.apiserver_manifest
  - name: Reconfiguring a kubeadm cluster
    description: Changes to the manifests must also go into the kubeadm-config ConfigMap.
    link: https://kubernetes.io/docs/tasks/administer-cluster/kubeadm/kubeadm-reconfigure/
"""

EXAMPLES = r"""
- name: Keep the audit flags and mounts through kubeadm upgrades
  nnf.kube_audit.kubeadm_config:
    args:
      audit-policy-file: /etc/kubernetes/policies/audit-policy.yaml
      audit-log-path: /var/log/kubernetes/kube-apiserver-audit.log
    remove_args: [audit-*]
    mounts:
      - name: k8s-policies
        host_path: /etc/kubernetes/policies/audit-policy.yaml
        type: File
        read_only: true
  run_once: true
"""

RETURN = r"""
found:
  description: Whether the ConfigMap with a ClusterConfiguration was found.
  returned: success
  type: bool
  sample: true
changes:
  description: What was changed (or, in check mode, would be), one line per change.
  returned: success
  type: list
  elements: str
  sample: ["added extraArgs audit-log-path=/var/log/kubernetes/kube-apiserver-audit.log"]
api_version:
  description: The ClusterConfiguration's schema version.
  returned: when found
  type: str
  sample: kubeadm.k8s.io/v1beta4
resource_version:
  description: The ConfigMap's C(resourceVersion) after the run.
  returned: when found
  type: str
  sample: "12346"
"""

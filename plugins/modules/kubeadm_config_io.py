#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, NNF kube_audit maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: kubeadm_config_io
short_description: Read or write the kubeadm-config ConfigMap through a master's kubeconfig
version_added: 0.1.1
author:
  - NNF kube_audit maintainers (@NearNodeFlash)
description:
  - The master's side of M(nnf.kube_audit.kubeadm_config), whose action plugin edits the ClusterConfiguration on the
    Ansible controller. It needs only the Python standard library on the master. Use that module; this one is
    documented for completeness.
  - O(operation=read) changes nothing. It reads C(kube-system/kubeadm-config) with O(kubeconfig) (server URL, CA,
    client certificate and key) over HTTPS and returns it, or says what is missing or what went wrong.
  - O(operation=write) replaces the ConfigMap with O(configmap) (as read) holding O(cluster_configuration). The API
    server refuses it when the ConfigMap changed since it was read (its C(resourceVersion)); the task then fails with
    RV(conflict) true.
options:
  operation:
    description:
      - V(read) or V(write) the ConfigMap.
    type: str
    choices: [read, write]
    default: read
  kubeconfig:
    description:
      - The kubeconfig to reach the API server with.
    type: path
    default: /etc/kubernetes/admin.conf
  configmap:
    description:
      - With O(operation=write), the ConfigMap as O(operation=read) returned it (its C(metadata.resourceVersion) makes
        the write a compare-and-swap).
    type: dict
  cluster_configuration:
    description:
      - With O(operation=write), the new C(ClusterConfiguration) text.
    type: str
  timeout:
    description:
      - Seconds to wait for the API server.
    type: int
    default: 30
notes:
  - Needs only Python 3.8 or later and its standard library on the master. The client key is written, for the TLS
    library, to a private temporary directory (mode 0700, file 0600) that is removed at once.
attributes:
  check_mode:
    description: A read runs in check mode; a write in check mode writes nothing.
    support: full
  diff_mode:
    description: The action plugin shows the ClusterConfiguration diff.
    support: none
  platform:
    description: Runs on a control-plane node with a kubeconfig.
    support: full
    platforms: posix
seealso:
  - module: nnf.kube_audit.kubeadm_config
"""

EXAMPLES = r"""
- name: Read kubeadm-config
  nnf.kube_audit.kubeadm_config_io:
  register: kubeadm_config
"""

RETURN = r"""
kubeadm_config:
  description:
    - With O(operation=read), C(kubeconfig), C(kubeconfig_exists), C(found), C(configmap), C(resource_version),
      C(cluster_configuration), C(missing) (what is missing, in words) and C(error) (why it could not be read).
  returned: when O(operation=read)
  type: dict
  sample:
    kubeconfig: /etc/kubernetes/admin.conf
    kubeconfig_exists: true
    found: true
    resource_version: "12345"
    cluster_configuration: "apiServer: {}\n..."
    missing: null
    error: null
resource_version:
  description: With O(operation=write), the ConfigMap's new C(resourceVersion).
  returned: when O(operation=write) succeeds
  type: str
  sample: "12346"
conflict:
  description: With O(operation=write), whether the API server refused the write because the ConfigMap had changed.
  returned: when O(operation=write)
  type: bool
  sample: false
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nnf.kube_audit.plugins.module_utils import _defaults, _errors, _kubeadm_config


def run(module):
    params = module.params
    if params["operation"] == "read":
        return {"changed": False, "kubeadm_config": _kubeadm_config.read(params["kubeconfig"], params["timeout"])}
    if params["configmap"] is None or params["cluster_configuration"] is None:
        raise _errors.KubeAuditError("configmap and cluster_configuration are required to write")
    if module.check_mode:
        return {"changed": True, "conflict": False, "resource_version": None}
    written = _kubeadm_config.write(
        params["kubeconfig"], params["configmap"], params["cluster_configuration"], params["timeout"]
    )
    return dict(written, changed=True)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            operation=dict(type="str", choices=["read", "write"], default="read"),
            kubeconfig=dict(type="path", default=_defaults.KUBECONFIG_PATH),
            configmap=dict(type="dict"),
            cluster_configuration=dict(type="str"),
            timeout=dict(type="int", default=30),
        ),
        supports_check_mode=True,
    )
    module.exit_json(**_errors.run(module, lambda: run(module), subject=module.params["kubeconfig"]))


if __name__ == "__main__":
    main()

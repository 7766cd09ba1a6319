#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, NNF kube_audit maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: audit_status_io
short_description: Read what a master shows about its auditing (running kube-apiserver, installed files, audit log)
version_added: 0.1.1
author:
  - NNF kube_audit maintainers (@NearNodeFlash)
description:
  - The master's side of the audit status report. It only reads, with the Python standard library, and never fails
    for what it finds (a missing file, no process), which it reports.
  - The running C(kube-apiserver) is found as M(nnf.kube_audit.apiserver_wait) finds it (C(/proc/PID/comm), in the
    module's network namespace), the newest when there are several.
  - Each file of O(files) is hashed (sha256), and returned when it is at most 1 MiB (an audit policy, for the
    controller to judge).
  - The audit log at O(log_path) is described with its lumberjack backups, the time of its newest event and the free
    space of its file system.
options:
  files:
    description:
      - Host paths of the files the roles installed (the audit policy).
    type: list
    elements: path
    default: []
  secret_files:
    description:
      - Host paths of installed files that may hold secrets (the audit webhook kubeconfig), hashed like O(files) but
        never returned; they follow O(files) in RV(files), with C(content_base64) null.
    type: list
    elements: path
    default: []
    version_added: 0.1.1
  log_path:
    description:
      - Host path of the audit log (C(-) or empty is none).
    type: str
  container:
    description:
      - The process name looked for.
    type: str
    default: kube-apiserver
notes:
  - Needs only Python 3.8 or later and its standard library on the master.
attributes:
  check_mode:
    description: Reads only; the same in check mode.
    support: full
  diff_mode:
    description: Changes nothing, so there is nothing to show.
    support: none
  platform:
    description: Runs on a control-plane node.
    support: full
    platforms: posix
"""

EXAMPLES = r"""
- name: Read the running kube-apiserver, the policy file and the audit log
  nnf.kube_audit.audit_status_io:
    files: [/etc/kubernetes/policies/audit-policy.yaml]
    log_path: /var/log/kubernetes/kube-apiserver-audit.log
  register: node_status
"""

RETURN = r"""
live:
  description: The running kube-apiserver (C(pid), C(argv), C(started) in UTC, C(started_epoch), C(count) of processes
    seen), or null when none runs.
  returned: always
  type: dict
  sample:
    pid: 2114
    argv: [kube-apiserver, --advertise-address=10.0.0.1]
    started: "2026-12-03T13:02:11Z"
    started_epoch: 1796302931.42
    count: 1
files:
  description: For each of O(files), C(path), C(exists), C(size), C(sha256), C(content_base64) (null above 1 MiB) and
    C(error) (why it could not be read, else null).
  returned: always
  type: list
  elements: dict
log:
  description: The audit log, C(path), C(exists), C(size), C(modified), C(backups) (C(path), C(size), C(compressed)),
    C(backups_size), C(newest_event) (the time of its last complete event), C(free_bytes) of its file system, C(error).
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nnf.kube_audit.plugins.module_utils import _audit_status_node, _defaults, _errors


def main():
    module = AnsibleModule(
        argument_spec=dict(
            files=dict(type="list", elements="path", default=[]),
            secret_files=dict(type="list", elements="path", default=[], no_log=False),
            log_path=dict(type="str"),
            container=dict(type="str", default=_defaults.CONTAINER),
        ),
        supports_check_mode=True,
    )
    params = module.params

    def read():
        return dict(
            _audit_status_node.gather(
                params["files"], params["log_path"], params["container"], secret_files=params["secret_files"]
            ),
            changed=False,
        )

    module.exit_json(**_errors.run(module, read))


if __name__ == "__main__":
    main()

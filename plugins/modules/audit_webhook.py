#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, NNF kube_audit maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: audit_webhook
short_description: Build and check the kubeconfig of kube-apiserver's audit webhook backend
version_added: 0.1.1
author:
  - NNF kube_audit maintainers (@NearNodeFlash)
description:
  - Builds the kubeconfig kube-apiserver reads with C(--audit-webhook-config-file) from a server URL and PEM
    certificates (O(server), O(ca), O(client_cert), O(client_key)), or reads a complete one (O(kubeconfig_src)), and
    checks it as kube-apiserver's webhook client would use it, before any master changes.
  - 'The kubeconfig must have exactly one cluster, a C(current-context) naming it, an C(https://) server with no
    user information, query or fragment, and an inline C(certificate-authority-data) of parseable certificates. File
    paths (C(certificate-authority), C(client-certificate), C(client-key), C(tokenFile)), C(exec) and
    C(auth-provider) users, and C(insecure-skip-tls-verify) are refused: the kube-apiserver pod could not use them,
    or the receiver would not be verified. A client certificate must come with its key, and the key must be the
    certificate''s.'
  - Messages name the role variables (C(kube_audit_webhook_*)) of M(nnf.kube_audit.audit_webhook)'s options.
  - The kubeconfig is returned base64-encoded (RV(content_base64)), to be installed byte for byte with
    M(nnf.kube_audit.audit_files) O(nnf.kube_audit.audit_files#module:webhook_config_content_base64), with its
    RV(checksum) for the pod annotation that restarts kube-apiserver when it changes.
  - When the kubeconfig holds a secret (a client key, a token or a password), the result is marked C(no_log), so
    that Ansible shows and logs none of it; a failure's message is shown, and never holds a secret.
  - Runs on the controller, whatever the task's host (an action plugin); nothing is ever changed.
options:
  server:
    description:
      - The URL every batch of audit events is POSTed to, C(https://) only (C(kube_audit_webhook_server)).
      - Mutually exclusive with O(kubeconfig_src); requires O(ca).
    type: str
  ca:
    description:
      - The PEM certificate(s) of the CA that signed the receiver's certificate, as text or as a file on the
        controller (a value without a C(-----BEGIN) line is a path, relative ones found like a role's C(files)).
    type: str
  client_cert:
    description:
      - A client certificate for the receiver, PEM text or a controller file; needs O(client_key).
    type: str
  client_key:
    description:
      - The client certificate's unencrypted private key, PEM text or a controller file; needs O(client_cert).
    type: str
  kubeconfig_src:
    description:
      - A complete kubeconfig on the controller, used as it is (byte for byte), instead of O(server) and O(ca).
    type: path
  mode:
    description:
      - kube-apiserver's C(--audit-webhook-mode). V(blocking) and V(blocking-strict) return a warning, since with
        the receiver down API requests stall (V(blocking)) or fail (V(blocking-strict)).
    type: str
    choices: [batch, blocking, blocking-strict]
    default: batch
attributes:
  check_mode:
    support: full
    description: Nothing is changed in any mode.
  diff_mode:
    support: none
    description: The kubeconfig's change is shown where it is installed (M(nnf.kube_audit.audit_files), redacted).
  action:
    support: full
    description: Runs on the controller.
seealso:
  - module: nnf.kube_audit.audit_files
"""

EXAMPLES = r"""
- name: Build the webhook kubeconfig from the receiver's URL and CA
  nnf.kube_audit.audit_webhook:
    server: https://falco.example.net:9765/k8s-audit
    ca: files/webhook-ca.pem
  run_once: true
  register: webhook

- name: Install it on the masters
  nnf.kube_audit.audit_files:
    webhook_config_path: /etc/kubernetes/audit-webhook-kubeconfig.yaml
    webhook_config_content_base64: "{{ webhook.content_base64 }}"
"""

RETURN = r"""
content_base64:
  description: The kubeconfig's bytes, base64-encoded.
  returned: success
  type: str
  sample: YXBpVmVyc2lvbjogdjEKY2x1c3RlcnM6Ci0gY2x1c3RlcjoK
checksum:
  description: sha256 of the kubeconfig, the value of the pod annotation.
  returned: success
  type: str
  sample: 0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c
kubeconfig:
  description: The kubeconfig's text with the values of its secrets replaced by C(REDACTED).
  returned: success
  type: str
server:
  description: The receiver's URL.
  returned: success
  type: str
  sample: https://falco.example.net:9765/k8s-audit
ca_subjects:
  description: The common names (or subjects) of the CA certificates.
  returned: success
  type: list
  elements: str
  sample: [audit-receiver-ca]
client_certificate_subject:
  description: The client certificate's common name, or null without one.
  returned: success
  type: str
has_client_key:
  description: Whether the kubeconfig holds a client key.
  returned: success
  type: bool
mode:
  description: O(mode).
  returned: success
  type: str
  sample: batch
"""

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, NNF kube_audit maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: audit_policy
short_description: Check a Kubernetes audit policy exactly as kube-apiserver will
version_added: 0.1.0
author:
  - NNF kube_audit maintainers (@NearNodeFlash)
description:
  - Checks an audit policy (C(--audit-policy-file)) the way kube-apiserver v1.29 to v1.35 loads it at
    start-up, so that a policy that would keep kube-apiserver from starting is never installed.
  - The policy is decoded strictly and, when that fails only because of unknown or duplicate fields,
    leniently, as kube-apiserver does. Such fields are returned as warnings, as kube-apiserver only
    logs them.
  - 'Every other problem fails the task with kube-apiserver''s own message, for example
    C(rules[0].level: Required value), C(loaded illegal policy with 0 rules), or
    C(no kind "Policy" is registered for version "audit.k8s.io/v1beta1" ...) for a retired API version.'
  - 'YAML is read as kube-apiserver reads it (YAML 1.1), where C(yes), C(no), C(on), C(off), C(y) and C(n)
    are booleans, so C(level: yes) fails. Only the first YAML document of the policy is used.'
  - The policy is given as a file (O(src)), as text (O(content)), or as a list of rules (O(rules)) from
    which a canonical policy document is built.
  - 'A file is read as kube-apiserver reads it: UTF-16 (little or big endian) when it starts with that byte order
    mark, else UTF-8 (a UTF-8 byte order mark is skipped). Other encodings fail as they make kube-apiserver fail,
    for example C(failed decoding: yaml: control characters are not allowed) for UTF-16 without a byte order mark
    or UTF-32, and C(failed decoding: yaml: invalid trailing UTF-8 octet) for Latin-1.'
  - The bytes checked are returned as RV(content_base64), with their RV(checksum). Install those, byte for byte
    (M(nnf.kube_audit.audit_files) O(nnf.kube_audit.audit_files#module:policy_content_base64)). RV(content) is the
    same policy as text, for display; it is the installable text only when RV(encoding) is C(UTF-8).
  - With O(requests), also reports the audit level and omitted stages kube-apiserver would apply to each
    request, using its rule matching (first matching rule wins; no match means level V(None)).
  - Nothing is ever changed.
options:
  src:
    description:
      - Path of a policy file on the host that runs the module (usually the controller).
      - Read as bytes, in the encoding kube-apiserver would read it in (see the description).
      - Mutually exclusive with O(content) and O(rules).
    type: path
  content:
    description:
      - The policy document as text (YAML or JSON). Checked, and returned, as its UTF-8 bytes.
      - Mutually exclusive with O(src) and O(rules).
    type: str
  rules:
    description:
      - The policy rules, each a dict with kube-apiserver's field names (C(level), C(users), C(userGroups),
        C(verbs), C(resources), C(namespaces), C(nonResourceURLs), C(omitStages), C(omitManagedFields)).
      - 'A policy document (C(apiVersion: audit.k8s.io/v1), C(kind: Policy), O(omit_stages), then the rules)
        is built from them and returned as RV(content), the text to install.'
      - The rules are not interpreted by Ansible; a misspelled field is reported as kube-apiserver reports it.
      - Mutually exclusive with O(src) and O(content).
    type: list
    elements: dict
  omit_stages:
    description:
      - Policy-wide C(omitStages) of the document built from O(rules). An empty list leaves them out.
      - Only used with O(rules).
    type: list
    elements: str
    default: [RequestReceived]
  extra_rules:
    description:
      - Rules put before those of O(content) or O(rules) (the first matching rule decides, so these win). The policy
        is then rendered anew from its decoded form (comments of O(content) do not survive). Refused with O(src),
        which is installed byte for byte.
    type: list
    elements: dict
    default: []
    version_added: 0.1.1
  lint:
    description:
      - Run the policy linter (RV(lint_warnings)), judged by first match with the evaluator on sample requests.
        It warns about Secret, ConfigMap and token contents logged in clear text, no rule that matches every
        request, every request logged twice (RequestReceived not omitted), rules never reached, and the CIS 3.2.2
        areas not recorded.
    type: bool
    default: true
    version_added: 0.1.1
  requests:
    description:
      - Requests to evaluate against the policy. Each is a dict with the keys C(user) (a dict with C(name)
        and C(groups), or null for a request without user information), C(verb), C(namespace),
        C(apiGroup), C(apiVersion), C(resource), C(subresource), C(name), C(resourceRequest) and C(path).
      - Missing keys default to an empty string, C(user) to null (rules naming users or groups do not match
        it), and C(resourceRequest) to whether C(resource) is given. Non-namespaced resources have the
        namespace V("").
    type: list
    elements: dict
notes:
  - The checks always run on the Ansible controller (an action plugin, in Ansible's own process), whatever the
    task's host, and O(src) is a file on the controller; masters need no YAML library. Use C(run_once=true).
  - The checks are those of kube-apiserver's C(LoadPolicyFromFile); the error texts are kube-apiserver's.
    A few rare YAML syntax errors are worded slightly differently than by kube-apiserver, but fail all the same.
attributes:
  action:
    support: full
    description: The checks run on the controller, in Ansible's process.
  check_mode:
    support: full
    description: The module never changes anything; check mode makes no difference.
  diff_mode:
    support: none
    description: There is never anything to show a difference for.
requirements:
  - PyYAML on the Ansible controller (ansible-core's own dependency)
seealso:
  - name: Kubernetes auditing
    description: Audit policy format and levels.
    link: https://kubernetes.io/docs/tasks/debug/debug-cluster/audit/
"""

EXAMPLES = r"""
- name: Check the policy file before it is installed
  nnf.kube_audit.audit_policy:
    src: files/audit-policy.yaml
  delegate_to: localhost
  run_once: true

- name: Build the NNF policy from rules and check it
  nnf.kube_audit.audit_policy:
    rules:
      - level: Metadata
        verbs: [get, list, watch, create, patch, update]
        resources:
          - group: lus.cray.hpe.com
          - group: dataworkflowservices.github.io
          - group: nnf.cray.hpe.com
          - group: dm.cray.hpe.com
  delegate_to: localhost
  run_once: true
  register: audit_policy

- name: Install it, byte for byte as it was checked
  nnf.kube_audit.audit_files:
    policy_path: /etc/kubernetes/policies/audit-policy.yaml
    policy_content_base64: "{{ audit_policy.content_base64 }}"

- name: Show what a request would be audited at
  nnf.kube_audit.audit_policy:
    content: "{{ lookup('ansible.builtin.file', 'audit-policy.yaml') }}"
    requests:
      - user: {name: "system:serviceaccount:nnf-system:nnf-clientmount", groups: ["system:serviceaccounts"]}
        verb: create
        apiGroup: nnf.cray.hpe.com
        resource: nnfstorages
        namespace: default
  delegate_to: localhost
  register: audit_levels
"""

RETURN = r"""
policy:
  description:
    - The policy as kube-apiserver decodes it, with kube-apiserver's field names. Unknown fields are
      dropped; C(apiVersion) and C(kind) are always set.
  returned: success
  type: dict
  sample:
    apiVersion: audit.k8s.io/v1
    kind: Policy
    omitStages: [RequestReceived]
    rules:
      - level: Metadata
        verbs: [create, patch, update, delete, deletecollection]
        resources: [{group: nnf.cray.hpe.com}]
content:
  description:
    - 'The policy text. With O(rules), the canonical document built from them (deterministic, starting with
      C(apiVersion: audit.k8s.io/v1) and C(kind: Policy)); with O(content), the text given, unchanged; with O(src),
      the file decoded in RV(encoding), a byte order mark kept as U+FEFF.'
    - For display and diffs. Install RV(content_base64), which is what was checked; this text is the same bytes
      only when RV(encoding) is C(UTF-8). Bytes that are not valid in the encoding (kube-apiserver accepts them
      only inside JSON strings) are shown as U+FFFD.
  returned: success
  type: str
  sample: |
    apiVersion: audit.k8s.io/v1
    kind: Policy
    omitStages:
      - RequestReceived
    rules:
      - level: Metadata
content_base64:
  description:
    - The bytes that were checked, base64-encoded (for O(src), the file's bytes; otherwise RV(content) as UTF-8).
    - What to install, byte for byte, with M(nnf.kube_audit.audit_files)
      O(nnf.kube_audit.audit_files#module:policy_content_base64).
  returned: success
  type: str
  sample: YXBpVmVyc2lvbjogYXVkaXQuazhzLmlvL3YxCmtpbmQ6IFBvbGljeQpydWxlczoKICAtIGxldmVsOiBNZXRhZGF0YQo=
encoding:
  description:
    - The encoding kube-apiserver reads the policy in, C(UTF-8), C(UTF-16LE) or C(UTF-16BE), chosen by the byte
      order mark as kube-apiserver chooses it. Always C(UTF-8) for O(content) and O(rules).
  returned: success
  type: str
  sample: UTF-8
checksum:
  description: SHA-256 of the bytes checked (RV(content_base64)), to compare with installed files.
  returned: success
  type: str
  sample: 0b0f2b8d3e2a4c5f6e7d8c9b0a1f2e3d4c5b6a7980f1e2d3c4b5a69788f7e6d5
policy_warnings:
  description:
    - What kube-apiserver would log while loading the policy, in its words. Today that is the
      lenient-decoding warning listing unknown and duplicate fields, which kube-apiserver ignores.
    - The same texts are also issued as task warnings.
  returned: success
  type: list
  elements: str
  sample:
    - >-
      Audit policy contains errors, falling back to lenient decoding:
      strict decoding error: unknown field "rules[0].verb"
lint_warnings:
  description: What the policy linter found (also issued as warnings), each naming the rule as C(rules[N]).
  returned: success
  type: list
  elements: str
  sample: ["rules[2]: logs the contents of secrets (create at RequestResponse)"]
levels:
  description: For each of O(requests), in order, what kube-apiserver would apply to it.
  returned: success, when O(requests) is given
  type: list
  elements: dict
  contains:
    level:
      description: The audit level (C(None), C(Metadata), C(Request) or C(RequestResponse)).
      type: str
      sample: Metadata
    omit_stages:
      description: The stages no event is written for, sorted.
      type: list
      elements: str
      sample: [RequestReceived]
    omit_managed_fields:
      description: Whether managed fields are left out of the logged request and response bodies.
      type: bool
      sample: false
  sample:
    - level: Metadata
      omit_stages: [RequestReceived]
      omit_managed_fields: false
error:
  description: kube-apiserver's error for the policy (without the file-name suffix it adds for a file).
  returned: failure, when the policy is invalid
  type: str
  sample: "rules[0].level: Required value"
"""

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, NNF kube_audit maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: apiserver_wait
short_description: Wait until the kubelet has restarted kube-apiserver from its manifest and it is ready
version_added: 0.1.0
description:
  - Waits on a control-plane node until the kubelet has restarted C(kube-apiserver) from the static-pod manifest
    at O(manifest_path), and the new process answers the manifest's own readiness probe.
  - A process counts when its C(/proc/PID/comm) is C(kube-apiserver), it was started after O(changed_since), and
    its command line ends with the container's C(command[1:]) and C(args) from the manifest. argv[0] is not
    trusted. Only processes in the module's network namespace count (a static apiserver uses C(hostNetwork)).
  - 'C($(VAR)) references in C(command) and C(args) are expanded as the kubelet expands them, against the
    container''s C(env) (C($$) is a literal C($); a reference to a name that is not defined stays as written; an
    C(env) value is itself expanded against the variables defined before it). A variable the kubelet resolves
    only at run time (C(valueFrom), such as C(fieldRef: status.podIP); any name when the container has C(envFrom);
    the service link variables such as C(KUBERNETES_SERVICE_HOST)) matches any text in its place.'
  - While a C(kube-apiserver) started before O(changed_since) is still running, the apiserver is not ready, since
    the old process could be the one answering the probe.
  - The probe is the container's C(readinessProbe.httpGet) (else its startup or liveness probe), sent as the
    kubelet sends it, TLS not verified, a status from 200 to 399 meaning ready. An empty C(httpGet.host) means
    the pod IP, which for a host-network pod is a node address; the module uses the C(--bind-address) flag when
    it names an address, else C(127.0.0.1). When a flag holds a value known only at run time (for example
    C(--bind-address=$(POD_IP))), the bind address is read from the command line of the new process that runs the
    manifest's flags, so the probe goes where that process listens. A container without an HTTP probe is ready
    once it runs.
  - On timeout the module fails with what it saw last, the last lines of the newest pod log under
    C(/var/log/pods), and, when C(crictl) is installed, the exit code and log of the last exited container.
  - The module changes nothing. In check mode it returns at once without waiting, since nothing was restarted.
author:
  - NNF kube_audit maintainers (@NearNodeFlash)
options:
  manifest_path:
    description:
      - The kube-apiserver static-pod manifest the kubelet runs.
    type: path
    default: /etc/kubernetes/manifests/kube-apiserver.yaml
  container:
    description:
      - The name of the container in the manifest, which is also the process name looked for.
    type: str
    default: kube-apiserver
  changed_since:
    description:
      - When the manifest was changed, in seconds since the epoch on the node's clock.
      - Processes started before this time are the old apiserver.
      - Defaults to the manifest's modification time, which is right after a module wrote or restored it.
    type: float
  timeout:
    description:
      - Seconds to wait before failing.
    type: int
    default: 300
  log_lines:
    description:
      - How many log lines of the failed container to put in the failure message.
    type: int
    default: 20
  container_spec:
    description:
      - The container's spec (C(command), C(args), C(env), C(envFrom), C(ports) and its probes) as the kubelet reads
        it from O(manifest_path). The action plugin reads the manifest from the node and decodes it on the
        controller, the way the kubelet decodes it (YAML 1.1), and sets this; leave it unset.
    type: dict
    version_added: 0.1.1
  audit_proof:
    description:
      - Once the apiserver is ready, prove that it audits, within what is left of O(timeout) (at least 5 seconds).
        Send its own kube-apiserver (the host and port of its readiness probe, not the kubeconfig's server) one
        C(GET) of O(audit_proof.path) with a fresh C(Audit-ID) header, authenticated with O(audit_proof.kubeconfig)
        and verified with its certificate authority, and wait until that ID is in O(audit_proof.log_path).
        kube-apiserver takes a client's C(Audit-ID) as the event's C(auditID). Any answer (a 404 too) counts as sent.
      - A ready apiserver that does not log the request fails the task, saying that it restarted but does not audit.
      - The action plugin chooses O(audit_proof.path) with the collection's policy evaluator from
        O(audit_proof.policy_content_base64) and the kubeconfig's client certificate (a harmless C(get) the policy
        records for that user), and skips the proof with a warning when there is none, when
        O(audit_proof.log_path) is C(-) (standard output) or when the master has no kubeconfig.
    type: dict
    version_added: 0.1.1
    suboptions:
      kubeconfig:
        description: The kubeconfig on the master whose credentials and certificate authority the request uses.
        type: path
        default: /etc/kubernetes/admin.conf
      log_path:
        description: The audit log the apiserver writes (its C(--audit-log-path)).
        type: str
        required: true
      policy_content_base64:
        description:
          - The audit policy the apiserver runs, base64-encoded (the bytes the roles installed, in any encoding
            kube-apiserver reads). Read on the controller to choose the request.
        type: str
      path:
        description: The request's path. The action plugin sets it; leave it unset.
        type: str
      audit_id:
        description: The request's C(Audit-ID). The action plugin sets a fresh one; leave it unset.
        type: str
notes:
  - Run it right after the manifest changed; with the kubelet stopped it waits until O(timeout).
  - The node needs only Python 3.8 or later. The manifest is read from the node and decoded on the Ansible
    controller (an action plugin); the waiting runs on the node.
seealso:
  - module: nnf.kube_audit.apiserver_manifest
attributes:
  check_mode:
    support: full
    description: Returns at once without waiting.
  diff_mode:
    support: none
    description: The module changes nothing, so there is nothing to show.
  action:
    support: full
    description: The manifest is decoded on the controller; the node only reads it and waits.
requirements:
  - Linux C(/proc)
"""

EXAMPLES = r"""
- name: Change the apiserver's flags
  nnf.kube_audit.apiserver_manifest:
    args:
      audit-log-maxsize: "100"
  register: manifest

- name: Wait for the restarted kube-apiserver
  nnf.kube_audit.apiserver_wait:
    timeout: 300
  when: manifest.changed
"""

RETURN = r"""
pid:
  description: The PID of the ready kube-apiserver process.
  returned: success, not in check mode
  type: int
  sample: 21437
started:
  description: When that process started, in UTC.
  returned: success, not in check mode
  type: str
  sample: "2026-11-27T13:02:11Z"
elapsed:
  description: Seconds the module waited.
  returned: always
  type: float
  sample: 12.4
probe_url:
  description:
    - The probe sent, or null when the container has no HTTP probe. Its host is the one the ready process was
      probed at (see the description for an empty C(httpGet.host)).
  returned: success, not in check mode
  type: str
  sample: https://10.30.1.2:6443/readyz
probe_status:
  description: The HTTP status of the successful probe, or null when there was none.
  returned: success, not in check mode
  type: int
  sample: 200
audit_proof:
  description:
    - With O(audit_proof), the request that proved the apiserver audits (C(request), C(server), C(status) it
      answered, C(audit_id), C(log_path) it was found in, C(elapsed) seconds), or C(skipped) with the reason.
  returned: success with O(audit_proof), not in check mode
  type: dict
  sample:
    request: GET /apis/nnf.cray.hpe.com/v1/nnf-kube-audit-probes/nnf-kube-audit-probe
    server: https://10.30.1.2:6443
    status: 404
    audit_id: 6c1f9f0e-2f0b-4d0c-9a53-0f5d6f0a8c11
    log_path: /var/log/kubernetes/kube-apiserver-audit.log
    elapsed: 0.2
observation:
  description:
    - What the module saw last before it timed out, for the failure message.
    - C(phase) tells what it was waiting for; C(processes) lists the C(kube-apiserver) processes with their start
      time and whether they started after the change and run the manifest's flags; C(last_probe) is the last probe
      result (C(ok), C(status), C(detail)), and C(last_probe_url) where it was sent.
    - C(first_difference) is null for a process that runs the manifest's flags; otherwise it names the first flag it
      does not run, C(flag) being its position in the container's C(command[1:]) and C(args) (from 0), C(manifest)
      the text written there, C(expected) that text once expanded (C(<NAME>) standing for any text, a value known
      only at run time), and C(found) the process's argument in its place (null when there is none).
  returned: failure after a timeout
  type: dict
  sample:
    phase: waiting for kube-apiserver to answer its readiness probe
    processes:
      - pid: 21437
        started: "2026-11-27T13:02:11Z"
        started_after_change: true
        runs_manifest_flags: true
        first_difference: null
      - pid: 21102
        started: "2026-11-27T13:01:58Z"
        started_after_change: true
        runs_manifest_flags: false
        first_difference:
          flag: 3
          manifest: --etcd-servers=https://$(POD_IP):2379
          expected: --etcd-servers=https://<POD_IP>:2379
          found: --etcd-servers=http://10.30.1.2:2379
    processes_started_since_change: 7
    last_probe:
      ok: false
      status: null
      detail: "ConnectionRefusedError: [Errno 111] Connection refused"
    last_probe_url: https://10.30.1.2:6443/readyz
log_file:
  description: The newest pod log file read for RV(log_tail).
  returned: failure after a timeout, when one exists
  type: str
  sample: /var/log/pods/kube-system_kube-apiserver-master1_0f3c/kube-apiserver/3.log
log_tail:
  description: Its last O(log_lines) lines, without the CRI timestamp prefix.
  returned: failure after a timeout
  type: list
  elements: str
  sample: ["E1127 13:02:12.338 run.go:74] \"command failed\" err=\"unknown flag: --audit-policy\""]
crictl:
  description: The last exited container as crictl reports it (C(container_id), C(exit_code), C(log_tail)).
  returned: failure after a timeout, when crictl is installed and reports one
  type: dict
  sample:
    container_id: 3b1f0c9
    exit_code: 1
    log_tail: ["Error: unknown flag: --audit-policy"]
"""

import os
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nnf.kube_audit.plugins.module_utils import _audit_proof, _defaults, _errors
from ansible_collections.nnf.kube_audit.plugins.module_utils import apiserver_process as ap


def describe_difference(difference):
    """`` (manifest flag 3 is --x=1, the process has --x=2)``: why a process does not run the manifest's flags."""
    if not difference or difference["flag"] is None:
        return ""
    expected = difference["expected"]
    if difference["manifest"] != expected:
        expected += f" (written {difference['manifest']})"
    found = "nothing there" if difference["found"] is None else difference["found"]
    return f" (manifest flag {difference['flag']} is {expected}, the process has {found})"


def failure_message(exc, observation, probe, log_tail, crictl):
    lines = [f"{exc} ({observation['phase']})."]
    if observation["processes"]:
        for process in observation["processes"]:
            age = "after the change" if process["started_after_change"] else "before the change"
            flags = "runs the manifest's flags"
            if not process["runs_manifest_flags"]:
                flags = "runs other flags" + describe_difference(process.get("first_difference"))
            lines.append(f"kube-apiserver pid {process['pid']} started {process['started']}: {age}, {flags}.")
    else:
        lines.append("No kube-apiserver process is running.")
    lines.append(f"kube-apiserver processes started since the change: {observation['processes_started_since_change']}.")
    last_probe = observation["last_probe"]
    if probe is not None and last_probe is not None:
        answer = f"status {last_probe['status']}" if last_probe["status"] else "no answer"
        detail = (": " + last_probe["detail"]) if last_probe["detail"] else ""
        url = observation.get("last_probe_url") or ap.probe_url(probe)
        lines.append(f"Last probe {url}: {answer}{detail}.")
    if crictl and crictl.get("exit_code") is not None:
        lines.append(f"Last exited container {crictl['container_id']}: exit code {crictl['exit_code']}.")
    tail = (crictl or {}).get("log_tail") or log_tail
    if tail:
        lines.append("Last log lines:")
        lines.extend("  " + line for line in tail)
    return "\n".join(lines)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            manifest_path=dict(type="path", default=_defaults.MANIFEST_PATH),
            container=dict(type="str", default=ap.PROCESS_NAME),
            changed_since=dict(type="float"),
            timeout=dict(type="int", default=300),
            log_lines=dict(type="int", default=20),
            container_spec=dict(type="dict"),
            audit_proof=dict(
                type="dict",
                options=dict(
                    kubeconfig=dict(type="path", default=_defaults.KUBECONFIG_PATH),
                    log_path=dict(type="str", required=True),
                    policy_content_base64=dict(type="str"),
                    path=dict(type="str"),
                    audit_id=dict(type="str"),
                ),
            ),
        ),
        supports_check_mode=True,
    )
    params = module.params
    if module.check_mode:
        module.exit_json(changed=False, elapsed=0.0, msg="Check mode: nothing was restarted, nothing to wait for.")
    if params["container_spec"] is None:
        module.fail_json(
            msg="container_spec is not set: run nnf.kube_audit.apiserver_wait as a task (its action plugin reads "
            f"{params['manifest_path']} and sets it), not as a bare module"
        )

    def read_manifest():
        try:
            changed_since = params["changed_since"]
            if changed_since is None:
                changed_since = os.stat(params["manifest_path"]).st_mtime
            flags = ap.container_flags(params["container_spec"])
            return changed_since, flags, ap.container_probe(params["container_spec"], flags)
        except (OSError, ValueError, TypeError, AttributeError, _errors.KubeAuditError) as exc:
            raise _errors.ManifestError(f"Cannot read {params['manifest_path']}: {exc}") from exc

    changed_since, flags, probe = _errors.run(module, read_manifest, subject=params["manifest_path"])

    began = time.time()
    try:
        process, result = ap.wait_until_ready(
            flags,
            probe,
            since=ap.wall_to_boot(changed_since),
            timeout=params["timeout"],
            net_ns=ap.net_namespace(),
            name=params["container"],
        )
    except ap.NotReady as exc:
        observation = exc.observation.as_dict(ap.wall_to_boot(changed_since), flags)
        log_file, log_tail = ap.pod_log_tail(params["container"], params["log_lines"])
        crictl_path = module.get_bin_path("crictl")
        crictl = None
        if crictl_path:
            crictl = ap.crictl_diagnostics(module.run_command, crictl_path, params["container"], params["log_lines"])
        module.fail_json(
            msg=failure_message(exc, observation, probe, log_tail, crictl),
            elapsed=round(time.time() - began, 1),
            observation=observation,
            log_file=log_file,
            log_tail=log_tail,
            crictl=crictl,
        )

    ready = dict(
        changed=False,
        pid=process.pid,
        started=ap.iso_utc(ap.boot_to_wall(process.started)),
        elapsed=round(time.time() - began, 1),
        probe_url=None if probe is None else ap.probe_url(ap.resolve_probe(probe, flags, process)),
        probe_status=None if result is None else result.status,
    )
    proof = params["audit_proof"]
    if proof and proof.get("path"):
        running = process.argv[len(process.argv) - len(flags) :] if flags else []  # the flags as the process has them
        server = _audit_proof.server_url(ap.resolve_probe(probe, flags, process), running)
        try:
            ready["audit_proof"] = _audit_proof.prove(
                proof["kubeconfig"],
                server,
                proof["path"],
                proof["log_path"],
                audit_id=proof["audit_id"],
                timeout=max(5, int(params["timeout"] - (time.time() - began))),
            )
        except _audit_proof.NotLogged as exc:
            ready["elapsed"] = round(time.time() - began, 1)
            module.fail_json(
                msg=f"kube-apiserver restarted from {params['manifest_path']} and is ready (pid {process.pid}), "
                f"but it does not audit: {exc}.",
                **ready,
            )
        ready["elapsed"] = round(time.time() - began, 1)
    module.exit_json(**ready)


if __name__ == "__main__":
    main()

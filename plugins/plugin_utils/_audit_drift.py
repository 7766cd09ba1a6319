# Copyright: (c) 2026, NNF kube_audit maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Drift of one master's auditing: what disagrees between the manifest, the running process, the installed files,
kubeadm-config and the manifests directory (for audit_status, on the controller).

Each rule returns findings ``{"kind", "message"}``; no finding means no drift. Only the audit settings are
compared (every ``--audit-*`` flag, and the volumes that hold the files those flags name):

* ``not-running``: the manifest is there but no kube-apiserver runs (a crash loop, or the kubelet is stopped);
* ``restart-pending``: the running process started before the manifest last changed and runs other audit flags;
* ``flags-differ``: a process started after that change runs other audit flags (a manifest the kubelet cannot
  run, another manifest winning, a hand-started process);
* ``checksum``: an installed file is missing, or its sha256 is not the one its annotation in the manifest records
  (edited by hand after the rollout), or the manifest has no annotation for it;
* ``kubeadm-config``: an audit flag or volume of the manifest that kubeadm-config lacks or holds differently (the
  next ``kubeadm upgrade`` would drop or change it), or one kubeadm-config holds that the manifest does not;
* ``stray``: a file in the manifests directory that defines the same pod (the kubelet runs it; STIG checks grep
  every file there).
"""

from ansible_collections.nnf.kube_audit.plugins.module_utils import _flags
from ansible_collections.nnf.kube_audit.plugins.plugin_utils.kubeadm_config_editor import api_server_settings

AUDIT_PREFIX = "audit-"


def audit_flags(items):
    """``{name: value}`` of the ``--audit-*`` flags among command-line ``items`` (pflag's reading, ``_flags``)."""
    return {name: value for name, value in _flags.values(list(items)).items() if name.startswith(AUDIT_PREFIX)}


def _describe(flags):
    return ", ".join(f"--{name}={value}" for name, value in sorted(flags.items())) or "no audit flags"


def _differences(expected, found):
    """``--name`` texts of the flags that differ between two ``{name: value}`` dicts, sorted."""
    names = sorted(name for name in set(expected) | set(found) if expected.get(name) != found.get(name))
    return [f"--{name}" for name in names]


def process_drift(manifest_items, manifest_changed, live):
    """Findings for the running process against the manifest's container flags (``manifest_items``).

    ``manifest_changed``: the manifest's modification time (seconds since the epoch); ``live``: the node's
    ``live_process`` (``started`` as seconds since the epoch here) or None.
    """
    if manifest_items is None:
        return []
    if live is None:
        return [
            {"kind": "not-running", "message": "no kube-apiserver is running (a crash loop, or the kubelet is stopped)"}
        ]
    wanted, running = audit_flags(manifest_items), audit_flags(live["argv"][1:])
    if wanted == running:
        return []
    differ = ", ".join(_differences(wanted, running))
    if manifest_changed is not None and live["started_epoch"] < manifest_changed:
        return [
            {
                "kind": "restart-pending",
                "message": f"the running kube-apiserver (pid {live['pid']}) predates the manifest and runs other "
                f"audit flags ({differ}): a restart is pending",
            }
        ]
    return [
        {
            "kind": "flags-differ",
            "message": f"the running kube-apiserver (pid {live['pid']}) runs other audit flags than the manifest "
            f"({differ}): the manifest's pod may be failing to start",
        }
    ]


def checksum_drift(files, annotations):
    """Findings for installed files: ``files`` is ``[{annotation, path, exists, sha256}]``."""
    findings = []
    for item in files:
        recorded = (annotations or {}).get(item["annotation"])
        if not item["exists"]:
            findings.append({"kind": "checksum", "message": f"{item['path']} is missing"})
        elif recorded is None:
            findings.append(
                {
                    "kind": "checksum",
                    "message": f"the manifest has no {item['annotation']} annotation for {item['path']}",
                }
            )
        elif recorded != f"sha256:{item['sha256']}":
            findings.append(
                {
                    "kind": "checksum",
                    "message": f"{item['path']} changed since it was installed (sha256:{item['sha256']}, the "
                    f"manifest's {item['annotation']} says {recorded}): the running apiserver may use other rules",
                }
            )
    return findings


def kubeadm_drift(manifest_items, manifest_volumes, cluster_configuration):
    """Findings for kubeadm-config against the manifest: ``manifest_volumes`` is the audit volumes by name
    (``{hostPath, mountPath, readOnly, pathType}``), ``cluster_configuration`` the decoded text (None: not read)."""
    if manifest_items is None or cluster_configuration is None:
        return []
    args, volumes = api_server_settings(cluster_configuration)
    wanted, recorded = audit_flags(manifest_items), {k: v for k, v in args.items() if k.startswith(AUDIT_PREFIX)}
    findings = []
    for name in sorted(set(wanted) | set(recorded)):
        if name not in recorded:
            message = f"kubeadm-config lacks --{name}: the next kubeadm upgrade would drop it"
        elif name not in wanted:
            message = (
                f"kubeadm-config has --{name}={recorded[name]}, which the manifest does not: the next kubeadm "
                "upgrade would add it"
            )
        elif recorded[name] != wanted[name]:
            message = (
                f"kubeadm-config has --{name}={recorded[name]}, the manifest {wanted[name]}: the next kubeadm "
                "upgrade would change it"
            )
        else:
            continue
        findings.append({"kind": "kubeadm-config", "message": message})
    for name, volume in sorted(manifest_volumes.items()):
        if volumes.get(name) != volume:
            state = "lacks" if name not in volumes else "holds another"
            findings.append(
                {
                    "kind": "kubeadm-config",
                    "message": f"kubeadm-config {state} volume {name} ({volume['hostPath']}): the next kubeadm "
                    "upgrade would drop or change its mount",
                }
            )
    return findings


def stray_drift(strays):
    """Findings for stray files of the pod in the manifests directory: ``strays`` is ``[{path, reason}]``."""
    return [
        {
            "kind": "stray",
            "message": f"{item['path']} is in the manifests directory ({item['reason']}): the kubelet runs it, and "
            "compliance checks that read every file there read it",
        }
        for item in strays
    ]


def drift(
    *, manifest_items, manifest_changed, manifest_volumes, annotations, live, files, cluster_configuration, strays
):
    """Every finding for one master, in the order of the rules above."""
    return (
        process_drift(manifest_items, manifest_changed, live)
        + checksum_drift(files, annotations)
        + kubeadm_drift(manifest_items, manifest_volumes, cluster_configuration)
        + stray_drift(strays)
    )

"""What the kubeadm scenarios kept at each stage (kubeadm_stage.yml), read for their testinfra tests.

Import it from a scenario's tests with ``sys.path.insert(0, <molecule/shared>)``. A stage is kept on the
controller, in ``kubeadm-test/`` under the scenario's ephemeral directory: each master's kube-apiserver.yaml and the
Audit-Id of a request it answered then, and the cluster's kubeadm-config ConfigMap.
"""

import json
import os

import yaml

AUDIT_FLAGS = ("audit-log-maxage", "audit-log-maxbackup", "audit-log-maxsize", "audit-log-path", "audit-policy-file")
AUDIT_VOLUMES = ("k8s-log", "k8s-policies")


def stage_dir():
    return os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "kubeadm-test")


def _load(name):
    with open(os.path.join(stage_dir(), name), encoding="utf-8") as handle:
        return json.load(handle)


def masters(stage):
    """{host: {"manifest": text or None, "audit_id": str or None}} at ``stage``."""
    return _load(f"{stage}-masters.json")


def configmap(stage):
    """The kube-system/kubeadm-config ConfigMap as the cluster held it at ``stage``."""
    return _load(f"{stage}-store.json")["objects"]["configmaps/kube-system/kubeadm-config"]


def cluster_configuration(stage):
    return configmap(stage)["data"]["ClusterConfiguration"]


def run(name):
    """rc, output and recap ([[host, changed, failed], ...]) of the ansible-playbook run kept as ``name``."""
    return _load(f"{name}-run.json")


def top_level_blocks(text):
    """{top-level key: its lines, verbatim}: to compare a YAML document outside one key byte for byte."""
    blocks, key = {}, None
    for line in text.splitlines(keepends=True):
        if line[:1] not in (" ", "-", "#", "\n", ""):
            key = line.split(":", 1)[0]
        blocks.setdefault(key, []).append(line)
    return {name: "".join(lines) for name, lines in blocks.items()}


def extra_args(api_server):
    """apiServer.extraArgs as {name: value} from either schema: v1beta3's map, v1beta4's [{name, value}]."""
    found = api_server.get("extraArgs") or {}
    if isinstance(found, list):
        return {item["name"]: item["value"] for item in found}
    return dict(found)


def container(pod):
    return next(c for c in pod["spec"]["containers"] if c["name"] == "kube-apiserver")


def manifest_flags(pod):
    """The kube-apiserver command's --name=value flags as {name: value}."""
    flags = {}
    for item in container(pod)["command"][1:]:
        name, _equals, value = item[2:].partition("=")
        flags[name] = value
    return flags


def audit_mounts(pod):
    """The audit volumes of a pod as kubeadm's extraVolumes describe them: {name: {hostPath, mountPath, ...}}."""
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    found = {}
    for mount in container(pod).get("volumeMounts", []):
        if mount["name"] in AUDIT_VOLUMES:
            host_path = volumes[mount["name"]]["hostPath"]
            found[mount["name"]] = {
                "hostPath": host_path["path"],
                "mountPath": mount["mountPath"],
                "readOnly": bool(mount.get("readOnly", False)),
                "pathType": host_path.get("type", ""),
            }
    return found


def extra_volumes(api_server):
    return {
        v["name"]: {
            "hostPath": v["hostPath"],
            "mountPath": v["mountPath"],
            "readOnly": bool(v.get("readOnly", False)),
            "pathType": v.get("pathType", ""),
        }
        for v in api_server.get("extraVolumes") or []
    }


def load(text):
    return yaml.safe_load(text)

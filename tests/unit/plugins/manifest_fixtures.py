"""The manifests the editor's tests work on: the real kubeadm fixtures, the seed patch's request, small pods."""

import difflib
import os
import stat
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "manifests"
ALL_MANIFESTS = sorted(FIXTURES.glob("*.yaml"))
# Unaudited kube-apiserver manifests (the seed-patched one is audited already).
APISERVER_MANIFESTS = [
    path for path in ALL_MANIFESTS if path.name.startswith("kube-apiserver") and "seed-patched" not in path.name
]
NNF = FIXTURES / "kube-apiserver-v1.29.3-rhel-nnf-shape.yaml"
NNF_PATCHED = FIXTURES / "kube-apiserver-v1.29.3-rhel-nnf-shape.seed-patched.yaml"
FOREIGN = FIXTURES / "kube-apiserver-v1.29.1-foreign-audit.yaml"

SEED_ARGS = {
    "audit-policy-file": "/etc/kubernetes/policies/audit-policy.yaml",
    "audit-log-path": "/var/log/kubernetes/kube-apiserver-audit.log",
    "audit-log-maxsize": 100,
}
SEED_MOUNTS = [
    {
        "name": "k8s-policies",
        "host_path": "/etc/kubernetes/policies/audit-policy.yaml",
        "mount_path": "/etc/kubernetes/policies/audit-policy.yaml",
        "type": "File",
        "read_only": True,
    },
    {
        "name": "k8s-log",
        "host_path": "/var/log/kubernetes/",
        "mount_path": "/var/log/kubernetes/",
        "type": "DirectoryOrCreate",
        "read_only": False,
    },
]
SEED_REMOVAL = {"remove_args": ["audit-*"], "remove_mounts": ["k8s-policies", "k8s-log"]}

# The static pods of a master, as make_manifests_dir() lays them out.
MASTER_PODS = ["etcd.yaml", "haproxy.yaml", "kube-apiserver.yaml", "kube-scheduler.yaml", "kube-vip.yaml"]


def read(path):
    return Path(path).read_text(encoding="utf-8")


def changed_lines(before, after):
    """The removed and added lines of a diff, without context."""
    removed, added = [], []
    for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0):
        if line.startswith("-") and not line.startswith("---"):
            removed.append(line[1:])
        elif line.startswith("+") and not line.startswith("+++"):
            added.append(line[1:])
    return removed, added


def pod(name="kube-apiserver", namespace="kube-system", flag="--secure-port=6443"):
    """A minimal static pod; ``flag`` may hold several list items."""
    return (
        f"apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\n  namespace: {namespace}\nspec:\n  containers:\n"
        f"  - command:\n    - {name}\n    - {flag}\n    name: {name}\n"
    )


def make_manifests_dir(tmp_path):
    """A manifests directory with the NNF apiserver manifest and the other static pods of a master."""
    directory = tmp_path / "manifests"
    directory.mkdir()
    (directory / "kube-apiserver.yaml").write_text(read(NNF))
    (directory / "etcd.yaml").write_text(read(FIXTURES / "etcd-v3.5.10.yaml"))
    (directory / "kube-scheduler.yaml").write_text(read(FIXTURES / "kube-scheduler-v1.29.0.yaml"))
    (directory / "haproxy.yaml").write_text(pod("haproxy"))
    (directory / "kube-vip.yaml").write_text(pod("kube-vip"))
    return directory


def tree_state(directory):
    """Names, bytes, modes, inodes and mtimes of everything below ``directory``."""
    state = {}
    for root, dirs, files in os.walk(directory):
        for name in dirs + files:
            path = os.path.join(root, name)
            info = os.lstat(path)
            content = Path(path).read_bytes() if stat.S_ISREG(info.st_mode) else None
            state[os.path.relpath(path, directory)] = (content, info.st_mode, info.st_ino, info.st_mtime_ns)
    return state

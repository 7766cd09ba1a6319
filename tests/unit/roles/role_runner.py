"""Run the collection's roles through a real ``ansible-playbook`` against "masters" on this machine.

Each master is an inventory host with a local connection and its own manifest under the test's directory; the
policy file and the log are shared paths (they are cluster settings). ``run_check`` runs enable_audit in check mode.
"""

import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "plugins"))

from manifest_fixtures import NNF, read  # noqa: E402

COLLECTIONS = os.path.abspath(os.path.join(HERE, "..", "..", "..", ".tmp", "collections"))
PLAY = """\
- hosts: all
  gather_facts: false
  roles:
    - nnf.kube_audit.enable_audit
"""


def inventory(tmp_path, host_vars):
    """An INI inventory of one master per entry of ``host_vars`` ({name: "var=value ..."}); its path."""
    lines = ["[kube_control_plane]"]
    for name, extra in host_vars.items():
        root = tmp_path / name
        (root / "manifests").mkdir(parents=True)
        (root / "manifests" / "kube-apiserver.yaml").write_text(read(NNF))
        lines.append(
            f"{name} ansible_connection=local ansible_python_interpreter=/usr/bin/python3"
            f" kube_audit_manifest_path={root}/manifests/kube-apiserver.yaml"
            f" kube_audit_policy_file={tmp_path}/shared/policies/audit-policy.yaml"
            f" kube_audit_log_path={tmp_path}/shared/log/kube-apiserver-audit.log"
            f" kube_audit_backup_dir={root}/backup"
            f" kube_audit_kubeconfig={root}/admin.conf {extra}"
        )
    path = tmp_path / "inventory.ini"
    path.write_text("\n".join(lines) + "\n")
    return path


def run_check(tmp_path, host_vars, *extra):
    """enable_audit --check on the masters of ``host_vars``: the CompletedProcess (stdout + stderr as text)."""
    playbook = tmp_path / "play.yml"
    playbook.write_text(PLAY)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_NOCOLOR="1", ANSIBLE_DEPRECATION_WARNINGS="0")
    command = [sys.executable, "-m", "ansible.cli.playbook", "-i", str(inventory(tmp_path, host_vars)), "--check"]
    return subprocess.run(
        [*command, *extra, str(playbook)], capture_output=True, text=True, env=env, check=False, timeout=180
    )


def written(tmp_path, hosts):
    """Every file under the masters' and the shared directories other than the manifests the test wrote."""
    return sorted(
        os.path.relpath(os.path.join(root, name), tmp_path)
        for top in (*hosts, "shared")
        for root, _dirs, names in os.walk(tmp_path / top)
        for name in names
        if name != "kube-apiserver.yaml"
    )

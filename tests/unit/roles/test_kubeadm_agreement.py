"""The roles through a real ``ansible-playbook`` run: masters that want different audit settings stop the plan.

kubeadm-config holds one ClusterConfiguration for the whole cluster, so enable_audit refuses masters of one play
whose audit settings differ (here: kube_audit_log_maxage), before any master is read or changed, unless
kube_audit_kubeadm_config is false. The "masters" are two inventory hosts on this machine (local connections),
each with its own manifest under the test's directory (the manifest path is not a cluster setting; the policy file
and log paths are, and are shared).
"""

import os
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "plugins"))

from manifest_fixtures import NNF, read

COLLECTIONS = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".tmp", "collections"))
PLAY = """\
- hosts: all
  gather_facts: false
  roles:
    - nnf.kube_audit.enable_audit
"""


def inventory(tmp_path, maxage):
    lines = ["[kube_control_plane]"]
    for name, age in zip(("m1", "m2"), maxage):
        root = tmp_path / name
        (root / "manifests").mkdir(parents=True)
        (root / "manifests" / "kube-apiserver.yaml").write_text(read(NNF))
        lines.append(
            f"{name} ansible_connection=local ansible_python_interpreter=/usr/bin/python3"
            f" kube_audit_manifest_path={root}/manifests/kube-apiserver.yaml"
            f" kube_audit_policy_file={tmp_path}/shared/policies/audit-policy.yaml"
            f" kube_audit_log_path={tmp_path}/shared/log/kube-apiserver-audit.log"
            f" kube_audit_backup_dir={root}/backup"
            f" kube_audit_kubeconfig={root}/admin.conf"
            f" kube_audit_log_maxage={age}"
        )
    path = tmp_path / "inventory.ini"
    path.write_text("\n".join(lines) + "\n")
    return path


def run_check(tmp_path, maxage, *extra):
    playbook = tmp_path / "play.yml"
    playbook.write_text(PLAY)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_NOCOLOR="1", ANSIBLE_DEPRECATION_WARNINGS="0")
    command = [sys.executable, "-m", "ansible.cli.playbook", "-i", str(inventory(tmp_path, maxage)), "--check"]
    return subprocess.run(
        [*command, *extra, str(playbook)], capture_output=True, text=True, env=env, check=False, timeout=180
    )


def written(tmp_path):
    """Every file under the masters' directories other than the manifests the test wrote."""
    return sorted(
        os.path.relpath(os.path.join(root, name), tmp_path)
        for top in ("m1", "m2", "shared")
        for root, _dirs, names in os.walk(tmp_path / top)
        for name in names
        if name != "kube-apiserver.yaml"
    )


def test_masters_that_want_different_settings_stop_the_plan(tmp_path):
    completed = run_check(tmp_path, (30, 90))
    output = completed.stdout + completed.stderr
    assert completed.returncode == 2, output
    assert "The masters of the play want different audit settings" in output
    assert "kube_audit_kubeadm_config to false" in output
    assert "Plan the change on every master" not in output  # stopped before any master was read
    assert written(tmp_path) == []
    for host in ("m1", "m2"):
        assert (tmp_path / host / "manifests" / "kube-apiserver.yaml").read_text() == read(NNF)


@pytest.mark.parametrize(
    ("maxage", "extra"),
    [
        ((30, 90), ("-e", "kube_audit_kubeadm_config=false")),  # typed on the command line: a string
        ((30, 90), ("-e", '{"kube_audit_kubeadm_config": false}')),  # a boolean
        ((30, 30), ()),
    ],
    ids=["kubeadm-config-false-text", "kubeadm-config-false-bool", "same-settings"],
)
def test_the_plan_goes_on_when_kubeadm_config_is_off_or_the_settings_agree(tmp_path, maxage, extra):
    completed = run_check(tmp_path, maxage, *extra)
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output
    assert "want different audit settings" not in output
    assert "Plan the change on every master" in output
    assert written(tmp_path) == []  # check mode


def test_a_kubeadm_config_mode_that_is_not_one_fails_naming_the_variable(tmp_path):
    completed = run_check(tmp_path, (30, 30), "-e", "kube_audit_kubeadm_config=sometimes")
    output = completed.stdout + completed.stderr
    assert completed.returncode == 2, output
    assert "kube_audit_kubeadm_config must be auto, true or false, got sometimes" in output
    assert "Plan the change on every master" not in output
    assert written(tmp_path) == []

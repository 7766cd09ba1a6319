"""The roles through a real ``ansible-playbook`` run: masters that want different audit settings stop the plan.

kubeadm-config holds one ClusterConfiguration for the whole cluster, so enable_audit refuses masters of one play
whose audit settings differ (here: kube_audit_log_maxage), before any master is read or changed, unless
kube_audit_kubeadm_config is false. The "masters" are two inventory hosts on this machine (local connections),
each with its own manifest under the test's directory (the manifest path is not a cluster setting; the policy file
and log paths are, and are shared).
"""

import pytest
from role_runner import NNF, read
from role_runner import run_check as run_role
from role_runner import written as written_in


def run_check(tmp_path, maxage, *extra):
    return run_role(
        tmp_path, {"m1": f"kube_audit_log_maxage={maxage[0]}", "m2": f"kube_audit_log_maxage={maxage[1]}"}, *extra
    )


def written(tmp_path):
    return written_in(tmp_path, ("m1", "m2"))


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

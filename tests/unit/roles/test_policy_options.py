"""enable_audit's policy options through a real ``ansible-playbook --check`` run: extra rules, the linter."""

import json

from role_runner import run_check, written

EXTRA = json.dumps({"kube_audit_policy_extra_rules": [{"level": "None", "users": ["system:kube-proxy"]}]})


def output(completed):
    return completed.stdout + completed.stderr


def test_extra_rules_go_before_the_presets_rules(tmp_path):
    completed = run_check(tmp_path, {"m1": ""}, "--diff", "-e", EXTRA)
    text = output(completed)
    assert completed.returncode == 0, text
    extra = text.index("+  - level: None\n+    users:\n+      - system:kube-proxy")
    assert extra < text.index("+  - level: Metadata")  # the preset's own rule comes after
    assert written(tmp_path, ("m1",)) == []


def test_extra_rules_with_a_policy_file_are_refused_before_anything(tmp_path):
    policy = tmp_path / "site-policy.yaml"
    policy.write_text("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n")
    completed = run_check(tmp_path, {"m1": ""}, "-e", EXTRA, "-e", f"kube_audit_policy_src={policy}")
    text = output(completed)
    assert completed.returncode == 2, text
    assert "kube_audit_policy_extra_rules cannot be used with kube_audit_policy_src" in text
    assert "Plan the change on every master" not in text


def test_lint_warnings_are_printed_and_the_play_goes_on(tmp_path):
    completed = run_check(tmp_path, {"m1": ""})
    text = output(completed)
    assert completed.returncode == 0, text
    assert "[WARNING]: audit policy lint: no rule matches every request" in " ".join(text.split())


def test_lint_fatal_stops_the_play_before_any_master_is_planned(tmp_path):
    completed = run_check(tmp_path, {"m1": ""}, "-e", "kube_audit_policy_lint_fatal=true")
    text = output(completed)
    assert completed.returncode == 2, text
    assert "The audit policy linter warns (kube_audit_policy_lint_fatal is true)" in text
    assert "Plan the change on every master" not in text
    assert written(tmp_path, ("m1",)) == []


def test_a_preset_the_linter_has_nothing_to_say_about_passes_with_lint_fatal(tmp_path):
    completed = run_check(
        tmp_path,
        {"m1": ""},
        "-e",
        "kube_audit_policy_lint_fatal=true",
        "-e",
        "kube_audit_policy_preset=kubernetes_reference",
    )
    assert completed.returncode == 0, output(completed)

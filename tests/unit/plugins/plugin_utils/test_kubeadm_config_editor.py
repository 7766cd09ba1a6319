"""The ClusterConfiguration editor: apiServer.extraArgs and extraVolumes of both kubeadm schema versions, byte for byte.

The oracle for what kubeadm reads is PyYAML over the exact bytes (kubeadm decodes with sigs.k8s.io/yaml, YAML 1.1
like PyYAML): every value must come back as the string, boolean or list kubeadm's types want, and every line the
edit does not mean to touch must be unchanged.
"""

import difflib
from pathlib import Path

import pytest
import yaml

from ansible_collections.nnf.kube_audit.plugins.plugin_utils.kubeadm_config_editor import (
    ConfigError,
    edit_cluster_configuration,
)

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "kubeadm"
V1BETA3 = (FIXTURES / "cluster-configuration-v1beta3-v1.29.0.yaml").read_text()
V1BETA4 = (FIXTURES / "cluster-configuration-v1beta4-v1.32.0.yaml").read_text()
POLICY = "/etc/kubernetes/policies/audit-policy.yaml"
LOG = "/var/log/kubernetes/kube-apiserver-audit.log"
ARGS = {
    "audit-policy-file": POLICY,
    "audit-log-path": LOG,
    "audit-log-maxsize": 100,
    "audit-log-maxage": 30,
    "audit-log-maxbackup": 10,
}
MOUNTS = [
    {"name": "k8s-policies", "host_path": POLICY, "type": "File", "read_only": True},
    {"name": "k8s-log", "host_path": "/var/log/kubernetes/", "type": "DirectoryOrCreate", "read_only": False},
]
ENABLE = {"args": ARGS, "remove_args": ["audit-*"], "mounts": MOUNTS}
DISABLE = {"remove_args": ["audit-*"], "remove_mounts": ["k8s-policies", "k8s-log"]}
EXPECTED_VOLUMES = [
    {"hostPath": POLICY, "mountPath": POLICY, "name": "k8s-policies", "pathType": "File", "readOnly": True},
    {
        "hostPath": "/var/log/kubernetes/",
        "mountPath": "/var/log/kubernetes/",
        "name": "k8s-log",
        "pathType": "DirectoryOrCreate",
    },
]


def changed_lines(before, after):
    """The lines removed (-) and added (+), in order."""
    return [
        line
        for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("---", "+++"))
    ]


def api_server(text):
    return yaml.safe_load(text)["apiServer"]


@pytest.mark.parametrize("text", [V1BETA3, V1BETA4], ids=["v1beta3", "v1beta4"])
def test_enable_then_disable_gives_back_the_bytes_and_a_rerun_changes_nothing(text):
    enabled = edit_cluster_configuration(text, **ENABLE)
    assert enabled.changed
    assert edit_cluster_configuration(enabled.after, **ENABLE).after == enabled.after  # idempotent: no write
    disabled = edit_cluster_configuration(enabled.after, **DISABLE)
    assert disabled.after == text
    assert not edit_cluster_configuration(text, **DISABLE).changed


def test_v1beta3_extra_args_are_a_map_of_strings_numbers_quoted():
    after = edit_cluster_configuration(V1BETA3, **ENABLE).after
    extra = api_server(after)["extraArgs"]
    assert extra == {
        "authorization-mode": "Node,RBAC",  # unrelated: kept
        "audit-policy-file": POLICY,
        "audit-log-path": LOG,
        "audit-log-maxsize": "100",
        "audit-log-maxage": "30",
        "audit-log-maxbackup": "10",
    }
    assert all(isinstance(value, str) for value in extra.values())  # map[string]string: 100 would not decode
    assert api_server(after)["extraVolumes"] == EXPECTED_VOLUMES
    # Only lines inside apiServer were added; keys in kubeadm's (sorted) order.
    assert [line[0] for line in changed_lines(V1BETA3, after)] == ["+"] * 15
    assert list(api_server(after)["extraArgs"]) == sorted(api_server(after)["extraArgs"])


def test_v1beta4_extra_args_are_a_list_of_name_value_and_an_empty_api_server_becomes_a_block():
    after = edit_cluster_configuration(V1BETA4, **ENABLE).after
    assert api_server(after)["extraArgs"] == [
        {"name": "audit-policy-file", "value": POLICY},
        {"name": "audit-log-path", "value": LOG},
        {"name": "audit-log-maxsize", "value": "100"},
        {"name": "audit-log-maxage", "value": "30"},
        {"name": "audit-log-maxbackup", "value": "10"},
    ]
    assert api_server(after)["extraVolumes"] == EXPECTED_VOLUMES
    assert changed_lines(V1BETA4, after)[0] == "-apiServer: {}"
    assert "apiServer:\n  extraArgs:\n  - name: audit-policy-file\n" in after


def test_unrelated_extra_args_and_volumes_survive_and_hand_added_audit_args_go():
    text = V1BETA4.replace(
        "apiServer: {}\n",
        "apiServer:\n"
        "  extraArgs:\n"
        "  - name: enable-admission-plugins\n"
        "    value: NodeRestriction,PodSecurity\n"
        "  - name: audit-log-format  # added by hand\n"
        "    value: legacy\n"
        "  - name: v\n"
        "    value: '2'\n"
        "  extraVolumes:\n"
        "  - hostPath: /etc/pki/tls\n"
        "    mountPath: /etc/pki/tls\n"
        "    name: pki-tls\n"
        "    readOnly: true\n",
    )
    enabled = edit_cluster_configuration(text, **ENABLE)
    names = [entry["name"] for entry in api_server(enabled.after)["extraArgs"]]
    assert names == ["enable-admission-plugins", "v", *ARGS]  # audit-log-format: the role owns audit-*
    assert "removed extraArgs audit-log-format=legacy" in enabled.changes
    assert [volume["name"] for volume in api_server(enabled.after)["extraVolumes"]] == [
        "pki-tls",
        "k8s-policies",
        "k8s-log",
    ]
    disabled = edit_cluster_configuration(enabled.after, **DISABLE)
    assert [entry["name"] for entry in api_server(disabled.after)["extraArgs"]] == ["enable-admission-plugins", "v"]
    assert [volume["name"] for volume in api_server(disabled.after)["extraVolumes"]] == ["pki-tls"]


def test_comments_stay_where_they_are():
    text = V1BETA3.replace(
        "  extraArgs:\n    authorization-mode: Node,RBAC\n",
        "  # flags for kube-apiserver\n"
        "  extraArgs:\n"
        "    authorization-mode: Node,RBAC  # keep RBAC\n"
        "  # timeouts below\n",
    )
    enabled = edit_cluster_configuration(text, **ENABLE)
    assert "  # flags for kube-apiserver\n  extraArgs:\n" in enabled.after
    assert "    authorization-mode: Node,RBAC  # keep RBAC\n" in enabled.after
    assert "\n  # timeouts below\n  timeoutForControlPlane: 4m0s\n" in enabled.after
    assert all(line.startswith("+") for line in changed_lines(text, enabled.after))
    assert edit_cluster_configuration(enabled.after, **DISABLE).after == text


def test_a_changed_value_is_replaced_in_place_keeping_its_quotes():
    text = V1BETA3.replace(
        "    authorization-mode: Node,RBAC\n", '    audit-log-maxsize: "50"\n    authorization-mode: Node,RBAC\n'
    )
    edit = edit_cluster_configuration(text, args={"audit-log-maxsize": 100})
    assert changed_lines(text, edit.after) == ['-    audit-log-maxsize: "50"', '+    audit-log-maxsize: "100"']
    assert edit.changes == ["extraArgs audit-log-maxsize: 50 -> 100"]


def test_a_mount_is_updated_in_place_and_read_only_false_is_left_out_as_kubeadm_does():
    enabled = edit_cluster_configuration(V1BETA3, **ENABLE).after
    moved = [
        dict(MOUNTS[0], read_only=False),
        dict(MOUNTS[1], host_path="/srv/audit/", mount_path="/var/log/kubernetes/"),
    ]
    edit = edit_cluster_configuration(enabled, mounts=moved)
    volumes = api_server(edit.after)["extraVolumes"]
    assert "readOnly" not in volumes[0]
    assert volumes[1]["hostPath"] == "/srv/audit/" and volumes[1]["mountPath"] == "/var/log/kubernetes/"
    assert sorted(edit.changes) == [
        "extraVolumes k8s-log: hostPath /var/log/kubernetes/ -> /srv/audit/",
        "extraVolumes k8s-policies: readOnly -> false",
    ]


def test_v1beta4_repeated_names_of_a_set_flag_collapse_to_one():
    text = V1BETA4.replace(
        "apiServer: {}\n",
        "apiServer:\n  extraArgs:\n  - name: audit-log-path\n    value: /a.log\n"
        "  - name: audit_log_path\n    value: /b.log\n",
    )
    edit = edit_cluster_configuration(text, args={"audit-log-path": LOG})
    assert api_server(edit.after)["extraArgs"] == [{"name": "audit-log-path", "value": LOG}]


def test_yaml_1_1_words_are_written_so_kubeadm_reads_strings():
    edit = edit_cluster_configuration(V1BETA3, args={"audit-log-compress": "on", "audit-log-format": "yes"})
    extra = api_server(edit.after)["extraArgs"]
    assert extra["audit-log-compress"] == "on" and extra["audit-log-format"] == "yes"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (V1BETA3.replace("kind: ClusterConfiguration", "kind: InitConfiguration"), "kind is 'InitConfiguration'"),
        (V1BETA3.replace("kubeadm.k8s.io/v1beta3", "kubeadm.k8s.io/v1beta2"), "apiVersion 'kubeadm.k8s.io/v1beta2'"),
        (V1BETA3.replace("  - 192.37.70.3\n", "  - [192.37.70.3\n"), "not valid YAML"),
        (V1BETA4.replace("apiServer: {}", "apiServer:\n  extraArgs:\n    v: '2'"), "extraArgs is not a list"),
        (V1BETA3 + "---\nkind: Other\n", "2 YAML documents"),
    ],
    ids=["kind", "apiVersion", "syntax", "schema", "documents"],
)
def test_an_unusable_configuration_is_refused_naming_its_source(text, message):
    with pytest.raises(ConfigError, match=r"^kubeadm-config ClusterConfiguration") as error:
        edit_cluster_configuration(text, source="kubeadm-config ClusterConfiguration", **ENABLE)
    assert message in str(error.value)

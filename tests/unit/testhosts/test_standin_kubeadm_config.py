"""The kubeadm stand-in's logic without a host: kubeadm's YAML, the manifest it renders, the ConfigMap it uploads."""

import os
import re

import pytest
import testhosts
from standin import goyaml, kubeadm, kubeadm_config

MANIFESTS = os.path.join(testhosts.REPO, "tests", "fixtures", "manifests")
KUBEADM_FIXTURES = os.path.join(testhosts.REPO, "tests", "fixtures", "kubeadm")
KUBEADM_MADE = (
    "etcd-v3.5.10.yaml",
    "kube-apiserver-v1.29.0-debian.yaml",
    "kube-apiserver-v1.29.0-etc-pki.yaml",
    "kube-apiserver-v1.29.3-rhel-nnf-shape.yaml",
    "kube-apiserver-v1.30.0.yaml",
    "kube-apiserver-v1.32.0-minikube-8443.yaml",
    "kube-scheduler-v1.29.0.yaml",
)
POLICY = "/etc/kubernetes/policies/audit-policy.yaml"
LOG_DIR = "/var/log/kubernetes/audit/"


def read(*parts):
    with open(os.path.join(*parts), encoding="utf-8") as handle:
        return handle.read()


def debian_defaults():
    return goyaml.load(testhosts.localize_manifest(read(MANIFESTS, "kube-apiserver-v1.29.0-debian.yaml"), "127.0.10.1"))


def v1beta3(api_server):
    config = goyaml.load(read(KUBEADM_FIXTURES, "cluster-configuration-v1beta3-v1.29.0.yaml"))
    config["apiServer"] = api_server
    return config


def v1beta4(api_server):
    config = goyaml.load(read(KUBEADM_FIXTURES, "cluster-configuration-v1beta4-v1.32.0.yaml"))
    config["apiServer"] = api_server
    return config


AUDIT_VOLUMES = [
    {"name": "k8s-policies", "hostPath": POLICY, "mountPath": POLICY, "pathType": "File", "readOnly": True},
    {"name": "audit-log", "hostPath": LOG_DIR, "mountPath": LOG_DIR, "pathType": "DirectoryOrCreate"},
    {"name": "no-type", "hostPath": "/srv/x", "mountPath": "/srv/x"},
]


@pytest.mark.parametrize("name", KUBEADM_MADE)
def test_kubeadms_yaml_comes_back_byte_for_byte(name):
    text = read(MANIFESTS, name)
    assert goyaml.dump(goyaml.load(text)) == text


@pytest.mark.parametrize("name", sorted(os.listdir(KUBEADM_FIXTURES)))
def test_the_cluster_configuration_fixtures_are_kubeadm_marshalled(name):
    text = read(KUBEADM_FIXTURES, name)
    assert goyaml.dump(goyaml.load(text)) == text
    assert kubeadm_config.parse(text)["kind"] == "ClusterConfiguration"


def test_strings_that_read_back_as_something_else_are_double_quoted_keys_in_go_yaml_order():
    text = goyaml.dump({"b10": "", "b9": "100", "a_": "false", "aB": "y", "x": "*star", "z": None, "e": {}, "l": []})
    # go-yaml: a non-letter sorts before a letter ("a_" < "aB"), digit runs as numbers ("b9" < "b10")
    assert text == 'a_: "false"\naB: "y"\nb9: "100"\nb10: ""\ne: {}\nl: []\nx: \'*star\'\nz: null\n'


def test_rendering_v1beta3_merges_extra_args_and_volumes_sorted_and_drops_everything_else():
    config = v1beta3(
        {"extraArgs": {"audit-log-maxage": "30", "authorization-mode": "RBAC"}, "extraVolumes": AUDIT_VOLUMES}
    )
    pod = kubeadm_config.render_apiserver(debian_defaults(), config)
    command = pod["spec"]["containers"][0]["command"]
    assert command[0] == "kube-apiserver"
    assert command[1:] == sorted(command[1:])
    assert "--audit-log-maxage=30" in command
    assert "--authorization-mode=RBAC" in command and "--authorization-mode=Node,RBAC" not in command  # extraArgs win
    assert "--advertise-address=127.0.10.1" in command
    assert pod["spec"]["containers"][0]["image"] == "registry.k8s.io/kube-apiserver:v1.29.0"
    volumes = pod["spec"]["volumes"]
    assert [volume["name"] for volume in volumes] == sorted(volume["name"] for volume in volumes)
    by_name = {volume["name"]: volume for volume in volumes}
    assert by_name["k8s-policies"] == {"hostPath": {"path": POLICY, "type": "File"}, "name": "k8s-policies"}
    assert by_name["no-type"]["hostPath"] == {"path": "/srv/x", "type": ""}  # kubeadm writes type: "" when unset
    mounts = {mount["name"]: mount for mount in pod["spec"]["containers"][0]["volumeMounts"]}
    assert mounts["k8s-policies"] == {"mountPath": POLICY, "name": "k8s-policies", "readOnly": True}
    assert mounts["audit-log"] == {"mountPath": LOG_DIR, "name": "audit-log"}  # readOnly only when true
    text = goyaml.dump(pod)
    assert '      type: ""\n    name: no-type\n' in text


def test_rendering_v1beta4_keeps_repeated_args_and_replaces_every_default_of_their_name():
    defaults = debian_defaults()
    defaults["spec"]["containers"][0]["command"].append("--feature-gates=A=true")
    defaults["spec"]["containers"][0]["command"].append("--feature-gates=B=true")
    config = v1beta4(
        {"extraArgs": [{"name": "feature-gates", "value": "Z=false"}, {"name": "feature-gates", "value": "C=true"}]}
    )
    command = kubeadm_config.render_apiserver(defaults, config)["spec"]["containers"][0]["command"]
    assert [arg for arg in command if arg.startswith("--feature-gates")] == [
        "--feature-gates=C=true",
        "--feature-gates=Z=false",
    ]
    assert pod_image(kubeadm_config.render_apiserver(defaults, config)) == "registry.k8s.io/kube-apiserver:v1.32.0"


def pod_image(pod):
    return pod["spec"]["containers"][0]["image"]


def test_a_hand_edited_manifest_is_not_the_base_the_recorded_defaults_are():
    defaults = debian_defaults()
    pod = kubeadm_config.render_apiserver(defaults, v1beta3({"extraArgs": {"authorization-mode": "Node,RBAC"}}))
    assert pod == defaults  # nothing in the ConfigMap beyond kubeadm's own: the manifest kubeadm made


@pytest.mark.parametrize(
    ("api_server", "message"),
    [
        (
            {"extraArgs": {"audit-log-maxage": 30}},
            "json: cannot unmarshal number into Go struct field ControlPlaneComponent.apiServer.extraArgs of type "
            "string",
        ),
        ({"extraArgs": [{"name": "x", "value": "y"}]}, "cannot unmarshal array into Go struct field"),
        ({"extraVolumes": [{"name": "v", "readOnly": "yes please"}]}, "cannot unmarshal string into Go struct field"),
    ],
)
def test_values_of_the_wrong_type_fail_as_kubeadms_decoder_fails(api_server, message):
    with pytest.raises(kubeadm_config.ConfigError, match=re.escape(message)):
        kubeadm_config.parse(kubeadm_config.dump(v1beta3(api_server)))


def test_v1beta4_values_must_be_strings_too():
    config = v1beta4({"extraArgs": [{"name": "audit-log-maxage", "value": 30}]})
    with pytest.raises(kubeadm_config.ConfigError, match=r"Go struct field Arg\.apiServer\.extraArgs\.value"):
        kubeadm_config.parse(kubeadm_config.dump(config))


def test_an_unknown_api_version_is_not_registered():
    config = v1beta3({})
    config["apiVersion"] = "kubeadm.k8s.io/v1beta2"
    with pytest.raises(kubeadm_config.ConfigError, match=r'no kind "ClusterConfiguration" is registered'):
        kubeadm_config.parse(kubeadm_config.dump(config))


def test_upgrade_apply_to_1_31_converts_v1beta3_to_v1beta4():
    config = v1beta3({"extraArgs": {"b": "2", "a": "1"}, "timeoutForControlPlane": "4m0s"})
    upgraded = kubeadm_config.upgraded(config, "v1.31.0")
    assert upgraded["apiVersion"] == kubeadm_config.V1BETA4
    assert upgraded["apiServer"] == {"extraArgs": [{"name": "a", "value": "1"}, {"name": "b", "value": "2"}]}
    assert upgraded["kubernetesVersion"] == "v1.31.0"
    assert upgraded["encryptionAlgorithm"] == "RSA-2048" and upgraded["proxy"] == {}
    assert config["apiVersion"] == kubeadm_config.V1BETA3  # the input is untouched


def test_upgrade_apply_within_v1beta3_changes_only_the_version():
    text = read(KUBEADM_FIXTURES, "cluster-configuration-v1beta3-v1.29.0.yaml")
    after = kubeadm_config.dump(kubeadm_config.upgraded(kubeadm_config.parse(text), "v1.30.2"))
    assert after == text.replace("kubernetesVersion: v1.29.0", "kubernetesVersion: v1.30.2")


def test_version_policy_one_minor_at_a_time():
    assert kubeadm_config.check_upgrade("v1.29.0", "v1.30.5") == []
    assert kubeadm_config.check_upgrade("v1.29.0", "v1.29.0") == []
    assert kubeadm_config.check_upgrade("v1.29.0", "v1.31.0") == [
        'Specified version to upgrade to "v1.31.0" is too high; kubeadm can upgrade only 1 minor version at a time'
    ]
    assert (
        "is too low; kubeadm can downgrade only 1 minor version"
        in kubeadm_config.check_upgrade("v1.31.0", "v1.29.0")[0]
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["upgrade", "apply", "v1.30.0", "--dry-run"], "unknown flag: --dry-run"),
        (["upgrade", "plan"], 'unknown command "upgrade plan" for "kubeadm"'),
        (["join", "127.0.0.1:6443"], "joins control-plane nodes only"),
        (["upgrade", "apply"], "missing one or more required arguments. Required arguments: [version]"),
    ],
)
def test_usage_errors_exit_1_with_kubeadms_hint(argv, message, capsys):
    assert kubeadm.main(argv) == 1
    stderr = capsys.readouterr().err
    assert message in stderr
    assert stderr.endswith("To see the stack trace of this error execute with --v=5 or higher\n")


def test_flags_parse_like_pflag():
    options, positional = kubeadm.parse_flags(
        ["v1.30.0", "-fy", "--etcd-upgrade=false", "--v", "5"], kubeadm._APPLY_FLAGS
    )
    assert positional == ["v1.30.0"]
    assert options == {"force": True, "yes": True, "etcd-upgrade": False, "v": "5"}


def test_join_preflight_names_each_existing_manifest_and_honours_ignore(tmp_path):
    paths = kubeadm.Paths({kubeadm.KUBERNETES_DIR_VARIABLE: str(tmp_path)})
    os.makedirs(paths.manifests)
    for name in ("kube-apiserver.yaml", "etcd.yaml"):
        (tmp_path / "manifests" / name).write_text("x")
    with pytest.raises(kubeadm.Fatal) as caught:
        kubeadm.preflight_join(paths, [])
    message = str(caught.value)
    manifests = str(tmp_path / "manifests")
    check = "FileAvailable-" + manifests.replace("/", "-") + "-kube-apiserver.yaml"
    assert f"\t[ERROR {check}]: {manifests}/kube-apiserver.yaml already exists\n" in message
    assert message.count("[ERROR ") == 2
    kubeadm.preflight_join(paths, ["all"])


def test_the_kubeadm_config_version_follows_the_first_masters_kubernetes():
    assert testhosts.default_kubeadm_config("kube-apiserver-v1.29.0-debian.yaml") == "v1beta3"
    assert testhosts.default_kubeadm_config("kube-apiserver-v1.30.0.yaml") == "v1beta3"
    assert testhosts.default_kubeadm_config("kube-apiserver-v1.32.0-minikube-8443.yaml") == "v1beta4"


def test_the_seeded_cluster_configuration_is_the_first_masters():
    master = {"fixture": "kube-apiserver-v1.30.0.yaml", "address": "127.0.11.1", "apiserver_port": 6443}
    text = testhosts.cluster_configuration("v1beta3", master)
    fixture = read(KUBEADM_FIXTURES, "cluster-configuration-v1beta3-v1.29.0.yaml")
    assert text == fixture.replace("192.37.70.3", "127.0.11.1").replace("v1.29.0", "v1.30.0")
    master = {"fixture": "kube-apiserver-v1.29.3-rhel-nnf-shape.yaml", "address": "127.0.11.2", "apiserver_port": 8443}
    text = testhosts.cluster_configuration("v1beta4", master)
    assert "kubernetesVersion: v1.29.3\n" in text and "127.0.11" not in text  # v1beta4's fixture names no address


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--hosts=2", "--joining=master-3"], "--joining master-3 is none of the hosts (master-1, master-2)"),
        (["--hosts=1", "--joining=master-1"], "--joining needs at least one host that is a master already"),
        (["--hosts=2", "--joining=master-1", "--stray-host=master-1"], "--stray-host master-1 is joining"),
    ],
)
def test_joining_hosts_are_checked_before_anything_starts(argv, message, tmp_path, capsys):
    assert testhosts.main([f"--run-dir={tmp_path / 'run'}", "up", *argv]) == 1
    assert message in capsys.readouterr().out
    assert not (tmp_path / "run").exists()

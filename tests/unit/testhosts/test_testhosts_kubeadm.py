"""Test masters that know kubeadm: admin.conf, the shared kubeadm-config ConfigMap, kubeadm upgrade and join.

One run for the module (``up --hosts 3 --joining master-3``): master-1 and master-2 are masters, master-3 is a host
that is not a master yet. Each test leaves the cluster usable by the next (the ConfigMap may have changed: tests read
it rather than assume it).
"""

import base64
import http.client
import json
import os
import shlex
import ssl
import subprocess
import time
from urllib.parse import urlsplit

import pytest
import testhosts
from standin import goyaml
from test_testhosts_driver import driver, root_with_namespaces

KUBEADM_CONFIG = "/api/v1/namespaces/kube-system/configmaps/kubeadm-config"
AUDIT_DIR = "/var/log/kubernetes/audit"

pytestmark = root_with_namespaces


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("kubeadm") / "run"
    up = driver(run_dir, "up", "--hosts=3", "--joining=master-3", "--ready-delay=0.1")
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        state = json.loads((run_dir / "state.json").read_text())
        yield Run(run_dir, {host["name"]: host for host in state["hosts"]})
    finally:
        down = driver(run_dir, "down")
        assert down.returncode == 0, down.stdout + down.stderr


class Run:
    def __init__(self, run_dir, hosts):
        self.run_dir = run_dir
        self.hosts = hosts

    def path(self, host, path):
        """``path`` on ``host``, seen from outside through its root."""
        return f"/proc/{self.hosts[host]['init']['pid']}/root{path}"

    def read(self, host, path):
        with open(self.path(host, path), encoding="utf-8") as handle:
            return handle.read()

    def write(self, host, path, text):
        temporary = self.path(host, os.path.join(os.path.dirname(path), ".testhosts-write.tmp"))
        with open(temporary, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temporary, self.path(host, path))

    def ssh(self, host, *command, stdin=""):
        argv = ["ssh", "-F", str(self.run_dir / "ssh_config"), host, " ".join(shlex.quote(word) for word in command)]
        return subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=120, check=False)

    def status(self, host):
        return json.loads(self.read(host, "/run/kubelet-standin/status.json"))["apiserver"]

    def wait_ready(self, host, not_uid=None, timeout=15):
        """Until ``host``'s kubelet stand-in runs a ready kube-apiserver (another pod than ``not_uid``)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                status = self.status(host)
            except (OSError, ValueError):
                status = None
            if status and status["ready"] and status["uid"] != not_uid:
                return status
            assert time.monotonic() < deadline, f"{host}: kube-apiserver not ready: {status}"
            time.sleep(0.05)

    def client(self, host, tmp_path, admin_conf=None):
        """An HTTPS connection to ``host``'s API server with the credentials of ``admin_conf`` (its own)."""
        config = goyaml.load(admin_conf or self.read(host, "/etc/kubernetes/admin.conf"))
        cluster, user = config["clusters"][0]["cluster"], config["users"][0]["user"]
        cert, key = tmp_path / f"{host}.crt", tmp_path / f"{host}.key"
        cert.write_bytes(base64.b64decode(user["client-certificate-data"]))
        key.write_bytes(base64.b64decode(user["client-key-data"]))
        context = ssl.create_default_context(cadata=base64.b64decode(cluster["certificate-authority-data"]).decode())
        context.load_cert_chain(str(cert), str(key))
        server = urlsplit(cluster["server"])
        return Client(server.hostname, server.port, context)

    def anonymous(self, host):
        pki = str(self.run_dir / "pki" / "ca.crt")
        host_record = self.hosts[host]
        return Client(host_record["address"], host_record["apiserver_port"], ssl.create_default_context(cafile=pki))

    def configmap(self, tmp_path):
        return self.client("master-1", tmp_path).call("GET")[1]

    def put_cluster_configuration(self, tmp_path, change):
        """Read-modify-write of the ClusterConfiguration through master-1 (``change`` edits the decoded object)."""
        client = self.client("master-1", tmp_path)
        _status, configmap = client.call("GET")
        config = goyaml.load(configmap["data"]["ClusterConfiguration"])
        change(config)
        configmap["data"]["ClusterConfiguration"] = goyaml.dump(config)
        status, stored = client.call("PUT", configmap)
        assert status == 200, stored
        return config


class Client:
    def __init__(self, address, port, context):
        self.address, self.port, self.context = address, port, context

    def call(self, method, body=None, path=KUBEADM_CONFIG):
        connection = http.client.HTTPSConnection(self.address, self.port, timeout=10, context=self.context)
        connection.request(method, path, body=json.dumps(body).encode() if body is not None else None)
        response = connection.getresponse()
        payload = json.loads(response.read())
        connection.close()
        return response.status, payload


def next_second():
    """Wait for the next second: kubeadm names its backup directory to the second and refuses an existing one."""
    time.sleep(1.02 - time.time() % 1)


def container(manifest_text):
    return goyaml.load(manifest_text)["spec"]["containers"][0]


def test_each_master_has_kubeadms_admin_conf_and_the_joining_host_none(run, tmp_path):
    for host in ("master-1", "master-2"):
        path = run.path(host, "/etc/kubernetes/admin.conf")
        assert oct(os.stat(path).st_mode & 0o777) == "0o600"
        config = goyaml.load(run.read(host, "/etc/kubernetes/admin.conf"))
        record = run.hosts[host]
        assert config["clusters"] == [
            {
                "cluster": {
                    "certificate-authority-data": base64.b64encode(
                        (run.run_dir / "pki" / "ca.crt").read_bytes()
                    ).decode(),
                    "server": f"https://{record['address']}:{record['apiserver_port']}",
                },
                "name": "kubernetes",
            }
        ]
        assert config["current-context"] == "kubernetes-admin@kubernetes"
        assert config["contexts"] == [
            {"context": {"cluster": "kubernetes", "user": "kubernetes-admin"}, "name": "kubernetes-admin@kubernetes"}
        ]
        assert sorted(config["users"][0]["user"]) == ["client-certificate-data", "client-key-data"]
        subject = subprocess.run(
            ["openssl", "x509", "-noout", "-subject", "-nameopt", "RFC2253"],
            input=base64.b64decode(config["users"][0]["user"]["client-certificate-data"]),
            capture_output=True,
            check=True,
        ).stdout
        assert subject == b"subject=CN=kubernetes-admin,O=kubeadm:cluster-admins\n"
        status, configmap = run.client(host, tmp_path).call("GET")  # verified against the CA, by the certificate
        assert status == 200 and configmap["metadata"]["name"] == "kubeadm-config"
    assert not os.path.exists(run.path("master-3", "/etc/kubernetes/admin.conf"))
    assert os.listdir(run.path("master-3", "/etc/kubernetes/manifests")) == []
    assert sorted(os.listdir(run.path("master-3", testhosts.KUBEADM_DEFAULTS_DIR))) == [
        "admin.conf",
        "etcd.yaml",
        "kube-apiserver.yaml",
        "kube-scheduler.yaml",
    ]
    facts = json.loads(run.read("master-3", "/etc/ansible/facts.d/testhost.fact"))
    assert (facts["joining"], facts["kubeadm_config"]) == (True, "v1beta3")  # master-1 runs v1.29.0


def test_the_configmap_is_cluster_state_and_anonymous_clients_are_forbidden(run, tmp_path):
    first, second = run.client("master-1", tmp_path), run.client("master-2", tmp_path)
    _status, configmap = first.call("GET")
    assert second.call("GET") == (200, configmap)
    text = configmap["data"]["ClusterConfiguration"]
    assert "apiVersion: kubeadm.k8s.io/v1beta3\n" in text and "kubernetesVersion: v1.29.0\n" in text
    assert f"controlPlaneEndpoint: {run.hosts['master-1']['address']}:6443\n" in text
    status, stored = second.call("PUT", configmap)
    assert status == 200 and first.call("GET") == (200, stored)
    status, answer = first.call("PUT", configmap)  # the resourceVersion read before the write through master-2
    assert (status, answer["reason"]) == (409, "Conflict")
    status, answer = run.anonymous("master-2").call("GET")
    assert (status, answer["message"]) == (
        403,
        'configmaps "kubeadm-config" is forbidden: User "system:anonymous" cannot get resource "configmaps" in API '
        'group "" in the namespace "kube-system"',
    )


def test_upgrade_node_renders_the_manifest_from_the_configmap(run, tmp_path):
    manifest = "/etc/kubernetes/manifests/kube-apiserver.yaml"
    # by hand, as an operator would: a flag, an annotation and a mount kubeadm knows nothing about
    pod = goyaml.load(run.read("master-2", manifest))
    pod["spec"]["containers"][0]["command"].append("--profiling=false")
    pod["metadata"]["annotations"]["hand/edited"] = "yes"
    pod["spec"]["containers"][0]["volumeMounts"].append({"mountPath": "/srv/hand", "name": "hand"})
    pod["spec"]["volumes"].append({"hostPath": {"path": "/srv/hand", "type": "DirectoryOrCreate"}, "name": "hand"})
    hand_edited = goyaml.dump(pod)
    before = run.wait_ready("master-2")["uid"]
    run.write("master-2", manifest, hand_edited)
    before = run.wait_ready("master-2", not_uid=before)["uid"]  # kubeadm reads the ConfigMap from it

    def add_audit(config):
        config["apiServer"].setdefault("extraArgs", {})["audit-log-maxage"] = "30"
        config["apiServer"]["extraVolumes"] = [
            {"hostPath": AUDIT_DIR, "mountPath": AUDIT_DIR, "name": "audit-log", "pathType": "DirectoryOrCreate"}
        ]

    run.put_cluster_configuration(tmp_path, add_audit)
    result = run.ssh("master-2", "kubeadm", "upgrade", "node")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "[upgrade] The control plane instance for this node was successfully updated!" in result.stdout
    text = run.read("master-2", manifest)
    command = container(text)["command"]
    assert "--profiling=false" not in command and "--audit-log-maxage=30" in command
    assert command[1:] == sorted(command[1:])
    assert command.index("--audit-log-maxage=30") == command.index("--allow-privileged=true") + 1
    names = [volume["name"] for volume in goyaml.load(text)["spec"]["volumes"]]
    assert names == ["audit-log", "ca-certs", "etc-pki", "k8s-certs"]  # hand-added "hand" is gone, sorted
    assert {"mountPath": AUDIT_DIR, "name": "audit-log"} in container(text)["volumeMounts"]
    assert "hand/edited" not in text and "kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint" in text
    assert oct(os.stat(run.path("master-2", manifest)).st_mode & 0o777) == "0o600"
    backups = [name for name in os.listdir(run.path("master-2", "/etc/kubernetes/tmp")) if "backup" in name]
    assert len(backups) == 1 and backups[0].startswith("kubeadm-backup-manifests-")
    assert run.read("master-2", f"/etc/kubernetes/tmp/{backups[0]}/kube-apiserver.yaml") == hand_edited
    assert os.listdir(run.path("master-2", "/etc/kubernetes/tmp")) == backups  # the upgraded-manifests dir is gone
    status = run.status("master-2")
    assert status["uid"] != before and status["ready"] and status["source"] == manifest
    assert "--audit-log-maxage=30" in status["command"]
    # a second run finds nothing to do
    next_second()  # kubeadm's backup directories are named to the second
    again = run.ssh("master-2", "kubeadm", "upgrade", "node")
    assert "Current and new manifests of kube-apiserver are equal, skipping upgrade" in again.stdout
    assert run.status("master-2")["uid"] == status["uid"]


def test_a_failed_upgrade_rolls_back_to_the_previous_manifest(run, tmp_path):
    manifest = "/etc/kubernetes/manifests/kube-apiserver.yaml"
    run.wait_ready("master-2")
    before = run.read("master-2", manifest)
    run.write("master-2", "/run/kubelet-standin/kubeadm-timeout", "1\n")
    run.put_cluster_configuration(tmp_path, lambda config: config["apiServer"]["extraArgs"].update({"no-such": "x"}))
    try:
        next_second()
        result = run.ssh("master-2", "kubeadm", "upgrade", "node")
        assert result.returncode == 1
        assert (
            "error execution phase control-plane: couldn't complete the static pod upgrade: couldn't upgrade control "
            "plane. kubeadm has tried to recover everything into the earlier state. Errors faced: kube-apiserver on "
            "Node master-2 is not ready after 1s: timed out waiting for the condition"
        ) in result.stderr
        assert run.read("master-2", manifest) == before
        run.wait_ready("master-2")  # the kubelet runs the previous manifest again
    finally:
        run.put_cluster_configuration(tmp_path, lambda config: config["apiServer"]["extraArgs"].pop("no-such"))
        os.remove(run.path("master-2", "/run/kubelet-standin/kubeadm-timeout"))


def test_join_control_plane_makes_a_master_of_the_joining_host(run, tmp_path):
    master_1 = run.hosts["master-1"]
    result = run.ssh(
        "master-3",
        "kubeadm",
        "join",
        f"{master_1['address']}:6443",
        "--control-plane",
        "--token=abcdef.0123456789abcdef",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "This node has joined the cluster and a new control plane instance was created:" in result.stdout
    path = run.path("master-3", "/etc/kubernetes/admin.conf")
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    status = run.status("master-3")
    assert status["ready"] and status["source"] == "/etc/kubernetes/manifests/kube-apiserver.yaml"
    config = goyaml.load(run.configmap(tmp_path)["data"]["ClusterConfiguration"])
    command = container(run.read("master-3", "/etc/kubernetes/manifests/kube-apiserver.yaml"))["command"]
    for name, value in (config["apiServer"].get("extraArgs") or {}).items():
        assert f"--{name}={value}" in command
    assert f"--advertise-address={run.hosts['master-3']['address']}" in command
    # the new master serves the cluster's ConfigMap with its own admin.conf
    assert run.client("master-3", tmp_path).call("GET") == (200, run.configmap(tmp_path))
    again = run.ssh("master-3", "kubeadm", "join", f"{master_1['address']}:6443", "--control-plane")
    assert again.returncode == 1
    assert "[ERROR FileAvailable--etc-kubernetes-manifests-kube-apiserver.yaml]" in again.stderr


def test_upgrade_apply_sets_the_version_in_the_configmap_and_the_image(run, tmp_path):
    run.wait_ready("master-2")
    refused = run.ssh("master-2", "kubeadm", "upgrade", "apply", "v1.30.1", stdin="n\n")
    assert refused.returncode == 1 and "won't proceed; the user didn't answer (Y|y)" in refused.stderr
    too_far = run.ssh("master-2", "kubeadm", "upgrade", "apply", "v1.31.0", "-y")
    assert too_far.returncode == 1 and "kubeadm can upgrade only 1 minor version at a time" in too_far.stderr
    before = run.configmap(tmp_path)
    next_second()
    result = run.ssh("master-2", "kubeadm", "upgrade", "apply", "v1.30.1", "--yes")
    assert result.returncode == 0, result.stdout + result.stderr
    assert '[upgrade/successful] SUCCESS! Your cluster was upgraded to "v1.30.1". Enjoy!' in result.stdout
    after = run.configmap(tmp_path)
    assert int(after["metadata"]["resourceVersion"]) > int(before["metadata"]["resourceVersion"])
    text = before["data"]["ClusterConfiguration"].replace("kubernetesVersion: v1.29.0", "kubernetesVersion: v1.30.1")
    assert after["data"]["ClusterConfiguration"] == text
    manifest = run.read("master-2", "/etc/kubernetes/manifests/kube-apiserver.yaml")
    assert container(manifest)["image"] == "registry.k8s.io/kube-apiserver:v1.30.1"
    assert run.status("master-2")["ready"]

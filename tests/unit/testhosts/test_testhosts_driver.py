"""The test masters' driver: manifests seeded per host, and a full up/down cycle that must leave nothing behind."""

import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time

import hostinit
import pytest
import testhosts
from standin import procutil

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "manifests")


def read(name):
    with open(os.path.join(FIXTURES, name), encoding="utf-8") as handle:
        return handle.read()


@pytest.mark.parametrize(
    ("name", "address"),
    [
        ("kube-apiserver-v1.29.0-debian.yaml", "192.37.70.3"),
        ("kube-apiserver-v1.29.0-etc-pki.yaml", "172.30.1.2"),
        ("kube-apiserver-v1.29.3-rhel-nnf-shape.yaml", "10.30.1.2"),
        ("kube-apiserver-v1.32.0-minikube-8443.yaml", "192.168.59.105"),
        ("kube-apiserver-v1.30.0.yaml", "192.34.173.9"),
        ("etcd-v3.5.10.yaml", "192.37.70.3"),
    ],
)
def test_the_node_address_is_replaced_everywhere_and_nothing_else_changes(name, address):
    original = read(name)
    assert testhosts.original_address(original) == address
    local = testhosts.localize_manifest(original, "127.0.10.7")
    assert address not in local
    assert "<ip>" not in local and "<port>" not in local and "<url>" not in local
    # apart from the address (and the v1.30 fixture's placeholders), the file is byte for byte the fixture
    pattern = re.escape(original).replace(re.escape(address), r"127\.0\.10\.7")
    if name != "kube-apiserver-v1.30.0.yaml":
        assert re.fullmatch(pattern, local)
    assert "--etcd-servers=https://127.0.0.1:2379" in local or "etcd" in name


def test_placeholders_of_the_documentation_fixture_are_filled_as_kubeadm_would():
    local = testhosts.localize_manifest(read("kube-apiserver-v1.30.0.yaml"), "127.0.10.7")
    assert "--advertise-address=127.0.10.7" in local
    assert "--service-cluster-ip-range=10.96.0.0/12" in local
    assert "--secure-port=6443" in local and "port: 6443" in local and "host: 127.0.10.7" in local


def test_a_manifest_without_a_node_address_is_left_alone():
    text = read("kube-scheduler-v1.29.0.yaml")
    assert testhosts.original_address(text) is None
    assert testhosts.localize_manifest(text, "127.0.10.7") == text


def test_the_probe_port_of_each_fixture():
    assert testhosts.apiserver_port("kube-apiserver-v1.29.0-debian.yaml", "127.0.10.1") == 6443
    assert testhosts.apiserver_port("kube-apiserver-v1.32.0-minikube-8443.yaml", "127.0.10.1") == 8443


def test_sshd_listens_only_on_the_hosts_address_and_takes_keys_only():
    config = testhosts.sshd_config("master-1", "127.0.10.1", 22)
    assert "ListenAddress 127.0.10.1:22\n" in config
    assert "PasswordAuthentication no\n" in config and "PermitRootLogin prohibit-password\n" in config
    assert "PrintLastLog no\n" in config


def test_down_never_signals_a_process_that_only_reuses_a_recorded_pid(tmp_path):
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        state = testhosts.RunState(str(tmp_path))
        started = procutil.start_time(sleeper.pid)
        state.data = {"hosts": [{"name": "h", "init": {"pid": sleeper.pid, "start": started + 1}}]}
        state.save()
        assert testhosts.teardown(state) == []
        assert sleeper.poll() is None
        assert not tmp_path.exists()
    finally:
        sleeper.kill()
        sleeper.wait()


root_with_namespaces = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("unshare") or not os.path.exists("/usr/sbin/sshd"),
    reason="test masters need root, unshare and sshd",
)


def driver(run_dir, *argv):
    return subprocess.run(
        [sys.executable, os.path.join(testhosts.TESTHOSTS_DIR, "testhosts.py"), f"--run-dir={run_dir}", *argv],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def mount_points():
    with open("/proc/self/mountinfo", encoding="utf-8") as handle:
        return sorted(line.split()[4] for line in handle)


@root_with_namespaces
def test_up_and_down_leave_nothing_behind_even_when_a_host_died(tmp_path):
    run_dir = tmp_path / "run"
    mounts_before = mount_points()
    started = time.monotonic()
    up = driver(run_dir, "up", "--hosts=2")
    assert up.returncode == 0, up.stdout + up.stderr
    state = json.loads((run_dir / "state.json").read_text())
    hosts = state["hosts"]
    for host in hosts:
        with socket.create_connection((host["address"], host["ssh_port"]), timeout=2) as connection:
            assert connection.recv(4) == b"SSH-"
        assert procutil.is_same_process(host["init"]["pid"], host["init"]["start"])
        root = f"/proc/{host['init']['pid']}/root"
        with open(f"{root}/etc/hostname", encoding="utf-8") as handle:
            assert handle.read() == host["name"] + "\n"
        assert os.path.exists(f"{root}/etc/kubernetes/manifests/kube-apiserver.yaml")
        with open(f"{root}/usr/local/bin/crictl", encoding="utf-8") as handle:  # in the host's /usr overlay only
            assert handle.read().endswith(f'{os.path.join(testhosts.TESTHOSTS_DIR, "bin", "crictl")} "$@"\n')
        assert os.access(f"{root}/usr/local/bin/crictl", os.X_OK)
        with open(f"{root}/usr/local/bin/kubeadm", encoding="utf-8") as handle:
            assert handle.read().endswith(f'{os.path.join(testhosts.TESTHOSTS_DIR, "bin", "kubeadm")} "$@"\n')
    if os.path.exists("/usr/local/bin/crictl"):  # a machine may have its own; it must not be the hosts' wrapper
        with open("/usr/local/bin/crictl", "rb") as handle:
            assert testhosts.TESTHOSTS_DIR.encode() not in handle.read()
    assert not os.path.exists("/etc/kubernetes/manifests/kube-apiserver.yaml") or os.path.realpath(
        "/etc/kubernetes"
    ) != os.path.realpath(f"/proc/{hosts[0]['init']['pid']}/root/etc/kubernetes")
    assert mount_points() == mounts_before  # every mount is inside the hosts' own mount namespaces
    os.kill(hosts[0]["init"]["pid"], 9)  # a host dies on its own: down must still clean up the rest
    down = driver(run_dir, "down")
    assert down.returncode == 0, down.stdout + down.stderr
    assert "verified: no process in their namespaces" in down.stdout
    namespaces = [link for host in hosts for link in host["namespaces"].values()]
    assert procutil.processes_in_namespaces(namespaces) == []
    for host in hosts:
        for role in ("init", "unshare"):
            assert not procutil.is_same_process(host[role]["pid"], host[role]["start"])
    assert mount_points() == mounts_before
    assert not run_dir.exists()
    assert driver(run_dir, "down").stdout.startswith("testhosts: nothing to tear down")
    assert time.monotonic() - started < 30


def processes_mentioning(text):
    found = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                if text.encode() in handle.read():
                    found.append(int(entry))
        except (OSError, ValueError):
            continue
    return found


@root_with_namespaces
def test_a_failed_up_tears_down_the_hosts_it_had_started(tmp_path):
    run_dir = tmp_path / "run"
    up = driver(run_dir, "up", "--hosts=2", "--timeout=0")
    assert up.returncode == 1
    assert "not up after 0.0 s" in up.stdout and "tearing down what was made" in up.stdout
    assert processes_mentioning(str(run_dir)) == []
    assert not run_dir.exists()


# Run on a master by the interpreter Ansible uses there: every place a top-level module imports from, but the
# standard library's directories (sys.path's "" left out: the login's cwd is not where Ansible's modules import from).
LIST_NON_STDLIB = r"""
import json, os, pkgutil, sys, sysconfig
paths = sysconfig.get_paths()
stdlib = {os.path.realpath(paths[name]) for name in ("stdlib", "platstdlib")}
stdlib |= {os.path.join(path, "lib-dynload") for path in stdlib}
found = set()
for module in pkgutil.iter_modules([path for path in sys.path if path]):
    where = getattr(module.module_finder, "path", None) or getattr(module.module_finder, "archive", "?")
    if os.path.realpath(where) not in stdlib:
        found.add(f"{module.name} in {where}")
print(json.dumps(sorted(found)))
"""


def ansible(run_dir, module, arguments):
    """``ansible all -m MODULE -a ARGUMENTS`` on a run's inventory, as users run it; the host's result."""
    ansible_bin, inventory = os.path.join(os.path.dirname(sys.executable), "ansible"), str(run_dir / "inventory.yml")
    result = subprocess.run(
        [ansible_bin, "-i", inventory, "all", "-m", module, "-a", arguments],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=dict(os.environ, ANSIBLE_STDOUT_CALLBACK="ansible.builtin.default", ANSIBLE_NOCOLOR="1"),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("master-1 | SUCCESS => {"), result.stdout + result.stderr
    return json.loads(result.stdout.split(" => ", 1)[1])


def on_master(run_dir, *command):
    """COMMAND on master-1 over ssh (the run's ssh_config: its key, its known_hosts)."""
    argv = ["ssh", "-F", str(run_dir / "ssh_config"), "master-1", " ".join(shlex.quote(word) for word in command)]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)


@root_with_namespaces
def test_the_interpreter_ansible_uses_on_a_master_has_the_standard_library_only(tmp_path):
    """A bare master, like a fresh control-plane node: no PyYAML, no ruamel.yaml, no third-party library at all."""
    run_dir = tmp_path / "run"
    up = driver(run_dir, "up", "--hosts=1")
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        # Ansible itself reports the interpreter its modules ran with on the master
        facts = ansible(run_dir, "ansible.builtin.setup", "gather_subset=!all filter=ansible_python")["ansible_facts"]
        python = facts["ansible_python"]["executable"]
        assert python == testhosts.MASTER_PYTHON == "/usr/bin/python3"
        for module, missing in (("yaml", "yaml"), ("ruamel.yaml", "ruamel")):
            result = on_master(run_dir, python, "-c", f"import {module}")
            assert result.returncode == 1, f"{module} imports on the master: {result.stdout}{result.stderr}"
            assert f"ModuleNotFoundError: No module named '{missing}'" in result.stderr
        result = on_master(run_dir, python, "-c", "import json; print(json.dumps({'stdlib': True}))")
        assert (result.returncode, result.stdout) == (0, '{"stdlib": true}\n'), result.stderr
        result = on_master(run_dir, python, "-c", LIST_NON_STDLIB)
        assert (result.returncode, json.loads(result.stdout or "null")) == (0, []), result.stderr
        # the stand-ins, on the venv's Python, keep its libraries (the kubelet stand-in parses manifests with them)
        assert "kube-apiserver running ready" in driver(run_dir, "status").stdout
    finally:
        down = driver(run_dir, "down")
    assert down.returncode == 0, down.stdout + down.stderr


def test_the_site_directories_hidden_are_the_outermost_existing_ones_and_never_the_stand_ins(tmp_path):
    site, user = tmp_path / "dist-packages", tmp_path / "user-site"
    (site / "nested").mkdir(parents=True)
    report = {"third_party": [str(site / "nested"), str(tmp_path / "missing"), str(site), str(site / "nested")]}
    assert hostinit.site_dirs_to_hide(report, [str(tmp_path / "venv" / "site-packages")]) == [str(site)]
    user.mkdir()
    with pytest.raises(RuntimeError, match=r"the stand-ins need .*user-site/venv"):
        hostinit.site_dirs_to_hide({"third_party": [str(user)]}, [str(user / "venv")])


def test_an_unknown_fixture_is_refused_before_anything_starts(tmp_path):
    up = driver(tmp_path / "run", "up", "--hosts=1", "--fixtures=no-such-manifest.yaml")
    assert up.returncode == 1
    assert "no-such-manifest.yaml is not in tests/fixtures/manifests" in up.stdout

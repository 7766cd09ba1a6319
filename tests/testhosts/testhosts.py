#!/usr/bin/env python
"""Test masters without Docker: ``testhosts.py up|down|status|inventory|ssh`` (run as root, with the project venv).

Each test master is a set of namespaces (mount, UTS, PID) with its own hostname, private /etc, /root, /var, /usr
(overlayfs; the machine's files are never written), tmpfs /etc/kubernetes, /var/log, /run and /tmp, its own sshd
listening on its own loopback address (127.0.10.N), a kubelet stand-in running a kube-apiserver stand-in from a
real kubeadm manifest, and for Ansible a bare /usr/bin/python3 (its standard library only, ``tests/README.md``).
Everything a run makes is recorded in ``<run dir>/state.json`` (PIDs with their start times, namespaces), so
``down`` ends exactly those processes, after a failed ``up`` too.

    .venv/bin/python tests/testhosts/testhosts.py [--run-dir DIR] up [--hosts 3] [--joining master-3]
    .venv/bin/python tests/testhosts/testhosts.py status
    ansible -i .tmp/testhosts/default/inventory.yml all -m ping
    .venv/bin/python tests/testhosts/testhosts.py down
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import errno
import fcntl
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from typing import Dict, List, Optional, Tuple

TESTHOSTS_DIR = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(TESTHOSTS_DIR))
sys.path.insert(0, TESTHOSTS_DIR)

from standin import configmaps, kubeconfig, procutil, static_pods  # noqa: E402 - needs the path above

FIXTURES_DIR = os.path.join(REPO, "tests", "fixtures", "manifests")
# One real kubeadm manifest per host, in this order (a fourth host and more cycle through the list).
APISERVER_FIXTURES = (
    "kube-apiserver-v1.29.0-debian.yaml",
    "kube-apiserver-v1.29.3-rhel-nnf-shape.yaml",
    "kube-apiserver-v1.32.0-minikube-8443.yaml",
    "kube-apiserver-v1.29.0-etc-pki.yaml",
    "kube-apiserver-v1.30.0.yaml",
)
ETCD_FIXTURE = "etcd-v3.5.10.yaml"
SCHEDULER_FIXTURE = "kube-scheduler-v1.29.0.yaml"
STRAY_NAMES = ("kube-apiserver.yaml-orig", "kube-apiserver.yaml.bak")
# The kube-system/kubeadm-config ConfigMap's ClusterConfiguration, by kubeadm API version (--kubeadm-config).
KUBEADM_FIXTURES_DIR = os.path.join(REPO, "tests", "fixtures", "kubeadm")
KUBEADM_CONFIG_FIXTURES = {
    "v1beta3": "cluster-configuration-v1beta3-v1.29.0.yaml",  # kubeadm 1.29 and 1.30
    "v1beta4": "cluster-configuration-v1beta4-v1.32.0.yaml",  # kubeadm 1.31 and later
}
# On each host: what kubeadm made for the node (the kubeadm stand-in's defaults) and the credentials join writes.
KUBEADM_DEFAULTS_DIR = "/etc/kubernetes/.kubeadm-standin"
ADMIN_CONF = "/etc/kubernetes/admin.conf"
# kubeadm 1.29+: admin.conf's user is in kubeadm:cluster-admins (bound to cluster-admin); system:masters is
# super-admin.conf's.
ADMIN_SUBJECT = "/O=kubeadm:cluster-admins/CN=kubernetes-admin"
# The test cluster's store ("etcd"), shared by every kube-apiserver stand-in of the run (standin/configmaps.py).
STORE = os.path.join("cluster", "store.json")
DEFAULT_RUN_DIR = os.path.join(REPO, ".tmp", "testhosts", "default")
UP_LOCK = os.path.join(REPO, ".tmp", "testhosts", ".up.lock")
OVERLAY_DIRS = ("/etc", "/root", "/var", "/usr", "/opt", "/srv")
TMPFS_DIRS = (("/etc/kubernetes", "0755"), ("/var/log", "0755"), ("/run", "0755"), ("/tmp", "1777"))
# New mount, UTS and PID namespaces; --kill-child: the host dies with unshare (which ignores SIGTERM).
UNSHARE = ("unshare", "--mount", "--uts", "--pid", "--fork", "--kill-child", "--propagation", "private", "--")
SUBNETS = tuple(f"127.0.{octet}" for octet in range(10, 20))
SSH_PORTS = (22, 2222)
COLLECTIONS = os.path.join(REPO, ".tmp", "collections")
# The interpreter Ansible uses on a test master: the machine's own Python 3, of which a host sees only the standard
# library (hostinit.py hides every site directory), as on a fresh control-plane node. The stand-ins run with the
# project venv's Python (sys.executable), which lives outside those directories.
MASTER_PYTHON = "/usr/bin/python3"
# What the run dir holds; ``down`` removes these and nothing else.
RUN_ENTRIES = (
    "state.json",
    "state.json.tmp",
    "hosts",
    "ssh",
    "pki",
    "cluster",
    "inventory.yml",
    "instances.json",
    "ssh_config",
)


class TestHostError(Exception):
    """A failure to report on one line, exit status 1."""


def say(message: str) -> None:
    print(f"testhosts: {message}", flush=True)


def now_iso() -> str:
    return datetime.datetime.now(tz=datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def run(argv: List[str]) -> None:
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise TestHostError(f"{' '.join(argv[:3])}... failed: {result.stderr.strip()}")


# --------------------------------------------------------------------------------------------------- state


class RunState:
    """``state.json``: written atomically after every process start, read by down/status."""

    def __init__(self, run_dir: str):
        self.run_dir = os.path.abspath(run_dir)
        self.path = os.path.join(self.run_dir, "state.json")
        self.data: Dict = {}

    def exists(self) -> bool:
        return os.path.exists(self.path)

    def load(self) -> RunState:
        with open(self.path, encoding="utf-8") as handle:
            self.data = json.load(handle)
        return self

    def save(self) -> None:
        temporary = self.path + ".tmp"
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump(self.data, handle, indent=2)
            handle.write("\n")
        os.replace(temporary, self.path)

    @property
    def hosts(self) -> List[Dict]:
        return self.data.setdefault("hosts", [])

    def live_processes(self) -> List[Tuple[str, int]]:
        found = []
        for host in self.hosts:
            for role in ("init", "unshare"):
                record = host.get(role) or {}
                if procutil.is_same_process(record.get("pid"), record.get("start")):
                    found.append((f"{host['name']} {role}", record["pid"]))
        return found


# --------------------------------------------------------------------------------------------------- seeding


def original_address(text: str) -> Optional[str]:
    """The node address a kubeadm manifest was generated for (apiserver endpoint annotation, flag, etcd URL)."""
    for pattern in (
        r"kube-apiserver\.advertise-address\.endpoint:\s*([0-9.]+):\d+",
        r"--advertise-address=([0-9.]+)\b",
        r"etcd\.advertise-client-urls:\s*https?://([0-9.]+):",
    ):
        match = re.search(pattern, text)
        if match:
            return match.group(1)
    return None


def localize_manifest(text: str, address: str) -> str:
    """The manifest as kubeadm would have written it on this host: its node address replaced by ``address``.

    Only the address changes (every occurrence: flags, probes, annotations, etcd URLs); loopback addresses stay.
    The placeholders of the documentation-derived v1.30 fixture are filled in the way kubeadm fills them.
    """
    old = original_address(text)
    if old and not old.startswith("127."):
        text = re.sub(r"(?<![0-9.])" + re.escape(old) + r"(?![0-9])", address, text)
    for placeholder, value in (
        ("--service-cluster-ip-range=<ip>", "--service-cluster-ip-range=10.96.0.0/12"),
        ("--etcd-servers=<url>", "--etcd-servers=https://127.0.0.1:2379"),
        ("<port>", "6443"),
        ("<ip>", address),
    ):
        text = text.replace(placeholder, value)
    return text


def flag_in(text: str, name: str) -> Optional[str]:
    match = re.search(rf"--{re.escape(name)}=(\S+)", text)
    return match.group(1) if match else None


def write_file(path: str, data, mode: int = 0o644) -> None:
    os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
    with open(path, "wb" if isinstance(data, bytes) else "w") as handle:
        handle.write(data)
    os.chmod(path, mode)


def make_pki(pki_dir: str, addresses: List[str]) -> None:
    """A CA, one serving certificate for every host address and admin.conf's client certificate (EC P-256: fast).

    Made once per run: every host's kube-apiserver stand-in serves ``apiserver.crt`` and trusts clients of
    ``ca.crt``; ``admin.crt`` is the ``kubernetes-admin`` user of every host's ``/etc/kubernetes/admin.conf``.
    """
    os.makedirs(pki_dir, mode=0o700, exist_ok=True)
    ca_key, ca_crt = os.path.join(pki_dir, "ca.key"), os.path.join(pki_dir, "ca.crt")
    key, csr, crt = (os.path.join(pki_dir, f"apiserver.{ext}") for ext in ("key", "csr", "crt"))
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run(["openssl", "req", "-x509", *ec, "-keyout", ca_key, "-out", ca_crt, "-days", "7", "-subj", "/CN=kubernetes"])
    run(["openssl", "req", "-new", *ec, "-keyout", key, "-out", csr, "-subj", "/CN=kube-apiserver"])
    names = ["DNS:localhost", "DNS:kubernetes", "DNS:kubernetes.default", "DNS:kubernetes.default.svc", "IP:127.0.0.1"]
    names += [f"IP:{address}" for address in addresses]
    extensions = os.path.join(pki_dir, "apiserver.ext")
    write_file(extensions, f"subjectAltName={','.join(names)}\nextendedKeyUsage=serverAuth\n", 0o600)
    sign = ["-CA", ca_crt, "-CAkey", ca_key, "-CAcreateserial", "-days", "7", "-extfile", extensions]
    run(["openssl", "x509", "-req", "-in", csr, *sign, "-out", crt])
    admin_key, admin_csr, admin_crt = (os.path.join(pki_dir, f"admin.{ext}") for ext in ("key", "csr", "crt"))
    run(["openssl", "req", "-new", *ec, "-keyout", admin_key, "-out", admin_csr, "-subj", ADMIN_SUBJECT])
    client_extensions = os.path.join(pki_dir, "admin.ext")
    write_file(client_extensions, "keyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n", 0o600)
    sign = ["-CA", ca_crt, "-CAkey", ca_key, "-CAcreateserial", "-days", "7", "-extfile", client_extensions]
    run(["openssl", "x509", "-req", "-in", admin_csr, *sign, "-out", admin_crt])


def sshd_config(name: str, address: str, port: int) -> str:
    return f"""\
# sshd of test master {name} (tests/testhosts): root by key only, on this host's own address.
ListenAddress {address}:{port}
HostKey /etc/ssh/ssh_host_ed25519_key
PidFile /run/sshd.pid
PermitRootLogin prohibit-password
PubkeyAuthentication yes
AuthorizedKeysFile .ssh/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PrintMotd no
PrintLastLog no
UseDNS no
MaxStartups 100:30:200
MaxSessions 50
AcceptEnv LANG LC_*
Subsystem sftp internal-sftp
"""


def seed_host(host: Dict, run_dir: str, client_public_key: str, with_strays: bool) -> None:
    """Everything copied over the host's / at boot: manifests, kubeadm's records, PKI, sshd, key, Ansible facts.

    A master gets its static pod manifests and ``/etc/kubernetes/admin.conf``; a joining host (``--joining``) an
    empty manifests directory and neither. Both get what kubeadm made for the node in ``KUBEADM_DEFAULTS_DIR``
    (the kubeadm stand-in's defaults, and the admin.conf ``kubeadm join --control-plane`` writes), and the path of
    the run's store in ``/run/kubelet-standin/cluster-store`` (where the kube-apiserver stand-in finds it).
    """
    seed = os.path.join(host["host_dir"], "seed")
    address = host["address"]
    with open(os.path.join(FIXTURES_DIR, host["fixture"]), encoding="utf-8") as handle:
        apiserver = localize_manifest(handle.read(), address)
    with open(os.path.join(FIXTURES_DIR, ETCD_FIXTURE), encoding="utf-8") as handle:
        etcd = localize_manifest(handle.read(), address)
    with open(os.path.join(FIXTURES_DIR, SCHEDULER_FIXTURE), encoding="utf-8") as handle:
        scheduler = handle.read()
    pki = os.path.join(run_dir, "pki")
    pems = {}
    for name in ("ca.crt", "admin.crt", "admin.key"):
        with open(os.path.join(pki, name), "rb") as handle:
            pems[name] = handle.read()
    server = f"https://{address}:{host['apiserver_port']}"
    admin_conf = kubeconfig.admin_kubeconfig(server, pems["ca.crt"], pems["admin.crt"], pems["admin.key"])
    records = os.path.join(seed, KUBEADM_DEFAULTS_DIR.lstrip("/"))
    for name, text in (
        ("kube-apiserver.yaml", apiserver),
        ("etcd.yaml", etcd),
        ("kube-scheduler.yaml", scheduler),
        ("admin.conf", admin_conf),
    ):
        write_file(os.path.join(records, name), text, 0o600)
    os.chmod(records, 0o700)
    write_file(
        os.path.join(seed, "run", "kubelet-standin", configmaps.STORE_POINTER), os.path.join(run_dir, STORE) + "\n"
    )
    manifests = os.path.join(seed, "etc", "kubernetes", "manifests")
    os.makedirs(manifests, mode=0o755, exist_ok=True)
    host["strays"] = []
    if host.get("joining"):
        with_strays = False
    else:
        write_file(os.path.join(manifests, "kube-apiserver.yaml"), apiserver, 0o600)
        write_file(os.path.join(manifests, "etcd.yaml"), etcd, 0o600)
        write_file(os.path.join(manifests, "kube-scheduler.yaml"), scheduler, 0o600)
        write_file(os.path.join(seed, ADMIN_CONF.lstrip("/")), admin_conf, 0o600)
    if with_strays:
        for name in STRAY_NAMES:
            write_file(os.path.join(manifests, name), apiserver, 0o600)
            host["strays"].append(os.path.join("/etc/kubernetes/manifests", name))
        shutil.copyfile(os.path.join(TESTHOSTS_DIR, "seed", "haproxy.yaml"), os.path.join(manifests, "haproxy.yaml"))
        os.chmod(os.path.join(manifests, "haproxy.yaml"), 0o600)

    for flag, source, mode in (
        ("tls-cert-file", "apiserver.crt", 0o644),
        ("tls-private-key-file", "apiserver.key", 0o600),
        ("client-ca-file", "ca.crt", 0o644),
    ):
        target = flag_in(apiserver, flag)
        if target:
            with open(os.path.join(pki, source), "rb") as handle:
                write_file(os.path.join(seed, target.lstrip("/")), handle.read(), mode)

    ssh = os.path.join(seed, "etc", "ssh")
    write_file(os.path.join(ssh, "sshd_config"), sshd_config(host["name"], address, host["ssh_port"]), 0o644)
    write_file(os.path.join(seed, "root", ".ssh", "authorized_keys"), client_public_key, 0o600)
    os.chmod(os.path.join(seed, "root", ".ssh"), 0o700)
    os.chmod(os.path.join(seed, "root"), 0o700)
    facts = {
        "name": host["name"],
        "address": address,
        "ssh_port": host["ssh_port"],
        "fixture": host["fixture"],
        "apiserver_port": host["apiserver_port"],
        "stray_files": host["strays"],
        "kubelet_state_dir": "/run/kubelet-standin",
        "joining": bool(host.get("joining")),
        "admin_conf": ADMIN_CONF,
        "kubeadm_defaults_dir": KUBEADM_DEFAULTS_DIR,
        "kubeadm_config": host.get("kubeadm_config"),
    }
    write_file(os.path.join(seed, "etc", "ansible", "facts.d", "testhost.fact"), json.dumps(facts, indent=2) + "\n")


def fixture_version(fixture: str) -> str:
    """The Kubernetes version of a kube-apiserver fixture: its image tag (``v1.29.3``)."""
    with open(os.path.join(FIXTURES_DIR, fixture), encoding="utf-8") as handle:
        match = re.search(r"image: \S+/kube-apiserver:(v[0-9][^\s]*)", handle.read())
    if not match:
        raise TestHostError(f"{fixture} names no kube-apiserver image tag")
    return match.group(1)


def default_kubeadm_config(fixture: str) -> str:
    """The ClusterConfiguration version kubeadm of the fixture's Kubernetes writes: v1beta4 from 1.31 on."""
    major, minor = (int(part) for part in fixture_version(fixture).lstrip("v").split(".")[:2])
    return "v1beta4" if (major, minor) >= (1, 31) else "v1beta3"


def cluster_configuration(api: str, first_master: Dict) -> str:
    """The kubeadm-config ConfigMap's text: the fixture of ``api``, for the first master's version and address.

    ``kubernetesVersion`` becomes the first master's (its image tag); the address the fixture was written for
    (``controlPlaneEndpoint``, ``certSANs``) becomes the first master's address and port.
    """
    with open(os.path.join(KUBEADM_FIXTURES_DIR, KUBEADM_CONFIG_FIXTURES[api]), encoding="utf-8") as handle:
        text = handle.read()
    version = fixture_version(first_master["fixture"])
    text = re.sub(r"(?m)^kubernetesVersion: .*$", f"kubernetesVersion: {version}", text)
    endpoint = re.search(r"(?m)^controlPlaneEndpoint: ([0-9.]+):(\d+)$", text)
    if endpoint:
        old = endpoint.group(1)
        text = text.replace(endpoint.group(0), f"controlPlaneEndpoint: {old}:{first_master['apiserver_port']}")
        text = re.sub(r"(?<![0-9.])" + re.escape(old) + r"(?![0-9])", first_master["address"], text)
    return text


def apiserver_port(fixture: str, address: str) -> int:
    with open(os.path.join(FIXTURES_DIR, fixture), encoding="utf-8") as handle:
        pod = static_pods.parse_pod(localize_manifest(handle.read(), address), fixture)
    endpoint = static_pods.probe_endpoint(static_pods.find_container(pod), address)
    return endpoint[2] if endpoint else 6443


def bindable(address: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((address, port))
        except OSError:
            return False
    return True


def choose_addresses(count: int, fixtures: List[str], subnet: Optional[str]) -> Tuple[List[str], int]:
    """The first subnet (127.0.10, 127.0.11...) and ssh port where every host's ssh and apiserver port is free."""
    for candidate in [subnet] if subnet else SUBNETS:
        addresses = [f"{candidate}.{index + 1}" for index in range(count)]
        for ssh_port in SSH_PORTS:
            wanted = [(a, ssh_port) for a in addresses]
            wanted += [(a, apiserver_port(fixture, a)) for a, fixture in zip(addresses, fixtures)]
            if all(bindable(address, port) for address, port in wanted):
                return addresses, ssh_port
    raise TestHostError("no free loopback subnet: ports are taken on 127.0.10.x to 127.0.19.x (another run is up?)")


# --------------------------------------------------------------------------------------------------- up


def up(args: argparse.Namespace) -> int:
    names = args.names.split(",") if args.names else [f"master-{index + 1}" for index in range(args.hosts)]
    fixtures = [APISERVER_FIXTURES[index % len(APISERVER_FIXTURES)] for index in range(len(names))]
    if args.fixtures:
        fixtures = args.fixtures.split(",")
        if len(fixtures) != len(names):
            raise TestHostError("--fixtures needs one manifest per host")
        for fixture in fixtures:
            if not os.path.isfile(os.path.join(FIXTURES_DIR, fixture)):
                raise TestHostError(f"{fixture} is not in tests/fixtures/manifests")
    if args.stray_host and args.stray_host not in names:
        raise TestHostError(f"--stray-host {args.stray_host} is none of the hosts ({', '.join(names)})")
    joining = [name for name in (args.joining or "").split(",") if name]
    for name in joining:
        if name not in names:
            raise TestHostError(f"--joining {name} is none of the hosts ({', '.join(names)})")
    masters = [name for name in names if name not in joining]
    if not masters:
        raise TestHostError("--joining needs at least one host that is a master already (its API serves the join)")
    if args.stray_host in joining:
        raise TestHostError(f"--stray-host {args.stray_host} is joining: stray manifests would make it a master")
    if os.geteuid() != 0:
        raise TestHostError("test masters need root (namespaces, mounts, sshd)")
    for tool in ("unshare", "openssl", "ssh-keygen", "/usr/sbin/sshd", MASTER_PYTHON):
        if shutil.which(tool) is None:
            raise TestHostError(f"{tool} is missing (apt-get install -y openssh-server openssl util-linux python3)")
    state = RunState(args.run_dir)
    if state.exists():
        state.load()
        if state.live_processes():
            raise TestHostError(f"{state.run_dir} is already up; run 'down' first")
        problems = teardown(state)  # stale state of a run that died without down
        if problems:
            raise TestHostError("an earlier run left things behind: " + "; ".join(problems))
    stray_host = args.stray_host or masters[0]
    first_master = names.index(masters[0])
    kubeadm_api = args.kubeadm_config or default_kubeadm_config(fixtures[first_master])
    started = time.monotonic()
    os.makedirs(state.run_dir, mode=0o700, exist_ok=True)
    state.data = {"format": 1, "run_dir": state.run_dir, "repo": REPO, "python": sys.executable, "created": now_iso()}
    state.save()
    try:
        # Runs from one checkout take turns: address choice and sshd start must not interleave.
        os.makedirs(os.path.dirname(UP_LOCK), exist_ok=True)
        with open(UP_LOCK, "a", encoding="utf-8") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            bring_up(state, args, names, fixtures, stray_host, joining=joining, kubeadm_api=kubeadm_api)
    except BaseException:
        if not args.keep_on_failure:
            say("up failed: tearing down what was made")
            teardown(state)
        raise
    say(f"{len(names)} hosts up in {time.monotonic() - started:.1f} s (run dir {state.run_dir})")
    print_status(state)
    return 0


def bring_up(
    state: RunState,
    args: argparse.Namespace,
    names: List[str],
    fixtures: List[str],
    stray_host: str,
    *,
    joining: List[str],
    kubeadm_api: str,
) -> None:
    run_dir = state.run_dir
    addresses, ssh_port = choose_addresses(len(names), fixtures, args.subnet)
    ensure_collection_link()
    ssh_dir = os.path.join(run_dir, "ssh")
    os.makedirs(ssh_dir, mode=0o700, exist_ok=True)
    identity = os.path.join(ssh_dir, "id_ed25519")
    hosts = []
    for name, address, fixture in zip(names, addresses, fixtures):
        host_dir = os.path.join(run_dir, "hosts", name)
        os.makedirs(os.path.join(host_dir, "scratch"), mode=0o700)
        hosts.append(
            {
                "name": name,
                "address": address,
                "ssh_port": ssh_port,
                "apiserver_port": apiserver_port(fixture, address),
                "fixture": fixture,
                "host_dir": host_dir,
                "joining": name in joining,
                "kubeadm_config": kubeadm_api,
            }
        )
    keygen = [["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"testhosts@{run_dir}", "-f", identity]]
    for host in hosts:
        host_key = os.path.join(host["host_dir"], "seed", "etc", "ssh", "ssh_host_ed25519_key")
        os.makedirs(os.path.dirname(host_key), mode=0o755)
        keygen.append(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"root@{host['name']}", "-f", host_key])
    processes = [subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for argv in keygen]
    make_pki(os.path.join(run_dir, "pki"), addresses)
    for process in processes:
        if process.wait() != 0:
            raise TestHostError(f"ssh-keygen failed: {process.stderr.read().decode().strip()}")
    with open(identity + ".pub", encoding="utf-8") as handle:
        client_public_key = handle.read()
    first_master = next(host for host in hosts if not host["joining"])
    configmaps.seed_store(os.path.join(run_dir, STORE), cluster_configuration(kubeadm_api, first_master))
    known_hosts = []
    for host in hosts:
        seed_host(host, run_dir, client_public_key, with_strays=host["name"] == stray_host)
        with open(
            os.path.join(host["host_dir"], "seed", "etc", "ssh", "ssh_host_ed25519_key.pub"), encoding="utf-8"
        ) as h:
            key_type, key = h.read().split()[:2]
        where = host["address"] if host["ssh_port"] == 22 else f"[{host['address']}]:{host['ssh_port']}"
        known_hosts.append(f"{where} {key_type} {key}\n")
        write_host_config(host, state, args)
    write_file(os.path.join(ssh_dir, "known_hosts"), "".join(known_hosts), 0o600)
    state.data["ssh"] = {"user": "root", "identity_file": identity, "known_hosts": os.path.join(ssh_dir, "known_hosts")}
    state.data["hosts"] = hosts
    state.save()

    for host in hosts:
        start_host(host, state)
    wait_until_up(state, args.timeout, wait_for_apiserver=not args.no_wait)
    write_client_files(state)


def ensure_collection_link() -> None:
    """The collection importable as ansible_collections.nnf.kube_audit (molecule's ANSIBLE_COLLECTIONS_PATH)."""
    link = os.path.join(COLLECTIONS, "ansible_collections", "nnf", "kube_audit")
    if not os.path.lexists(link):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(os.path.relpath(REPO, os.path.dirname(link)), link)


def write_host_config(host: Dict, state: RunState, args: argparse.Namespace) -> None:
    kubelet_args = [
        f"--node-name={host['name']}",
        f"--node-address={host['address']}",
        f"--backoff-base={args.backoff_base}",
        f"--backoff-max={args.backoff_max}",
        f"--file-check-frequency={args.file_check_frequency}",
        f"--python={sys.executable}",
    ]
    writable = [*OVERLAY_DIRS, *(directory for directory, _mode in TMPFS_DIRS)]
    kubelet_args += [f"--writable-root={root}" for root in writable]
    config = {
        "name": host["name"],
        "address": host["address"],
        "run_dir": state.run_dir,
        "python": sys.executable,
        "master_python": MASTER_PYTHON,
        "testhosts_dir": TESTHOSTS_DIR,
        "overlay_dirs": list(OVERLAY_DIRS),
        "tmpfs_dirs": [list(entry) for entry in TMPFS_DIRS],
        "writable_roots": writable,
        "keep_real": sorted({REPO, state.run_dir, os.path.realpath(REPO), os.path.realpath(state.run_dir)}),
        "kubelet_args": kubelet_args,
    }
    write_file(os.path.join(host["host_dir"], "host.json"), json.dumps(config, indent=2) + "\n", 0o600)
    if args.ready_delay is not None:
        write_file(
            os.path.join(host["host_dir"], "seed", "run", "kubelet-standin", "ready-delay"), f"{args.ready_delay}\n"
        )


def start_host(host: Dict, state: RunState) -> None:
    host_dir = host["host_dir"]
    with open(os.path.join(host_dir, "hostinit.log"), "ab") as log:
        process = subprocess.Popen(
            [*UNSHARE, sys.executable, os.path.join(TESTHOSTS_DIR, "hostinit.py"), host_dir],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
            env={"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"},
        )
    host["unshare"] = {"pid": process.pid, "start": procutil.start_time(process.pid)}
    state.save()


def host_status(host: Dict) -> Optional[Dict]:
    """The kubelet stand-in's status.json, read from outside through the host's root."""
    init = host.get("init") or {}
    if not procutil.is_same_process(init.get("pid"), init.get("start")):
        return None
    try:
        with open(f"/proc/{init['pid']}/root/run/kubelet-standin/status.json", encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def ssh_answers(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=0.5) as connection:
            return connection.recv(8).startswith(b"SSH-")
    except OSError:
        return False


def apiserver_settled(status: Optional[Dict], joining: bool = False) -> bool:
    """Ready, or visibly not going to be (crashed at least once, or volumes failing): ``up`` stops waiting.

    A joining host has no kube-apiserver yet: its kubelet stand-in running (a status written) is enough.
    """
    if joining:
        return bool(status)
    if not status or not status.get("apiserver"):
        return bool(status) and status.get("podStarts", 0) == 0 and bool(status.get("staticPods"))
    apiserver = status["apiserver"]
    return bool(apiserver.get("ready") or apiserver.get("lastState") or apiserver.get("mountErrors"))


def wait_until_up(state: RunState, timeout: float, wait_for_apiserver: bool) -> None:
    deadline = time.monotonic() + timeout
    pending = {host["name"] for host in state.hosts}
    while pending:
        for host in state.hosts:
            if host["name"] not in pending:
                continue
            unshare = host["unshare"]
            if not procutil.is_same_process(unshare["pid"], unshare["start"]):
                raise TestHostError(f"{host['name']} died while starting:\n{tail(host, 'hostinit.log')}")
            if "init" not in host:
                record = read_json(os.path.join(host["host_dir"], "init.json"))
                if record is None:
                    continue
                host["init"] = record
                host["namespaces"] = procutil.namespace_ids(record["pid"])
                state.save()
            if ssh_answers(host["address"], host["ssh_port"]) and (
                not wait_for_apiserver or apiserver_settled(host_status(host), host.get("joining"))
            ):
                pending.discard(host["name"])
        if pending and time.monotonic() > deadline:
            raise TestHostError(f"not up after {timeout} s: {', '.join(sorted(pending))}")
        if pending:
            time.sleep(0.05)


def read_json(path: str) -> Optional[Dict]:
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def tail(host: Dict, name: str, lines: int = 20) -> str:
    try:
        with open(os.path.join(host["host_dir"], name), encoding="utf-8", errors="replace") as handle:
            return "".join(handle.readlines()[-lines:])
    except OSError:
        return "(no log)"


def write_client_files(state: RunState) -> None:
    """instances.json (molecule_instance_config entries), inventory.yml and ssh_config for plain use."""
    ssh = state.data["ssh"]
    common_args = ssh_options(state)
    instances = [
        {
            "instance": host["name"],
            "address": host["address"],
            "user": ssh["user"],
            "port": host["ssh_port"],
            "identity_file": ssh["identity_file"],
        }
        for host in state.hosts
    ]
    write_file(os.path.join(state.run_dir, "instances.json"), json.dumps(instances, indent=2) + "\n", 0o600)
    lines = ["# Written by tests/testhosts/testhosts.py up; removed by down.", "all:", "  children:"]
    # hosts brought up with --joining are no masters yet: a group of their own, for kubeadm join
    for group, joining in (("kube_control_plane", False), ("kube_control_plane_joining", True)):
        members = [host for host in state.hosts if bool(host.get("joining")) == joining]
        if members:
            lines += [f"    {group}:", "      hosts:"]
        for host in members:
            lines.append(
                f"        {host['name']}: {{ansible_host: {host['address']}, ansible_port: {host['ssh_port']}}}"
            )
    lines += [
        "  vars:",
        f"    ansible_user: {ssh['user']}",
        f"    ansible_ssh_private_key_file: {ssh['identity_file']}",
        f"    ansible_ssh_common_args: {json.dumps(' '.join(common_args))}",
        f"    ansible_python_interpreter: {MASTER_PYTHON}",
        "",
    ]
    write_file(os.path.join(state.run_dir, "inventory.yml"), "\n".join(lines), 0o600)
    config = []
    for host in state.hosts:
        config += [f"Host {host['name']}", f"  HostName {host['address']}", f"  Port {host['ssh_port']}"]
        config += [f"  User {ssh['user']}", f"  IdentityFile {ssh['identity_file']}"]
        config += [f"  {option.split(' ', 1)[1].replace('=', ' ', 1)}" for option in common_args]
    write_file(os.path.join(state.run_dir, "ssh_config"), "\n".join(config) + "\n", 0o600)


def ssh_options(state: RunState) -> List[str]:
    return [
        f"-o UserKnownHostsFile={state.data['ssh']['known_hosts']}",
        "-o StrictHostKeyChecking=yes",
        "-o IdentitiesOnly=yes",
        "-o LogLevel=ERROR",
    ]


# --------------------------------------------------------------------------------------------------- down


def teardown(state: RunState) -> List[str]:
    """End every recorded process (by PID, checked against its start time), verify, remove the run's files.

    Returns the problems found (processes or mounts left), empty when everything is gone.
    """
    targets = []
    for host in state.hosts:
        for role in ("init", "unshare"):  # the namespace's PID 1 first: its death kills the whole host
            record = host.get(role) or {}
            if procutil.is_same_process(record.get("pid"), record.get("start")):
                targets.append((record["pid"], record["start"]))
    for pid, _start in targets:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)  # unshare ignores SIGTERM; hostinit as PID 1 may too
    deadline = time.monotonic() + 10
    while any(procutil.is_same_process(pid, start) for pid, start in targets) and time.monotonic() < deadline:
        time.sleep(0.02)
    problems = [f"process {pid} did not end" for pid, start in targets if procutil.is_same_process(pid, start)]
    namespaces = [link for host in state.hosts for link in (host.get("namespaces") or {}).values()]
    deadline = time.monotonic() + 5
    left = procutil.processes_in_namespaces(namespaces) if namespaces else []
    while left and time.monotonic() < deadline:
        time.sleep(0.05)
        left = procutil.processes_in_namespaces(namespaces)
    problems += [f"process {pid} is still in a test host namespace" for pid in left]
    mounts = mounts_under(state.run_dir)
    problems += [f"mount left at {mount}" for mount in mounts]
    if not problems:
        for entry in RUN_ENTRIES:
            path = os.path.join(state.run_dir, entry)
            if os.path.isdir(path) and not os.path.islink(path):
                remove_tree(path)
            elif os.path.lexists(path):
                os.remove(path)
        with contextlib.suppress(OSError):  # something else lives there (molecule's ephemeral dir): leave it
            os.rmdir(state.run_dir)
    return problems


def remove_tree(path: str, attempts: int = 100) -> None:
    """shutil.rmtree, retried while the kernel still tears the hosts' namespaces down.

    The last process of a host's mount namespace has exited, but the kernel unmounts its overlays a moment later,
    and overlayfs empties its work directory as it does: an rmtree racing that meets "Directory not empty".
    """
    for attempt in range(attempts):
        try:
            shutil.rmtree(path)
            return
        except OSError as exc:
            if exc.errno not in (errno.ENOTEMPTY, errno.EBUSY) or attempt == attempts - 1:
                raise
            time.sleep(0.05)


def mounts_under(directory: str) -> List[str]:
    """Mount points at or below ``directory`` in this (the machine's) mount namespace."""
    found = []
    with open("/proc/self/mountinfo", encoding="utf-8") as handle:
        for line in handle:
            mount_point = line.split()[4].encode().decode("unicode_escape")
            if mount_point == directory or mount_point.startswith(directory.rstrip("/") + "/"):
                found.append(mount_point)
    return found


def down(args: argparse.Namespace) -> int:
    state = RunState(args.run_dir)
    if not state.exists():
        say(f"nothing to tear down in {state.run_dir}")
        return 0
    started = time.monotonic()
    state.load()
    problems = teardown(state)
    if problems:
        raise TestHostError("teardown left things behind: " + "; ".join(problems))
    say(
        f"{len(state.hosts)} hosts down in {time.monotonic() - started:.2f} s; verified: no process in their "
        "namespaces, no mount under the run dir"
    )
    return 0


# --------------------------------------------------------------------------------------------------- status


def print_status(state: RunState) -> None:
    for host in state.hosts:
        init = host.get("init") or {}
        alive = procutil.is_same_process(init.get("pid"), init.get("start"))
        status = host_status(host) if alive else None
        apiserver = (status or {}).get("apiserver") or {}
        summary = "down"
        if alive:
            summary = "no kube-apiserver pod"
            if host.get("joining"):
                summary += " (joining: not a master until kubeadm join --control-plane)"
            if apiserver:
                ready = "ready" if apiserver.get("ready") else "not ready"
                summary = (
                    f"kube-apiserver {apiserver.get('state')} {ready}, restarts {apiserver.get('restartCount')}, "
                    f"from {apiserver.get('source')}"
                )
        print(
            f"  {host['name']:<10} {host['address']}:{host['ssh_port']:<5} apiserver :{host['apiserver_port']:<5} "
            f"{host['fixture']:<44} {summary}"
        )


def status(args: argparse.Namespace) -> int:
    state = RunState(args.run_dir)
    if not state.exists():
        say(f"no run in {state.run_dir}")
        return 1
    state.load()
    if args.json:
        report = {host["name"]: host_status(host) for host in state.hosts}
        print(json.dumps(report, indent=2))
    else:
        print_status(state)
    return 0


def inventory(args: argparse.Namespace) -> int:
    path = os.path.join(os.path.abspath(args.run_dir), "inventory.yml")
    if not os.path.exists(path):
        raise TestHostError(f"no inventory: is {args.run_dir} up?")
    with open(path, encoding="utf-8") as handle:
        sys.stdout.write(handle.read())
    return 0


def ssh(args: argparse.Namespace) -> int:
    config = os.path.join(os.path.abspath(args.run_dir), "ssh_config")
    os.execvp("ssh", ["ssh", "-F", config, args.host, *args.command])
    return 1


# --------------------------------------------------------------------------------------------------- main


def parse_arguments(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="testhosts", description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument(
        "--run-dir",
        default=os.environ.get("TESTHOSTS_RUN_DIR", DEFAULT_RUN_DIR),
        help="where the run's state lives (default: $TESTHOSTS_RUN_DIR or .tmp/testhosts/default)",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    up_parser = commands.add_parser("up", help="start test masters")
    up_parser.add_argument("--hosts", type=int, default=3, help="how many (default 3; names master-1...)")
    up_parser.add_argument("--names", help="comma-separated host names instead of --hosts")
    up_parser.add_argument("--fixtures", help="comma-separated kube-apiserver fixtures, one per host")
    up_parser.add_argument("--stray-host", help="host that gets stray backups and haproxy.yaml (default: first)")
    up_parser.add_argument(
        "--joining",
        help="comma-separated hosts brought up as not yet masters (no kube-apiserver manifest, no admin.conf), "
        "for kubeadm join --control-plane",
    )
    up_parser.add_argument(
        "--kubeadm-config",
        choices=sorted(KUBEADM_CONFIG_FIXTURES),
        help="kubeadm API version of the kubeadm-config ConfigMap (default: by the first master's Kubernetes: "
        "1.29/1.30 v1beta3, 1.31+ v1beta4)",
    )
    up_parser.add_argument("--subnet", help="loopback /24 to use, e.g. 127.0.10 (default: first free from 127.0.10)")
    up_parser.add_argument("--ready-delay", type=float, help="seconds before kube-apiserver is ready (default 0.5)")
    up_parser.add_argument("--backoff-base", type=float, default=1.0, help="first crash-loop delay (kubelet: 10 s)")
    up_parser.add_argument("--backoff-max", type=float, default=8.0, help="longest crash-loop delay (kubelet: 300 s)")
    up_parser.add_argument(
        "--file-check-frequency", type=float, default=20.0, help="seconds between the kubelet's full re-lists (20)"
    )
    up_parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for the hosts")
    up_parser.add_argument("--no-wait", action="store_true", help="do not wait for kube-apiserver, only for sshd")
    up_parser.add_argument("--keep-on-failure", action="store_true", help="leave a failed run up for inspection")
    up_parser.set_defaults(func=up)
    commands.add_parser("down", help="stop the run's test masters and remove its files").set_defaults(func=down)
    status_parser = commands.add_parser("status", help="show the test masters and their kube-apiserver")
    status_parser.add_argument("--json", action="store_true", help="the kubelet stand-ins' status.json, by host")
    status_parser.set_defaults(func=status)
    commands.add_parser("inventory", help="print the Ansible inventory").set_defaults(func=inventory)
    ssh_parser = commands.add_parser("ssh", help="ssh into a test master")
    ssh_parser.add_argument("host")
    ssh_parser.add_argument("command", nargs=argparse.REMAINDER)
    ssh_parser.set_defaults(func=ssh)
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_arguments(argv)
    try:
        return args.func(args)
    except TestHostError as exc:
        say(f"error: {exc}")
        return 1


if __name__ == "__main__":
    sys.exit(main())

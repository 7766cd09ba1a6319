"""kubeadm stand-in: ``kubeadm upgrade apply``, ``kubeadm upgrade node`` and ``kubeadm join --control-plane``.

On a test master it is ``/usr/local/bin/kubeadm`` (``hostinit.py`` writes the wrapper in the host's ``/usr``
overlay). It does what kubeadm does to kube-apiserver's static pod, with kubeadm's messages and exit codes:

    kubeadm upgrade apply VERSION [-y|--yes] [--kubeconfig PATH] [-f] [--etcd-upgrade=false] [-v N] ...
    kubeadm upgrade node [--kubeconfig PATH] ...
    kubeadm join ENDPOINT --control-plane [--token T] [--discovery-token-ca-cert-hash H] [--certificate-key K] ...


* reads the ClusterConfiguration from the ``kube-system/kubeadm-config`` ConfigMap **through the API**, as kubeadm
  does: ``upgrade`` with ``/etc/kubernetes/admin.conf`` (``--kubeconfig``) against this host's kube-apiserver,
  ``join`` against ``ENDPOINT`` with the credentials recorded for the node (see below);
* renders ``/etc/kubernetes/manifests/kube-apiserver.yaml`` from it (``kubeadm_config.render_apiserver``): the
  defaults are the manifest kubeadm made for this node, recorded at host creation in
  ``/etc/kubernetes/.kubeadm-standin/kube-apiserver.yaml``; flags merged with ``apiServer.extraArgs``, hostPath
  volumes with ``apiServer.extraVolumes``, sorted; everything else of the running manifest is lost;
* ``upgrade``: writes the new manifest in ``/etc/kubernetes/tmp/kubeadm-upgraded-manifestsNNN/``, moves the running
  one to ``/etc/kubernetes/tmp/kubeadm-backup-manifests-<YYYY-MM-DD-hh-mm-ss>/kube-apiserver.yaml`` and the new one
  into place (two renames, as kubeadm: the kubelet sees the pod go, then the new one), then waits for the kubelet
  stand-in to run a new, ready kube-apiserver pod from it (``/run/kubelet-standin/status.json``); on timeout it
  moves the backup back and fails ("kubeadm has tried to recover everything into the earlier state"). Manifests
  that decode to the same pod are left alone ("Current and new manifests of kube-apiserver are equal, skipping
  upgrade"); the (empty) backup directory stays, as kubeadm leaves it;
* ``upgrade apply VERSION [-y]``: version policy (one minor version up or down at most), confirmation (``-y``/
  ``--yes``, else a ``[y/N]`` question on stdin), the static pod with the new image tag, then the ConfigMap
  uploaded as kubeadm uploads it: the whole ClusterConfiguration re-marshalled with the new ``kubernetesVersion``,
  kubeadm's defaults, in the API version of that release (v1beta4 from v1.31: a v1beta3 ConfigMap is converted),
  written with a resourceVersion compare-and-swap retried on 409 (a concurrent change is overwritten, as kubeadm's
  CreateOrMutateConfigMap does);
* ``upgrade node``: the static pod from the ConfigMap as it is (no ConfigMap write);
* ``join ENDPOINT --control-plane``: preflight (the control-plane manifests must not exist yet), the ConfigMap read
  from ``ENDPOINT`` with ``/etc/kubernetes/.kubeadm-standin/admin.conf`` (standing in for the bootstrap token and
  the certificates ``--certificate-key`` would download), ``/etc/kubernetes/admin.conf`` (0600, this host's
  server), the recorded ``etcd.yaml``/``kube-scheduler.yaml`` and the rendered ``kube-apiserver.yaml`` (written to a
  temporary file and renamed in), then waits until the kubelet stand-in runs a ready kube-apiserver.

Only kube-apiserver is regenerated: kube-controller-manager, kube-scheduler and etcd manifests are not touched by
``upgrade``. Flags accepted and ignored: ``--certificate-renewal``, ``--etcd-upgrade``, ``--force``,
``--ignore-preflight-errors`` (honoured by join's preflight), ``--allow-*-upgrades``, ``--token``,
``--discovery-token-*``, ``--certificate-key``, ``--apiserver-*``, ``--node-name``, ``--cri-socket``, ``-v``. Any
other flag is ``unknown flag: --x``, exit 1.

Knob: ``/run/kubelet-standin/kubeadm-timeout`` (seconds to wait for the kubelet, default 60; kubeadm: 5m).
Environment (unit tests): ``KUBEADM_STANDIN_KUBERNETES_DIR`` (instead of /etc/kubernetes),
``KUBEADM_STANDIN_STATE_DIR`` (instead of /run/kubelet-standin).
"""

from __future__ import annotations

import http.client
import json
import os
import random
import shutil
import socket
import sys
import time
from typing import Callable, Dict, List, Optional, TextIO, Tuple

from standin import kubeadm_config, kubeconfig

KUBERNETES_DIR_VARIABLE = "KUBEADM_STANDIN_KUBERNETES_DIR"
STATE_DIR_VARIABLE = "KUBEADM_STANDIN_STATE_DIR"
DEFAULTS_DIR = ".kubeadm-standin"  # in the kubernetes directory: what kubeadm made for this node
TIMEOUT_KNOB = "kubeadm-timeout"
DEFAULT_TIMEOUT = 60.0
CONFIGMAP_PATH = "/api/v1/namespaces/kube-system/configmaps/kubeadm-config"
CLUSTER_CONFIGURATION_KEY = "ClusterConfiguration"
STACK_TRACE_HINT = "To see the stack trace of this error execute with --v=5 or higher"
FYI = "FYI: You can look at this config file with 'kubectl -n kube-system get cm kubeadm-config -o yaml'"
UPLOAD_ATTEMPTS = 5
OTHER_MANIFESTS = ("etcd.yaml", "kube-scheduler.yaml")  # written by join when recorded for the node
JOIN_PREFLIGHT_FILES = ("kube-apiserver.yaml", "kube-controller-manager.yaml", "kube-scheduler.yaml", "etcd.yaml")

_COMMON_FLAGS = {"v": ("string", "v"), "rootfs": ("string", None)}
_UPGRADE_FLAGS = {
    **_COMMON_FLAGS,
    "certificate-renewal": ("bool", None),
    "etcd-upgrade": ("bool", None),
    "ignore-preflight-errors": ("string", None),
    "kubeconfig": ("string", None),
}
_APPLY_FLAGS = {
    **_UPGRADE_FLAGS,
    "yes": ("bool", "y"),
    "force": ("bool", "f"),
    "allow-experimental-upgrades": ("bool", None),
    "allow-release-candidate-upgrades": ("bool", None),
}
_JOIN_FLAGS = {
    **_COMMON_FLAGS,
    "control-plane": ("bool", None),
    "token": ("string", None),
    "discovery-token": ("string", None),
    "discovery-token-ca-cert-hash": ("string", None),
    "discovery-token-unsafe-skip-ca-verification": ("bool", None),
    "tls-bootstrap-token": ("string", None),
    "certificate-key": ("string", None),
    "apiserver-advertise-address": ("string", None),
    "apiserver-bind-port": ("string", None),
    "node-name": ("string", None),
    "cri-socket": ("string", None),
    "ignore-preflight-errors": ("string", None),
}


class Fatal(Exception):
    """kubeadm's error exit: the message (with its ``[phase] FATAL:`` or ``error execution phase`` prefix)."""


class Paths:
    def __init__(self, environ=None):
        environ = os.environ if environ is None else environ
        self.kubernetes = environ.get(KUBERNETES_DIR_VARIABLE) or "/etc/kubernetes"
        self.state = environ.get(STATE_DIR_VARIABLE) or "/run/kubelet-standin"
        self.manifests = os.path.join(self.kubernetes, "manifests")
        self.manifest = os.path.join(self.manifests, "kube-apiserver.yaml")
        self.admin_conf = os.path.join(self.kubernetes, "admin.conf")
        self.kubelet_conf = os.path.join(self.kubernetes, "kubelet.conf")
        self.defaults = os.path.join(self.kubernetes, DEFAULTS_DIR)
        self.tmp = os.path.join(self.kubernetes, "tmp")

    def timeout(self) -> float:
        try:
            with open(os.path.join(self.state, TIMEOUT_KNOB), encoding="utf-8") as handle:
                return max(0.0, float(handle.read().strip()))
        except (OSError, ValueError):
            return DEFAULT_TIMEOUT


# --------------------------------------------------------------------------------------------------- flags


def parse_flags(args: List[str], known: Dict[str, Tuple[str, Optional[str]]]) -> Tuple[Dict, List[str]]:
    """pflag's parsing of ``--name=value``, ``--name value``, ``--bool``, ``-s`` shorthands; flags stop at ``--``."""
    shorthands = {short: name for name, (_kind, short) in known.items() if short}
    options: Dict = {}
    positional: List[str] = []
    index = 0
    while index < len(args):
        arg = args[index]
        index += 1
        if arg == "--":
            positional.extend(args[index:])
            break
        if arg.startswith("--"):
            name, has_value, value = arg[2:].partition("=")
            if name not in known:
                raise Fatal(f"unknown flag: --{name}")
        elif arg.startswith("-") and arg != "-":
            letters = arg[1:]
            if letters[0] not in shorthands:
                raise Fatal(f"unknown shorthand flag: '{letters[0]}' in {arg}")
            name, has_value, value = shorthands[letters[0]], len(letters) > 1, letters[1:].lstrip("=")
            if known[name][0] == "bool" and has_value and value not in ("true", "false"):  # -fy: two switches
                for letter in letters:
                    if letter not in shorthands or known[shorthands[letter]][0] != "bool":
                        raise Fatal(f"unknown shorthand flag: '{letter}' in {arg}")
                    options[shorthands[letter]] = True
                continue
        else:
            positional.append(arg)
            continue
        if known[name][0] == "bool":
            if has_value and value not in ("true", "false", "1", "0", "t", "f", "True", "False"):
                raise Fatal(
                    f'invalid argument "{value}" for "--{name}" flag: strconv.ParseBool: parsing "{value}": '
                    "invalid syntax"
                )
            options[name] = not has_value or value in ("true", "1", "t", "True")
        else:
            if not has_value:
                if index >= len(args):
                    raise Fatal(f"flag needs an argument: --{name}")
                value = args[index]
                index += 1
            options[name] = value
    return options, positional


# --------------------------------------------------------------------------------------------------- cluster


def client_from(path: str, endpoint: Optional[str] = None) -> kubeconfig.Client:
    try:
        credentials = kubeconfig.load(path)
        if endpoint:
            credentials = kubeconfig.with_server(credentials, endpoint)
        return kubeconfig.Client(credentials)
    except (kubeconfig.KubeconfigError, ValueError, OSError) as exc:
        raise Fatal(
            f'couldn\'t create a Kubernetes client from file "{path}": failed to load admin kubeconfig: {exc}'
        ) from exc


def _request(client: kubeconfig.Client, method: str, body: Optional[Dict] = None) -> Tuple[int, Dict]:
    url = f"{client.credentials.server}{CONFIGMAP_PATH}?timeout=10s"
    try:
        return client.request(method, CONFIGMAP_PATH, body)
    except (OSError, http.client.HTTPException) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        verb = method[0] + method[1:].lower()
        raise Fatal(f'{verb} "{url}": dial tcp {client.host}:{client.port}: connect: {reason.lower()}') from exc


def fetch_config(client: kubeconfig.Client) -> Tuple[Dict, Dict]:
    """(the kubeadm-config ConfigMap, its ClusterConfiguration)."""
    code, answer = _request(client, "GET")
    if code != 200:
        raise Fatal(f"failed to get config map: {answer.get('message') or code}")
    text = (answer.get("data") or {}).get(CLUSTER_CONFIGURATION_KEY)
    if text is None:
        raise Fatal(
            "unexpected error when reading kubeadm-config ConfigMap: "
            f"{CLUSTER_CONFIGURATION_KEY} key value pair missing"
        )
    try:
        return answer, kubeadm_config.parse(text)
    except kubeadm_config.ConfigError as exc:
        raise Fatal(f"failed to decode cluster configuration data: {exc}") from exc


def upload_config(client: kubeconfig.Client, text: str) -> None:
    """CreateOrMutateConfigMap: set the ClusterConfiguration text, resourceVersion CAS, retried on conflict."""
    answer: Dict = {}
    for _attempt in range(UPLOAD_ATTEMPTS):
        code, current = _request(client, "GET")
        if code != 200:
            raise Fatal(f"error uploading the kubeadm ClusterConfiguration: {current.get('message') or code}")
        current.setdefault("data", {})[CLUSTER_CONFIGURATION_KEY] = text
        code, answer = _request(client, "PUT", current)
        if code == 200:
            return
        if code != 409:
            raise Fatal(f"error uploading the kubeadm ClusterConfiguration: {answer.get('message') or code}")
    raise Fatal(f"error uploading the kubeadm ClusterConfiguration: {answer.get('message')}")


# --------------------------------------------------------------------------------------------------- static pod


def read_defaults(paths: Paths) -> Dict:
    path = os.path.join(paths.defaults, "kube-apiserver.yaml")
    try:
        with open(path, encoding="utf-8") as handle:
            return kubeadm_config.load_pod(handle.read())
    except FileNotFoundError as exc:
        raise Fatal(
            f"the kubeadm stand-in has no record of the manifest kubeadm made for this node ({path}): only hosts "
            "made by tests/testhosts/testhosts.py have one"
        ) from exc
    except kubeadm_config.ConfigError as exc:
        raise Fatal(f"{path}: {exc}") from exc


def render(paths: Paths, config: Dict) -> Tuple[Dict, str]:
    try:
        pod = kubeadm_config.render_apiserver(read_defaults(paths), config)
    except kubeadm_config.ConfigError as exc:
        raise Fatal(str(exc)) from exc
    return pod, kubeadm_config.dump(pod)


def apiserver_status(paths: Paths) -> Dict:
    try:
        with open(os.path.join(paths.state, "status.json"), encoding="utf-8") as handle:
            return json.load(handle).get("apiserver") or {}
    except (OSError, ValueError, AttributeError):
        return {}


def wait_for_new_pod(paths: Paths, old_uid: Optional[str], timeout: float) -> Optional[str]:
    """None once the kubelet stand-in runs a new, ready kube-apiserver pod from the manifest; else the error."""
    node = socket.gethostname()
    deadline = time.monotonic() + timeout
    changed = False
    while True:
        status = apiserver_status(paths)
        if status.get("uid") and status.get("uid") != old_uid and status.get("source") == paths.manifest:
            changed = True
            if status.get("ready"):
                return None
        if time.monotonic() >= deadline:
            break
        time.sleep(0.1)
    if not changed:
        return (
            f"static Pod hash for component kube-apiserver on Node {node} did not change after {timeout:g}s: "
            "timed out waiting for the condition"
        )
    return f"kube-apiserver on Node {node} is not ready after {timeout:g}s: timed out waiting for the condition"


def make_temp_dir(parent: str, prefix: str) -> str:
    """Go's os.MkdirTemp: PREFIX followed by random digits (kubeadm-upgraded-manifests249561254), mode 0700."""
    for _attempt in range(100):
        path = os.path.join(parent, f"{prefix}{random.randint(0, 4294967295)}")
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            continue
        return path
    raise Fatal(f"couldn't create a temporary directory in {parent}")


def write_private(path: str, text: str) -> None:
    """A new file, mode 0600 (kubeadm's WriteStaticPodToDisk and kubeconfig files)."""
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(path, 0o600)


def same_pod(path: str, pod: Dict) -> bool:
    try:
        with open(path, encoding="utf-8") as handle:
            return kubeadm_config.load_pod(handle.read()) == pod
    except (OSError, kubeadm_config.ConfigError):
        return False


def upgrade_static_pod(paths: Paths, pod: Dict, text: str, say: Callable[[str], None], failure_prefix: str) -> None:
    """kubeadm's StaticPodControlPlane for kube-apiserver: temp dir, backup, two renames, wait, roll back."""
    os.makedirs(paths.tmp, mode=0o700, exist_ok=True)
    new_dir = make_temp_dir(paths.tmp, "kubeadm-upgraded-manifests")
    try:
        backup_dir = os.path.join(paths.tmp, f"kubeadm-backup-manifests-{time.strftime('%Y-%m-%d-%H-%M-%S')}")
        try:
            os.mkdir(backup_dir, 0o700)
        except OSError as exc:
            raise Fatal(
                f"{failure_prefix}could not create timestamp directory: mkdir {backup_dir}: {exc.strerror.lower()}"
            ) from exc
        new_path = os.path.join(new_dir, "kube-apiserver.yaml")
        write_private(new_path, text)
        say(f'[upgrade/staticpods] Writing new Static Pod manifests to "{new_dir}"')
        say('[upgrade/staticpods] Preparing for "kube-apiserver" upgrade')
        if not os.path.exists(paths.manifest):
            raise Fatal(
                f"{failure_prefix}couldn't upgrade control plane. kubeadm has tried to recover everything into the "
                f'earlier state. Errors faced: failed to read pod manifest from "{paths.manifest}": open '
                f"{paths.manifest}: no such file or directory"
            )
        if same_pod(paths.manifest, pod):
            say("[upgrade/staticpods] Current and new manifests of kube-apiserver are equal, skipping upgrade")
            return
        old_uid = apiserver_status(paths).get("uid")
        backup = os.path.join(backup_dir, "kube-apiserver.yaml")
        os.replace(paths.manifest, backup)
        os.replace(new_path, paths.manifest)
        say(f'[upgrade/staticpods] Moved new manifest to "{paths.manifest}" and backed up old manifest to "{backup}"')
        timeout = paths.timeout()
        say("[upgrade/staticpods] Waiting for the kubelet to restart the component")
        say(f"[upgrade/staticpods] This can take up to {timeout:g}s")
        error = wait_for_new_pod(paths, old_uid, timeout)
        if error:
            os.replace(backup, paths.manifest)
            raise Fatal(
                f"{failure_prefix}couldn't upgrade control plane. kubeadm has tried to recover everything into the "
                f"earlier state. Errors faced: {error}"
            )
        say("[apiclient] Found 1 Pods for label selector component=kube-apiserver")
        say('[upgrade/staticpods] Component "kube-apiserver" upgraded successfully!')
    finally:
        shutil.rmtree(new_dir, ignore_errors=True)


# --------------------------------------------------------------------------------------------------- commands


def confirm(stdin: TextIO, out: TextIO) -> None:
    out.write("[upgrade/confirm] Are you sure you want to proceed with the upgrade? [y/N]: ")
    out.flush()
    answer = stdin.readline().strip() if stdin else ""
    if answer.lower() not in ("y", "yes"):
        raise Fatal("[upgrade/confirm] FATAL: won't proceed; the user didn't answer (Y|y) in order to continue")


def command_upgrade_apply(args: List[str], paths: Paths, say, out: TextIO, stdin: TextIO) -> None:
    options, positional = parse_flags(args, _APPLY_FLAGS)
    if not positional:
        raise Fatal("[upgrade/version] FATAL: missing one or more required arguments. Required arguments: [version]")
    if len(positional) > 1:
        raise Fatal(f"[upgrade/version] FATAL: unexpected arguments: {' '.join(positional[1:])}")
    version = positional[0] if positional[0].startswith("v") else "v" + positional[0]
    try:
        kubeadm_config.parse_version(version)
    except kubeadm_config.ConfigError as exc:
        raise Fatal(f"[upgrade/version] FATAL: {exc}") from exc
    say("[upgrade/config] Making sure the configuration is correct:")
    say("[upgrade/config] Reading configuration from the cluster...")
    say(f"[upgrade/config] {FYI}")
    try:
        client = client_from(options.get("kubeconfig") or paths.admin_conf)
        _configmap, config = fetch_config(client)
        cluster_version = kubeadm_config.kubernetes_version(config)
    except (Fatal, kubeadm_config.ConfigError) as exc:
        raise Fatal(f"[upgrade/config] FATAL: {exc}") from exc
    say("[preflight] Running pre-flight checks.")
    say("[upgrade] Running cluster health checks")
    say(f'[upgrade/version] You have chosen to change the cluster version to "{version}"')
    say(f"[upgrade/versions] Cluster version: {cluster_version}")
    errors = kubeadm_config.check_upgrade(cluster_version, version)
    if errors:
        listed = "".join(f"\t- {error}\n" for error in errors)
        raise Fatal(
            "[upgrade/version] FATAL: the --version argument is invalid due to these fatal errors:\n\n"
            f"{listed}\nPlease fix the misalignments highlighted above and try upgrading again"
        )
    if not options.get("yes"):
        confirm(stdin, out)
    new_config = kubeadm_config.upgraded(config, version)
    pod, text = render(paths, new_config)
    say(
        f'[upgrade/apply] Upgrading your Static Pod-hosted control plane to version "{version}" '
        f"(timeout: {paths.timeout():g}s)..."
    )
    say("[upgrade/staticpods] The kubeadm stand-in regenerates kube-apiserver only")
    upgrade_static_pod(paths, pod, text, say, "[upgrade/apply] FATAL: ")
    say('[upload-config] Storing the configuration used in ConfigMap "kubeadm-config" in the "kube-system" Namespace')
    try:
        upload_config(client, kubeadm_config.dump(new_config))
    except Fatal as exc:
        raise Fatal(f"[upgrade/postupgrade] FATAL: {exc}") from exc
    say("")
    say(f'[upgrade/successful] SUCCESS! Your cluster was upgraded to "{version}". Enjoy!')
    say("")
    say(
        "[upgrade/kubelet] Now that your control plane is upgraded, please proceed with upgrading your kubelets if "
        "you haven't already done so."
    )


def command_upgrade_node(args: List[str], paths: Paths, say) -> None:
    options, positional = parse_flags(args, _UPGRADE_FLAGS)
    if positional:
        raise Fatal(f'unknown command "{positional[0]}" for "kubeadm upgrade node"')
    control_plane = os.path.exists(paths.manifest)
    path = options.get("kubeconfig") or (paths.admin_conf if control_plane else paths.kubelet_conf)
    say("[upgrade] Reading configuration from the cluster...")
    say(f"[upgrade] {FYI}")
    client = client_from(path)
    _configmap, config = fetch_config(client)
    if not control_plane:
        raise Fatal(
            "error execution phase control-plane: the kubeadm stand-in upgrades control-plane nodes only "
            f"({paths.manifest} is missing)"
        )
    say("[preflight] Running pre-flight checks")
    try:
        version = kubeadm_config.kubernetes_version(config)
    except kubeadm_config.ConfigError as exc:
        raise Fatal(str(exc)) from exc
    say(f'[upgrade] Upgrading your Static Pod-hosted control plane instance to version "{version}"...')
    pod, text = render(paths, config)
    upgrade_static_pod(
        paths, pod, text, say, "error execution phase control-plane: couldn't complete the static pod upgrade: "
    )
    say("[upgrade] The control plane instance for this node was successfully updated!")


def preflight_join(paths: Paths, ignored: List[str]) -> None:
    errors = []
    for name in JOIN_PREFLIGHT_FILES:
        path = os.path.join(paths.manifests, name)
        check = "FileAvailable-" + path.replace("/", "-")
        if os.path.exists(path) and "all" not in ignored and check.lower() not in ignored:
            errors.append(f"\t[ERROR {check}]: {path} already exists\n")
    if errors:
        raise Fatal(
            "error execution phase preflight: [preflight] Some fatal errors occurred:\n"
            + "".join(errors)
            + "[preflight] If you know what you are doing, you can make a check non-fatal with "
            "`--ignore-preflight-errors=...`"
        )


def command_join(args: List[str], paths: Paths, say) -> None:
    options, positional = parse_flags(args, _JOIN_FLAGS)
    if not options.get("control-plane"):
        raise Fatal("the kubeadm stand-in joins control-plane nodes only: kubeadm join ENDPOINT --control-plane")
    if len(positional) != 1:
        raise Fatal(
            "the kubeadm stand-in needs the API server endpoint of a master: kubeadm join ENDPOINT --control-plane"
            if not positional
            else f"unexpected arguments: {' '.join(positional[1:])}"
        )
    endpoint = positional[0]
    ignored = [item.strip().lower() for item in (options.get("ignore-preflight-errors") or "").split(",") if item]
    say("[preflight] Running pre-flight checks")
    preflight_join(paths, ignored)
    defaults_conf = os.path.join(paths.defaults, "admin.conf")
    say("[preflight] Reading configuration from the cluster...")
    say(f"[preflight] {FYI}")
    try:
        _configmap, config = fetch_config(client_from(defaults_conf, endpoint))
    except Fatal as exc:
        raise Fatal(f"error execution phase preflight: unable to fetch the kubeadm-config ConfigMap: {exc}") from exc
    _pod, text = render(paths, config)
    say("[preflight] Running pre-flight checks before initializing the new control plane instance")
    with open(defaults_conf, encoding="utf-8") as handle:
        admin_conf = handle.read()
    write_private(paths.admin_conf, admin_conf)
    say('[kubeconfig] Writing "admin.conf" kubeconfig file')
    os.makedirs(paths.manifests, mode=0o755, exist_ok=True)
    say(f'[control-plane] Using manifest folder "{paths.manifests}"')
    os.makedirs(paths.tmp, mode=0o700, exist_ok=True)
    staging = make_temp_dir(paths.tmp, "kubeadm-join-manifests")
    try:
        for name in OTHER_MANIFESTS:
            recorded = os.path.join(paths.defaults, name)
            if os.path.exists(recorded) and not os.path.exists(os.path.join(paths.manifests, name)):
                with open(recorded, encoding="utf-8") as handle:
                    write_private(os.path.join(staging, name), handle.read())
                os.replace(os.path.join(staging, name), os.path.join(paths.manifests, name))
                say(f'[control-plane] Creating static Pod manifest for "{name[: -len(".yaml")]}"')
        old_uid = apiserver_status(paths).get("uid")
        write_private(os.path.join(staging, "kube-apiserver.yaml"), text)
        os.replace(os.path.join(staging, "kube-apiserver.yaml"), paths.manifest)
        say('[control-plane] Creating static Pod manifest for "kube-apiserver"')
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    timeout = paths.timeout()
    say(
        "[wait-control-plane] Waiting for the kubelet to boot up the control plane as static Pods from directory "
        f'"{paths.manifests}". This can take up to {timeout:g}s'
    )
    error = wait_for_new_pod(paths, old_uid, timeout)
    if error:
        raise Fatal(f"error execution phase wait-control-plane: {error}")
    say("")
    say("This node has joined the cluster and a new control plane instance was created:")
    say("")
    say("* Certificate signing request was sent to apiserver and approval was received.")
    say("* The Kubelet was informed of the new secure connection details.")
    say("* Control plane label and taint were applied to the new node.")
    say("* The Kubernetes control plane instances scaled up.")
    say("* A new etcd member was added to the local/stacked etcd cluster.")
    say("")
    say("To start administering your cluster from this node, you need to run the following as a regular user:")
    say("")
    say("\tmkdir -p $HOME/.kube")
    say("\tsudo cp -i /etc/kubernetes/admin.conf $HOME/.kube/config")
    say("\tsudo chown $(id -u):$(id -g) $HOME/.kube/config")
    say("")
    say("Run 'kubectl get nodes' to see this node join the cluster.")


def main(
    argv: Optional[List[str]] = None, out: Optional[TextIO] = None, err: Optional[TextIO] = None, stdin=None
) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    out, err = out or sys.stdout, err or sys.stderr
    stdin = sys.stdin if stdin is None else stdin
    paths = Paths()

    def say(line: str) -> None:
        out.write(line + "\n")
        out.flush()

    try:
        command = args[:2] if args[:1] == ["upgrade"] else args[:1]
        rest = args[len(command) :]
        if command == ["upgrade", "apply"]:
            command_upgrade_apply(rest, paths, say, out, stdin)
        elif command == ["upgrade", "node"]:
            command_upgrade_node(rest, paths, say)
        elif command == ["join"]:
            command_join(rest, paths, say)
        else:
            what = " ".join(command) or "(none)"
            raise Fatal(
                f'unknown command "{what}" for "kubeadm" (the kubeadm stand-in knows upgrade apply, upgrade node '
                "and join --control-plane)"
            )
    except Fatal as exc:
        err.write(f"{exc}\n{STACK_TRACE_HINT}\n")
        err.flush()
        return 1
    return 0

"""What the kubeadm stand-in does with a ClusterConfiguration: read it, render kube-apiserver's manifest, upgrade it.

Reading (kubeadm decodes the ConfigMap's text with sigs.k8s.io/yaml into its typed API): ``kind:
ClusterConfiguration`` of ``kubeadm.k8s.io/v1beta3`` (``extraArgs`` a map of flag name to string) or ``v1beta4``
(``extraArgs`` a list of ``{name, value}``, a name may repeat); ``extraVolumes`` a list of ``{name, hostPath,
mountPath, readOnly, pathType}`` in both. A value of the wrong JSON type fails as Go's decoder fails (``json: cannot
unmarshal number into Go struct field ...``): ``audit-log-maxage: 30`` unquoted breaks kubeadm.

Rendering (kubeadm's ``GetStaticPodSpecs`` for kube-apiserver, as ``kubeadm upgrade`` and ``kubeadm join
--control-plane`` write it): the pod kubeadm made for this node (recorded at host creation: its default flags,
default hostPath volumes, probes, labels, kubeadm's annotation) with

* ``command``: ``kube-apiserver`` then the default flags merged with ``extraArgs`` as ``ArgumentsToCommand`` merges
  them (a name in ``extraArgs`` replaces every default of that name; all sorted by name, then value;
  ``--name=value``);
* ``volumes``/``volumeMounts``: the defaults plus one hostPath volume and mount per ``extraVolumes`` entry (a name
  already there is replaced), sorted by name; the volume's ``type`` is ``pathType`` (``""`` when unset, as kubeadm
  writes it), the mount's ``readOnly`` only when true;
* ``image``: ``<imageRepository>/kube-apiserver:<kubernetesVersion>`` (``+`` becomes ``_``).

Nothing else of the running manifest survives: hand-added flags, mounts, volumes and annotations are gone.

Upgrading (``kubeadm upgrade apply VERSION``): ``kubernetesVersion`` set, kubeadm's defaults filled in, and the
whole object re-marshalled in the API version that kubeadm release writes: ``v1beta4`` from v1.31 on (a v1beta3
ConfigMap is converted: every ``extraArgs`` map becomes the sorted list, ``apiServer.timeoutForControlPlane``
goes), ``v1beta3`` before.
"""

from __future__ import annotations

import copy
import re
from typing import Dict, List, Tuple

from standin import goyaml

V1BETA3 = "kubeadm.k8s.io/v1beta3"
V1BETA4 = "kubeadm.k8s.io/v1beta4"
KIND = "ClusterConfiguration"
DEFAULT_IMAGE_REPOSITORY = "registry.k8s.io"
APISERVER = "kube-apiserver"
# kubeadm's defaulting of a ClusterConfiguration (SetDefaults_ClusterConfiguration), as ``upgrade apply`` uploads it.
_DEFAULTS = {
    V1BETA3: {
        "apiServer": {"timeoutForControlPlane": "4m0s"},
        "certificatesDir": "/etc/kubernetes/pki",
        "clusterName": "kubernetes",
        "controllerManager": {},
        "dns": {},
        "imageRepository": DEFAULT_IMAGE_REPOSITORY,
        "networking": {"dnsDomain": "cluster.local", "serviceSubnet": "10.96.0.0/12"},
        "scheduler": {},
    },
    V1BETA4: {
        "apiServer": {},
        "caCertificateValidityPeriod": "87600h0m0s",
        "certificateValidityPeriod": "8760h0m0s",
        "certificatesDir": "/etc/kubernetes/pki",
        "clusterName": "kubernetes",
        "controllerManager": {},
        "dns": {},
        "encryptionAlgorithm": "RSA-2048",
        "imageRepository": DEFAULT_IMAGE_REPOSITORY,
        "networking": {"dnsDomain": "cluster.local", "serviceSubnet": "10.96.0.0/12"},
        "proxy": {},
        "scheduler": {},
    },
}
_COMPONENTS = (("apiServer",), ("controllerManager",), ("scheduler",), ("etcd", "local"))
_VERSION = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)(?:[-+].*)?$")


class ConfigError(Exception):
    """kubeadm cannot use the ClusterConfiguration (or the version asked for)."""


def _json_type(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "string"


def _unmarshal_error(value, struct_field: str, go_type: str) -> ConfigError:
    return ConfigError(
        f"json: cannot unmarshal {_json_type(value)} into Go struct field {struct_field} of type {go_type}"
    )


# --------------------------------------------------------------------------------------------------- reading


def parse(text: str) -> Dict:
    """The ClusterConfiguration in ``text``, checked as kubeadm's decoder checks the parts the stand-in uses."""
    try:
        config = goyaml.load(text)
    except goyaml.YAMLError as exc:
        raise ConfigError(f"error converting YAML to JSON: {exc}") from exc
    if not isinstance(config, dict):
        raise ConfigError("couldn't get version/kind; json parse error: the ClusterConfiguration is not an object")
    api_version, kind = config.get("apiVersion"), config.get("kind")
    if kind != KIND:
        raise ConfigError(f"unexpected kind {kind!r} in the kubeadm-config ConfigMap: want {KIND}")
    if api_version not in (V1BETA3, V1BETA4):
        raise ConfigError(
            f'no kind "{KIND}" is registered for version "{api_version}" in scheme '
            '"k8s.io/kubernetes/cmd/kubeadm/app/apis/kubeadm/scheme/scheme.go:31"'
        )
    api_server = config.get("apiServer")
    if api_server is not None and not isinstance(api_server, dict):
        raise _unmarshal_error(api_server, "ClusterConfiguration.apiServer", "kubeadm.APIServer")
    extra_args(config)
    extra_volumes(config)
    return config


def extra_args(config: Dict, path: Tuple[str, ...] = ("apiServer",)) -> List[Tuple[str, str]]:
    """The component's extraArgs as (name, value) pairs: v1beta3's map in name order, v1beta4's list as written."""
    component = config
    for key in path:
        component = (component or {}).get(key) or {}
    raw = component.get("extraArgs")
    field = ".".join(path) + ".extraArgs"
    if raw is None:
        return []
    if config.get("apiVersion") == V1BETA3:
        if not isinstance(raw, dict):
            raise _unmarshal_error(raw, f"ControlPlaneComponent.{field}", "map[string]string")
        for value in raw.values():
            if not isinstance(value, str):
                raise _unmarshal_error(value, f"ControlPlaneComponent.{field}", "string")
        return sorted((str(name), value) for name, value in raw.items())
    if not isinstance(raw, list):
        raise _unmarshal_error(raw, f"ControlPlaneComponent.{field}", "[]v1beta4.Arg")
    pairs = []
    for entry in raw:
        if not isinstance(entry, dict):
            raise _unmarshal_error(entry, f"ControlPlaneComponent.{field}", "v1beta4.Arg")
        for key in ("name", "value"):
            if entry.get(key) is not None and not isinstance(entry.get(key), str):
                raise _unmarshal_error(entry[key], f"Arg.{field}.{key}", "string")
        pairs.append((entry.get("name") or "", entry.get("value") or ""))
    return pairs


def extra_volumes(config: Dict) -> List[Dict]:
    """apiServer.extraVolumes, each {name, hostPath, mountPath, readOnly, pathType} with kubeadm's zero values."""
    raw = (config.get("apiServer") or {}).get("extraVolumes")
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise _unmarshal_error(raw, "ControlPlaneComponent.apiServer.extraVolumes", "[]kubeadm.HostPathMount")
    volumes = []
    for entry in raw:
        if not isinstance(entry, dict):
            raise _unmarshal_error(entry, "ControlPlaneComponent.apiServer.extraVolumes", "kubeadm.HostPathMount")
        volume = {}
        for key in ("name", "hostPath", "mountPath", "pathType"):
            value = entry.get(key)
            if value is not None and not isinstance(value, str):
                raise _unmarshal_error(value, f"HostPathMount.apiServer.extraVolumes.{key}", "string")
            volume[key] = value or ""
        read_only = entry.get("readOnly")
        if read_only is not None and not isinstance(read_only, bool):
            raise _unmarshal_error(read_only, "HostPathMount.apiServer.extraVolumes.readOnly", "bool")
        volume["readOnly"] = bool(read_only)
        volumes.append(volume)
    return volumes


def kubernetes_version(config: Dict) -> str:
    version = config.get("kubernetesVersion")
    if not isinstance(version, str) or not _VERSION.match(version):
        raise ConfigError(f"the ClusterConfiguration's kubernetesVersion {version!r} is not a version kubeadm can use")
    return version


def parse_version(text: str) -> Tuple[int, int, int]:
    match = _VERSION.match(text or "")
    if not match:
        raise ConfigError(f'couldn\'t parse version "{text}": not a Kubernetes version (vMAJOR.MINOR.PATCH)')
    return int(match.group(1)), int(match.group(2)), int(match.group(3))


# --------------------------------------------------------------------------------------------------- rendering


def parse_flag(argument: str) -> Tuple[str, str]:
    """ArgumentsFromCommand's parseArgument: ``--name=value``."""
    if not argument.startswith("--"):
        raise ConfigError(f"the argument should start with '--': {argument}")
    if "=" not in argument:
        raise ConfigError(f"the argument should have a '=' between the flag and the value: {argument}")
    name, _equals, value = argument[2:].partition("=")
    return name, value


def arguments_to_command(base: List[Tuple[str, str]], overrides: List[Tuple[str, str]]) -> List[str]:
    """kubeadm's ArgumentsToCommand: overrides replace every base argument of their name; sorted by name, value."""
    overridden = {name for name, _value in overrides}
    merged = list(overrides) + [(name, value) for name, value in base if name not in overridden]
    merged.sort(key=lambda pair: (pair[0].encode(), pair[1].encode()))
    return [f"--{name}={value}" for name, value in merged]


def find_container(pod: Dict) -> Dict:
    containers = (pod.get("spec") or {}).get("containers") or []
    for container in containers:
        if container.get("name") == APISERVER:
            return container
    raise ConfigError("the recorded kube-apiserver manifest has no kube-apiserver container")


def image(config: Dict) -> str:
    repository = config.get("imageRepository") or DEFAULT_IMAGE_REPOSITORY
    return f"{repository}/{APISERVER}:{kubernetes_version(config).replace('+', '_')}"


def _by_name(item: Tuple[str, Dict]) -> bytes:
    return item[0].encode()  # kubeadm sorts volumes and mounts with strings.Compare on their names


def render_apiserver(defaults: Dict, config: Dict) -> Dict:
    """kube-apiserver's static pod for this node: ``defaults`` (kubeadm's own pod for it) and ``config``."""
    pod = copy.deepcopy(defaults)
    container = find_container(pod)
    command = [str(item) for item in container.get("command") or []]
    base = [parse_flag(argument) for argument in command[1:]]
    container["command"] = [APISERVER, *arguments_to_command(base, extra_args(config))]
    container.pop("args", None)
    container["image"] = image(config)
    volumes = {volume["name"]: volume for volume in (pod.get("spec") or {}).get("volumes") or []}
    mounts = {mount["name"]: mount for mount in container.get("volumeMounts") or []}
    for extra in extra_volumes(config):
        volumes[extra["name"]] = {
            "hostPath": {"path": extra["hostPath"], "type": extra["pathType"]},
            "name": extra["name"],
        }
        mount = {"mountPath": extra["mountPath"], "name": extra["name"]}
        if extra["readOnly"]:
            mount["readOnly"] = True
        mounts[extra["name"]] = mount
    if volumes:
        pod.setdefault("spec", {})["volumes"] = [volume for _name, volume in sorted(volumes.items(), key=_by_name)]
    if mounts:
        container["volumeMounts"] = [mount for _name, mount in sorted(mounts.items(), key=_by_name)]
    return pod


# --------------------------------------------------------------------------------------------------- upgrading


def check_upgrade(cluster_version: str, new_version: str) -> List[str]:
    """EnforceVersionPolicies' mandatory errors for ``upgrade apply`` (kubeadm's own version is not stood in)."""
    current, wanted = parse_version(cluster_version), parse_version(new_version)
    errors = []
    if wanted[1] > current[1] + 1:
        errors.append(
            f'Specified version to upgrade to "{new_version}" is too high; '
            "kubeadm can upgrade only 1 minor version at a time"
        )
    if wanted[1] < current[1] - 1:
        errors.append(
            f'Specified version to downgrade to "{new_version}" is too low; '
            "kubeadm can downgrade only 1 minor version at a time"
        )
    return errors


def api_version_written_by(version: str) -> str:
    """The ClusterConfiguration version kubeadm of that release writes: v1beta4 from v1.31 on."""
    major, minor, _patch = parse_version(version)
    return V1BETA4 if (major, minor) >= (1, 31) else V1BETA3


def _fill_defaults(config: Dict, defaults: Dict) -> None:
    for key, value in defaults.items():
        if key not in config or config[key] is None:
            config[key] = copy.deepcopy(value)
        elif isinstance(value, dict) and isinstance(config[key], dict):
            _fill_defaults(config[key], value)


def upgraded(config: Dict, version: str) -> Dict:
    """The ClusterConfiguration ``upgrade apply VERSION`` uploads: new version, defaulted, in its API version."""
    new = copy.deepcopy(config)
    new["kubernetesVersion"] = version
    target = api_version_written_by(version)
    if new.get("apiVersion") == V1BETA3 and target == V1BETA4:
        for path in _COMPONENTS:
            component = new
            for key in path:
                component = component.get(key) if isinstance(component, dict) else None
            if isinstance(component, dict) and isinstance(component.get("extraArgs"), dict):
                component["extraArgs"] = [{"name": n, "value": v} for n, v in extra_args(config, path)]
        if isinstance(new.get("apiServer"), dict):
            new["apiServer"].pop("timeoutForControlPlane", None)
        new["apiVersion"] = V1BETA4
    defaults = copy.deepcopy(_DEFAULTS[new["apiVersion"]])
    if "external" not in (new.get("etcd") or {}):
        defaults["etcd"] = {"local": {"dataDir": "/var/lib/etcd"}}
    _fill_defaults(new, defaults)
    return new


def dump(config: Dict) -> str:
    return goyaml.dump(config)


def load_pod(text: str) -> Dict:
    try:
        pod = goyaml.load(text)
    except goyaml.YAMLError as exc:
        raise ConfigError(f"couldn't parse the kube-apiserver manifest: {exc}") from exc
    if not isinstance(pod, dict) or pod.get("kind") != "Pod":
        raise ConfigError("the kube-apiserver manifest is not a Pod")
    return pod

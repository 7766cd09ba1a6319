# Copyright: (c) 2026, NNF kube_audit maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Tell whether the kubelet has restarted kube-apiserver from its static-pod manifest, and whether it is ready.

The kubelet gives no direct answer to "is the pod from this manifest running?" on a node without an API server
(the API server is the thing being restarted), so the answer is put together from what the node shows:

* ``/proc``: a process whose ``comm`` is ``kube-apiserver`` (argv[0] is whatever the runtime or a wrapper put
  there, so it is not trusted), started after the manifest was written (``/proc/PID/stat`` start time, in
  CLOCK_BOOTTIME ticks), whose command line ends with the manifest's ``command[1:] + args``, in the caller's
  network namespace (a static apiserver uses ``hostNetwork``; the namespace filter keeps test masters that
  share one kernel apart).
* ``$(VAR)`` references in ``command`` and ``args`` are expanded as the kubelet expands them (k8s.io/kubernetes
  third_party/forked/golang/expansion) against the container's ``env``: ``expand()`` turns one argv item into
  an ``Expansion``, a matcher. A variable with a literal ``value`` is substituted; one the kubelet resolves at
  run time (``valueFrom``, ``envFrom``, service links) matches any text in its place.
* the manifest's own ``readinessProbe`` (or startup/liveness probe), sent the way the kubelet sends it: TLS not
  verified, success for a status from 200 to 399.

The manifest is read on the controller (the ``apiserver_wait`` action plugin), which hands the container's spec
to the module as plain data. Everything here is standard-library Python, unit-tested with a fake ``/proc`` tree
and a local HTTPS server.
"""

import contextlib
import glob
import http.client
import json
import os
import re
import socket
import ssl
import time
from collections import namedtuple

from ansible_collections.nnf.kube_audit.plugins.module_utils import _flags
from ansible_collections.nnf.kube_audit.plugins.module_utils._errors import KubeAuditError, ManifestError

PROCESS_NAME = "kube-apiserver"
# Where a CRI runtime (and the test masters' kubelet stand-in) keeps static-pod container logs.
POD_LOG_GLOB = "/var/log/pods/kube-system_{container}-*/{container}/*.log"
# "2024-05-28T13:39:50.342694448-07:00 stderr F message": the CRI log line prefix.
_CRI_LOG_PREFIX = re.compile(r"^\S+ (stdout|stderr) [FP] ")
_UNSPECIFIED_ADDRESSES = ("", "0.0.0.0", "::")
_BODY_SNIPPET = 512

Process = namedtuple("Process", ["pid", "argv", "started", "net_ns"])
"""A process seen in /proc: ``started`` is seconds on the CLOCK_BOOTTIME clock."""

Probe = namedtuple("Probe", ["scheme", "host", "port", "path", "headers", "timeout"])
ProbeResult = namedtuple("ProbeResult", ["ok", "status", "detail"])


class NotReady(KubeAuditError):
    """The apiserver did not become ready in time; ``observation`` says what was seen last."""

    def __init__(self, message, observation):
        super().__init__(message)
        self.observation = observation


# --------------------------------------------------------------------------------------------------- clocks


def clock_ticks_per_second():
    return os.sysconf("SC_CLK_TCK")


def boot_clock():
    """Seconds since boot, on the clock /proc/PID/stat start times are counted on."""
    return time.clock_gettime(time.CLOCK_BOOTTIME)


def wall_to_boot(wall_time, now_wall=None, now_boot=None):
    """Convert a wall-clock timestamp (a file's mtime) to CLOCK_BOOTTIME seconds."""
    now_wall = time.time() if now_wall is None else now_wall
    now_boot = boot_clock() if now_boot is None else now_boot
    return wall_time - (now_wall - now_boot)


def boot_to_wall(boot_time, now_wall=None, now_boot=None):
    now_wall = time.time() if now_wall is None else now_wall
    now_boot = boot_clock() if now_boot is None else now_boot
    return boot_time + (now_wall - now_boot)


# --------------------------------------------------------------------------------------------------- /proc


def start_ticks(stat_text):
    """Field 22 (starttime) of /proc/PID/stat; comm (field 2) may hold spaces and parentheses."""
    fields = stat_text[stat_text.rindex(")") + 2 :].split()
    return int(fields[19])


def _read(path, mode="r"):
    with open(path, mode) as handle:
        return handle.read()


def net_namespace(proc_root="/proc", pid="self"):
    try:
        return os.readlink(os.path.join(proc_root, str(pid), "ns", "net"))
    except OSError:
        return None


def list_processes(name=PROCESS_NAME, proc_root="/proc", ticks_per_second=None):
    """Every process whose comm is ``name``; processes that exit while being read are left out."""
    ticks_per_second = ticks_per_second or clock_ticks_per_second()
    found = []
    for entry in os.listdir(proc_root):
        if not entry.isdigit():
            continue
        base = os.path.join(proc_root, entry)
        try:
            if _read(os.path.join(base, "comm")).rstrip("\n") != name:
                continue
            raw_argv = _read(os.path.join(base, "cmdline"), "rb")
            stat_text = _read(os.path.join(base, "stat"))
        except (OSError, UnicodeDecodeError):
            continue
        if not raw_argv:  # a zombie: its command line is gone, and so is the server
            continue
        argv = [arg.decode("utf-8", "replace") for arg in raw_argv.rstrip(b"\0").split(b"\0")]
        found.append(
            Process(
                pid=int(entry),
                argv=argv,
                started=start_ticks(stat_text) / float(ticks_per_second),
                net_ns=net_namespace(proc_root, entry),
            )
        )
    return sorted(found, key=lambda process: process.started)


def _matches(flag, arg):
    return flag.matches(arg) if isinstance(flag, Expansion) else flag == arg


def _aligned(process, flags):
    """``(flag, argument)`` pairs: the end of the command line against the flags; None where argv is too short."""
    offset = len(process.argv) - len(flags)
    return [(flag, process.argv[offset + index] if offset + index >= 1 else None) for index, flag in enumerate(flags)]


def runs_flags(process, flags):
    """The command line ends with the manifest's flags (argv[0] and any wrapper in front are not trusted).

    ``flags`` are ``Expansion`` matchers (``container_flags()``) or plain strings.
    """
    return len(process.argv) > len(flags) and all(_matches(flag, arg) for flag, arg in _aligned(process, flags))


def flags_difference(process, flags):
    """None when ``process`` runs ``flags``; else the first flag it does not run, for the failure message.

    ``flag`` is the position in the container's ``command[1:] + args``, ``manifest`` the text written there,
    ``expected`` the text after expansion (``<NAME>`` for a value known only at run time), ``found`` the process's
    argument in that place (None when its command line is too short to have one).
    """
    if runs_flags(process, flags):
        return None
    for index, (flag, arg) in enumerate(_aligned(process, flags)):
        if arg is None or not _matches(flag, arg):
            expansion = flag if isinstance(flag, Expansion) else Expansion(flag, [flag])
            return {"flag": index, "manifest": expansion.text, "expected": str(expansion), "found": arg}
    return {"flag": None, "manifest": None, "expected": None, "found": None}  # no argv[0]: nothing in front


# --------------------------------------------------------------------------------------------------- $(VAR) expansion

# Names the kubelet may define from the cluster's services (pkg/kubelet/envvars: the "kubernetes" service always,
# the pod's namespace's services with enableServiceLinks): whether it does, and with which value, depends on what
# its service informer holds when it starts the container.
_SERVICE_LINK = re.compile(
    r"[A-Z0-9_]+_(SERVICE_HOST|SERVICE_PORT(_[A-Z0-9_]+)?|PORT(_[0-9]+_(TCP|UDP|SCTP)(_(PROTO|PORT|ADDR))?)?)\Z"
)

RuntimeValue = namedtuple("RuntimeValue", ["name"])
"""The value of the variable ``name``, known only when the kubelet starts the container: any text matches it."""


class Expansion:
    """One argv item (or env value) as the kubelet expands it: literal text and values known only at run time.

    ``text`` is what the manifest says; ``parts`` the expansion, strings and ``RuntimeValue``s; ``value`` the
    expanded text, or None when a runtime value is part of it; ``matches(arg)`` whether a process argument can be
    this item; ``str()`` shows it with each runtime value as ``<NAME>``.
    """

    __slots__ = ("_regex", "parts", "text")

    def __init__(self, text, parts):
        self.text = text
        merged = []
        for part in parts:
            if isinstance(part, str) and merged and isinstance(merged[-1], str):
                merged[-1] += part
            elif part != "":
                merged.append(part)
        self.parts = tuple(merged)
        self._regex = None

    @property
    def value(self):
        if any(isinstance(part, RuntimeValue) for part in self.parts):
            return None
        return "".join(self.parts)

    def matches(self, arg):
        value = self.value
        if value is not None:
            return arg == value
        if self._regex is None:
            pattern = []
            for part in self.parts:
                if isinstance(part, str):
                    pattern.append(re.escape(part))
                elif not pattern or pattern[-1] != ".*":  # runtime values in a row match what one does
                    pattern.append(".*")
            self._regex = re.compile("".join(pattern), re.DOTALL)
        return self._regex.fullmatch(arg) is not None

    def __str__(self):
        return "".join(part if isinstance(part, str) else f"<{part.name}>" for part in self.parts)

    def __repr__(self):
        return f"Expansion({self.text!r} -> {str(self)!r})"


class ContainerEnv:
    """The variables the kubelet defines for a container: name -> expansion parts (``container_env()``)."""

    def __init__(self, open_names=False):
        self.values = {}
        self.open_names = open_names  # envFrom may define any name

    def lookup(self, name):
        """What ``$(name)`` expands to: its value, any text when the kubelet may define it, else itself."""
        if name in self.values:
            return self.values[name]
        if self.open_names or _SERVICE_LINK.match(name):
            return (RuntimeValue(name),)
        return ("$(" + name + ")",)


def _text(value):
    return "" if value is None else str(value)


def container_env(container):
    """The container's variables as the kubelet defines them (makeEnvironmentVariables), for ``expand()``.

    Each ``env`` entry in order: a non-empty ``value`` is expanded against the variables defined before it (and the
    service links); otherwise ``valueFrom`` (a field or resource of the pod, a ConfigMap or Secret key) is a value
    known only at run time; otherwise the variable is empty. ``envFrom`` may define any other name.
    """
    env = container.get("env") or []
    name = container.get("name")
    if not isinstance(env, list):
        raise ManifestError(f"container {name!r}: env must be a list")
    resolved = ContainerEnv(open_names=bool(container.get("envFrom")))
    for index, entry in enumerate(env):
        if not isinstance(entry, dict):
            raise ManifestError(f"container {name!r}: env[{index}] must be a mapping with a name and a value")
        variable, value = _text(entry.get("name")), _text(entry.get("value"))
        if value:
            resolved.values[variable] = tuple(_expand_parts(value, resolved.lookup))
        elif entry.get("valueFrom"):
            resolved.values[variable] = (RuntimeValue(variable),)
        else:
            resolved.values[variable] = ("",)
    return resolved


def _expand_parts(text, lookup):
    """expansion.Expand: ``$(NAME)`` -> ``lookup(NAME)``, ``$$`` -> ``$``, anything else after ``$`` as written."""
    parts, literal = [], []
    cursor, length = 0, len(text)
    while cursor < length:
        char = text[cursor]
        if char != "$" or cursor + 1 == length:  # a "$" at the very end stays
            literal.append(char)
            cursor += 1
            continue
        following = text[cursor + 1]
        closer = text.find(")", cursor + 2) if following == "(" else -1
        if following == "$":
            literal.append("$")
        elif closer >= 0:
            parts.append("".join(literal))
            literal = []
            parts.extend(lookup(text[cursor + 2 : closer]))
            cursor = closer + 1
            continue
        elif following == "(":
            literal.append("$(")  # no closing parenthesis: not a reference
        else:
            # Go writes string(byte) of the following byte: for a multi-byte character, its first byte becomes a
            # Latin-1 character and the others stray bytes, read back from /proc as U+FFFD each.
            encoded = following.encode("utf-8", "surrogatepass")
            literal.append("$" + chr(encoded[0]) + "\ufffd" * (len(encoded) - 1))
        cursor += 2
    parts.append("".join(literal))
    return parts


def expand(text, env=None):
    """The ``Expansion`` of one argv item ``text`` against ``env`` (``container_env()``; None: no variables)."""
    return Expansion(text, _expand_parts(text, (env or ContainerEnv()).lookup))


# --------------------------------------------------------------------------------------------------- manifest


def find_container(document, name):
    """The container ``name`` of a Pod read as plain data (the kubelet's reading, ``_goyaml.load``)."""
    if not isinstance(document, dict):
        raise ManifestError("the manifest is not a Pod object")
    spec = document.get("spec")
    containers = spec.get("containers") if isinstance(spec, dict) else None
    for container in containers if isinstance(containers, list) else []:
        if isinstance(container, dict) and container.get("name") == name:
            return container
    raise ManifestError(f"the manifest has no container named {name!r}")


def container_flags(container):
    """What follows argv[0] in the process the kubelet starts: ``command[1:] + args``, each an ``Expansion``."""
    argv = []
    for key in ("command", "args"):
        items = container.get(key) or []
        if not isinstance(items, list):
            raise ManifestError(f"container {container.get('name')!r}: {key} must be a list")
        argv.extend(str(item) for item in items)
    if not argv:
        raise ManifestError(f"container {container.get('name')!r} has neither command nor args")
    env = container_env(container)
    return [expand(arg, env) for arg in argv[1:]]


def _known(flag):
    return flag.value if isinstance(flag, Expansion) else flag


def node_address(flags):
    """Where a probe without a host goes, for these flags: ``--bind-address`` when it names one, else loopback.

    ``flags`` are strings, or Expansions whose values are all known: the flag parser only ever sees plain text.
    """
    bind_address = _flags.value_of([_known(flag) for flag in flags], "bind-address") or ""
    return "127.0.0.1" if bind_address in _UNSPECIFIED_ADDRESSES else bind_address


def container_probe(container, flags):
    """The probe the kubelet uses to call the container ready, or None when it has none (ready when running).

    ``httpGet.host`` empty means the pod IP, which for a hostNetwork pod is a node address: the apiserver's
    ``--bind-address`` when it names one, else the loopback address (the default bind address is all of them).
    When a flag holds a value the kubelet resolves only at run time (``$(POD_IP)`` from ``valueFrom``), the flags
    cannot tell the bind address: the probe's ``host`` is then None, and ``resolve_probe()`` reads it from the
    command line of the process that runs the flags, never guessing an address.
    """
    for kind in ("readinessProbe", "startupProbe", "livenessProbe"):
        http_get = (container.get(kind) or {}).get("httpGet")
        if http_get:
            probe_timeout = int(container[kind].get("timeoutSeconds") or 1)
            break
    else:
        return None
    port = http_get.get("port")
    if isinstance(port, str) and not port.isdigit():
        named = [p.get("containerPort") for p in container.get("ports") or [] if p.get("name") == port]
        if not named:
            raise ManifestError(f"the probe names port {port!r}, which the container does not declare")
        port = named[0]
    host = str(http_get.get("host") or "")
    if not host:
        host = None if any(_known(flag) is None for flag in flags) else node_address(flags)
    headers = {"User-Agent": "kube-probe/nnf.kube_audit", "Accept": "*/*"}
    for header in http_get.get("httpHeaders") or []:
        headers[header.get("name")] = header.get("value", "")
    return Probe(
        scheme=str(http_get.get("scheme") or "HTTP").upper(),
        host=host,
        port=int(port),
        path=str(http_get.get("path") or "/"),
        headers=headers,
        timeout=probe_timeout,
    )


def resolve_probe(probe, flags, process):
    """``probe`` as sent to ``process``, which runs ``flags``: a host the flags could not tell is read from its argv."""
    if probe is None or probe.host is not None:
        return probe
    actual = process.argv[len(process.argv) - len(flags) :] if flags else []
    return probe._replace(host=node_address(actual))


def probe_url(probe):
    host = "<bind-address of the new process>" if probe.host is None else probe.host
    host = f"[{host}]" if ":" in host else host
    return f"{probe.scheme.lower()}://{host}:{probe.port}{probe.path}"


# --------------------------------------------------------------------------------------------------- probe


def send_probe(probe, timeout=None):
    """One probe, as the kubelet sends it: TLS not verified, 200-399 is success."""
    timeout = probe.timeout if timeout is None else timeout
    if probe.scheme == "HTTPS":
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        connection = http.client.HTTPSConnection(probe.host, probe.port, timeout=timeout, context=context)
    else:
        connection = http.client.HTTPConnection(probe.host, probe.port, timeout=timeout)
    try:
        connection.request("GET", probe.path, headers=probe.headers)
        response = connection.getresponse()
        body = response.read(_BODY_SNIPPET).decode("utf-8", "replace").strip()
    except (OSError, socket.timeout, http.client.HTTPException, ssl.SSLError) as exc:
        return ProbeResult(False, None, f"{type(exc).__name__}: {exc}")
    finally:
        connection.close()
    ok = 200 <= response.status < 400
    return ProbeResult(ok, response.status, "" if ok else body)


# --------------------------------------------------------------------------------------------------- diagnostics


def strip_cri_prefix(line):
    return _CRI_LOG_PREFIX.sub("", line, count=1)


def pod_log_tail(container=PROCESS_NAME, lines=20, pattern=POD_LOG_GLOB):
    """The last lines of the newest container log the runtime (or the kubelet stand-in) wrote for the pod."""
    paths = glob.glob(pattern.format(container=container))
    if not paths or lines <= 0:
        return None, []
    newest = max(paths, key=lambda path: os.stat(path).st_mtime)
    try:
        with open(newest, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - 64 * 1024))
            text = handle.read().decode("utf-8", "replace")
    except OSError:
        return newest, []
    return newest, [strip_cri_prefix(line) for line in text.splitlines()[-lines:]]


def crictl_diagnostics(run, crictl, container=PROCESS_NAME, lines=20):
    """Exit code and last log lines of the newest exited container, asked of the runtime through crictl.

    ``run(argv)`` returns ``(rc, stdout, stderr)`` (AnsibleModule.run_command fits).
    """
    rc, out, _err = run([crictl, "ps", "--all", "--name", f"^{container}$", "--output", "json"])
    if rc != 0:
        return None
    try:
        containers = json.loads(out).get("containers") or []
    except ValueError:
        return None
    exited = [c for c in containers if c.get("state") == "CONTAINER_EXITED"]
    if not exited:
        return None
    latest = max(exited, key=lambda c: int(c.get("createdAt") or 0))
    found = {"container_id": latest.get("id"), "exit_code": None, "log_tail": []}
    rc, out, _err = run([crictl, "inspect", "--output", "json", latest.get("id")])
    if rc == 0:
        with contextlib.suppress(ValueError):
            found["exit_code"] = json.loads(out).get("status", {}).get("exitCode")
    rc, out, err = run([crictl, "logs", "--tail", str(lines), latest.get("id")])
    if rc == 0:
        found["log_tail"] = (out + err).splitlines()[-lines:]
    return found


# --------------------------------------------------------------------------------------------------- wait


class Observation:
    """What the wait saw last, kept for the failure message."""

    def __init__(self):
        self.processes = []
        self.started_since = []  # pids of processes started after the change, in the order they appeared
        self.probe = None
        self.probe_url = None
        self.phase = "waiting for the kubelet to start kube-apiserver from the new manifest"

    def see(self, processes, since):
        self.processes = processes
        for process in processes:
            if process.started >= since and process.pid not in self.started_since:
                self.started_since.append(process.pid)

    def as_dict(self, since, flags, now_wall=None, now_boot=None):
        def describe(process):
            return {
                "pid": process.pid,
                "started": iso_utc(boot_to_wall(process.started, now_wall, now_boot)),
                "started_after_change": process.started >= since,
                "runs_manifest_flags": runs_flags(process, flags),
                "first_difference": flags_difference(process, flags),
            }

        return {
            "phase": self.phase,
            "processes": [describe(process) for process in self.processes],
            "processes_started_since_change": len(self.started_since),
            "last_probe": None if self.probe is None else dict(self.probe._asdict()),
            "last_probe_url": self.probe_url,
        }


def iso_utc(wall_time):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(wall_time))


def wait_until_ready(
    flags,
    probe,
    *,
    since,
    timeout,
    interval=1.0,
    proc_root="/proc",
    net_ns=None,
    name=PROCESS_NAME,
    clock=boot_clock,
    sleep=time.sleep,
    send=send_probe,
):
    """Wait until kube-apiserver started at or after ``since`` (CLOCK_BOOTTIME s) runs ``flags`` and is ready.

    Ready means: such a process exists, no process older than the change is left (it could be the one answering
    the probe), the probe succeeds, and the process is still there after the probe. Returns ``(process,
    probe_result)``; raises NotReady with an Observation when ``timeout`` seconds pass first.
    """
    ticks = clock_ticks_per_second()
    # start times are whole ticks, truncated: one tick of slack keeps a restart in the same tick as the write
    since_floor = since - 1.0 / ticks
    deadline = clock() + timeout
    observation = Observation()
    while True:
        processes = [
            process
            for process in list_processes(name, proc_root, ticks)
            if net_ns is None or process.net_ns in (None, net_ns)
        ]
        observation.see(processes, since_floor)
        fresh = [p for p in processes if p.started >= since_floor and runs_flags(p, flags)]
        stale = [p for p in processes if p.started < since_floor]
        if stale:
            observation.phase = "waiting for the kubelet to stop the kube-apiserver that predates the change"
        elif not fresh:
            observation.phase = "waiting for the kubelet to start kube-apiserver from the new manifest"
        elif probe is None:
            return fresh[-1], None
        else:
            observation.phase = "waiting for kube-apiserver to answer its readiness probe"
            remaining = max(0.5, deadline - clock())
            sent = resolve_probe(probe, flags, fresh[-1])
            observation.probe_url = probe_url(sent)
            observation.probe = send(sent, min(sent.timeout, remaining))
            if observation.probe.ok and os.path.exists(os.path.join(proc_root, str(fresh[-1].pid))):
                return fresh[-1], observation.probe
        if clock() >= deadline:
            raise NotReady(f"kube-apiserver was not ready within {timeout} seconds", observation)
        sleep(min(interval, max(0.0, deadline - clock())))

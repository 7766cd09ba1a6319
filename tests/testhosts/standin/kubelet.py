"""The kubelet stand-in: watches /etc/kubernetes/manifests and runs the kube-apiserver static pod like the kubelet.

What it does, as the kubelet does it (the rules themselves are in ``static_pods``):

* keeps the file source's cache of static pods like the kubelet (pkg/kubelet/config/file.go, file_linux.go):
  a full listing every ``--file-check-frequency`` seconds (20 s, the kubelet's default; every file not starting
  with ``.``, sorted, the last file of a pod winning, files that are no valid pod skipped) replaces the cache, and
  in between every inotify event is applied at once: a file added or changed puts its pod in the cache whatever
  its name sorts like (a file that does not decode changes nothing), a file removed or renamed away deletes the
  pod it last decoded to, even when another file now defines that pod;
* when the apiserver pod's identity (node, winning file, decoded pod) changes, kills the old container (SIGTERM,
  then SIGKILL after the grace period) and starts a new one;
* before starting, sets up the hostPath volumes (``FailedMount`` events, retried, when a type check fails);
* runs the container's ``command`` + ``args`` (``kube-apiserver`` is found in ``tests/testhosts/bin``), with the
  container's env, its stdout/stderr in ``/var/log/pods/<ns>_<pod>_<uid>/<container>/<restarts>.log`` (CRI format);
* restarts a container that exits, with the crash-loop back-off (immediately, then base, 2 x base ... up to max);
* probes readiness with the manifest's readinessProbe (TLS not verified, 200-399 is ready).

What it adds for tests: ``/run/kubelet-standin/events.jsonl`` (one JSON object per event: kubelet reasons such as
Created, Started, Killing, BackOff, FailedMount, plus ContainerDied with the exit code and the last stderr lines,
NewPod, ManifestError and AuditPathNotMounted), ``status.json`` (the apiserver container's state, like a pod
status), ``containers.json`` (every container it created, as the container runtime keeps them: what the crictl
stand-in answers from) and ``kube-apiserver.log`` (a symlink to the current container log). Only the kube-apiserver
pod is run; the other static pods are read, validated and listed in ``status.json``.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import http.client
import json
import os
import secrets
import signal
import ssl
import subprocess
import sys
import threading
import time
from typing import Dict, List, Optional

from standin import flags, inotify, procutil, requestinfo, static_pods

BIN_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bin")
STDERR_TAIL_LINES = 20


def now_rfc3339() -> str:
    return datetime.datetime.now(tz=datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Settings:
    def __init__(self, args: argparse.Namespace):
        self.node_name: str = args.node_name
        self.node_address: str = args.node_address
        self.manifests_dir: str = args.manifests_dir
        self.state_dir: str = args.state_dir
        self.pod_log_dir: str = args.pod_log_dir
        self.poll: float = args.poll
        self.file_check_frequency: float = args.file_check_frequency
        self.backoff_base: float = args.backoff_base
        self.backoff_max: float = args.backoff_max
        self.stop_grace_max: float = args.stop_grace_max
        self.writable_roots: List[str] = [root.rstrip("/") for root in args.writable_root]
        self.python: str = args.python or sys.executable

    def may_create(self, path: str) -> bool:
        path = os.path.normpath(path)
        return any(path == root or path.startswith(root + "/") for root in self.writable_roots)


class Recorder:
    """events.jsonl and status.json in the state directory."""

    def __init__(self, state_dir: str):
        self.state_dir = state_dir
        os.makedirs(state_dir, exist_ok=True)
        self.events_path = os.path.join(state_dir, "events.jsonl")

    def event(self, reason: str, message: str, kind: str = "Normal", **fields) -> None:
        record = {"time": now_rfc3339(), "type": kind, "reason": reason, "message": message, **fields}
        with open(self.events_path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, sort_keys=False) + "\n")
        sys.stderr.write(f"{record['time']} {kind} {reason}: {message}\n")
        sys.stderr.flush()

    def status(self, status: Dict) -> None:
        path = os.path.join(self.state_dir, "status.json")
        temporary = path + ".tmp"
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump(status, handle, indent=2, sort_keys=True)
            handle.write("\n")
        os.replace(temporary, path)

    def containers(self, records: List[Dict]) -> None:
        """containers.json: the runtime's container store, replaced whole so that crictl never reads half of it."""
        path = os.path.join(self.state_dir, "containers.json")
        temporary = path + ".tmp"
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump({"containers": records}, handle, indent=2)
            handle.write("\n")
        os.replace(temporary, path)


class Container:
    """One run of the apiserver container: the process and the threads copying its output into the CRI log."""

    def __init__(self, process: subprocess.Popen, log_path: str, container_id: str):
        self.process = process
        self.log_path = log_path
        self.container_id = container_id
        self.started_wall = now_rfc3339()
        self.started = time.monotonic()
        self.stderr_tail: List[str] = []
        self._lock = threading.Lock()
        self._log = open(log_path, "ab", buffering=0)  # noqa: SIM115 - closed when the container is reaped
        self._threads = [
            threading.Thread(target=self._copy, args=(process.stdout, "stdout"), daemon=True),
            threading.Thread(target=self._copy, args=(process.stderr, "stderr"), daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def _copy(self, stream, name: str) -> None:
        for raw in iter(stream.readline, b""):
            line = raw.rstrip(b"\n")
            stamp = datetime.datetime.now(tz=datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z"
            with self._lock:
                self._log.write(f"{stamp} {name} F ".encode() + line + b"\n")
                if name == "stderr":
                    self.stderr_tail = [*self.stderr_tail, line.decode("utf-8", "replace")][-STDERR_TAIL_LINES:]
        stream.close()

    def reap(self) -> None:
        for thread in self._threads:
            thread.join(timeout=2)
        self._log.close()


class PodState:
    """The apiserver static pod the kubelet is running (one per pod UID)."""

    def __init__(self, uid: str, static_pod: static_pods.StaticPod):
        self.uid = uid
        self.sandbox_id = secrets.token_hex(32)  # the runtime's ID of the pod sandbox, new with every pod
        self.source = static_pod.source
        self.pod = static_pod.pod
        self.container = static_pods.find_container(static_pod.pod)
        self.container_name = self.container.get("name") or static_pods.APISERVER_CONTAINER
        self.restart_count = 0
        self.crashes = 0
        self.current: Optional[Container] = None
        self.next_start = 0.0
        self.last_finish: Optional[float] = None
        self.backoff = 0.0
        self.state = "waiting"
        self.reason = "ContainerCreating"
        self.ready = False
        self.probe_failures = 0
        self.next_probe = 0.0
        self.last_state: Optional[Dict] = None
        self.mount_errors: Dict[str, str] = {}
        self.warned_paths = False
        self.warned_probe = False


class Kubelet:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.recorder = Recorder(settings.state_dir)
        self.pod: Optional[PodState] = None
        self.store: Dict[str, static_pods.StaticPod] = {}  # the file source's cache, by namespace/name
        self.file_keys: Dict[str, str] = {}  # fileKeyMapping: file -> the key of the pod it last decoded to
        self.manifest_errors: Dict[str, str] = {}
        self.watch: Optional[inotify.DirectoryWatch] = None
        self.next_list = 0.0
        self.pod_starts = 0
        self.stopping = False
        self.containers: List[Dict] = []  # the runtime's records of every container created, oldest first

    # ------------------------------------------------------------------ loop

    def run(self) -> None:
        self.recorder.event("Starting", f"kubelet stand-in watching {self.settings.manifests_dir}")
        self.write_status()
        while not self.stopping:
            try:
                self.sync()
            except Exception as exc:  # keep going like the kubelet does; the error is in the log and the events
                self.recorder.event("SyncError", f"{type(exc).__name__}: {exc}", kind="Warning")
            time.sleep(self.settings.poll)
        if self.pod is not None:
            self.kill(self.pod, "kubelet stand-in stopping")
        self.write_status()

    def sync(self) -> None:
        """One turn of the kubelet's file source and pod worker: watch events, the periodic re-list, the pod."""
        changed = False
        if self.watch is None or self.watch.lost:
            self.start_watch()
        for event in self.watch.read() if self.watch else []:
            self.consume(event)
            changed = self.reconcile() or changed
        now = time.monotonic()
        if now >= self.next_list:
            self.next_list = now + self.settings.file_check_frequency
            changed = self.list_config() or changed
            changed = self.reconcile() or changed
        if self.pod is not None:
            changed = self.step(self.pod) or changed
        if changed:
            self.write_status()

    def start_watch(self) -> None:
        if self.watch is not None:
            self.watch.close()
        try:
            self.watch = inotify.DirectoryWatch(self.settings.manifests_dir)
        except OSError:
            self.watch = None  # no directory yet: the re-list reports it, the next turn tries again

    def list_config(self) -> bool:
        """listConfig: read the whole directory and replace the store (sorted, the last file of a pod wins)."""
        manifests, errors = static_pods.read_manifests(self.settings.manifests_dir)
        for path, error in errors.items():
            if self.manifest_errors.get(path) != error:
                self.recorder.event(
                    "ManifestError", f"Could not process manifest file: {error}", "Warning", source=path
                )
        store = {}
        for static_pod in manifests:
            self.file_keys[static_pod.source] = static_pod.key
            store[static_pod.key] = static_pod
        changed = errors != self.manifest_errors or self.sources(store) != self.sources(self.store)
        self.manifest_errors, self.store = errors, store
        return changed

    def consume(self, event: inotify.WatchEvent) -> None:
        """consumeWatchEvent: one file added or changed replaces its pod; a file removed deletes its pod's key."""
        path = event.path
        if event.kind in (inotify.ADD, inotify.MODIFY):
            try:
                with open(path, encoding="utf-8") as handle:
                    pod = static_pods.parse_pod(handle.read(), path)
            except (static_pods.ManifestError, OSError, UnicodeDecodeError) as exc:
                message = f'can\'t process config file "{path}": {exc}'
                self.recorder.event("ManifestError", message, "Warning", source=path, via="watch")
                return
            key = static_pods.pod_key(pod)
            self.file_keys[path] = key
            self.store[key] = static_pods.StaticPod(key, path, pod)
            return
        key = self.file_keys.get(path)
        if key is None:
            return
        if key not in self.store:
            message = f"the pod with key {key} doesn't exist in cache"
            self.recorder.event("ManifestError", message, "Warning", source=path, via="watch")
            return
        del self.store[key]
        del self.file_keys[path]

    @staticmethod
    def sources(store: Dict[str, static_pods.StaticPod]) -> Dict[str, str]:
        return {key: static_pod.source for key, static_pod in sorted(store.items())}

    def reconcile(self) -> bool:
        """Kill the apiserver pod the store no longer has, make a new pod when its identity changed."""
        desired = self.store.get(static_pods.APISERVER_POD)
        if desired is None:
            if self.pod is None:
                return False
            self.kill(self.pod, "the manifests no longer define the pod")
            self.pod = None
            return True
        uid = static_pods.pod_uid(desired.pod, desired.source, self.settings.node_name)
        if self.pod is not None and self.pod.uid == uid:
            return False
        if self.pod is not None:
            self.kill(self.pod, "the pod changed")
        self.pod = PodState(uid, desired)
        self.pod_starts += 1
        self.recorder.event("NewPod", f"static pod {desired.key} from {desired.source}", **self.ids(self.pod))
        return True

    def ids(self, pod: PodState) -> Dict:
        return {"pod": f"kube-system/kube-apiserver-{self.settings.node_name}", "uid": pod.uid, "source": pod.source}

    # ------------------------------------------------------------------ one pod

    def step(self, pod: PodState) -> bool:
        """Advance the pod one tick; True when its status changed."""
        now = time.monotonic()
        container = pod.current
        if container is not None:
            code = container.process.poll()
            if code is None:
                return self.probe(pod, now)
            self.finished(pod, container, code, now)
            return True
        if now < pod.next_start:
            return False
        if not self.volumes_ready(pod, now):
            return False
        self.start(pod)
        return True

    def volumes_ready(self, pod: PodState, now: float) -> bool:
        failures = dict(static_pods.mount_volumes(pod.pod, self.settings.may_create))
        for volume, error in failures.items():
            if pod.mount_errors.get(volume) != error:
                self.recorder.event(
                    "FailedMount",
                    f'MountVolume.SetUp failed for volume "{volume}" : {error}',
                    "Warning",
                    **self.ids(pod),
                )
        pod.mount_errors = failures
        if failures:
            pod.state, pod.reason, pod.next_start = "waiting", "ContainerCreating", now + 1.0
            return False
        if not pod.warned_paths:
            pod.warned_paths = True
            self.warn_unmounted_audit_paths(pod)
        return True

    def warn_unmounted_audit_paths(self, pod: PodState) -> None:
        argv = static_pods.container_argv(pod.container)
        try:
            values = flags.parse_args(argv[1:]).values
        except flags.FlagError:
            return  # the apiserver will say so itself
        mounts = static_pods.container_mounts(pod.pod, pod.container)
        for flag, path in flags.audit_paths(values):
            if static_pods.covering_mount(mounts, path) is None:
                self.recorder.event(
                    "AuditPathNotMounted",
                    f"--{flag}={path} is under no volumeMount of container {pod.container_name}: the container "
                    "cannot see that host path (a policy there is missing, a log there stays in the container)",
                    "Warning",
                    flag=flag,
                    path=path,
                    **self.ids(pod),
                )

    def start(self, pod: PodState) -> None:
        ids = self.ids(pod)
        argv = static_pods.container_argv(pod.container)
        executable = self.find_executable(argv[0]) if argv else None
        if executable is None:
            what = argv[0] if argv else "(no command)"
            self.recorder.event(
                "Failed",
                f'Error: failed to create containerd task: exec: "{what}": executable file not found in $PATH',
                "Warning",
                **ids,
            )
            record = self.record_container(pod, secrets.token_hex(32), None, "")
            self.record_exit(record, 128, "StartError", f'exec: "{what}": executable file not found in $PATH')
            self.crashed(pod, 128, [], time.monotonic(), reason="StartError")
            return
        log_dir = os.path.join(
            self.settings.pod_log_dir,
            f"kube-system_kube-apiserver-{self.settings.node_name}_{pod.uid}",
            pod.container_name,
        )
        os.makedirs(log_dir, exist_ok=True)
        log_path = os.path.join(log_dir, f"{pod.restart_count}.log")
        rootfs = os.path.join(self.settings.state_dir, "pods", pod.uid, "rootfs")
        os.makedirs(rootfs, exist_ok=True)
        mounts = static_pods.container_mounts(pod.pod, pod.container)
        probe = static_pods.probe_endpoint(pod.container, self.settings.node_address)
        env = {
            "PATH": f"{BIN_DIR}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": "/root",
            "HOSTNAME": self.settings.node_name,
            "LANG": "C.UTF-8",
        }
        for variable in pod.container.get("env") or []:
            if "name" in variable and "value" in variable:
                env[str(variable["name"])] = str(variable["value"])
        env.update(
            {
                "KUBE_APISERVER_STANDIN_MOUNTS": json.dumps([mount._asdict() for mount in mounts]),
                "KUBE_APISERVER_STANDIN_ROOTFS": rootfs,
                "KUBE_APISERVER_STANDIN_IMAGE": str(pod.container.get("image") or ""),
                "KUBE_APISERVER_STANDIN_KNOBS": self.settings.state_dir,
                # no container adoption after a kubelet restart: the container goes with the kubelet
                "KUBE_APISERVER_STANDIN_PARENT": str(os.getpid()),
            }
        )
        if probe:
            env["KUBE_APISERVER_STANDIN_LISTEN"] = f"{probe[1]}:{probe[2]}"
        image = pod.container.get("image")
        self.recorder.event("Pulled", f'Container image "{image}" already present on machine', **ids)
        process = subprocess.Popen(
            [self.settings.python, executable, *argv[1:]],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd="/",
            env=env,
            start_new_session=True,
        )
        container_id = secrets.token_hex(32)
        pod.current = Container(process, log_path, container_id)
        self.record_container(pod, container_id, process.pid, log_path)
        self.link_logs(pod, log_path, container_id)
        pod.state, pod.reason, pod.ready, pod.probe_failures, pod.next_probe = "running", "", False, 0, 0.0
        self.recorder.event("Created", f"Created container {pod.container_name}", pid=process.pid, **ids)
        self.recorder.event("Started", f"Started container {pod.container_name}", pid=process.pid, **ids)

    def record_container(self, pod: PodState, container_id: str, pid: Optional[int], log_path: str) -> Dict:
        """The runtime's record of a container just created (and, with a pid, started), with the kubelet's labels."""
        created = time.time_ns()
        image = str(pod.container.get("image") or "")
        grace = pod.pod.get("spec", {}).get("terminationGracePeriodSeconds") or 30
        record = {
            "id": container_id,
            "podSandboxId": pod.sandbox_id,
            "name": pod.container_name,
            "attempt": pod.restart_count,
            "image": image,
            # no image store: a digest of the image name stands in for the image ID
            "imageRef": "sha256:" + hashlib.sha256(image.encode()).hexdigest(),
            "state": "CONTAINER_RUNNING" if pid else "CONTAINER_CREATED",
            "createdAt": created,
            "startedAt": created if pid else 0,
            "finishedAt": 0,
            "exitCode": 0,
            "reason": "",
            "message": "",
            "pid": pid or 0,
            "logPath": log_path,
            "labels": {
                "io.kubernetes.container.name": pod.container_name,
                "io.kubernetes.pod.name": f"kube-apiserver-{self.settings.node_name}",
                "io.kubernetes.pod.namespace": "kube-system",
                "io.kubernetes.pod.uid": pod.uid,
            },
            "annotations": {
                "io.kubernetes.container.restartCount": str(pod.restart_count),
                "io.kubernetes.container.terminationMessagePath": "/dev/termination-log",
                "io.kubernetes.container.terminationMessagePolicy": "File",
                "io.kubernetes.pod.terminationGracePeriod": str(grace),
            },
            "mounts": [
                {
                    "containerPath": mount.mount_path,
                    "hostPath": mount.host_path or "",
                    "readonly": mount.read_only,
                    "propagation": "PROPAGATION_PRIVATE",
                    "selinuxRelabel": False,
                }
                for mount in static_pods.container_mounts(pod.pod, pod.container)
            ],
        }
        self.containers.append(record)
        self.recorder.containers(self.containers)
        return record

    def record_exit(self, record: Dict, code: int, reason: str, message: str = "") -> None:
        # the runtime reports a death by signal N as exit code 128 + N, as a shell does
        record.update(
            state="CONTAINER_EXITED",
            finishedAt=time.time_ns(),
            exitCode=128 - code if code < 0 else code,
            reason=reason,
            message=message,
        )
        self.recorder.containers(self.containers)

    def container_record(self, container_id: str) -> Dict:
        return next(record for record in self.containers if record["id"] == container_id)

    def link_logs(self, pod: PodState, log_path: str, container_id: str) -> None:
        links = [
            os.path.join(self.settings.state_dir, "kube-apiserver.log"),
            os.path.join(
                os.path.dirname(self.settings.pod_log_dir),
                "containers",
                f"kube-apiserver-{self.settings.node_name}_kube-system_{pod.container_name}-{container_id}.log",
            ),
        ]
        for link in links:
            os.makedirs(os.path.dirname(link), exist_ok=True)
            temporary = link + ".tmp"
            if os.path.lexists(temporary):
                os.remove(temporary)
            os.symlink(log_path, temporary)
            os.replace(temporary, link)

    @staticmethod
    def find_executable(command: str) -> Optional[str]:
        """The stand-in for the image's binary: ``kube-apiserver`` (also as an absolute path) maps to bin/."""
        candidate = os.path.join(BIN_DIR, os.path.basename(command))
        return candidate if os.access(candidate, os.X_OK) else None

    def finished(self, pod: PodState, container: Container, code: int, now: float) -> None:
        container.reap()
        pod.current = None
        tail = container.stderr_tail
        self.recorder.event(
            "ContainerDied",
            f"Container {pod.container_name} exited with code {code}",
            "Warning" if code else "Normal",
            exitCode=code,
            pid=container.process.pid,
            ranSeconds=round(now - container.started, 3),
            stderrTail=tail,
            **self.ids(pod),
        )
        reason = "Error" if code else "Completed"
        self.record_exit(self.container_record(container.container_id), code, reason)
        self.crashed(pod, code, tail, now, reason=reason, started=container.started_wall)

    def crashed(self, pod: PodState, code: int, tail: List[str], now: float, *, reason: str, started: str = "") -> None:
        """restartPolicy Always: restart with the kubelet's crash-loop back-off."""
        pod.last_state = {
            "exitCode": code,
            "reason": reason,
            "startedAt": started,
            "finishedAt": now_rfc3339(),
            "message": "\n".join(tail[-5:]),
        }
        expired = pod.last_finish is not None and now - pod.last_finish > 2 * self.settings.backoff_max
        if pod.last_finish is None or expired:
            delay = 0.0  # no back-off entry yet: the kubelet restarts at once, then backs off
            pod.backoff = self.settings.backoff_base
        else:
            delay = pod.backoff
            pod.backoff = min(pod.backoff * 2, self.settings.backoff_max)
        pod.last_finish = now
        pod.restart_count += 1
        pod.crashes += 1
        pod.ready = False
        pod.next_start = now + delay
        pod.state, pod.reason = "waiting", "CrashLoopBackOff" if delay else "Restarting"
        if delay:
            self.recorder.event(
                "BackOff",
                f"Back-off restarting failed container {pod.container_name} in pod "
                f"kube-apiserver-{self.settings.node_name}_kube-system({pod.uid})",
                "Warning",
                delaySeconds=delay,
                **self.ids(pod),
            )

    def probe(self, pod: PodState, now: float) -> bool:
        endpoint = static_pods.probe_endpoint(pod.container, self.settings.node_address)
        if endpoint is None:
            changed, pod.ready = not pod.ready, True
            return changed
        if now < pod.next_probe:
            return False
        period = float((pod.container.get("readinessProbe") or {}).get("periodSeconds") or 1)
        threshold = int((pod.container.get("readinessProbe") or {}).get("failureThreshold") or 3)
        pod.next_probe = now + (period if pod.ready else self.settings.poll)
        if not requestinfo.is_loopback(endpoint[1]):  # test traffic stays on loopback, whatever a manifest says
            if not pod.warned_probe:
                pod.warned_probe = True
                message = f"kubelet stand-in does not probe {endpoint[1]}: not a loopback address"
                self.recorder.event("Unhealthy", message, "Warning", **self.ids(pod))
            return False
        ok = send_probe(*endpoint)
        before = pod.ready
        if ok:
            pod.ready, pod.probe_failures = True, 0
        else:
            pod.probe_failures += 1
            if pod.ready and pod.probe_failures >= threshold:
                pod.ready = False
                self.recorder.event("Unhealthy", "Readiness probe failed", "Warning", **self.ids(pod))
        return pod.ready != before

    def kill(self, pod: PodState, why: str) -> None:
        container = pod.current
        if container is None:
            return
        self.recorder.event(
            "Killing", f"Stopping container {pod.container_name} ({why})", pid=container.process.pid, **self.ids(pod)
        )
        grace = min(
            float(pod.pod.get("spec", {}).get("terminationGracePeriodSeconds") or 30), self.settings.stop_grace_max
        )
        container.process.terminate()
        try:
            code = container.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            container.process.kill()
            code = container.process.wait()
        container.reap()
        pod.current = None
        self.record_exit(self.container_record(container.container_id), code, "Completed" if code == 0 else "Error")
        self.recorder.event(
            "ContainerDied",
            f"Container {pod.container_name} exited with code {code}",
            exitCode=code,
            pid=container.process.pid,
            ranSeconds=round(time.monotonic() - container.started, 3),
            stderrTail=container.stderr_tail,
            **self.ids(pod),
        )

    # ------------------------------------------------------------------ status

    def write_status(self) -> None:
        status: Dict = {
            "node": self.settings.node_name,
            "updated": now_rfc3339(),
            "podStarts": self.pod_starts,
            "staticPods": self.sources(self.store),
            "manifestErrors": self.manifest_errors,
            "apiserver": None,
        }
        pod = self.pod
        if pod is not None:
            container = pod.current
            status["apiserver"] = {
                "uid": pod.uid,
                "source": pod.source,
                "state": pod.state,
                "reason": pod.reason,
                "ready": pod.ready,
                "restartCount": pod.restart_count,
                "pid": container.process.pid if container else None,
                "startedAt": container.started_wall if container else None,
                "containerID": container.container_id if container else None,
                "log": container.log_path if container else None,
                "command": static_pods.container_argv(pod.container),
                "lastState": pod.last_state,
                "mountErrors": pod.mount_errors,
            }
        self.recorder.status(status)


def send_probe(scheme: str, host: str, port: int, path: str, timeout: float = 1.0) -> bool:
    """One probe as the kubelet sends it: TLS not verified, 200-399 is success."""
    if scheme == "HTTPS":
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        connection = http.client.HTTPSConnection(host, port, timeout=timeout, context=context)
    else:
        connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        connection.request("GET", path, headers={"User-Agent": "kube-probe/1.29"})
        status = connection.getresponse().status
    except (OSError, http.client.HTTPException):
        return False
    finally:
        connection.close()
    return 200 <= status < 400


def parse_arguments(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="kubelet", description="kubelet stand-in of the test masters")
    parser.add_argument("--node-name", required=True)
    parser.add_argument("--node-address", required=True)
    parser.add_argument("--manifests-dir", default="/etc/kubernetes/manifests")
    parser.add_argument("--state-dir", default="/run/kubelet-standin")
    parser.add_argument("--pod-log-dir", default="/var/log/pods")
    parser.add_argument("--poll", type=float, default=0.2, help="seconds between turns (events are read each turn)")
    parser.add_argument(
        "--file-check-frequency", type=float, default=20.0, help="seconds between full re-lists (kubelet: 20 s)"
    )
    parser.add_argument("--backoff-base", type=float, default=1.0, help="first crash-loop delay (kubelet: 10 s)")
    parser.add_argument("--backoff-max", type=float, default=8.0, help="longest crash-loop delay (kubelet: 300 s)")
    parser.add_argument("--stop-grace-max", type=float, default=5.0, help="cap on terminationGracePeriodSeconds")
    parser.add_argument("--writable-root", action="append", default=[], help="where hostPath *OrCreate may create")
    parser.add_argument("--python", help="interpreter for the kube-apiserver stand-in (default: this one)")
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_arguments(argv)
    procutil.set_process_name("kubelet")
    procutil.set_command_line(
        ["kubelet", f"--pod-manifest-path={args.manifests_dir}", f"--hostname-override={args.node_name}"]
    )
    kubelet = Kubelet(Settings(args))

    def stop(_signal_number, _frame):
        kubelet.stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    kubelet.run()
    return 0

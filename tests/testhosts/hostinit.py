"""PID 1 of one test master: builds its private filesystem, then runs and supervises sshd and the kubelet stand-in.

``testhosts.py up`` starts it as ``unshare --mount --uts --pid --fork --kill-child -- python hostinit.py HOST_DIR``,
so it runs in fresh mount, UTS and PID namespaces (mount propagation private: nothing it mounts is seen outside).
From ``HOST_DIR/host.json`` it:

1. reports its PID as seen from outside (``HOST_DIR/init.json``), read from the old /proc before replacing it;
2. mounts a tmpfs scratch area at ``HOST_DIR/scratch`` and puts overlayfs over /etc, /root, /var, /usr, /opt and
   /srv with their upper layers there (reads see the machine's files, writes stay in the host), tmpfs on
   /etc/kubernetes, /var/log, /run and /tmp, binds the checkout and the run directory back over themselves (so
   they stay the real ones wherever they live), and mounts a /proc of its own PID namespace;
   makes the machine's Python bare, as on a fresh control-plane node: an empty read-only tmpfs over every site
   directory of ``master_python`` (/usr/bin/python3, the interpreter Ansible uses on the host: dist-packages,
   site-packages, the user site and any other non-standard-library entry of its sys.path), so that only the standard
   library imports there. The stand-ins' Python (``python``, the project venv) must need none of those directories;
3. sets its hostname, /etc/hostname, /etc/hosts, /etc/machine-id, copies ``HOST_DIR/seed`` over / (manifests,
   PKI, kubeadm's records, admin.conf, sshd config, host key, authorized key, Ansible local facts), and puts the
   crictl and kubeadm stand-ins on the host's PATH as /usr/local/bin/crictl and /usr/local/bin/kubeadm (in the
   host's /usr overlay: the machine's /usr/local/bin never sees them);
4. runs ``sshd -D`` and the kubelet stand-in, restarting either if it dies, reaping orphans, until SIGTERM or until
   the run's ``state.json`` disappears (a torn-down run never leaves a host behind). When it exits, the kernel
   kills whatever is left in its PID namespace and drops the mount namespace with all its mounts.
"""

from __future__ import annotations

import ctypes
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from typing import Optional

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from standin import procutil

# A host its driver could not record in state.json (the driver was killed right after starting it) stops by itself.
RECORD_GRACE_SECONDS = 20
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_BIND, MS_REC = 0x1, 0x2, 0x4, 0x8, 0x1000, 0x4000
_libc = ctypes.CDLL(None, use_errno=True)


def log(message: str) -> None:
    sys.stderr.write(f"{time.strftime('%H:%M:%S')} hostinit: {message}\n")
    sys.stderr.flush()


def mount(source: str, target: str, fstype: Optional[str] = None, flags: int = 0, data: Optional[str] = None) -> None:
    result = _libc.mount(
        source.encode(),
        target.encode(),
        fstype.encode() if fstype else None,
        ctypes.c_ulong(flags),
        data.encode() if data else None,
    )
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"mount {fstype or 'bind'} {source} on {target}: {os.strerror(errno)}")


def under(path: str, roots) -> bool:
    return any(path == root or path.startswith(root.rstrip("/") + "/") for root in roots)


# Run by the host's master_python as Ansible runs it (no -I, -s or -S; cwd /): where its imports can come from.
_SITE_QUERY = r"""
import json, os, site, sys, sysconfig
paths = sysconfig.get_paths()
stdlib = {os.path.realpath(paths[name]) for name in ("stdlib", "platstdlib")}
stdlib |= {os.path.join(path, "lib-dynload") for path in stdlib}
stdlib.add(os.path.join(sys.base_prefix, "lib", "python%d%d.zip" % sys.version_info[:2]))
sites = list(site.getsitepackages())
if site.ENABLE_USER_SITE:
    sites.append(site.getusersitepackages())
print(json.dumps({"third_party": sites + [path for path in sys.path if path and os.path.realpath(path) not in stdlib]}))
"""


def site_report(python: str) -> dict:
    """Every place but the standard library that ``python`` imports from (site directories, sys.path entries)."""
    result = subprocess.run(
        [python, "-c", _SITE_QUERY],
        capture_output=True,
        text=True,
        cwd="/",
        env={"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"},
        timeout=60,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{python} cannot tell its site directories: {result.stderr.strip()}")
    return json.loads(result.stdout)


def site_dirs_to_hide(report: dict, needed) -> list:
    """The existing third-party directories of a site report, outermost only; none may hold a ``needed`` path.

    ``needed``: paths the host must keep seeing (the stand-ins' own sys.path, the checkout, the run directory).
    """
    chosen = []
    for path in sorted({os.path.realpath(entry) for entry in report["third_party"]}):
        if not os.path.isdir(path) or under(path, chosen):
            continue
        clash = [entry for entry in needed if under(entry, [path])]
        if clash:
            raise RuntimeError(
                f"{path} is a site directory of the masters' Python but the stand-ins need {clash[0]}: run "
                "testhosts.py with the project venv (include-system-site-packages = false)"
            )
        chosen.append(path)
    return chosen


class Host:
    def __init__(self, host_dir: str):
        self.host_dir = host_dir
        with open(os.path.join(host_dir, "host.json"), encoding="utf-8") as handle:
            self.config = json.load(handle)
        self.state_file = os.path.join(self.config["run_dir"], "state.json")
        self.children = {}  # name -> Popen
        self.stopping = False
        self.parent_pid = None  # unshare's PID, as state.json records it
        self.started = time.monotonic()
        self.private_dirs = []  # the overlays and tmpfs mounted over the machine's directories

    # ------------------------------------------------------------------ filesystem

    def report_outer_pid(self) -> None:
        outer_pid = int(os.readlink("/proc/self"))  # the old /proc still counts in the parent PID namespace
        with open(f"/proc/{outer_pid}/stat", "rb") as handle:
            data = handle.read()
        fields = data[data.rindex(b")") + 2 :].split()
        started, self.parent_pid = int(fields[19]), int(fields[1])
        temporary = os.path.join(self.host_dir, "init.json.tmp")
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump({"pid": outer_pid, "start": started}, handle)
        os.replace(temporary, os.path.join(self.host_dir, "init.json"))

    def build_filesystem(self) -> None:
        config = self.config
        keep_real = {path: os.open(path, os.O_PATH | os.O_DIRECTORY) for path in config["keep_real"]}
        scratch = os.path.join(self.host_dir, "scratch")
        mount("testhost-scratch", scratch, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0700")
        # Layers are named through a descriptor: the scratch path itself may lie under a directory overlaid below
        # (a run dir in /root), and overlayfs options cannot hold ',' or ':'.
        scratch_fd = os.open(scratch, os.O_PATH | os.O_DIRECTORY)
        overlaid = [d for d in config["overlay_dirs"] if os.path.isdir(d) and not os.path.islink(d)]
        layers = {}
        for directory in overlaid:
            layer = directory.strip("/").replace("/", "_")
            for part in ("upper", "work"):
                os.makedirs(os.path.join(scratch, layer, part))
            layers[directory] = f"/proc/self/fd/{scratch_fd}/{layer}"
        mounted = []
        for directory in overlaid:
            options = f"lowerdir={directory},upperdir={layers[directory]}/upper,workdir={layers[directory]}/work"
            mount("overlay", directory, "overlay", 0, options)
            mounted.append(directory)
        for directory, mode in config["tmpfs_dirs"]:
            if not under(directory, mounted) and not os.path.isdir(directory):
                raise RuntimeError(f"{directory} is missing and outside the private filesystem: not creating it")
            os.makedirs(directory, exist_ok=True)
            mount(
                f"testhost-{directory.strip('/').replace('/', '-')}",
                directory,
                "tmpfs",
                MS_NOSUID | MS_NODEV,
                f"mode={mode}",
            )
            mounted.append(directory)
        self.private_dirs = mounted
        for path, descriptor in keep_real.items():
            if under(path, mounted):
                os.makedirs(path, exist_ok=True)  # inside a tmpfs mounted just now, never on the real disk
                mount(f"/proc/self/fd/{descriptor}", path, None, MS_BIND | MS_REC)
            os.close(descriptor)
        os.close(scratch_fd)
        mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
        self.hide_site_packages()

    def hide_site_packages(self) -> None:
        """An empty read-only tmpfs over each site directory of master_python: only its standard library is left.

        Nothing on the machine changes: the mounts live in this host's private mount namespace. The stand-ins run
        with the venv's Python, whose sys.path (this process's) must not lie in a hidden directory.
        """
        python = self.config["master_python"]
        needed = [os.path.realpath(path) for path in [*sys.path, *self.config["keep_real"]] if path]
        hidden = site_dirs_to_hide(site_report(python), needed)
        for directory in hidden:
            mount("testhost-no-site-packages", directory, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)
        left = [
            path
            for path in site_report(python)["third_party"]
            if os.path.exists(path) and (not os.path.isdir(path) or os.listdir(path))
        ]
        if left:
            raise RuntimeError(f"{python} still imports from {', '.join(left)} after hiding its site directories")
        log(f"{python} bare: hid {', '.join(hidden) or 'nothing (no site directory)'}")

    def personalize(self) -> None:
        config = self.config
        name, address = config["name"], config["address"]
        socket.sethostname(name)
        with open("/etc/hostname", "w", encoding="utf-8") as handle:
            handle.write(name + "\n")
        with open("/etc/hosts", "w", encoding="utf-8") as handle:
            handle.write(f"127.0.0.1\tlocalhost\n{address}\t{name}\n::1\tlocalhost ip6-localhost ip6-loopback\n")
        with open("/etc/machine-id", "w", encoding="utf-8") as handle:
            handle.write(os.urandom(16).hex() + "\n")
        seed = os.path.join(self.host_dir, "seed")
        for directory, subdirectories, files in os.walk(seed):
            relative = os.path.relpath(directory, seed)
            target_dir = "/" if relative == "." else "/" + relative
            if not under(target_dir, config["writable_roots"]) and target_dir != "/":
                raise RuntimeError(f"seed {relative} is outside the private filesystem")
            for subdirectory in subdirectories:
                target = os.path.join(target_dir, subdirectory)
                if not os.path.isdir(target):
                    os.mkdir(target, os.stat(os.path.join(directory, subdirectory)).st_mode & 0o7777)
            for filename in files:
                shutil.copy2(os.path.join(directory, filename), os.path.join(target_dir, filename))
        self.unlock_root()
        for tool in ("crictl", "kubeadm"):
            self.install_tool(tool)
        for directory in ("/run/sshd", "/var/log/pods", "/var/log/containers", "/run/kubelet-standin"):
            os.makedirs(directory, mode=0o755, exist_ok=True)

    def install_tool(self, name: str) -> None:
        """/usr/local/bin/NAME runs the NAME stand-in (crictl, kubeadm), where module.get_bin_path looks for it.

        A wrapper, not a symlink: the stand-in's ``#!/usr/bin/env python`` finds no ``python`` on a host's PATH.
        """
        target = f"/usr/local/bin/{name}"
        if not under(target, self.private_dirs):
            raise RuntimeError(f"{target} is outside the private filesystem: not installing {name} there")
        standin = os.path.join(self.config["testhosts_dir"], "bin", name)
        os.makedirs(os.path.dirname(target), mode=0o755, exist_ok=True)
        with open(target, "w", encoding="utf-8") as handle:
            handle.write(f'#!/bin/sh\nexec {shlex.quote(self.config["python"])} {shlex.quote(standin)} "$@"\n')
        os.chmod(target, 0o755)

    @staticmethod
    def unlock_root() -> None:
        """sshd without PAM refuses a locked account ("!" password); the host's own /etc/shadow is writable."""
        with open("/etc/shadow", encoding="utf-8") as handle:
            lines = handle.read().splitlines(keepends=True)
        changed = False
        for index, line in enumerate(lines):
            fields = line.split(":")
            if fields[0] == "root" and fields[1].startswith("!"):
                fields[1] = "*"
                lines[index] = ":".join(fields)
                changed = True
        if changed:
            with open("/etc/shadow", "w", encoding="utf-8") as handle:
                handle.writelines(lines)

    # ------------------------------------------------------------------ processes

    def start(self, name: str) -> None:
        config = self.config
        if name == "sshd":
            argv = ["/usr/sbin/sshd", "-D", "-e", "-f", "/etc/ssh/sshd_config"]
            log_path = "/var/log/sshd.log"
        else:
            argv = [config["python"], os.path.join(config["testhosts_dir"], "kubelet"), *config["kubelet_args"]]
            log_path = "/var/log/kubelet-standin.log"
        with open(log_path, "ab") as log_file:
            self.children[name] = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=log_file,
                cwd="/",
                env={"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"},
            )
        log(f"started {name} (pid {self.children[name].pid})")

    def supervise(self) -> None:
        for name in ("sshd", "kubelet"):
            self.start(name)
        restart_at = {}
        while not self.stopping:
            while True:  # PID 1 reaps every orphan of the host
                try:
                    pid, status = os.waitpid(-1, os.WNOHANG)
                except ChildProcessError:
                    break
                if pid == 0:
                    break
                for name, child in self.children.items():
                    if child.pid == pid:
                        child.returncode = os.waitstatus_to_exitcode(status)
                        log(f"{name} exited ({child.returncode}); restarting it in 1 s")
                        restart_at[name] = time.monotonic() + 1.0
            for name, when in list(restart_at.items()):
                if time.monotonic() >= when:
                    del restart_at[name]
                    self.start(name)
            reason = self.orphaned()
            if reason:
                log(f"{reason}: stopping")
                break
            time.sleep(0.5)
        self.shutdown()

    def orphaned(self) -> Optional[str]:
        """Why this host should not exist any more: its run was torn down, or no run ever recorded it."""
        try:
            with open(self.state_file, encoding="utf-8") as handle:
                hosts = json.load(handle).get("hosts") or []
        except FileNotFoundError:
            return f"{self.state_file} is gone: the run was torn down"
        except ValueError:
            return None  # being rewritten; look again next time
        recorded = any((host.get("unshare") or {}).get("pid") == self.parent_pid for host in hosts)
        if not recorded and time.monotonic() - self.started > RECORD_GRACE_SECONDS:
            return f"{self.state_file} does not record this host (its driver died before it could)"
        return None

    def shutdown(self) -> None:
        for child in self.children.values():
            if child.returncode is None:
                child.terminate()
        deadline = time.monotonic() + 5
        for child in self.children.values():
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
        log("stopped")


def main() -> int:
    procutil.set_process_name("testhost-init")
    host = Host(sys.argv[1])
    host.report_outer_pid()

    def stop(_signal_number, _frame):
        host.stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        host.build_filesystem()
        host.personalize()
    except Exception as exc:
        log(f"setting up the host failed: {exc}")
        return 1
    host.supervise()
    return 0


if __name__ == "__main__":
    sys.exit(main())

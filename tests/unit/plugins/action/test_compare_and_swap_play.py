"""Compare-and-swap through a real ``ansible-playbook`` run: a manifest someone keeps rewriting is never overwritten.

The task reads the manifest, edits it on the controller and writes it back in a second call. Here another writer
replaces the file every few milliseconds (each version a valid manifest, put in place by rename), so the file the
write finds is never the one that was read: the play must fail naming the file, write nothing of its own, and leave
no partial file and no dot-file in the manifests directory.
"""

import os
import subprocess
import sys
import threading

from manifest_fixtures import NNF, read

COLLECTIONS = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", ".tmp", "collections"))
# The "master" is this machine (a local connection), its modules run by the system Python. The controller is this
# Python (so the run under the oldest supported ruamel.yaml edits with it).
PLAYBOOK_COMMAND = [sys.executable, "-m", "ansible.cli.playbook", "-i", "localhost,", "-c", "local"]
PLAYBOOK_COMMAND += ["-e", "ansible_python_interpreter=/usr/bin/python3"]
PLAY = """\
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Enable auditing on a manifest someone else keeps rewriting
      nnf.kube_audit.apiserver_manifest:
        path: {manifest}
        args:
          audit-log-path: /var/log/kubernetes/kube-apiserver-audit.log
        backup: true
        backup_dir: {backup}
"""


class Rewriter(threading.Thread):
    """Replaces ``path`` with a new valid version (a numbered comment line) every ``interval`` seconds."""

    def __init__(self, path, scratch, interval=0.002):
        super().__init__(daemon=True)
        self.path, self.scratch, self.interval = path, scratch, interval
        self.stop = threading.Event()
        self.versions = set()

    def run(self):
        number = 0
        while not self.stop.is_set():
            number += 1
            text = read(NNF) + f"# rewritten by another tool, version {number}\n"
            self.versions.add(text)
            staged = os.path.join(self.scratch, "staged")  # outside the manifests directory, same file system
            with open(staged, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.replace(staged, self.path)
            self.stop.wait(self.interval)


def test_a_manifest_changed_between_read_and_write_fails_the_play_and_is_not_overwritten(tmp_path):
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    manifest = manifests / "kube-apiserver.yaml"
    manifest.write_text(read(NNF))
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    playbook = tmp_path / "play.yml"
    playbook.write_text(PLAY.format(manifest=manifest, backup=tmp_path / "backup"))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_NOCOLOR="1", ANSIBLE_DEPRECATION_WARNINGS="0")

    rewriter = Rewriter(str(manifest), str(scratch))
    rewriter.start()
    try:
        completed = subprocess.run(
            [*PLAYBOOK_COMMAND, str(playbook)],
            capture_output=True,
            text=True,
            env=env,
            check=False,
            timeout=120,
        )
    finally:
        rewriter.stop.set()
        rewriter.join()

    output = completed.stdout + completed.stderr
    assert completed.returncode == 2, output
    assert f"{manifest} changed after it was read" in output
    assert "edited underneath this task, so nothing was written" in output
    assert "failed=1" in output
    # What is there is the other tool's last version, never our edit, and nothing else was left behind.
    assert manifest.read_text() in rewriter.versions
    assert "audit-log-path" not in manifest.read_text()
    assert sorted(os.listdir(manifests)) == ["kube-apiserver.yaml"]
    assert not (tmp_path / "backup").exists() or not os.listdir(tmp_path / "backup")

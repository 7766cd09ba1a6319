"""The modules that run on a master need Python's standard library only: no PyYAML, no ruamel.yaml.

Each module runs in ``sys.executable -I -S`` (no site-packages, no PYTHON* variables) whose path holds only the
collections directory and a directory with a link named ``ansible`` to the ansible package (``module_runner``). That
Python asserts that ``yaml`` and ``ruamel.yaml`` cannot be imported, and fails the run if the module even tries to
import them (a guarded ``try: import yaml`` included), so a YAML import added to a master-side module_utils fails here.
"""

import base64
import hashlib
import os
import subprocess
import sys

import module_runner
import pytest
from manifest_fixtures import NNF, NNF_PATCHED, make_manifests_dir, read

POLICY = "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n"


def run(name, args_dir, check_mode=False, diff=False, **params):
    return module_runner.run(
        name, dict(params, _ansible_check_mode=check_mode, _ansible_diff=diff), args_dir, stdlib_only=True
    )


def test_the_stdlib_only_python_has_no_yaml_library(tmp_path):
    probe = (
        "import sys\n"
        "for name in ('yaml', 'ruamel.yaml', 'ruamel'):\n"
        "    try:\n"
        "        __import__(name)\n"
        "    except ImportError:\n"
        "        print(name, 'missing')\n"
        "print(any('site-packages' in entry for entry in sys.path))\n"
    )
    (tmp_path / "probe.py").write_text(probe)
    completed = subprocess.run(
        [sys.executable, "-I", "-S", str(tmp_path / "probe.py")],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert completed.stdout == "yaml missing\nruamel.yaml missing\nruamel missing\nFalse\n"
    # The project's own Python has both: the check above means something.
    __import__("yaml")
    __import__("ruamel.yaml")


def test_the_guard_catches_a_guarded_yaml_import(tmp_path):
    """_goyaml (controller side) imports PyYAML inside try/except: run as a module there, it is caught."""
    args_file = tmp_path / "args.json"
    args_file.write_text('{"ANSIBLE_MODULE_ARGS": {}}')
    completed = subprocess.run(
        module_runner.command(
            "ansible_collections.nnf.kube_audit.plugins.plugin_utils._goyaml", str(args_file), stdlib_only=True
        ),
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert completed.returncode == module_runner.YAML_IMPORT_EXIT, completed.stderr
    assert 'YAML_IMPORTS ["yaml' in completed.stderr


def test_manifest_io_reads_and_writes_without_yaml(tmp_path):
    manifests = make_manifests_dir(tmp_path)
    manifest = manifests / "kube-apiserver.yaml"
    (manifests / "kube-apiserver.yaml.orig").write_text("leftover\n")
    stray_dir = tmp_path / "backup" / "stray-manifests"
    files = {"policy_path": str(tmp_path / "policies" / "audit-policy.yaml"), "policy_content": POLICY}

    snapshot = run(
        "manifest_io", tmp_path, diff=True, path=str(manifest), scan_strays=True, stray_dir=str(stray_dir), files=files
    )

    assert not snapshot.get("failed"), snapshot
    assert base64.b64decode(snapshot["snapshot"]["content_base64"]) == read(NNF).encode()
    assert [c["name"] for c in snapshot["snapshot"]["candidates"]][2] == "kube-apiserver.yaml.orig"
    assert snapshot["files"]["policy"]["changes"] == ["create"]
    assert snapshot["files"]["diff"][0]["after"] == POLICY

    orig = snapshot["snapshot"]["candidates"][2]
    written = run(
        "manifest_io",
        tmp_path,
        operation="write",
        path=str(manifest),
        expected_sha256=snapshot["snapshot"]["sha256"],
        content_base64=base64.b64encode(read(NNF_PATCHED).encode()).decode(),
        backup=True,
        backup_dir=str(tmp_path / "backup"),
        stray_dir=str(stray_dir),
        moves=[
            {"from": orig["path"], "name": orig["name"], "reason": "leftover name (*.orig)", "sha256": orig["sha256"]}
        ],
    )

    assert not written.get("failed"), written
    assert written["changed"] is True
    assert manifest.read_text() == read(NNF_PATCHED)
    assert (stray_dir / "kube-apiserver.yaml.orig").read_text() == "leftover\n"
    assert read(written["backup_file"]) == read(NNF)

    refused = run(
        "manifest_io",
        tmp_path,
        operation="write",
        path=str(manifest),
        expected_sha256=snapshot["snapshot"]["sha256"],  # what it was before the write above
        content_base64=base64.b64encode(b"kind: Pod\n").decode(),
    )
    assert refused["failed"] is True
    assert refused["changed"] is False
    assert refused["msg"].startswith(f"{manifest} changed after it was read")
    assert hashlib.sha256(manifest.read_bytes()).hexdigest() == hashlib.sha256(read(NNF_PATCHED).encode()).hexdigest()


@pytest.mark.parametrize("check_mode", [True, False])
def test_audit_files_runs_without_yaml(tmp_path, check_mode):
    if not check_mode and os.geteuid() != 0:
        pytest.skip("the files are made root-owned")
    policy, log_dir = tmp_path / "policies" / "audit-policy.yaml", tmp_path / "log" / "kubernetes"
    result = run(
        "audit_files",
        tmp_path,
        check_mode=check_mode,
        diff=True,
        policy_path=str(policy),
        policy_content=POLICY,
        log_dir=str(log_dir),
    )
    assert not result.get("failed"), result
    assert result["changed"] is True
    assert result["policy"]["changes"] == ["create"]
    assert policy.exists() is not check_mode


def test_apiserver_wait_runs_without_yaml(tmp_path):
    manifest = str(tmp_path / "kube-apiserver.yaml")
    checked = run("apiserver_wait", tmp_path, check_mode=True, manifest_path=manifest)
    assert not checked.get("failed"), checked
    assert (checked["changed"], checked["msg"]) == (False, "Check mode: nothing was restarted, nothing to wait for.")
    missing = run("apiserver_wait", tmp_path, manifest_path=manifest)
    assert missing["failed"] is True
    assert missing["msg"].startswith("container_spec is not set: run nnf.kube_audit.apiserver_wait as a task")
    malformed = run(
        "apiserver_wait", tmp_path, manifest_path=manifest, changed_since=0.0, container_spec={"name": "kube-apiserver"}
    )
    assert malformed["failed"] is True
    assert malformed["msg"] == f"Cannot read {manifest}: container 'kube-apiserver' has neither command nor args"


def test_audit_status_io_runs_without_yaml(tmp_path):
    policy = tmp_path / "audit-policy.yaml"
    policy.write_text(POLICY)
    log = tmp_path / "audit.log"
    log.write_text('{"kind":"Event","apiVersion":"audit.k8s.io/v1","stageTimestamp":"2026-12-03T10:00:00.000001Z"}\n')
    result = run("audit_status_io", tmp_path, check_mode=True, files=[str(policy)], log_path=str(log))
    assert not result.get("failed"), result
    assert result["files"][0]["sha256"] == hashlib.sha256(POLICY.encode()).hexdigest()
    assert result["log"]["exists"] is True and result["log"]["newest_event"].startswith("2026-12-03T10:00:00")
    assert "live" in result  # this machine may or may not run a kube-apiserver; the key is always there

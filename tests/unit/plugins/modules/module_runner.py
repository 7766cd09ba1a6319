"""Run a module of the collection as Ansible runs it: a separate Python, its arguments in a JSON file."""

import json
import os
import subprocess
import sys

COLLECTIONS = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", ".tmp", "collections"))


def run_module(name, args_dir, check_mode=False, diff=False, **params):
    """The module's JSON result; ``args_dir`` holds the arguments file."""
    args_file = os.path.join(str(args_dir), f"{name}-args.json")
    with open(args_file, "w", encoding="utf-8") as handle:
        json.dump({"ANSIBLE_MODULE_ARGS": dict(params, _ansible_check_mode=check_mode, _ansible_diff=diff)}, handle)
    completed = subprocess.run(
        [sys.executable, "-m", f"ansible_collections.nnf.kube_audit.plugins.modules.{name}", args_file],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=COLLECTIONS),
        check=False,
        timeout=120,
    )
    result = json.loads(completed.stdout)
    assert (completed.returncode != 0) is bool(result.get("failed")), completed.stderr
    return result

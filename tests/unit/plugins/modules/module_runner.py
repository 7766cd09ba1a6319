"""Run a module of the collection as Ansible runs it: a separate Python, its arguments in a JSON file.

``run_module`` uses the test's Python (the project venv). ``run(..., stdlib_only=True)`` uses a Python that has only
its standard library, the collection and ``ansible`` (whose ``module_utils`` Ansible ships with every module), as on
a bare master: ``yaml`` and ``ruamel.yaml`` cannot be imported there, and any attempt to import them, even a guarded
one, makes the run fail (exit code ``YAML_IMPORT_EXIT``).
"""

import atexit
import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile

import ansible

COLLECTIONS = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", ".tmp", "collections"))
PACKAGE = "ansible_collections.nnf.kube_audit.plugins.modules"
YAML_IMPORT_EXIT = 97
# Top-level names a master-side module must never try to import.
YAML_PACKAGES = ("yaml", "_yaml", "ruamel")

# The stdlib-only Python's entry point. ``-I`` ignores PYTHONPATH, so the two path entries are argv: the collections
# directory and a directory holding only a link named ``ansible`` to the ansible package.
STDLIB_ONLY_BOOTSTRAP = rf"""
import importlib, json, os, runpy, sys
collections, ansible_dir, module, args_file = sys.argv[1:5]
sys.path[:0] = [collections, ansible_dir]
for name in ("yaml", "ruamel.yaml"):
    try:
        importlib.import_module(name)
    except ImportError:
        pass
    else:
        sys.exit("this Python was meant to have the standard library only, but it can import " + name)
attempts = []

class WatchYamlImports:
    def find_spec(self, fullname, path=None, target=None):
        if fullname.partition(".")[0] in {YAML_PACKAGES!r}:
            attempts.append(fullname)
        return None

sys.meta_path.insert(0, WatchYamlImports())
sys.argv = [module, args_file]
try:
    runpy.run_module(module, run_name="__main__", alter_sys=True)
finally:
    if attempts:
        sys.stdout.flush()
        sys.stderr.write("YAML_IMPORTS " + json.dumps(attempts) + "\n")
        sys.stderr.flush()
        os._exit({YAML_IMPORT_EXIT})
"""


@functools.lru_cache(maxsize=None)
def ansible_only_dir():
    """A directory whose only entry is ``ansible``, a link to the ansible package of this Python (made once)."""
    directory = tempfile.mkdtemp(prefix="kube-audit-ansible-only-")
    atexit.register(shutil.rmtree, directory, True)
    os.symlink(os.path.dirname(os.path.abspath(ansible.__file__)), os.path.join(directory, "ansible"))
    return directory


def command(module, args_file, stdlib_only=False):
    """The command line that runs ``module`` (a dotted module path) with ``args_file``."""
    if stdlib_only:
        # -I: no PYTHON* variables, no user site, no script directory; -S: no site-packages at all.
        return [sys.executable, "-I", "-S", "-c", STDLIB_ONLY_BOOTSTRAP, COLLECTIONS, ansible_only_dir(), module,
                args_file]  # fmt: skip
    return [sys.executable, "-m", module, args_file]


def execute(name, module_args, args_dir, stdlib_only=False):
    """Run module ``name`` with ``module_args`` (``_ansible_*`` keys included): (completed process, result or None)."""
    args_file = os.path.join(str(args_dir), f"{name}-args.json")
    with open(args_file, "w", encoding="utf-8") as handle:
        json.dump({"ANSIBLE_MODULE_ARGS": module_args}, handle)
    # A stdlib-only Python ignores PYTHON* variables (-I): its path is on its command line.
    env = dict(os.environ, PYTHONPATH=COLLECTIONS)
    completed = subprocess.run(
        command(f"{PACKAGE}.{name}", args_file, stdlib_only),
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )
    try:
        result = json.loads(completed.stdout)
    except ValueError:
        result = None
    return completed, result


def run(name, module_args, args_dir, stdlib_only=False):
    """The module's JSON result; a crash, or a yaml import in a stdlib-only run, fails the test with stderr."""
    completed, result = execute(name, module_args, args_dir, stdlib_only)
    assert result is not None, f"{name} printed no JSON result (exit {completed.returncode}):\n{completed.stderr}"
    assert (completed.returncode != 0) is bool(result.get("failed")), completed.stderr
    return result


def run_module(name, args_dir, check_mode=False, diff=False, **params):
    """The module's JSON result; ``args_dir`` holds the arguments file."""
    return run(name, dict(params, _ansible_check_mode=check_mode, _ansible_diff=diff), args_dir)

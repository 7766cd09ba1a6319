"""The built collection tarball installs, carries every plugin, and carries no test or tooling files."""

import os
import subprocess
import sys
import tarfile

import pytest
import yaml

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.path.dirname(sys.executable)
MODULES = sorted(
    name[:-3]
    for name in os.listdir(os.path.join(REPO, "plugins", "modules"))
    if name.endswith(".py") and not name.startswith("_")
)
# Top-level entries that are development-only and must never ship.
NOT_SHIPPED = (".ci", ".venv", ".tmp", ".git", "molecule", "tests", "tools", "Makefile", "requirements.txt")


def _run(args, collections_path=None):
    # Only the collection under test: a checkout on ANSIBLE_COLLECTIONS_PATH would shadow the installed tarball.
    env = {key: value for key, value in os.environ.items() if not key.startswith("ANSIBLE_COLLECTIONS_PATH")}
    if collections_path:
        env["ANSIBLE_COLLECTIONS_PATH"] = str(collections_path)
    return subprocess.run(args, check=True, capture_output=True, text=True, env=env)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("build")
    _run([os.path.join(BIN, "ansible-galaxy"), "collection", "build", "--output-path", str(out), REPO])
    (tarball,) = out.glob("nnf-kube_audit-*.tar.gz")
    return tarball


def test_tarball_ships_plugins_and_no_development_files(built):
    with tarfile.open(built) as tar:
        names = tar.getnames()
    assert "galaxy.yml" not in names  # replaced by MANIFEST.json in a built collection
    assert "MANIFEST.json" in names
    for module in MODULES:
        assert f"plugins/modules/{module}.py" in names
    leaked = sorted({name.split("/")[0] for name in names} & set(NOT_SHIPPED))
    assert not leaked, f"development files in the tarball: {leaked}"
    assert not [name for name in names if "__pycache__" in name]


def test_tarball_declares_the_controller_requirements_for_ansible_builder(built):
    """ansible-builder reads meta/execution-environment.yml, which names a requirements file that ships too."""
    with tarfile.open(built) as tar:
        names = tar.getnames()
        environment = yaml.safe_load(tar.extractfile("meta/execution-environment.yml"))
        requirements_file = environment["dependencies"]["python"]
        assert requirements_file in names
        requirements = tar.extractfile(requirements_file).read().decode()
    assert [line for line in requirements.splitlines() if line and not line.startswith("#")] == [
        "ruamel.yaml>=0.17.21,<0.20"
    ]
    # The controller's action plugins and their controller-only code ship as well.
    for plugin in ("apiserver_manifest", "apiserver_wait", "audit_plan", "audit_policy"):
        assert f"plugins/action/{plugin}.py" in names
    assert "plugins/plugin_utils/manifest_editor.py" in names


def test_installed_collection_documents_every_module(built, tmp_path):
    _run([os.path.join(BIN, "ansible-galaxy"), "collection", "install", "--offline", "-p", str(tmp_path), str(built)])
    assert (tmp_path / "ansible_collections" / "nnf" / "kube_audit" / "MANIFEST.json").is_file()
    assert MODULES, "no modules found"
    for module in MODULES:
        doc = _run([os.path.join(BIN, "ansible-doc"), "-t", "module", f"nnf.kube_audit.{module}"], tmp_path).stdout
        assert f"nnf.kube_audit.{module}" in doc
        assert "EXAMPLES:" in doc and "RETURN VALUES:" in doc


def test_installed_collection_documents_every_public_role(built, tmp_path):
    _run([os.path.join(BIN, "ansible-galaxy"), "collection", "install", "--offline", "-p", str(tmp_path), str(built)])
    roles = sorted(
        name
        for name in os.listdir(os.path.join(REPO, "roles"))
        if os.path.isfile(os.path.join(REPO, "roles", name, "meta", "argument_specs.yml"))
    )
    assert {"enable_audit", "disable_audit"} <= set(roles)
    for role in roles:
        doc = _run([os.path.join(BIN, "ansible-doc"), "-t", "role", f"nnf.kube_audit.{role}"], tmp_path).stdout
        assert f"nnf.kube_audit.{role}" in doc
        assert "kube_audit_" in doc  # its variables are documented

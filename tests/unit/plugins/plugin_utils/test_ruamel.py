"""_ruamel.require(): the editor refuses a ruamel.yaml it was not tested with, or none, naming the supported range."""

import os
import subprocess
import sys
import textwrap

import pytest

from ansible_collections.nnf.kube_audit.plugins.module_utils._errors import ManifestError
from ansible_collections.nnf.kube_audit.plugins.plugin_utils import _ruamel
from ansible_collections.nnf.kube_audit.plugins.plugin_utils.manifest_editor import edit_manifest_text

COLLECTIONS = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", ".tmp", "collections"))


@pytest.mark.parametrize(("version", "found"), [((0, 16, 12), "0.16.12"), ((0, 20, 0), "0.20.0"), ((1, 0), "1.0")])
def test_an_unsupported_release_is_refused_naming_the_supported_range(version, found):
    with pytest.raises(ManifestError) as error:
        _ruamel.require(version)
    assert str(error.value) == (
        f"ruamel.yaml {found} on the Ansible controller is not supported: the manifest editor needs "
        "ruamel.yaml >= 0.17.21, < 0.20 (it relies on internals that differ between releases)"
    )


@pytest.mark.parametrize("version", [(0, 17, 21), (0, 18, 6), (0, 19, 1), (0, 19, 99)])
def test_the_supported_bounds_pass(version):
    _ruamel.require(version)


def test_the_installed_release_passes():
    _ruamel.require()


def test_the_editor_checks_the_release_before_editing(monkeypatch):
    monkeypatch.setattr(_ruamel, "VERSION", (0, 20, 1))
    with pytest.raises(ManifestError, match=r"^ruamel\.yaml 0\.20\.1 on the Ansible controller is not supported"):
        edit_manifest_text("kind: Pod\n", args={"x": 1})


def test_without_ruamel_yaml_the_editor_says_where_to_install_it(tmp_path):
    """A controller without ruamel.yaml: the plugins still import, and the edit says what to install where."""
    shadow = tmp_path / "shadow" / "ruamel" / "yaml"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('ruamel.yaml hidden for this test')\n")
    script = textwrap.dedent(
        """
        from ansible_collections.nnf.kube_audit.plugins.action import apiserver_manifest  # imports without it
        from ansible_collections.nnf.kube_audit.plugins.module_utils._errors import ManifestError
        from ansible_collections.nnf.kube_audit.plugins.plugin_utils import _ruamel
        from ansible_collections.nnf.kube_audit.plugins.plugin_utils.manifest_editor import edit_manifest_text
        assert _ruamel.IMPORT_ERROR and _ruamel.VERSION is None
        try:
            edit_manifest_text("kind: Pod\\n", args={"x": 1})
        except ManifestError as exc:
            print(exc)
        """
    )
    completed = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path / "shadow"), COLLECTIONS])),
        check=False,
        timeout=60,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == (
        "the ruamel.yaml Python library is needed on the Ansible controller (not on the masters): install "
        "ruamel.yaml >= 0.17.21, < 0.20 where ansible-playbook runs (requirements: meta/ee-requirements.txt)\n"
    )

"""The editor's tests run under the ruamel.yaml release meant: the newest (requirements.txt) and the oldest supported.

``make unit`` runs the editor's tests twice: in the project venv (the release requirements.txt pins) and in a second
venv with the oldest supported release (``KUBE_AUDIT_EXPECT_RUAMEL``). This checks each run really has that release,
and that it is inside the range the editor accepts.
"""

import os
import re
from pathlib import Path

import ruamel.yaml

from ansible_collections.nnf.kube_audit.plugins.plugin_utils import _ruamel

REQUIREMENTS = Path(__file__).resolve().parents[4] / "requirements.txt"
EE_REQUIREMENTS = Path(__file__).resolve().parents[4] / "meta" / "ee-requirements.txt"


def test_the_run_uses_the_intended_release():
    expected = os.environ.get("KUBE_AUDIT_EXPECT_RUAMEL")
    if expected is None:
        expected = re.search(r"^ruamel\.yaml==(\S+)$", REQUIREMENTS.read_text(), re.MULTILINE).group(1)
    assert ruamel.yaml.__version__ == expected
    _ruamel.require()  # inside the supported range


def test_the_declared_range_is_the_enforced_range():
    declared = re.search(r"^ruamel\.yaml(\S+)$", EE_REQUIREMENTS.read_text(), re.MULTILINE).group(1)
    low, high = (".".join(str(part) for part in bound) for bound in _ruamel.SUPPORTED)
    assert declared == f">={low},<{high}"
    assert f"ruamel.yaml >= {low}, < {high}" == _ruamel.SUPPORTED_RANGE

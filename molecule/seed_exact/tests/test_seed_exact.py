"""The manifest is the NNF procedure's patched manifest, byte for byte, plus the policy checksum annotation."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "shared"))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..", "tests", "testhosts"))

from kube_audit_state import CHECKSUM_ANNOTATION, REPO, host_state, preset, sha256
from testhosts import localize_manifest

testinfra_hosts = ["kube_control_plane"]
GOLDEN = os.path.join(REPO, "tests", "fixtures", "manifests", "kube-apiserver-v1.29.3-rhel-nnf-shape.seed-patched.yaml")


def test_the_manifest_is_the_procedures_result_plus_the_checksum(host):
    state = host_state(host)
    with open(GOLDEN, encoding="utf-8") as handle:
        golden = localize_manifest(handle.read(), state["facts"]["address"])  # as the test master was seeded
    annotation = f"    {CHECKSUM_ANNOTATION}: sha256:{sha256(state['policy'])}\n"
    lines = state["manifests"]["kube-apiserver.yaml"].splitlines(keepends=True)

    assert annotation in lines
    lines.remove(annotation)
    assert "".join(lines) == golden


def test_the_policy_is_the_procedures(host):
    state = host_state(host)
    assert state["policy"] == preset("nnf")
    with open(os.path.join(REPO, "tests", "fixtures", "policies", "nnf-docs-default.yaml"), encoding="utf-8") as handle:
        assert state["policy"] == handle.read()

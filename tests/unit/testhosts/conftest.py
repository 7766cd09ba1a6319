"""The stand-ins' package (tests/testhosts/standin) and driver importable by their tests, and shared fixtures."""

import os
import sys

import pytest

TESTHOSTS = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "testhosts"))
if TESTHOSTS not in sys.path:
    sys.path.insert(0, TESTHOSTS)

import testhosts  # noqa: E402 - importable once TESTHOSTS is on sys.path


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    """A CA and a serving certificate for 127.0.0.1, made once with the test masters' own code."""
    directory = tmp_path_factory.mktemp("pki")
    testhosts.make_pki(str(directory), ["127.0.0.1"])
    return directory

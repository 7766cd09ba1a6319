"""The stand-ins' package (tests/testhosts/standin) and driver importable by their tests."""

import os
import sys

TESTHOSTS = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "testhosts"))
if TESTHOSTS not in sys.path:
    sys.path.insert(0, TESTHOSTS)

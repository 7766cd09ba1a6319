"""The shared test helpers (``action_runner``, ``manifest_chain``, ``module_runner``) are importable by name.

pytest puts only a test file's own directory on ``sys.path``; the helpers live in this directory and in ``modules/``.
"""

import os
import sys

HELPER_DIRECTORIES = [os.path.dirname(os.path.abspath(__file__))]
HELPER_DIRECTORIES.append(os.path.join(HELPER_DIRECTORIES[0], "modules"))
sys.path[:0] = [directory for directory in HELPER_DIRECTORIES if directory not in sys.path]

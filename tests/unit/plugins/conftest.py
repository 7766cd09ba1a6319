"""The shared test helpers (``action_runner``, ``kube_api_server``, ``module_runner``, ...) are importable by name.

pytest puts only a test file's own directory on ``sys.path``; the helpers live in this directory and in ``modules/``.
"""

import os
import sys

HELPER_DIRECTORIES = [os.path.dirname(os.path.abspath(__file__))]
HELPER_DIRECTORIES.append(os.path.join(HELPER_DIRECTORIES[0], "modules"))
sys.path[:0] = [directory for directory in HELPER_DIRECTORIES if directory not in sys.path]

# The local kube-apiserver stand-in's fixtures, for every test here (tests/unit/plugins/kube_api_server.py).
# pylint: disable-next=unused-import,wrong-import-position
from kube_api_server import admin_conf, apiserver, pki, start_apiserver  # noqa: E402, F401

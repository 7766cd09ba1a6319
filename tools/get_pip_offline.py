"""Offline stand-in for the get-pip.py bootstrap script that ansible-test downloads.

ansible-test bootstraps pip into each sanity-test virtualenv by running a get-pip.py it fetches from a
URL this machine cannot reach. It reuses a cached copy when one exists, so `make sanity` places this
file there instead. It behaves like get-pip.py: it brings pip into the running interpreter (from the
wheel that ships with CPython's ensurepip) and then installs the requested packages from the index.
"""

import subprocess
import sys

# Options get-pip.py understands but pip install does not.
_GET_PIP_ONLY = {"--no-setuptools", "--no-wheel"}


def main():
    subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"])
    pip_args = [arg for arg in sys.argv[1:] if arg not in _GET_PIP_ONLY]
    return subprocess.call([sys.executable, "-m", "pip", "install", *pip_args])


if __name__ == "__main__":
    sys.exit(main())

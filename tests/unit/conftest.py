"""Make the collection importable as ``ansible_collections.nnf.kube_audit`` without installing it."""

import os
import sys

_REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
_COLLECTIONS = os.path.join(_REPO, ".tmp", "collections")
_LINK = os.path.join(_COLLECTIONS, "ansible_collections", "nnf", "kube_audit")

if not os.path.exists(_LINK):
    os.makedirs(os.path.dirname(_LINK), exist_ok=True)
    os.symlink(_REPO, _LINK)
if _COLLECTIONS not in sys.path:
    sys.path.insert(0, _COLLECTIONS)

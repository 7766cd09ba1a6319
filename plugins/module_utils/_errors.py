# Copyright: (c) 2026, NNF kube_audit maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The collection's one error base, and the one place that turns it into a task failure.

``KubeAuditError`` is raised for everything the user or the host can cause (bad input, a file in the way, a full
disk): its message names the file, host or option and what is wrong, and ``result`` carries the return values the
failed task must still report (for example stray files already moved). ``failure()`` turns any exception into a
failed task result: without a traceback for a KubeAuditError, with one for anything else (a bug of ours). Modules
end through ``run()`` (``fail_json``), action plugins return ``failure()``'s result; both are this one function.
"""

import traceback


class KubeAuditError(Exception):
    """Input or host state that stops a task; ``str()`` is the message for the user."""

    def __init__(self, message, result=None):
        super().__init__(message)
        self.result = dict(result or {})


class ManifestError(KubeAuditError):
    """A static-pod manifest, or a request to change one, that cannot be used; the message names the file.

    ``result`` (also ``partial``) carries what was already done when the error happened during execution (for
    example stray files that were moved before writing the manifest failed), so the caller can report it.
    """

    @property
    def partial(self):
        return self.result


def failure(exc, subject=None):
    """The failed task result for ``exc``: keys for ``fail_json`` or an action plugin's return value."""
    if isinstance(exc, KubeAuditError):
        return dict(exc.result, failed=True, msg=str(exc))
    where = f"{subject}: " if subject else ""
    return {
        "failed": True,
        "msg": f"{where}unexpected error ({type(exc).__name__}: {exc}); this is a bug in nnf.kube_audit",
        "exception": "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
    }


def run(module, body, subject=None):
    """Call ``body()`` and return what it returns; a failure ends the module with ``fail_json``.

    ``subject`` (a path or name) prefixes the message of an unexpected error, so even a bug names what it was
    working on. A result's ``warnings`` (a failure's too) are issued as the module's warnings.
    """
    try:
        result = body()
    except Exception as exc:  # the one boundary: ours become messages, bugs keep their traceback
        result = failure(exc, subject)
        result.pop("failed")
        _warn(module, result)
        module.fail_json(**result)
    if isinstance(result, dict):
        _warn(module, result)
    return result


def _warn(module, result):
    for warning in result.pop("warnings", None) or []:
        module.warn(warning)

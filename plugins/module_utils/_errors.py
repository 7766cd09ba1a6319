# Copyright: (c) 2026, NNF kube_audit maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The collection's one error base, and the one place that turns it into a task failure.

``KubeAuditError`` is raised for everything the user or the host can cause (bad input, a file in the way, a full
disk): its message names the file, host or option and what is wrong, and ``result`` carries the return values the
failed task must still report (for example stray files already moved). ``run()`` turns it into ``fail_json``
without a traceback; any other exception is a bug of ours and is reported with its traceback.
"""

import traceback


class KubeAuditError(Exception):
    """Input or host state that stops a task; ``str()`` is the message for the user."""

    def __init__(self, message, result=None):
        super().__init__(message)
        self.result = dict(result or {})


def run(module, body, subject=None):
    """Call ``body()`` and return what it returns; a failure ends the module with ``fail_json``.

    ``subject`` (a path or name) prefixes the message of an unexpected error, so even a bug names what it was
    working on.
    """
    try:
        return body()
    except KubeAuditError as exc:
        module.fail_json(msg=str(exc), **exc.result)
    except Exception as exc:  # our own bug: keep the traceback for the report
        where = f"{subject}: " if subject else ""
        module.fail_json(
            msg=f"{where}unexpected error ({type(exc).__name__}: {exc}); this is a bug in nnf.kube_audit",
            exception=traceback.format_exc(),
        )
    return None  # not reached: fail_json exits

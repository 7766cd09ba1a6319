"""apiserver_manifest's chain in one process, on real files: what the action plugin does over two manifest_io calls.

``snapshot()`` of the master side reads the manifest (and the stray candidates), ``manifest_update.plan()`` (or
``plan_restore()``) decides on the controller side, and ``compare_and_swap()`` writes the returned write, its
``content_base64`` decoded, as ``manifest_io`` operation ``write`` does. ``apply_manifest_update(**options)`` takes
the task's options (checked with the task's argument spec, defaults filled in) and returns the planned result with
what the write reported; errors are raised (ManifestError, KubeAuditError), not returned.
"""

import base64

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.nnf.kube_audit.plugins.module_utils import _static_pod_files
from ansible_collections.nnf.kube_audit.plugins.plugin_utils import _action, manifest_update


class InvalidOptions(ValueError):
    """The options fail the task's argument spec (the action plugin would not start)."""


def params_of(options):
    """The task's options as the action plugin sees them: validated, defaults filled in, plain data."""
    validator = ArgumentSpecValidator(
        manifest_update.ARGUMENT_SPEC, mutually_exclusive=manifest_update.MUTUALLY_EXCLUSIVE
    )
    validated = validator.validate(options)
    if validated.error_messages:
        raise InvalidOptions("; ".join(validated.error_messages))
    return _action.plain(validated.validated_parameters)


def compare_and_swap(write, now=None):
    """``manifest_io`` operation ``write``: the planned ``write`` made on the files."""
    content = write["content_base64"]
    return _static_pod_files.compare_and_swap(
        write["path"],
        expected_sha256=write["expected_sha256"],
        content=None if content is None else base64.b64decode(content),
        backup=write["backup"],
        backup_dir=write.get("backup_dir"),
        stray_dir=write.get("stray_dir"),
        moves=write["moves"],
        now=now,
    )


def plan(options):
    """(params, snapshot, result, write): the read and the plan, nothing written."""
    params = params_of(options)
    snapshot = _static_pod_files.snapshot(**manifest_update.read_options(params))
    planner = manifest_update.plan_restore if params["restore_from"] else manifest_update.plan
    result, write = planner(params, snapshot)
    return params, snapshot, result, write


def apply_manifest_update(check_mode=False, now=None, **options):
    """The task's result; in check mode (or with nothing to change) nothing is written."""
    _params, _snapshot, result, write = plan(options)
    if write is not None and not check_mode:
        manifest_update.finish(result, compare_and_swap(write, now))
    return result


def restore_manifest(*, path, backup_file, check_mode=False, **options):
    """The task with ``restore_from``: the bytes of ``backup_file`` put back at ``path``."""
    return apply_manifest_update(check_mode=check_mode, path=path, restore_from=backup_file, **options)

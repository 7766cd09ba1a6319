"""The collection's action plugins driven as Ansible drives them, each remote module run in a separate Python.

``FakeAction`` stands in for the plugin's ``ActionBase`` instance: ``_task`` (``args``, ``check_mode``, ``diff``),
``_execute_module`` that really runs the named module of the collection as its own process (``module_runner``; by
default in a Python with the standard library only, as on a bare master) with ``_ansible_check_mode`` and
``_ansible_diff`` set as Ansible sets them, ``_remove_tmp_path`` that removes nothing, ``_connection._shell.tmpdir``
None. Every call is kept in ``calls``; ``after_call(call)``, when given, runs after each one returns, before the
plugin sees its result (for example to change the manifest between the read and the write).

``run_edit``, ``run_plan`` and ``run_wait`` call the plugins' functions the way their ``ActionModule.run`` does;
``action_module(plugin, ...)`` is the plugin's real ``ActionModule`` class on a FakeAction.
"""

import types

import module_runner
from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.nnf.kube_audit.plugins.action import apiserver_manifest, apiserver_wait, audit_plan
from ansible_collections.nnf.kube_audit.plugins.module_utils import _defaults
from ansible_collections.nnf.kube_audit.plugins.plugin_utils import _action, manifest_update

COLLECTION = "nnf.kube_audit"


class Call:
    """One remote module call: the module's short name, the arguments the plugin gave, the module's result."""

    def __init__(self, module, args, result):
        self.module = module
        self.args = args
        self.result = result

    def __repr__(self):
        return f"Call({self.module!r}, {self.args!r})"


class FakeAction:
    """What an action plugin uses of its ActionBase instance, with modules run on this machine."""

    def __init__(self, args, workdir, *, check_mode=False, diff=False, after_call=None, stdlib_only=True, name=None):
        self._task = types.SimpleNamespace(
            args=dict(args),
            check_mode=check_mode,
            diff=diff,
            async_val=0,
            no_log=False,
            action=f"{COLLECTION}.{name or 'action'}",
        )
        self._connection = types.SimpleNamespace(_shell=types.SimpleNamespace(tmpdir=None))
        self._load_name = self._task.action
        self.workdir = workdir
        self.after_call = after_call
        self.stdlib_only = stdlib_only
        self.calls = []
        self.removed_tmp_paths = []

    def _execute_module(self, module_name=None, module_args=None, task_vars=None, **_ignored):
        if module_name is None:  # ActionBase: the task's own module, with the task's arguments
            module_name, module_args = self._task.action, self._task.args if module_args is None else module_args
        assert module_name.startswith(f"{COLLECTION}."), module_name
        module = module_name[len(COLLECTION) + 1 :]
        args = dict(module_args or {}, _ansible_check_mode=bool(self._task.check_mode), _ansible_diff=self._task.diff)
        result = module_runner.run(module, args, self.workdir, stdlib_only=self.stdlib_only)
        self.calls.append(Call(module, dict(module_args or {}), result))
        if self.after_call is not None:
            self.after_call(self.calls[-1])
        return result

    def _remove_tmp_path(self, tmp_path, force=False):
        self.removed_tmp_paths.append((tmp_path, force))

    def module_calls(self):
        """(module, operation) of each remote call, in order."""
        return [(call.module, call.args.get("operation", "read" if call.module == "manifest_io" else None))
                for call in self.calls]  # fmt: skip


def action_module(plugin, args, workdir, **options):
    """The real ``plugin.ActionModule`` (its ``run()``, its argument validation) talking to FakeAction's master."""
    cls = type(f"Fake{plugin.ActionModule.__module__.rpartition('.')[2]}", (FakeAction, plugin.ActionModule), {})
    return cls(args, workdir, name=plugin.ActionModule.__module__.rpartition(".")[2], **options)


def validated(action, argument_spec, **rules):
    """The task's arguments validated as ``ActionBase.validate_argument_spec`` validates them (AnsibleActionFail)."""
    _validation, params = ActionBase.validate_argument_spec(action, argument_spec=argument_spec, **rules)
    return _action.plain(params)


def run_edit(action, task_vars=None):
    """The apiserver_manifest task on ``action``: its result, as ``ActionModule.run`` returns it."""
    try:
        params = validated(action, manifest_update.ARGUMENT_SPEC, mutually_exclusive=manifest_update.MUTUALLY_EXCLUSIVE)
    except AnsibleActionFail as exc:  # Ansible ends the task with this message
        return {"failed": True, "msg": exc.message}
    return _action.run(action, lambda: apiserver_manifest.edit(action, params, task_vars or {}), subject=params["path"])


def run_plan(action, task_vars=None):
    """The audit_plan task on ``action``."""
    manifest = action._task.args.get("manifest")
    subject = manifest.get("path") if isinstance(manifest, dict) else None
    return _action.run(action, lambda: audit_plan.plan(action, task_vars or {}), subject=subject)


def run_wait(action, task_vars=None):
    """The apiserver_wait task on ``action``."""
    subject = action._task.args.get("manifest_path") or _defaults.MANIFEST_PATH
    return _action.run(action, lambda: apiserver_wait.wait(action, task_vars or {}), subject=subject)


def warning_texts(result):
    """Warnings as text (ansible-core 2.19 modules emit them as structured events, action plugins as strings)."""
    return [item["event"]["msg"] if isinstance(item, dict) else item for item in result.get("warnings", [])]

"""The masters are bare, like a fresh control-plane node: Ansible's interpreter there has the standard library only.

So a module that needs PyYAML or ruamel.yaml on a master fails here as it would on a real one
(tests/testhosts/hostinit.py hides the site directories of the masters' /usr/bin/python3).
"""

import json
import shlex

testinfra_hosts = ["kube_control_plane"]

# Every place a top-level module imports from, but the standard library's directories (sys.path's "", the login's
# cwd, left out: Ansible's modules do not import from there).
LIST_NON_STDLIB = r"""
import json, os, pkgutil, sys, sysconfig
paths = sysconfig.get_paths()
stdlib = {os.path.realpath(paths[name]) for name in ("stdlib", "platstdlib")}
stdlib |= {os.path.join(path, "lib-dynload") for path in stdlib}
found = set()
for module in pkgutil.iter_modules([path for path in sys.path if path]):
    where = getattr(module.module_finder, "path", None) or getattr(module.module_finder, "archive", "?")
    if os.path.realpath(where) not in stdlib:
        found.add(f"{module.name} in {where}")
print(json.dumps(sorted(found)))
"""


def test_ansible_runs_its_modules_on_the_masters_bare_python(host):
    # Ansible itself reports the interpreter its modules ran with
    facts = host.ansible("ansible.builtin.setup", "gather_subset=!all filter=ansible_python", check=False)
    python = facts["ansible_facts"]["ansible_python"]["executable"]
    assert python == "/usr/bin/python3"
    for module, missing in (("yaml", "yaml"), ("ruamel.yaml", "ruamel")):
        result = host.run(f"{python} -c {shlex.quote('import ' + module)}")
        assert result.rc == 1, f"{module} imports on the master: {result.stdout}{result.stderr}"
        assert f"ModuleNotFoundError: No module named '{missing}'" in result.stderr
    result = host.run(f"{python} -c {shlex.quote('import json; print(json.dumps({0: True}))')}")
    assert (result.rc, result.stdout) == (0, '{"0": true}\n'), result.stderr
    result = host.run(f"{python} -c {shlex.quote(LIST_NON_STDLIB)}")
    assert result.rc == 0, result.stderr
    assert json.loads(result.stdout) == []

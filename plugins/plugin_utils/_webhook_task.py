# Copyright: (c) 2026, NNF kube_audit maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The ``audit_webhook`` task, from its options to its result (run by its action plugin, on the controller).

The kubeconfig is built or read and checked by ``_webhook_config.py``; this is the task around it: where the PEM
inputs come from (text, or a file on the controller), the result's keys, the warnings of the blocking modes, and
keeping the key out of every output (the result is marked no_log when the kubeconfig holds a secret).
"""

import base64
import os

from ansible_collections.nnf.kube_audit.plugins.module_utils import _redact
from ansible_collections.nnf.kube_audit.plugins.module_utils._errors import KubeAuditError
from ansible_collections.nnf.kube_audit.plugins.plugin_utils import _webhook_config

MODES = ("batch", "blocking", "blocking-strict")
ARGUMENT_SPEC = dict(
    server=dict(type="str"),
    ca=dict(type="str"),
    client_cert=dict(type="str"),
    client_key=dict(type="str", no_log=True),
    kubeconfig_src=dict(type="path"),
    mode=dict(type="str", choices=list(MODES), default="batch"),
)
ARGUMENT_RULES = dict(
    required_one_of=[("server", "kubeconfig_src")],
    mutually_exclusive=[("server", "kubeconfig_src")],
    required_by={"server": ("ca",)},
)
# The role's variable of each option, which the messages name.
VARIABLES = dict(
    server=_webhook_config.SERVER_VARIABLE,
    ca=_webhook_config.CA_VARIABLE,
    client_cert=_webhook_config.CLIENT_CERT_VARIABLE,
    client_key=_webhook_config.CLIENT_KEY_VARIABLE,
    kubeconfig_src="kube_audit_webhook_kubeconfig_src",
)
WARNINGS = {
    "blocking": (
        "kube_audit_webhook_mode is blocking: every API request waits until its audit events were sent to {server} "
        "(with retries); while the receiver is down or slow, API requests stall"
    ),
    "blocking-strict": (
        "kube_audit_webhook_mode is blocking-strict: an API request whose RequestReceived event cannot be sent to "
        "{server} fails; while the receiver is down, the API refuses requests"
    ),
}


def _read(path, variable):
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise KubeAuditError(f"{variable}: {path} cannot be read on the controller: {exc.strerror}") from None


def pem_input(value, option, find_file):
    """PEM text given as text, or read from a file on the controller (``find_file(path)`` gives its path or None)."""
    if value is None or value == "":
        return None
    if "-----BEGIN" in value:
        return value
    variable = VARIABLES[option]
    path = find_file(value)
    if path is None:
        raise KubeAuditError(
            f"{variable} is neither PEM text (it has no -----BEGIN line) nor a file on the controller: {value} not "
            "found"
        )
    return _read(path, variable)


def check(params, find_file):
    """The task's result: the kubeconfig (base64), its checksum and redacted text, what it names, and warnings."""
    if params["kubeconfig_src"] is not None:
        variable = VARIABLES["kubeconfig_src"]
        path = find_file(params["kubeconfig_src"])
        if path is None:
            raise KubeAuditError(f"{variable}: {params['kubeconfig_src']} not found on the controller")
        data = _read(path, variable)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise KubeAuditError(f"{variable} {path} is not UTF-8 text: {exc}") from None
        summary = _webhook_config.validate_kubeconfig(text, f"{variable} {path}")
    else:
        text = _webhook_config.build_kubeconfig(
            params["server"],
            pem_input(params["ca"], "ca", find_file),
            pem_input(params["client_cert"], "client_cert", find_file),
            pem_input(params["client_key"], "client_key", find_file),
        )
        summary = _webhook_config.validate_kubeconfig(text, "the audit webhook kubeconfig")
    shown = _webhook_config.redacted(text)
    result = dict(
        summary,
        changed=False,
        mode=params["mode"],
        content_base64=base64.b64encode(text.encode("utf-8")).decode("ascii"),
        checksum=_webhook_config.checksum(text),
        kubeconfig=shown,
    )
    if params["mode"] in WARNINGS:
        result["warnings"] = [WARNINGS[params["mode"]].format(server=summary["server"])]
    # The result holds the kubeconfig: Ansible shows and logs none of it when it holds a secret.
    if shown == _redact.NOT_SHOWN or _redact.line_redacted(text) != text or summary["has_client_key"]:
        result["_ansible_no_log"] = True
    return result


def find_in(search):
    """A ``find_file`` for ``check``: absolute paths as they are, relative ones through ``search`` (Ansible's)."""

    def find_file(path):
        if os.path.isabs(path):
            return path if os.path.exists(path) else None
        return search(path)

    return find_file

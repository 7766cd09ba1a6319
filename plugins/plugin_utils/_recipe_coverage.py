# Copyright: (c) 2026, NNF kube_audit maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Whether a master's installed audit policy records what an investigation recipe looks for (on the controller).

An empty result of a recipe reads as "nobody did it"; when the policy gives every request the recipe is about the
level None, it means "nobody would know". ``note(recipe, policy_state)`` says which, from audit_log_info's
``recipe`` (its sample requests, module_utils/_audit_recipes.py) and ``policy`` (the file as read on the master).

A sample counts as recorded when the policy's first matching rule gives it a level other than None for one of the
users the linter tries (``_policy_lint.sample_users``: an ordinary authenticated user, and the users and groups
the policy's rules name), so a policy that records only one service account's requests is not called blind to them.
"""

import base64

from ansible_collections.nnf.kube_audit.plugins.plugin_utils import _policy_lint, audit_policy

NOT_RECORDED = "the audit policy on this master does not record these requests"


def recorded(policy, samples):
    """The samples that ``policy`` (decoded) records for some sample user."""
    users = _policy_lint.sample_users([rule or {} for rule in policy.get("rules") or []])
    found = []
    for sample in samples:
        for user in users:
            request = dict(sample, user=user)
            if audit_policy.evaluate_request(policy, request)["level"] != audit_policy.DEFAULT_LEVEL:
                found.append(sample)
                break
    return found


def note(recipe, policy_state):
    """A sentence for the report when the recipe's result cannot be trusted to mean "nobody did it", else None."""
    if not recipe or not policy_state:
        return None
    path = policy_state.get("path")
    if policy_state.get("error"):
        return (
            f"the audit policy {path} could not be read ({policy_state['error']}): whether it records these requests "
            "is not known"
        )
    if not policy_state.get("exists"):
        return f"there is no audit policy at {path}: whether this master records these requests is not known"
    if policy_state.get("content_base64") is None:
        return f"the audit policy {path} is too large to be judged here"
    try:
        policy, _warnings = audit_policy.load_policy(base64.b64decode(policy_state["content_base64"]))
    except audit_policy.PolicyError as exc:
        return f"the audit policy {path} is not valid ({exc}): whether it records these requests is not known"
    if recorded(policy, recipe.get("samples") or []):
        return None
    return f"{NOT_RECORDED} ({recipe.get('name')}: {recipe.get('description')}; policy {path})"

"""module_utils._audit_recipes: the recipes are defined once, as data, and everything that names them agrees.

Their sample requests are in the policy evaluator's request shape (plugin_utils.audit_policy), so that the controller
can ask whether an installed policy records what a recipe looks for: golden levels on a catch-all policy and on the
roles' default preset, nnf.
"""

import re
from pathlib import Path

import pytest
import yaml

from ansible_collections.nnf.kube_audit.plugins.module_utils import _audit_recipes, audit_log
from ansible_collections.nnf.kube_audit.plugins.modules import audit_log_info
from ansible_collections.nnf.kube_audit.plugins.plugin_utils import audit_policy

REPO = Path(__file__).resolve().parents[4]
PRESETS = REPO / "roles" / "kube_audit" / "files" / "presets"
ROLE_SPECS = REPO / "roles" / "kube_audit_report" / "meta" / "argument_specs.yml"
RECIPES = _audit_recipes.RECIPES
NAMES = ["deletions", "secret_access", "exec", "denied", "rbac_changes", "impersonation"]


def test_the_six_recipes_in_their_documented_order():
    assert list(RECIPES) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_a_recipe_is_a_description_filters_a_grouping_and_samples(name):
    recipe = RECIPES[name]
    assert isinstance(recipe.description, str)
    assert "\n" not in recipe.description
    assert recipe.description == recipe.description.strip()
    assert ": " not in recipe.description  # repeated in YAML documentation as plain scalars
    audit_log.EventFilter(**recipe.filters)  # every filter is an EventFilter (and module option) name and value
    assert recipe.group_by
    assert set(recipe.group_by) <= set(audit_log.GROUP_FIELDS)
    assert recipe.samples


def _module_options():
    return set(yaml.safe_load(audit_log_info.DOCUMENTATION)["options"])


@pytest.mark.parametrize("name", NAMES)
def test_recipe_filters_are_module_options(name):
    assert set(RECIPES[name].filters) <= _module_options()


@pytest.mark.parametrize("name", NAMES)
def test_samples_have_the_evaluators_request_keys_and_are_resource_requests(name):
    for sample in RECIPES[name].samples:
        assert tuple(sample) == _audit_recipes.SAMPLE_KEYS
        assert set(sample) <= set(audit_policy.REQUEST_KEYS)
        assert all(isinstance(value, str) for value in sample.values())
        normalized = audit_policy.normalize_request(sample)
        assert normalized["resourceRequest"] is True
        assert {key: normalized[key] for key in sample} == sample  # nothing renamed or dropped


def _matches_filters(name, sample):
    """Whether an event of the sample request passes the recipe's filters (on the fields a request has)."""
    event = {
        "kind": "Event",
        "apiVersion": "audit.k8s.io/v1",
        "level": "Metadata",
        "auditID": "a",
        "stage": "ResponseComplete",
        "requestURI": "/x",
        "verb": sample["verb"],
        "user": {"username": "someone"},
        "objectRef": {
            key: value
            for key, value in (
                ("resource", sample["resource"]),
                ("namespace", sample["namespace"]),
                ("apiGroup", sample["apiGroup"]),
                ("subresource", sample["subresource"]),
            )
            if value
        },
        # What a denied or an impersonated sample stands for: the recipe's other conditions.
        "responseStatus": {"metadata": {}, "code": 403 if name == "denied" else 200},
        "stageTimestamp": "2026-11-20T10:00:00.000000Z",
    }
    if name == "impersonation":
        event["impersonatedUser"] = {"username": "other"}
    record = audit_log.AuditRecord.from_event(event, "")
    return audit_log.EventFilter(recipe=name).matches(record)


@pytest.mark.parametrize("name", NAMES)
def test_each_sample_is_a_request_its_recipe_finds(name):
    assert [sample for sample in RECIPES[name].samples if not _matches_filters(name, sample)] == []


def test_exec_samples_are_every_exec_resource_with_both_verbs():
    samples = RECIPES["exec"].samples
    assert {f"{s['resource']}/{s['subresource']}" for s in samples} == set(_audit_recipes.EXEC_RESOURCES)
    assert {s["verb"] for s in samples} == {"create", "get"}


CATCH_ALL = {"apiVersion": "audit.k8s.io/v1", "kind": "Policy", "rules": [{"level": "Metadata"}]}


@pytest.mark.parametrize("name", NAMES)
def test_a_catch_all_metadata_policy_records_every_sample(name):
    policy, warnings = audit_policy.load_policy(yaml.safe_dump(CATCH_ALL))
    assert warnings == []
    assert [audit_policy.evaluate_request(policy, sample)["level"] for sample in RECIPES[name].samples] == [
        "Metadata"
    ] * len(RECIPES[name].samples)


# The roles' default preset records get/list/watch/create/patch/update of the NNF API groups, at Metadata: of the
# recipes' samples, only the NNF ones that are not deletions.
NNF_PRESET_LEVELS = {
    "deletions": ["None"] * 5,  # no delete verb in it, NNF resources included
    "secret_access": ["None"] * 5,
    "exec": ["None"] * 12,
    "denied": ["None"] * 4 + ["Metadata"],  # a get of nnfstorages
    "rbac_changes": ["None"] * 5,
    "impersonation": ["None"] * 3 + ["Metadata"],  # an update of nnfstorages
}


@pytest.mark.parametrize("name", NAMES)
def test_the_nnf_preset_records_almost_none_of_the_samples(name):
    policy, _warnings = audit_policy.load_policy((PRESETS / "nnf.yaml").read_bytes())
    levels = [audit_policy.evaluate_request(policy, sample)["level"] for sample in RECIPES[name].samples]
    assert levels == NNF_PRESET_LEVELS[name]


def test_the_nnf_preset_does_not_record_secret_access():
    policy, _warnings = audit_policy.load_policy((PRESETS / "nnf.yaml").read_bytes())
    for sample in RECIPES["secret_access"].samples:
        assert audit_policy.evaluate_request(policy, sample)["level"] == audit_policy.DEFAULT_LEVEL == "None"


# --- documentation -------------------------------------------------------------------------------------------


def _words(fields, markup):
    items = [markup(field) for field in fields]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def test_the_module_documents_every_recipe_as_the_data_says():
    option = yaml.safe_load(audit_log_info.DOCUMENTATION)["options"]["recipe"]
    assert option["choices"] == NAMES
    for name, recipe in RECIPES.items():
        line = f"V({name}) keeps {recipe.description}; counted by {_words(recipe.group_by, lambda f: f'C({f})')}."
        assert line in option["description"], line


def test_the_module_accepts_exactly_the_recipes():
    source = Path(audit_log_info.__file__).read_text()
    assert 'recipe=dict(type="str", choices=list(audit_log.RECIPES))' in source


def test_the_role_documents_every_recipe_as_the_data_says():
    options = yaml.safe_load(ROLE_SPECS.read_text())["argument_specs"]["main"]["options"]
    option = options["kube_audit_report_recipe"]
    assert option["choices"] == ["", *NAMES]
    text = " ".join(option["description"])
    for name, recipe in RECIPES.items():
        spoken = [field.replace("_", " ").replace("source ips", "source addresses") for field in recipe.group_by]
        fields = _words(spoken, str)
        line = f"C({name}) keeps {recipe.description}; counted by {fields}."
        assert line in text, line


def test_the_module_doc_names_only_real_options_and_return_values():
    doc = yaml.safe_load(audit_log_info.DOCUMENTATION)
    returns = yaml.safe_load(audit_log_info.RETURN)
    text = audit_log_info.DOCUMENTATION + audit_log_info.RETURN
    for option in re.findall(r"O\(([a-z_]+)[=)]", text):
        assert option in doc["options"], option
    for value in re.findall(r"RV\(([a-z_.]+)[=)]", text):
        top, _dot, sub = value.partition(".")
        assert top in returns, value
        assert not sub or sub in returns[top]["contains"], value


NEW_OPTIONS = ["name", "source_ips", "user_agents", "impersonated_user", "effective_user", "recipe"]


@pytest.mark.parametrize("option", NEW_OPTIONS)
def test_the_role_has_a_variable_for_each_new_option_and_passes_it_on(option):
    role = REPO / "roles" / "kube_audit_report"
    variable = f"kube_audit_report_{option}"
    defaults = yaml.safe_load((role / "defaults" / "main.yml").read_text())
    spec = yaml.safe_load(ROLE_SPECS.read_text())["argument_specs"]["main"]["options"][variable]
    module_option = yaml.safe_load(audit_log_info.DOCUMENTATION)["options"][option]
    assert defaults[variable] == spec["default"]
    assert spec["default"] in ("", [])
    assert spec["type"] == module_option["type"]
    (task,) = [
        task for task in yaml.safe_load((role / "tasks" / "main.yml").read_text()) if "audit_log_info" in str(task)
    ]
    assert task["nnf.kube_audit.audit_log_info"][option] == "{{ " + variable + " or omit }}"

"""_audit_probe: the user a client certificate authenticates as, and the harmless read its audit policy records.

``identity`` reads the subject as kube-apiserver's x509 authenticator does (CN the user, each O a group);
``choose`` walks the candidates built from the policy's own rules, then the fallbacks, and keeps the first ``get``
the policy (``audit_policy.evaluate_request``) logs in a stage a ``get`` goes through, never a Secret, a token or a
subresource. Certificates are self-signed ones built here; policies are Python dicts in ``load_policy``'s shape, or
the role's presets loaded with ``audit_policy.load_policy``.
"""

import datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ansible_collections.nnf.kube_audit.plugins.plugin_utils import _audit_probe, audit_policy

PRESETS = Path(__file__).resolve().parents[4] / "roles" / "kube_audit" / "files" / "presets"
ADMIN = "kubernetes-admin"
ADMIN_GROUPS = ["kubeadm:cluster-admins"]
CLIENTMOUNT = "system:serviceaccount:nnf-system:nnf-clientmount"
CLIENTMOUNT_GROUPS = ["system:serviceaccounts", "system:serviceaccounts:nnf-system"]
PROBE = "nnf-kube-audit-probe"


@pytest.fixture(scope="module")
def key():
    return ec.generate_private_key(ec.SECP256R1())


def certificate(key, *attributes):
    """A self-signed PEM certificate (text) whose subject has these ``(oid, value)`` attributes, in order."""
    name = x509.Name([x509.NameAttribute(oid, value) for oid, value in attributes])
    now = datetime.datetime.now(datetime.timezone.utc)
    built = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return built.public_bytes(serialization.Encoding.PEM).decode("ascii")


def preset(name):
    policy, _warnings = audit_policy.load_policy((PRESETS / f"{name}.yaml").read_bytes())
    return policy


def policy(*rules, omit_stages=None):
    document = {"apiVersion": "audit.k8s.io/v1", "kind": "Policy", "rules": list(rules)}
    if omit_stages is not None:
        document["omitStages"] = list(omit_stages)
    return document


def path_of(chosen):
    assert chosen is not None, "the policy records no candidate for this user"
    return chosen["path"]


# ------------------------------------------------------------------------------------------------ identity


def test_identity_is_the_common_name_and_every_organization_in_order(key):
    pem = certificate(
        key,
        (NameOID.ORGANIZATION_NAME, "kubeadm:cluster-admins"),
        (NameOID.ORGANIZATION_NAME, "system:masters"),
        (NameOID.COMMON_NAME, ADMIN),
    )

    assert _audit_probe.identity(pem) == (ADMIN, ["kubeadm:cluster-admins", "system:masters"])


def test_identity_without_organization_has_no_groups(key):
    pem = certificate(key, (NameOID.COMMON_NAME, "system:kube-controller-manager"))

    assert _audit_probe.identity(pem) == ("system:kube-controller-manager", [])


def test_identity_without_common_name_is_the_empty_user(key):
    pem = certificate(key, (NameOID.ORGANIZATION_NAME, "system:nodes"))

    assert _audit_probe.identity(pem) == ("", ["system:nodes"])


def test_identity_ignores_other_subject_attributes(key):
    pem = certificate(
        key,
        (NameOID.COUNTRY_NAME, "US"),
        (NameOID.ORGANIZATIONAL_UNIT_NAME, "not-a-group"),
        (NameOID.ORGANIZATION_NAME, "devs"),
        (NameOID.COMMON_NAME, "alice"),
    )

    assert _audit_probe.identity(pem) == ("alice", ["devs"])


def test_identity_with_two_common_names_is_the_last_one_as_kube_apiserver_reads_it(key):
    pem = certificate(key, (NameOID.COMMON_NAME, "first"), (NameOID.COMMON_NAME, "second"))

    assert _audit_probe.identity(pem) == ("second", [])


def test_identity_of_garbage_text_is_a_probe_identity_error():
    with pytest.raises(_audit_probe.ProbeIdentityError, match=r"^the client certificate cannot be read: "):
        _audit_probe.identity("this is not a certificate")


def test_identity_of_a_pem_block_with_a_broken_body_is_a_probe_identity_error(key):
    pem = certificate(key, (NameOID.COMMON_NAME, ADMIN))
    lines = pem.splitlines()
    broken = "\n".join([lines[0], "QUJD" * 16, lines[-1]]) + "\n"

    with pytest.raises(_audit_probe.ProbeIdentityError, match=r"cannot be read"):
        _audit_probe.identity(broken)


def test_identity_of_non_ascii_text_is_a_probe_identity_error():
    with pytest.raises(_audit_probe.ProbeIdentityError, match=r"cannot be read"):
        _audit_probe.identity("-----BEGIN CERTIFICATE-----\nzertifikat-\u00fc\n-----END CERTIFICATE-----\n")


def test_identity_error_is_a_value_error():
    assert issubclass(_audit_probe.ProbeIdentityError, ValueError)


# ------------------------------------------------------------------------------------------------ presets


def test_nnf_preset_gives_the_admin_a_get_under_the_first_logged_group():
    chosen = _audit_probe.choose(preset("nnf"), ADMIN, ADMIN_GROUPS)

    assert chosen == {
        "path": f"/apis/lus.cray.hpe.com/v1/{PROBE}s/{PROBE}",
        "level": "Metadata",
        "request": {
            "user": {"name": ADMIN, "groups": ["kubeadm:cluster-admins", "system:authenticated"]},
            "verb": "get",
            "namespace": "",
            "apiGroup": "lus.cray.hpe.com",
            "apiVersion": "v1",
            "resource": f"{PROBE}s",
            "subresource": "",
            "name": PROBE,
            "resourceRequest": True,
            "path": "",
        },
    }


def test_certificate_identity_and_nnf_preset_chain_to_the_same_request(key):
    pem = certificate(key, (NameOID.ORGANIZATION_NAME, "kubeadm:cluster-admins"), (NameOID.COMMON_NAME, ADMIN))

    user, groups = _audit_probe.identity(pem)

    assert path_of(_audit_probe.choose(preset("nnf"), user, groups)) == f"/apis/lus.cray.hpe.com/v1/{PROBE}s/{PROBE}"


def test_nnf_clientmount_preset_records_nothing_the_admin_reads():
    assert _audit_probe.choose(preset("nnf_clientmount"), ADMIN, ADMIN_GROUPS) is None


def test_nnf_clientmount_preset_gives_its_service_account_a_core_configmap_get():
    chosen = _audit_probe.choose(preset("nnf_clientmount"), CLIENTMOUNT, CLIENTMOUNT_GROUPS)

    assert chosen["path"] == f"/api/v1/configmaps/{PROBE}"
    assert chosen["level"] == "Metadata"
    assert chosen["request"]["user"] == {"name": CLIENTMOUNT, "groups": [*CLIENTMOUNT_GROUPS, "system:authenticated"]}
    assert chosen["request"]["apiGroup"] == ""
    assert chosen["request"]["resource"] == "configmaps"


def test_nnf_deploy_preset_logs_no_get_so_nothing_is_chosen():
    assert _audit_probe.choose(preset("nnf_deploy"), ADMIN, ADMIN_GROUPS) is None


# ------------------------------------------------------------------------------------------------ rule order


def test_a_candidate_an_earlier_rule_silences_for_the_user_falls_through_to_the_next_candidate():
    rules = (
        {"level": "None", "users": [ADMIN], "resources": [{"group": "", "resources": ["configmaps"]}]},
        {"level": "Metadata", "resources": [{"group": "", "resources": ["configmaps", "pods"]}]},
    )

    assert path_of(_audit_probe.choose(policy(*rules), ADMIN, ADMIN_GROUPS)) == f"/api/v1/pods/{PROBE}"
    assert path_of(_audit_probe.choose(policy(*rules), "alice", [])) == f"/api/v1/configmaps/{PROBE}"


def test_a_first_rule_silencing_the_user_everywhere_leaves_nothing_to_choose():
    rules = (
        {"level": "None", "users": [ADMIN]},
        {"level": "RequestResponse", "resources": [{"group": "", "resources": ["configmaps"]}]},
    )

    assert _audit_probe.choose(policy(*rules), ADMIN, ADMIN_GROUPS) is None
    assert _audit_probe.choose(policy(*rules), "alice", [])["level"] == "RequestResponse"


def test_a_rule_for_other_verbs_does_not_record_the_get():
    rules = (
        {"level": "Metadata", "verbs": ["list", "watch"], "resources": [{"group": "", "resources": ["pods"]}]},
        {"level": "Request", "verbs": ["get"], "resources": [{"group": "apps", "resources": ["deployments"]}]},
    )

    chosen = _audit_probe.choose(policy(*rules), ADMIN, ADMIN_GROUPS)

    assert chosen["path"] == f"/apis/apps/v1/deployments/{PROBE}"
    assert chosen["level"] == "Request"


def test_the_level_of_the_rule_that_decides_is_returned():
    rules = ({"level": "RequestResponse", "nonResourceURLs": ["/healthz"]},)

    assert _audit_probe.choose(policy(*rules), ADMIN, ADMIN_GROUPS)["level"] == "RequestResponse"


# ------------------------------------------------------------------------------------------------ omitStages


def test_a_candidate_whose_rule_omits_both_get_stages_is_skipped():
    rules = (
        {
            "level": "Metadata",
            "omitStages": ["RequestReceived", "ResponseComplete"],
            "resources": [{"group": "", "resources": ["configmaps"]}],
        },
        {"level": "Metadata", "resources": [{"group": "", "resources": ["pods"]}]},
    )

    assert path_of(_audit_probe.choose(policy(*rules), ADMIN, ADMIN_GROUPS)) == f"/api/v1/pods/{PROBE}"


def test_the_policy_and_rule_omit_stages_are_united_before_judging_a_candidate():
    rules = (
        {"level": "Metadata", "omitStages": ["ResponseComplete"], "resources": [{"group": "", "resources": ["pods"]}]},
        {"level": "Metadata", "resources": [{"group": "", "resources": ["services"]}]},
    )

    chosen = _audit_probe.choose(policy(*rules, omit_stages=["RequestReceived"]), ADMIN, ADMIN_GROUPS)

    assert path_of(chosen) == f"/api/v1/services/{PROBE}"


def test_one_get_stage_omitted_still_records_the_get():
    rules = (
        {"level": "Metadata", "omitStages": ["ResponseComplete"], "resources": [{"group": "", "resources": ["pods"]}]},
    )

    assert path_of(_audit_probe.choose(policy(*rules), ADMIN, ADMIN_GROUPS)) == f"/api/v1/pods/{PROBE}"


def test_stages_a_get_does_not_need_do_not_count():
    rules = ({"level": "Metadata", "resources": [{"group": "", "resources": ["pods"]}]},)
    omitted = ["RequestReceived", "ResponseStarted", "Panic"]

    assert path_of(_audit_probe.choose(policy(*rules, omit_stages=omitted), ADMIN, ADMIN_GROUPS)) == (
        f"/api/v1/pods/{PROBE}"
    )


def test_a_policy_omitting_both_get_stages_everywhere_records_nothing():
    rules = ({"level": "RequestResponse"},)

    chosen = _audit_probe.choose(policy(*rules, omit_stages=["ResponseComplete", "RequestReceived"]), ADMIN, [])

    assert chosen is None


# ------------------------------------------------------------------------------------------------ never


def test_secrets_tokens_and_subresources_are_never_chosen_even_if_only_they_are_logged():
    rules = (
        {
            "level": "RequestResponse",
            "resources": [
                {"group": "", "resources": ["secrets", "serviceaccounts/token", "pods/exec", "pods/log"]},
                {"group": "authentication.k8s.io", "resources": ["tokenreviews"]},
                {"group": "apps", "resources": ["*/scale"]},
            ],
        },
        {"level": "None"},
    )

    assert _audit_probe.choose(policy(*rules), ADMIN, ADMIN_GROUPS) is None


def test_secrets_with_every_subresource_are_still_secrets():
    rules = ({"level": "Metadata", "resources": [{"group": "", "resources": ["secrets/*"]}]},)

    assert _audit_probe.choose(policy(*rules), ADMIN, ADMIN_GROUPS) is None


def test_secrets_are_skipped_and_the_next_resource_of_the_rule_is_chosen():
    rules = ({"level": "Metadata", "resources": [{"group": "", "resources": ["secrets", "pods/exec", "endpoints"]}]},)

    assert path_of(_audit_probe.choose(policy(*rules), ADMIN, ADMIN_GROUPS)) == f"/api/v1/endpoints/{PROBE}"


def test_a_resource_with_every_subresource_is_read_as_the_resource_itself():
    rules = ({"level": "Metadata", "resources": [{"group": "", "resources": ["pods/*"]}]},)

    assert path_of(_audit_probe.choose(policy(*rules), ADMIN, ADMIN_GROUPS)) == f"/api/v1/pods/{PROBE}"


def test_secrets_of_another_group_are_not_core_secrets():
    rules = ({"level": "Metadata", "resources": [{"group": "example.com", "resources": ["secrets"]}]},)

    assert path_of(_audit_probe.choose(policy(*rules), ADMIN, ADMIN_GROUPS)) == f"/apis/example.com/v1/secrets/{PROBE}"


# ------------------------------------------------------------------------------------------------ paths


def test_resource_names_and_namespaces_of_the_rule_are_in_the_path():
    rules = (
        {
            "level": "Metadata",
            "namespaces": ["kube-public", "default"],
            "resources": [{"group": "", "resources": ["configmaps"], "resourceNames": ["cluster-info", "other"]}],
        },
    )

    chosen = _audit_probe.choose(policy(*rules), ADMIN, ADMIN_GROUPS)

    assert chosen["path"] == "/api/v1/namespaces/kube-public/configmaps/cluster-info"
    assert chosen["request"]["namespace"] == "kube-public"
    assert chosen["request"]["name"] == "cluster-info"


def test_a_namespaced_group_resource_path_has_the_group_version_and_namespace():
    rules = (
        {
            "level": "Request",
            "namespaces": ["nnf-system"],
            "resources": [{"group": "nnf.cray.hpe.com", "resources": ["nnfstorages"]}],
        },
    )

    assert path_of(_audit_probe.choose(policy(*rules), ADMIN, ADMIN_GROUPS)) == (
        f"/apis/nnf.cray.hpe.com/v1/namespaces/nnf-system/nnfstorages/{PROBE}"
    )


def test_an_empty_namespace_in_the_rule_is_skipped_for_the_next_one():
    rules = ({"level": "Metadata", "namespaces": ["", "kube-system"], "resources": [{"group": ""}]},)

    assert path_of(_audit_probe.choose(policy(*rules), ADMIN, ADMIN_GROUPS)) == (
        f"/api/v1/namespaces/kube-system/configmaps/{PROBE}"
    )


def test_a_rule_with_namespaces_only_gives_a_configmap_in_the_first_namespace():
    rules = ({"level": "Metadata", "namespaces": ["nnf-dm-system", "nnf-system"]},)

    assert path_of(_audit_probe.choose(policy(*rules), ADMIN, ADMIN_GROUPS)) == (
        f"/api/v1/namespaces/nnf-dm-system/configmaps/{PROBE}"
    )


def test_non_resource_urls_lose_their_star():
    rules = ({"level": "Metadata", "nonResourceURLs": ["/metrics*"]},)

    chosen = _audit_probe.choose(policy(*rules), ADMIN, ADMIN_GROUPS)

    assert chosen["path"] == "/metrics"
    assert chosen["request"]["resourceRequest"] is False
    assert chosen["request"]["path"] == "/metrics"
    assert chosen["request"]["resource"] == ""


def test_a_lone_star_non_resource_url_gives_the_root_path():
    rules = ({"level": "Metadata", "nonResourceURLs": ["*"]},)

    assert path_of(_audit_probe.choose(policy(*rules), ADMIN, ADMIN_GROUPS)) == "/"


def test_a_catch_all_rule_gives_the_first_fallback():
    chosen = _audit_probe.choose(policy({"level": "Metadata"}), ADMIN, ADMIN_GROUPS)

    assert chosen["path"] == "/version"
    assert chosen["level"] == "Metadata"
    assert chosen["request"]["resourceRequest"] is False


def test_when_version_is_not_logged_the_default_namespace_is_read():
    rules = ({"level": "None", "nonResourceURLs": ["*"]}, {"level": "Metadata"})

    assert path_of(_audit_probe.choose(policy(*rules), ADMIN, ADMIN_GROUPS)) == "/api/v1/namespaces/default"


def test_the_last_fallback_is_the_probe_configmap_in_kube_system():
    rules = (
        {"level": "None", "nonResourceURLs": ["*"]},
        {"level": "None", "resources": [{"group": "", "resources": ["namespaces"]}]},
        {"level": "Metadata", "verbs": ["get"]},
    )

    assert path_of(_audit_probe.choose(policy(*rules), ADMIN, ADMIN_GROUPS)) == (
        f"/api/v1/namespaces/kube-system/configmaps/{PROBE}"
    )


def test_candidates_are_the_rules_in_order_then_the_fallbacks():
    rules = (
        {"level": "Metadata", "resources": [{"group": "apps", "resources": ["deployments"], "resourceNames": ["x"]}]},
        {"level": "None", "nonResourceURLs": ["/healthz", "/livez*"]},
        {"level": "Metadata", "users": ["bob"]},
    )

    assert list(_audit_probe.candidates(policy(*rules))) == [
        {"apiGroup": "apps", "apiVersion": "v1", "resource": "deployments", "namespace": "", "name": "x"},
        {"path": "/healthz", "resourceRequest": False},
        {"path": "/livez", "resourceRequest": False},
        *_audit_probe.FALLBACKS,
    ]


# ------------------------------------------------------------------------------------------------ nothing / groups


@pytest.mark.parametrize(
    "document",
    [{}, {"rules": []}, {"rules": None}, policy({"level": "None"}), policy({"level": "None", "users": [ADMIN]})],
    ids=["no-rules-key", "empty-rules", "null-rules", "all-none", "admin-none"],
)
def test_a_policy_logging_nothing_for_the_user_gives_none(document):
    assert _audit_probe.choose(document, ADMIN, ADMIN_GROUPS) is None


def test_the_authenticated_group_is_added_for_the_user():
    rules = ({"level": "Metadata", "userGroups": ["system:authenticated"]},)

    chosen = _audit_probe.choose(policy(*rules), "alice", [])

    assert chosen["path"] == "/version"
    assert chosen["request"]["user"] == {"name": "alice", "groups": ["system:authenticated"]}


def test_the_authenticated_group_is_not_added_twice_and_the_caller_list_is_untouched():
    groups = ["system:authenticated", "devs"]

    chosen = _audit_probe.choose(policy({"level": "Metadata", "userGroups": ["devs"]}), "alice", groups)

    assert chosen["request"]["user"]["groups"] == ["system:authenticated", "devs"]
    assert groups == ["system:authenticated", "devs"]


def test_a_rule_for_another_group_does_not_record_the_user():
    rules = ({"level": "Metadata", "userGroups": ["system:masters"]},)

    assert _audit_probe.choose(policy(*rules), ADMIN, ADMIN_GROUPS) is None
    assert path_of(_audit_probe.choose(policy(*rules), ADMIN, ["system:masters"])) == "/version"

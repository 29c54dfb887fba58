"""CreateEndpoint / DescribeEndpoint / ListEndpoints / DeleteEndpoint and
UpdateEndpointWeightsAndCapacities (docs/sagemaker-api.md#endpoints, #updateendpointweightsandcapacities, #changing-a-running-endpoint, #message-catalogue; docs/deployments.md)."""

from __future__ import annotations

import time

import pytest
from botocore.exceptions import ClientError, WaiterError

from support import (
    all_endpoint_names,
    assert_recent,
    constraint_msg,
    endpoint_arn,
    error_parts,
    expect_error,
    invoke,
    invoke_many,
    msg_in_progress,
    msg_no_config,
    msg_no_endpoint,
    msg_no_model,
    msg_runtime_not_found,
    pid_alive,
    strip_meta,
    unique,
    variant,
    wait_endpoint_gone,
    wait_endpoint_status,
    wait_pids_dead,
    wait_until,
)

NAME_PATTERN = "[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"
WAITER = {"Delay": 1, "MaxAttempts": 60}


def _variant_summary(desc: dict, name: str) -> dict:
    by_name = {v["VariantName"]: v for v in desc["ProductionVariants"]}
    assert name in by_name, f"variant {name} not in {sorted(by_name)}"
    return by_name[name]


# --- lifecycle --------------------------------------------------------------------------------


def test_create_endpoint_creating_then_inservice(sm, factory):
    # STARTUP_DELAY_S keeps the instance from passing /ping for 2 s, so Creating is observable.
    model = factory.model(env={"STARTUP_DELAY_S": "2"})
    cfg = factory.config(model=model)
    name = unique("Ep-Lifecycle")
    resp = sm.create_endpoint(EndpointName=name, EndpointConfigName=cfg)
    factory.endpoints.append(name)
    assert strip_meta(resp) == {"EndpointArn": endpoint_arn(name)}
    assert resp["EndpointArn"].endswith(f":endpoint/{name.lower()}")

    desc = sm.describe_endpoint(EndpointName=name)
    assert desc["EndpointStatus"] == "Creating"
    assert desc["EndpointName"] == name
    assert desc["EndpointConfigName"] == cfg
    assert "FailureReason" not in desc
    # Guardrail's rule for Creating: variants present, CurrentWeight 0, VariantStatus Creating.
    pv = _variant_summary(desc, "AllTraffic")
    assert pv["CurrentWeight"] == 0
    assert pv["DesiredWeight"] == 1.0
    assert pv["DesiredInstanceCount"] == 1
    assert pv["CurrentInstanceCount"] == 0
    assert pv["VariantStatus"][0]["Status"] == "Creating"
    assert len(pv["VariantStatus"]) <= 5

    # The stock waiter (with a short delay) sees InService.
    sm.get_waiter("endpoint_in_service").wait(EndpointName=name, WaiterConfig=WAITER)
    desc = sm.describe_endpoint(EndpointName=name)
    assert desc["EndpointStatus"] == "InService"
    assert desc["EndpointArn"] == endpoint_arn(name)
    assert_recent(desc["CreationTime"])
    assert_recent(desc["LastModifiedTime"])
    assert desc["LastModifiedTime"] >= desc["CreationTime"]
    for absent in ("FailureReason", "PendingDeploymentSummary"):
        assert absent not in desc, f"{absent} should be absent when InService: {desc.get(absent)!r}"
    pv = _variant_summary(desc, "AllTraffic")
    assert pv["CurrentWeight"] == 1.0
    assert pv["DesiredWeight"] == 1.0
    assert pv["CurrentInstanceCount"] == 1
    assert pv["DesiredInstanceCount"] == 1
    assert "VariantStatus" not in pv, "outside updates VariantStatus is omitted"
    images = pv["DeployedImages"]
    assert len(images) == 1
    assert images[0]["SpecifiedImage"] == "model:v1"
    assert images[0]["ResolvedImage"] == "model:v1"
    assert_recent(images[0]["ResolutionTime"])


def test_describe_two_variants_weights_and_counts(sm, factory):
    ep = factory.two_variant_endpoint(weights=(3.0, 1.0), counts=(2, 1))
    desc = sm.describe_endpoint(EndpointName=ep)
    a, b = _variant_summary(desc, "VariantA"), _variant_summary(desc, "VariantB")
    assert (a["CurrentWeight"], a["DesiredWeight"]) == (3.0, 3.0)
    assert (b["CurrentWeight"], b["DesiredWeight"]) == (1.0, 1.0)
    assert (a["CurrentInstanceCount"], a["DesiredInstanceCount"]) == (2, 2)
    assert (b["CurrentInstanceCount"], b["DesiredInstanceCount"]) == (1, 1)
    assert a["DeployedImages"][0]["SpecifiedImage"] == "model:v1"
    assert b["DeployedImages"][0]["SpecifiedImage"] == "model:v2"


def test_default_weight_is_one(sm, factory):
    model = factory.model()
    cfg = factory.config(variants=[variant(model, "A"), variant(model, "B")])
    ep = factory.endpoint(config=cfg)
    desc = sm.describe_endpoint(EndpointName=ep)
    for name in ("A", "B"):
        pv = _variant_summary(desc, name)
        assert pv["CurrentWeight"] == 1.0 and pv["DesiredWeight"] == 1.0


def test_list_endpoints_item_shape(sm, factory):
    ep = factory.simple_endpoint()
    resp = sm.list_endpoints(NameContains=ep)
    assert [e["EndpointName"] for e in resp["Endpoints"]] == [ep]
    item = resp["Endpoints"][0]
    assert set(item) == {"EndpointName", "EndpointArn", "CreationTime", "LastModifiedTime", "EndpointStatus"}
    assert item["EndpointArn"] == endpoint_arn(ep)
    assert item["EndpointStatus"] == "InService"
    assert_recent(item["CreationTime"])
    assert_recent(item["LastModifiedTime"])


def test_case_insensitive_endpoint_lookup(sm, rt, factory):
    name = unique("Mixed-CASE-Ep")
    factory.endpoint(name, config=factory.config())
    desc = sm.describe_endpoint(EndpointName=name.lower())
    assert desc["EndpointName"] == name
    assert desc["EndpointArn"] == endpoint_arn(name)
    assert name in all_endpoint_names(sm)
    resp, _ = invoke(rt, name.lower())
    assert resp["InvokedProductionVariant"] == "AllTraffic"


def test_delete_endpoint(sm, rt, factory):
    ep = factory.simple_endpoint()
    model, cfg = factory.models[-1], factory.configs[-1]
    _, answer = invoke(rt, ep)
    pid = answer["pid"]
    assert strip_meta(sm.delete_endpoint(EndpointName=ep)) == {}
    try:
        status = sm.describe_endpoint(EndpointName=ep)["EndpointStatus"]
        assert status == "Deleting"
    except ClientError as exc:  # already gone: fine
        assert error_parts(exc)[0] == "ValidationException"
    sm.get_waiter("endpoint_deleted").wait(EndpointName=ep, WaiterConfig=WAITER)
    expect_error(sm.describe_endpoint, "ValidationException", message=msg_no_endpoint(ep), EndpointName=ep)
    assert ep not in all_endpoint_names(sm)
    expect_error(sm.delete_endpoint, "ValidationException", message=msg_no_endpoint(ep), EndpointName=ep)
    expect_error(invoke, "ValidationError", message=msg_runtime_not_found(ep), rt=rt, name=ep)
    # config and model stay
    assert sm.describe_endpoint_config(EndpointConfigName=cfg)["EndpointConfigName"] == cfg
    assert sm.describe_model(ModelName=model)["ModelName"] == model
    wait_pids_dead([pid], timeout=40)


def test_endpoint_name_reusable_after_delete(sm, rt, factory):
    ep = factory.simple_endpoint()
    sm.delete_endpoint(EndpointName=ep)
    wait_endpoint_gone(sm, ep)
    cfg = factory.config(model=factory.model(image="model:v2"))
    factory.endpoint(ep, config=cfg)
    _, answer = invoke(rt, ep)
    assert answer["model_version"] == "v2"


def test_delete_while_creating_cancels(sm, factory):
    ep = factory.simple_endpoint(env={"STARTUP_DELAY_S": "30"}, wait=False)
    assert sm.describe_endpoint(EndpointName=ep)["EndpointStatus"] == "Creating"
    sm.delete_endpoint(EndpointName=ep)
    # generous: stopping an instance may take SIGTERM + the 30 s grace before SIGKILL
    wait_endpoint_gone(sm, ep, timeout=60)
    assert ep not in all_endpoint_names(sm)


def test_tags_empty_list_accepted(sm, factory):
    cfg = factory.config()
    name = unique("e-tags")
    sm.create_endpoint(EndpointName=name, EndpointConfigName=cfg, Tags=[])
    factory.endpoints.append(name)
    wait_endpoint_status(sm, name, "InService")


def test_deployment_config_stored_as_last_deployment_config(sm, factory):
    dc = {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {"Type": "CANARY", "WaitIntervalInSeconds": 0,
                                            "CanarySize": {"Type": "INSTANCE_COUNT", "Value": 1}},
        },
    }
    ep = factory.endpoint(config=factory.config(), DeploymentConfig=dc)
    assert sm.describe_endpoint(EndpointName=ep)["LastDeploymentConfig"] == dc


def test_waiter_in_service_fails_on_missing_endpoint(sm):
    with pytest.raises(WaiterError):
        sm.get_waiter("endpoint_in_service").wait(EndpointName=unique("nope"),
                                                  WaiterConfig={"Delay": 1, "MaxAttempts": 3})


# --- CreateEndpoint / Describe / Delete errors --------------------------------------------------


def test_describe_missing_endpoint(sm):
    name = unique("No-Such-Ep")
    expect_error(sm.describe_endpoint, "ValidationException", message=msg_no_endpoint(name),
                 EndpointName=name)


def test_delete_missing_endpoint(sm):
    name = unique("nosuch")
    expect_error(sm.delete_endpoint, "ValidationException", message=msg_no_endpoint(name),
                 EndpointName=name)


def test_duplicate_endpoint(sm, factory):
    cfg1 = factory.config()
    ep = factory.endpoint(config=cfg1)
    cfg2 = factory.config(model=factory.model(image="model:v2"))
    for dup in (ep, ep.upper()):
        expect_error(sm.create_endpoint, "ValidationException",
                     message=f'Cannot create already existing endpoint "{endpoint_arn(ep)}".',
                     EndpointName=dup, EndpointConfigName=cfg2)
    desc = sm.describe_endpoint(EndpointName=ep)
    assert desc["EndpointConfigName"] == cfg1
    assert desc["EndpointStatus"] == "InService"


def test_create_endpoint_missing_config(sm):
    ep, cfg = unique("e"), unique("nocfg")
    expect_error(sm.create_endpoint, "ValidationException", message=msg_no_config(cfg),
                 EndpointName=ep, EndpointConfigName=cfg)
    assert ep not in all_endpoint_names(sm)


def test_create_endpoint_model_deleted_since_config(sm, factory):
    model = factory.model()
    cfg = factory.config(model=model)
    sm.delete_model(ModelName=model)
    ep = unique("e")
    expect_error(sm.create_endpoint, "ValidationException", message=msg_no_model(model),
                 EndpointName=ep, EndpointConfigName=cfg)
    assert ep not in all_endpoint_names(sm)


@pytest.mark.parametrize("bad", ["bad_name!", "under_score", "-x", "x-", ""])
def test_endpoint_name_pattern(sm, factory, bad):
    cfg = factory.config()
    before = all_endpoint_names(sm)
    expect_error(sm.create_endpoint, "ValidationException",
                 message=constraint_msg(f"'{bad}'", "endpointName",
                                        f"Member must satisfy regular expression pattern: {NAME_PATTERN}"),
                 EndpointName=bad, EndpointConfigName=cfg)
    assert all_endpoint_names(sm) == before


def test_create_endpoint_both_update_policies(sm, factory):
    cfg = factory.config()
    ep = unique("e")
    dc = {
        "BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE",
                                                                  "WaitIntervalInSeconds": 0}},
        "RollingUpdatePolicy": {"MaximumBatchSize": {"Type": "INSTANCE_COUNT", "Value": 1},
                                "WaitIntervalInSeconds": 0},
    }
    expect_error(sm.create_endpoint, "ValidationException",
                 message="DeploymentConfig can contain BlueGreenUpdatePolicy or RollingUpdatePolicy, not both.",
                 EndpointName=ep, EndpointConfigName=cfg, DeploymentConfig=dc)
    assert ep not in all_endpoint_names(sm)


def test_create_endpoint_deployment_config_range(sm, factory):
    cfg = factory.config()
    ep = unique("e")
    dc = {"BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE",
                                                                    "WaitIntervalInSeconds": 4000}}}
    expect_error(sm.create_endpoint, "ValidationException",
                 message=constraint_msg(
                     "4000",
                     "deploymentConfig.blueGreenUpdatePolicy.trafficRoutingConfiguration.waitIntervalInSeconds",
                     "Member must have value less than or equal to 3600"),
                 EndpointName=ep, EndpointConfigName=cfg, DeploymentConfig=dc)
    assert ep not in all_endpoint_names(sm)


# --- UpdateEndpointWeightsAndCapacities -------------------------------------------------------


def _uewac(sm, ep, *entries):
    return sm.update_endpoint_weights_and_capacities(EndpointName=ep, DesiredWeightsAndCapacities=list(entries))


def _weights_counts(sm, ep) -> dict:
    desc = sm.describe_endpoint(EndpointName=ep)
    return {
        "status": desc["EndpointStatus"],
        **{v["VariantName"]: (v["DesiredWeight"], v["DesiredInstanceCount"], v["CurrentWeight"],
                              v["CurrentInstanceCount"]) for v in desc["ProductionVariants"]},
    }


def test_uewac_weight_change(sm, factory):
    ep = factory.two_variant_endpoint(weights=(3.0, 1.0))
    resp = _uewac(sm, ep, {"VariantName": "VariantA", "DesiredWeight": 1.0},
                  {"VariantName": "VariantB", "DesiredWeight": 4.0})
    assert strip_meta(resp) == {"EndpointArn": endpoint_arn(ep)}
    desc = sm.describe_endpoint(EndpointName=ep)
    assert desc["EndpointStatus"] in ("Updating", "InService")
    assert _variant_summary(desc, "VariantA")["DesiredWeight"] == 1.0
    assert _variant_summary(desc, "VariantB")["DesiredWeight"] == 4.0
    desc = wait_endpoint_status(sm, ep, "InService")
    a, b = _variant_summary(desc, "VariantA"), _variant_summary(desc, "VariantB")
    assert (a["CurrentWeight"], a["DesiredWeight"]) == (1.0, 1.0)
    assert (b["CurrentWeight"], b["DesiredWeight"]) == (4.0, 4.0)
    assert (a["CurrentInstanceCount"], b["CurrentInstanceCount"]) == (1, 1)
    assert "VariantStatus" not in a and "VariantStatus" not in b
    assert desc["LastModifiedTime"] >= desc["CreationTime"]


def test_uewac_scale_out_and_in(sm, rt, factory):
    # STARTUP_DELAY_S=1 makes the scale-out window observable; LATENCY_MS spreads concurrent calls.
    model = factory.model(env={"STARTUP_DELAY_S": "1", "LATENCY_MS": "150"})
    ep = factory.endpoint(config=factory.config(model=model))
    _uewac(sm, ep, {"VariantName": "AllTraffic", "DesiredInstanceCount": 2})

    desc = sm.describe_endpoint(EndpointName=ep)
    assert desc["EndpointStatus"] == "Updating"
    pv = _variant_summary(desc, "AllTraffic")
    assert pv["DesiredInstanceCount"] == 2
    assert pv["CurrentInstanceCount"] == 1
    assert pv["VariantStatus"][0]["Status"] == "Updating"
    assert pv["VariantStatus"][0].get("StatusMessage") == "Scaling out desired instance count to 2."
    # the endpoint keeps serving while Updating
    invoke(rt, ep)
    # another change while Updating is refused
    expect_error(lambda: _uewac(sm, ep, {"VariantName": "AllTraffic", "DesiredInstanceCount": 3}),
                 "ValidationException", message=msg_in_progress(ep))
    assert _variant_summary(sm.describe_endpoint(EndpointName=ep), "AllTraffic")["DesiredInstanceCount"] == 2

    desc = wait_endpoint_status(sm, ep, "InService", timeout=40)
    pv = _variant_summary(desc, "AllTraffic")
    assert (pv["CurrentInstanceCount"], pv["DesiredInstanceCount"]) == (2, 2)
    assert "VariantStatus" not in pv
    pids = {answer["pid"] for _, answer in invoke_many(rt, ep, 24, threads=8)}
    assert len(pids) == 2, f"expected answers from 2 instances, got pids {pids}"

    # scale back in to 1: one of the two processes stops
    _uewac(sm, ep, {"VariantName": "AllTraffic", "DesiredInstanceCount": 1})
    desc = wait_endpoint_status(sm, ep, "InService", timeout=60)
    pv = _variant_summary(desc, "AllTraffic")
    assert (pv["CurrentInstanceCount"], pv["DesiredInstanceCount"]) == (1, 1)
    wait_until(lambda: sum(pid_alive(p) for p in pids) == 1, timeout=40,
               desc="one of the two model servers to stop after scale-in")
    remaining = {answer["pid"] for _, answer in invoke_many(rt, ep, 8, threads=4)}
    assert len(remaining) == 1 and remaining <= pids


def test_uewac_missing_endpoint(sm):
    ep = unique("nosuch")
    expect_error(lambda: _uewac(sm, ep, {"VariantName": "AllTraffic", "DesiredWeight": 1.0}),
                 "ValidationException", message=msg_no_endpoint(ep))


@pytest.fixture
def uewac_endpoint(sm, factory):
    """Two variants, weights 3:1, one instance each."""
    return factory.two_variant_endpoint(weights=(3.0, 1.0))


def _rejected(sm, ep, entries, message=None, **match):
    """UEWAC with `entries` must fail with ValidationException and change nothing."""
    before = _weights_counts(sm, ep)
    expect_error(lambda: _uewac(sm, ep, *entries), "ValidationException", message=message, **match)
    assert _weights_counts(sm, ep) == before


def test_uewac_repeated_variant(sm, uewac_endpoint):
    _rejected(sm, uewac_endpoint,
              [{"VariantName": "VariantA", "DesiredWeight": 1.0}, {"VariantName": "VariantA", "DesiredWeight": 2.0}],
              'The variant name "VariantA" was non-unique within the request.')


def test_uewac_unknown_variant(sm, factory):
    cfg = factory.config(variants=[variant(factory.model(), "AllTraffic")])
    ep = factory.endpoint(config=cfg)
    _rejected(sm, ep, [{"VariantName": "Nope", "DesiredWeight": 1.0}],
              f'The variant name(s) "Nope" is/are not present within endpoint configuration "{cfg}".')


def test_uewac_unknown_variant_with_known_one(sm, uewac_endpoint):
    # one good and one bad entry: the whole request is rejected
    cfg = sm.describe_endpoint(EndpointName=uewac_endpoint)["EndpointConfigName"]
    _rejected(sm, uewac_endpoint,
              [{"VariantName": "VariantA", "DesiredWeight": 2.0}, {"VariantName": "Ghost", "DesiredWeight": 1.0}],
              f'The variant name(s) "Ghost" is/are not present within endpoint configuration "{cfg}".')


def test_uewac_neither_weight_nor_count(sm, uewac_endpoint):
    _rejected(sm, uewac_endpoint, [{"VariantName": "VariantB"}],
              'DesiredWeight or DesiredInstanceCount must be specified for variant "VariantB".')


def test_uewac_two_counts_changed(sm, uewac_endpoint):
    _rejected(sm, uewac_endpoint,
              [{"VariantName": "VariantA", "DesiredInstanceCount": 2},
               {"VariantName": "VariantB", "DesiredInstanceCount": 2}],
              "Only one variant's DesiredInstanceCount can be changed per request.")


def test_uewac_count_zero(sm, uewac_endpoint):
    _rejected(sm, uewac_endpoint, [{"VariantName": "VariantA", "DesiredInstanceCount": 0}],
              'DesiredInstanceCount must be at least 1 for instance-based variant "VariantA".')


def test_uewac_all_weights_zero(sm, uewac_endpoint):
    _rejected(sm, uewac_endpoint,
              [{"VariantName": "VariantA", "DesiredWeight": 0.0}, {"VariantName": "VariantB", "DesiredWeight": 0.0}],
              "The sum of the variant weights must be greater than 0.")


def test_uewac_resulting_weights_zero(sm, factory):
    # B already has weight 0; setting A to 0 leaves no traffic anywhere
    ep = factory.two_variant_endpoint(weights=(1.0, 0.0))
    _rejected(sm, ep, [{"VariantName": "VariantA", "DesiredWeight": 0.0}],
              "The sum of the variant weights must be greater than 0.")


def test_uewac_zero_weight_for_one_variant_is_fine(sm, uewac_endpoint):
    ep = uewac_endpoint
    _uewac(sm, ep, {"VariantName": "VariantA", "DesiredWeight": 0.0})
    desc = wait_endpoint_status(sm, ep, "InService")
    a, b = _variant_summary(desc, "VariantA"), _variant_summary(desc, "VariantB")
    assert (a["CurrentWeight"], a["DesiredWeight"]) == (0.0, 0.0)
    assert (b["CurrentWeight"], b["DesiredWeight"]) == (1.0, 1.0)


def test_uewac_negative_weight_server_side(sm, sm_novalidate, uewac_endpoint):
    before = _weights_counts(sm, uewac_endpoint)
    expect_error(lambda: _uewac(sm_novalidate, uewac_endpoint, {"VariantName": "VariantA", "DesiredWeight": -1.0}),
                 "ValidationException", prefix="1 validation error detected: Value -1",
                 contains="at 'desiredWeightsAndCapacities.1.member.desiredWeight' failed to satisfy "
                          "constraint: Member must have value greater than or equal to 0")
    assert _weights_counts(sm, uewac_endpoint) == before


def test_uewac_empty_list_server_side(sm, sm_novalidate, uewac_endpoint):
    before = _weights_counts(sm, uewac_endpoint)
    expect_error(lambda: _uewac(sm_novalidate, uewac_endpoint), "ValidationException",
                 contains=["at 'desiredWeightsAndCapacities' failed to satisfy constraint: ",
                           "Member must have length greater than or equal to 1"])
    assert _weights_counts(sm, uewac_endpoint) == before


def test_uewac_endpoint_name_pattern(sm):
    expect_error(lambda: _uewac(sm, "bad_name!", {"VariantName": "AllTraffic", "DesiredWeight": 1.0}),
                 "ValidationException",
                 message=constraint_msg("'bad_name!'", "endpointName",
                                        f"Member must satisfy regular expression pattern: {NAME_PATTERN}"))


def test_uewac_while_creating(sm, factory):
    ep = factory.simple_endpoint(env={"STARTUP_DELAY_S": "20"}, wait=False)
    assert sm.describe_endpoint(EndpointName=ep)["EndpointStatus"] == "Creating"
    expect_error(lambda: _uewac(sm, ep, {"VariantName": "AllTraffic", "DesiredWeight": 2.0}),
                 "ValidationException", message=msg_in_progress(ep))
    desc = sm.describe_endpoint(EndpointName=ep)
    assert desc["EndpointStatus"] == "Creating"
    assert _variant_summary(desc, "AllTraffic")["DesiredWeight"] == 1.0


# --- Failed endpoint (slow: the minimum startup window is 60 s) --------------------------------


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_endpoint_fails_when_ping_never_passes(sm, rt, failing_endpoint):
    ep = failing_endpoint.name
    # created at session start (see conftest); Failed must come after the 60 s window
    desc = wait_endpoint_status(sm, ep, "Failed", timeout=150, fail_on=())
    elapsed = time.monotonic() - failing_endpoint.created
    assert elapsed >= 55, f"Failed after {elapsed:.0f}s, before the 60 s startup window ended"
    reason = desc.get("FailureReason", "")
    assert "ping health check" in reason, reason
    assert "AllTraffic" in reason, reason
    assert len(reason) <= 1024

    # the stock waiter treats Failed as a failure state
    with pytest.raises(WaiterError):
        sm.get_waiter("endpoint_in_service").wait(EndpointName=ep, WaiterConfig={"Delay": 1, "MaxAttempts": 3})
    # a Failed endpoint is not invocable and cannot be updated
    expect_error(invoke, "ValidationError", message=msg_runtime_not_found(ep), rt=rt, name=ep)
    expect_error(lambda: _uewac(sm, ep, {"VariantName": "AllTraffic", "DesiredWeight": 2.0}),
                 "ValidationException",
                 message=f'Cannot update failed endpoint "{endpoint_arn(ep)}". Delete it and create it again.')
    # ...but it can be deleted
    sm.delete_endpoint(EndpointName=ep)
    wait_endpoint_gone(sm, ep)
    assert ep not in all_endpoint_names(sm)

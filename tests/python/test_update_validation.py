"""UpdateEndpoint validation (docs/sagemaker-api.md#endpoints, #changing-a-running-endpoint, #updateendpoint-rules, #message-catalogue; docs/deployments.md#sizes, #names-and-arns, #statuses-and-enums).

Every rule of docs/sagemaker-api.md#updateendpoint-rules with its exact code and message, and "a rejected request changes nothing"
(DescribeEndpoint: status, EndpointConfigName, LastDeploymentConfig, LastModifiedTime, no
PendingDeploymentSummary). Where two rules collide, the first failing stage of docs/sagemaker-api.md#updateendpoint-rules answers:
1 constraints → 2 existence (endpoint → config → models) → 3 status (docs/sagemaker-api.md#changing-a-running-endpoint) → 4 semantic rules.
docs/sagemaker-api.md#updateendpoint-rules does not fix the order *within* stage 4 (its table is a list); where two semantic rules
collide, the tests only require that exactly one of them answers, with its exact message
("one_of"), and that nothing changed.

Values botocore rejects client-side (min values/lengths, required members) go through
`sm_novalidate`, so they reach the server, which must reject them itself.
"""

from __future__ import annotations

import re
import time
from types import SimpleNamespace

import pytest

from support import (
    Factory,
    constraint_msg,
    endpoint_arn,
    enum_values_in,
    expect_error,
    model_enum,
    msg_in_progress,
    msg_no_config,
    msg_no_endpoint,
    msg_no_model,
    unique,
    variant,
    wait_endpoint_status,
)

NAME_PATTERN = "[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"
TRC = "deploymentConfig.blueGreenUpdatePolicy.trafficRoutingConfiguration"
BG = "deploymentConfig.blueGreenUpdatePolicy"
RP = "deploymentConfig.rollingUpdatePolicy"
ALARMS = "deploymentConfig.autoRollbackConfiguration.alarms"

# The shared endpoint is created with this DeploymentConfig, so LastDeploymentConfig is present
# and "nothing changed" also covers it.
BASE_DC = {"BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE",
                                                                     "WaitIntervalInSeconds": 0}}}


def msg_failed(name: str) -> str:
    return f'Cannot update failed endpoint "{endpoint_arn(name)}". Delete it and create it again.'


# --- DeploymentConfig builders ----------------------------------------------------------------


def size(kind: str, value: int) -> dict:
    return {"Type": kind, "Value": value}


def ic(value: int) -> dict:
    return size("INSTANCE_COUNT", value)


def pct(value: int) -> dict:
    return size("CAPACITY_PERCENT", value)


def blue_green(kind: str = "ALL_AT_ONCE", wait: int = 0, *, canary: dict | None = None,
               linear: dict | None = None, termination: int | None = None, timeout: int | None = None,
               alarms: list[str] | None = None) -> dict:
    trc: dict = {"Type": kind, "WaitIntervalInSeconds": wait}
    if canary is not None:
        trc["CanarySize"] = canary
    if linear is not None:
        trc["LinearStepSize"] = linear
    bg: dict = {"TrafficRoutingConfiguration": trc}
    if termination is not None:
        bg["TerminationWaitInSeconds"] = termination
    if timeout is not None:
        bg["MaximumExecutionTimeoutInSeconds"] = timeout
    dc: dict = {"BlueGreenUpdatePolicy": bg}
    if alarms is not None:
        dc["AutoRollbackConfiguration"] = {"Alarms": [{"AlarmName": a} for a in alarms]}
    return dc


def rolling(batch: dict, wait: int = 0, *, timeout: int | None = None, rollback: dict | None = None) -> dict:
    rp: dict = {"MaximumBatchSize": batch, "WaitIntervalInSeconds": wait}
    if timeout is not None:
        rp["MaximumExecutionTimeoutInSeconds"] = timeout
    if rollback is not None:
        rp["RollbackMaximumBatchSize"] = rollback
    return {"RollingUpdatePolicy": rp}


# --- state and the "rejected, nothing changed" check ------------------------------------------


def state(sm, ep: str, *, volatile: bool = False) -> dict:
    """What a rejected UpdateEndpoint must not change. `volatile`: the endpoint is mid-update,
    so phase-dependent members (VariantStatus, current counts, LastModifiedTime) are left out."""
    d = sm.describe_endpoint(EndpointName=ep)
    pds = d.get("PendingDeploymentSummary")
    out = {
        "EndpointStatus": d["EndpointStatus"],
        "EndpointConfigName": d.get("EndpointConfigName"),
        "LastDeploymentConfig": d.get("LastDeploymentConfig"),
        "FailureReason": d.get("FailureReason"),
        "Pending": (pds["EndpointConfigName"], pds.get("StartTime")) if pds else None,
        "Variants": [(v["VariantName"], v.get("DesiredWeight"), v.get("DesiredInstanceCount"))
                     for v in d.get("ProductionVariants", [])],
    }
    if not volatile:
        out["LastModifiedTime"] = d["LastModifiedTime"]
    return out


def rejected(sm, ep: str, config: str, *, client=None, message: str | None = None,
             prefix: str | None = None, contains=None, regex: str | None = None,
             one_of: list[str] | None = None, volatile: bool = False, **kwargs) -> None:
    """UpdateEndpoint must fail with ValidationException (HTTP 400) and change nothing.
    `one_of`: the message must be exactly one of these (colliding rules of the same stage)."""
    if one_of is not None:
        regex = "^(?:" + "|".join(re.escape(m) for m in one_of) + ")$"
    before = state(sm, ep, volatile=volatile)
    expect_error((client or sm).update_endpoint, "ValidationException", message=message, prefix=prefix,
                 contains=contains, regex=regex, EndpointName=ep, EndpointConfigName=config, **kwargs)
    after = state(sm, ep, volatile=volatile)
    assert after == before, f"a rejected UpdateEndpoint changed the endpoint:\nbefore {before}\nafter  {after}"


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def _base_holder():
    return SimpleNamespace(ep=None, cfg=None, model=None)


def _pristine(sm, h) -> bool:
    if h.ep is None:
        return False
    try:
        d = sm.describe_endpoint(EndpointName=h.ep)
    except Exception:  # noqa: BLE001 - gone: make a new one
        return False
    return (d["EndpointStatus"] == "InService" and d.get("EndpointConfigName") == h.cfg
            and d.get("LastDeploymentConfig") == BASE_DC and "FailureReason" not in d)


@pytest.fixture
def base(sm, module_factory, _base_holder):
    """A shared InService endpoint: variant AllTraffic (model v1, 1 instance), created with
    BASE_DC. Replaced if an earlier test left it changed (e.g. a rule was wrongly accepted)."""
    h = _base_holder
    if not _pristine(sm, h):
        h.model = module_factory.model(image="model:v1")
        h.cfg = module_factory.config(variants=[variant(h.model, "AllTraffic", count=1)])
        h.ep = module_factory.endpoint(config=h.cfg, DeploymentConfig=BASE_DC)
    return h


@pytest.fixture(scope="module")
def two_variant(sm, module_factory):
    """An InService endpoint with VariantA (v1) and VariantB (v2), one instance each."""
    ma, mb = module_factory.model(image="model:v1"), module_factory.model(image="model:v2")
    cfg = module_factory.config(variants=[variant(ma, "VariantA"), variant(mb, "VariantB")])
    ep = module_factory.endpoint(config=cfg)
    return SimpleNamespace(ep=ep, cfg=cfg, models=(ma, mb))


def new_config(f: Factory, *names_counts: tuple[str, int], image: str = "model:v2") -> str:
    """A config (not deployed) with the given (variant name, instance count) pairs."""
    model = f.model(image=image)
    return f.config(variants=[variant(model, n, count=c) for n, c in (names_counts or (("AllTraffic", 1),))])


# --- stage 1: model constraints ---------------------------------------------------------------


def test_wait_interval_over_max(sm, module_factory, base):
    cfg = new_config(module_factory)
    rejected(sm, base.ep, cfg,
             message=constraint_msg("4000", f"{TRC}.waitIntervalInSeconds",
                                    "Member must have value less than or equal to 3600"),
             DeploymentConfig=blue_green("ALL_AT_ONCE", 4000))


def test_termination_wait_over_max(sm, module_factory, base):
    cfg = new_config(module_factory)
    rejected(sm, base.ep, cfg,
             message=constraint_msg("3601", f"{BG}.terminationWaitInSeconds",
                                    "Member must have value less than or equal to 3600"),
             DeploymentConfig=blue_green("ALL_AT_ONCE", 0, termination=3601))


def test_max_execution_timeout_over_max(sm, module_factory, base):
    cfg = new_config(module_factory)
    rejected(sm, base.ep, cfg,
             message=constraint_msg("28801", f"{BG}.maximumExecutionTimeoutInSeconds",
                                    "Member must have value less than or equal to 28800"),
             DeploymentConfig=blue_green("ALL_AT_ONCE", 0, timeout=28801))


def test_max_execution_timeout_under_min_server_side(sm, sm_novalidate, module_factory, base):
    cfg = new_config(module_factory)
    rejected(sm, base.ep, cfg, client=sm_novalidate,
             message=constraint_msg("100", f"{BG}.maximumExecutionTimeoutInSeconds",
                                    "Member must have value greater than or equal to 600"),
             DeploymentConfig=blue_green("ALL_AT_ONCE", 0, timeout=100))


def test_rolling_wait_interval_over_max(sm, module_factory, base):
    cfg = new_config(module_factory)
    rejected(sm, base.ep, cfg,
             message=constraint_msg("3601", f"{RP}.waitIntervalInSeconds",
                                    "Member must have value less than or equal to 3600"),
             DeploymentConfig=rolling(ic(1), 3601))


def test_rolling_timeout_over_max(sm, module_factory, base):
    cfg = new_config(module_factory)
    rejected(sm, base.ep, cfg,
             message=constraint_msg("30000", f"{RP}.maximumExecutionTimeoutInSeconds",
                                    "Member must have value less than or equal to 28800"),
             DeploymentConfig=rolling(ic(1), 0, timeout=30000))


def test_two_range_violations_counted(sm, module_factory, base):
    cfg = new_config(module_factory)
    before = state(sm, base.ep)
    exc = expect_error(sm.update_endpoint, "ValidationException", prefix="2 validation errors detected: ",
                       EndpointName=base.ep, EndpointConfigName=cfg,
                       DeploymentConfig=blue_green("ALL_AT_ONCE", 4000, termination=4000))
    items = exc.response["Error"]["Message"][len("2 validation errors detected: "):].split("; ")
    assert sorted(items) == sorted([
        f"Value 4000 at '{TRC}.waitIntervalInSeconds' failed to satisfy constraint: "
        "Member must have value less than or equal to 3600",
        f"Value 4000 at '{BG}.terminationWaitInSeconds' failed to satisfy constraint: "
        "Member must have value less than or equal to 3600",
    ]), items
    assert state(sm, base.ep) == before


def test_wait_interval_missing_server_side(sm, sm_novalidate, module_factory, base):
    cfg = new_config(module_factory)
    dc = blue_green("ALL_AT_ONCE", 0)
    del dc["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]["WaitIntervalInSeconds"]
    rejected(sm, base.ep, cfg, client=sm_novalidate,
             message=constraint_msg("null", f"{TRC}.waitIntervalInSeconds", "Member must not be null"),
             DeploymentConfig=dc)


def test_traffic_routing_type_enum(sm, module_factory, base):
    cfg = new_config(module_factory)
    rejected(sm, base.ep, cfg,
             message=constraint_msg("'BLUE'", f"{TRC}.type",
                                    "Member must satisfy enum value set: [ALL_AT_ONCE, CANARY, LINEAR]"),
             DeploymentConfig=blue_green("BLUE", 0))


def test_capacity_percentage_misspelling_rejected(sm, module_factory, base):
    # AWS's rolling guide spells it CAPACITY_PERCENTAGE; the enum value is CAPACITY_PERCENT.
    cfg = new_config(module_factory, ("AllTraffic", 4))
    before = state(sm, base.ep)
    exc = expect_error(sm.update_endpoint, "ValidationException",
                       prefix=f"1 validation error detected: Value 'CAPACITY_PERCENTAGE' at '{TRC}.canarySize.type' "
                              "failed to satisfy constraint: Member must satisfy enum value set: [",
                       EndpointName=base.ep, EndpointConfigName=cfg,
                       DeploymentConfig=blue_green("CANARY", 0, canary=size("CAPACITY_PERCENTAGE", 25)))
    assert enum_values_in(exc.response["Error"]["Message"]) == model_enum("sagemaker", "CapacitySizeType")
    assert state(sm, base.ep) == before


def test_rolling_batch_type_enum(sm, module_factory, base):
    cfg = new_config(module_factory, ("AllTraffic", 4))
    before = state(sm, base.ep)
    exc = expect_error(sm.update_endpoint, "ValidationException",
                       prefix=f"1 validation error detected: Value 'PERCENT' at '{RP}.maximumBatchSize.type' "
                              "failed to satisfy constraint: Member must satisfy enum value set: [",
                       EndpointName=base.ep, EndpointConfigName=cfg,
                       DeploymentConfig=rolling(size("PERCENT", 25)))
    assert enum_values_in(exc.response["Error"]["Message"]) == {"INSTANCE_COUNT", "CAPACITY_PERCENT"}
    assert state(sm, base.ep) == before


def test_capacity_value_zero_server_side(sm, sm_novalidate, module_factory, base):
    cfg = new_config(module_factory, ("AllTraffic", 4))
    rejected(sm, base.ep, cfg, client=sm_novalidate,
             message=constraint_msg("0", f"{TRC}.canarySize.value",
                                    "Member must have value greater than or equal to 1"),
             DeploymentConfig=blue_green("CANARY", 0, canary=ic(0)))


def test_alarm_without_name(sm, module_factory, base):
    # AlarmName is not required in the model: botocore sends [{}]; the server must reject it.
    cfg = new_config(module_factory)
    dc = blue_green("ALL_AT_ONCE", 0)
    dc["AutoRollbackConfiguration"] = {"Alarms": [{}]}
    rejected(sm, base.ep, cfg,
             message=constraint_msg("null", f"{ALARMS}.1.member.alarmName", "Member must not be null"),
             DeploymentConfig=dc)


def test_alarm_without_name_second_item(sm, module_factory, base):
    cfg = new_config(module_factory)
    dc = blue_green("ALL_AT_ONCE", 0)
    dc["AutoRollbackConfiguration"] = {"Alarms": [{"AlarmName": unique("alarm")}, {}]}
    rejected(sm, base.ep, cfg,
             message=constraint_msg("null", f"{ALARMS}.2.member.alarmName", "Member must not be null"),
             DeploymentConfig=dc)


def test_alarm_name_blank(sm, module_factory, base):
    cfg = new_config(module_factory)
    rejected(sm, base.ep, cfg,
             message=constraint_msg("'   '", f"{ALARMS}.1.member.alarmName",
                                    "Member must satisfy regular expression pattern: (?!\\s*$).+"),
             DeploymentConfig=blue_green("ALL_AT_ONCE", 0, alarms=["   "]))


def test_alarm_name_too_long(sm, module_factory, base):
    cfg = new_config(module_factory)
    name = "a" * 256
    rejected(sm, base.ep, cfg,
             message=constraint_msg(f"'{name}'", f"{ALARMS}.1.member.alarmName",
                                    "Member must have length less than or equal to 255"),
             DeploymentConfig=blue_green("ALL_AT_ONCE", 0, alarms=[name]))


def test_alarms_empty_list_server_side(sm, sm_novalidate, module_factory, base):
    cfg = new_config(module_factory)
    dc = blue_green("ALL_AT_ONCE", 0)
    dc["AutoRollbackConfiguration"] = {"Alarms": []}
    rejected(sm, base.ep, cfg, client=sm_novalidate, DeploymentConfig=dc,
             prefix="1 validation error detected: ",
             contains=[f"at '{ALARMS}' failed to satisfy constraint: ",
                       "Member must have length greater than or equal to 1"])


def test_too_many_alarms(sm, module_factory, base):
    cfg = new_config(module_factory)
    rejected(sm, base.ep, cfg, DeploymentConfig=blue_green("ALL_AT_ONCE", 0, alarms=[f"a{i}" for i in range(11)]),
             prefix="1 validation error detected: ",
             contains=[f"at '{ALARMS}' failed to satisfy constraint: ",
                       "Member must have length less than or equal to 10"])


def test_exclude_retained_property_enum(sm, module_factory, base):
    cfg = new_config(module_factory)
    before = state(sm, base.ep)
    exc = expect_error(sm.update_endpoint, "ValidationException",
                       prefix="1 validation error detected: Value 'Weight' at "
                              "'excludeRetainedVariantProperties.1.member.variantPropertyType' failed to satisfy "
                              "constraint: Member must satisfy enum value set: [",
                       EndpointName=base.ep, EndpointConfigName=cfg, RetainAllVariantProperties=True,
                       ExcludeRetainedVariantProperties=[{"VariantPropertyType": "Weight"}])
    assert enum_values_in(exc.response["Error"]["Message"]) == model_enum("sagemaker", "VariantPropertyType")
    assert state(sm, base.ep) == before


def test_exclude_retained_too_many(sm, module_factory, base):
    cfg = new_config(module_factory)
    props = [{"VariantPropertyType": p} for p in
             ("DesiredInstanceCount", "DesiredWeight", "DataCaptureConfig", "DesiredWeight")]
    before = state(sm, base.ep)
    expect_error(sm.update_endpoint, "ValidationException", prefix="1 validation error detected: ",
                 contains=["at 'excludeRetainedVariantProperties' failed to satisfy constraint: ",
                           "Member must have length less than or equal to 3"],
                 EndpointName=base.ep, EndpointConfigName=cfg, RetainAllVariantProperties=True,
                 ExcludeRetainedVariantProperties=props)
    assert state(sm, base.ep) == before


@pytest.mark.parametrize("bad", ["bad_name!", ""])
def test_endpoint_name_pattern(sm, module_factory, bad):
    cfg = new_config(module_factory)
    expect_error(sm.update_endpoint, "ValidationException",
                 message=constraint_msg(f"'{bad}'", "endpointName",
                                        f"Member must satisfy regular expression pattern: {NAME_PATTERN}"),
                 EndpointName=bad, EndpointConfigName=cfg)


def test_config_name_pattern(sm, base):
    rejected(sm, base.ep, "bad.config",
             message=constraint_msg("'bad.config'", "endpointConfigName",
                                    f"Member must satisfy regular expression pattern: {NAME_PATTERN}"))


def test_config_name_missing_server_side(sm, sm_novalidate, base):
    before = state(sm, base.ep)
    expect_error(sm_novalidate.update_endpoint, "ValidationException",
                 message=constraint_msg("null", "endpointConfigName", "Member must not be null"),
                 EndpointName=base.ep)
    assert state(sm, base.ep) == before


# --- stage 2: existence -----------------------------------------------------------------------


def test_missing_endpoint(sm, module_factory):
    cfg = new_config(module_factory)
    ep = unique("No-Such-Ep")
    expect_error(sm.update_endpoint, "ValidationException", message=msg_no_endpoint(ep),
                 EndpointName=ep, EndpointConfigName=cfg)


def test_missing_config(sm, base):
    cfg = unique("No-Such-Cfg")
    rejected(sm, base.ep, cfg, message=msg_no_config(cfg))


def test_missing_model(sm, module_factory, base):
    model = module_factory.model(image="model:v2")
    cfg = module_factory.config(variants=[variant(model, "AllTraffic")])
    sm.delete_model(ModelName=model)
    rejected(sm, base.ep, cfg, message=msg_no_model(model))


def test_missing_second_model(sm, module_factory, two_variant):
    # every model of the config must exist, not just the first
    ma, mb = module_factory.model(image="model:v1"), module_factory.model(image="model:v2")
    cfg = module_factory.config(variants=[variant(ma, "VariantA"), variant(mb, "VariantB")])
    sm.delete_model(ModelName=mb)
    rejected(sm, two_variant.ep, cfg, message=msg_no_model(mb))


def test_missing_endpoint_before_missing_config(sm):
    ep, cfg = unique("nosuch"), unique("nocfg")
    expect_error(sm.update_endpoint, "ValidationException", message=msg_no_endpoint(ep),
                 EndpointName=ep, EndpointConfigName=cfg)


def test_missing_config_with_deployment_config(sm, base):
    cfg = unique("nocfg")
    rejected(sm, base.ep, cfg, message=msg_no_config(cfg), DeploymentConfig=blue_green("ALL_AT_ONCE", 0))


def test_constraint_before_existence(sm):
    """Stage 1 before stage 2: a range violation wins over a missing endpoint and config."""
    ep, cfg = unique("nosuch"), unique("nocfg")
    expect_error(sm.update_endpoint, "ValidationException",
                 message=constraint_msg("4000", f"{TRC}.waitIntervalInSeconds",
                                        "Member must have value less than or equal to 3600"),
                 EndpointName=ep, EndpointConfigName=cfg, DeploymentConfig=blue_green("ALL_AT_ONCE", 4000))


def test_alarm_without_name_before_existence(sm):
    ep, cfg = unique("nosuch"), unique("nocfg")
    dc = blue_green("ALL_AT_ONCE", 0)
    dc["AutoRollbackConfiguration"] = {"Alarms": [{}]}
    expect_error(sm.update_endpoint, "ValidationException",
                 message=constraint_msg("null", f"{ALARMS}.1.member.alarmName", "Member must not be null"),
                 EndpointName=ep, EndpointConfigName=cfg, DeploymentConfig=dc)


@pytest.mark.parametrize("dc_kind", ["both-policies", "missing-alarm", "retain-and-config", "canary-no-size"])
def test_existence_before_semantic_rules(sm, module_factory, base, dc_kind):
    """Stage 2 before stage 4: a missing endpoint / config wins over every semantic rule."""
    kwargs = {
        "both-policies": {"DeploymentConfig": {**blue_green("ALL_AT_ONCE", 0), **rolling(ic(1))}},
        "missing-alarm": {"DeploymentConfig": blue_green("ALL_AT_ONCE", 0, alarms=[unique("no-alarm")])},
        "retain-and-config": {"DeploymentConfig": blue_green("ALL_AT_ONCE", 0), "RetainDeploymentConfig": True},
        "canary-no-size": {"DeploymentConfig": blue_green("CANARY", 0)},
    }[dc_kind]
    ep = unique("nosuch")
    expect_error(sm.update_endpoint, "ValidationException", message=msg_no_endpoint(ep),
                 EndpointName=ep, EndpointConfigName=new_config(module_factory), **kwargs)
    cfg = unique("nocfg")
    rejected(sm, base.ep, cfg, message=msg_no_config(cfg), **kwargs)


# --- stage 3: endpoint status -----------------------------------------------------------------


def test_update_while_creating(sm, module_factory, factory):
    ep = factory.simple_endpoint(env={"STARTUP_DELAY_S": "20"}, wait=False)
    assert sm.describe_endpoint(EndpointName=ep)["EndpointStatus"] == "Creating"
    cfg = new_config(module_factory)
    rejected(sm, ep, cfg, message=msg_in_progress(ep), volatile=True)
    # stage 1 before 3
    rejected(sm, ep, cfg, volatile=True,
             message=constraint_msg("4000", f"{TRC}.waitIntervalInSeconds",
                                    "Member must have value less than or equal to 3600"),
             DeploymentConfig=blue_green("ALL_AT_ONCE", 4000))
    # stage 2 before 3
    missing = unique("nocfg")
    rejected(sm, ep, missing, message=msg_no_config(missing), volatile=True)
    # stage 3 before 4
    rejected(sm, ep, cfg, message=msg_in_progress(ep), volatile=True,
             DeploymentConfig={**blue_green("ALL_AT_ONCE", 0), **rolling(ic(1))})
    rejected(sm, ep, cfg, message=msg_in_progress(ep), volatile=True,
             DeploymentConfig=blue_green("ALL_AT_ONCE", 0, alarms=[unique("no-alarm")]))
    assert sm.describe_endpoint(EndpointName=ep)["EndpointStatus"] == "Creating"


def test_update_while_uewac_scaling(sm, module_factory, factory):
    # a scale-out (UpdateEndpointWeightsAndCapacities) keeps the endpoint Updating for a while
    model = factory.model(env={"STARTUP_DELAY_S": "4"})
    ep = factory.endpoint(config=factory.config(model=model))
    sm.update_endpoint_weights_and_capacities(
        EndpointName=ep, DesiredWeightsAndCapacities=[{"VariantName": "AllTraffic", "DesiredInstanceCount": 2}])
    assert sm.describe_endpoint(EndpointName=ep)["EndpointStatus"] == "Updating"
    cfg = new_config(module_factory)
    rejected(sm, ep, cfg, message=msg_in_progress(ep), volatile=True)
    rejected(sm, ep, cfg, message=msg_in_progress(ep), volatile=True,
             DeploymentConfig=blue_green("CANARY", 0))  # stage 3 before the CanarySize rule
    desc = wait_endpoint_status(sm, ep, "InService", timeout=40)
    assert desc["EndpointConfigName"] != cfg
    assert "PendingDeploymentSummary" not in desc


def test_update_while_updating(sm, module_factory, factory):
    """A second UpdateEndpoint (and a UEWAC) during an UpdateEndpoint: in-progress error; the
    running update is untouched."""
    ep = factory.simple_endpoint()
    first = new_config(module_factory)
    dc = blue_green("ALL_AT_ONCE", 60, timeout=600)
    sm.update_endpoint(EndpointName=ep, EndpointConfigName=first, DeploymentConfig=dc)
    d = sm.describe_endpoint(EndpointName=ep)
    assert d["EndpointStatus"] == "Updating", d["EndpointStatus"]
    assert d["EndpointConfigName"] == first
    second = new_config(module_factory)
    rejected(sm, ep, second, message=msg_in_progress(ep), volatile=True)
    rejected(sm, ep, second, message=msg_in_progress(ep), volatile=True,
             DeploymentConfig=blue_green("ALL_AT_ONCE", 0))
    rejected(sm, ep, second, message=msg_in_progress(ep), volatile=True, RetainDeploymentConfig=True)
    # the same config again is refused too
    rejected(sm, ep, first, message=msg_in_progress(ep), volatile=True)
    expect_error(sm.update_endpoint_weights_and_capacities, "ValidationException", message=msg_in_progress(ep),
                 EndpointName=ep,
                 DesiredWeightsAndCapacities=[{"VariantName": "AllTraffic", "DesiredWeight": 2.0}])
    d = sm.describe_endpoint(EndpointName=ep)
    assert d["EndpointStatus"] == "Updating"
    assert d["EndpointConfigName"] == first
    assert d["PendingDeploymentSummary"]["EndpointConfigName"] == first
    assert d["LastDeploymentConfig"] == dc
    # cancels the update (factory cleanup would too)
    sm.delete_endpoint(EndpointName=ep)


# --- stage 4: semantic rules ------------------------------------------------------------------


def test_both_policies(sm, module_factory, base):
    cfg = new_config(module_factory)
    rejected(sm, base.ep, cfg,
             message="DeploymentConfig can contain BlueGreenUpdatePolicy or RollingUpdatePolicy, not both.",
             DeploymentConfig={**blue_green("ALL_AT_ONCE", 0), **rolling(ic(1))})


def test_retain_deployment_config_with_deployment_config(sm, module_factory, base):
    cfg = new_config(module_factory)
    rejected(sm, base.ep, cfg,
             message="RetainDeploymentConfig cannot be true when DeploymentConfig is specified.",
             DeploymentConfig=blue_green("ALL_AT_ONCE", 0), RetainDeploymentConfig=True)


def test_retain_deployment_config_with_alarms_only_config(sm, module_factory, base):
    cfg = new_config(module_factory)
    rejected(sm, base.ep, cfg,
             message="RetainDeploymentConfig cannot be true when DeploymentConfig is specified.",
             DeploymentConfig={"AutoRollbackConfiguration": {"Alarms": [{"AlarmName": unique("a")}]}},
             RetainDeploymentConfig=True)


def test_canary_without_size(sm, module_factory, base):
    cfg = new_config(module_factory, ("AllTraffic", 4))
    rejected(sm, base.ep, cfg, message="CanarySize is required when Type is CANARY.",
             DeploymentConfig=blue_green("CANARY", 0))


def test_linear_without_size(sm, module_factory, base):
    cfg = new_config(module_factory, ("AllTraffic", 4))
    rejected(sm, base.ep, cfg, message="LinearStepSize is required when Type is LINEAR.",
             DeploymentConfig=blue_green("LINEAR", 0))


@pytest.mark.parametrize("kind,sizes,message", [
    ("ALL_AT_ONCE", {"canary": ic(1)}, "CanarySize is only valid when Type is CANARY."),
    ("ALL_AT_ONCE", {"linear": ic(1)}, "LinearStepSize is only valid when Type is LINEAR."),
    ("CANARY", {"canary": ic(1), "linear": ic(1)}, "LinearStepSize is only valid when Type is LINEAR."),
    ("LINEAR", {"linear": ic(1), "canary": ic(1)}, "CanarySize is only valid when Type is CANARY."),
])
def test_size_for_another_type(sm, module_factory, base, kind, sizes, message):
    cfg = new_config(module_factory, ("AllTraffic", 4))
    rejected(sm, base.ep, cfg, message=message, DeploymentConfig=blue_green(kind, 0, **sizes))


def test_canary_missing_size_and_foreign_size(sm, module_factory, base):
    """Two rules of stage 4 collide: one of them answers."""
    cfg = new_config(module_factory, ("AllTraffic", 4))
    rejected(sm, base.ep, cfg, one_of=["CanarySize is required when Type is CANARY.",
                                       "LinearStepSize is only valid when Type is LINEAR."],
             DeploymentConfig=blue_green("CANARY", 0, linear=ic(1)))


@pytest.mark.parametrize("dc,message", [
    (blue_green("CANARY", 0, canary=pct(60)), "CanarySize must be between 1 and 50 percent; got 60."),
    (blue_green("CANARY", 0, canary=pct(51)), "CanarySize must be between 1 and 50 percent; got 51."),
    (blue_green("CANARY", 0, canary=pct(100)), "CanarySize must be between 1 and 50 percent; got 100."),
    (blue_green("LINEAR", 0, linear=pct(5)), "LinearStepSize must be between 10 and 50 percent; got 5."),
    (blue_green("LINEAR", 0, linear=pct(9)), "LinearStepSize must be between 10 and 50 percent; got 9."),
    (blue_green("LINEAR", 0, linear=pct(51)), "LinearStepSize must be between 10 and 50 percent; got 51."),
    (rolling(pct(60)), "MaximumBatchSize must be between 5 and 50 percent; got 60."),
    (rolling(pct(4)), "MaximumBatchSize must be between 5 and 50 percent; got 4."),
    (rolling(pct(51)), "MaximumBatchSize must be between 5 and 50 percent; got 51."),
    (rolling(pct(25), rollback=pct(150)), "RollbackMaximumBatchSize must be between 1 and 100 percent; got 150."),
    (rolling(pct(25), rollback=pct(101)), "RollbackMaximumBatchSize must be between 1 and 100 percent; got 101."),
], ids=["canary60", "canary51", "canary100", "linear5", "linear9", "linear51", "batch60", "batch4", "batch51",
        "rollback150", "rollback101"])
def test_percent_out_of_range(sm, module_factory, base, dc, message):
    cfg = new_config(module_factory, ("AllTraffic", 4))
    rejected(sm, base.ep, cfg, message=message, DeploymentConfig=dc)


@pytest.mark.parametrize("n,dc,message", [
    (4, blue_green("CANARY", 0, canary=ic(3)),
     'CanarySize of 3 instance(s) exceeds 50% of the 4 instance(s) of variant "AllTraffic".'),
    (1, blue_green("CANARY", 0, canary=ic(2)),
     'CanarySize of 2 instance(s) exceeds 50% of the 1 instance(s) of variant "AllTraffic".'),
    (5, blue_green("CANARY", 0, canary=ic(3)),
     'CanarySize of 3 instance(s) exceeds 50% of the 5 instance(s) of variant "AllTraffic".'),
    (4, blue_green("LINEAR", 0, linear=ic(3)),
     'LinearStepSize of 3 instance(s) exceeds 50% of the 4 instance(s) of variant "AllTraffic".'),
    (3, rolling(ic(2)),
     'MaximumBatchSize of 2 instance(s) exceeds 50% of the 3 instance(s) of variant "AllTraffic".'),
], ids=["canary3of4", "canary2of1", "canary3of5", "linear3of4", "batch2of3"])
def test_instance_count_over_half(sm, module_factory, base, n, dc, message):
    cfg = new_config(module_factory, ("AllTraffic", n))
    rejected(sm, base.ep, cfg, message=message, DeploymentConfig=dc)


def test_instance_count_checked_for_every_variant(sm, module_factory, two_variant):
    # VariantA gets 4 instances (2 allowed), VariantB 2 (1 allowed): the rule names VariantB
    cfg = new_config(module_factory, ("VariantA", 4), ("VariantB", 2))
    rejected(sm, two_variant.ep, cfg,
             message='CanarySize of 2 instance(s) exceeds 50% of the 2 instance(s) of variant "VariantB".',
             DeploymentConfig=blue_green("CANARY", 0, canary=ic(2)))


def test_instance_count_uses_retained_count(sm, module_factory, base):
    """N_v is the count after the Retain rules (docs/deployments.md#retain-flags): the endpoint's current desired
    count (1), not the config's 4."""
    cfg = new_config(module_factory, ("AllTraffic", 4))
    rejected(sm, base.ep, cfg, RetainAllVariantProperties=True,
             message='CanarySize of 2 instance(s) exceeds 50% of the 1 instance(s) of variant "AllTraffic".',
             DeploymentConfig=blue_green("CANARY", 0, canary=ic(2)))


@pytest.mark.parametrize("n,dc,timeout,total", [
    # CANARY: 2W + T
    (1, blue_green("CANARY", 600, canary=ic(1), termination=600, timeout=1200), 1200, 1800),
    (1, blue_green("CANARY", 600, canary=ic(1), termination=600, timeout=1800), 1800, 1800),
    # ALL_AT_ONCE: W + T
    (1, blue_green("ALL_AT_ONCE", 3600, termination=3600, timeout=7200), 7200, 7200),
    # LINEAR: k·W + T with k = ceil(N / s); 25 % of 4 = 1 instance → 4 steps
    (4, blue_green("LINEAR", 600, linear=pct(25), timeout=2400), 2400, 2400),
    # last step smaller: N = 5, s = 2 → k = 3
    (5, blue_green("LINEAR", 600, linear=ic(2), termination=100, timeout=1900), 1900, 1900),
    # ROLLING: k·W, no T
    (4, rolling(ic(1), 900, timeout=3600), 3600, 3600),
    # default 28 800 when omitted: 8 linear steps of 3600 s
    (8, blue_green("LINEAR", 3600, linear=ic(1)), 28800, 28800),
], ids=["canary-less", "canary-equal", "allatonce-equal", "linear-4steps", "linear-ceil", "rolling", "default"])
def test_timeout_not_greater_than_total_wait(sm, module_factory, base, n, dc, timeout, total):
    cfg = new_config(module_factory, ("AllTraffic", n))
    rejected(sm, base.ep, cfg, DeploymentConfig=dc,
             message=f"MaximumExecutionTimeoutInSeconds ({timeout}) must be greater than the total wait time "
                     f"of this deployment ({total} seconds).")


def test_rolling_with_two_variants_current_and_new(sm, module_factory, two_variant):
    cfg = new_config(module_factory, ("VariantA", 2), ("VariantB", 2))
    rejected(sm, two_variant.ep, cfg, DeploymentConfig=rolling(ic(1)),
             message="RollingUpdatePolicy is not supported for endpoints with more than one production variant.")


def test_rolling_to_two_variants(sm, module_factory, base):
    # the current config has one variant, the new one two: rejected too (before the names rule)
    cfg = new_config(module_factory, ("AllTraffic", 2), ("Extra", 2))
    rejected(sm, base.ep, cfg, DeploymentConfig=rolling(ic(1)),
             message="RollingUpdatePolicy is not supported for endpoints with more than one production variant.")


def test_variant_names_differ_with_policy(sm, module_factory, base):
    cfg = new_config(module_factory, ("Other", 1))
    rejected(sm, base.ep, cfg, DeploymentConfig=blue_green("ALL_AT_ONCE", 0),
             message=f'With a DeploymentConfig, endpoint configuration "{cfg}" must have the same production '
                     f'variants as the current configuration "{base.cfg}" (AllTraffic).')


def test_variant_added_with_policy(sm, module_factory, base):
    cfg = new_config(module_factory, ("AllTraffic", 1), ("Extra", 1))
    rejected(sm, base.ep, cfg, DeploymentConfig=blue_green("CANARY", 0, canary=ic(1)),
             message=f'With a DeploymentConfig, endpoint configuration "{cfg}" must have the same production '
                     f'variants as the current configuration "{base.cfg}" (AllTraffic).')


def test_variant_names_differ_two_variants(sm, module_factory, two_variant):
    cfg = new_config(module_factory, ("VariantA", 1), ("VariantC", 1))
    rejected(sm, two_variant.ep, cfg, DeploymentConfig=blue_green("ALL_AT_ONCE", 0),
             message=f'With a DeploymentConfig, endpoint configuration "{cfg}" must have the same production '
                     f'variants as the current configuration "{two_variant.cfg}" (VariantA, VariantB).')


def test_variant_names_differ_with_retained_config(sm, module_factory, base):
    # base was created with BASE_DC: RetainDeploymentConfig reuses it, so the names rule applies
    cfg = new_config(module_factory, ("Other", 1))
    rejected(sm, base.ep, cfg, RetainDeploymentConfig=True,
             message=f'With a DeploymentConfig, endpoint configuration "{cfg}" must have the same production '
                     f'variants as the current configuration "{base.cfg}" (AllTraffic).')


def test_variant_names_differ_with_alarms_only_config(sm, module_factory, base):
    """An alarms-only DeploymentConfig is a policy (ALL_AT_ONCE, W = 0), so the names rule applies;
    the alarm does not exist either: one of the two rules answers."""
    cfg = new_config(module_factory, ("Other", 1))
    alarm = unique("no-alarm")
    rejected(sm, base.ep, cfg,
             DeploymentConfig={"AutoRollbackConfiguration": {"Alarms": [{"AlarmName": alarm}]}},
             one_of=[f'With a DeploymentConfig, endpoint configuration "{cfg}" must have the same production '
                     f'variants as the current configuration "{base.cfg}" (AllTraffic).',
                     f"CloudWatch alarm(s) not found: {alarm}."])


def test_missing_alarms(sm, module_factory, base):
    cfg = new_config(module_factory)
    a1, a2 = unique("ep-5xx"), unique("ep-latency")
    rejected(sm, base.ep, cfg, DeploymentConfig=blue_green("ALL_AT_ONCE", 0, alarms=[a1, a2]),
             message=f"CloudWatch alarm(s) not found: {a1}, {a2}.")


def test_missing_alarm_alarms_only_config(sm, module_factory, base):
    cfg = new_config(module_factory)
    a1 = unique("ep-5xx")
    rejected(sm, base.ep, cfg,
             DeploymentConfig={"AutoRollbackConfiguration": {"Alarms": [{"AlarmName": a1}]}},
             message=f"CloudWatch alarm(s) not found: {a1}.")


def test_missing_alarm_rolling(sm, module_factory, base):
    cfg = new_config(module_factory, ("AllTraffic", 2))
    a1 = unique("ep-5xx")
    dc = rolling(ic(1))
    dc["AutoRollbackConfiguration"] = {"Alarms": [{"AlarmName": a1}]}
    rejected(sm, base.ep, cfg, DeploymentConfig=dc, message=f"CloudWatch alarm(s) not found: {a1}.")


def test_serverless_variant_rejected(sm, module_factory, base):
    model = module_factory.model(image="model:v2")
    cfg = module_factory.config(variants=[{"VariantName": "AllTraffic", "ModelName": model,
                                     "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 5}}])
    rejected(sm, base.ep, cfg, regex=r"is not supported by Guardrail\.$")


def test_async_config_rejected(sm, module_factory, base):
    model = module_factory.model(image="model:v2")
    cfg = module_factory.config(variants=[variant(model)],
                          AsyncInferenceConfig={"OutputConfig": {"S3OutputPath": "s3://bucket/out"}})
    rejected(sm, base.ep, cfg, regex=r"is not supported by Guardrail\.$")


TIMEOUT_1800 = ("MaximumExecutionTimeoutInSeconds (600) must be greater than the total wait time of this "
                "deployment (1800 seconds).")


@pytest.mark.parametrize("messages,kwargs", [
    (["DeploymentConfig can contain BlueGreenUpdatePolicy or RollingUpdatePolicy, not both.",
      "RetainDeploymentConfig cannot be true when DeploymentConfig is specified."],
     {"DeploymentConfig": {**blue_green("ALL_AT_ONCE", 0), **rolling(ic(1))}, "RetainDeploymentConfig": True}),
    (["CanarySize must be between 1 and 50 percent; got 60.", TIMEOUT_1800],
     {"DeploymentConfig": blue_green("CANARY", 600, canary=pct(60), termination=600, timeout=600)}),
    (['CanarySize of 3 instance(s) exceeds 50% of the 4 instance(s) of variant "AllTraffic".', TIMEOUT_1800],
     {"DeploymentConfig": blue_green("CANARY", 600, canary=ic(3), termination=600, timeout=600)}),
], ids=["policies+retain", "percent+timeout", "count+timeout"])
def test_two_semantic_rules_collide(sm, module_factory, base, messages, kwargs):
    """Two stage-4 rules fail at once: exactly one answers (docs/sagemaker-api.md#updateendpoint-rules does not order them)."""
    cfg = new_config(module_factory, ("AllTraffic", 4))
    rejected(sm, base.ep, cfg, one_of=messages, **kwargs)


def test_instance_count_and_variant_names_collide(sm, module_factory, base):
    cfg = new_config(module_factory, ("Other", 4))
    rejected(sm, base.ep, cfg, DeploymentConfig=blue_green("CANARY", 0, canary=ic(3)),
             one_of=['CanarySize of 3 instance(s) exceeds 50% of the 4 instance(s) of variant "Other".',
                     f'With a DeploymentConfig, endpoint configuration "{cfg}" must have the same production '
                     f'variants as the current configuration "{base.cfg}" (AllTraffic).'])


def test_variant_names_and_missing_alarm_collide(sm, module_factory, base):
    cfg = new_config(module_factory, ("Other", 1))
    alarm = unique("no-alarm")
    rejected(sm, base.ep, cfg, DeploymentConfig=blue_green("ALL_AT_ONCE", 0, alarms=[alarm]),
             one_of=[f'With a DeploymentConfig, endpoint configuration "{cfg}" must have the same production '
                     f'variants as the current configuration "{base.cfg}" (AllTraffic).',
                     f"CloudWatch alarm(s) not found: {alarm}."])


# --- accepted boundaries (each deploys a 1-instance config and waits for InService) -----------


@pytest.mark.parametrize("dc", [
    blue_green("CANARY", 0, canary=pct(50)),          # max(1, floor(1 × 50 / 100)) = 1
    blue_green("CANARY", 0, canary=pct(1)),
    blue_green("CANARY", 0, canary=ic(1)),            # INSTANCE_COUNT ≤ max(1, ⌊1/2⌋) = 1
    blue_green("LINEAR", 0, linear=pct(10)),
    blue_green("LINEAR", 0, linear=pct(50)),
    rolling(pct(5)),
    rolling(pct(50), rollback=pct(100)),
    rolling(ic(1), rollback=ic(10)),                  # rollback batch > N: accepted, clamped
    blue_green("ALL_AT_ONCE", 1, termination=1, timeout=600),
], ids=["canary50", "canary1", "canary-ic1", "linear10", "linear50", "batch5", "rollback100",
        "rollback-ic-over-n", "timeout600"])
def test_boundaries_accepted(sm, factory, dc):
    ep = factory.simple_endpoint()
    cfg = factory.config(model=factory.model(image="model:v2"))
    resp = sm.update_endpoint(EndpointName=ep, EndpointConfigName=cfg, DeploymentConfig=dc)
    assert resp["EndpointArn"] == endpoint_arn(ep)
    desc = wait_endpoint_status(sm, ep, "InService", timeout=40)
    assert desc["EndpointConfigName"] == cfg
    assert desc["LastDeploymentConfig"] == dc
    assert "FailureReason" not in desc


def test_variant_names_may_differ_without_policy(sm, factory):
    ep = factory.simple_endpoint()
    cfg = factory.config(variants=[variant(factory.model(image="model:v2"), "Renamed")])
    sm.update_endpoint(EndpointName=ep, EndpointConfigName=cfg)
    desc = wait_endpoint_status(sm, ep, "InService", timeout=40)
    assert desc["EndpointConfigName"] == cfg
    assert [v["VariantName"] for v in desc["ProductionVariants"]] == ["Renamed"]


def test_retain_deployment_config_with_nothing_to_retain_is_plain(sm, factory):
    """RetainDeploymentConfig with no previous DeploymentConfig = plain replacement (Guardrail's
    rule), so the variant names may differ."""
    ep = factory.simple_endpoint()
    cfg = factory.config(variants=[variant(factory.model(image="model:v2"), "Renamed")])
    sm.update_endpoint(EndpointName=ep, EndpointConfigName=cfg, RetainDeploymentConfig=True)
    desc = wait_endpoint_status(sm, ep, "InService", timeout=40)
    assert desc["EndpointConfigName"] == cfg
    assert "LastDeploymentConfig" not in desc or not desc["LastDeploymentConfig"]


def test_same_config_name_is_a_redeploy(sm, factory):
    ep = factory.simple_endpoint()
    cfg = sm.describe_endpoint(EndpointName=ep)["EndpointConfigName"]
    sm.update_endpoint(EndpointName=ep, EndpointConfigName=cfg)
    desc = wait_endpoint_status(sm, ep, "InService", timeout=40)
    assert desc["EndpointConfigName"] == cfg


def test_exclude_retained_ignored_without_retain(sm, factory):
    ep = factory.simple_endpoint()
    cfg = factory.config(model=factory.model(image="model:v2"))
    sm.update_endpoint(EndpointName=ep, EndpointConfigName=cfg,
                       ExcludeRetainedVariantProperties=[{"VariantPropertyType": "DesiredWeight"}])
    desc = wait_endpoint_status(sm, ep, "InService", timeout=40)
    assert desc["EndpointConfigName"] == cfg


# --- Failed endpoint (slow: waits out the 60 s minimum startup window) -------------------------


@pytest.fixture(scope="session")
def failed_for_update(server):
    """An endpoint whose model never passes /ping (60 s window); becomes Failed."""
    sm = server.sm()
    f = Factory(sm)
    name = f.simple_endpoint(env={"PING_FAIL": "1"}, startup_timeout=60, wait=False,
                             name=unique("failed-upd"))
    yield SimpleNamespace(name=name, created=time.monotonic(), factory=f, cfg=f.configs[-1])
    f.cleanup()


@pytest.fixture(scope="session", autouse=True)
def _prestart_failed_for_update(request):
    # Created when this module's first test runs, so its 60 s window overlaps the other tests
    # (slow tests run last).
    if any("failed_for_update" in getattr(item, "fixturenames", ()) for item in request.session.items):
        request.getfixturevalue("failed_for_update")


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_update_failed_endpoint(sm, module_factory, failed_for_update):
    ep = failed_for_update.name
    wait_endpoint_status(sm, ep, "Failed", timeout=150, fail_on=())
    cfg = new_config(module_factory)
    rejected(sm, ep, cfg, message=msg_failed(ep))
    rejected(sm, ep, cfg, message=msg_failed(ep), DeploymentConfig=blue_green("ALL_AT_ONCE", 0))
    # stage 3 before 4
    rejected(sm, ep, cfg, message=msg_failed(ep),
             DeploymentConfig={**blue_green("ALL_AT_ONCE", 0), **rolling(ic(1))})
    rejected(sm, ep, cfg, message=msg_failed(ep),
             DeploymentConfig=blue_green("ALL_AT_ONCE", 0, alarms=[unique("no-alarm")]))
    # stage 2 before 3
    missing = unique("nocfg")
    rejected(sm, ep, missing, message=msg_no_config(missing))
    # stage 1 before 3
    rejected(sm, ep, cfg,
             message=constraint_msg("4000", f"{TRC}.waitIntervalInSeconds",
                                    "Member must have value less than or equal to 3600"),
             DeploymentConfig=blue_green("ALL_AT_ONCE", 4000))
    d = sm.describe_endpoint(EndpointName=ep)
    assert d["EndpointStatus"] == "Failed"
    assert d["EndpointConfigName"] == failed_for_update.cfg

"""Composite alarms and metric-math alarms (docs/cloudwatch-api.md): PutCompositeAlarm and its rule
over the children's states, DescribeAlarms with AlarmTypes, history, SetAlarmState, DeleteAlarms;
a metric-math alarm `100 * m1 / m2` over the router's own metrics with real traffic; and one
CANARY rollback triggered by each kind. Stock boto3 (awsJson1_0)."""

from __future__ import annotations

import json
import time

import pytest

from cw_support import alarm, expect_cw_error, uid, wait_alarm_state
from rollback_support import RbDeployment, assert_rolled_back, put_alarm, set_alarm
from support import unique
from test_auto_rollback import auto_rollback, make_config, make_endpoint, variant_dims


def composite_history(cw, name: str) -> list[dict]:
    return cw.describe_alarm_history(AlarmName=name, AlarmTypes=["CompositeAlarm"],
                                     HistoryItemType="StateUpdate")["AlarmHistoryItems"]


def child(cw, name: str) -> str:
    """A 60-second alarm on a metric nobody publishes: OK at once (notBreaching); a
    SetAlarmState on it holds for a minute."""
    put_alarm(cw, name, namespace="Guardrail/Tests", metric="Unused", dims={"Alarm": name}, period=60)
    wait_alarm_state(cw, name, "OK")
    return name


def test_composite_or_follows_its_children(cloudwatch):
    a, b, c = child(cloudwatch, uid("a")), child(cloudwatch, uid("b")), uid("comp")
    cloudwatch.put_composite_alarm(AlarmName=c, AlarmRule=f'ALARM("{a}") OR ALARM({b})',
                                   AlarmDescription="either child")
    got = wait_alarm_state(cloudwatch, c, "OK", composite=True)
    assert got["AlarmRule"] == f'ALARM("{a}") OR ALARM({b})'
    assert got["AlarmArn"].endswith(f":alarm:{c}")
    # metric alarms only, unless AlarmTypes asks for composites (CloudWatch's default)
    plain = cloudwatch.describe_alarms(AlarmNames=[a, c])
    assert [m["AlarmName"] for m in plain["MetricAlarms"]] == [a] and plain["CompositeAlarms"] == []
    both = cloudwatch.describe_alarms(AlarmNames=[a, c], AlarmTypes=["CompositeAlarm", "MetricAlarm"])
    assert [m["AlarmName"] for m in both["MetricAlarms"]] == [a]
    assert [m["AlarmName"] for m in both["CompositeAlarms"]] == [c]

    set_alarm(cloudwatch, b, "ALARM")
    got = wait_alarm_state(cloudwatch, c, "ALARM", timeout=5, composite=True)
    assert got["StateReason"].startswith(f"{b} transitioned to ALARM at "), got["StateReason"]
    assert json.loads(got["StateReasonData"])["triggeringAlarms"][0]["name"] == b
    items = composite_history(cloudwatch, c)
    assert items[0]["HistorySummary"] == "Alarm updated from OK to ALARM"
    assert items[0]["AlarmType"] == "CompositeAlarm"
    set_alarm(cloudwatch, b, "OK")
    wait_alarm_state(cloudwatch, c, "OK", timeout=5, composite=True)
    set_alarm(cloudwatch, a, "ALARM")
    wait_alarm_state(cloudwatch, c, "ALARM", timeout=5, composite=True)

    # SetAlarmState on the composite itself holds until a child changes
    set_alarm(cloudwatch, c, "OK")
    assert alarm(cloudwatch, c, composite=True)["StateValue"] == "OK"
    time.sleep(1.5)
    assert alarm(cloudwatch, c, composite=True)["StateValue"] == "OK", "the forced state holds"
    set_alarm(cloudwatch, a, "OK")
    set_alarm(cloudwatch, a, "ALARM")
    wait_alarm_state(cloudwatch, c, "ALARM", timeout=5, composite=True)

    cloudwatch.delete_alarms(AlarmNames=[c, a, b])
    assert cloudwatch.describe_alarms(AlarmNames=[c], AlarmTypes=["CompositeAlarm"])["CompositeAlarms"] == []


def test_composite_and_not_and_nesting(cloudwatch):
    a, b = child(cloudwatch, uid("a")), child(cloudwatch, uid("b"))
    c1, c2 = uid("and-not"), uid("nested")
    cloudwatch.put_composite_alarm(AlarmName=c1, AlarmRule=f"ALARM({a}) AND NOT ALARM({b})")
    cloudwatch.put_composite_alarm(AlarmName=c2, AlarmRule=f"ALARM({c1}) OR (TRUE AND FALSE)")
    wait_alarm_state(cloudwatch, c1, "OK", composite=True)
    wait_alarm_state(cloudwatch, c2, "OK", composite=True)
    set_alarm(cloudwatch, a, "ALARM")
    wait_alarm_state(cloudwatch, c1, "ALARM", timeout=5, composite=True)
    wait_alarm_state(cloudwatch, c2, "ALARM", timeout=5, composite=True)
    set_alarm(cloudwatch, b, "ALARM")
    wait_alarm_state(cloudwatch, c1, "OK", timeout=5, composite=True)
    wait_alarm_state(cloudwatch, c2, "OK", timeout=5, composite=True)
    # a rule naming an alarm that does not exist, a cycle, a bad rule
    ghost = uid("ghost")
    expect_cw_error(cloudwatch.put_composite_alarm, "ValidationError",
                    message=f"Could not save the composite alarm as alarms [{ghost}] in the alarm rule do not exist",
                    AlarmName=uid("c"), AlarmRule=f"ALARM({ghost})")
    expect_cw_error(cloudwatch.put_composite_alarm, "ValidationError", contains="cycle",
                    AlarmName=c1, AlarmRule=f"ALARM({c2})")
    expect_cw_error(cloudwatch.put_composite_alarm, "ValidationError", contains="AlarmRule",
                    AlarmName=uid("c"), AlarmRule=f"ALARM({a}) XOR ALARM({b})")
    cloudwatch.delete_alarms(AlarmNames=[c2, c1, a, b])


def math_alarm(cw, name: str, ep: str, *, threshold: float = 1.0) -> str:
    """The real guardrail: error rate = 100 * 5XX / Invocations > threshold %, per second."""
    dims = [{"Name": k, "Value": v} for k, v in variant_dims(ep).items()]

    def stat(i, metric):
        return {"Id": i, "ReturnData": False, "MetricStat": {
            "Metric": {"Namespace": "AWS/SageMaker", "MetricName": metric, "Dimensions": dims},
            "Period": 1, "Stat": "Sum"}}
    cw.put_metric_alarm(AlarmName=name, EvaluationPeriods=1, Threshold=threshold,
                        ComparisonOperator="GreaterThanThreshold", TreatMissingData="notBreaching",
                        Metrics=[stat("m1", "Invocation5XXErrors"), stat("m2", "Invocations"),
                                 {"Id": "e1", "Expression": "100*m1/m2", "Label": "error rate", "ReturnData": True}])
    return name


def invoke_for(rt, ep: str, seconds: float) -> int:
    end, errors = time.monotonic() + seconds, 0
    while time.monotonic() < end:
        try:
            rt.invoke_endpoint(EndpointName=ep, Body=b'{"x": 1}', ContentType="application/json")
        except Exception:  # noqa: BLE001 - ModelError 424 from the injected 500s
            errors += 1
    return errors


@pytest.mark.timeout(120)
def test_math_alarm_follows_real_error_rate(cloudwatch, rt, factory):
    bad, _ = make_endpoint(factory, count=1, env={"ERROR_RATE": "1.0"})
    good, _ = make_endpoint(factory, count=1)
    a_bad, a_good = math_alarm(cloudwatch, unique("rate-bad"), bad), math_alarm(cloudwatch, unique("rate-good"), good)
    desc = cloudwatch.describe_alarms(AlarmNames=[a_bad])["MetricAlarms"][0]
    assert "EvaluationState" not in desc, "a math alarm Guardrail evaluates"
    assert [m["Id"] for m in desc["Metrics"]] == ["m1", "m2", "e1"]
    wait_alarm_state(cloudwatch, a_bad, "OK")
    assert invoke_for(rt, bad, 3.0) > 0
    got = wait_alarm_state(cloudwatch, a_bad, "ALARM", timeout=10)
    assert got["StateReason"].startswith("Threshold Crossed"), got["StateReason"]
    assert invoke_for(rt, good, 3.0) == 0
    wait_alarm_state(cloudwatch, a_good, "OK")
    time.sleep(1.5)
    assert cloudwatch.describe_alarms(AlarmNames=[a_good])["MetricAlarms"][0]["StateValue"] == "OK"
    cloudwatch.delete_alarms(AlarmNames=[a_bad, a_good])


def canary_rollback(sm, rt, cloudwatch, factory, watched_for):
    ep, c1 = make_endpoint(factory, count=2)
    c2 = make_config(factory, count=2, env={"ERROR_RATE": "1.0"})
    watched = watched_for(ep)
    dc = {"BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {
              "Type": "CANARY", "WaitIntervalInSeconds": 30, "CanarySize": {"Type": "INSTANCE_COUNT", "Value": 1}}},
          "AutoRollbackConfiguration": auto_rollback(watched)}
    dep = RbDeployment(sm, rt, ep, c2, {"DeploymentConfig": dc}, threads=3)
    try:
        dep.start()
        dep.wait_baking(timeout=40, desc="the canary bake")
        dep.finish(timeout=40)
    finally:
        dep.abort()
    assert_rolled_back(dep, old_config=c1, sent_dc=dc, alarm_name=watched, old_count=2)
    return watched


@pytest.mark.timeout(150)
def test_math_alarm_rolls_back_canary(sm, rt, cloudwatch, factory):
    def watched(ep):
        name = math_alarm(cloudwatch, unique("rb-rate"), ep)
        wait_alarm_state(cloudwatch, name, "OK")
        return name
    canary_rollback(sm, rt, cloudwatch, factory, watched)


@pytest.mark.timeout(150)
def test_composite_alarm_rolls_back_canary(sm, rt, cloudwatch, factory):
    def watched(ep):
        m = put_alarm(cloudwatch, unique("rb-5xx"), metric="Invocation5XXErrors", dims=variant_dims(ep),
                      statistic="Sum", threshold=1.0)
        wait_alarm_state(cloudwatch, m, "OK")
        c = unique("rb-comp")
        cloudwatch.put_composite_alarm(AlarmName=c, AlarmRule=f"ALARM({m}) OR FALSE")
        wait_alarm_state(cloudwatch, c, "OK", composite=True)
        return c
    canary_rollback(sm, rt, cloudwatch, factory, watched)

"""CloudWatch alarms through stock boto3 (awsJson1_0): PutMetricAlarm, DescribeAlarms(ForMetric),
DeleteAlarms, SetAlarmState, DescribeAlarmHistory, Enable/DisableAlarmActions, validation
(docs/cloudwatch-api.md), and evaluation from data with 1-second periods (#alarm-evaluation, #extensions)."""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest
from botocore.exceptions import WaiterError

from cw_support import (
    Publisher,
    alarm_args,
    alarm_state,
    cw_client,
    describe_one,
    expect_cw_error,
    floor_time,
    history,
    now_utc,
    uid,
    wait_alarm_state,
)
from support import ACCOUNT, REGION, assert_recent


@pytest.fixture(scope="module")
def cw_nv(server):
    """botocore's client-side validation off: the server must reject bad input itself."""
    return cw_client(server.url, validate=False)


def alarm_arn(name: str) -> str:
    return f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{name}"


def names_of(resp: dict) -> list[str]:
    return [a["AlarmName"] for a in resp["MetricAlarms"]]


# --- PutMetricAlarm: create / replace ---------------------------------------------------------


def test_new_alarm_starts_insufficient_data_and_echoes_config(cloudwatch):
    name = uid("New-Alarm")
    args = alarm_args(
        name,
        AlarmDescription="5xx on the new fleet",
        Dimensions=[{"Name": "EndpointName", "Value": "ep"}, {"Name": "VariantName", "Value": "AllTraffic"}],
        AlarmActions=["arn:aws:sns:us-east-1:123456789012:ops"],
        Unit="Count",
        EvaluationPeriods=3,
        DatapointsToAlarm=2,
    )
    resp = cloudwatch.put_metric_alarm(**args)
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert resp["ResponseMetadata"]["RequestId"]

    out = cloudwatch.describe_alarms(AlarmNames=[name])
    assert out["CompositeAlarms"] == []
    assert "NextToken" not in out
    [a] = out["MetricAlarms"]
    assert a["AlarmName"] == name
    assert a["AlarmArn"] == alarm_arn(name)  # case kept
    assert a["StateValue"] == "INSUFFICIENT_DATA"
    assert a["StateReason"] == "Unchecked: Initial alarm creation"
    assert a["ActionsEnabled"] is True
    assert a["AlarmDescription"] == "5xx on the new fleet"
    assert a["AlarmActions"] == ["arn:aws:sns:us-east-1:123456789012:ops"]
    assert a["OKActions"] == [] and a["InsufficientDataActions"] == []
    assert a["Namespace"] == "Guardrail/Test" and a["MetricName"] == "Errors"
    assert a["Dimensions"] == args["Dimensions"]
    assert a["Statistic"] == "Sum" and "ExtendedStatistic" not in a
    assert (a["Period"], a["EvaluationPeriods"], a["DatapointsToAlarm"]) == (60, 3, 2)
    assert a["Threshold"] == 1.0
    assert a["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert a["Unit"] == "Count"
    assert a["TreatMissingData"] == "missing"
    for ts in ("AlarmConfigurationUpdatedTimestamp", "StateUpdatedTimestamp", "StateTransitionedTimestamp"):
        assert_recent(a[ts], slack_s=60)

    items = history(cloudwatch, name)
    assert [(i["HistoryItemType"], i["HistorySummary"]) for i in items] == [
        ("ConfigurationUpdate", f'Alarm "{name}" created')]
    assert items[0]["AlarmName"] == name and items[0]["AlarmType"] == "MetricAlarm"
    data = json.loads(items[0]["HistoryData"])
    assert data["type"] == "Create"
    assert data["createdAlarm"]["threshold"] == 1.0


def test_replace_keeps_state_bumps_timestamp_and_writes_history(cloudwatch):
    name = uid("Replace")
    cloudwatch.put_metric_alarm(**alarm_args(name, AlarmDescription="first", TreatMissingData="ignore"))
    cloudwatch.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="forced")
    before = describe_one(cloudwatch, name)
    assert before["StateValue"] == "ALARM"
    time.sleep(0.05)  # timestamps have millisecond precision

    cloudwatch.put_metric_alarm(**alarm_args(name, Threshold=7.5, TreatMissingData="ignore",
                                             ComparisonOperator="GreaterThanThreshold"))
    after = describe_one(cloudwatch, name)
    assert after["StateValue"] == "ALARM"
    assert after["StateReason"] == "forced"
    assert after["StateTransitionedTimestamp"] == before["StateTransitionedTimestamp"]
    assert after["AlarmConfigurationUpdatedTimestamp"] > before["AlarmConfigurationUpdatedTimestamp"]
    assert after["Threshold"] == 7.5
    assert after["ComparisonOperator"] == "GreaterThanThreshold"
    assert "AlarmDescription" not in after, "a replace must drop members it does not repeat"

    conf = history(cloudwatch, name, "ConfigurationUpdate")
    assert [i["HistorySummary"] for i in conf] == [f'Alarm "{name}" updated', f'Alarm "{name}" created']
    data = json.loads(conf[0]["HistoryData"])
    assert data["type"] == "Update"
    assert data["updatedAlarm"]["threshold"] == 7.5
    assert data["updatedAlarm"]["comparisonOperator"] == "GreaterThanThreshold"


def test_period_one_is_accepted(cloudwatch):
    name = uid("Period1")
    cloudwatch.put_metric_alarm(**alarm_args(name, Period=1, EvaluationPeriods=5))
    a = describe_one(cloudwatch, name)
    assert (a["Period"], a["EvaluationPeriods"]) == (1, 5)


def test_percentile_alarm_and_long_period_limits(cloudwatch):
    name = uid("P99")
    cloudwatch.put_metric_alarm(**alarm_args(name, Statistic=None, ExtendedStatistic="p99",
                                             EvaluateLowSampleCountPercentile="ignore"))
    a = describe_one(cloudwatch, name)
    assert a["ExtendedStatistic"] == "p99" and "Statistic" not in a
    assert a["EvaluateLowSampleCountPercentile"] == "ignore"
    # Period ≥ 3600: Period × N up to 604 800 s
    name2 = uid("Week")
    cloudwatch.put_metric_alarm(**alarm_args(name2, Period=3600, EvaluationPeriods=168))
    assert describe_one(cloudwatch, name2)["EvaluationPeriods"] == 168


# --- validation: every rejected call changes nothing -------------------------------------------


BAD_ALARMS = [
    pytest.param({"ExtendedStatistic": "p99"}, "InvalidParameterCombination", None, id="statistic-and-extended"),
    pytest.param({"Statistic": None}, "InvalidParameterCombination", None, id="no-statistic"),
    pytest.param({"Metrics": [{"Id": "m1", "MetricStat": {
        "Metric": {"Namespace": "Guardrail/Test", "MetricName": "Errors"}, "Period": 60, "Stat": "Sum"}}]},
        "InvalidParameterCombination", None, id="metrics-with-metricname"),
    pytest.param({"DatapointsToAlarm": 3, "EvaluationPeriods": 2}, "ValidationError", None, id="m-over-n"),
    pytest.param({"Period": 60, "EvaluationPeriods": 1441}, "ValidationError", None, id="range-over-a-day"),
    pytest.param({"Period": 1, "EvaluationPeriods": 86401}, "ValidationError", None, id="range-over-a-day-1s"),
    pytest.param({"Period": 3600, "EvaluationPeriods": 169}, "ValidationError", None, id="range-over-a-week"),
    pytest.param({"TreatMissingData": "sometimes"}, "ValidationError",
                 "Option sometimes is not supported. Supported options for parameter TreatMissingData are "
                 "missing, ignore, breaching and notBreaching.", id="treat-missing-data"),
    pytest.param({"Statistic": None, "ExtendedStatistic": "p90", "EvaluateLowSampleCountPercentile": "unknown"},
                 "ValidationError",
                 "Option unknown is not supported. Supported options for parameter "
                 "EvaluateLowSampleCountPercentile are evaluate and ignore.", id="low-sample-count"),
    pytest.param({"Statistic": None, "ExtendedStatistic": "p"}, "InvalidParameterValue",
                 "The value p for parameter ExtendedStatistic is not supported.", id="extended-p"),
    pytest.param({"Statistic": None, "ExtendedStatistic": "foo"}, "InvalidParameterValue",
                 "The value foo for parameter ExtendedStatistic is not supported.", id="extended-foo"),
    pytest.param({"EvaluationPeriods": None}, "MissingParameter", None, id="no-evaluation-periods"),
    # the model's Namespace pattern `[^:].*`: a constraint violation
    pytest.param({"Namespace": ":bad"}, "ValidationError",
                 "1 validation error detected: Value ':bad' at 'namespace' failed to satisfy constraint: "
                 "Member must satisfy regular expression pattern: [^:].*", id="namespace-colon"),
    pytest.param({"ComparisonOperator": "LessThanLowerOrGreaterThanUpperThreshold"}, "ValidationError", None,
                 id="band-without-threshold-metric"),
    pytest.param({"EvaluationPeriods": 0}, "ValidationError", None, id="evaluation-periods-0"),
]


@pytest.mark.parametrize("overrides, code, message", BAD_ALARMS)
def test_invalid_alarm_is_rejected_and_changes_nothing(cloudwatch, cw_nv, overrides, code, message):
    # A rejected create leaves nothing; a rejected replace leaves the old alarm untouched.
    fresh = uid("Bad")
    expect_cw_error(cw_nv.put_metric_alarm, code, message=message, **alarm_args(fresh, **overrides))
    assert cloudwatch.describe_alarms(AlarmNames=[fresh])["MetricAlarms"] == []
    assert history(cloudwatch, fresh) == []

    existing = uid("Kept")
    cloudwatch.put_metric_alarm(**alarm_args(existing, Threshold=3.0))
    before = describe_one(cloudwatch, existing)
    expect_cw_error(cw_nv.put_metric_alarm, code, message=message, **alarm_args(existing, **overrides))
    after = describe_one(cloudwatch, existing)
    assert after == before
    assert len(history(cloudwatch, existing, "ConfigurationUpdate")) == 1


def test_validation_error_classes_and_model_constraints(cloudwatch, cw_nv):
    e = expect_cw_error(cw_nv.put_metric_alarm, "InvalidParameterCombination",
                        **alarm_args(uid("Cls"), ExtendedStatistic="p50"))
    assert isinstance(e, cw_nv.exceptions.InvalidParameterCombinationException)
    e = expect_cw_error(cw_nv.put_metric_alarm, "InvalidParameterValue",
                        **alarm_args(uid("Cls"), Statistic=None, ExtendedStatistic="foo"))
    assert isinstance(e, cw_nv.exceptions.InvalidParameterValueException)
    e = expect_cw_error(cw_nv.put_metric_alarm, "MissingParameter",
                        **alarm_args(uid("Cls"), EvaluationPeriods=None))
    assert isinstance(e, cw_nv.exceptions.MissingRequiredParameterException)
    # Model constraints (min/max length) in the Coral style, code ValidationError.
    long_name = "a" * 256
    expect_cw_error(cw_nv.put_metric_alarm, "ValidationError",
                    contains=["1 validation error detected", "alarmName",
                              "Member must have length less than or equal to 255"],
                    **alarm_args(long_name))
    assert cloudwatch.describe_alarms(AlarmNamePrefix="a" * 255)["MetricAlarms"] == []
    # Non-ASCII names are rejected.
    expect_cw_error(cw_nv.put_metric_alarm, "InvalidParameterValue", **alarm_args("alarm-é-" + uid()))


def test_metric_math_alarm_is_stored_and_echoed(cloudwatch):
    name = uid("Math")
    metrics = [
        {"Id": "e1", "Expression": "m1 / m2", "Label": "rate", "ReturnData": True},
        {"Id": "m1", "MetricStat": {"Metric": {"Namespace": "Guardrail/Test", "MetricName": "Errors"},
                                    "Period": 60, "Stat": "Sum"}, "ReturnData": False},
        {"Id": "m2", "MetricStat": {"Metric": {"Namespace": "Guardrail/Test", "MetricName": "Requests"},
                                    "Period": 60, "Stat": "Sum"}, "ReturnData": False},
    ]
    cloudwatch.put_metric_alarm(AlarmName=name, Metrics=metrics, EvaluationPeriods=1, Threshold=0.5,
                                ComparisonOperator="GreaterThanThreshold")
    a = describe_one(cloudwatch, name)
    assert a["Metrics"] == metrics
    assert "MetricName" not in a and "Period" not in a
    # evaluated now (no data, TreatMissingData missing): INSUFFICIENT_DATA, no evaluation error
    assert a["StateValue"] == "INSUFFICIENT_DATA"
    assert "EvaluationState" not in a, "an arithmetic expression alarm is evaluated"
    # one with a metric-math function is stored, not evaluated
    fn = uid("MathFn")
    cloudwatch.put_metric_alarm(AlarmName=fn, Metrics=[{**metrics[0], "Expression": "RATE(m1)"}, *metrics[1:]],
                                EvaluationPeriods=1, Threshold=0.5, ComparisonOperator="GreaterThanThreshold")
    assert describe_one(cloudwatch, fn)["EvaluationState"] == "EVALUATION_ERROR"


def test_single_metric_stat_math_alarm_is_evaluated(cloudwatch):
    name = uid("MathStat")
    metrics = [{"Id": "m1", "MetricStat": {"Metric": {"Namespace": "Guardrail/" + uid("NoData"),
                                                      "MetricName": "Errors"}, "Period": 1, "Stat": "Sum"},
                "ReturnData": True}]
    cloudwatch.put_metric_alarm(AlarmName=name, Metrics=metrics, EvaluationPeriods=1, Threshold=1.0,
                                ComparisonOperator="GreaterThanOrEqualToThreshold", TreatMissingData="breaching")
    a = describe_one(cloudwatch, name)
    assert a["StateValue"] == "ALARM", a["StateReason"]
    assert "EvaluationState" not in a


def test_anomaly_band_alarm_with_threshold_metric_is_stored(cloudwatch):
    name = uid("Band")
    metrics = [
        {"Id": "m1", "MetricStat": {"Metric": {"Namespace": "Guardrail/Test", "MetricName": "Latency"},
                                    "Period": 60, "Stat": "Average"}, "ReturnData": True},
        {"Id": "ad1", "Expression": "ANOMALY_DETECTION_BAND(m1, 2)", "ReturnData": True},
    ]
    cloudwatch.put_metric_alarm(AlarmName=name, Metrics=metrics, EvaluationPeriods=1, ThresholdMetricId="ad1",
                                ComparisonOperator="LessThanLowerOrGreaterThanUpperThreshold")
    a = describe_one(cloudwatch, name)
    assert a["ThresholdMetricId"] == "ad1"
    assert a["ComparisonOperator"] == "LessThanLowerOrGreaterThanUpperThreshold"
    assert a["StateValue"] == "INSUFFICIENT_DATA"


# --- DescribeAlarms -----------------------------------------------------------------------------


def test_describe_alarms_filters(cloudwatch):
    prefix = uid("Filt")
    topic = f"arn:aws:sns:us-east-1:123456789012:{prefix}-topic"
    a, b, c = f"{prefix}-a", f"{prefix}-b", f"{prefix}-c"
    cloudwatch.put_metric_alarm(**alarm_args(c, TreatMissingData="ignore"))
    cloudwatch.put_metric_alarm(**alarm_args(a, TreatMissingData="ignore", AlarmActions=[topic]))
    cloudwatch.put_metric_alarm(**alarm_args(b, TreatMissingData="ignore", OKActions=[topic + "-ok"]))
    cloudwatch.set_alarm_state(AlarmName=b, StateValue="ALARM", StateReason="test")

    assert names_of(cloudwatch.describe_alarms(AlarmNames=[c, "no-such-alarm-" + prefix, a])) == [a, c]
    assert names_of(cloudwatch.describe_alarms(AlarmNamePrefix=prefix)) == [a, b, c]
    assert names_of(cloudwatch.describe_alarms(AlarmNamePrefix=prefix, StateValue="ALARM")) == [b]
    assert names_of(cloudwatch.describe_alarms(AlarmNamePrefix=prefix, StateValue="INSUFFICIENT_DATA")) == [a, c]
    assert names_of(cloudwatch.describe_alarms(AlarmNamePrefix=prefix, StateValue="OK")) == []
    assert names_of(cloudwatch.describe_alarms(ActionPrefix=topic)) == [a, b]
    assert names_of(cloudwatch.describe_alarms(ActionPrefix=topic + "-ok")) == [b]
    assert names_of(cloudwatch.describe_alarms(AlarmNamePrefix=prefix, AlarmTypes=["MetricAlarm"])) == [a, b, c]
    assert names_of(cloudwatch.describe_alarms(AlarmNamePrefix=prefix,
                                               AlarmTypes=["MetricAlarm", "CompositeAlarm"])) == [a, b, c]
    comp = cloudwatch.describe_alarms(AlarmNamePrefix=prefix, AlarmTypes=["CompositeAlarm"])
    assert comp["MetricAlarms"] == [] and comp["CompositeAlarms"] == []
    assert cloudwatch.describe_alarms(AlarmNamePrefix=prefix)["CompositeAlarms"] == []
    # prefix matching is case-sensitive
    assert names_of(cloudwatch.describe_alarms(AlarmNamePrefix=prefix.upper())) == []


def test_describe_alarms_pagination(cloudwatch):
    prefix = uid("Page")
    names = [f"{prefix}-{i}" for i in range(5)]
    for n in reversed(names):
        cloudwatch.put_metric_alarm(**alarm_args(n))

    seen, token, pages = [], None, 0
    while True:
        kw = {"NextToken": token} if token else {}
        out = cloudwatch.describe_alarms(AlarmNamePrefix=prefix, MaxRecords=2, **kw)
        pages += 1
        seen.extend(names_of(out))
        assert len(out["MetricAlarms"]) == (2 if pages < 3 else 1)
        token = out.get("NextToken")
        if not token:
            break
        assert pages < 5, "pagination does not end"
    assert pages == 3 and seen == names

    full = cloudwatch.describe_alarms(AlarmNamePrefix=prefix, MaxRecords=5)
    assert names_of(full) == names and "NextToken" not in full

    paginator = cloudwatch.get_paginator("describe_alarms")
    pages = list(paginator.paginate(AlarmNamePrefix=prefix, PaginationConfig={"PageSize": 2}))
    assert [len(p["MetricAlarms"]) for p in pages] == [2, 2, 1]
    assert [n for p in pages for n in names_of(p)] == names
    built = paginator.paginate(AlarmNamePrefix=prefix, PaginationConfig={"PageSize": 2}).build_full_result()
    assert names_of(built) == names


def test_describe_alarms_default_page_is_50(cloudwatch):
    prefix = uid("Fifty")
    for i in range(51):
        cloudwatch.put_metric_alarm(**alarm_args(f"{prefix}-{i:02d}"))
    first = cloudwatch.describe_alarms(AlarmNamePrefix=prefix)
    assert len(first["MetricAlarms"]) == 50 and first["NextToken"]
    rest = cloudwatch.describe_alarms(AlarmNamePrefix=prefix, NextToken=first["NextToken"])
    assert names_of(rest) == [f"{prefix}-50"] and "NextToken" not in rest
    cloudwatch.delete_alarms(AlarmNames=names_of(first))
    assert names_of(cloudwatch.describe_alarms(AlarmNamePrefix=prefix)) == [f"{prefix}-50"]


def test_describe_alarms_errors(cloudwatch, cw_nv):
    name = uid("Err")
    cloudwatch.put_metric_alarm(**alarm_args(name))
    e = expect_cw_error(cloudwatch.describe_alarms, "InvalidParameterCombination",
                        AlarmNames=[name], AlarmNamePrefix=name[:5])
    assert isinstance(e, cloudwatch.exceptions.InvalidParameterCombinationException)
    e = expect_cw_error(cloudwatch.describe_alarms, "InvalidNextToken", NextToken="not-a-token")
    assert isinstance(e, cloudwatch.exceptions.InvalidNextToken)
    # a DescribeAlarmHistory token is not a DescribeAlarms token
    cloudwatch.set_alarm_state(AlarmName=name, StateValue="OK", StateReason="x")
    htoken = cloudwatch.describe_alarm_history(AlarmName=name, MaxRecords=1)["NextToken"]
    expect_cw_error(cloudwatch.describe_alarms, "InvalidNextToken", NextToken=htoken)
    expect_cw_error(cw_nv.describe_alarms, "ValidationError", MaxRecords=101)
    expect_cw_error(cw_nv.describe_alarms, "ValidationError", StateValue="BROKEN")
    expect_cw_error(cw_nv.delete_alarms, "ValidationError", AlarmNames=[name] * 101)
    assert describe_one(cloudwatch, name) is not None


def test_alarm_exists_waiter(cloudwatch):
    name = uid("Waiter")
    cloudwatch.put_metric_alarm(**alarm_args(name))
    started = time.monotonic()
    cloudwatch.get_waiter("alarm_exists").wait(AlarmNames=[name], WaiterConfig={"Delay": 1, "MaxAttempts": 3})
    assert time.monotonic() - started < 1.0, "an existing alarm must satisfy the waiter at once"
    with pytest.raises(WaiterError):
        cloudwatch.get_waiter("alarm_exists").wait(AlarmNames=[name + "-missing"],
                                                   WaiterConfig={"Delay": 1, "MaxAttempts": 2})


def test_describe_alarms_for_metric(cloudwatch):
    ns = "Guardrail/" + uid("ForMetric")
    dims = [{"Name": "EndpointName", "Value": "ep"}, {"Name": "VariantName", "Value": "AllTraffic"}]
    a = uid("Fm-a")
    b = uid("Fm-b")
    c = uid("Fm-c")
    d = uid("Fm-d")
    cloudwatch.put_metric_alarm(**alarm_args(a, Namespace=ns, MetricName="Latency", Dimensions=dims))
    cloudwatch.put_metric_alarm(**alarm_args(b, Namespace=ns, MetricName="Latency", Dimensions=dims[:1],
                                             Statistic="Average", Period=10))
    cloudwatch.put_metric_alarm(**alarm_args(c, Namespace=ns, MetricName="Latency", Dimensions=dims,
                                             Statistic=None, ExtendedStatistic="p99"))
    cloudwatch.put_metric_alarm(**alarm_args(d, Namespace=ns, MetricName="Other", Dimensions=dims))

    def found(**kw):
        return sorted(x["AlarmName"] for x in
                      cloudwatch.describe_alarms_for_metric(Namespace=ns, **kw)["MetricAlarms"])

    assert found(MetricName="Latency") == sorted([a, b, c])
    assert found(MetricName="Other") == [d]
    assert found(MetricName="Latency", Statistic="Average") == [b]
    assert found(MetricName="Latency", ExtendedStatistic="p99") == [c]
    assert found(MetricName="Latency", Dimensions=dims) == sorted([a, c])
    # dimension order does not matter; the set must match exactly
    assert found(MetricName="Latency", Dimensions=list(reversed(dims))) == sorted([a, c])
    assert found(MetricName="Latency", Dimensions=dims[:1]) == [b]
    assert found(MetricName="Latency", Period=10) == [b]
    assert found(MetricName="Nothing") == []
    out = cloudwatch.describe_alarms_for_metric(Namespace=ns, MetricName="Other")
    assert out["MetricAlarms"][0]["AlarmArn"] == alarm_arn(d)


# --- DeleteAlarms, Enable/DisableAlarmActions -----------------------------------------------------


def test_delete_alarms_skips_unknown_and_keeps_history(cloudwatch):
    a, b = uid("Del-a"), uid("Del-b")
    cloudwatch.put_metric_alarm(**alarm_args(a))
    cloudwatch.put_metric_alarm(**alarm_args(b))
    cloudwatch.delete_alarms(AlarmNames=[a, uid("never-existed")])
    assert cloudwatch.describe_alarms(AlarmNames=[a, b])["MetricAlarms"][0]["AlarmName"] == b
    assert names_of(cloudwatch.describe_alarms(AlarmNames=[a, b])) == [b]
    # deleting only unknown names succeeds too
    cloudwatch.delete_alarms(AlarmNames=[uid("never-existed")])
    items = history(cloudwatch, a)
    assert [i["HistorySummary"] for i in items] == [f'Alarm "{a}" deleted', f'Alarm "{a}" created']
    assert json.loads(items[0]["HistoryData"])["type"] == "Delete"
    expect_cw_error(cloudwatch.set_alarm_state, "ResourceNotFound", status=404,
                    AlarmName=a, StateValue="OK", StateReason="gone")
    # the name can be used again: a fresh alarm
    cloudwatch.put_metric_alarm(**alarm_args(a))
    assert describe_one(cloudwatch, a)["StateReason"] == "Unchecked: Initial alarm creation"


def test_enable_disable_alarm_actions(cloudwatch):
    a, b = uid("Act-a"), uid("Act-b")
    cloudwatch.put_metric_alarm(**alarm_args(a))
    cloudwatch.put_metric_alarm(**alarm_args(b, ActionsEnabled=False))
    assert describe_one(cloudwatch, b)["ActionsEnabled"] is False
    cloudwatch.disable_alarm_actions(AlarmNames=[a, uid("missing")])
    assert describe_one(cloudwatch, a)["ActionsEnabled"] is False
    cloudwatch.enable_alarm_actions(AlarmNames=[a, b, uid("missing")])
    assert describe_one(cloudwatch, a)["ActionsEnabled"] is True
    assert describe_one(cloudwatch, b)["ActionsEnabled"] is True
    # the rest of the configuration is untouched
    assert describe_one(cloudwatch, a)["Threshold"] == 1.0


# --- SetAlarmState ------------------------------------------------------------------------------


def test_set_alarm_state_to_the_same_value_is_not_a_transition(cloudwatch):
    name = uid("Same")
    cloudwatch.put_metric_alarm(**alarm_args(name, TreatMissingData="ignore"))
    cloudwatch.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="first")
    first = describe_one(cloudwatch, name)
    time.sleep(0.05)
    cloudwatch.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="second")
    second = describe_one(cloudwatch, name)
    assert second["StateReason"] == "second"
    assert second["StateUpdatedTimestamp"] > first["StateUpdatedTimestamp"]
    assert second["StateTransitionedTimestamp"] == first["StateTransitionedTimestamp"]
    assert len(history(cloudwatch, name, "StateUpdate")) == 1


def test_set_alarm_state_missing_alarm(cloudwatch):
    name = uid("Nope")
    e = expect_cw_error(cloudwatch.set_alarm_state, "ResourceNotFound", status=404,
                        message=f"Alarm {name} not found",
                        AlarmName=name, StateValue="ALARM", StateReason="x")
    assert isinstance(e, cloudwatch.exceptions.ResourceNotFound)


def test_set_alarm_state_bad_reason_data(cloudwatch):
    name = uid("BadData")
    cloudwatch.put_metric_alarm(**alarm_args(name))
    before = describe_one(cloudwatch, name)
    e = expect_cw_error(cloudwatch.set_alarm_state, "InvalidFormat",
                        AlarmName=name, StateValue="ALARM", StateReason="x", StateReasonData="{not json")
    assert isinstance(e, cloudwatch.exceptions.InvalidFormatFault)
    assert describe_one(cloudwatch, name) == before
    assert history(cloudwatch, name, "StateUpdate") == []


def test_set_alarm_state_visible_at_once_with_history(cloudwatch):
    name = uid("Set")
    cloudwatch.put_metric_alarm(**alarm_args(name, TreatMissingData="ignore"))
    before = describe_one(cloudwatch, name)
    time.sleep(0.05)
    reason_data = json.dumps({"source": "test", "n": 1})
    cloudwatch.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="forced by test",
                               StateReasonData=reason_data)
    a = describe_one(cloudwatch, name)
    assert a["StateValue"] == "ALARM"
    assert a["StateReason"] == "forced by test"
    assert json.loads(a["StateReasonData"]) == {"source": "test", "n": 1}
    assert a["StateUpdatedTimestamp"] > before["StateUpdatedTimestamp"]
    assert a["StateTransitionedTimestamp"] > before["StateTransitionedTimestamp"]
    assert a["AlarmConfigurationUpdatedTimestamp"] == before["AlarmConfigurationUpdatedTimestamp"]

    [item] = history(cloudwatch, name, "StateUpdate")
    assert item["HistorySummary"] == "Alarm updated from INSUFFICIENT_DATA to ALARM"
    data = json.loads(item["HistoryData"])
    assert data["oldState"]["stateValue"] == "INSUFFICIENT_DATA"
    assert data["oldState"]["stateReason"] == "Unchecked: Initial alarm creation"
    assert data["newState"] == {"stateValue": "ALARM", "stateReason": "forced by test",
                                "stateReasonData": {"source": "test", "n": 1}}
    assert names_of(cloudwatch.describe_alarms(AlarmNames=[name], StateValue="ALARM")) == [name]


# --- DescribeAlarmHistory -------------------------------------------------------------------------


def test_describe_alarm_history_filters_and_pages(cloudwatch, cw_nv):
    name = uid("Hist")
    other = uid("Hist-other")
    cloudwatch.put_metric_alarm(**alarm_args(name, TreatMissingData="ignore"))       # 1 config
    cloudwatch.put_metric_alarm(**alarm_args(other))
    time.sleep(0.3)
    mid = now_utc()
    time.sleep(0.3)
    cloudwatch.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="one")  # 2 state
    cloudwatch.set_alarm_state(AlarmName=name, StateValue="OK", StateReason="two")     # 3 state
    cloudwatch.put_metric_alarm(**alarm_args(name, Threshold=2.0, TreatMissingData="ignore"))  # 4 config

    items = history(cloudwatch, name)
    summaries = [i["HistorySummary"] for i in items]
    assert summaries == [
        f'Alarm "{name}" updated',
        "Alarm updated from ALARM to OK",
        "Alarm updated from INSUFFICIENT_DATA to ALARM",
        f'Alarm "{name}" created',
    ], "default order is TimestampDescending"
    stamps = [i["Timestamp"] for i in items]
    assert stamps == sorted(stamps, reverse=True)
    for i in items:
        assert i["AlarmName"] == name and i["AlarmType"] == "MetricAlarm"
        assert_recent(i["Timestamp"], slack_s=60)
        json.loads(i["HistoryData"])

    asc = history(cloudwatch, name, ScanBy="TimestampAscending")
    assert [i["HistorySummary"] for i in asc] == list(reversed(summaries))
    assert [i["HistorySummary"] for i in history(cloudwatch, name, "StateUpdate")] == summaries[1:3]
    assert [i["HistorySummary"] for i in history(cloudwatch, name, "ConfigurationUpdate")] == [summaries[0], summaries[3]]
    assert history(cloudwatch, name, "Action") == []
    assert [i["HistorySummary"] for i in history(cloudwatch, name, StartDate=mid)] == summaries[:3]
    assert [i["HistorySummary"] for i in history(cloudwatch, name, EndDate=mid)] == summaries[3:]
    assert history(cloudwatch, name, AlarmTypes=["CompositeAlarm"]) == []

    # MaxRecords / NextToken by hand
    got, token = [], None
    for _ in range(10):
        kw = {"NextToken": token} if token else {}
        page = cloudwatch.describe_alarm_history(AlarmName=name, MaxRecords=3, **kw)
        got.append([i["HistorySummary"] for i in page["AlarmHistoryItems"]])
        token = page.get("NextToken")
        if not token:
            break
    assert got == [summaries[:3], summaries[3:]]
    # paginator with PageSize
    pages = list(cloudwatch.get_paginator("describe_alarm_history").paginate(
        AlarmName=name, PaginationConfig={"PageSize": 1}))
    assert [i["HistorySummary"] for p in pages for i in p["AlarmHistoryItems"]] == summaries
    assert len(pages) == 4

    # without AlarmName: both alarms appear
    all_names = {i["AlarmName"] for i in cloudwatch.describe_alarm_history(
        StartDate=mid - dt.timedelta(seconds=5), MaxRecords=100)["AlarmHistoryItems"]}
    assert {name, other} <= all_names

    e = expect_cw_error(cloudwatch.describe_alarm_history, "InvalidNextToken", AlarmName=name, NextToken="garbage")
    assert isinstance(e, cloudwatch.exceptions.InvalidNextToken)
    expect_cw_error(cw_nv.describe_alarm_history, "ValidationError", AlarmName=name, HistoryItemType="Bogus")


# --- evaluation from data (Period = 1 s) -------------------------------------------------------


def test_alarm_fires_from_published_data_and_recovers(cloudwatch):
    ns = "Guardrail/" + uid("Eval")
    dims = [{"Name": "Service", "Value": "checkout"}]
    name = uid("Eval-Alarm")
    cloudwatch.put_metric_alarm(**alarm_args(
        name, Namespace=ns, MetricName="Errors", Dimensions=dims, Statistic="Sum", Period=1,
        EvaluationPeriods=2, DatapointsToAlarm=2, Threshold=2.0,
        ComparisonOperator="GreaterThanOrEqualToThreshold", TreatMissingData="notBreaching"))
    # no data, notBreaching: evaluated at once to OK
    wait_alarm_state(cloudwatch, name, "OK", timeout=5)

    # ~10 datums of 1.0 a second (at least 2 even on a loaded machine): each 1-s Sum ≥ 2 breaches
    with Publisher(cloudwatch, ns, "Errors", value=1.0, dimensions=dims, interval=0.1) as pub:
        fired = wait_alarm_state(cloudwatch, name, "ALARM", timeout=12)
        pub.stop()
    assert pub.sent >= 5
    assert fired["StateReason"].startswith("Threshold Crossed: 2 out of the last "), fired["StateReason"]
    assert "greater than or equal to the threshold (2.0)" in fired["StateReason"]
    assert "(minimum 2 datapoints for OK -> ALARM transition)" in fired["StateReason"]
    reason_data = json.loads(fired["StateReasonData"])
    assert reason_data["statistic"] == "Sum" and reason_data["period"] == 1
    assert reason_data["threshold"] == 2.0

    ups = history(cloudwatch, name, "StateUpdate")
    to_alarm = [i for i in ups if i["HistorySummary"] == "Alarm updated from OK to ALARM"]
    assert to_alarm, [i["HistorySummary"] for i in ups]
    data = json.loads(to_alarm[-1]["HistoryData"])  # the first transition (newest first)
    assert data["oldState"]["stateValue"] == "OK"
    new = data["newState"]
    assert new["stateValue"] == "ALARM"
    srd = new["stateReasonData"]
    assert srd["recentDatapoints"], srd
    assert all(v >= 2.0 for v in srd["recentDatapoints"][-2:]), srd
    assert len(srd["evaluatedDatapoints"]) == 2, srd
    for p in srd["evaluatedDatapoints"]:
        assert p["value"] >= 2.0 and p["sampleCount"] >= 2.0, p
        assert p["timestamp"].endswith(".000+0000"), p

    # no more data: notBreaching → OK again
    ok = wait_alarm_state(cloudwatch, name, "OK", timeout=10)
    assert ok["StateReason"].startswith("Threshold Crossed"), ok["StateReason"]
    summaries = [i["HistorySummary"] for i in history(cloudwatch, name, "StateUpdate")]
    assert summaries[0] == "Alarm updated from ALARM to OK"


def test_set_alarm_state_on_one_second_alarm_reverts_by_evaluation(cloudwatch):
    name = uid("Blip")
    cloudwatch.put_metric_alarm(**alarm_args(name, Namespace="Guardrail/" + uid("Quiet"), Period=1,
                                             TreatMissingData="notBreaching"))
    wait_alarm_state(cloudwatch, name, "OK", timeout=5)
    cloudwatch.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="forced blip")
    set_at = time.monotonic()
    assert alarm_state(cloudwatch, name) == "ALARM"
    wait_alarm_state(cloudwatch, name, "OK", timeout=4)
    held = time.monotonic() - set_at
    assert held >= 0.5, f"the override must hold about one period, reverted after {held:.2f}s"
    summaries = [i["HistorySummary"] for i in history(cloudwatch, name, "StateUpdate")]
    assert summaries[:2] == ["Alarm updated from ALARM to OK", "Alarm updated from OK to ALARM"]


def test_breaching_alarm_without_data_goes_to_alarm(cloudwatch):
    name = uid("Breaching")
    cloudwatch.put_metric_alarm(**alarm_args(name, Namespace="Guardrail/" + uid("Empty"), Period=1,
                                             EvaluationPeriods=1, TreatMissingData="breaching"))
    # PutMetricAlarm evaluates at once: no waiting needed
    a = describe_one(cloudwatch, name)
    assert a["StateValue"] == "ALARM", a["StateReason"]
    assert a["StateReason"].startswith("Threshold Crossed: no datapoints were received"), a["StateReason"]
    assert "[Breaching]" in a["StateReason"]
    [item] = history(cloudwatch, name, "StateUpdate")
    assert item["HistorySummary"] == "Alarm updated from INSUFFICIENT_DATA to ALARM"


def test_replace_reevaluates_at_once(cloudwatch):
    name = uid("Reeval")
    ns = "Guardrail/" + uid("Empty")
    cloudwatch.put_metric_alarm(**alarm_args(name, Namespace=ns, Period=1, TreatMissingData="notBreaching"))
    assert describe_one(cloudwatch, name)["StateValue"] == "OK"
    cloudwatch.put_metric_alarm(**alarm_args(name, Namespace=ns, Period=1, TreatMissingData="breaching"))
    assert describe_one(cloudwatch, name)["StateValue"] == "ALARM"
    summaries = [i["HistorySummary"] for i in history(cloudwatch, name)]
    assert summaries == ["Alarm updated from OK to ALARM", f'Alarm "{name}" updated',
                         "Alarm updated from INSUFFICIENT_DATA to OK", f'Alarm "{name}" created']


def test_data_published_before_the_alarm_counts(cloudwatch):
    ns = "Guardrail/" + uid("Before")
    prev_minute = floor_time(now_utc(), 60) - dt.timedelta(seconds=60)
    cloudwatch.put_metric_data(Namespace=ns, MetricData=[
        {"MetricName": "Latency", "Value": 10.0, "Timestamp": prev_minute + dt.timedelta(seconds=30)}])
    name = uid("Before-Alarm")
    cloudwatch.put_metric_alarm(**alarm_args(name, Namespace=ns, MetricName="Latency", Dimensions=[],
                                             Statistic="Maximum", Period=60, Threshold=5.0))
    # evaluated at once on PutMetricAlarm: the previous complete minute holds 10.0
    a = wait_alarm_state(cloudwatch, name, "ALARM", timeout=3)
    stamp = prev_minute.strftime("%d/%m/%y %H:%M:%S")
    assert a["StateReason"] == (
        f"Threshold Crossed: 1 datapoint [10.0 ({stamp})] was greater than or equal to the threshold (5.0).")
    rd = json.loads(a["StateReasonData"])
    assert rd["statistic"] == "Maximum" and rd["period"] == 60
    assert rd["recentDatapoints"] == [10.0]
    assert rd["evaluatedDatapoints"] == [{"timestamp": prev_minute.strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
                                          "sampleCount": 1.0, "value": 10.0}]
    # Unit: only data recorded with the alarm's unit counts (the datum above has Unit None)
    other = uid("Before-Unit")
    cloudwatch.put_metric_alarm(**alarm_args(other, Namespace=ns, MetricName="Latency", Dimensions=[],
                                             Statistic="Maximum", Period=60, Threshold=5.0, Unit="Seconds"))
    assert describe_one(cloudwatch, other)["StateValue"] == "INSUFFICIENT_DATA"
    # …and the dimension set must match exactly
    third = uid("Before-Dims")
    cloudwatch.put_metric_alarm(**alarm_args(third, Namespace=ns, MetricName="Latency",
                                             Dimensions=[{"Name": "Host", "Value": "a"}],
                                             Statistic="Maximum", Period=60, Threshold=5.0))
    assert describe_one(cloudwatch, third)["StateValue"] == "INSUFFICIENT_DATA"


# --- persistence across a restart ---------------------------------------------------------------


def test_alarms_history_and_custom_metrics_survive_restart(server_factory):
    first = server_factory(name="cw-persist")
    cw = cw_client(first.url)
    kept, deleted = uid("Persist-Kept"), uid("Persist-Gone")
    ns = "Guardrail/" + uid("Persist")
    # `ignore` with no data keeps whatever state the alarm has: SetAlarmState's ALARM stays.
    cw.put_metric_alarm(**alarm_args(kept, TreatMissingData="ignore", AlarmDescription="keep me",
                                     Dimensions=[{"Name": "EndpointName", "Value": "ep"}]))
    cw.set_alarm_state(AlarmName=kept, StateValue="ALARM", StateReason="before restart",
                       StateReasonData='{"why": "test"}')
    cw.put_metric_alarm(**alarm_args(deleted))
    cw.delete_alarms(AlarmNames=[deleted])
    base = floor_time(now_utc(), 60) - dt.timedelta(minutes=3)
    cw.put_metric_data(Namespace=ns, MetricData=[
        {"MetricName": "Depth", "Dimensions": [{"Name": "Queue", "Value": "q1"}],
         "Timestamp": base + dt.timedelta(seconds=s), "Value": float(s), "StorageResolution": 1}
        for s in (1, 2, 3, 61)])

    def snapshot(client):
        alarm = describe_one(client, kept)
        hist = [(i["HistoryItemType"], i["HistorySummary"], i["Timestamp"]) for i in history(client, kept)]
        gone = [i["HistorySummary"] for i in history(client, deleted)]
        points = client.get_metric_statistics(
            Namespace=ns, MetricName="Depth", Dimensions=[{"Name": "Queue", "Value": "q1"}], StartTime=base,
            EndTime=base + dt.timedelta(seconds=120), Period=1, Statistics=["Sum", "SampleCount"])["Datapoints"]
        return alarm, hist, gone, sorted((p["Timestamp"], p["Sum"], p["SampleCount"]) for p in points)

    before = snapshot(cw)
    assert before[0]["StateValue"] == "ALARM"
    assert len(before[3]) == 4
    assert first.terminate() == 0

    second = server_factory(data_dir=first.data_dir, name="cw-persist-2")
    cw2 = cw_client(second.url)
    after = snapshot(cw2)
    alarm, hist, gone, points = after
    assert alarm["StateValue"] == "ALARM"
    assert alarm["StateReason"] == "before restart"
    assert json.loads(alarm["StateReasonData"]) == {"why": "test"}
    assert alarm == before[0]
    assert hist == before[1]
    assert gone == [f'Alarm "{deleted}" deleted', f'Alarm "{deleted}" created']
    assert points == before[3]
    assert cw2.describe_alarms(AlarmNames=[deleted])["MetricAlarms"] == []
    listed = cw2.list_metrics(Namespace=ns)["Metrics"]
    assert [(m["MetricName"], m["Dimensions"]) for m in listed] == [("Depth", [{"Name": "Queue", "Value": "q1"}])]
    # the restored alarm is live: it can be changed and evaluated
    cw2.set_alarm_state(AlarmName=kept, StateValue="OK", StateReason="after restart")
    assert describe_one(cw2, kept)["StateValue"] == "OK"


# --- the evaluation algorithm on AWS's published vectors (docs/cloudwatch-api.md#alarm-evaluation) --------------------

# oldest → newest over the last N + 2 = 5 complete periods: `0` ok, `X` breaching, `-` missing;
# expected state per TreatMissingData (missing, ignore, breaching, notBreaching). A new alarm is
# INSUFFICIENT_DATA, so "keep" (ignore without a decision) stays INSUFFICIENT_DATA.
I, A, O = "INSUFFICIENT_DATA", "ALARM", "OK"
TREATMENTS = ("missing", "ignore", "breaching", "notBreaching")
VECTORS = [
    (3, 3, "0-X-X", (O, O, O, O)),
    (3, 3, "0----", (O, O, O, O)),
    (3, 3, "-----", (I, I, A, O)),
    (3, 3, "0XX-X", (A, A, A, A)),
    (3, 3, "----X", (I, I, A, O)),
    (3, 3, "X----", (A, I, A, O)),
    (3, 2, "0-X-X", (A, A, A, A)),
    (3, 2, "00X0X", (A, A, A, A)),
    (3, 2, "0-X--", (O, O, A, O)),
    (3, 2, "----0", (O, O, A, O)),
    (3, 2, "----X", (I, I, A, O)),
]


def test_evaluation_vectors_on_hourly_periods(cloudwatch):
    """Data placed in the previous five whole hours, then PutMetricAlarm evaluates at once (Period
    3600, so the 1-hour periods come from the 60-second tier for data older than 3 h)."""
    now = now_utc()
    into_hour = now.minute * 60 + now.second
    if into_hour > 3590:  # don't straddle an hour boundary between publishing and evaluating
        time.sleep(3601 - into_hour)
        now = now_utc()
    hour = floor_time(now, 3600)
    period_start = [hour - dt.timedelta(hours=5 - i) for i in range(5)]  # oldest first
    failures = []
    for idx, (n, m, pattern, expected) in enumerate(VECTORS):
        ns = "Guardrail/" + uid(f"Vec{idx}")
        data = [{"MetricName": "Errors", "Value": 5.0 if c == "X" else 0.0,
                 "Timestamp": period_start[i] + dt.timedelta(minutes=30)}
                for i, c in enumerate(pattern) if c != "-"]
        if data:
            cloudwatch.put_metric_data(Namespace=ns, MetricData=data)
        for treat, want in zip(TREATMENTS, expected):
            name = uid(f"Vec{idx}-{treat}")
            cloudwatch.put_metric_alarm(**alarm_args(
                name, Namespace=ns, MetricName="Errors", Dimensions=[], Statistic="Maximum", Period=3600,
                EvaluationPeriods=n, DatapointsToAlarm=m, Threshold=1.0, TreatMissingData=treat))
            got = describe_one(cloudwatch, name)
            if got["StateValue"] != want:
                failures.append(f"N={n} M={m} {pattern} {treat}: want {want}, got {got['StateValue']} "
                                f"({got['StateReason']})")
    assert not failures, "\n".join(failures)


def test_percentile_alarm_and_low_sample_count(cloudwatch):
    """p99 over 5 samples: `evaluate` decides, `ignore` keeps the state (fewer than 10/(1-0.99) = 1000)."""
    now = now_utc()
    if now.minute * 60 + now.second > 3590:
        time.sleep(3601 - (now.minute * 60 + now.second))
    prev_hour = floor_time(now_utc(), 3600) - dt.timedelta(hours=1)
    ns = "Guardrail/" + uid("Pct")
    cloudwatch.put_metric_data(Namespace=ns, MetricData=[
        {"MetricName": "Latency", "Timestamp": prev_hour + dt.timedelta(minutes=10),
         "Values": [100.0, 200.0, 300.0, 400.0, 5000.0]}])
    common = dict(Namespace=ns, MetricName="Latency", Dimensions=[], Statistic=None, ExtendedStatistic="p99",
                  Period=3600, Threshold=1000.0)
    evaluate, ignore, low = uid("Pct-eval"), uid("Pct-ignore"), uid("Pct-p50")
    cloudwatch.put_metric_alarm(**alarm_args(evaluate, EvaluateLowSampleCountPercentile="evaluate", **common))
    cloudwatch.put_metric_alarm(**alarm_args(ignore, EvaluateLowSampleCountPercentile="ignore", **common))
    cloudwatch.put_metric_alarm(**alarm_args(low, **{**common, "ExtendedStatistic": "p50"}))
    a = describe_one(cloudwatch, evaluate)
    assert a["StateValue"] == "ALARM", a["StateReason"]
    assert json.loads(a["StateReasonData"])["statistic"] == "p99"
    assert describe_one(cloudwatch, ignore)["StateValue"] == "INSUFFICIENT_DATA"
    b = describe_one(cloudwatch, low)
    assert b["StateValue"] == "OK", b["StateReason"]  # p50 = 300 < 1000
    # percentiles come from a histogram with 1 % relative accuracy
    value = json.loads(b["StateReasonData"])["evaluatedDatapoints"][0]["value"]
    assert value == pytest.approx(300.0, rel=0.02), b["StateReasonData"]


def test_alarm_limit(server_factory):
    """More alarms than the limit (5 000) → LimitExceeded (modeled LimitExceededFault); replacing an
    existing alarm at the limit still works. On its own server, so the shared one stays small."""
    from concurrent.futures import ThreadPoolExecutor

    srv = server_factory(name="cw-limit")
    cw = cw_client(srv.url)
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda i: cw.put_metric_alarm(**alarm_args(f"limit-{i:05d}")), range(5000)))
    e = expect_cw_error(cw.put_metric_alarm, "LimitExceeded", **alarm_args("limit-one-too-many"))
    assert isinstance(e, cw.exceptions.LimitExceededFault)
    assert cw.describe_alarms(AlarmNames=["limit-one-too-many"])["MetricAlarms"] == []
    cw.put_metric_alarm(**alarm_args("limit-00000", Threshold=9.0))  # a replace is not a new alarm
    assert describe_one(cw, "limit-00000")["Threshold"] == 9.0
    cw.delete_alarms(AlarmNames=["limit-00001"])
    cw.put_metric_alarm(**alarm_args("limit-one-too-many"))
    assert describe_one(cw, "limit-one-too-many") is not None

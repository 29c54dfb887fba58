"""CloudWatch's answers as AWS gives them (docs/cloudwatch-api.md): non-finite numbers in
PutMetricData, Values/Counts of different lengths, repeated dimension names, ListMetrics
filters without a value, the time-range and statistics rules of GetMetricStatistics and
GetMetricData, and the `Metrics` / `Dimensions` lists of DescribeAlarms — each in the three
wire protocols stock botocore speaks."""

from __future__ import annotations

import datetime as dt

import pytest

from cw_support import PROTOCOLS, alarm_args, cw_client, describe_one, expect_cw_error, now_utc, uid


@pytest.fixture(scope="module", params=PROTOCOLS)
def cw(request, server):
    return cw_client(server.url, request.param)


def list_all(cw, **kwargs):
    out = []
    for page in cw.get_paginator("list_metrics").paginate(**kwargs):
        out.extend(page["Metrics"])
    return out


@pytest.mark.parametrize("value, spelled", [(float("nan"), "NaN"), (float("inf"), "Infinity"),
                                            (float("-inf"), "-Infinity")])
def test_non_finite_values_are_invalid_parameter_values(cw, value, spelled):
    ns = "Guardrail/" + uid("NonFinite")
    good = {"MetricName": "Good", "Value": 1.0}
    expect_cw_error(cw.put_metric_data, "InvalidParameterValue",
                    message=f"The value {spelled} for parameter MetricData.member.1.Value is invalid.",
                    Namespace=ns, MetricData=[{"MetricName": "Bad", "Value": value}])
    expect_cw_error(cw.put_metric_data, "InvalidParameterValue",
                    message=f"The value {spelled} for parameter MetricData.member.2.Values.member.2 is invalid.",
                    Namespace=ns, MetricData=[good, {"MetricName": "Bad", "Values": [1.0, value]}])
    expect_cw_error(cw.put_metric_data, "InvalidParameterValue",
                    message=f"The value {spelled} for parameter MetricData.member.1.Counts.member.1 is invalid.",
                    Namespace=ns, MetricData=[{"MetricName": "Bad", "Values": [1.0], "Counts": [value]}])
    expect_cw_error(cw.put_metric_data, "InvalidParameterValue",
                    message=f"The value {spelled} for parameter MetricData.member.1.StatisticValues.Maximum is invalid.",
                    Namespace=ns, MetricData=[{"MetricName": "Bad", "StatisticValues": {
                        "SampleCount": 1.0, "Sum": 1.0, "Minimum": 1.0, "Maximum": value}}])
    assert list_all(cw, Namespace=ns) == [], "nothing was recorded"


def test_values_and_counts_of_different_lengths(cw):
    expect_cw_error(cw.put_metric_data, "InvalidParameterValue",
                    message="The parameters MetricData.member.1.Values and MetricData.member.1.Counts "
                            "must be of the same size.",
                    Namespace="Guardrail/" + uid("Counts"),
                    MetricData=[{"MetricName": "M", "Values": [1.0, 2.0], "Counts": [1.0]}])


def test_repeated_dimension_name_and_name_only_filters(cw):
    ns = "Guardrail/" + uid("Dims")
    dims = [{"Name": "A", "Value": "x"}, {"Name": "B", "Value": "1"}, {"Name": "B", "Value": "2"}]
    cw.put_metric_data(Namespace=ns, MetricData=[{"MetricName": "M", "Dimensions": dims, "Value": 1.0}])
    cw.put_metric_data(Namespace=ns, MetricData=[{"MetricName": "M", "Dimensions": [{"Name": "B", "Value": "3"}],
                                                  "Value": 1.0}])
    cw.put_metric_data(Namespace=ns, MetricData=[{"MetricName": "M", "Value": 1.0}])

    def names(filters):
        return sorted(tuple((d["Name"], d["Value"]) for d in m["Dimensions"])
                      for m in list_all(cw, Namespace=ns, Dimensions=filters))

    repeated = (("A", "x"), ("B", "1"), ("B", "2"))
    assert names([{"Name": "B", "Value": "1"}]) == [repeated]
    assert names([{"Name": "B", "Value": "2"}]) == [repeated]
    assert names([{"Name": "B", "Value": "1"}, {"Name": "B", "Value": "2"}]) == [repeated]
    assert names([{"Name": "B", "Value": "4"}]) == []
    # a filter with a Name and no Value matches every value of that name
    assert names([{"Name": "B"}]) == [repeated, (("B", "3"),)]
    assert names([{"Name": "A"}]) == [repeated]
    assert len(names([])) == 3
    # the stored identity is the whole set: statistics on it find the datum
    t = now_utc()
    out = cw.get_metric_statistics(Namespace=ns, MetricName="M", Dimensions=dims, Statistics=["SampleCount"],
                                   StartTime=t - dt.timedelta(minutes=5), EndTime=t + dt.timedelta(minutes=1),
                                   Period=60)
    assert sum(p["SampleCount"] for p in out["Datapoints"]) == 1.0


def test_get_metric_statistics_time_range_and_statistics(cw):
    ns = "Guardrail/" + uid("Gms")
    t = now_utc().replace(microsecond=100_000)
    base = dict(Namespace=ns, MetricName="M", Period=60)
    for start, end in [(t, t), (t, t.replace(microsecond=900_000)), (t + dt.timedelta(seconds=5), t)]:
        expect_cw_error(cw.get_metric_statistics, "InvalidParameterValue",
                        message="The parameter StartTime must be less than the parameter EndTime.",
                        StartTime=start, EndTime=end, Statistics=["Sum"], **base)
    expect_cw_error(cw.get_metric_statistics, "InvalidParameterCombination",
                    message="Statistics and ExtendedStatistics cannot both be specified.",
                    StartTime=t - dt.timedelta(minutes=5), EndTime=t, Statistics=["Sum"],
                    ExtendedStatistics=["p99"], **base)


def test_get_metric_data_time_range(cw):
    t = now_utc().replace(microsecond=100_000)
    q = [{"Id": "m1", "MetricStat": {"Metric": {"Namespace": "Guardrail/X", "MetricName": "M"},
                                     "Period": 60, "Stat": "Sum"}}]
    expect_cw_error(cw.get_metric_data, "ValidationError",
                    message="The parameter EndTime must be greater than StartTime.",
                    MetricDataQueries=q, StartTime=t, EndTime=t - dt.timedelta(seconds=60))
    for end in (t, t.replace(microsecond=800_000)):
        expect_cw_error(cw.get_metric_data, "ValidationError",
                        message="The parameter StartTime must not equal parameter EndTime.",
                        MetricDataQueries=q, StartTime=t, EndTime=end)


def test_describe_alarms_lists_are_always_present(cw):
    single = uid("Single")
    cw.put_metric_alarm(**alarm_args(single))
    a = describe_one(cw, single)
    assert a["Metrics"] == []
    assert a["Dimensions"] == [{"Name": "Service", "Value": "svc"}]
    math = uid("Math")
    metrics = [{"Id": "m1", "MetricStat": {"Metric": {"Namespace": "Guardrail/Test", "MetricName": "Errors"},
                                           "Period": 60, "Stat": "Sum"}, "ReturnData": False},
               {"Id": "e1", "Expression": "m1 * 2", "ReturnData": True}]
    cw.put_metric_alarm(AlarmName=math, Metrics=metrics, EvaluationPeriods=1, Threshold=1.0,
                        ComparisonOperator="GreaterThanThreshold")
    a = describe_one(cw, math)
    assert [m["Id"] for m in a["Metrics"]] == ["m1", "e1"]
    assert a["Dimensions"] == []
    cw.delete_alarms(AlarmNames=[single, math])

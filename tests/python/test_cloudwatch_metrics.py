"""CloudWatch metrics through stock boto3 (awsJson1_0): PutMetricData (values, statistic sets,
gzip), GetMetricStatistics, GetMetricData, ListMetrics (docs/cloudwatch-api.md), and the
`AWS/SageMaker` / `/aws/sagemaker/Endpoints` metrics real invocations produce (docs/cloudwatch-api.md#published-metrics)."""

from __future__ import annotations

import datetime as dt

import pytest

from cw_support import Capture, cw_client, expect_cw_error, floor_time, now_utc, uid, wait_until
from support import invoke


@pytest.fixture(scope="module")
def cw_nv(server):
    return cw_client(server.url, validate=False)


def past_minute(minutes_ago: int = 10) -> dt.datetime:
    """Start of a whole minute `minutes_ago` minutes back (well inside the 1-second tier)."""
    return floor_time(now_utc(), 60) - dt.timedelta(minutes=minutes_ago)


def stats(cw, ns, metric, start, end, period=60, dims=None, statistics=None, extended=None, **kw):
    args = {"Namespace": ns, "MetricName": metric, "Dimensions": dims or [], "StartTime": start,
            "EndTime": end, "Period": period, **kw}
    if statistics is not None:
        args["Statistics"] = statistics
    if extended is not None:
        args["ExtendedStatistics"] = extended
    if statistics is None and extended is None:
        args["Statistics"] = ["SampleCount", "Sum", "Average", "Minimum", "Maximum"]
    if statistics is not None and extended is not None:
        # CloudWatch takes one or the other: two calls, datapoints merged by timestamp
        ext = cw.get_metric_statistics(**{k: v for k, v in args.items() if k != "Statistics"})
        out = cw.get_metric_statistics(**{k: v for k, v in args.items() if k != "ExtendedStatistics"})
        by_time = {d["Timestamp"]: d for d in out["Datapoints"]}
        for d in ext["Datapoints"]:
            by_time.setdefault(d["Timestamp"], {"Timestamp": d["Timestamp"], "Unit": d.get("Unit")}).update(d)
        out["Datapoints"] = list(by_time.values())
    else:
        out = cw.get_metric_statistics(**args)
    return sorted(out["Datapoints"], key=lambda d: d["Timestamp"]), out


def metric_set(metrics: list[dict]) -> set:
    return {(m["Namespace"], m["MetricName"], frozenset((d["Name"], d["Value"]) for d in m["Dimensions"]))
            for m in metrics}


def list_all_metrics(cw, **kw) -> list[dict]:
    out = []
    for page in cw.get_paginator("list_metrics").paginate(**kw):
        out.extend(page["Metrics"])
    return out


ALL5 = ["SampleCount", "Sum", "Average", "Minimum", "Maximum"]


# --- PutMetricData + GetMetricStatistics ----------------------------------------------------------


def test_values_statistics_and_percentiles(cloudwatch):
    ns = "Guardrail/" + uid("Stats")
    dims = [{"Name": "Host", "Value": "a"}]
    base = past_minute(10)
    cloudwatch.put_metric_data(Namespace=ns, MetricData=[{
        "MetricName": "Latency", "Dimensions": dims, "Timestamp": base + dt.timedelta(seconds=5),
        "Values": [float(v) for v in range(1, 101)], "Unit": "Milliseconds"}])
    points, out = stats(cloudwatch, ns, "Latency", base, base + dt.timedelta(seconds=60), dims=dims,
                        statistics=ALL5, extended=["p50", "p99"])
    assert out["Label"] == "Latency"
    assert len(points) == 1, points
    [p] = points
    assert p["Timestamp"] == base
    assert (p["SampleCount"], p["Sum"], p["Minimum"], p["Maximum"]) == (100.0, 5050.0, 1.0, 100.0)
    assert p["Average"] == pytest.approx(50.5)
    assert p["Unit"] == "Milliseconds"
    assert set(p["ExtendedStatistics"]) == {"p50", "p99"}
    assert p["ExtendedStatistics"]["p50"] == pytest.approx(50.0, rel=0.02)
    assert p["ExtendedStatistics"]["p99"] == pytest.approx(99.0, rel=0.02)

    # only the requested statistics are present
    points, _ = stats(cloudwatch, ns, "Latency", base, base + dt.timedelta(seconds=60), dims=dims,
                      statistics=["Maximum"])
    assert set(points[0]) == {"Timestamp", "Maximum", "Unit"}, points[0]
    points, _ = stats(cloudwatch, ns, "Latency", base, base + dt.timedelta(seconds=60), dims=dims,
                      extended=["p90"])
    assert set(points[0]) == {"Timestamp", "ExtendedStatistics", "Unit"}, points[0]
    assert points[0]["ExtendedStatistics"]["p90"] == pytest.approx(90.0, rel=0.02)
    # the dimension set must match exactly
    assert stats(cloudwatch, ns, "Latency", base, base + dt.timedelta(seconds=60))[0] == []
    # a Unit filter that does not match yields nothing
    assert stats(cloudwatch, ns, "Latency", base, base + dt.timedelta(seconds=60), dims=dims,
                 Unit="Seconds")[0] == []


def test_statistic_values_and_counts(cloudwatch):
    ns = "Guardrail/" + uid("Sets")
    base = past_minute(12)
    m1, m2 = base, base + dt.timedelta(seconds=60)
    cloudwatch.put_metric_data(Namespace=ns, MetricData=[
        {"MetricName": "Size", "Timestamp": m1 + dt.timedelta(seconds=1),
         "Values": [1.0, 2.0, 3.0], "Counts": [1.0, 2.0, 3.0]},
        {"MetricName": "Size", "Timestamp": m2 + dt.timedelta(seconds=2),
         "StatisticValues": {"SampleCount": 4.0, "Sum": 10.0, "Minimum": 1.0, "Maximum": 4.0}},
        {"MetricName": "Size", "Timestamp": m2 + dt.timedelta(seconds=3), "Value": 6.0},
    ])
    points, _ = stats(cloudwatch, ns, "Size", base, base + dt.timedelta(seconds=120))
    assert [p["Timestamp"] for p in points] == [m1, m2]
    a, b = points
    assert (a["SampleCount"], a["Sum"], a["Minimum"], a["Maximum"]) == (6.0, 14.0, 1.0, 3.0)
    assert a["Average"] == pytest.approx(14 / 6)
    assert (b["SampleCount"], b["Sum"], b["Minimum"], b["Maximum"]) == (5.0, 16.0, 1.0, 6.0)
    assert b["Average"] == pytest.approx(3.2)
    assert a["Unit"] == b["Unit"] == "None"


def test_period_one_alignment_and_only_periods_with_data(cloudwatch):
    ns = "Guardrail/" + uid("Align")
    base = past_minute(8)
    at = lambda s: base + dt.timedelta(seconds=s)  # noqa: E731
    cloudwatch.put_metric_data(Namespace=ns, MetricData=[
        {"MetricName": "Hits", "Timestamp": at(10.3), "Value": 1.0, "StorageResolution": 1},
        {"MetricName": "Hits", "Timestamp": at(10.7), "Value": 2.0, "StorageResolution": 1},
        {"MetricName": "Hits", "Timestamp": at(12.5), "Value": 5.0, "StorageResolution": 1},
        {"MetricName": "Hits", "Timestamp": at(40), "Value": 7.0, "StorageResolution": 60},
    ])
    points, _ = stats(cloudwatch, ns, "Hits", at(10), at(15), period=1, statistics=["Sum", "SampleCount"])
    assert [(p["Timestamp"], p["Sum"], p["SampleCount"]) for p in points] == [(at(10), 3.0, 2.0), (at(12), 5.0, 1.0)]
    # Period 5 from an unaligned start: periods start at multiples of 5 s since the epoch
    points, _ = stats(cloudwatch, ns, "Hits", at(7), at(20), period=5, statistics=["Sum"])
    assert [(p["Timestamp"], p["Sum"]) for p in points] == [(at(10), 8.0)]
    # Period 60: one datapoint at the start of the minute with everything
    points, _ = stats(cloudwatch, ns, "Hits", base, at(60), statistics=["Sum", "SampleCount", "Maximum"])
    assert [(p["Timestamp"], p["Sum"], p["SampleCount"], p["Maximum"]) for p in points] == [(base, 15.0, 4.0, 7.0)]
    # EndTime is exclusive
    assert stats(cloudwatch, ns, "Hits", at(13), at(40), period=1, statistics=["Sum"])[0] == []


def test_timestamp_defaults_to_now_and_storage_resolution(cloudwatch):
    ns = "Guardrail/" + uid("Now")
    before = now_utc()
    cloudwatch.put_metric_data(Namespace=ns, MetricData=[
        {"MetricName": "Beat", "Value": 2.0, "StorageResolution": 1},
        {"MetricName": "Beat", "Value": 3.0, "StorageResolution": 60},
        {"MetricName": "Beat", "Value": 4.0},
    ])
    points, _ = stats(cloudwatch, ns, "Beat", before - dt.timedelta(seconds=120),
                      now_utc() + dt.timedelta(seconds=60), statistics=["Sum", "SampleCount"])
    assert sum(p["Sum"] for p in points) == 9.0
    assert sum(p["SampleCount"] for p in points) == 3.0
    for p in points:
        assert abs((p["Timestamp"] - before).total_seconds()) < 120


BAD_DATA = [
    pytest.param({"Value": 1.0, "Values": [1.0]}, "InvalidParameterCombination", id="value-and-values"),
    pytest.param({"Value": 1.0, "StatisticValues": {"SampleCount": 1.0, "Sum": 1.0, "Minimum": 1.0, "Maximum": 1.0}},
                 "InvalidParameterCombination", id="value-and-statistic-values"),
    pytest.param({}, "InvalidParameterCombination", id="no-value"),
    pytest.param({"Values": [1.0, 2.0], "Counts": [1.0]}, "InvalidParameterValue", id="counts-length"),
    pytest.param({"Value": 1.0, "Timestamp": "3w"}, "InvalidParameterValue", id="three-weeks-ago"),
    pytest.param({"Value": 1.0, "Timestamp": "+3h"}, "InvalidParameterValue", id="three-hours-ahead"),
    pytest.param({"Value": 1.0, "StorageResolution": 5}, "InvalidParameterValue", id="storage-resolution-5"),
    pytest.param({"StatisticValues": {"SampleCount": 2.0, "Sum": 3.0, "Minimum": 5.0, "Maximum": 1.0}},
                 "InvalidParameterValue", id="min-over-max"),
    pytest.param({"Value": 1.0, "Unit": "Parsecs"}, "ValidationError", id="unit-not-in-enum"),
    pytest.param({"Value": 1e300 * 1e10}, "InvalidParameterValue", id="infinite-value"),
]


@pytest.mark.parametrize("bad, code", BAD_DATA)
def test_rejected_put_metric_data_records_nothing(cloudwatch, cw_nv, bad, code):
    ns = "Guardrail/" + uid("Reject")
    datum = {"MetricName": "Bad", **bad}
    if datum.get("Timestamp") == "3w":
        datum["Timestamp"] = now_utc() - dt.timedelta(weeks=3)
    elif datum.get("Timestamp") == "+3h":
        datum["Timestamp"] = now_utc() + dt.timedelta(hours=3)
    good = {"MetricName": "Good", "Value": 1.0}
    if code is None:
        # A non-finite number cannot be written as JSON: botocore sends `Infinity`, which is not
        # JSON, and the server must refuse the request (whatever the code) without recording.
        try:
            cw_nv.put_metric_data(Namespace=ns, MetricData=[good, datum])
        except Exception as e:  # noqa: BLE001
            status = getattr(e, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode")
            assert status == 400, repr(e)
        else:
            raise AssertionError("an infinite value was accepted")
    else:
        expect_cw_error(cw_nv.put_metric_data, code, Namespace=ns, MetricData=[good, datum])
    assert list_all_metrics(cloudwatch, Namespace=ns) == []
    start = now_utc() - dt.timedelta(minutes=5)
    assert stats(cloudwatch, ns, "Good", start, now_utc() + dt.timedelta(minutes=1))[0] == []


def test_put_metric_data_request_level_errors(cloudwatch, cw_nv):
    # the model's Namespace pattern `[^:].*`: a constraint violation
    expect_cw_error(cw_nv.put_metric_data, "ValidationError",
                    message="1 validation error detected: Value ':colon' at 'namespace' failed to satisfy "
                            "constraint: Member must satisfy regular expression pattern: [^:].*",
                    Namespace=":colon", MetricData=[{"MetricName": "M", "Value": 1.0}])
    assert [m for m in list_all_metrics(cloudwatch, MetricName="M") if m["Namespace"] == ":colon"] == []
    e = expect_cw_error(cw_nv.put_metric_data, "InvalidParameterCombination",
                        Namespace="Guardrail/" + uid("Comb"),
                        MetricData=[{"MetricName": "M", "Value": 1.0, "Values": [2.0]}])
    assert isinstance(e, cw_nv.exceptions.InvalidParameterCombinationException)
    expect_cw_error(cw_nv.put_metric_data, "InvalidParameterValue", Namespace="Guardrail/" + uid("Many"),
                    MetricData=[{"MetricName": "M", "Value": 1.0}] * 1001)


def test_large_put_metric_data_is_gzipped_and_recorded(cloudwatch, server):
    cw = cw_client(server.url)
    cap = Capture(cw)
    ns = "Guardrail/" + uid("Bulk")
    dims = [{"Name": "Shard", "Value": "shard-0001"}, {"Name": "Fleet", "Value": "blue"}]
    base = past_minute(6)
    data = [{"MetricName": "Bulk", "Dimensions": dims, "Value": float(i),
             "Timestamp": base + dt.timedelta(seconds=i % 60)} for i in range(1000)]
    resp = cw.put_metric_data(Namespace=ns, MetricData=data)
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200
    req = cap.last
    assert req["headers"].get("content-encoding") == "gzip", req["headers"]
    assert req["body"][:2] == b"\x1f\x8b", "body is not gzip"
    assert len(req["body"]) < 10240
    points, _ = stats(cloudwatch, ns, "Bulk", base, base + dt.timedelta(seconds=60), dims=dims)
    assert len(points) == 1
    assert (points[0]["SampleCount"], points[0]["Sum"]) == (1000.0, float(sum(range(1000))))
    assert (points[0]["Minimum"], points[0]["Maximum"]) == (0.0, 999.0)
    # small requests are not compressed
    cw.put_metric_data(Namespace=ns, MetricData=data[:1])
    assert "content-encoding" not in cap.last["headers"]


def test_units_are_separate_datapoints(cloudwatch):
    ns = "Guardrail/" + uid("Units")
    base = past_minute(9)
    cloudwatch.put_metric_data(Namespace=ns, MetricData=[
        {"MetricName": "T", "Timestamp": base + dt.timedelta(seconds=1), "Value": 1.0, "Unit": "Seconds"},
        {"MetricName": "T", "Timestamp": base + dt.timedelta(seconds=2), "Value": 500.0, "Unit": "Milliseconds"},
    ])
    points, _ = stats(cloudwatch, ns, "T", base, base + dt.timedelta(seconds=60), statistics=["Sum"])
    assert sorted((p["Unit"], p["Sum"]) for p in points) == [("Milliseconds", 500.0), ("Seconds", 1.0)]
    points, _ = stats(cloudwatch, ns, "T", base, base + dt.timedelta(seconds=60), statistics=["Sum"], Unit="Seconds")
    assert [(p["Unit"], p["Sum"]) for p in points] == [("Seconds", 1.0)]


def test_get_metric_statistics_errors(cloudwatch, cw_nv):
    ns = "Guardrail/" + uid("GmsErr")
    t = floor_time(now_utc(), 60) - dt.timedelta(hours=1)
    e = expect_cw_error(cw_nv.get_metric_statistics, "InvalidParameterValue", Namespace=ns, MetricName="M",
                        StartTime=t, EndTime=t, Period=60, Statistics=["Sum"])
    assert isinstance(e, cw_nv.exceptions.InvalidParameterValueException)
    expect_cw_error(cw_nv.get_metric_statistics, "InvalidParameterValue", Namespace=ns, MetricName="M",
                    StartTime=t + dt.timedelta(seconds=60), EndTime=t, Period=60, Statistics=["Sum"])
    e = expect_cw_error(cw_nv.get_metric_statistics, "InvalidParameterCombination", Namespace=ns, MetricName="M",
                        StartTime=t, EndTime=t + dt.timedelta(seconds=1441), Period=1, Statistics=["Sum"],
                        contains="1,440")
    assert isinstance(e, cw_nv.exceptions.InvalidParameterCombinationException)
    # exactly 1440 datapoints is allowed
    out = cloudwatch.get_metric_statistics(Namespace=ns, MetricName="M", StartTime=t,
                                           EndTime=t + dt.timedelta(seconds=1440), Period=1, Statistics=["Sum"])
    assert out["Datapoints"] == [] and out["Label"] == "M"
    expect_cw_error(cw_nv.get_metric_statistics, "InvalidParameterCombination", Namespace=ns, MetricName="M",
                    StartTime=t, EndTime=t + dt.timedelta(seconds=60), Period=60)
    expect_cw_error(cw_nv.get_metric_statistics, "InvalidParameterValue", Namespace=ns, MetricName="M",
                    StartTime=t, EndTime=t + dt.timedelta(seconds=60), Period=60, ExtendedStatistics=["p101"])
    expect_cw_error(cw_nv.get_metric_statistics, "ValidationError", Namespace=ns, MetricName="M",
                    StartTime=t, EndTime=t + dt.timedelta(seconds=60), Period=60, Statistics=["Median"])


# --- GetMetricData ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gmd_data(cloudwatch):
    """Errors 1, 2, 3 and Requests 10, 10, 10 in three consecutive minutes."""
    ns = "Guardrail/" + uid("Gmd")
    base = past_minute(14)
    minutes = [base + dt.timedelta(seconds=60 * i) for i in range(3)]
    data = []
    for i, m in enumerate(minutes):
        data.append({"MetricName": "Errors", "Timestamp": m + dt.timedelta(seconds=10), "Value": float(i + 1)})
        data.append({"MetricName": "Requests", "Timestamp": m + dt.timedelta(seconds=20), "Value": 4.0})
        data.append({"MetricName": "Requests", "Timestamp": m + dt.timedelta(seconds=30), "Value": 6.0})
    cloudwatch.put_metric_data(Namespace=ns, MetricData=data)
    return ns, minutes


def stat_query(qid, ns, metric, stat="Sum", period=60, **kw):
    return {"Id": qid, "MetricStat": {"Metric": {"Namespace": ns, "MetricName": metric, "Dimensions": []},
                                      "Period": period, "Stat": stat}, **kw}


def test_get_metric_data_metric_stat_and_math(cloudwatch, gmd_data):
    ns, minutes = gmd_data
    start, end = minutes[0], minutes[-1] + dt.timedelta(seconds=60)
    out = cloudwatch.get_metric_data(StartTime=start, EndTime=end, MetricDataQueries=[
        stat_query("m1", ns, "Errors"),
        stat_query("m2", ns, "Requests", ReturnData=False),
        stat_query("m3", ns, "Requests", stat="Average", Label="avg requests"),
        {"Id": "e1", "Expression": "m1 / m2", "Label": "error rate"},
    ])
    results = {r["Id"]: r for r in out["MetricDataResults"]}
    assert [r["Id"] for r in out["MetricDataResults"]] == ["m1", "m3", "e1"], "ReturnData false is omitted"
    assert "NextToken" not in out
    m1 = results["m1"]
    assert m1["Label"] == "Errors", "default label is the metric name"
    assert m1["StatusCode"] == "Complete"
    assert m1["Timestamps"] == list(reversed(minutes)), "default ScanBy is TimestampDescending"
    assert m1["Values"] == [3.0, 2.0, 1.0]
    assert results["m3"]["Label"] == "avg requests"
    assert results["m3"]["Values"] == [5.0, 5.0, 5.0]
    assert results["e1"]["Label"] == "error rate"
    assert results["e1"]["Values"] == pytest.approx([0.3, 0.2, 0.1])

    asc = cloudwatch.get_metric_data(StartTime=start, EndTime=end, ScanBy="TimestampAscending",
                                     MetricDataQueries=[stat_query("m1", ns, "Errors", stat="Maximum")])
    [r] = asc["MetricDataResults"]
    assert r["Timestamps"] == minutes and r["Values"] == [1.0, 2.0, 3.0]


def test_get_metric_data_paging(cloudwatch, gmd_data):
    ns, minutes = gmd_data
    start, end = minutes[0], minutes[-1] + dt.timedelta(seconds=60)
    queries = [stat_query("m1", ns, "Errors"), stat_query("m2", ns, "Requests")]
    full = cloudwatch.get_metric_data(StartTime=start, EndTime=end, MetricDataQueries=queries)
    want = [(r["Id"], t, v) for r in full["MetricDataResults"] for t, v in zip(r["Timestamps"], r["Values"])]
    assert len(want) == 6
    got, token, pages = [], None, 0
    while True:
        kw = {"NextToken": token} if token else {}
        page = cloudwatch.get_metric_data(StartTime=start, EndTime=end, MetricDataQueries=queries,
                                          MaxDatapoints=4, **kw)
        pages += 1
        got.extend((r["Id"], t, v) for r in page["MetricDataResults"] for t, v in zip(r["Timestamps"], r["Values"]))
        assert sum(len(r["Values"]) for r in page["MetricDataResults"]) <= 4
        token = page.get("NextToken")
        if not token:
            break
        assert pages < 5
    assert pages == 2 and got == want
    expect_cw_error(cloudwatch.get_metric_data, "InvalidNextToken", StartTime=start, EndTime=end,
                    MetricDataQueries=queries, NextToken="bogus")


def test_get_metric_data_errors(cloudwatch, cw_nv, gmd_data):
    ns, minutes = gmd_data
    start, end = minutes[0], minutes[-1] + dt.timedelta(seconds=60)
    for bad_id in ("M1", "1m", "m-1"):
        expect_cw_error(cw_nv.get_metric_data, "ValidationError", StartTime=start, EndTime=end,
                        MetricDataQueries=[stat_query(bad_id, ns, "Errors")], contains=bad_id)
    expect_cw_error(cw_nv.get_metric_data, "ValidationError", StartTime=start, EndTime=end,
                    MetricDataQueries=[stat_query("m1", ns, "Errors"), stat_query("m1", ns, "Requests")])
    expect_cw_error(cw_nv.get_metric_data, "ValidationError", StartTime=start, EndTime=end,
                    MetricDataQueries=[stat_query("m1", ns, "Errors"), {"Id": "e1", "Expression": "m1 / zz"}])
    expect_cw_error(cw_nv.get_metric_data, "ValidationError", StartTime=start, EndTime=end,
                    MetricDataQueries=[stat_query("m1", ns, "Errors"),
                                       {"Id": "e1", "Expression": "ANOMALY_DETECTION_BAND(m1)"}])
    expect_cw_error(cw_nv.get_metric_data, "ValidationError", StartTime=end, EndTime=start,
                    MetricDataQueries=[stat_query("m1", ns, "Errors")])


# --- ListMetrics --------------------------------------------------------------------------------


def test_list_metrics_filters(cloudwatch):
    ns = "Guardrail/" + uid("List")
    cloudwatch.put_metric_data(Namespace=ns, MetricData=[
        {"MetricName": "Latency", "Dimensions": [{"Name": "Host", "Value": "a"}, {"Name": "Region", "Value": "x"}],
         "Value": 1.0},
        {"MetricName": "Latency", "Dimensions": [{"Name": "Host", "Value": "b"}], "Value": 1.0},
        {"MetricName": "Errors", "Dimensions": [{"Name": "Host", "Value": "a"}], "Value": 1.0},
        {"MetricName": "Errors", "Value": 1.0},
        {"MetricName": "Errors", "Value": 2.0},  # same identity: listed once
    ])
    la = (ns, "Latency", frozenset({("Host", "a"), ("Region", "x")}))
    lb = (ns, "Latency", frozenset({("Host", "b")}))
    ea = (ns, "Errors", frozenset({("Host", "a")}))
    e0 = (ns, "Errors", frozenset())
    everything = list_all_metrics(cloudwatch, Namespace=ns)
    assert len(everything) == 4
    assert metric_set(everything) == {la, lb, ea, e0}
    assert metric_set(list_all_metrics(cloudwatch, Namespace=ns, MetricName="Latency")) == {la, lb}
    assert metric_set(list_all_metrics(cloudwatch, Namespace=ns, Dimensions=[{"Name": "Host", "Value": "a"}])) == {la, ea}
    assert metric_set(list_all_metrics(cloudwatch, Namespace=ns, Dimensions=[{"Name": "Host"}])) == {la, lb, ea}
    assert metric_set(list_all_metrics(cloudwatch, Namespace=ns, Dimensions=[{"Name": "Region"}])) == {la}
    assert metric_set(list_all_metrics(cloudwatch, Namespace=ns, MetricName="Errors",
                                       Dimensions=[{"Name": "Host", "Value": "b"}])) == set()
    assert metric_set(list_all_metrics(cloudwatch, Namespace=ns, RecentlyActive="PT3H")) == {la, lb, ea, e0}
    assert list_all_metrics(cloudwatch, Namespace=ns + "-none") == []
    # without a namespace filter, the metric name still narrows it
    found = metric_set(list_all_metrics(cloudwatch, MetricName="Latency", Dimensions=[{"Name": "Region", "Value": "x"}]))
    assert la in found


def test_list_metrics_pages_of_500(cloudwatch):
    ns = "AWS/" + uid("Many")  # AWS/ namespaces are accepted (Guardrail's rule)
    cloudwatch.put_metric_data(Namespace=ns, MetricData=[{"MetricName": f"M{i:03d}", "Value": 1.0}
                                                         for i in range(501)])
    first = cloudwatch.list_metrics(Namespace=ns)
    assert len(first["Metrics"]) == 500 and first["NextToken"]
    second = cloudwatch.list_metrics(Namespace=ns, NextToken=first["NextToken"])
    assert len(second["Metrics"]) == 1 and "NextToken" not in second
    names = {m["MetricName"] for m in first["Metrics"] + second["Metrics"]}
    assert names == {f"M{i:03d}" for i in range(501)}
    assert len(list_all_metrics(cloudwatch, Namespace=ns)) == 501
    e = expect_cw_error(cloudwatch.list_metrics, "InvalidNextToken", Namespace=ns, NextToken="garbage")
    assert isinstance(e, cloudwatch.exceptions.InvalidNextToken)


# --- metrics from real invocations --------------------------------------------------------------


def test_invocations_publish_sagemaker_metrics(cloudwatch, factory, rt):
    ep = factory.simple_endpoint()
    config = factory.configs[-1]
    started = now_utc()
    for _ in range(20):
        invoke(rt, ep)
    dims2 = [{"Name": "EndpointName", "Value": ep}, {"Name": "VariantName", "Value": "AllTraffic"}]
    dims3 = dims2 + [{"Name": "EndpointConfigName", "Value": config}]
    start = floor_time(started, 60) - dt.timedelta(seconds=60)
    end = now_utc() + dt.timedelta(seconds=120)

    def total(metric, dims, stat="Sum", period=1):
        points, _ = stats(cloudwatch, "AWS/SageMaker", metric, start, end, period=period, dims=dims,
                          statistics=[stat])
        return sum(p[stat] for p in points), points

    wait_until(lambda: total("Invocations", dims2)[0] == 20, timeout=10,
               what=f"Invocations of {ep} to sum to 20 (now {total('Invocations', dims2)[0]})")
    assert total("Invocations", dims3, period=60)[0] == 20
    assert total("Invocations", dims2, stat="SampleCount", period=60)[0] == 20
    assert total("Invocation5XXErrors", dims2, period=60)[0] == 0
    assert total("Invocation5XXErrors", dims2, stat="Maximum", period=60)[0] == 0
    assert total("Invocation4XXErrors", dims2, stat="SampleCount", period=60)[0] == 20
    assert total("InvocationModelErrors", dims2, period=60)[0] == 0
    assert total("InvocationsPerInstance", dims2, period=60)[0] == pytest.approx(20)
    _, latency = total("ModelLatency", dims2, stat="SampleCount", period=60)
    assert sum(p["SampleCount"] for p in latency) == 20
    assert {p["Unit"] for p in latency} == {"Microseconds"}
    latency, _ = stats(cloudwatch, "AWS/SageMaker", "ModelLatency", start, end, period=60, dims=dims2,
                       statistics=["Average", "Maximum"], extended=["p99"])
    for p in latency:
        assert 0 < p["Average"] <= p["Maximum"] < 10_000_000  # µs: under 10 s
        assert p["ExtendedStatistics"]["p99"] > 0
    _, overhead = total("OverheadLatency", dims2, stat="SampleCount", period=60)
    assert {p["Unit"] for p in overhead} == {"Microseconds"}

    listed = metric_set(list_all_metrics(cloudwatch, Namespace="AWS/SageMaker",
                                         Dimensions=[{"Name": "EndpointName", "Value": ep}]))
    d2 = frozenset({("EndpointName", ep), ("VariantName", "AllTraffic")})
    d3 = d2 | {("EndpointConfigName", config)}
    for metric in ("Invocations", "Invocation4XXErrors", "Invocation5XXErrors", "InvocationModelErrors",
                   "InvocationsPerInstance", "ModelLatency", "OverheadLatency"):
        assert ("AWS/SageMaker", metric, d2) in listed, metric
        assert ("AWS/SageMaker", metric, d3) in listed, metric

    def instance_metrics():
        found = metric_set(list_all_metrics(cloudwatch, Namespace="/aws/sagemaker/Endpoints",
                                            Dimensions=[{"Name": "EndpointName", "Value": ep}]))
        return {("/aws/sagemaker/Endpoints", m, d2) for m in ("CPUUtilization", "MemoryUtilization")} <= found

    wait_until(instance_metrics, timeout=10, what=f"CPU/memory metrics for {ep}")
    for metric in ("CPUUtilization", "MemoryUtilization"):
        points, _ = stats(cloudwatch, "/aws/sagemaker/Endpoints", metric, start, end, dims=dims2,
                          statistics=["Maximum", "Minimum"])
        assert points, metric
        assert {p["Unit"] for p in points} == {"Percent"}
        assert all(p["Minimum"] >= 0 for p in points)
    mem, _ = stats(cloudwatch, "/aws/sagemaker/Endpoints", "MemoryUtilization", start, end, dims=dims2,
                   statistics=["Maximum"])
    assert all(0 < p["Maximum"] <= 100 for p in mem)


def test_model_errors_publish_5xx_metrics_and_trip_an_alarm(cloudwatch, factory, rt):
    from botocore.exceptions import ClientError

    ep = factory.simple_endpoint(env={"ERROR_RATE": "1"})
    dims = [{"Name": "EndpointName", "Value": ep}, {"Name": "VariantName", "Value": "AllTraffic"}]
    alarm = uid("Ep-5xx")
    cloudwatch.put_metric_alarm(AlarmName=alarm, Namespace="AWS/SageMaker", MetricName="Invocation5XXErrors",
                                Dimensions=dims, Statistic="Average", Period=1, EvaluationPeriods=1,
                                Threshold=0.5, ComparisonOperator="GreaterThanOrEqualToThreshold",
                                TreatMissingData="notBreaching")
    started = now_utc()
    for _ in range(10):
        with pytest.raises(ClientError) as e:
            invoke(rt, ep)
        assert e.value.response["Error"]["Code"] == "ModelError"
    start = floor_time(started, 60) - dt.timedelta(seconds=60)
    end = now_utc() + dt.timedelta(seconds=120)

    def total(metric, stat="Sum"):
        points, _ = stats(cloudwatch, "AWS/SageMaker", metric, start, end, period=60, dims=dims, statistics=[stat])
        return sum(p[stat] for p in points)

    wait_until(lambda: total("Invocations") == 10, timeout=10, what=f"10 invocations of {ep} published")
    assert total("Invocation5XXErrors") == 10
    assert total("InvocationModelErrors") == 10
    assert total("Invocation4XXErrors") == 0
    points, _ = stats(cloudwatch, "AWS/SageMaker", "Invocation5XXErrors", start, end, period=60, dims=dims,
                      statistics=["Average"])
    assert all(p["Average"] == 1.0 for p in points), points

    def alarm_in(state):
        a = cloudwatch.describe_alarms(AlarmNames=[alarm])["MetricAlarms"][0]
        return a["StateValue"] == state

    wait_until(lambda: alarm_in("ALARM") or any(
        i["HistorySummary"].endswith("to ALARM") for i in cloudwatch.describe_alarm_history(
            AlarmName=alarm, HistoryItemType="StateUpdate")["AlarmHistoryItems"]),
        timeout=10, what=f"alarm {alarm} to enter ALARM")
    # no more traffic: notBreaching → OK
    wait_until(lambda: alarm_in("OK"), timeout=10, what=f"alarm {alarm} back to OK")

"""CloudWatch's three wire protocols with stock botocore (docs/cloudwatch-api.md#protocols): awsJson1_0 (what
boto3 1.44 picks), awsQuery and rpc-v2-cbor (botocore's own model with `metadata.protocols`
narrowed to one entry), gzip bodies in each, error mapping to the modeled exceptions, raw
framing of unknown operations, and the AWS CLI v1."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import parse_qs

import pytest

from cw_support import (
    CBOR_PATH_PREFIX,
    PROTOCOLS,
    TARGET_PREFIX,
    Capture,
    alarm_args,
    cw_client,
    describe_one,
    expect_cw_error,
    floor_time,
    history,
    now_utc,
    uid,
)
from support import ACCOUNT, REGION, assert_recent, aws_executable, cli_env

RESPONSE_CONTENT_TYPE = {"json": "application/x-amz-json-1.0", "query": "text/xml", "cbor": "application/cbor"}


@pytest.fixture(scope="module", params=PROTOCOLS)
def proto(request, server):
    """(protocol, client, capture, client without parameter validation)."""
    client = cw_client(server.url, request.param)
    return request.param, client, Capture(client), cw_client(server.url, request.param, validate=False)


def check_wire(protocol: str, req: dict, op: str, *, compressed: bool = False) -> None:
    """The request botocore sent really is `protocol` (body checks skipped for gzip bodies)."""
    assert req["method"] == "POST"
    path = req["url"].split("://", 1)[1].split("/", 1)[1] if "/" in req["url"].split("://", 1)[1] else ""
    path = "/" + path
    h = req["headers"]
    if protocol == "json":
        assert path == "/", req["url"]
        assert h["x-amz-target"] == TARGET_PREFIX + op
        assert h["content-type"] == "application/x-amz-json-1.0"
        assert h.get("x-amzn-query-mode") == "true"
        if not compressed:
            json.loads(req["body"] or b"{}")
    elif protocol == "query":
        assert path == "/", req["url"]
        assert "x-amz-target" not in h
        assert h["content-type"].startswith("application/x-www-form-urlencoded")
        if not compressed:
            form = parse_qs(req["body"].decode())
            assert form["Action"] == [op] and form["Version"] == ["2010-08-01"], form
    else:
        assert path == CBOR_PATH_PREFIX + op, req["url"]
        assert "x-amz-target" not in h
        assert h.get("smithy-protocol") == "rpc-v2-cbor"
        assert h.get("accept") == "application/cbor"
        if req["body"]:
            assert h["content-type"] == "application/cbor"
        if req["body"] and not compressed:
            assert 0xA0 <= req["body"][0] <= 0xBF, f"body is not a CBOR map: {req['body'][:16]!r}"


def check_response(protocol: str, resp: dict) -> None:
    meta = resp["ResponseMetadata"]
    assert meta["HTTPStatusCode"] == 200
    headers = meta["HTTPHeaders"]
    assert headers["content-type"].startswith(RESPONSE_CONTENT_TYPE[protocol]), headers
    if protocol == "cbor":
        assert headers.get("smithy-protocol") == "rpc-v2-cbor"
    if protocol == "query":
        assert meta["RequestId"], "RequestId missing from the XML"
    else:
        # botocore's CBOR parser copies the header into RequestId only for operations with output
        assert headers.get("x-amzn-requestid"), headers
        assert meta.get("RequestId", headers["x-amzn-requestid"]) == headers["x-amzn-requestid"]


def test_representative_calls(proto):
    protocol, cw, cap, _ = proto
    name = uid(f"Proto-{protocol}")
    ns = "Guardrail/" + uid(f"Proto-{protocol}")
    dims = [{"Name": "EndpointName", "Value": "ep-" + protocol}, {"Name": "VariantName", "Value": "AllTraffic"}]

    # PutMetricAlarm with dimensions
    resp = cw.put_metric_alarm(**alarm_args(
        name, Namespace=ns, MetricName="Invocation5XXErrors", Dimensions=dims, Statistic="Average",
        Threshold=0.25, TreatMissingData="ignore", AlarmActions=["arn:aws:sns:us-east-1:123456789012:t"],
        AlarmDescription="über-alarm ✓"))
    check_wire(protocol, cap.last, "PutMetricAlarm")
    check_response(protocol, resp)
    if protocol == "query":
        form = parse_qs(cap.last["body"].decode())
        assert form["Dimensions.member.1.Name"] == ["EndpointName"]
        assert form["AlarmActions.member.1"] == ["arn:aws:sns:us-east-1:123456789012:t"]

    # DescribeAlarms: every member round-trips, timestamps parse to datetimes
    out = cw.describe_alarms(AlarmNames=[name])
    check_wire(protocol, cap.last, "DescribeAlarms")
    check_response(protocol, out)
    assert out["CompositeAlarms"] == []
    [a] = out["MetricAlarms"]
    assert a["AlarmArn"] == f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{name}"
    assert a["Dimensions"] == dims
    assert a["Threshold"] == 0.25 and isinstance(a["Threshold"], float)
    assert (a["Period"], a["EvaluationPeriods"]) == (60, 1)
    assert a["ActionsEnabled"] is True
    assert a["AlarmActions"] == ["arn:aws:sns:us-east-1:123456789012:t"]
    assert a["OKActions"] == [] and a["InsufficientDataActions"] == []
    assert a["AlarmDescription"] == "über-alarm ✓"
    assert a["StateValue"] == "INSUFFICIENT_DATA"
    assert a["TreatMissingData"] == "ignore"
    for ts in ("AlarmConfigurationUpdatedTimestamp", "StateUpdatedTimestamp", "StateTransitionedTimestamp"):
        assert_recent(a[ts], slack_s=60)
    assert a["AlarmConfigurationUpdatedTimestamp"].microsecond % 1000 == 0  # millisecond precision

    # SetAlarmState
    resp = cw.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="forced",
                              StateReasonData=json.dumps({"k": [1, 2]}))
    check_wire(protocol, cap.last, "SetAlarmState")
    check_response(protocol, resp)
    a = describe_one(cw, name)
    assert a["StateValue"] == "ALARM" and a["StateReason"] == "forced"
    assert json.loads(a["StateReasonData"]) == {"k": [1, 2]}
    assert a["StateTransitionedTimestamp"] >= a["AlarmConfigurationUpdatedTimestamp"]

    # DescribeAlarmHistory
    items = history(cw, name)
    check_wire(protocol, cap.last, "DescribeAlarmHistory")
    assert [i["HistoryItemType"] for i in items] == ["StateUpdate", "ConfigurationUpdate"]
    assert items[0]["HistorySummary"] == "Alarm updated from INSUFFICIENT_DATA to ALARM"
    for i in items:
        assert_recent(i["Timestamp"], slack_s=60)
        json.loads(i["HistoryData"])
    page = cw.describe_alarm_history(AlarmName=name, MaxRecords=1, ScanBy="TimestampAscending")
    assert page["AlarmHistoryItems"][0]["HistoryItemType"] == "ConfigurationUpdate"
    assert page["NextToken"]
    rest = cw.describe_alarm_history(AlarmName=name, MaxRecords=1, ScanBy="TimestampAscending",
                                     NextToken=page["NextToken"])
    assert rest["AlarmHistoryItems"][0]["HistoryItemType"] == "StateUpdate"

    # PutMetricData: Value, Values+Counts, StatisticValues
    base = floor_time(now_utc(), 60) - dt.timedelta(minutes=7)
    resp = cw.put_metric_data(Namespace=ns, MetricData=[
        {"MetricName": "Latency", "Dimensions": dims, "Timestamp": base + dt.timedelta(seconds=1),
         "Values": [1.0, 2.0, 3.0, 4.0], "Counts": [1.0, 1.0, 1.0, 1.0], "Unit": "Milliseconds"},
        {"MetricName": "Latency", "Dimensions": dims, "Timestamp": base + dt.timedelta(seconds=2),
         "Value": 10.0, "Unit": "Milliseconds", "StorageResolution": 1},
        {"MetricName": "Latency", "Dimensions": dims, "Timestamp": base + dt.timedelta(seconds=70),
         "StatisticValues": {"SampleCount": 2.0, "Sum": 6.0, "Minimum": 2.0, "Maximum": 4.0},
         "Unit": "Milliseconds"},
    ])
    check_wire(protocol, cap.last, "PutMetricData")
    check_response(protocol, resp)
    if protocol == "query":
        form = parse_qs(cap.last["body"].decode())
        assert form["MetricData.member.1.Values.member.4"] == ["4.0"]
        assert form["MetricData.member.3.StatisticValues.SampleCount"] == ["2.0"]

    # GetMetricStatistics, then with ExtendedStatistics (CloudWatch takes one or the other)
    out = cw.get_metric_statistics(Namespace=ns, MetricName="Latency", Dimensions=dims, StartTime=base,
                                   EndTime=base + dt.timedelta(seconds=120), Period=60,
                                   Statistics=["Sum", "SampleCount", "Maximum"])
    check_wire(protocol, cap.last, "GetMetricStatistics")
    if protocol == "cbor":
        assert b"\xc1" in cap.last["body"], "timestamps must be sent as CBOR tag 1"
    assert out["Label"] == "Latency"
    points = sorted(out["Datapoints"], key=lambda d: d["Timestamp"])
    assert [p["Timestamp"] for p in points] == [base, base + dt.timedelta(seconds=60)]
    first, second = points
    assert (first["Sum"], first["SampleCount"], first["Maximum"], first["Unit"]) == (20.0, 5.0, 10.0, "Milliseconds")
    out = cw.get_metric_statistics(Namespace=ns, MetricName="Latency", Dimensions=dims, StartTime=base,
                                   EndTime=base + dt.timedelta(seconds=120), Period=60,
                                   ExtendedStatistics=["p50", "p100"])
    ext_points = sorted(out["Datapoints"], key=lambda d: d["Timestamp"])
    first, second_ext = ext_points
    second.setdefault("ExtendedStatistics", second_ext.get("ExtendedStatistics", {}))
    assert first["ExtendedStatistics"]["p100"] == 10.0
    assert first["ExtendedStatistics"]["p50"] == pytest.approx(3.0, rel=0.02)
    assert (second["Sum"], second["SampleCount"], second["Maximum"]) == (6.0, 2.0, 4.0)
    # a StatisticSet with distinct min and max gives no percentiles for its period
    assert second.get("ExtendedStatistics", {}) == {}

    # GetMetricData
    out = cw.get_metric_data(StartTime=base, EndTime=base + dt.timedelta(seconds=120), ScanBy="TimestampAscending",
                             MetricDataQueries=[{"Id": "m1", "MetricStat": {
                                 "Metric": {"Namespace": ns, "MetricName": "Latency", "Dimensions": dims},
                                 "Period": 60, "Stat": "Sum"}},
                                 {"Id": "e1", "Expression": "m1 * 2", "Label": "double"}])
    check_wire(protocol, cap.last, "GetMetricData")
    res = {r["Id"]: r for r in out["MetricDataResults"]}
    assert res["m1"]["Label"] == "Latency"
    assert res["m1"]["Timestamps"] == [base, base + dt.timedelta(seconds=60)]
    assert res["m1"]["Values"] == [20.0, 6.0]
    assert res["m1"]["StatusCode"] == "Complete"
    assert res["e1"]["Values"] == [40.0, 12.0] and res["e1"]["Label"] == "double"

    # ListMetrics
    out = cw.list_metrics(Namespace=ns)
    check_wire(protocol, cap.last, "ListMetrics")
    assert [(m["MetricName"], m["Dimensions"]) for m in out["Metrics"]] == [("Latency", dims)]
    assert "NextToken" not in out

    # DeleteAlarms
    resp = cw.delete_alarms(AlarmNames=[name])
    check_wire(protocol, cap.last, "DeleteAlarms")
    check_response(protocol, resp)
    assert cw.describe_alarms(AlarmNames=[name])["MetricAlarms"] == []


def test_metric_math_alarm_round_trips(proto):
    """Nested lists and structures (Metrics → MetricStat → Metric → Dimensions), booleans, tags."""
    protocol, cw, cap, _ = proto
    metrics = [
        {"Id": "e1", "Expression": "m1 / m2", "Label": "rate", "ReturnData": True},
        {"Id": "m1", "MetricStat": {"Metric": {"Namespace": "Guardrail/Test", "MetricName": "Errors",
                                               "Dimensions": [{"Name": "a", "Value": "b"}]},
                                    "Period": 60, "Stat": "Sum", "Unit": "Count"}, "ReturnData": False},
        {"Id": "m2", "MetricStat": {"Metric": {"Namespace": "Guardrail/Test", "MetricName": "Requests"},
                                    "Period": 60, "Stat": "Sum"}, "ReturnData": False},
    ]
    name = uid(f"Math-{protocol}")
    cw.put_metric_alarm(AlarmName=name, Metrics=metrics, EvaluationPeriods=2, DatapointsToAlarm=1, Threshold=0.5,
                        ComparisonOperator="GreaterThanThreshold", ActionsEnabled=False,
                        Tags=[{"Key": "team", "Value": "ml"}])
    if protocol == "query":
        form = parse_qs(cap.last["body"].decode())
        assert form["Metrics.member.2.MetricStat.Metric.Dimensions.member.1.Value"] == ["b"]
        assert form["ActionsEnabled"] == ["false"]
    a = describe_one(cw, name)
    assert a["Metrics"] == metrics
    assert a["ActionsEnabled"] is False
    assert (a["EvaluationPeriods"], a["DatapointsToAlarm"], a["Threshold"]) == (2, 1, 0.5)
    assert "Tags" not in a


def test_error_mapping(proto):
    protocol, cw, cap, nv = proto
    missing = uid(f"Missing-{protocol}")
    e = expect_cw_error(cw.set_alarm_state, "ResourceNotFound", status=404, exc=cw.exceptions.ResourceNotFound,
                        message=f"Alarm {missing} not found", AlarmName=missing, StateValue="OK", StateReason="r")
    check_wire(protocol, cap.last, "SetAlarmState")
    assert e.response["ResponseMetadata"]["RequestId"]
    if protocol != "query":
        assert e.response["ResponseMetadata"]["HTTPHeaders"].get("x-amzn-query-error") == "ResourceNotFound;Sender"

    name = uid(f"Err-{protocol}")
    cw.put_metric_alarm(**alarm_args(name))
    expect_cw_error(cw.set_alarm_state, "InvalidFormat", exc=cw.exceptions.InvalidFormatFault,
                    AlarmName=name, StateValue="OK", StateReason="r", StateReasonData="nope")
    expect_cw_error(cw.describe_alarms, "InvalidParameterCombination",
                    exc=cw.exceptions.InvalidParameterCombinationException,
                    AlarmNames=[name], AlarmNamePrefix="x")
    expect_cw_error(cw.describe_alarms, "InvalidNextToken", exc=cw.exceptions.InvalidNextToken, NextToken="zzz")
    expect_cw_error(nv.put_metric_alarm, "MissingParameter", exc=nv.exceptions.MissingRequiredParameterException,
                    **alarm_args(uid("Mp"), EvaluationPeriods=None))
    expect_cw_error(nv.put_metric_alarm, "InvalidParameterValue", exc=nv.exceptions.InvalidParameterValueException,
                    **alarm_args(uid("Ipv"), Statistic=None, ExtendedStatistic="foo"))
    # generic validation (model constraints / Guardrail's rules): code ValidationError
    expect_cw_error(nv.describe_alarms, "ValidationError", MaxRecords=101)
    expect_cw_error(nv.put_metric_alarm, "ValidationError", contains="DatapointsToAlarm",
                    **alarm_args(uid("Dp"), EvaluationPeriods=1, DatapointsToAlarm=2))
    assert describe_one(cw, name)["StateValue"] == "INSUFFICIENT_DATA"


def test_gzip_body_in_each_protocol(proto):
    protocol, cw, cap, _ = proto
    ns = "Guardrail/" + uid(f"Gz-{protocol}")
    base = floor_time(now_utc(), 60) - dt.timedelta(minutes=5)
    data = [{"MetricName": "Bulk", "Dimensions": [{"Name": "Index", "Value": f"i{i % 7}"}], "Value": 1.0,
             "Timestamp": base + dt.timedelta(seconds=i % 60)} for i in range(700)]
    cw.put_metric_data(Namespace=ns, MetricData=data)
    assert cap.last["headers"].get("content-encoding") == "gzip"
    check_wire(protocol, cap.last, "PutMetricData", compressed=True)
    assert cap.last["body"][:2] == b"\x1f\x8b"
    total = 0.0
    for i in range(7):
        out = cw.get_metric_statistics(Namespace=ns, MetricName="Bulk", Dimensions=[{"Name": "Index", "Value": f"i{i}"}],
                                       StartTime=base, EndTime=base + dt.timedelta(seconds=60), Period=60,
                                       Statistics=["SampleCount"])
        total += sum(p["SampleCount"] for p in out["Datapoints"])
    assert total == 700.0


# --- raw framing -------------------------------------------------------------------------------


def raw_post(url: str, path: str, body: bytes, headers: dict) -> tuple[int, dict, bytes]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    req = urllib.request.Request(url + path, data=body, headers=headers, method="POST")
    try:
        with opener.open(req, timeout=10) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()


def test_unknown_operation_in_each_protocol(server):
    status, h, body = raw_post(server.url, "/", b"{}", {
        "X-Amz-Target": TARGET_PREFIX + "PutDashboard", "Content-Type": "application/x-amz-json-1.0"})
    assert status == 400 and h.get("x-amzn-query-error") == "InvalidAction;Sender", (status, h, body)
    assert json.loads(body)["__type"].endswith("UnknownOperationException")
    assert h.get("x-amzn-requestid")

    status, h, body = raw_post(server.url, "/", b"Action=PutDashboard&Version=2010-08-01",
                               {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    assert status == 400, (status, body)
    assert b"<Code>InvalidAction</Code>" in body and b"<Type>Sender</Type>" in body, body
    assert b"<RequestId>" in body

    status, h, body = raw_post(server.url, CBOR_PATH_PREFIX + "PutDashboard", b"",
                               {"smithy-protocol": "rpc-v2-cbor", "Accept": "application/cbor"})
    assert status == 400 and h.get("x-amzn-query-error") == "InvalidAction;Sender", (status, h, body)
    assert h.get("content-type") == "application/cbor" and h.get("smithy-protocol") == "rpc-v2-cbor"
    assert b"UnknownOperationException" in body


def test_empty_output_framing(server):
    """No-output operations: `{}` in JSON, an empty CBOR map, ResponseMetadata only in XML."""
    name = uid("Frame")
    body = json.dumps(alarm_args(name)).encode()
    status, h, out = raw_post(server.url, "/", body, {
        "X-Amz-Target": TARGET_PREFIX + "PutMetricAlarm", "Content-Type": "application/x-amz-json-1.0"})
    assert (status, json.loads(out)) == (200, {})
    assert h["content-type"] == "application/x-amz-json-1.0"
    status, h, out = raw_post(server.url, "/", f"Action=DeleteAlarms&Version=2010-08-01&AlarmNames.member.1={name}".encode(),
                              {"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 200, out
    assert h["content-type"].startswith("text/xml")
    text = out.decode()
    assert '<DeleteAlarmsResponse xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/">' in text, text
    assert "<ResponseMetadata><RequestId>" in text, text
    assert cloudwatch_names(server, name) == []
    status, h, out = raw_post(server.url, CBOR_PATH_PREFIX + "DeleteAlarms",
                              bytes([0xA1, 0x6A]) + b"AlarmNames" + bytes([0x81, 0x61]) + b"x",
                              {"smithy-protocol": "rpc-v2-cbor", "Content-Type": "application/cbor",
                               "Accept": "application/cbor"})
    assert status == 200, out
    assert out in (b"\xa0", b"\xbf\xff"), out
    assert h["content-type"] == "application/cbor" and h.get("smithy-protocol") == "rpc-v2-cbor"


def cloudwatch_names(server, name: str) -> list[str]:
    cw = cw_client(server.url)
    return [a["AlarmName"] for a in cw.describe_alarms(AlarmNames=[name])["MetricAlarms"]]


# --- AWS CLI v1 -----------------------------------------------------------------------------------


def aws(args: list[str], env: dict, cwd: Path, url: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([aws_executable(), *args, "--endpoint-url", url, "--region", REGION, "--output", "json"],
                          env=env, cwd=str(cwd), capture_output=True, text=True, timeout=60)
    if check:
        assert proc.returncode == 0, f"aws {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}"
    return proc


def test_aws_cli_alarm_calls(server, tmp_path, cloudwatch):
    env = cli_env(tmp_path)
    name = uid("Cli-Alarm")
    aws(["cloudwatch", "put-metric-alarm", "--alarm-name", name, "--namespace", "AWS/SageMaker",
         "--metric-name", "Invocation5XXErrors", "--dimensions", "Name=EndpointName,Value=ep",
         "Name=VariantName,Value=AllTraffic", "--statistic", "Average", "--period", "60",
         "--evaluation-periods", "2", "--datapoints-to-alarm", "1", "--threshold", "0.1",
         "--comparison-operator", "GreaterThanThreshold", "--treat-missing-data", "notBreaching"],
        env, tmp_path, server.url)
    out = json.loads(aws(["cloudwatch", "describe-alarms", "--alarm-names", name], env, tmp_path, server.url).stdout)
    [a] = out["MetricAlarms"]
    assert a["AlarmName"] == name
    assert a["Dimensions"] == [{"Name": "EndpointName", "Value": "ep"}, {"Name": "VariantName", "Value": "AllTraffic"}]
    assert (a["Threshold"], a["EvaluationPeriods"], a["DatapointsToAlarm"]) == (0.1, 2, 1)
    assert a["TreatMissingData"] == "notBreaching"

    aws(["cloudwatch", "set-alarm-state", "--alarm-name", name, "--state-value", "ALARM",
         "--state-reason", "from the CLI"], env, tmp_path, server.url)
    assert describe_one(cloudwatch, name)["StateReason"] == "from the CLI"
    out = json.loads(aws(["cloudwatch", "describe-alarms", "--alarm-name-prefix", name], env, tmp_path,
                         server.url).stdout)
    assert [x["AlarmName"] for x in out["MetricAlarms"]] == [name]
    aws(["cloudwatch", "wait", "alarm-exists", "--alarm-names", name], env, tmp_path, server.url)

    missing = uid("Cli-Missing")
    proc = aws(["cloudwatch", "set-alarm-state", "--alarm-name", missing, "--state-value", "OK",
                "--state-reason", "x"], env, tmp_path, server.url, check=False)
    assert proc.returncode != 0
    assert "ResourceNotFound" in proc.stderr and f"Alarm {missing} not found" in proc.stderr, proc.stderr

    aws(["cloudwatch", "delete-alarms", "--alarm-names", name, missing], env, tmp_path, server.url)
    out = json.loads(aws(["cloudwatch", "describe-alarms", "--alarm-names", name], env, tmp_path, server.url).stdout)
    assert out["MetricAlarms"] == [] and out["CompositeAlarms"] == []


def test_gzip_body_limits(server):
    """Guardrail's rule: compressed body ≤ 1 MiB, decompressed ≤ 10 MiB, else InvalidParameterValue."""
    import gzip
    import os

    headers = {"X-Amz-Target": TARGET_PREFIX + "PutMetricData", "Content-Type": "application/x-amz-json-1.0",
               "Content-Encoding": "gzip"}
    ns = "Guardrail/" + uid("GzLimit")
    ok = gzip.compress(json.dumps({"Namespace": ns, "MetricData": [{"MetricName": "m", "Value": 1}]}).encode())
    status, _, body = raw_post(server.url, "/", ok, headers)
    assert (status, json.loads(body)) == (200, {})

    bomb = gzip.compress(b" " * (10 * 1024 * 1024 + 1))
    status, h, body = raw_post(server.url, "/", bomb, headers)
    assert status == 400 and h.get("x-amzn-query-error") == "InvalidParameterValue;Sender", (status, h, body)

    status, h, body = raw_post(server.url, "/", b"definitely not gzip", headers)
    assert status == 400 and h.get("x-amzn-query-error") == "InvalidParameterValue;Sender", (status, h, body)

    too_big = gzip.compress(os.urandom(1024 * 1024 + 4096))  # incompressible: > 1 MiB as sent
    assert len(too_big) > 1024 * 1024
    status, h, body = raw_post(server.url, "/", too_big, headers)
    assert (status, h.get("x-amzn-query-error")) == (400, "InvalidParameterValue;Sender"), (status, h, body)
    assert json.loads(body)["__type"] == "com.amazonaws.cloudwatch#InvalidParameterValueException", body


def test_timestamp_encoding_per_protocol(server, cloudwatch):
    """Timestamps out: epoch seconds (JSON), CBOR tag 1 (CBOR), ISO-8601 with ms and Z (query)."""
    import re

    name = uid("Ts")
    cloudwatch.put_metric_alarm(**alarm_args(name))
    status, _, body = raw_post(server.url, "/", json.dumps({"AlarmNames": [name]}).encode(), {
        "X-Amz-Target": TARGET_PREFIX + "DescribeAlarms", "Content-Type": "application/x-amz-json-1.0"})
    assert status == 200
    [a] = json.loads(body)["MetricAlarms"]
    ts = a["AlarmConfigurationUpdatedTimestamp"]
    assert isinstance(ts, (int, float)) and abs(ts - now_utc().timestamp()) < 300, ts

    status, _, body = raw_post(server.url, "/", f"Action=DescribeAlarms&Version=2010-08-01&AlarmNames.member.1={name}".encode(),
                               {"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 200
    m = re.search(rb"<AlarmConfigurationUpdatedTimestamp>([^<]*)</AlarmConfigurationUpdatedTimestamp>", body)
    assert m and re.fullmatch(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", m.group(1)), body[:400]

    cbor_body = bytes([0xA1, 0x6A]) + b"AlarmNames" + bytes([0x81, 0x60 + len(name)]) + name.encode()
    status, h, body = raw_post(server.url, CBOR_PATH_PREFIX + "DescribeAlarms", cbor_body, {
        "smithy-protocol": "rpc-v2-cbor", "Content-Type": "application/cbor", "Accept": "application/cbor"})
    assert status == 200 and h["content-type"] == "application/cbor"
    key = b"AlarmConfigurationUpdatedTimestamp"
    at = body.index(key) + len(key)
    assert body[at] == 0xC1, f"timestamp not tagged 1: {body[at:at + 10]!r}"

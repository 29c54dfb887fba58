"""Helpers for the CloudWatch tests (docs/cloudwatch-api.md): clients in each wire protocol, request
capture, error checks, bounded waits, and alarm / metric builders.

botocore picks CloudWatch's protocol from the service model's `metadata.protocols` (its own
priority order: json before cbor before query), so stock boto3 1.44 speaks awsJson1_0. For
awsQuery and rpc-v2-cbor we copy botocore's own cloudwatch model into a private data dir with
`protocols` narrowed to one entry, and load it through a botocore session whose `data_path`
puts that dir first. Nothing else about botocore changes.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import shutil
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Iterable

import botocore
import botocore.session
from botocore.config import Config
from botocore.exceptions import ClientError

import support
from support import ACCESS_KEY, REGION, SECRET_KEY

PROTOCOLS = ("json", "query", "cbor")
_MODEL_NAMES = {"json": None, "query": "query", "cbor": "smithy-rpc-v2-cbor"}
CBOR_PATH_PREFIX = "/service/GraniteServiceVersion20100801/operation/"
TARGET_PREFIX = "GraniteServiceVersion20100801."

_DATA_DIRS: dict[str, Path] = {}
_DATA_LOCK = threading.Lock()


def uid(prefix: str = "cw") -> str:
    """A fresh name; mixed case on purpose (alarm names keep their case)."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def floor_time(t: dt.datetime, period_s: int) -> dt.datetime:
    epoch = int(t.timestamp())
    return dt.datetime.fromtimestamp(epoch - epoch % period_s, dt.timezone.utc)


# --------------------------------------------------------------------------------------------
# clients


def _botocore_data_root() -> Path:
    return Path(botocore.__file__).resolve().parent / "data"


def protocol_data_dir(protocol: str) -> Path | None:
    """A data dir whose cloudwatch model only offers `protocol` (None for stock json)."""
    name = _MODEL_NAMES[protocol]
    if name is None:
        return None
    with _DATA_LOCK:
        if protocol in _DATA_DIRS:
            return _DATA_DIRS[protocol]
        src = _botocore_data_root() / "cloudwatch" / "2010-08-01"
        root = Path(tempfile.mkdtemp(prefix=f"cw-model-{protocol}-"))
        dst = root / "cloudwatch" / "2010-08-01"
        dst.mkdir(parents=True)
        with gzip.open(src / "service-2.json.gz", "rt", encoding="utf-8") as f:
            model = json.load(f)
        model["metadata"]["protocols"] = [name]
        model["metadata"]["protocol"] = name
        (dst / "service-2.json").write_text(json.dumps(model))
        for extra in ("paginators-1.json", "waiters-2.json"):
            if (src / extra).is_file():
                shutil.copy(src / extra, dst / extra)
        _DATA_DIRS[protocol] = root
        return root


def cw_client(url: str, protocol: str = "json", *, validate: bool = True, region: str = REGION):
    """A botocore cloudwatch client on `url` speaking `protocol` (json | query | cbor)."""
    session = botocore.session.get_session()
    session.set_credentials(ACCESS_KEY, SECRET_KEY)
    data_dir = protocol_data_dir(protocol)
    if data_dir is not None:
        session.set_config_variable("data_path", str(data_dir))
    cfg = Config(
        retries={"max_attempts": 1, "mode": "standard"},
        parameter_validation=validate,
        connect_timeout=5,
        read_timeout=30,
    )
    client = session.create_client("cloudwatch", region_name=region, endpoint_url=url, config=cfg)
    want = {"json": "json", "query": "query", "cbor": "smithy-rpc-v2-cbor"}[protocol]
    assert client.meta.service_model.resolved_protocol == want, (
        f"botocore resolved {client.meta.service_model.resolved_protocol!r}, wanted {want!r}")
    return client


class Capture:
    """Records every request a client sends (botocore `before-send`): method, url, headers, body."""

    def __init__(self, client):
        self.requests: list[dict[str, Any]] = []
        client.meta.events.register("before-send.cloudwatch.*", self._hook)

    def _hook(self, request, **_: Any):
        body = request.body
        if hasattr(body, "read"):
            pos = body.tell()
            data = body.read()
            body.seek(pos)
            body = data
        if isinstance(body, str):
            body = body.encode()
        self.requests.append({
            "method": request.method,
            "url": request.url,
            "headers": {k.lower(): (v.decode() if isinstance(v, bytes) else v)
                        for k, v in request.headers.items()},
            "body": body or b"",
        })
        return None

    @property
    def last(self) -> dict[str, Any]:
        assert self.requests, "no request captured"
        return self.requests[-1]

    def clear(self) -> None:
        self.requests.clear()


# --------------------------------------------------------------------------------------------
# errors and waiting


def expect_cw_error(fn: Callable[..., Any], code: str, *, status: int = 400,
                    exc: type | None = None, message: str | None = None,
                    contains: str | Iterable[str] | None = None, **kwargs: Any) -> ClientError:
    """Call fn(**kwargs); it must raise ClientError with this code / status (/ class / message)."""
    try:
        result = fn(**kwargs)
    except ClientError as e:
        got_code = e.response.get("Error", {}).get("Code", "")
        got_status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        got_msg = e.response.get("Error", {}).get("Message", "")
        ctx = f"{type(e).__name__} code={got_code!r} status={got_status} message={got_msg!r}"
        assert got_code == code, f"expected {code!r}, got {ctx}"
        assert got_status == status, f"expected HTTP {status}, got {ctx}"
        if exc is not None:
            assert isinstance(e, exc), f"expected exception class {exc.__name__}, got {ctx}"
        if message is not None:
            assert got_msg == message, f"expected message {message!r}, got {ctx}"
        if contains is not None:
            for part in [contains] if isinstance(contains, str) else contains:
                assert part in got_msg, f"expected message containing {part!r}, got {ctx}"
        return e
    raise AssertionError(f"expected {code} (HTTP {status}); the call succeeded: {result!r}")


def wait_until(fn: Callable[[], Any], timeout: float, what: str, interval: float = 0.2) -> Any:
    """Poll fn() until it returns something truthy (support.wait_until, positional form)."""
    return support.wait_until(fn, timeout=timeout, interval=interval, desc=what)


# --------------------------------------------------------------------------------------------
# alarms


def alarm_args(name: str, **overrides: Any) -> dict[str, Any]:
    """A valid single-metric alarm on a custom metric (Period 60, Sum ≥ 1)."""
    args: dict[str, Any] = {
        "AlarmName": name,
        "Namespace": "Guardrail/Test",
        "MetricName": "Errors",
        "Dimensions": [{"Name": "Service", "Value": "svc"}],
        "Statistic": "Sum",
        "Period": 60,
        "EvaluationPeriods": 1,
        "Threshold": 1.0,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
    }
    for k, v in overrides.items():
        if v is None:
            args.pop(k, None)
        else:
            args[k] = v
    return args


def describe_one(cw, name: str) -> dict | None:
    alarms = cw.describe_alarms(AlarmNames=[name])["MetricAlarms"]
    assert len(alarms) <= 1, alarms
    return alarms[0] if alarms else None


def alarm_state(cw, name: str) -> str | None:
    a = describe_one(cw, name)
    return a["StateValue"] if a else None


def history(cw, name: str, item_type: str | None = None, **kwargs: Any) -> list[dict]:
    args: dict[str, Any] = {"AlarmName": name, **kwargs}
    if item_type:
        args["HistoryItemType"] = item_type
    items: list[dict] = []
    for page in cw.get_paginator("describe_alarm_history").paginate(**args):
        items.extend(page["AlarmHistoryItems"])
    return items


def alarm(cw, name: str, *, composite: bool = False) -> dict:
    """The one metric (or composite) alarm called `name`; fails unless DescribeAlarms returns exactly one."""
    if composite:
        got = cw.describe_alarms(AlarmNames=[name], AlarmTypes=["CompositeAlarm"])["CompositeAlarms"]
    else:
        got = cw.describe_alarms(AlarmNames=[name])["MetricAlarms"]
    assert len(got) == 1, f"DescribeAlarms({name!r}) returned {len(got)} alarm(s)"
    return got[0]


def wait_alarm_state(cw, name: str, state: str, *, timeout: float = 10.0, composite: bool = False) -> dict:
    """Poll DescribeAlarms until the alarm's StateValue is `state`."""
    last: dict = {}

    def check():
        nonlocal last
        last = alarm(cw, name, composite=composite)
        return last if last["StateValue"] == state else None

    kind = "composite alarm" if composite else "alarm"
    try:
        return support.wait_until(check, timeout=timeout, interval=0.1, desc=f"{kind} {name} in {state}")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; alarm is {last.get('StateValue')!r} "
                             f"(reason {last.get('StateReason')!r})") from None


class Publisher:
    """Puts one datum every `interval` seconds on a background thread until stopped."""

    def __init__(self, cw, namespace: str, metric: str, value: float = 1.0,
                 dimensions: list[dict] | None = None, interval: float = 0.2):
        self.cw, self.namespace, self.metric = cw, namespace, metric
        self.value, self.dimensions, self.interval = value, dimensions or [], interval
        self._stop = threading.Event()
        self.errors: list[BaseException] = []
        self.sent = 0
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.cw.put_metric_data(Namespace=self.namespace, MetricData=[{
                    "MetricName": self.metric, "Dimensions": self.dimensions,
                    "Value": self.value, "StorageResolution": 1,
                }])
                self.sent += 1
            except BaseException as e:  # noqa: BLE001 - reported by stop()
                self.errors.append(e)
                return
            self._stop.wait(self.interval)

    def __enter__(self) -> "Publisher":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        assert not self.errors, f"PutMetricData failed while publishing: {self.errors[0]!r}"

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

"""Helpers for the alarm-driven auto-rollback tests (test_auto_rollback.py, test_prometheus.py).

- `RbLoad`: `deploy_support.Load` that also records wall-clock send/finish times (time.time(),
  comparable with the server's timestamps on the same machine) and the error details
  (code, HTTP status, OriginalStatusCode, message) of every failed call.
- `RbDeployment`: `deploy_support.Deployment` driven by an `RbLoad`.
- Alarm helpers on a boto3 `cloudwatch` client: create a 1-second alarm, force a state with
  SetAlarmState, read the newest "to ALARM" StateUpdate from the history (waiting for an alarm
  state is `cw_support.wait_alarm_state`).
- `parse_exposition()`: a small parser for Prometheus/OpenMetrics text.

Everything polls with explicit deadlines; nothing sleeps to wait for a state.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from dataclasses import dataclass
from typing import Any, Iterable

from botocore.exceptions import BotoCoreError, ClientError

import support
from cw_support import history
from deploy_support import Deployment, Load, describe_failures
from support import error_parts, record_pid

BLUE_ENV = {"LATENCY_MS": "2"}
GREEN_ENV = {"LATENCY_MS": "2"}
ROLLED_BACK_PREFIX = "Update rolled back: CloudWatch alarm(s) "


# --------------------------------------------------------------------------------------------
# load with wall-clock times and error details


@dataclass
class RbRec:
    t0: float                 # monotonic send time
    t1: float                 # monotonic finish time
    w0: float                 # wall-clock send time (time.time())
    w1: float                 # wall-clock finish time
    ok: bool
    code: str = ""            # "ModelError (424): …", "ServiceUnavailable (503): …", "ReadTimeoutError: …"
    error_code: str = ""      # botocore's Error.Code, or the exception class name
    status: int = 0           # HTTP status of an error answer
    original_status: int | None = None   # OriginalStatusCode of a ModelError
    message: str = ""
    version: str | None = None
    pid: int | None = None
    variant: str | None = None


class RbLoad(Load):
    """Like `Load` (same queries), recording `RbRec`s."""

    def _run(self) -> None:
        while not self._stop.is_set():
            self._go.wait()
            if self._stop.is_set():
                return
            with self._lock:
                self._inflight += 1
            t0, w0 = time.monotonic(), time.time()
            try:
                resp = self.rt.invoke_endpoint(EndpointName=self.endpoint, Body=b'{"x": 1}',
                                               ContentType="application/json")
                raw = resp["Body"].read()
                t1, w1 = time.monotonic(), time.time()
                try:
                    answer = json.loads(raw)
                    rec = RbRec(t0, t1, w0, w1, True, version=answer.get("model_version"),
                                pid=answer.get("pid"), variant=resp.get("InvokedProductionVariant"))
                    if rec.pid is not None:
                        record_pid(rec.pid)
                except ValueError:
                    rec = RbRec(t0, t1, w0, w1, False, code=f"non-JSON answer {raw[:60]!r}",
                                error_code="non-JSON")
            except ClientError as exc:
                t1, w1 = time.monotonic(), time.time()
                code, status, msg = error_parts(exc)
                orig = exc.response.get("OriginalStatusCode")
                rec = RbRec(t0, t1, w0, w1, False, code=f"{code} ({status}): {msg[:160]}", error_code=code,
                            status=status, original_status=int(orig) if orig is not None else None,
                            message=msg)
            except (BotoCoreError, OSError) as exc:
                t1, w1 = time.monotonic(), time.time()
                rec = RbRec(t0, t1, w0, w1, False, code=f"{type(exc).__name__}: {exc}"[:200],
                            error_code=type(exc).__name__, message=str(exc))
            with self._lock:
                self._inflight -= 1
                self.records.append(rec)
            if self.think_s:
                time.sleep(self.think_s)


def is_injected_model_500(r: RbRec) -> bool:
    """A ModelError carrying the model server's own ERROR_RATE 500 (only v2 models inject them)."""
    return (not r.ok and r.error_code == "ModelError" and r.status == 424 and r.original_status == 500
            and "injected error (ERROR_RATE=" in r.message)


class RbDeployment(Deployment):
    """`Deployment` (same start, checks and figures) with an `RbLoad`."""

    load_class = RbLoad

    def wait_baking(self, *, min_share: float = 0.0, timeout: float = 30.0, desc: str = "a bake"):
        """The first snapshot with the pending variant `Baking` at green share ≥ min_share (> 0)."""
        def pred(s):
            g = s.green_share()
            return (s.status == "Updating" and any(st == "Baking" for st, _ in s.pending_statuses())
                    and g is not None and g > 0 and g >= min_share - 1e-6)
        return self.watcher.wait_for(pred, timeout=timeout, desc=desc)

    def failure_text(self, fails: list) -> str:
        return describe_failures(fails, self.t_accept0)


# --------------------------------------------------------------------------------------------
# alarms


def put_alarm(cw, name: str, *, metric: str, dims: dict[str, str], namespace: str = "AWS/SageMaker",
              statistic: str = "Sum", threshold: float = 1.0,
              op: str = "GreaterThanOrEqualToThreshold", period: int = 1, evaluation_periods: int = 1,
              treat_missing: str = "notBreaching", **extra: Any) -> str:
    cw.put_metric_alarm(
        AlarmName=name, Namespace=namespace, MetricName=metric,
        Dimensions=[{"Name": k, "Value": v} for k, v in dims.items()],
        Statistic=statistic, Period=period, EvaluationPeriods=evaluation_periods, Threshold=threshold,
        ComparisonOperator=op, TreatMissingData=treat_missing, **extra)
    return name


def set_alarm(cw, name: str, state: str = "ALARM", reason: str = "forced by test") -> tuple[float, float]:
    """SetAlarmState; returns the wall-clock (time.time()) before sending and after the answer."""
    w0 = time.time()
    cw.set_alarm_state(AlarmName=name, StateValue=state, StateReason=reason)
    return w0, time.time()


def state_updates(cw, name: str) -> list[dict]:
    """Every StateUpdate history item of the alarm, newest first (following NextToken)."""
    return sorted(history(cw, name, "StateUpdate"), key=lambda i: i["Timestamp"], reverse=True)


def new_state(item: dict) -> str | None:
    try:
        return json.loads(item["HistoryData"])["newState"]["stateValue"]
    except (KeyError, TypeError, ValueError):
        m = re.search(r" to (\w+)$", item.get("HistorySummary", ""))
        return m.group(1) if m else None


def to_alarm_items(cw, name: str) -> list[dict]:
    """StateUpdate items that entered ALARM, newest first."""
    out = []
    for item in state_updates(cw, name):
        summary = item.get("HistorySummary", "")
        if new_state(item) == "ALARM" or summary.endswith(" to ALARM"):
            out.append(item)
    return out


def wait_to_alarm_item(cw, name: str, *, after_wall: float | None = None, timeout: float = 5.0) -> dict:
    """The newest StateUpdate "to ALARM" item (at or after `after_wall`, with 1 s slack)."""
    def find():
        for item in to_alarm_items(cw, name):
            if after_wall is None or item["Timestamp"].timestamp() >= after_wall - 1.0:
                return item
        return None
    return support.wait_until(find, timeout=timeout, interval=0.1,
                              desc=f"a StateUpdate 'to ALARM' history item of {name}")


# --------------------------------------------------------------------------------------------
# outcome checks


def assert_rolled_back(dep: Deployment, *, old_config: str, sent_dc: dict, alarm_name: str,
                       old_count: int, reason_contains: Iterable[str] = ()) -> str:
    """docs/deployments.md#outcomes "rolled back (alarm)": InService on the OLD config, FailureReason naming
    the alarm, no pending summary, LastDeploymentConfig = the effective config, the blue fleet
    at full strength with no VariantStatus. Returns the FailureReason."""
    d = dep.final
    assert d is not None, "endpoint vanished"
    assert d["EndpointStatus"] == "InService", (
        f"update ended {d['EndpointStatus']} (want InService after a rollback); "
        f"FailureReason={d.get('FailureReason')!r}")
    assert d["EndpointConfigName"] == old_config, (
        f"EndpointConfigName after the alarm is {d['EndpointConfigName']!r}, want the old config "
        f"{old_config!r} (rolled forward instead of back); FailureReason={d.get('FailureReason')!r}")
    reason = d.get("FailureReason", "")
    assert reason.startswith(ROLLED_BACK_PREFIX), f"FailureReason {reason!r} (want {ROLLED_BACK_PREFIX!r}…)"
    assert alarm_name in reason, f"FailureReason does not name the alarm {alarm_name!r}: {reason!r}"
    assert " entered ALARM at " in reason, f"FailureReason {reason!r}"
    assert re.search(r" entered ALARM at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z during ", reason), (
        f"FailureReason lacks 'entered ALARM at <ISO-8601 UTC> during <phase>': {reason!r}")
    for part in reason_contains:
        assert part in reason, f"FailureReason lacks {part!r}: {reason!r}"
    assert len(reason) <= 1024, f"FailureReason is {len(reason)} chars (max 1024)"
    assert "PendingDeploymentSummary" not in d, f"pending summary after rollback: {d['PendingDeploymentSummary']!r}"
    assert d.get("LastDeploymentConfig") == sent_dc, (
        f"LastDeploymentConfig after rollback {d.get('LastDeploymentConfig')!r}, want {sent_dc!r}")
    pvs = d["ProductionVariants"]
    assert [v["VariantName"] for v in pvs] == ["AllTraffic"], pvs
    pv = pvs[0]
    assert (pv["CurrentInstanceCount"], pv["DesiredInstanceCount"]) == (old_count, old_count), (
        f"blue fleet after rollback: Current/Desired {pv['CurrentInstanceCount']}/{pv['DesiredInstanceCount']}, "
        f"want {old_count}/{old_count}")
    assert abs(pv["CurrentWeight"] - pv["DesiredWeight"]) < 1e-9, pv
    assert "VariantStatus" not in pv, f"VariantStatus outside an update: {pv['VariantStatus']!r}"
    assert [i["SpecifiedImage"] for i in pv.get("DeployedImages", [])] == ["model:v1"], pv.get("DeployedImages")
    return reason


def assert_v1_after(dep: Deployment, *, min_calls: int = 20) -> int:
    """Every call started after the rollback was observed succeeded and was answered by v1."""
    after = [r for r in dep.load.snapshot() if r.t0 >= dep.t_done]
    assert len(after) >= min_calls, f"only {len(after)} call(s) after the rollback"
    bad = [r for r in after if not (r.ok and r.version == "v1")]
    assert not bad, (f"{len(bad)} of {len(after)} call(s) after the rollback were not v1 answers: "
                     + "; ".join(r.code or f"answered by {r.version}" for r in bad[:5]))
    return len(after)


def utc(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).isoformat(timespec="milliseconds")


# --------------------------------------------------------------------------------------------
# Prometheus text


_SAMPLE_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\S+)?$')
_LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_exposition(text: str) -> list[tuple[str, dict[str, str], float]]:
    """(name, labels, value) for every sample line of a Prometheus/OpenMetrics text exposition."""
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE_RE.match(line)
        assert m, f"not a sample line: {line!r}"
        name, _, labels, value = m.group(1), m.group(2), m.group(3), m.group(4)
        lab = {k: bytes(v, "utf-8").decode("unicode_escape") for k, v in _LABEL_RE.findall(labels or "")}
        out.append((name, lab, float(value)))
    return out


def sample_value(samples, name: str, **labels: str) -> float | None:
    """Sum of the samples named `name` whose labels include `labels` (None if there is none)."""
    vals = [v for n, lab, v in samples if n == name and all(lab.get(k) == x for k, x in labels.items())]
    return sum(vals) if vals else None

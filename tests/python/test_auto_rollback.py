"""Alarm-driven auto-rollback under load (docs/deployments.md, docs/cloudwatch-api.md#setalarmstate, #sizes, #plans).

Stock boto3 `sagemaker`, `sagemaker-runtime` and `cloudwatch` clients against one Guardrail:
- a CANARY whose model answers 500 to everything trips an `Invocation5XXErrors` alarm computed
  from the router's own 1-second metrics; the only failed calls are those 500s (ModelError);
- `SetAlarmState(ALARM)` during a LINEAR bake, and mid-way through a ROLLING update with
  RollbackMaximumBatchSize, rolls back without a single failed call;
- what trips (docs/deployments.md#alarms): an ALARM blip that reverted at once, an alarm already in ALARM when the
  update starts, a watched alarm deleted mid-bake; INSUFFICIENT_DATA does not trip;
- a `ModelLatency` alarm scoped to the new fleet's EndpointConfigName trips on a slow model and
  stays quiet on a healthy one;
- alarm → traffic back on blue: measured over ≥ 10 runs (figures in
  tests/python/out/rollback_latency.json).

Every test keeps a background pool of runtime clients (retries off) invoking the endpoint the
whole time and a DescribeEndpoint poller (deploy_support.Watcher). Nothing sleeps for a state.
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

import pytest

from rollback_support import (
    BLUE_ENV,
    GREEN_ENV,
    RbDeployment,
    assert_rolled_back,
    assert_v1_after,
    is_injected_model_500,
    parse_exposition,
    put_alarm,
    sample_value,
    set_alarm,
    state_updates,
    to_alarm_items,
    utc,
    wait_to_alarm_item,
)
from cw_support import alarm, wait_alarm_state
from deploy_support import Reporter, fleets
from support import _NO_PROXY_OPENER, Factory, unique, variant, wait_until

OUT_DIR = Path(__file__).resolve().parent / "out"
ROLLBACK_BLUE = ("ActivatingTraffic", "Deleting")
LATENCY_RUNS = 10
LATENCY_MAX_MS = 1000.0


# --- helpers ----------------------------------------------------------------------------------


def make_endpoint(f: Factory, *, count: int, env=None) -> tuple[str, str]:
    model = f.model(image="model:v1", env={**BLUE_ENV, **(env or {})})
    cfg = f.config(variants=[variant(model, count=count)])
    return f.endpoint(config=cfg), cfg


def make_config(f: Factory, *, count: int, env=None) -> str:
    model = f.model(image="model:v2", env={**GREEN_ENV, **(env or {})})
    return f.config(variants=[variant(model, count=count)])


def variant_dims(ep: str, config: str | None = None) -> dict[str, str]:
    dims = {"EndpointName": ep, "VariantName": "AllTraffic"}
    if config is not None:
        dims["EndpointConfigName"] = config
    return dims


def custom_alarm(cw, name: str) -> str:
    """An alarm on a custom metric nobody publishes: OK (notBreaching) until SetAlarmState."""
    put_alarm(cw, name, namespace="Guardrail/Tests", metric="Unused", dims={"Alarm": name},
              statistic="Sum", threshold=1.0)
    wait_alarm_state(cw, name, "OK")
    return name


def auto_rollback(*alarms: str) -> dict:
    return {"Alarms": [{"AlarmName": a} for a in alarms]}


def rollback_counters(server) -> tuple[float, float]:
    """(rollbacks started, deployments finished rolled back) of CANARY updates, from /metrics."""
    with _NO_PROXY_OPENER.open(server.url + "/metrics", timeout=5) as resp:
        s = parse_exposition(resp.read().decode())
    return (sample_value(s, "guardrail_rollbacks_total", mode="canary") or 0.0,
            sample_value(s, "guardrail_deployments_finished_total", mode="canary", outcome="rolled_back") or 0.0)


def green_counts_after(dep: RbDeployment, t: float) -> list[int]:
    return [s.pending_variants()[0]["CurrentInstanceCount"] for s in dep.watcher.updating()
            if s.t >= t and s.pending_variants()]


# --- 1. real 5xx errors trip the alarm ------------------------------------------------------------


@pytest.mark.timeout(150)
def test_5xx_alarm_rolls_back_canary(request, server, sm, rt, cloudwatch, factory):
    """v2 answers 500 to everything. CANARY 1 of 2 with a 30 s bake; `Invocation5XXErrors` Sum ≥ 1
    over 1 s (EndpointName+VariantName, notBreaching) goes to ALARM from the router's own metrics
    and the update rolls back to the old config long before the bake would end. The only failed
    calls are v2's own 500s (ModelError 424, OriginalStatusCode 500); afterwards v1 answers all."""
    ep, c1 = make_endpoint(factory, count=2)
    c2 = make_config(factory, count=2, env={"ERROR_RATE": "1.0"})
    old, new = fleets(sm, c1, c2)
    name = put_alarm(cloudwatch, unique("rb-5xx"), metric="Invocation5XXErrors", dims=variant_dims(ep),
                     statistic="Sum", threshold=1.0)
    wait_alarm_state(cloudwatch, name, "OK")
    dc = {"BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {
              "Type": "CANARY", "WaitIntervalInSeconds": 30, "CanarySize": {"Type": "INSTANCE_COUNT", "Value": 1}}},
          "AutoRollbackConfiguration": auto_rollback(name)}
    dep = RbDeployment(sm, rt, ep, c2, {"DeploymentConfig": dc}, threads=3)
    counters_before = rollback_counters(server)
    with Reporter(request, "alarm rollback: Invocation5XXErrors on a failing CANARY (1 of 2, W=30)") as rep:
        try:
            dep.start()
            baking = dep.wait_baking(timeout=40, desc="the canary bake")
            dep.finish(timeout=40)
        finally:
            dep.abort()
        rep.figures = dep.figures()
        recs = dep.load.snapshot()
        model_500s = [r for r in recs if is_injected_model_500(r)]
        other = [r for r in recs if not r.ok and not is_injected_model_500(r)]
        item = wait_to_alarm_item(cloudwatch, name, after_wall=dep.wall_accept0)
        t_alarm = item["Timestamp"].timestamp()
        rep.extra.update({"model_500s": len(model_500s), "other_failures": len(other),
                          "alarm_to_alarm_at": utc(t_alarm),
                          "accept_to_rolled_back_s": round(dep.t_done - dep.t_accept0, 2)})

        assert not other, (f"{len(other)} failed call(s) other than v2's own 500s: "
                           + dep.failure_text(other))
        assert model_500s, "v2 never answered (no ModelError 500): the alarm cannot have tripped on real data"
        # the 500s came from the canary while it took traffic, never after the rollback
        assert all(r.t0 >= dep.t_accept0 and r.t0 < dep.t_done for r in model_500s)
        # the alarm went to ALARM from data, during the update
        assert dep.wall_accept0 - 0.5 <= t_alarm, f"alarm entered ALARM at {utc(t_alarm)}, before the update"
        data = json.loads(item["HistoryData"])
        assert data["newState"]["stateReason"].startswith("Threshold Crossed"), data["newState"]
        # traffic went back long before the 30 s canary bake would have ended
        assert dep.t_done - baking.t < 25, (
            f"rolled back {dep.t_done - baking.t:.1f}s after the canary bake began (bake is 30 s)")

        dep.assert_accept_state(old_config=c1, sent_dc=dc)
        dep.check_snapshots(old=old, new=new, sent_dc=dc, rollback=True, allowed_blue=ROLLBACK_BLUE)
        rep.extra["failure_reason"] = assert_rolled_back(dep, old_config=c1, sent_dc=dc, alarm_name=name,
                                                         old_count=2, reason_contains=("Threshold Crossed",))
        assert 0.5 in dep.watcher.baking_shares(), f"canary share 0.5 never seen: {dep.watcher.baking_shares()}"
        rep.extra["calls_after_rollback"] = assert_v1_after(dep)
        # blue kept serving with the same processes
        assert {r.pid for r in recs if r.ok and r.t0 >= dep.t_done} <= dep.old_pids
        # the router's AWS/SageMaker metrics count exactly what the clients saw (docs/cloudwatch-api.md#published-metrics):
        # every call, and every 500 against the green config only
        t_start = dep.wall_accept0 - 120

        def metric_sum(metric: str, config: str | None = None) -> float:
            pts = cloudwatch.get_metric_statistics(
                Namespace="AWS/SageMaker", MetricName=metric,
                Dimensions=[{"Name": k, "Value": v} for k, v in variant_dims(ep, config).items()],
                StartTime=t_start, EndTime=time.time() + 2, Period=60, Statistics=["Sum"])["Datapoints"]
            return sum(p["Sum"] for p in pts)

        want = {("Invocations", None): len(recs), ("Invocation5XXErrors", None): len(model_500s),
                ("Invocation5XXErrors", c2): len(model_500s), ("Invocation5XXErrors", c1): 0,
                ("Invocations", c2): len(model_500s)}
        got: dict = {}

        def metrics_match():
            got.update({k: metric_sum(*k) for k in want})
            return got == want

        try:
            wait_until(metrics_match, timeout=5, interval=0.5, desc="AWS/SageMaker sums to match the client")
        except AssertionError as exc:
            raise AssertionError(f"{exc}: GetMetricStatistics sums {got}, client counts {want}") from None
        # the rollback shows in Guardrail's own telemetry (GET /metrics)
        now: list = []

        def counted():
            now[:] = rollback_counters(server)
            return all(a >= b + 1 for a, b in zip(now, counters_before))

        try:
            wait_until(counted, timeout=5, interval=0.2, desc="the canary rollback counters to increase")
        except AssertionError as exc:
            raise AssertionError(f"{exc}: (guardrail_rollbacks_total, guardrail_deployments_finished_total"
                                 f"{{outcome=rolled_back}}) for mode canary {counters_before} → {now}") from None


# --- 2./3. SetAlarmState -----------------------------------------------------------------------


@pytest.mark.timeout(150)
def test_set_alarm_state_rolls_back_linear(request, sm, rt, cloudwatch, factory):
    """LINEAR 25 % of 4 with 3 s bakes; once green holds 50 % and bakes, SetAlarmState(ALARM) on a
    1-second alarm (it reverts to OK about a second later — the engine must still catch it) rolls
    back: InService on the old config, no failed call, v1 answers everything afterwards."""
    ep, c1 = make_endpoint(factory, count=4)
    c2 = make_config(factory, count=4)
    old, new = fleets(sm, c1, c2)
    name = custom_alarm(cloudwatch, unique("rb-linear"))
    dc = {"BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {
              "Type": "LINEAR", "WaitIntervalInSeconds": 3,
              "LinearStepSize": {"Type": "CAPACITY_PERCENT", "Value": 25}}},
          "AutoRollbackConfiguration": auto_rollback(name)}
    dep = RbDeployment(sm, rt, ep, c2, {"DeploymentConfig": dc})
    with Reporter(request, "alarm rollback: SetAlarmState during LINEAR 25% of 4 (W=3)") as rep:
        try:
            dep.start()
            snap = dep.wait_baking(min_share=0.5, timeout=40, desc="the bake at green share 50 %")
            share_at_trip = snap.green_share()
            dep.load.wait_successes(3, since=snap.t, version="v2", timeout=10)
            t_trip = time.monotonic()
            w0, w1 = set_alarm(cloudwatch, name, reason="rb-linear forced")
            dep.finish(timeout=30)
        finally:
            dep.abort()
        rep.figures = dep.figures()
        rep.extra.update({"green_share_at_trip": share_at_trip,
                          "trip_to_rolled_back_s": round(dep.t_done - t_trip, 2)})
        dep.assert_no_failures()
        dep.assert_accept_state(old_config=c1, sent_dc=dc)
        dep.check_snapshots(old=old, new=new, sent_dc=dc, rollback=True, allowed_blue=ROLLBACK_BLUE)
        rep.extra["failure_reason"] = assert_rolled_back(dep, old_config=c1, sent_dc=dc, alarm_name=name,
                                                         old_count=4, reason_contains=("rb-linear forced",))
        # rolled back mid-way: the plan's last steps were never reached
        shares = dep.watcher.baking_shares()
        assert 1.0 not in shares and 0.75 not in shares, f"green reached {shares} before the rollback"
        item = wait_to_alarm_item(cloudwatch, name, after_wall=w0)
        assert w0 - 0.01 <= item["Timestamp"].timestamp() <= w1 + 0.01
        rep.extra["calls_after_rollback"] = assert_v1_after(dep)
        # the forced ALARM of a 1 s alarm is a blip: it reverts to OK from (missing) data
        wait_alarm_state(cloudwatch, name, "OK", timeout=10)


@pytest.mark.timeout(180)
def test_set_alarm_state_rolls_back_rolling_in_batches(request, sm, rt, cloudwatch, factory):
    """ROLLING, batches of 1 of 4 (W = 3 s), RollbackMaximumBatchSize 1: SetAlarmState(ALARM) while
    the second batch bakes. The rollback restores the old config with all 4 instances, in batches
    (the green count only falls), without a failed call."""
    ep, c1 = make_endpoint(factory, count=4)
    c2 = make_config(factory, count=4)
    old, new = fleets(sm, c1, c2)
    name = custom_alarm(cloudwatch, unique("rb-rolling"))
    dc = {"RollingUpdatePolicy": {"MaximumBatchSize": {"Type": "INSTANCE_COUNT", "Value": 1},
                                  "WaitIntervalInSeconds": 3,
                                  "RollbackMaximumBatchSize": {"Type": "INSTANCE_COUNT", "Value": 1}},
          "AutoRollbackConfiguration": auto_rollback(name)}
    dep = RbDeployment(sm, rt, ep, c2, {"DeploymentConfig": dc})
    with Reporter(request, "alarm rollback: SetAlarmState during ROLLING 1 of 4 (W=3), rollback batch 1") as rep:
        try:
            dep.start()
            snap = dep.wait_baking(min_share=0.5, timeout=60, desc="the second batch's bake")
            green_at_trip = snap.pending_variants()[0]["CurrentInstanceCount"]
            dep.load.wait_successes(3, since=snap.t, version="v2", timeout=10)
            t_trip = time.monotonic()
            set_alarm(cloudwatch, name, reason="rb-rolling forced")
            dep.finish(timeout=60)
        finally:
            dep.abort()
        rep.figures = dep.figures()
        after_trip = green_counts_after(dep, t_trip)
        rep.extra.update({"green_ready_at_trip": green_at_trip, "green_ready_after_trip": after_trip,
                          "trip_to_rolled_back_s": round(dep.t_done - t_trip, 2)})
        dep.assert_no_failures()
        dep.assert_accept_state(old_config=c1, sent_dc=dc)
        dep.check_snapshots(old=old, new=new, sent_dc=dc, rollback=True,
                            allowed_blue=ROLLBACK_BLUE + ("Creating", "Updating"))
        rep.extra["failure_reason"] = assert_rolled_back(dep, old_config=c1, sent_dc=dc, alarm_name=name,
                                                         old_count=4, reason_contains=("rb-rolling forced",))
        assert green_at_trip >= 2, f"tripped with {green_at_trip} new instance(s) Ready (want ≥ 2: after batch 1)"
        # a rollback launches no new-config instance
        assert after_trip == sorted(after_trip, reverse=True), (
            f"new-config Ready count rose during the rollback: {after_trip}")
        # rolling never runs more than N + b = 5 instances, also while rolling back
        for s in dep.watcher.updating():
            blue = s.desc["ProductionVariants"][0]["CurrentInstanceCount"]
            green = s.pending_variants()[0]["CurrentInstanceCount"] if s.pending_variants() else 0
            assert blue + green <= 5, f"{blue} old + {green} new Ready at +{s.t - dep.t_accept0:.2f}s (max 5)"
        rep.extra["calls_after_rollback"] = assert_v1_after(dep)
        pids_after = {r.pid for r in dep.load.snapshot() if r.ok and r.t0 >= dep.t_done}
        rep.extra["v1_pids_after"] = len(pids_after)


# --- what trips (docs/deployments.md#cancellation): blips, pre-existing ALARM, deleted alarm; INSUFFICIENT_DATA does not ------


TRIPS = {
    # case: (expect rollback, description)
    "blip": (True, "SetAlarmState ALARM then OK at once on a 60 s alarm during the bake"),
    "preexisting": (True, "the alarm is already in ALARM (forced, 60 s alarm) when the update starts"),
    "deleted": (True, "the watched alarm is deleted during the bake (fail closed)"),
    "insufficient_data": (False, "the alarm stays INSUFFICIENT_DATA (TreatMissingData missing, no data)"),
}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("case", list(TRIPS))
def test_what_trips(request, sm, rt, cloudwatch, factory, case):
    """docs/deployments.md#alarms "What trips", ALL_AT_ONCE with one instance per fleet: a transition into
    ALARM that reverted at once, an alarm already in ALARM when the window opens and a deleted
    alarm all roll back; INSUFFICIENT_DATA never trips. No call fails in any case."""
    expect_rollback, what = TRIPS[case]
    ep, c1 = make_endpoint(factory, count=1)
    c2 = make_config(factory, count=1)
    old, new = fleets(sm, c1, c2)
    name = unique(f"rb-{case.replace('_', '-')}")
    if case == "insufficient_data":
        put_alarm(cloudwatch, name, namespace="Guardrail/Tests", metric="Unused", dims={"Alarm": name},
                  treat_missing="missing")
        wait_alarm_state(cloudwatch, name, "INSUFFICIENT_DATA")
    else:
        # Period 60: a forced state holds ~60 s instead of reverting after a second (docs/cloudwatch-api.md#setalarmstate)
        put_alarm(cloudwatch, name, namespace="Guardrail/Tests", metric="Unused", dims={"Alarm": name},
                  period=60)
        wait_alarm_state(cloudwatch, name, "OK")
    if case == "preexisting":
        set_alarm(cloudwatch, name, reason=f"{name} pre-existing")
        assert alarm(cloudwatch, name)["StateValue"] == "ALARM"
    w = 3 if not expect_rollback else 30
    dc = {"BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": w}},
          "AutoRollbackConfiguration": auto_rollback(name)}
    dep = RbDeployment(sm, rt, ep, c2, {"DeploymentConfig": dc})
    with Reporter(request, f"what trips: {what}") as rep:
        try:
            dep.start()
            if case in ("blip", "deleted"):
                snap = dep.wait_baking(timeout=30, desc="the bake")
                dep.load.wait_successes(3, since=snap.t, version="v2", timeout=10)
                t_trip = time.monotonic()
                if case == "blip":
                    set_alarm(cloudwatch, name, "ALARM", reason=f"{name} blip")
                    set_alarm(cloudwatch, name, "OK", reason=f"{name} blip over")
                    states = [json.loads(i["HistoryData"])["newState"]["stateValue"]
                              for i in state_updates(cloudwatch, name)[:2]]
                    assert states == ["OK", "ALARM"], f"alarm history (newest first): {states}"
                else:
                    cloudwatch.delete_alarms(AlarmNames=[name])
                    assert not cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"]
            else:
                t_trip = dep.t_accept
            dep.finish(timeout=40)
        finally:
            dep.abort()
        rep.figures = dep.figures()
        rep.extra["trip_to_done_s"] = round(dep.t_done - t_trip, 2)
        dep.assert_no_failures()
        dep.assert_accept_state(old_config=c1, sent_dc=dc)
        v2 = [r for r in dep.load.snapshot() if r.ok and r.version == "v2"]
        rep.extra["v2_answers"] = len(v2)
        if v2:
            rep.extra["v2_answers_span_ms"] = round((max(r.t1 for r in v2) - min(r.t0 for r in v2)) * 1000, 1)
        if not expect_rollback:
            dep.check_snapshots(old=old, new=new, sent_dc=dc)
            dep.assert_success(new=new, sent_dc=dc)
            assert alarm(cloudwatch, name)["StateValue"] == "INSUFFICIENT_DATA"
            return
        dep.check_snapshots(old=old, new=new, sent_dc=dc, rollback=True, allowed_blue=ROLLBACK_BLUE)
        assert dep.t_done - t_trip < 20, f"rolled back {dep.t_done - t_trip:.1f}s after the trip (bake is 30 s)"
        if case == "deleted":
            d = dep.final
            assert d["EndpointStatus"] == "InService" and d["EndpointConfigName"] == c1, (
                f"ended {d['EndpointStatus']} on {d['EndpointConfigName']}; FailureReason={d.get('FailureReason')!r}")
            reason = d.get("FailureReason", "")
            assert reason.startswith("Update rolled back:") and len(reason) <= 1024, reason
            assert "PendingDeploymentSummary" not in d and d["LastDeploymentConfig"] == dc
            rep.extra["failure_reason"] = reason
        else:
            rep.extra["failure_reason"] = assert_rolled_back(
                dep, old_config=c1, sent_dc=dc, alarm_name=name, old_count=1,
                reason_contains=(f"{name} blip" if case == "blip" else f"{name} pre-existing",))
        assert_v1_after(dep)


# --- 4. latency alarm scoped to the new fleet ----------------------------------------------------


@pytest.mark.timeout(150)
def test_latency_alarm_on_new_fleet(request, sm, rt, cloudwatch, factory):
    """`ModelLatency` Average > 100 000 µs over 1 s with EndpointConfigName = the new config:
    a v2 answering in 300 ms trips it and the ALL_AT_ONCE update rolls back; the same alarm for a
    healthy v2 stays quiet and the next update succeeds. Zero failed calls in both."""
    ep, c1 = make_endpoint(factory, count=1)
    c_slow = make_config(factory, count=1, env={"LATENCY_MS": "300"})
    c_fast = make_config(factory, count=1, env={"LATENCY_MS": "0"})

    def latency_alarm(cfg: str) -> str:
        name = put_alarm(cloudwatch, unique("rb-lat"), metric="ModelLatency", dims=variant_dims(ep, cfg),
                         statistic="Average", threshold=100000.0, op="GreaterThanThreshold")
        wait_alarm_state(cloudwatch, name, "OK")
        return name

    with Reporter(request, "alarm rollback: ModelLatency on the new config (300 ms vs 0 ms), ALL_AT_ONCE") as rep:
        # slow v2 → rollback
        slow = latency_alarm(c_slow)
        dc = {"BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE",
                                                                        "WaitIntervalInSeconds": 30}},
              "AutoRollbackConfiguration": auto_rollback(slow)}
        dep = RbDeployment(sm, rt, ep, c_slow, {"DeploymentConfig": dc})
        try:
            dep.start()
            baking = dep.wait_baking(timeout=30, desc="the bake")
            dep.finish(timeout=40)
        finally:
            dep.abort()
        rep.figures = {"slow": dep.figures()}
        dep.assert_no_failures()
        old, new = fleets(sm, c1, c_slow)
        dep.check_snapshots(old=old, new=new, sent_dc=dc, rollback=True, allowed_blue=ROLLBACK_BLUE)
        rep.extra["failure_reason"] = assert_rolled_back(dep, old_config=c1, sent_dc=dc, alarm_name=slow,
                                                         old_count=1, reason_contains=("Threshold Crossed",))
        assert dep.t_done - baking.t < 25, f"rolled back {dep.t_done - baking.t:.1f}s into a 30 s bake"
        v2 = [r for r in dep.load.snapshot() if r.ok and r.version == "v2"]
        assert v2 and min(r.t1 - r.t0 for r in v2) >= 0.3, "v2 did not serve, or served faster than 300 ms"
        item = wait_to_alarm_item(cloudwatch, slow, after_wall=dep.wall_accept0)
        reason = json.loads(item["HistoryData"])["newState"]
        assert reason["stateReason"].startswith("Threshold Crossed"), reason
        # ModelLatency is in microseconds: the breaching datapoint is ~300 000
        srd = reason.get("stateReasonData") or {}
        srd = json.loads(srd) if isinstance(srd, str) else srd
        pts = srd.get("recentDatapoints") or []
        assert pts and all(250_000 <= p <= 2_000_000 for p in pts), f"ModelLatency datapoints {pts} (µs?)"
        assert_v1_after(dep)
        rep.extra["slow_alarm_datapoints_us"] = pts

        # healthy v2 → the same kind of alarm stays OK, the update succeeds
        fast = latency_alarm(c_fast)
        dc2 = {"BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE",
                                                                         "WaitIntervalInSeconds": 4}},
               "AutoRollbackConfiguration": auto_rollback(fast)}
        dep2 = RbDeployment(sm, rt, ep, c_fast, {"DeploymentConfig": dc2})
        try:
            dep2.start()
            dep2.finish(timeout=40)
        finally:
            dep2.abort()
        rep.figures["fast"] = dep2.figures()
        dep2.assert_no_failures()
        old, new = fleets(sm, c1, c_fast)
        dep2.check_snapshots(old=old, new=new, sent_dc=dc2)
        dep2.assert_success(new=new, sent_dc=dc2)
        assert not to_alarm_items(cloudwatch, fast), "the healthy fleet's latency alarm entered ALARM"
        a = alarm(cloudwatch, fast)
        assert a["StateValue"] == "OK", a
        # it was not vacuous: it evaluated real datapoints of the new fleet during the bake
        stats = cloudwatch.get_metric_statistics(
            Namespace="AWS/SageMaker", MetricName="ModelLatency",
            Dimensions=[{"Name": k, "Value": v} for k, v in variant_dims(ep, c_fast).items()],
            StartTime=dep2.wall_accept0 - 5, EndTime=time.time() + 1, Period=1,
            Statistics=["Average", "SampleCount"])["Datapoints"]
        assert sum(p["SampleCount"] for p in stats) >= 20, f"new-fleet ModelLatency datapoints: {stats}"
        assert all(p["Average"] < 100000 for p in stats), stats
        rep.extra["fast_datapoints"] = len(stats)


# --- 5. alarm → rollback latency -----------------------------------------------------------------


@pytest.mark.timeout(300)
def test_alarm_to_rollback_latency(request, sm, rt, cloudwatch, factory):
    """≥ 10 runs of: ALL_AT_ONCE with a 60 s bake (v2 serves 100 %), SetAlarmState(ALARM), wait for
    the rollback. Measured per run: from the alarm's StateUpdate "to ALARM" Timestamp (server wall
    clock) to the finish time of the LAST call answered by v2 (client wall clock, same machine).
    Target 250 ms (docs/deployments.md#rollback); the test fails above 1 s. No call may fail."""
    ep, c1 = make_endpoint(factory, count=1)
    c2 = make_config(factory, count=1)
    runs = []
    all_failures = []
    with Reporter(request, "alarm → last v2 answer, ALL_AT_ONCE N=1, W=60") as rep:
        for i in range(LATENCY_RUNS):
            name = custom_alarm(cloudwatch, unique("rb-lat-run"))
            dc = {"BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE",
                                                                            "WaitIntervalInSeconds": 60}},
                  "AutoRollbackConfiguration": auto_rollback(name)}
            dep = RbDeployment(sm, rt, ep, c2, {"DeploymentConfig": dc})
            try:
                dep.start(warmup=10)
                snap = dep.wait_baking(timeout=30, desc=f"run {i + 1}: the bake")
                dep.load.wait_successes(20, since=snap.t, version="v2", timeout=10)
                w0, w1 = set_alarm(cloudwatch, name, reason=f"latency run {i + 1}")
                dep.finish(timeout=20, tail_successes=10)
            finally:
                dep.abort()
            recs = dep.load.snapshot()
            all_failures += [r for r in recs if not r.ok]
            assert dep.final["EndpointStatus"] == "InService" and dep.final["EndpointConfigName"] == c1, (
                f"run {i + 1}: ended {dep.final['EndpointStatus']} on {dep.final['EndpointConfigName']} "
                f"(FailureReason {dep.final.get('FailureReason')!r})")
            item = wait_to_alarm_item(cloudwatch, name, after_wall=w0)
            t_alarm = item["Timestamp"].timestamp()
            last_v2 = max(r.w1 for r in recs if r.ok and r.version == "v2")
            first_v1_after = min((r.w0 for r in recs if r.ok and r.version == "v1" and r.w0 > t_alarm),
                                 default=None)
            runs.append({
                "run": i + 1,
                "alarm_at": utc(t_alarm),
                "set_alarm_state_sent": utc(w0),
                "set_alarm_state_answered": utc(w1),
                "last_v2_answer_finished": utc(last_v2),
                "latency_ms": round((last_v2 - t_alarm) * 1000, 1),
                "latency_from_set_answer_ms": round((last_v2 - w1) * 1000, 1),
                "v2_answers_after_alarm": sum(1 for r in recs if r.ok and r.version == "v2" and r.w1 > t_alarm),
                "first_v1_call_sent_after_alarm_ms": (round((first_v1_after - t_alarm) * 1000, 1)
                                                      if first_v1_after else None),
                "status_inservice_after_s": round(dep.t_done - dep.t_accept0, 2),
                "calls": len(recs),
            })
            # the history timestamp is the moment SetAlarmState was handled (ms precision)
            assert w0 - 0.002 <= t_alarm <= w1 + 0.002, (
                f"run {i + 1}: StateUpdate Timestamp {utc(t_alarm)} outside the SetAlarmState call "
                f"[{utc(w0)}, {utc(w1)}]")
            wait_alarm_state(cloudwatch, name, "OK", timeout=10)

        lat = [r["latency_ms"] for r in runs]
        summary = {"runs": len(runs), "min_ms": min(lat), "median_ms": round(statistics.median(lat), 1),
                   "max_ms": max(lat), "target_ms": 250, "limit_ms": LATENCY_MAX_MS,
                   "definition": "last v2 answer's client finish time minus the alarm's StateUpdate "
                                 "'to ALARM' Timestamp (ALL_AT_ONCE, N=1, 3 load threads, LATENCY_MS=2)",
                   "per_run": runs}
        OUT_DIR.mkdir(parents=True, exist_ok=True)
        (OUT_DIR / "rollback_latency.json").write_text(json.dumps(summary, indent=2) + "\n")
        print(f"\n[rollback-latency] min {summary['min_ms']} ms, median {summary['median_ms']} ms, "
              f"max {summary['max_ms']} ms over {len(runs)} runs: {lat}")
        rep.figures = {k: v for k, v in summary.items() if k != "per_run"}
        rep.extra["latencies_ms"] = lat

        assert not all_failures, (f"{len(all_failures)} failed call(s): "
                                  + "; ".join(r.code for r in all_failures[:10]))
        assert max(lat) < LATENCY_MAX_MS, f"alarm → last v2 answer up to {max(lat)} ms (limit {LATENCY_MAX_MS})"

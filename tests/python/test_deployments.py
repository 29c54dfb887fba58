"""UpdateEndpoint end to end under continuous load (docs/deployments.md, #retain-flags).

Every test keeps a background pool of boto3 `sagemaker-runtime` clients (retries OFF) invoking
the endpoint during the whole update and records (time, outcome, model_version, pid, variant);
a second thread polls DescribeEndpoint every 0.2 s. Checked per mode:
- zero failed invocations (also through a rollback);
- versions: v1 only → (mixed for canary / linear / rolling, v2 share rising) → v2 only once
  InService was observed; an atomic switch for no-DeploymentConfig and ALL_AT_ONCE;
- DescribeEndpoint during the update (docs/deployments.md#describeendpoint-during-an-update): Updating, the new EndpointConfigName, blue
  ProductionVariants (old desired weight/count), PendingDeploymentSummary with the green
  variants and their VariantStatus; the expected phases appear (`Creating` — green models start
  with STARTUP_DELAY_S=1 — and `Baking` for modes with W ≥ 1) and each plan step's green share;
- after success (docs/deployments.md#outcomes): InService, new config, no pending summary, LastDeploymentConfig echoed,
  the green fleet as the only one, blue model servers stopped.

Rolling rollback is alarm-driven (a later issue) and not tested here. Each test appends its
figures (invocations, failures, wall time, phases) to target/deploy-report.jsonl.
"""

from __future__ import annotations

import os
import signal
import time

import pytest

from deploy_support import (
    Deployment,
    Reporter,
    describe_failures,
    fleet_of,
    fleets,
    match_any,
    model_server_children,
)
from support import (
    Factory,
    all_endpoint_names,
    expect_error,
    invoke,
    msg_no_endpoint,
    msg_runtime_not_found,
    pid_alive,
    strip_meta,
    variant,
    wait_endpoint_gone,
    wait_endpoint_status,
    wait_pids_dead,
    wait_until,
)

BLUE_ENV = {"LATENCY_MS": "2"}
GREEN_ENV = {"LATENCY_MS": "2", "STARTUP_DELAY_S": "1"}
S = r"seconds?"  # "1 seconds" per the catalogue template; "1 second" tolerated


# --- helpers ----------------------------------------------------------------------------------


def make_endpoint(f: Factory, *, count: int, names=("AllTraffic",), env=None, **create_kwargs) -> tuple[str, str]:
    model = f.model(image="model:v1", env={**BLUE_ENV, **(env or {})})
    cfg = f.config(variants=[variant(model, n, count=count) for n in names])
    return f.endpoint(config=cfg, **create_kwargs), cfg


def make_config(f: Factory, *, count: int, names=("AllTraffic",), image="model:v2", env=None,
                startup_timeout: int | None = None) -> str:
    model = f.model(image=image, env={**GREEN_ENV, **(env or {})})
    return f.config(variants=[variant(model, n, count=count, startup_timeout=startup_timeout) for n in names])


def check_messages(dep: Deployment, allowed: dict[str, list[str]], required: list[tuple[str, str]]) -> None:
    """Pending VariantStatus messages: every message of a status listed in `allowed` matches one
    of its patterns; each (status, pattern) in `required` was seen."""
    pairs = {(st, msg) for s in dep.watcher.updating() for st, msg in s.pending_statuses()}
    for st, msg in sorted(pairs, key=str):
        if st in allowed:
            assert msg is not None and any(match_any(p, [msg]) for p in allowed[st]), (
                f"VariantStatus {st} with message {msg!r} matches none of {allowed[st]}")
    for st, pattern in required:
        assert any(s == st and m and match_any(pattern, [m]) for s, m in pairs), (
            f"never saw VariantStatus {st} with a message matching {pattern!r}; seen {sorted(pairs, key=str)}")


def run_and_report(request, dep: Deployment, *, timeout: float) -> dict:
    try:
        dep.start()
        dep.finish(timeout=timeout)
    finally:
        dep.abort()
    return dep.figures()


def standard_mode(request, sm, rt, factory, *, mode: str, dc: dict | None, old_count: int = 4,
                  new_count: int = 4, new_names=("AllTraffic",), gradual: bool,
                  required_pending: set[str], forbidden_pending: set[str] = frozenset(),
                  shares: list[float] | None = None, timeout: float = 60.0,
                  messages: tuple[dict, list] | None = None, extra_checks=None) -> Deployment:
    ep, c1 = make_endpoint(factory, count=old_count)
    c2 = make_config(factory, count=new_count, names=new_names)
    old, new = fleets(sm, c1, c2)
    kwargs = {"DeploymentConfig": dc} if dc is not None else {}
    dep = Deployment(sm, rt, ep, c2, kwargs, mode=mode)
    with Reporter(request, mode) as rep:
        rep.figures = run_and_report(request, dep, timeout=timeout)
        dep.assert_accept_state(old_config=c1, sent_dc=dc)
        dep.assert_no_failures()
        dep.check_snapshots(old=old, new=new, sent_dc=dc)
        dep.assert_success(new=new, sent_dc=dc)
        if dc is None:
            assert not dep.final.get("LastDeploymentConfig"), dep.final.get("LastDeploymentConfig")
        rep.extra.update(dep.assert_version_sequence(gradual=gradual))
        seen = dep.watcher.pending_statuses_seen()
        assert required_pending <= seen, f"pending VariantStatus never showed {sorted(required_pending - seen)}; seen {sorted(seen)}"
        assert not (forbidden_pending & seen), f"unexpected pending VariantStatus {sorted(forbidden_pending & seen)}"
        if shares is not None:
            rep.extra.update(dep.assert_step_shares(shares))
        dep.assert_shares_monotonic()
        if messages is not None:
            check_messages(dep, *messages)
        if extra_checks is not None:
            extra_checks(dep, old, new)
        # blue was torn down before InService
        wait_pids_dead(dep.old_pids, timeout=10, desc="blue model servers")
    return dep


def full_baking(n: int, w: int, t: int | None) -> list[tuple[str, str]]:
    req = [("Baking", rf"Baking for {w} {S} \(WaitIntervalInSeconds\) with traffic enabled on full capacity of {n} instance\(s\)\.")]
    if t:
        req.append(("Baking", rf"Baking for {t} {S} \(TerminationWaitInSeconds\) with traffic enabled on full capacity of {n} instance\(s\)\."))
    return req


# --- modes ------------------------------------------------------------------------------------


def test_plain_update_renamed_variant(request, sm, rt, factory):
    """No DeploymentConfig: provision green, one verified switch, blue torn down (docs/deployments.md#plain). The
    variant names may differ."""

    def variants_follow_versions(dep, old, new):
        for r in dep.load.snapshot():
            if r.ok:
                want = "AllTraffic" if r.version == "v1" else "Green"
                assert r.variant == want, f"{r.version} answered as variant {r.variant!r}"

    standard_mode(
        request, sm, rt, factory, mode="none (no DeploymentConfig), variant renamed", dc=None,
        new_names=("Green",), gradual=False, required_pending={"Creating"}, forbidden_pending={"Baking"},
        messages=({"Creating": [r"Launching 4 instance\(s\)\."]}, [("Creating", r"Launching 4 instance\(s\)\.")]),
        extra_checks=variants_follow_versions)


def test_all_at_once(request, sm, rt, factory):
    dc = {"BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 1},
                                    "TerminationWaitInSeconds": 1, "MaximumExecutionTimeoutInSeconds": 600}}
    standard_mode(
        request, sm, rt, factory, mode="ALL_AT_ONCE W=1 T=1 N=4", dc=dc, gradual=False,
        required_pending={"Creating", "Baking"}, shares=[1.0],
        messages=({"Creating": [r"Launching 4 instance\(s\)\."],
                   "ActivatingTraffic": [r"Activating traffic on full capacity of 4 instance\(s\)\."],
                   "Baking": [p for _, p in full_baking(4, 1, 1)]},
                  full_baking(4, 1, 1)))


def _canary_checks(c: int, n: int):
    def check(dep, old, new):
        # the whole green fleet is Ready before the first traffic step (docs/deployments.md#plans)
        for s in dep.watcher.updating():
            if any(st in ("ActivatingTraffic", "Baking") for st, _ in s.pending_statuses()):
                green = s.pending_variants()[0]
                assert green["CurrentInstanceCount"] == n, (
                    f"traffic step with only {green['CurrentInstanceCount']} of {n} green instances Ready")
    return check


def test_canary_instance_count(request, sm, rt, factory):
    dc = {"BlueGreenUpdatePolicy": {
        "TrafficRoutingConfiguration": {"Type": "CANARY", "WaitIntervalInSeconds": 1,
                                        "CanarySize": {"Type": "INSTANCE_COUNT", "Value": 1}},
        "TerminationWaitInSeconds": 1}}
    canary_bake = rf"Baking for 1 {S} \(WaitIntervalInSeconds\) with traffic enabled on canary capacity of 1 instance\(s\)\."
    standard_mode(
        request, sm, rt, factory, mode="CANARY INSTANCE_COUNT 1 of N=4, W=1 T=1", dc=dc, gradual=True,
        required_pending={"Creating", "Baking"}, shares=[0.25, 1.0],
        messages=({"Creating": [r"Launching 4 instance\(s\)\."],
                   "ActivatingTraffic": [r"Activating traffic on canary capacity of 1 instance\(s\)\.",
                                         r"Activating traffic on full capacity of 4 instance\(s\)\."],
                   "Baking": [canary_bake] + [p for _, p in full_baking(4, 1, 1)]},
                  [("Baking", canary_bake)] + full_baking(4, 1, 1)),
        extra_checks=_canary_checks(1, 4))


def test_canary_capacity_percent(request, sm, rt, factory):
    # 30 % of 4 = max(1, floor(1.2)) = 1 instance → the canary step carries 1/4 of the traffic
    dc = {"BlueGreenUpdatePolicy": {
        "TrafficRoutingConfiguration": {"Type": "CANARY", "WaitIntervalInSeconds": 1,
                                        "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 30}}}}
    canary_bake = rf"Baking for 1 {S} \(WaitIntervalInSeconds\) with traffic enabled on canary capacity of 1 instance\(s\)\."
    standard_mode(
        request, sm, rt, factory, mode="CANARY CAPACITY_PERCENT 30 of N=4 (1 instance), W=1", dc=dc, gradual=True,
        required_pending={"Creating", "Baking"}, shares=[0.25, 1.0],
        messages=({}, [("Baking", canary_bake)] + full_baking(4, 1, None)),
        extra_checks=_canary_checks(1, 4))


def test_linear(request, sm, rt, factory):
    # 25 % of 4 = 1 instance per step: 4 steps of 25 %, a 1 s bake after each
    dc = {"BlueGreenUpdatePolicy": {
        "TrafficRoutingConfiguration": {"Type": "LINEAR", "WaitIntervalInSeconds": 1,
                                        "LinearStepSize": {"Type": "CAPACITY_PERCENT", "Value": 25}}}}
    standard_mode(
        request, sm, rt, factory, mode="LINEAR 25% of N=4, W=1", dc=dc, gradual=True,
        required_pending={"Creating", "Baking"}, shares=[0.25, 0.5, 0.75, 1.0],
        messages=({"ActivatingTraffic": [r"Activating traffic on \d+ instance\(s\) \(step [1-4] of 4\)\.",
                                         r"Activating traffic on full capacity of 4 instance\(s\)\."]},
                  []),
        extra_checks=_canary_checks(1, 4))


@pytest.mark.timeout(180)
def test_rolling(request, sm, rt, factory):
    # batches of 1 instance: launch → Ready → shift its share → bake 1 s → stop one old instance
    dc = {"RollingUpdatePolicy": {"MaximumBatchSize": {"Type": "INSTANCE_COUNT", "Value": 1},
                                  "WaitIntervalInSeconds": 1}}

    def rolling_checks(dep, old, new):
        peak = 0
        green_counts = []
        for s in dep.watcher.updating():
            blue = s.desc["ProductionVariants"][0]["CurrentInstanceCount"]
            green = s.pending_variants()[0]["CurrentInstanceCount"]
            peak = max(peak, blue + green)
            green_counts.append(green)
            # peak running is N + b = 5, never the 2N of blue/green
            assert blue + green <= 5, (
                f"rolling ran {blue} old + {green} new Ready instances at +{s.t - dep.t_accept0:.2f}s (max N + b = 5)")
        assert green_counts == sorted(green_counts), f"green Ready count fell during a rolling update: {green_counts}"
        pairs = {(st, m) for s in dep.watcher.updating() for st, m in s.pending_statuses()}
        assert any(st in ("Updating", "Creating") and m == "Launching 1 instance(s)." for st, m in pairs), (
            f"no 'Launching 1 instance(s).' batch status seen: {sorted(pairs, key=str)}")

    standard_mode(
        request, sm, rt, factory, mode="ROLLING batch INSTANCE_COUNT 1 of N=4, W=1", dc=dc, gradual=True,
        required_pending={"Baking"}, shares=[0.25, 0.5, 0.75, 1.0], timeout=90,
        messages=({"ActivatingTraffic": [r"Activating traffic on 1 instance\(s\) \(batch [1-4] of 4\)\."]}, []),
        extra_checks=rolling_checks)


def test_redeploy_same_config(request, sm, rt, factory):
    """The current config name again (Guardrail's rule: a redeploy): a fresh fleet of the same
    model replaces the old one without a failed call."""
    ep, c1 = make_endpoint(factory, count=2)
    dep = Deployment(sm, rt, ep, c1, {}, mode="redeploy same config", new_version="v1")
    with Reporter(request, "none, redeploy of the current config") as rep:
        rep.figures = run_and_report(request, dep, timeout=60)
        dep.assert_accept_state(old_config=c1, sent_dc=None)
        dep.assert_no_failures()
        fleet = fleet_of(sm.describe_endpoint_config(EndpointConfigName=c1))
        dep.check_snapshots(old=fleet, new=fleet, sent_dc=None)
        dep.assert_success(new=fleet, sent_dc=None, new_image="model:v1")
        after = [r for r in dep.load.snapshot() if r.t0 >= dep.t_done and r.ok]
        assert after and all(r.version == "v1" for r in after)
        new_pids = {r.pid for r in after}
        assert not (new_pids & dep.old_pids), f"answers after the redeploy from old pids {new_pids & dep.old_pids}"
        wait_pids_dead(dep.old_pids, timeout=10, desc="old-fleet model servers")


# --- retain flags and back-to-back updates ------------------------------------------------------


def test_retain_all_variant_properties_then_second_update(request, sm, rt, factory):
    """docs/deployments.md#retain-flags: RetainAllVariantProperties keeps the desired count/weight set by
    UpdateEndpointWeightsAndCapacities; a second update right after the first works, and
    ExcludeRetainedVariantProperties takes the weight from the config again."""
    ep, c1 = make_endpoint(factory, count=1)
    sm.update_endpoint_weights_and_capacities(
        EndpointName=ep, DesiredWeightsAndCapacities=[{"VariantName": "AllTraffic", "DesiredInstanceCount": 2,
                                                       "DesiredWeight": 3.0}])
    wait_endpoint_status(sm, ep, "InService", timeout=40)
    c2 = make_config(factory, count=1)
    c3 = make_config(factory, count=1, env={"MODEL_VERSION": "v3"})
    retained = [{"VariantName": "AllTraffic", "Weight": 3.0, "Count": 2, "InstanceType": "ml.m5.xlarge"}]
    with Reporter(request, "none + RetainAllVariantProperties, then a 2nd update") as rep:
        dep1 = Deployment(sm, rt, ep, c2, {"RetainAllVariantProperties": True})
        rep.figures = {"first": run_and_report(request, dep1, timeout=60)}
        dep1.assert_accept_state(old_config=c1, sent_dc=None)
        dep1.assert_no_failures()
        dep1.check_snapshots(old=retained, new=retained, sent_dc=None)
        dep1.assert_success(new=retained, sent_dc=None)
        dep1.assert_version_sequence(gradual=False)

        # immediately: a second update, keeping the count but taking the weight from the config
        dep2 = Deployment(sm, rt, ep, c3, {"RetainAllVariantProperties": True,
                                           "ExcludeRetainedVariantProperties": [{"VariantPropertyType": "DesiredWeight"}]},
                          new_version="v3")
        rep.figures["second"] = run_and_report(request, dep2, timeout=60)
        new = [{"VariantName": "AllTraffic", "Weight": 1.0, "Count": 2, "InstanceType": "ml.m5.xlarge"}]
        dep2.assert_accept_state(old_config=c2, sent_dc=None)
        dep2.assert_no_failures()
        dep2.check_snapshots(old=retained, new=new, sent_dc=None, old_image="model:v2")
        dep2.assert_success(new=new, sent_dc=None)
        dep2.assert_version_sequence(gradual=False, old_version="v2", new_version="v3")


@pytest.mark.timeout(180)
def test_retain_deployment_config(request, sm, rt, factory):
    """RetainDeploymentConfig reuses the last effective DeploymentConfig: first the one given at
    CreateEndpoint (CANARY, visible as a 50 % canary step with N = 2), then — after an explicit
    ALL_AT_ONCE update — that one (no canary step)."""
    canary = {"BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {
        "Type": "CANARY", "WaitIntervalInSeconds": 1, "CanarySize": {"Type": "INSTANCE_COUNT", "Value": 1}}}}
    aao = {"BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 1}}}
    ep, c1 = make_endpoint(factory, count=2, DeploymentConfig=canary)
    assert sm.describe_endpoint(EndpointName=ep)["LastDeploymentConfig"] == canary
    c2 = make_config(factory, count=2)
    c3 = make_config(factory, count=2, env={"MODEL_VERSION": "v3"})
    c4 = make_config(factory, count=2, env={"MODEL_VERSION": "v4"})
    fleet = fleet_of(sm.describe_endpoint_config(EndpointConfigName=c2))
    with Reporter(request, "RetainDeploymentConfig (create-time CANARY, then ALL_AT_ONCE)") as rep:
        rep.figures = {}
        steps = [
            ("retain-create-time", c2, {"RetainDeploymentConfig": True}, canary, [0.5, 1.0], "model:v1", ("v1", "v2")),
            ("explicit-all-at-once", c3, {"DeploymentConfig": aao}, aao, [1.0], "model:v2", ("v2", "v3")),
            ("retain-last", c4, {"RetainDeploymentConfig": True}, aao, [1.0], "model:v2", ("v3", "v4")),
        ]
        for label, cfg, kwargs, effective, shares, old_image, (vo, vn) in steps:
            dep = Deployment(sm, rt, ep, cfg, kwargs, new_version=vn)
            rep.figures[label] = run_and_report(request, dep, timeout=60)
            dep.assert_no_failures()
            dep.check_snapshots(old=fleet, new=fleet, sent_dc=effective, old_image=old_image)
            dep.assert_success(new=fleet, sent_dc=effective)
            assert dep.final["LastDeploymentConfig"] == effective, label
            assert "Baking" in dep.watcher.pending_statuses_seen(), f"{label}: no Baking (W = 1) seen"
            dep.assert_step_shares(shares, new_version=vn)
            dep.assert_version_sequence(gradual=len(shares) > 1, old_version=vo, new_version=vn)


# --- failures: rollback, crash, cancellation ---------------------------------------------------


@pytest.mark.slow
@pytest.mark.timeout(360)
def test_green_never_healthy_rolls_back(request, server_factory):
    """A green model that never passes /ping (60 s window) fails the update: InService on the OLD
    config with a FailureReason naming the ping health check (docs/deployments.md#green-health, docs/deployments.md#rollback, docs/deployments.md#outcomes), for a plain update and
    a CANARY one at once. Blue serves every call meanwhile; green never receives any. A following
    update repairs it and clears FailureReason."""
    srv = server_factory(name="pingfail")
    sm, rt = srv.sm(), srv.rt()
    f = Factory(sm)
    try:
        canary = {"BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {
            "Type": "CANARY", "WaitIntervalInSeconds": 1, "CanarySize": {"Type": "INSTANCE_COUNT", "Value": 1}}}}
        runs = []
        for label, dc in (("plain", None), ("canary", canary)):
            ep, c1 = make_endpoint(f, count=1)
            c2 = make_config(f, count=1, env={"PING_FAIL": "1"}, startup_timeout=60)
            kwargs = {"DeploymentConfig": dc} if dc else {}
            runs.append((label, dc, ep, c1, c2, Deployment(sm, rt, ep, c2, kwargs, threads=2)))
        with Reporter(request, "rollback: green never passes /ping (plain + CANARY)") as rep:
            rep.figures = {}
            try:
                for *_, dep in runs:
                    dep.start()
                for label, *_, dep in runs:
                    dep.finish(timeout=150)
                    rep.figures[label] = dep.figures()
            finally:
                for *_, dep in runs:
                    dep.abort()
            for label, dc, ep, c1, c2, dep in runs:
                old, new = fleets(sm, c1, c2)
                dep.assert_accept_state(old_config=c1, sent_dc=dc)
                dep.assert_no_failures()
                dep.check_snapshots(old=old, new=new, sent_dc=dc, rollback=True,
                                    allowed_blue=("ActivatingTraffic", "Deleting"))
                # green never became Ready: no traffic step, no green instance counted
                for s in dep.watcher.updating():
                    g = s.pending_variants()[0]
                    assert g["CurrentInstanceCount"] == 0 and g["CurrentWeight"] == 0, f"{label}: {g!r}"
                assert dep.watcher.pending_statuses_seen() <= {"Creating"}, dep.watcher.pending_statuses_seen()
                assert all(r.version == "v1" for r in dep.load.snapshot() if r.ok), f"{label}: green answered"
                d = dep.final
                took = dep.t_done - dep.t_accept0
                assert d["EndpointStatus"] == "InService", f"{label}: ended {d['EndpointStatus']}"
                assert took >= 55, f"{label}: rolled back after {took:.0f}s, before the 60 s startup window ended"
                assert d["EndpointConfigName"] == c1, f"{label}: EndpointConfigName after rollback {d['EndpointConfigName']!r}"
                reason = d.get("FailureReason", "")
                assert reason.startswith("Update rolled back:"), f"{label}: FailureReason {reason!r}"
                for part in ("ping health check", "AllTraffic", c2):
                    assert part in reason, f"{label}: FailureReason lacks {part!r}: {reason!r}"
                assert len(reason) <= 1024
                assert "PendingDeploymentSummary" not in d
                if dc is not None:
                    assert d["LastDeploymentConfig"] == dc
                pv = d["ProductionVariants"]
                assert [v["VariantName"] for v in pv] == ["AllTraffic"]
                assert [i["SpecifiedImage"] for i in pv[0]["DeployedImages"]] == ["model:v1"]
                assert (pv[0]["CurrentInstanceCount"], pv[0]["DesiredInstanceCount"]) == (1, 1)
                assert "VariantStatus" not in pv[0]
                # blue kept serving with the same processes
                assert {r.pid for r in dep.load.snapshot() if r.ok} == dep.old_pids
            # green processes were stopped: only the blue ones remain
            blue = set().union(*(dep.old_pids for *_, dep in runs))
            wait_until(lambda: model_server_children(srv.pid) == blue, timeout=40,
                       desc=f"only the blue model servers {sorted(blue)} to remain "
                            f"(now {sorted(model_server_children(srv.pid))})")

            # a following update repairs it and clears FailureReason
            label, dc, ep, c1, c2, _ = runs[0]
            c3 = make_config(f, count=1)
            dep = Deployment(sm, rt, ep, c3, {}, threads=2)
            rep.figures["repair"] = run_and_report(request, dep, timeout=60)
            assert "FailureReason" not in dep.after_accept, "FailureReason not cleared when the next update was accepted"
            dep.assert_no_failures()
            _, new = fleets(sm, c1, c3)
            dep.assert_success(new=new, sent_dc=None)
    finally:
        f.cleanup()


def test_green_crash_during_bake_rolls_back(request, server_factory):
    """SIGKILL of the canary (green) instance during its bake fails the update (docs/deployments.md#green-health): one routing
    swap back to blue, InService on the old config with FailureReason, the blue processes are
    the same as before, every green process is stopped, and no call fails."""
    srv = server_factory(name="crash")
    sm, rt = srv.sm(), srv.rt()
    f = Factory(sm)
    try:
        dc = {"BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {
            "Type": "CANARY", "WaitIntervalInSeconds": 30, "CanarySize": {"Type": "INSTANCE_COUNT", "Value": 1}}}}
        ep, c1 = make_endpoint(f, count=2)
        c2 = make_config(f, count=2)
        old, new = fleets(sm, c1, c2)
        dep = Deployment(sm, rt, ep, c2, {"DeploymentConfig": dc})
        with Reporter(request, "rollback: canary instance SIGKILLed during the bake") as rep:
            try:
                dep.start()
                baking = dep.watcher.wait_for(
                    lambda s: any(st == "Baking" for st, _ in s.pending_statuses()), timeout=30,
                    desc="the canary bake")
                v2 = dep.load.wait_successes(1, since=baking.t, version="v2", timeout=10)
                victim = v2[-1].pid
                assert pid_alive(victim)
                dep.load.pause()            # nothing in flight when the process dies
                os.kill(victim, signal.SIGKILL)
                t_kill = time.monotonic()
                dep.load.resume()
                dep.finish(timeout=25)
            finally:
                dep.abort()
            rep.figures = dep.figures()
            rep.extra["rollback_after_kill_s"] = round(dep.t_done - t_kill, 2)
            dep.assert_accept_state(old_config=c1, sent_dc=dc)
            dep.assert_no_failures()
            dep.check_snapshots(old=old, new=new, sent_dc=dc, rollback=True,
                                allowed_blue=("ActivatingTraffic", "Deleting"))
            d = dep.final
            assert d["EndpointStatus"] == "InService", d["EndpointStatus"]
            assert d["EndpointConfigName"] == c1, f"rolled forward instead of back: {d['EndpointConfigName']!r}"
            assert dep.t_done - t_kill < 20, "the rollback waited for the bake to end instead of reacting to the crash"
            reason = d.get("FailureReason", "")
            assert reason.startswith("Update rolled back:") and len(reason) <= 1024, reason
            assert "PendingDeploymentSummary" not in d
            assert d["LastDeploymentConfig"] == dc
            pv = d["ProductionVariants"][0]
            assert [i["SpecifiedImage"] for i in pv["DeployedImages"]] == ["model:v1"]
            assert (pv["CurrentInstanceCount"], pv["DesiredInstanceCount"]) == (2, 2)
            # after the rollback: v1 only, served by the original blue processes
            after = [r for r in dep.load.snapshot() if r.t0 >= dep.t_done]
            assert after and all(r.ok and r.version == "v1" for r in after)
            assert {r.pid for r in after} <= dep.old_pids, "blue was replaced instead of kept"
            assert not [r for r in dep.load.snapshot() if r.ok and r.pid == victim and r.t0 > t_kill]
            wait_until(lambda: model_server_children(srv.pid) == dep.old_pids, timeout=40,
                       desc=f"only the blue model servers {sorted(dep.old_pids)} to remain "
                            f"(now {sorted(model_server_children(srv.pid))})")
    finally:
        f.cleanup()


def test_delete_endpoint_during_update(request, server_factory):
    """DeleteEndpoint during an update cancels it: both fleets stopped, the endpoint gone (docs/deployments.md#cancellation
    Cancellation); config and models stay."""
    srv = server_factory(name="cancel")
    sm, rt = srv.sm(), srv.rt()
    f = Factory(sm)
    try:
        dc = {"BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {
            "Type": "CANARY", "WaitIntervalInSeconds": 60, "CanarySize": {"Type": "INSTANCE_COUNT", "Value": 1}}}}
        ep, c1 = make_endpoint(f, count=2)
        c2 = make_config(f, count=2)
        dep = Deployment(sm, rt, ep, c2, {"DeploymentConfig": dc})
        with Reporter(request, "cancel: DeleteEndpoint during the canary bake") as rep:
            try:
                dep.start()
                dep.watcher.wait_for(lambda s: any(st == "Baking" for st, _ in s.pending_statuses()),
                                     timeout=30, desc="the canary bake")
                dep.load.wait_successes(1, version="v2", timeout=10)
                def four_children():
                    c = model_server_children(srv.pid)
                    return c if len(c) >= 4 else None

                children = wait_until(four_children, timeout=10, desc="4 model servers (2 blue + 2 green)")
                assert dep.old_pids <= children
                t_delete = time.monotonic()
                assert strip_meta(sm.delete_endpoint(EndpointName=ep)) == {}
                try:
                    status = sm.describe_endpoint(EndpointName=ep)["EndpointStatus"]
                    assert status == "Deleting", status
                except Exception as exc:  # noqa: BLE001 - already gone is fine
                    assert "Could not find endpoint" in str(exc), exc
                wait_endpoint_gone(sm, ep, timeout=60)
                t_gone = time.monotonic()
            finally:
                dep.abort()
            rep.figures = {
                "invocations_before_delete": len(dep.load.between(end=t_delete)),
                "failures_before_delete": len(dep.load.failures(end=t_delete)),
                "delete_to_gone_s": round(t_gone - t_delete, 2),
                "pending_statuses": sorted(dep.watcher.pending_statuses_seen()),
            }
            fails = dep.load.failures(end=t_delete)
            assert not fails, describe_failures(fails, dep.t_accept0)
            wait_pids_dead(children, timeout=40, desc="both fleets' model servers")
            assert model_server_children(srv.pid) == set()
            expect_error(sm.describe_endpoint, "ValidationException", message=msg_no_endpoint(ep), EndpointName=ep)
            assert ep not in all_endpoint_names(sm)
            expect_error(invoke, "ValidationError", message=msg_runtime_not_found(ep), rt=rt, name=ep)
            for cfg in (c1, c2):
                assert sm.describe_endpoint_config(EndpointConfigName=cfg)["EndpointConfigName"] == cfg
    finally:
        f.cleanup()

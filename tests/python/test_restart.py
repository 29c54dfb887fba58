"""Restarts on one data dir (docs/deployments.md#instances "On restart of Guardrail…", #crash-recovery): graceful
SIGTERM and a hard kill -9; endpoints come back InService, nothing is orphaned."""

from __future__ import annotations

import datetime as dt

from support import (
    Factory,
    expect_error,
    invoke_many,
    msg_no_endpoint,
    pid_alive,
    unique,
    variant,
    wait_endpoint_gone,
    wait_endpoint_status,
    wait_invocable,
    wait_pids_dead,
    wait_until,
)

# While instances are relaunched after a restart, invocations may briefly find no Ready
# instance (ServiceUnavailable, retried by clients); the endpoint must never be "not found".
RESTART_ALLOWED = ("ServiceUnavailable",)


def _setup(srv, *, count: int = 1):
    sm, rt = srv.sm(), srv.rt()
    f = Factory(sm)
    model = f.model(image="model:v2", env={"LATENCY_MS": "20"}, Tags=[{"Key": "keep", "Value": "me"}])
    cfg = f.config(variants=[variant(model, count=count)])
    ep = f.endpoint(unique("Restart-Ep"), config=cfg)
    pids = {a["pid"] for _, a in invoke_many(rt, ep, 8 * count, threads=4 * count)}
    before = {
        "model": sm.describe_model(ModelName=model),
        "config": sm.describe_endpoint_config(EndpointConfigName=cfg),
        "endpoint": sm.describe_endpoint(EndpointName=ep),
    }
    return model, cfg, ep, pids, before


def _same_resource(a: dict, b: dict) -> None:
    strip = lambda d: {k: v for k, v in d.items() if k != "ResponseMetadata"}  # noqa: E731
    assert strip(a) == strip(b)


def _wait_ready_count(sm, ep, n: int) -> dict:
    """InService with n Ready instances (Current = Desired = n); returns the description."""
    def ready():
        desc = sm.describe_endpoint(EndpointName=ep)
        pv = desc["ProductionVariants"][0]
        ok = desc["EndpointStatus"] == "InService" and (pv["CurrentInstanceCount"], pv["DesiredInstanceCount"]) == (n, n)
        return desc if ok else None
    return wait_until(ready, timeout=30, desc=f"endpoint {ep} InService with {n} ready instance(s)")


def _serving_pids(rt, ep, n: int = 16) -> set[int]:
    return {a["pid"] for _, a in invoke_many(rt, ep, n, threads=4)}


def test_sigterm_then_restart(server_factory, tmp_path):
    srv = server_factory(name="graceful")
    model, cfg, ep, old_pids, before = _setup(srv)

    rc = srv.terminate(timeout=30)
    assert rc == 0, f"guardrail exited with {rc} after SIGTERM\n{srv.log_tail()}"

    srv.start()
    sm, rt = srv.sm(), srv.rt()
    wait_endpoint_status(sm, ep, "InService", timeout=60)
    answer = wait_invocable(rt, ep, timeout=30, allowed_codes=RESTART_ALLOWED)
    assert answer["model_version"] == "v2"
    new_pids = _serving_pids(rt, ep)
    desc = _wait_ready_count(sm, ep, 1)

    # the stored resources are unchanged
    _same_resource(sm.describe_model(ModelName=model), before["model"])
    _same_resource(sm.describe_endpoint_config(EndpointConfigName=cfg), before["config"])
    assert desc["EndpointName"] == ep
    assert desc["EndpointArn"] == before["endpoint"]["EndpointArn"]
    assert desc["CreationTime"] == before["endpoint"]["CreationTime"]
    assert desc["EndpointConfigName"] == cfg
    assert sm.list_tags(ResourceArn=before["model"]["ModelArn"])["Tags"] == [{"Key": "keep", "Value": "me"}]

    # instances from the first run are either adopted (still serving) or gone
    for pid in old_pids - new_pids:
        wait_until(lambda: not pid_alive(pid), timeout=30, desc=f"old model server {pid} to exit")

    # the restarted server is fully functional: create and invoke a new endpoint
    f = Factory(sm)
    ep2 = f.simple_endpoint()
    assert wait_invocable(rt, ep2, timeout=10)["model_version"] == "v1"

    # deleting the endpoint stops every process it ever had
    sm.delete_endpoint(EndpointName=ep)
    wait_endpoint_gone(sm, ep)
    expect_error(sm.describe_endpoint, "ValidationException", message=msg_no_endpoint(ep), EndpointName=ep)
    wait_pids_dead(old_pids | new_pids, timeout=40)


def test_kill9_then_restart_leaves_no_orphans(server_factory):
    srv = server_factory(name="hardkill")
    model, cfg, ep, old_pids, before = _setup(srv, count=2)
    assert len(old_pids) == 2, f"expected two instances to answer, got {old_pids}"
    assert all(pid_alive(p) for p in old_pids)

    srv.kill()  # SIGKILL the server only; its model servers are in their own process groups

    srv.start()
    sm, rt = srv.sm(), srv.rt()
    wait_endpoint_status(sm, ep, "InService", timeout=60)
    wait_invocable(rt, ep, timeout=30, allowed_codes=RESTART_ALLOWED)
    _wait_ready_count(sm, ep, 2)

    # Every model server of the first run is either adopted by the new run (it answers
    # invocations) or has been stopped: none is left running unmanaged.
    serving = set()

    def settled():
        serving.update(_serving_pids(rt, ep, 24))
        return all((not pid_alive(p)) or p in serving for p in old_pids)

    wait_until(settled, timeout=30,
               desc=f"first-run model servers {sorted(old_pids)} to be adopted or stopped")
    current = _serving_pids(rt, ep, 32)
    assert len(current) <= 2, f"more processes answer than instances exist: {current}"

    # after DeleteEndpoint, every process ever seen for it is gone (adopted ones included)
    sm.delete_endpoint(EndpointName=ep)
    wait_endpoint_gone(sm, ep)
    wait_pids_dead(old_pids | serving | current, timeout=40)


def test_restart_keeps_deleted_state(server_factory):
    """Deletes are durable too: what was deleted before a restart stays deleted."""
    srv = server_factory(name="durable-delete")
    sm = srv.sm()
    f = Factory(sm)
    keep = f.model()
    gone = f.model()
    sm.delete_model(ModelName=gone)
    cfg = f.config(model=keep)
    srv.terminate()
    srv.start()
    sm = srv.sm()
    assert sm.describe_model(ModelName=keep)["ModelName"] == keep
    assert sm.describe_endpoint_config(EndpointConfigName=cfg)["EndpointConfigName"] == cfg
    expect_error(sm.describe_model, "ValidationException", ModelName=gone)
    created = sm.describe_model(ModelName=keep)["CreationTime"]
    assert created <= dt.datetime.now(dt.timezone.utc)

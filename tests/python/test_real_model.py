"""A real scikit-learn model, end to end, through unmodified boto3 (docs/containers.md).

One Guardrail with `[containers]` (podman's Docker-compatible API) and `[model_data]` on moto's
S3 server. The model image is a real inference server (`sklearn_container/serve.py`, built
FROM the python-sklearn test image): `serve` entrypoint, `/ping`, `/invocations` in CSV and
JSON. Models are trained here, pickled, packed as model.tar.gz and uploaded to moto; Guardrail
downloads and extracts them into `/opt/ml/model` (read-only) of every container.

- v1 (2 × ml.m5.large): CreateEndpoint → InService; InvokeEndpoint answers exactly
  `model.predict(X)` in CSV and JSON, honours `Accept`; the container contract's errors (415,
  406, 400, 500) come back as ModelError with the container's status and message; the
  containers run our image with the model mounted read-only and their stdout in the instance log.
- v2 (retrained): CANARY update (1 instance, 2 s bake, TerminationWait 0, auto-rollback alarm)
  under load: zero failed calls, every answer equals v1's or v2's predictions, v2's afterwards.
- v3 (predict raises on real rows): the same CANARY; an `InvocationModelErrors` alarm (1-second
  period) rolls it back to v2; the only failed calls are v3's own ModelErrors.
- DeleteEndpoint leaves no container with the endpoint's label.
- Model data that is missing, not an archive, truncated, or holds a `../evil` entry: the
  endpoint goes `Failed` with a reason naming the URL and the problem; no container is started
  and nothing is written outside the model directory.
- SIGTERM with a serving endpoint: the server exits 0 and leaves no container behind (last
  test; the module's teardown checks the same and removes leftovers by id).

The tests hand the endpoint on in file order (v1 → v2 → v3 → delete); a later one says so
when an earlier one did not get there.

Figures are printed on lines starting with `real-model:` (visible with `pytest -s`).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from botocore.exceptions import ClientError

import real_model_support as rms
import support
from deploy_support import Watcher
from real_model_support import (
    V3_ERROR,
    ContainerGuardrail,
    MotoS3,
    PredictionLoad,
    csv_body,
    json_body,
    parse_answer,
    say,
    wait_status,
)
from cw_support import wait_alarm_state
from rollback_support import ROLLED_BACK_PREFIX, put_alarm, wait_to_alarm_item

BUCKET = "guardrail-real-model"
INSTANCE_TYPE = "ml.m5.large"
COUNT = 2
CANARY_WAIT_S = 2
CREATE_TIMEOUT_S = 60.0
UPDATE_TIMEOUT_S = 60.0
GiB = 1024 ** 3


# --------------------------------------------------------------------------------------------
# fixtures


@pytest.fixture(scope="session")
def moto(tmp_path_factory):
    s3 = MotoS3(tmp_path_factory.mktemp("moto")).start()
    yield s3
    s3.stop()


@pytest.fixture(scope="session")
def inference_image():
    tag, built, seconds = rms.build_inference_image()
    say(f"image {tag} {'built' if built else 'reused (cached by content hash)'} in {seconds:.2f}s")
    return tag


@pytest.fixture(scope="module")
def models():
    v1, v2, v3 = rms.train_v1(), rms.train_v2(), rms.train_v3()
    X, _, _ = rms.iris()
    for m in (v1, v2):
        # Exact label equality between the venv's and the container's numpy is meaningful only
        # away from ties; iris is far from any (gap ≥ 0.02 in the class scores).
        assert m.min_margin(X) > 1e-6, f"{m.version}: a row is within {m.min_margin(X)} of a tie"
    assert v1.predict(X) != v2.predict(X)
    return SimpleNamespace(v1=v1, v2=v2, v3=v3, X=X)


@pytest.fixture(scope="module")
def bucket(moto, models):
    s3 = moto.client()
    s3.create_bucket(Bucket=BUCKET)
    objects = {
        "v1/model.tar.gz": rms.pack(models.v1.model),
        "v2/model.tar.gz": rms.pack(models.v2.model),
        "v3/model.tar.gz": rms.pack(models.v3.model),
        "broken/random-bytes/model.tar.gz": rms.random_bytes(),
        "broken/truncated/model.tar.gz": rms.truncated(rms.pack(models.v1.model)),
        "broken/escaping-entry/model.tar.gz": rms.with_escaping_entry(models.v1.model),
    }
    for key, data in objects.items():
        s3.put_object(Bucket=BUCKET, Key=key, Body=data)
    listed = {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]}
    assert listed == set(objects), listed
    return SimpleNamespace(url=lambda key: f"s3://{BUCKET}/{key}", sizes={k: len(v) for k, v in objects.items()})


@pytest.fixture(scope="module")
def gr(tmp_path_factory, moto):
    srv = ContainerGuardrail(tmp_path_factory.mktemp("guardrail-containers"), s3_url=moto.url)
    srv.start()
    srv.owners = set()       # guardrail.owner labels seen on this server's containers
    srv.endpoint_names = []  # every endpoint this module created
    yield srv
    # Teardown (normally test_sigterm_stops_the_containers has stopped it already): SIGTERM
    # stops the containers; nothing labelled for this server may remain. Leftovers are removed
    # by id (so none outlives the run) and reported as a failure.
    code = srv.terminate(timeout=40) if srv.running() else srv.proc.returncode
    left = leftovers(srv)
    for c in left:
        rms.podman("rm", "-f", c["Id"], check=False)
    assert not left, f"containers left after the server stopped: {[(c.get('Names'), c.get('State')) for c in left]}"
    assert code == 0, f"guardrail exited {code} after SIGTERM\n{srv.log_tail(40)}"


def leftovers(srv: ContainerGuardrail) -> list[dict]:
    """Containers carrying one of this module's endpoint names or this server's owner label."""
    seen: dict[str, dict] = {}
    labels = [f"guardrail.endpoint={n}" for n in srv.endpoint_names] + [f"guardrail.owner={o}" for o in srv.owners]
    for label in labels:
        for c in rms.containers(label):
            seen[c["Id"]] = c
    return list(seen.values())


@pytest.fixture(scope="module")
def state():
    """What the endpoint tests hand on to each other (they run in file order)."""
    return SimpleNamespace(endpoint=None, v1_config=None, v2_config=None, v1_mounts=None,
                           v2_mounts=None, alarm=None, policy=None, v2_done=False)


def endpoint_containers(gr: ContainerGuardrail, endpoint: str) -> list[dict]:
    """Inspect output of the endpoint's running containers (records their owner label)."""
    ids = [c["Id"] for c in rms.running(f"guardrail.endpoint={endpoint}")]
    out = rms.inspect(ids)
    for c in out:
        owner = (c.get("Config", {}).get("Labels") or {}).get("guardrail.owner")
        if owner:
            gr.owners.add(owner)
    return out


def model_mount(c: dict) -> dict:
    mounts = [m for m in c.get("Mounts", []) if m.get("Destination") == "/opt/ml/model"]
    assert len(mounts) == 1, f"container {c.get('Name')}: mounts {c.get('Mounts')!r}"
    return mounts[0]


def wait_fleet(gr: ContainerGuardrail, endpoint: str, *, n: int, mounts: set[str] | None = None,
               timeout: float = 30.0) -> list[dict]:
    """Exactly `n` containers of the endpoint exist (no leftovers, running or stopped), all
    running, and (if given) all mounting one of `mounts`."""
    def ok():
        every = rms.containers(f"guardrail.endpoint={endpoint}")
        cs = endpoint_containers(gr, endpoint)
        if len(every) != n or len(cs) != n:
            return None
        if mounts is not None and {model_mount(c)["Source"] for c in cs} - mounts:
            return None
        return cs
    try:
        return support.wait_until(ok, timeout=timeout, interval=0.2, desc=f"{n} containers of {endpoint}")
    except AssertionError as exc:
        raise AssertionError(f"{exc}\ncontainers: {rms.describe_containers(f'guardrail.endpoint={endpoint}')}"
                             f"{gr.context(endpoint)}") from None


def create_model(sm, image: str, url: str) -> str:
    name = support.unique("rm-model")
    sm.create_model(ModelName=name, PrimaryContainer={"Image": image, "ModelDataUrl": url},
                    ExecutionRoleArn=f"arn:aws:iam::{support.ACCOUNT}:role/guardrail-test")
    return name


def create_config(sm, model: str, count: int = COUNT) -> str:
    name = support.unique("rm-config")
    sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": model, "InitialInstanceCount": count,
        "InstanceType": INSTANCE_TYPE}])
    return name


def invoke_predictions(rt, endpoint: str, body: bytes, content_type: str, accept: str | None = None):
    kwargs = {"Accept": accept} if accept else {}
    resp = rt.invoke_endpoint(EndpointName=endpoint, Body=body, ContentType=content_type, **kwargs)
    raw = resp["Body"].read()
    return resp, parse_answer(raw, resp["ContentType"]), raw


def expect_model_error(rt, endpoint: str, body: bytes, content_type: str, *, original: int,
                       contains: str, accept: str | None = None) -> str:
    kwargs = {"Accept": accept} if accept else {}
    try:
        resp = rt.invoke_endpoint(EndpointName=endpoint, Body=body, ContentType=content_type, **kwargs)
    except ClientError as exc:
        code, status, msg = support.error_parts(exc)
        orig = exc.response.get("OriginalStatusCode")
        assert (code, status) == ("ModelError", 424), f"{content_type}: got {code} ({status}): {msg}"
        assert orig is not None and int(orig) == original, (
            f"{content_type}: OriginalStatusCode {orig!r}, want {original}; message {msg!r}")
        assert contains in msg, f"{content_type}: ModelError message {msg!r} lacks {contains!r}"
        return msg
    raise AssertionError(f"{content_type}: expected ModelError {original}, got {resp['Body'].read()[:200]!r}")


def canary_policy(alarm: str) -> dict:
    return {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {
                "Type": "CANARY", "WaitIntervalInSeconds": CANARY_WAIT_S,
                "CanarySize": {"Type": "INSTANCE_COUNT", "Value": 1}},
            "TerminationWaitInSeconds": 0},
        "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": alarm}]},
    }


def run_update(gr, sm, rt, endpoint: str, new_config: str, policy: dict, X, expected: dict[str, list],
               *, after_version: str):
    """UpdateEndpoint under load (3 threads); returns (load, watcher, times, final description)."""
    load = PredictionLoad(rt, endpoint, X, expected, threads=3).start()
    watcher = None
    try:
        load.wait_ok(20, timeout=30)
        t_acc0 = time.monotonic()
        sm.update_endpoint(EndpointName=endpoint, EndpointConfigName=new_config, DeploymentConfig=policy)
        t_acc = time.monotonic()
        watcher = Watcher(sm, endpoint, interval=0.1).start()
        try:
            last = watcher.wait_done(UPDATE_TIMEOUT_S)
        except AssertionError as exc:
            raise AssertionError(f"{exc}{gr.context(endpoint)}") from None
        t_done = last.t
        if last.status == "InService":
            load.wait_ok(30, since=time.monotonic(), version=after_version, timeout=30)
        t_end = time.monotonic()
    finally:
        load.stop()
        if watcher is not None:
            watcher.stop()
    return load, watcher, SimpleNamespace(acc0=t_acc0, acc=t_acc, done=t_done, end=t_end), last.desc


# --------------------------------------------------------------------------------------------
# 1. v1: create, predict, contract


@pytest.mark.timeout(150)
def test_v1_serves_exact_predictions(gr, bucket, inference_image, models, state):
    """CreateEndpoint (2 × ml.m5.large) on the real image with v1's model.tar.gz from moto →
    InService; CSV and JSON predictions equal model.predict(X) exactly, Accept is honoured, the
    contract's errors come back as ModelError; the containers run as documented."""
    sm, rt = gr.sm(), gr.rt()
    endpoint = support.unique("rm")
    gr.endpoint_names.append(endpoint)
    model = create_model(sm, inference_image, bucket.url("v1/model.tar.gz"))
    config = create_config(sm, model)
    t0 = time.monotonic()
    sm.create_endpoint(EndpointName=endpoint, EndpointConfigName=config)
    state.endpoint, state.v1_config = endpoint, config
    desc = wait_status(gr, sm, endpoint, "InService", timeout=CREATE_TIMEOUT_S)
    ready_s = time.monotonic() - t0
    say(f"CreateEndpoint -> InService (2 x {INSTANCE_TYPE}, download + extract + 2 containers + "
        f"/ping): {ready_s:.2f}s")
    pv = desc["ProductionVariants"][0]
    assert (pv["CurrentInstanceCount"], pv["DesiredInstanceCount"]) == (COUNT, COUNT), pv
    assert [i["SpecifiedImage"] for i in pv.get("DeployedImages", [])] == [inference_image], pv

    X, v1 = models.X, models.v1
    want = v1.predict(X)
    resp, got, _ = invoke_predictions(rt, endpoint, csv_body(X), "text/csv")
    assert resp["ContentType"] == "text/csv" and resp["InvokedProductionVariant"] == "AllTraffic", resp
    assert got == want, f"CSV predictions differ from model.predict(X) in {sum(a != b for a, b in zip(got, want))} rows"
    resp, got, _ = invoke_predictions(rt, endpoint, json_body(X), "application/json")
    assert resp["ContentType"] == "application/json", resp["ContentType"]
    assert got == want, "JSON predictions differ from model.predict(X)"
    # Accept is honoured in both directions; `*/*` means the request's type.
    resp, got, _ = invoke_predictions(rt, endpoint, csv_body(X), "text/csv", accept="application/json")
    assert (resp["ContentType"], got) == ("application/json", want), resp["ContentType"]
    resp, got, raw = invoke_predictions(rt, endpoint, json_body(X[:3]), "application/json", accept="text/csv")
    assert (resp["ContentType"], got) == ("text/csv", want[:3]), (resp["ContentType"], raw)
    assert raw == b"".join(f"{p}\n".encode() for p in want[:3]), raw
    resp, got, _ = invoke_predictions(rt, endpoint, json_body(X[:5]), "application/json; charset=utf-8",
                                      accept="*/*")
    assert (resp["ContentType"], got) == ("application/json", want[:5]), resp["ContentType"]
    # Every call answers the same (both instances, many requests).
    for i in range(20):
        kind = i % 2
        body, ctype = (csv_body(X), "text/csv") if kind == 0 else (json_body(X), "application/json")
        assert invoke_predictions(rt, endpoint, body, ctype)[1] == want, f"call {i} ({ctype})"

    # The contract's errors, through Guardrail as ModelError (424) with the container's status.
    expect_model_error(rt, endpoint, b"\x93NUMPY", "application/x-npy", original=415,
                       contains="unsupported content type")
    expect_model_error(rt, endpoint, csv_body(X[:2]), "text/csv", accept="application/x-protobuf",
                       original=406, contains="cannot answer in")
    expect_model_error(rt, endpoint, b"5.1,3.5,abc,0.2\n", "text/csv", original=400,
                       contains="'abc' is not a number")
    expect_model_error(rt, endpoint, b"5.1,3.5,1.4,0.2\n6.0,2.2\n", "text/csv", original=400,
                       contains="row 2 has 2 features")
    expect_model_error(rt, endpoint, b'{"instances": 3}', "application/json", original=400,
                       contains='"instances" must be a list')
    expect_model_error(rt, endpoint, b"{not json", "application/json", original=400,
                       contains="does not parse")
    expect_model_error(rt, endpoint, csv_body(X[:4, :3]), "text/csv", original=500,
                       contains="prediction failed: ValueError: X has 3 features, but LogisticRegression "
                                "is expecting 4 features as input")

    # The containers: our image, `serve`, the model read-only at /opt/ml/model, the labels,
    # limits from ml.m5.large (2 vCPUs capped at the host's, 8 GiB), published on loopback.
    cs = wait_fleet(gr, endpoint, n=COUNT)
    host_cpus = os.cpu_count() or 1
    for c in cs:
        name = c.get("Name")
        assert c["Config"]["Labels"].get("guardrail.endpoint") == endpoint, c["Config"]["Labels"]
        assert c["Config"]["Labels"].get("guardrail.variant") == "AllTraffic", c["Config"]["Labels"]
        assert c.get("ImageName") == inference_image, (name, c.get("ImageName"))
        assert c["Config"].get("Cmd") == ["serve"], (name, c["Config"].get("Cmd"))
        m = model_mount(c)
        assert m.get("RW") is False, f"{name}: /opt/ml/model is mounted read-write: {m!r}"
        assert (gr.data_dir / "models") in Path(m["Source"]).parents, m
        hc = c["HostConfig"]
        assert hc.get("Memory") == 8 * GiB, f"{name}: memory limit {hc.get('Memory')} (want 8 GiB for {INSTANCE_TYPE})"
        assert hc.get("NanoCpus") == min(2, host_cpus) * 10 ** 9, f"{name}: NanoCpus {hc.get('NanoCpus')}"
        bindings = (hc.get("PortBindings") or {}).get("8080/tcp") or []
        assert bindings and all(b.get("HostIp") == "127.0.0.1" for b in bindings), f"{name}: {bindings!r}"
        w = rms.podman("exec", c["Id"], "sh", "-c", "touch /opt/ml/model/x 2>&1; echo rc=$?", check=False)
        assert "Read-only file system" in w.stdout and "rc=1" in w.stdout, f"{name}: write to /opt/ml/model: {w.stdout!r}"
        ls = rms.podman("exec", c["Id"], "ls", "/opt/ml/model").stdout.split()
        assert ls == ["model.pkl"], f"{name}: /opt/ml/model holds {ls}"
    state.v1_mounts = {model_mount(c)["Source"] for c in cs}
    assert len(state.v1_mounts) == 1, f"the instances do not share one extracted model: {state.v1_mounts}"

    # The containers' stdout (our request log) is in the instance logs.
    def logged():
        text = "".join(p.read_text(errors="replace") for p in (gr.data_dir / "logs" / endpoint).glob("*.log"))
        return all(s in text for s in ("sklearn-serve: loaded LogisticRegression", "POST /invocations 200",
                                       "POST /invocations 415", "POST /invocations 500"))
    support.wait_until(logged, timeout=10, desc="the containers' request log lines in the instance logs")


# --------------------------------------------------------------------------------------------
# 2. canary to a retrained v2


@pytest.mark.timeout(150)
def test_canary_update_to_retrained_v2(gr, bucket, inference_image, models, state):
    """CANARY (1 instance, 2 s bake, TerminationWait 0, auto-rollback alarm) to v2 under load:
    succeeds, zero failed calls, every answer is exactly v1's or v2's predictions, v2's after."""
    assert state.endpoint, "no endpoint: test_v1_serves_exact_predictions did not create one"
    sm, rt, cw = gr.sm(), gr.rt(), gr.cloudwatch()
    endpoint = state.endpoint
    d = sm.describe_endpoint(EndpointName=endpoint)
    assert (d["EndpointStatus"], d["EndpointConfigName"]) == ("InService", state.v1_config), (
        d["EndpointStatus"], d["EndpointConfigName"], d.get("FailureReason"))
    state.alarm = put_alarm(cw, support.unique("rm-model-errors"), metric="InvocationModelErrors",
                            dims={"EndpointName": endpoint, "VariantName": "AllTraffic"},
                            statistic="Sum", threshold=1.0, period=1, evaluation_periods=1,
                            treat_missing="notBreaching")
    wait_alarm_state(cw, state.alarm, "OK", timeout=10)
    state.policy = canary_policy(state.alarm)
    v2_config = create_config(sm, create_model(sm, inference_image, bucket.url("v2/model.tar.gz")))

    X = models.X[::7]  # 22 rows, all three classes
    expected = {"v1": models.v1.predict(X), "v2": models.v2.predict(X)}
    load, watcher, t, final = run_update(gr, sm, rt, endpoint, v2_config, state.policy, X, expected,
                                         after_version="v2")
    during = load.between(t.acc0, t.done)
    after = load.between(t.done)
    fails = [c for c in load.snapshot() if not c.ok]
    say(f"canary update v1 -> v2: {t.done - t.acc0:.2f}s (UpdateEndpoint -> InService; "
        f"WaitIntervalInSeconds={CANARY_WAIT_S})")
    say(f"phase before update (v1): {rms.fmt_counts(load.between(end=t.acc0))}")
    say(f"phase canary v1->v2: {rms.fmt_counts(during)}")
    say(f"phase after v2 update: {rms.fmt_counts(after)}")
    say(f"phases seen: {sorted(watcher.pending_statuses_seen())}, green shares while baking: "
        f"{watcher.baking_shares()}")

    assert final is not None and final["EndpointStatus"] == "InService", (
        f"update ended {final and final['EndpointStatus']}: {final and final.get('FailureReason')!r}"
        f"{gr.context(endpoint)}")
    assert final["EndpointConfigName"] == v2_config, final["EndpointConfigName"]
    assert "FailureReason" not in final, final.get("FailureReason")
    assert not fails, (f"{len(fails)} failed call(s) of {len(load.snapshot())} during the v2 update: "
                       + "; ".join(c.describe(t.acc0) for c in fails[:8]))
    assert any(c.version == "v2" for c in during), "no v2 answer while the update ran (no canary traffic seen)"
    assert any(c.version == "v1" for c in during), "no v1 answer while the update ran"
    assert "Baking" in watcher.pending_statuses_seen(), sorted(watcher.pending_statuses_seen())
    assert after and all(c.version == "v2" for c in after), (
        f"calls after InService not all v2: {rms.counts(after)}")

    want = models.v2.predict(models.X)
    assert invoke_predictions(rt, endpoint, csv_body(models.X), "text/csv")[1] == want
    assert invoke_predictions(rt, endpoint, json_body(models.X), "application/json")[1] == want
    cs = wait_fleet(gr, endpoint, n=COUNT)
    state.v2_mounts = {model_mount(c)["Source"] for c in cs}
    assert len(state.v2_mounts) == 1 and not (state.v2_mounts & state.v1_mounts), (
        f"v2 containers mount {state.v2_mounts}, v1's mounted {state.v1_mounts}")
    state.v2_config, state.v2_done = v2_config, True


# --------------------------------------------------------------------------------------------
# 3. canary to a broken v3, rolled back by an alarm


@pytest.mark.timeout(150)
def test_broken_v3_rolled_back_by_model_error_alarm(gr, bucket, inference_image, models, state):
    """The same CANARY to v3, whose predict() raises on every real request (500 → ModelError):
    the InvocationModelErrors alarm trips and the update rolls back to v2 (InService, FailureReason
    naming the alarm); the only failed calls are v3's own ModelErrors."""
    assert state.v2_done, "the endpoint is not on v2: test_canary_update_to_retrained_v2 did not pass"
    sm, rt, cw = gr.sm(), gr.rt(), gr.cloudwatch()
    endpoint = state.endpoint
    wait_alarm_state(cw, state.alarm, "OK", timeout=10)
    v3_config = create_config(sm, create_model(sm, inference_image, bucket.url("v3/model.tar.gz")))

    X = models.X[::7]
    expected = {"v2": models.v2.predict(X)}
    w_acc = time.time()
    load, watcher, t, final = run_update(gr, sm, rt, endpoint, v3_config, state.policy, X, expected,
                                         after_version="v2")
    calls = load.snapshot()

    def v3_error(c) -> bool:
        return (not c.ok and c.code == "ModelError" and c.status == 424 and c.original_status == 500
                and V3_ERROR in c.message)

    v3_errors = [c for c in calls if v3_error(c)]
    other = [c for c in calls if not c.ok and not v3_error(c)]
    during = load.between(t.acc0, t.done)
    after = load.between(t.done)
    say(f"canary update v2 -> v3 (broken) -> rolled back: {t.done - t.acc0:.2f}s (UpdateEndpoint -> InService)")
    say(f"phase before update (v2): {rms.fmt_counts(load.between(end=t.acc0))}")
    say(f"phase canary v2->v3 + rollback: {rms.fmt_counts(during, v3_error, 'v3_model_errors')}")
    say(f"phase after rollback: {rms.fmt_counts(after)}")
    say(f"v3 ModelErrors={len(v3_errors)} other failures={len(other)} total requests={len(calls)}")

    assert final is not None, "endpoint vanished"
    assert final["EndpointStatus"] == "InService", (
        f"update ended {final['EndpointStatus']} (want InService after the rollback): "
        f"{final.get('FailureReason')!r}{gr.context(endpoint)}")
    assert final["EndpointConfigName"] == state.v2_config, (
        f"after the alarm the endpoint is on {final['EndpointConfigName']!r}, want v2's {state.v2_config!r} "
        f"(FailureReason {final.get('FailureReason')!r})")
    reason = final.get("FailureReason", "")
    assert reason.startswith(ROLLED_BACK_PREFIX) and state.alarm in reason, f"FailureReason {reason!r}"
    item = wait_to_alarm_item(cw, state.alarm, after_wall=w_acc)
    say(f"alarm {state.alarm} entered ALARM +{item['Timestamp'].timestamp() - w_acc:.2f}s after "
        f"UpdateEndpoint; FailureReason: {reason}")
    assert v3_errors, "no v3 ModelError seen, yet the alarm tripped"
    assert not other, (f"{len(other)} failed call(s) other than v3's own ModelErrors: "
                       + "; ".join(c.describe(t.acc0) for c in other[:8]))
    assert after and all(c.ok and c.version == "v2" for c in after), (
        f"calls after the rollback not all v2: {rms.counts(after)}")

    want = models.v2.predict(models.X)
    assert invoke_predictions(rt, endpoint, csv_body(models.X), "text/csv")[1] == want
    assert invoke_predictions(rt, endpoint, json_body(models.X), "application/json")[1] == want
    # v3's containers are gone; the two left are v2's.
    wait_fleet(gr, endpoint, n=COUNT, mounts=state.v2_mounts)


# --------------------------------------------------------------------------------------------
# 4. delete


def test_delete_endpoint_removes_its_containers(gr, state):
    assert state.endpoint, "no endpoint was created"
    sm = gr.sm()
    t0 = time.monotonic()
    sm.delete_endpoint(EndpointName=state.endpoint)
    support.wait_endpoint_gone(sm, state.endpoint, timeout=60)
    label = f"guardrail.endpoint={state.endpoint}"
    try:
        support.wait_until(lambda: not rms.containers(label), timeout=30, interval=0.2,
                           desc=f"no container labelled {label}")
    except AssertionError as exc:
        raise AssertionError(f"{exc}: {rms.describe_containers(label)}{gr.context(state.endpoint)}") from None
    say(f"DeleteEndpoint -> gone and no container left: {time.monotonic() - t0:.2f}s")


# --------------------------------------------------------------------------------------------
# 5. model data that cannot be used


BROKEN = {
    "missing-object": ("missing/model.tar.gz", ["the object does not exist"]),
    "random-bytes": ("broken/random-bytes/model.tar.gz", ["not a gzip-compressed tar archive"]),
    "truncated": ("broken/truncated/model.tar.gz", ["the archive is corrupt or truncated"]),
    "escaping-entry": ("broken/escaping-entry/model.tar.gz",
                       ['archive entry "../evil" leaves the model directory', "refusing to extract"]),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_unusable_model_data_fails_the_endpoint(gr, bucket, inference_image, case):
    key, phrases = BROKEN[case]
    url = bucket.url(key)
    sm = gr.sm()
    endpoint = support.unique(f"rm-{case}")
    gr.endpoint_names.append(endpoint)
    config = create_config(sm, create_model(sm, inference_image, url), count=1)
    t0 = time.monotonic()
    sm.create_endpoint(EndpointName=endpoint, EndpointConfigName=config)
    d = wait_status(gr, sm, endpoint, "Failed", timeout=30, fail_on=("InService",))
    reason = d.get("FailureReason", "")
    say(f"{case}: Failed after {time.monotonic() - t0:.2f}s; FailureReason: {reason}")
    assert f"model data {url}: " in reason, f"FailureReason does not name {url}: {reason!r}"
    for p in phrases:
        assert p in reason, f"FailureReason lacks {p!r}: {reason!r}"
    assert not rms.containers(f"guardrail.endpoint={endpoint}"), "a container was started for unusable model data"
    # Nothing of it was extracted: no cached model names this URL, and `../evil` landed nowhere.
    for record in (gr.data_dir / "models").glob("*/source.json"):
        assert url not in record.read_text(), f"{record} records {url} as a complete model"
    evil = rms.files_named(gr.data_dir.parent, "evil")  # the data dir's tree and its parent's
    evil += [p for p in gr.data_dir.parent.parent.glob("evil")]
    assert not evil, f"files named 'evil' outside the model directory: {evil}"
    debris = [p.name for p in (gr.data_dir / "models").glob(".*")] if (gr.data_dir / "models").is_dir() else []
    if debris:
        say(f"{case}: note: leftover staging entries under models/: {debris}")
    sm.delete_endpoint(EndpointName=endpoint)
    support.wait_endpoint_gone(sm, endpoint, timeout=30)


# --------------------------------------------------------------------------------------------
# 6. SIGTERM (last: it stops the module's server)


@pytest.mark.timeout(120)
def test_sigterm_stops_the_containers(gr, bucket, inference_image, models):
    """A serving endpoint's containers are stopped and removed when the server gets SIGTERM; it
    exits 0 and no container with its labels is left."""
    sm, rt = gr.sm(), gr.rt()
    endpoint = support.unique("rm-sigterm")
    gr.endpoint_names.append(endpoint)
    config = create_config(sm, create_model(sm, inference_image, bucket.url("v1/model.tar.gz")))
    sm.create_endpoint(EndpointName=endpoint, EndpointConfigName=config)
    wait_status(gr, sm, endpoint, "InService", timeout=CREATE_TIMEOUT_S)
    assert invoke_predictions(rt, endpoint, csv_body(models.X), "text/csv")[1] == models.v1.predict(models.X)
    ids = [c["Id"] for c in wait_fleet(gr, endpoint, n=COUNT)]
    t0 = time.monotonic()
    code = gr.terminate(timeout=40)
    stopped_s = time.monotonic() - t0
    assert code == 0, f"guardrail exited {code} after SIGTERM\n{gr.log_tail(40)}"
    left = leftovers(gr)
    say(f"SIGTERM with {len(ids)} serving containers -> exit {code} in {stopped_s:.2f}s; containers left: {len(left)}")
    assert not left, (f"containers left after SIGTERM: {[(c.get('Names'), c.get('State')) for c in left]}"
                      f"\n{gr.log_tail(30)}")

"""InvokeEndpoint (docs/sagemaker-api.md#invokeendpoint; docs/deployments.md#traffic-and-capacity, #invokeendpoint, #client-compatibility): pass-through, routing,
runtime errors, instance replacement after a crash."""

from __future__ import annotations

import os
import signal
import time
from collections import Counter

import pytest
from botocore.exceptions import ClientError, ConnectionClosedError, EndpointConnectionError, ReadTimeoutError

from support import (
    ACCOUNT,
    REGION,
    error_parts,
    expect_error,
    invoke,
    invoke_many,
    msg_runtime_not_found,
    pid_alive,
    unique,
    variant,
    wait_endpoint_status,
)

SIX_MIB = 6 * 1024 * 1024


@pytest.fixture(scope="module")
def basic_ep(module_factory):
    """One variant "AllTraffic", model v1, one instance; read-only for the tests using it."""
    return module_factory.simple_endpoint()


@pytest.fixture(scope="module")
def weighted_ep(module_factory):
    """VariantA (model v1, weight 1) and VariantB (model v2, weight 0); read-only."""
    return module_factory.two_variant_endpoint(weights=(1.0, 0.0))


# --- pass-through ---------------------------------------------------------------------------


def test_body_and_content_type_pass_through(rt, basic_ep):
    body = b'{"instances": [1, 2, 3]}'
    resp, answer = invoke(rt, basic_ep, body=body, ContentType="application/json")
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert answer["bytes"] == len(body)
    assert answer["content_type"] == "application/json"
    assert answer["model_version"] == "v1"
    assert resp["InvokedProductionVariant"] == "AllTraffic"
    assert "json" in resp["ContentType"]
    assert resp["ResponseMetadata"]["RequestId"]


def test_binary_body_and_custom_content_type(rt, basic_ep):
    body = bytes(range(256)) * 100
    _, answer = invoke(rt, basic_ep, body=body, ContentType="application/x-custom; charset=binary")
    assert answer["bytes"] == len(body)
    assert answer["content_type"] == "application/x-custom; charset=binary"


def test_csv_with_accept(rt, basic_ep):
    _, answer = invoke(rt, basic_ep, body="1,2,3\n4,5,6\n", ContentType="text/csv", Accept="application/json")
    assert answer["bytes"] == 12
    assert answer["content_type"] == "text/csv"


def test_custom_attributes_echo(rt, basic_ep):
    attrs = "trace-id=abc123,tenant=blue"
    resp, _ = invoke(rt, basic_ep, CustomAttributes=attrs)
    assert resp["CustomAttributes"] == attrs


def test_no_custom_attributes_when_not_sent(rt, basic_ep):
    resp, _ = invoke(rt, basic_ep)
    assert "CustomAttributes" not in resp


def test_inference_id_accepted(rt, basic_ep):
    resp, _ = invoke(rt, basic_ep, InferenceId="req-42")
    assert resp["InvokedProductionVariant"] == "AllTraffic"


def test_exactly_six_mib_is_accepted(rt, basic_ep):
    _, answer = invoke(rt, basic_ep, body=b"a" * SIX_MIB, ContentType="application/octet-stream")
    assert answer["bytes"] == SIX_MIB


def test_oversize_body_rejected(rt, basic_ep):
    exc = expect_error(lambda: rt.invoke_endpoint(EndpointName=basic_ep, Body=b"a" * (SIX_MIB + 1)),
                       "ValidationError", regex=r"^Request \S+ has oversize body\.$")
    assert exc.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    # the endpoint is unaffected
    _, answer = invoke(rt, basic_ep)
    assert answer["model_version"] == "v1"


def test_invoke_case_insensitive_endpoint_name(rt, basic_ep):
    resp, _ = invoke(rt, basic_ep.upper())
    assert resp["InvokedProductionVariant"] == "AllTraffic"


# --- routing ----------------------------------------------------------------------------------


def test_weight_zero_variant_gets_no_traffic(rt, weighted_ep):
    results = invoke_many(rt, weighted_ep, 60)
    variants = Counter(resp["InvokedProductionVariant"] for resp, _ in results)
    assert variants == {"VariantA": 60}
    assert {answer["model_version"] for _, answer in results} == {"v1"}


def test_target_variant_reaches_weight_zero_variant(rt, weighted_ep):
    for _ in range(10):
        resp, answer = invoke(rt, weighted_ep, TargetVariant="VariantB")
        assert resp["InvokedProductionVariant"] == "VariantB"
        assert answer["model_version"] == "v2"
    resp, answer = invoke(rt, weighted_ep, TargetVariant="VariantA")
    assert resp["InvokedProductionVariant"] == "VariantA"
    assert answer["model_version"] == "v1"


def test_unknown_target_variant(rt, weighted_ep):
    expect_error(invoke, "ValidationError",
                 message=f'Target variant "Nope" is not present in endpoint "{weighted_ep}".',
                 rt=rt, name=weighted_ep, TargetVariant="Nope")


def test_target_variant_bad_pattern(rt, weighted_ep):
    expect_error(invoke, "ValidationError", prefix="1 validation error detected: ",
                 rt=rt, name=weighted_ep, TargetVariant="bad_variant!")


@pytest.mark.parametrize("kwargs", [
    {"TargetModel": "model.tar.gz"},
    {"InferenceComponentName": "component-1"},
    {"SessionId": "NEW_SESSION"},
], ids=["TargetModel", "InferenceComponentName", "SessionId"])
def test_unsupported_headers(rt, basic_ep, kwargs):
    exc = expect_error(invoke, "ValidationError", rt=rt, name=basic_ep, **kwargs)
    assert "not supported" in exc.response["Error"]["Message"].lower()


def test_weights_three_to_one(rt, factory):
    ep = factory.two_variant_endpoint(weights=(3.0, 1.0))
    results = invoke_many(rt, ep, 400, threads=4)
    counts = Counter(resp["InvokedProductionVariant"] for resp, _ in results)
    share_a = counts["VariantA"] / 400
    assert 0.60 <= share_a <= 0.90, f"VariantA share {share_a:.2%} for weights 3:1 ({dict(counts)})"
    # the answering model matches the reported variant
    for resp, answer in results:
        assert answer["model_version"] == {"VariantA": "v1", "VariantB": "v2"}[resp["InvokedProductionVariant"]]


def test_uewac_weight_change_changes_routing(sm, rt, factory):
    ep = factory.two_variant_endpoint(weights=(3.0, 1.0))
    sm.update_endpoint_weights_and_capacities(EndpointName=ep, DesiredWeightsAndCapacities=[
        {"VariantName": "VariantA", "DesiredWeight": 1.0},
        {"VariantName": "VariantB", "DesiredWeight": 3.0},
    ])
    desc = wait_endpoint_status(sm, ep, "InService", timeout=30)
    weights = {v["VariantName"]: (v["CurrentWeight"], v["DesiredWeight"]) for v in desc["ProductionVariants"]}
    assert weights == {"VariantA": (1.0, 1.0), "VariantB": (3.0, 3.0)}
    results = invoke_many(rt, ep, 400, threads=4)
    counts = Counter(resp["InvokedProductionVariant"] for resp, _ in results)
    share_b = counts["VariantB"] / 400
    assert 0.60 <= share_b <= 0.90, f"VariantB share {share_b:.2%} after weights 1:3 ({dict(counts)})"

    # weight 0 for B: all traffic to A
    sm.update_endpoint_weights_and_capacities(EndpointName=ep, DesiredWeightsAndCapacities=[
        {"VariantName": "VariantB", "DesiredWeight": 0.0}])
    wait_endpoint_status(sm, ep, "InService", timeout=30)
    counts = Counter(r["InvokedProductionVariant"] for r, _ in invoke_many(rt, ep, 50))
    assert counts == {"VariantA": 50}


# --- runtime errors ---------------------------------------------------------------------------


def test_unknown_endpoint(rt):
    name = unique("no-such-endpoint")
    expect_error(invoke, "ValidationError", message=msg_runtime_not_found(name), rt=rt, name=name)


def test_model_error(sm, rt, factory):
    name = unique("err-ep")  # lower-case, so the log group name is unambiguous
    factory.simple_endpoint(env={"ERROR_RATE": "1"}, name=name)
    exc = expect_error(invoke, "ModelError", status=424, rt=rt, name=name, body=b'{"x": 1}',
                       ContentType="application/json")
    resp = exc.response
    assert resp["OriginalStatusCode"] == 500
    assert "OriginalMessage" in resp
    assert resp["LogStreamArn"] == f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/sagemaker/Endpoints/{name}"
    assert resp["Error"]["Message"].startswith('Received server error (500) from primary with message "'), \
        resp["Error"]["Message"]
    # a failing model does not take the endpoint down
    assert sm.describe_endpoint(EndpointName=name)["EndpointStatus"] == "InService"
    exc = expect_error(invoke, "ModelError", status=424, rt=rt, name=name)
    assert exc.response["OriginalStatusCode"] == 500


def test_model_error_is_not_retried(server, factory):
    # botocore's standard mode must not retry a 424: with 3 attempts allowed, one request is made.
    name = factory.simple_endpoint(env={"ERROR_RATE": "1"})
    rt3 = server.rt(max_attempts=3)
    exc = expect_error(invoke, "ModelError", status=424, rt=rt3, name=name)
    assert exc.response["ResponseMetadata"].get("RetryAttempts", 0) == 0


def test_invoke_while_creating(sm, rt, factory):
    ep = factory.simple_endpoint(env={"STARTUP_DELAY_S": "20"}, wait=False)
    assert sm.describe_endpoint(EndpointName=ep)["EndpointStatus"] == "Creating"
    expect_error(invoke, "ValidationError", message=msg_runtime_not_found(ep), rt=rt, name=ep)
    assert sm.describe_endpoint(EndpointName=ep)["EndpointStatus"] == "Creating"


# --- instance replacement ---------------------------------------------------------------------

# Errors a client may see while the only instance is replaced: all retryable in botocore's
# standard mode and all mean "nothing reached a model". A ModelError or ValidationError here
# would be a bug (the endpoint never stops existing, and the loop kills between requests, so no
# request was in flight in the killed process).
RETRYABLE_CODES = {"ServiceUnavailable", "ThrottlingException", "502", "503", "504"}


def test_instance_replaced_after_crash(sm, rt, factory):
    ep = factory.simple_endpoint()
    _, first = invoke(rt, ep)
    old_pid = first["pid"]
    assert pid_alive(old_pid)
    os.kill(old_pid, signal.SIGKILL)

    errors: list[str] = []
    new_pid = None
    deadline = time.monotonic() + 60
    while new_pid is None:
        try:
            _, answer = invoke(rt, ep)
            assert answer["pid"] != old_pid, "answer from a process that was SIGKILLed"
            new_pid = answer["pid"]
        except ClientError as exc:
            code, status, msg = error_parts(exc)
            assert code in RETRYABLE_CODES, f"non-retryable error during replacement: {code} ({status}) {msg}"
            errors.append(code)
        except (ConnectionClosedError, EndpointConnectionError, ReadTimeoutError) as exc:
            errors.append(type(exc).__name__)
        status = sm.describe_endpoint(EndpointName=ep)["EndpointStatus"]
        assert status == "InService", f"endpoint left InService during replacement: {status}"
        assert time.monotonic() < deadline, f"no replacement instance within 60 s; errors: {Counter(errors)}"
        if new_pid is None:
            time.sleep(0.2)

    assert not pid_alive(old_pid)
    for i in range(50):
        try:
            _, answer = invoke(rt, ep)
        except ClientError as exc:
            pytest.fail(f"invocation {i + 1}/50 after replacement failed: {error_parts(exc)}")
        assert answer["pid"] == new_pid
    desc = sm.describe_endpoint(EndpointName=ep)
    assert desc["EndpointStatus"] == "InService"
    pv = desc["ProductionVariants"][0]
    assert (pv["CurrentInstanceCount"], pv["DesiredInstanceCount"]) == (1, 1)


def test_crash_of_one_of_two_instances_keeps_serving(server, sm, factory):
    # With a second Ready instance a crash costs (almost) nothing: a refused connection is
    # retried on another instance (docs/deployments.md#traffic-and-capacity). A client with botocore's standard
    # retries (3 attempts) therefore sees every invocation succeed.
    rt = server.rt(max_attempts=3)
    model = factory.model(env={"LATENCY_MS": "50"})
    cfg = factory.config(variants=[variant(model, count=2)])
    ep = factory.endpoint(config=cfg)
    pids = {a["pid"] for _, a in invoke_many(rt, ep, 16, threads=8)}
    assert len(pids) == 2, pids
    victim = sorted(pids)[0]
    os.kill(victim, signal.SIGKILL)
    seen: set[int] = set()
    deadline = time.monotonic() + 60
    while True:
        for _, answer in invoke_many(rt, ep, 8, threads=4):
            assert answer["pid"] != victim
            seen.add(answer["pid"])
        if len(seen - pids) >= 1 and len(seen) >= 2:
            break
        assert time.monotonic() < deadline, f"no replacement for pid {victim} within 60 s; seen {seen}"
        time.sleep(0.2)
    desc = wait_endpoint_status(sm, ep, "InService")
    pv = desc["ProductionVariants"][0]
    assert (pv["CurrentInstanceCount"], pv["DesiredInstanceCount"]) == (2, 2)

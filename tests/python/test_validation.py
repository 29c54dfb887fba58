"""Cross-cutting validation: the constraint-violation message format (docs/sagemaker-api.md#validation-messages),
validation order and "a rejected request changes nothing" (docs/sagemaker-api.md#updateendpoint-rules), errors raised before an
operation runs (docs/sagemaker-api.md#errors-before-dispatch), and the error framing botocore relies on (docs/sagemaker-api.md#error-codes, docs/sagemaker-api.md#error-codes).

Operation-specific semantic errors live with their operation (test_models.py, ...)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from support import (
    ACCESS_KEY,
    REGION,
    SECRET_KEY,
    all_config_names,
    all_endpoint_names,
    all_model_names,
    constraint_msg,
    expect_error,
    model_arn,
    msg_no_config,
    unique,
    variant,
)

NAME_PATTERN = "[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"
PATTERN_MSG = f"Member must satisfy regular expression pattern: {NAME_PATTERN}"


# --- docs/sagemaker-api.md#validation-messages message format ----------------------------------------------------------------------


def test_pattern_message_exact(sm, factory):
    """The example of docs/sagemaker-api.md#validation-messages, verbatim; it also wins over the missing config (stage 1 before 2)."""
    before = all_endpoint_names(sm)
    expect_error(sm.create_endpoint, "ValidationException",
                 message="1 validation error detected: Value 'bad_name!' at 'endpointName' failed to satisfy "
                         "constraint: Member must satisfy regular expression pattern: "
                         "[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}",
                 EndpointName="bad_name!", EndpointConfigName=unique("nocfg"))
    assert all_endpoint_names(sm) == before


def test_empty_name_fails_the_pattern(sm):
    # min length is 0 in the model, so "" reaches the server and must fail the pattern only
    expect_error(sm.describe_endpoint, "ValidationException",
                 message=constraint_msg("''", "endpointName", PATTERN_MSG), EndpointName="")


def test_describe_with_bad_name(sm):
    expect_error(sm.describe_endpoint_config, "ValidationException",
                 message=constraint_msg("'a_b'", "endpointConfigName", PATTERN_MSG), EndpointConfigName="a_b")


def test_length_and_pattern_both_violated(sm, factory):
    cfg = factory.config()
    name = "a" * 64  # too long, and also beyond the pattern's {0,62}
    exc = expect_error(sm.create_endpoint, "ValidationException",
                       prefix="2 validation errors detected: ",
                       EndpointName=name, EndpointConfigName=cfg)
    msg = exc.response["Error"]["Message"]
    items = msg[len("2 validation errors detected: "):].split("; ")
    assert sorted(items) == sorted([
        f"Value '{name}' at 'endpointName' failed to satisfy constraint: "
        "Member must have length less than or equal to 63",
        f"Value '{name}' at 'endpointName' failed to satisfy constraint: {PATTERN_MSG}",
    ]), msg
    assert name not in all_endpoint_names(sm)


def test_multiple_violations_joined(sm, factory):
    # four violations in one request: counted, each rendered with its path, joined with "; "
    model = factory.model()
    exc = expect_error(
        sm.create_endpoint_config, "ValidationException", prefix="4 validation errors detected: ",
        EndpointConfigName="bad.config",
        ProductionVariants=[variant(model, "ok"),
                            variant(model, "bad_variant", instance_type="ml.nope",
                                    ContainerStartupHealthCheckTimeoutInSeconds=3601)],
    )
    items = exc.response["Error"]["Message"][len("4 validation errors detected: "):].split("; ")
    assert len(items) == 4
    assert "Value 'bad.config' at 'endpointConfigName' failed to satisfy constraint: " + PATTERN_MSG in items
    assert ("Value 'bad_variant' at 'productionVariants.2.member.variantName' failed to satisfy constraint: "
            + PATTERN_MSG) in items
    assert ("Value 3601 at 'productionVariants.2.member.containerStartupHealthCheckTimeoutInSeconds' failed to "
            "satisfy constraint: Member must have value less than or equal to 3600") in items
    assert any(i.startswith("Value 'ml.nope' at 'productionVariants.2.member.instanceType' failed to satisfy "
                            "constraint: Member must satisfy enum value set: [") for i in items)
    assert "bad.config" not in all_config_names(sm)


def test_missing_required_member_server_side(sm, sm_novalidate):
    name = unique("e")
    expect_error(sm_novalidate.create_endpoint, "ValidationException",
                 message=constraint_msg("null", "endpointConfigName", "Member must not be null"),
                 EndpointName=name)
    assert name not in all_endpoint_names(sm)


def test_missing_required_nested_member_server_side(sm, sm_novalidate, factory):
    name = unique("c")
    v = variant(factory.model())
    del v["VariantName"]
    expect_error(sm_novalidate.create_endpoint_config, "ValidationException",
                 message=constraint_msg("null", "productionVariants.1.member.variantName", "Member must not be null"),
                 EndpointConfigName=name, ProductionVariants=[v])
    assert name not in all_config_names(sm)


def test_missing_model_name_server_side(sm_novalidate):
    expect_error(sm_novalidate.describe_model, "ValidationException",
                 message=constraint_msg("null", "modelName", "Member must not be null"))


def test_semantic_errors_come_after_constraints(sm, factory):
    # a valid name with a missing config: stage 2 answers with the existence error
    name = unique("e")
    cfg = unique("nocfg")
    expect_error(sm.create_endpoint, "ValidationException", message=msg_no_config(cfg),
                 EndpointName=name, EndpointConfigName=cfg)


def test_null_members_are_absent(server):
    """Guardrail's rule: `null` = absent, unknown members ignored (raw JSON request)."""
    name = unique("rawnull")
    status, headers, body = raw_call(server, "CreateModel", {
        "ModelName": name, "PrimaryContainer": {"Image": "model:v1", "ModelDataUrl": None},
        "ExecutionRoleArn": None, "SomeFutureMember": {"x": 1},
    })
    assert status == 200, body
    assert json.loads(body)["ModelArn"] == model_arn(name)
    status, _, body = raw_call(server, "DescribeModel", {"ModelName": name})
    desc = json.loads(body)
    assert "ExecutionRoleArn" not in desc
    assert desc["PrimaryContainer"] == {"Image": "model:v1"}
    assert isinstance(desc["CreationTime"], (int, float)), "timestamps are epoch seconds"
    raw_call(server, "DeleteModel", {"ModelName": name})


# --- raw protocol -----------------------------------------------------------------------------


def raw_call(server, target: str, payload, *, prefix: str = "SageMaker", content_type="application/x-amz-json-1.1",
             raw_body: bytes | None = None):
    """A signed awsJson1_1 request; returns (status, headers, body text)."""
    body = raw_body if raw_body is not None else json.dumps(payload).encode()
    req = AWSRequest(method="POST", url=server.url + "/", data=body, headers={
        "X-Amz-Target": f"{prefix}.{target}",
        "Content-Type": content_type,
    })
    SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), "sagemaker", REGION).add_auth(req)
    prepared = req.prepare()
    http_req = urllib.request.Request(prepared.url, data=body, method="POST", headers=dict(prepared.headers))
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(http_req, timeout=30) as resp:
            return resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read().decode()


def _error_type(body: str) -> str:
    t = json.loads(body)["__type"]
    return t.split("#")[-1].split(":")[0]


def test_success_framing(server):
    status, headers, body = raw_call(server, "ListModels", {"MaxResults": 1})
    assert status == 200
    assert headers["content-type"].startswith("application/x-amz-json-1.1")
    assert headers.get("x-amzn-requestid")
    assert "Models" in json.loads(body)


def test_error_framing(server):
    name = unique("nomodel")
    status, headers, body = raw_call(server, "DescribeModel", {"ModelName": name})
    assert status == 400
    assert headers["content-type"].startswith("application/x-amz-json-1.1")
    assert headers.get("x-amzn-requestid")
    doc = json.loads(body)
    assert _error_type(body) == "ValidationException"
    assert (doc.get("message") or doc.get("Message")) == f'Could not find model "{model_arn(name)}".'


def test_empty_object_body_accepted(server):
    status, _, body = raw_call(server, "ListEndpoints", {})
    assert status == 200, body


def test_unknown_operation(server):
    status, _, body = raw_call(server, "FrobnicateEndpoint", {})
    assert status == 400
    assert _error_type(body) == "UnknownOperationException"


def test_invalid_json_body(server):
    status, _, body = raw_call(server, "ListModels", None, raw_body=b"{not json")
    assert status == 400
    assert _error_type(body) == "SerializationException"


def test_wrong_json_type(server):
    status, _, body = raw_call(server, "CreateModel", {"ModelName": 12345, "PrimaryContainer": "model:v1"})
    assert status == 400
    assert _error_type(body) == "SerializationException"


def test_integers_accepted_for_floats_and_floats_for_integers(server, sm, factory):
    model = factory.model()
    name = unique("rawnum")
    status, _, body = raw_call(server, "CreateEndpointConfig", {
        "EndpointConfigName": name,
        "ProductionVariants": [{"VariantName": "AllTraffic", "ModelName": model, "InstanceType": "ml.m5.xlarge",
                                "InitialInstanceCount": 1.0, "InitialVariantWeight": 2}],
    })
    assert status == 200, body
    factory.configs.append(name)
    pv = sm.describe_endpoint_config(EndpointConfigName=name)["ProductionVariants"][0]
    assert pv["InitialInstanceCount"] == 1 and pv["InitialVariantWeight"] == 2.0


def test_request_signed_for_another_region_is_accepted(server):
    import boto3
    from botocore.config import Config

    sm_eu = boto3.session.Session(aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
                                  region_name="eu-central-1").client(
        "sagemaker", endpoint_url=server.url, config=Config(retries={"max_attempts": 1, "mode": "standard"}))
    name = unique("other-region")
    resp = sm_eu.create_model(ModelName=name, PrimaryContainer={"Image": "model:v1"})
    # ARNs use the configured region, not the signing region
    assert resp["ModelArn"] == model_arn(name)
    sm_eu.delete_model(ModelName=name)


def test_rejected_requests_change_nothing(sm, factory):
    """A sweep over failing creates: none of them leaves anything behind."""
    models, configs, endpoints = all_model_names(sm), all_config_names(sm), all_endpoint_names(sm)
    model = factory.model()
    models.add(model)
    failing = [
        lambda: sm.create_model(ModelName=unique("m"), PrimaryContainer={"Image": "model:none"}),
        lambda: sm.create_model(ModelName=unique("m"), PrimaryContainer={"Image": "model:v1"},
                                Containers=[{"Image": "model:v1"}]),
        lambda: sm.create_endpoint_config(EndpointConfigName=unique("c"),
                                          ProductionVariants=[variant(model), variant(unique("ghost"), "B")]),
        lambda: sm.create_endpoint_config(EndpointConfigName=unique("c"),
                                          ProductionVariants=[variant(model, "X"), variant(model, "x")]),
        lambda: sm.create_endpoint(EndpointName=unique("e"), EndpointConfigName=unique("ghost")),
    ]
    for call in failing:
        expect_error(call, "ValidationException")
    assert all_model_names(sm) == models
    assert all_config_names(sm) == configs
    assert all_endpoint_names(sm) == endpoints

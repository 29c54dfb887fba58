"""CreateModel / DescribeModel / ListModels / DeleteModel (docs/sagemaker-api.md#names-and-arns, #models, #message-catalogue)."""

from __future__ import annotations

import pytest

from support import (
    ACCOUNT,
    REGION,
    assert_recent,
    all_model_names,
    constraint_msg,
    expect_error,
    invoke,
    model_arn,
    msg_no_model,
    msg_runtime_not_found,
    strip_meta,
    unique,
    wait_endpoint_status,
)

MODEL_NAME_PATTERN = r"[a-zA-Z0-9]([\-a-zA-Z0-9]*[a-zA-Z0-9])?"


# --- happy paths ------------------------------------------------------------------------------


def test_create_model_returns_lowercased_arn(sm, factory):
    name = unique("Model-MixedCase")
    resp = sm.create_model(ModelName=name, PrimaryContainer={"Image": "model:v1"})
    factory.models.append(name)
    assert strip_meta(resp) == {"ModelArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model/{name.lower()}"}
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert resp["ResponseMetadata"]["RequestId"], "x-amzn-RequestId missing"


def test_describe_model_echoes_request(sm, factory):
    name = unique("Echo-Model")
    container = {
        "Image": "model:v1",
        "Environment": {"FOO": "bar", "MODEL_VERSION": "v1"},
        "ModelDataUrl": "s3://some-bucket/path/model.tar.gz",
    }
    role = f"arn:aws:iam::{ACCOUNT}:role/service-role/GuardrailTestRole"
    vpc = {"SecurityGroupIds": ["sg-0123456789abcdef0"], "Subnets": ["subnet-0123456789abcdef0"]}
    sm.create_model(ModelName=name, PrimaryContainer=container, ExecutionRoleArn=role,
                    VpcConfig=vpc, EnableNetworkIsolation=False)
    factory.models.append(name)

    desc = sm.describe_model(ModelName=name)
    assert desc["ModelName"] == name
    assert desc["ModelArn"] == model_arn(name)
    # Sub-structures are echoed exactly as sent: no defaults (e.g. Mode) filled in.
    assert desc["PrimaryContainer"] == container
    assert "Containers" not in desc
    assert desc["ExecutionRoleArn"] == role
    assert desc["VpcConfig"] == vpc
    assert desc["EnableNetworkIsolation"] is False
    assert_recent(desc["CreationTime"])


def test_describe_model_minimal_omits_absent_members(sm, factory):
    name = factory.model(image="model:v2")
    desc = strip_meta(sm.describe_model(ModelName=name))
    assert desc["PrimaryContainer"] == {"Image": "model:v2"}
    for absent in ("ExecutionRoleArn", "VpcConfig", "Containers"):
        assert absent not in desc, f"{absent} should be omitted, got {desc.get(absent)!r}"


def test_model_with_single_element_containers(sm, factory):
    name = unique("containers")
    sm.create_model(ModelName=name, Containers=[{"Image": "model:v1"}])
    factory.models.append(name)
    desc = sm.describe_model(ModelName=name)
    assert desc["Containers"] == [{"Image": "model:v1"}]
    assert "PrimaryContainer" not in desc


def test_names_are_case_insensitive_but_keep_their_case(sm, factory):
    name = unique("DEMO-Model")
    factory.model(name)
    desc = sm.describe_model(ModelName=name.lower())
    assert desc["ModelName"] == name
    assert desc["ModelArn"] == model_arn(name)
    desc = sm.describe_model(ModelName=name.upper())
    assert desc["ModelName"] == name


def test_list_models_item_shape(sm, factory):
    name = factory.model()
    resp = sm.list_models(NameContains=name)
    assert [m["ModelName"] for m in resp["Models"]] == [name]
    item = resp["Models"][0]
    assert set(item) == {"ModelName", "ModelArn", "CreationTime"}
    assert item["ModelArn"] == model_arn(name)
    assert_recent(item["CreationTime"])
    assert "NextToken" not in resp


def test_delete_model(sm, factory):
    name = factory.model()
    resp = sm.delete_model(ModelName=name)
    assert strip_meta(resp) == {}
    expect_error(sm.describe_model, "ValidationException", message=msg_no_model(name), ModelName=name)
    assert name not in all_model_names(sm)
    # a second delete reports the model missing
    expect_error(sm.delete_model, "ValidationException", message=msg_no_model(name), ModelName=name)


def test_deleted_model_name_can_be_reused(sm, factory):
    name = factory.model(image="model:v1")
    sm.delete_model(ModelName=name)
    sm.create_model(ModelName=name, PrimaryContainer={"Image": "model:v2"})
    assert sm.describe_model(ModelName=name)["PrimaryContainer"] == {"Image": "model:v2"}


def test_deleting_model_does_not_affect_running_endpoint(sm, rt, factory):
    model = factory.model(image="model:v2")
    cfg = factory.config(model=model)
    ep = factory.endpoint(config=cfg)
    sm.delete_model(ModelName=model)
    desc = sm.describe_endpoint(EndpointName=ep)
    assert desc["EndpointStatus"] == "InService"
    _, answer = invoke(rt, ep)
    assert answer["model_version"] == "v2"


# --- errors -----------------------------------------------------------------------------------


def test_describe_missing_model(sm):
    name = unique("missing")
    expect_error(sm.describe_model, "ValidationException", message=msg_no_model(name), ModelName=name)


def test_delete_missing_model(sm):
    name = unique("Missing-Mixed")
    expect_error(sm.delete_model, "ValidationException", message=msg_no_model(name), ModelName=name)


@pytest.mark.parametrize("variant", ["same", "upper"])
def test_duplicate_model_rejected(sm, factory, variant):
    name = factory.model(image="model:v1", env={"A": "1"})
    dup = name if variant == "same" else name.upper()
    expect_error(
        sm.create_model, "ValidationException",
        message=f'Cannot create already existing model "{model_arn(name)}".',
        ModelName=dup, PrimaryContainer={"Image": "model:v2"},
    )
    # the original is unchanged
    desc = sm.describe_model(ModelName=name)
    assert desc["ModelName"] == name
    assert desc["PrimaryContainer"] == {"Image": "model:v1", "Environment": {"A": "1"}}


def test_image_not_configured(sm):
    name = unique("noimage")
    expect_error(sm.create_model, "ValidationException", contains="model:not-configured",
                 ModelName=name, PrimaryContainer={"Image": "model:not-configured"})
    expect_error(sm.describe_model, "ValidationException", message=msg_no_model(name), ModelName=name)


def test_image_not_configured_in_containers(sm):
    name = unique("noimage")
    expect_error(sm.create_model, "ValidationException", contains="registry.example/other:1.0",
                 ModelName=name, Containers=[{"Image": "registry.example/other:1.0"}])
    expect_error(sm.describe_model, "ValidationException", message=msg_no_model(name), ModelName=name)


def test_primary_container_and_containers_both(sm):
    name = unique("both")
    expect_error(sm.create_model, "ValidationException", ModelName=name,
                 PrimaryContainer={"Image": "model:v1"}, Containers=[{"Image": "model:v1"}])
    assert name not in all_model_names(sm)


@pytest.mark.parametrize("containers", [None, []], ids=["absent", "empty-list"])
def test_primary_container_and_containers_neither(sm, containers):
    name = unique("neither")
    kwargs = {} if containers is None else {"Containers": containers}
    expect_error(sm.create_model, "ValidationException", ModelName=name, **kwargs)
    assert name not in all_model_names(sm)


def test_multiple_containers_not_supported(sm):
    name = unique("pipeline")
    exc = expect_error(sm.create_model, "ValidationException", ModelName=name,
                       Containers=[{"Image": "model:v1"}, {"Image": "model:v2"}])
    assert "not supported" in exc.response["Error"]["Message"].lower()
    assert name not in all_model_names(sm)


def test_multi_model_mode_not_supported(sm):
    name = unique("mme")
    exc = expect_error(sm.create_model, "ValidationException", ModelName=name,
                       PrimaryContainer={"Image": "model:v1", "Mode": "MultiModel"})
    assert "not supported" in exc.response["Error"]["Message"].lower()
    assert name not in all_model_names(sm)


@pytest.mark.parametrize("bad", ["bad_name", "-leading", "trailing-", "has.dot", "has space", "x!", ""])
def test_model_name_pattern(sm, bad):
    before = all_model_names(sm)
    expect_error(
        sm.create_model, "ValidationException",
        message=constraint_msg(f"'{bad}'", "modelName",
                               f"Member must satisfy regular expression pattern: {MODEL_NAME_PATTERN}"),
        ModelName=bad, PrimaryContainer={"Image": "model:v1"},
    )
    assert all_model_names(sm) == before


@pytest.mark.parametrize("good", ["a", "a--b", "A1-b-C2"])
def test_model_name_pattern_accepts(sm, factory, good):
    name = f"{good}{unique('x').replace('-', '')}"
    factory.model(name)
    assert sm.describe_model(ModelName=name)["ModelName"] == name


def test_model_name_length(sm, factory):
    ok = ("m" + unique("").replace("-", "")).ljust(63, "a")
    assert len(ok) == 63
    factory.model(ok)
    too_long = ok + "b"
    expect_error(
        sm.create_model, "ValidationException",
        message=constraint_msg(f"'{too_long}'", "modelName",
                               "Member must have length less than or equal to 63"),
        ModelName=too_long, PrimaryContainer={"Image": "model:v1"},
    )
    assert too_long not in all_model_names(sm)


def test_image_too_long(sm):
    name = unique("longimage")
    image = "i" * 256
    expect_error(
        sm.create_model, "ValidationException",
        message=constraint_msg(f"'{image}'", "primaryContainer.image",
                               "Member must have length less than or equal to 255"),
        ModelName=name, PrimaryContainer={"Image": image},
    )
    assert name not in all_model_names(sm)


def test_model_data_url_pattern(sm):
    name = unique("badurl")
    expect_error(
        sm.create_model, "ValidationException",
        message=constraint_msg("'ftp://bucket/model.tar.gz'", "primaryContainer.modelDataUrl",
                               "Member must satisfy regular expression pattern: (https|s3)://([^/]+)/?(.*)"),
        ModelName=name, PrimaryContainer={"Image": "model:v1", "ModelDataUrl": "ftp://bucket/model.tar.gz"},
    )
    assert name not in all_model_names(sm)


def test_execution_role_arn_pattern(sm):
    name = unique("badrole")
    role = "arn:aws:iam::123:role/not-twelve-digits"
    expect_error(
        sm.create_model, "ValidationException",
        prefix=f"1 validation error detected: Value '{role}' at 'executionRoleArn' failed to satisfy "
               "constraint: Member must satisfy regular expression pattern: ",
        ModelName=name, PrimaryContainer={"Image": "model:v1"}, ExecutionRoleArn=role,
    )
    assert name not in all_model_names(sm)


def test_environment_key_pattern(sm):
    name = unique("badenv")
    expect_error(sm.create_model, "ValidationException", prefix="1 validation error detected: ",
                 ModelName=name, PrimaryContainer={"Image": "model:v1", "Environment": {"1-BAD": "x"}})
    assert name not in all_model_names(sm)


def test_environment_too_many_entries(sm):
    name = unique("bigenv")
    env = {f"K{i}": "v" for i in range(101)}
    expect_error(sm.create_model, "ValidationException",
                 contains="Member must have length less than or equal to 100",
                 ModelName=name, PrimaryContainer={"Image": "model:v1", "Environment": env})
    assert name not in all_model_names(sm)


# --- identity -----------------------------------------------------------------------------------


def test_arns_use_configured_region_and_account(server_factory):
    srv = server_factory(region="eu-west-1", account_id="210987654321")
    sm, rt = srv.sm(), srv.rt()  # clients still sign for us-east-1: accepted
    name = unique("Region-Model")
    resp = sm.create_model(ModelName=name, PrimaryContainer={"Image": "model:v1"})
    assert resp["ModelArn"] == f"arn:aws:sagemaker:eu-west-1:210987654321:model/{name.lower()}"
    missing = unique("missing")
    expect_error(sm.describe_model, "ValidationException",
                 message=f'Could not find model "arn:aws:sagemaker:eu-west-1:210987654321:model/{missing}".',
                 ModelName=missing)
    expect_error(rt.invoke_endpoint, "ValidationError",
                 message=msg_runtime_not_found(missing, account="210987654321"),
                 EndpointName=missing, Body=b"{}")


def test_region_and_account_defaults(server_factory):
    srv = server_factory(region=None, account_id=None)
    sm = srv.sm()
    name = unique("default-identity")
    resp = sm.create_model(ModelName=name, PrimaryContainer={"Image": "model:v1"})
    assert resp["ModelArn"] == f"arn:aws:sagemaker:us-east-1:123456789012:model/{name}"
    cfg = unique("c")
    resp = sm.create_endpoint_config(EndpointConfigName=cfg, ProductionVariants=[
        {"VariantName": "AllTraffic", "ModelName": name, "InitialInstanceCount": 1,
         "InstanceType": "ml.m5.xlarge"}])
    assert resp["EndpointConfigArn"] == f"arn:aws:sagemaker:us-east-1:123456789012:endpoint-config/{cfg}"
    ep = unique("e")
    resp = sm.create_endpoint(EndpointName=ep, EndpointConfigName=cfg)
    assert resp["EndpointArn"] == f"arn:aws:sagemaker:us-east-1:123456789012:endpoint/{ep}"
    wait_endpoint_status(sm, ep, "InService")

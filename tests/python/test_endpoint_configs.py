"""CreateEndpointConfig / Describe / List / Delete (docs/sagemaker-api.md#endpoint-configs, #message-catalogue)."""

from __future__ import annotations

import pytest

from support import (
    all_config_names,
    assert_recent,
    config_arn,
    constraint_msg,
    enum_values_in,
    expect_error,
    invoke,
    model_enum,
    msg_no_config,
    msg_no_model,
    strip_meta,
    unique,
    variant,
    wait_endpoint_status,
)

NAME_PATTERN = "[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"


# --- happy paths ------------------------------------------------------------------------------


def test_create_and_describe_echo(sm, factory):
    m1, m2 = factory.model(), factory.model(image="model:v2")
    name = unique("Cfg-Echo")
    variants = [
        {"VariantName": "Blue", "ModelName": m1, "InitialInstanceCount": 2, "InstanceType": "ml.m5.large",
         "InitialVariantWeight": 3.0, "ContainerStartupHealthCheckTimeoutInSeconds": 600,
         "ModelDataDownloadTimeoutInSeconds": 900, "VariantInstanceProvisionTimeoutInSeconds": 300},
        # no InitialVariantWeight: the echo must not fill in the 1.0 default
        {"VariantName": "Green", "ModelName": m2, "InitialInstanceCount": 1, "InstanceType": "ml.c5.xlarge"},
    ]
    resp = sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=variants)
    factory.configs.append(name)
    assert strip_meta(resp) == {"EndpointConfigArn": config_arn(name)}
    assert config_arn(name).endswith(f":endpoint-config/{name.lower()}")

    desc = sm.describe_endpoint_config(EndpointConfigName=name)
    assert desc["EndpointConfigName"] == name
    assert desc["EndpointConfigArn"] == config_arn(name)
    assert desc["ProductionVariants"] == variants
    assert_recent(desc["CreationTime"])
    for absent in ("DataCaptureConfig", "AsyncInferenceConfig", "ShadowProductionVariants", "KmsKeyId"):
        assert absent not in desc


def test_optional_sections_are_echoed(sm, factory):
    model = factory.model()
    name = unique("cfg-sections")
    capture = {
        "EnableCapture": True,
        "InitialSamplingPercentage": 50,
        "DestinationS3Uri": "s3://bucket/capture",
        "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
    }
    sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[variant(model)],
                              DataCaptureConfig=capture, KmsKeyId="alias/my-key")
    factory.configs.append(name)
    desc = sm.describe_endpoint_config(EndpointConfigName=name)
    assert desc["DataCaptureConfig"] == capture
    assert desc["KmsKeyId"] == "alias/my-key"


def test_serverless_variant_is_stored_and_echoed(sm, factory):
    model = factory.model()
    name = unique("cfg-serverless")
    v = {"VariantName": "AllTraffic", "ModelName": model,
         "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 5}}
    sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[v])
    factory.configs.append(name)
    assert sm.describe_endpoint_config(EndpointConfigName=name)["ProductionVariants"] == [v]


def test_case_insensitive_lookup(sm, factory):
    name = unique("Cfg-CASE")
    factory.config(name)
    desc = sm.describe_endpoint_config(EndpointConfigName=name.lower())
    assert desc["EndpointConfigName"] == name
    assert desc["EndpointConfigArn"] == config_arn(name)


def test_list_item_shape(sm, factory):
    name = factory.config()
    resp = sm.list_endpoint_configs(NameContains=name)
    assert [c["EndpointConfigName"] for c in resp["EndpointConfigs"]] == [name]
    item = resp["EndpointConfigs"][0]
    assert set(item) == {"EndpointConfigName", "EndpointConfigArn", "CreationTime"}
    assert item["EndpointConfigArn"] == config_arn(name)
    assert_recent(item["CreationTime"])


def test_delete(sm, factory):
    name = factory.config()
    assert strip_meta(sm.delete_endpoint_config(EndpointConfigName=name)) == {}
    expect_error(sm.describe_endpoint_config, "ValidationException", message=msg_no_config(name),
                 EndpointConfigName=name)
    assert name not in all_config_names(sm)
    expect_error(sm.delete_endpoint_config, "ValidationException", message=msg_no_config(name),
                 EndpointConfigName=name)


def test_deleting_config_in_use_is_allowed_and_endpoint_keeps_working(sm, rt, factory):
    cfg = factory.config(model=factory.model(image="model:v2"))
    ep = factory.endpoint(config=cfg)
    sm.delete_endpoint_config(EndpointConfigName=cfg)
    expect_error(sm.describe_endpoint_config, "ValidationException", message=msg_no_config(cfg),
                 EndpointConfigName=cfg)
    desc = sm.describe_endpoint(EndpointName=ep)
    assert desc["EndpointStatus"] == "InService"
    assert desc["EndpointConfigName"] == cfg
    resp, answer = invoke(rt, ep)
    assert resp["InvokedProductionVariant"] == "AllTraffic"
    assert answer["model_version"] == "v2"


def test_models_survive_config_delete(sm, factory):
    model = factory.model()
    cfg = factory.config(model=model)
    sm.delete_endpoint_config(EndpointConfigName=cfg)
    assert sm.describe_model(ModelName=model)["ModelName"] == model


# --- errors -----------------------------------------------------------------------------------


def test_describe_missing(sm):
    name = unique("Missing-Cfg")
    expect_error(sm.describe_endpoint_config, "ValidationException", message=msg_no_config(name),
                 EndpointConfigName=name)


@pytest.mark.parametrize("variant_case", ["same", "upper"])
def test_duplicate_rejected(sm, factory, variant_case):
    model = factory.model()
    name = factory.config(variants=[variant(model, "Original")])
    dup = name if variant_case == "same" else name.upper()
    expect_error(sm.create_endpoint_config, "ValidationException",
                 message=f'Cannot create already existing endpoint configuration "{config_arn(name)}".',
                 EndpointConfigName=dup, ProductionVariants=[variant(model, "Other")])
    desc = sm.describe_endpoint_config(EndpointConfigName=name)
    assert [v["VariantName"] for v in desc["ProductionVariants"]] == ["Original"]


def test_missing_model(sm):
    name, missing = unique("cfg"), unique("nomodel")
    expect_error(sm.create_endpoint_config, "ValidationException", message=msg_no_model(missing),
                 EndpointConfigName=name, ProductionVariants=[variant(missing)])
    assert name not in all_config_names(sm)


def test_missing_second_model(sm, factory):
    name, missing = unique("cfg"), unique("nomodel")
    expect_error(sm.create_endpoint_config, "ValidationException", message=msg_no_model(missing),
                 EndpointConfigName=name,
                 ProductionVariants=[variant(factory.model(), "A"), variant(missing, "B")])
    assert name not in all_config_names(sm)


@pytest.mark.parametrize("second", ["AllTraffic", "alltraffic"])
def test_duplicate_variant_names(sm, factory, second):
    model = factory.model()
    name = unique("cfg-dupvariant")
    expect_error(sm.create_endpoint_config, "ValidationException", EndpointConfigName=name,
                 ProductionVariants=[variant(model, "AllTraffic"), variant(model, second)])
    assert name not in all_config_names(sm)


def test_instance_count_required_without_serverless(sm, factory):
    name = unique("cfg-nocount")
    expect_error(sm.create_endpoint_config, "ValidationException", EndpointConfigName=name,
                 ProductionVariants=[variant(factory.model(), count=None)])
    assert name not in all_config_names(sm)


def test_instance_type_enum(sm, factory):
    name = unique("cfg-type")
    exc = expect_error(
        sm.create_endpoint_config, "ValidationException",
        prefix=("1 validation error detected: Value 'ml.t3.medium' at "
                "'productionVariants.1.member.instanceType' failed to satisfy constraint: "
                "Member must satisfy enum value set: ["),
        EndpointConfigName=name, ProductionVariants=[variant(factory.model(), instance_type="ml.t3.medium")],
    )
    msg = exc.response["Error"]["Message"]
    assert msg.endswith("]")
    assert enum_values_in(msg) == model_enum("sagemaker", "ProductionVariantInstanceType")
    assert name not in all_config_names(sm)


def test_second_variant_path_index(sm, factory):
    model = factory.model()
    name = unique("cfg-index")
    expect_error(
        sm.create_endpoint_config, "ValidationException",
        prefix=("1 validation error detected: Value 'ml.bogus' at "
                "'productionVariants.2.member.instanceType' failed to satisfy constraint: "
                "Member must satisfy enum value set: ["),
        EndpointConfigName=name,
        ProductionVariants=[variant(model, "A"), variant(model, "B", instance_type="ml.bogus")],
    )
    assert name not in all_config_names(sm)


def test_too_many_variants(sm, factory):
    model = factory.model()
    name = unique("cfg-eleven")
    expect_error(sm.create_endpoint_config, "ValidationException",
                 prefix="1 validation error detected: ",
                 contains="at 'productionVariants' failed to satisfy constraint: "
                          "Member must have length less than or equal to 10",
                 EndpointConfigName=name,
                 ProductionVariants=[variant(model, f"V{i}") for i in range(11)])
    assert name not in all_config_names(sm)


def test_ten_variants_accepted(sm, factory):
    model = factory.model()
    name = factory.config(variants=[variant(model, f"V{i}") for i in range(10)])
    assert len(sm.describe_endpoint_config(EndpointConfigName=name)["ProductionVariants"]) == 10


@pytest.mark.parametrize("member,value,constraint", [
    ("ContainerStartupHealthCheckTimeoutInSeconds", 4000, "Member must have value less than or equal to 3600"),
    ("ModelDataDownloadTimeoutInSeconds", 3601, "Member must have value less than or equal to 3600"),
    ("VariantInstanceProvisionTimeoutInSeconds", 3700, "Member must have value less than or equal to 3600"),
])
def test_range_max(sm, factory, member, value, constraint):
    name = unique("cfg-range")
    path = "productionVariants.1.member." + member[0].lower() + member[1:]
    expect_error(sm.create_endpoint_config, "ValidationException",
                 message=constraint_msg(str(value), path, constraint),
                 EndpointConfigName=name, ProductionVariants=[variant(factory.model(), **{member: value})])
    assert name not in all_config_names(sm)


@pytest.mark.parametrize("member,value,constraint", [
    ("ContainerStartupHealthCheckTimeoutInSeconds", 30, "Member must have value greater than or equal to 60"),
    ("VariantInstanceProvisionTimeoutInSeconds", 200, "Member must have value greater than or equal to 300"),
    ("InitialInstanceCount", 0, "Member must have value greater than or equal to 1"),
])
def test_range_min_server_side(sm, sm_novalidate, factory, member, value, constraint):
    # botocore rejects these client-side; with validation off they must be rejected by the server.
    name = unique("cfg-min")
    path = "productionVariants.1.member." + member[0].lower() + member[1:]
    v = variant(factory.model())
    v[member] = value
    expect_error(sm_novalidate.create_endpoint_config, "ValidationException",
                 message=constraint_msg(str(value), path, constraint),
                 EndpointConfigName=name, ProductionVariants=[v])
    assert name not in all_config_names(sm)


def test_negative_weight_server_side(sm, sm_novalidate, factory):
    name = unique("cfg-weight")
    expect_error(sm_novalidate.create_endpoint_config, "ValidationException",
                 prefix="1 validation error detected: Value -1",
                 contains="at 'productionVariants.1.member.initialVariantWeight' failed to satisfy "
                          "constraint: Member must have value greater than or equal to 0",
                 EndpointConfigName=name, ProductionVariants=[variant(factory.model(), weight=-1.0)])
    assert name not in all_config_names(sm)


def test_empty_variant_list_server_side(sm, sm_novalidate):
    name = unique("cfg-empty")
    expect_error(sm_novalidate.create_endpoint_config, "ValidationException",
                 contains=["at 'productionVariants' failed to satisfy constraint: ",
                           "Member must have length greater than or equal to 1"],
                 EndpointConfigName=name, ProductionVariants=[])
    assert name not in all_config_names(sm)


@pytest.mark.parametrize("bad", ["bad_name!", "-lead", "trail-", "a.b", ""])
def test_config_name_pattern(sm, factory, bad):
    before = all_config_names(sm)
    expect_error(sm.create_endpoint_config, "ValidationException",
                 message=constraint_msg(f"'{bad}'", "endpointConfigName",
                                        f"Member must satisfy regular expression pattern: {NAME_PATTERN}"),
                 EndpointConfigName=bad, ProductionVariants=[variant(factory.model())])
    assert all_config_names(sm) == before


def test_variant_name_pattern(sm, factory):
    name = unique("cfg-vname")
    expect_error(sm.create_endpoint_config, "ValidationException",
                 message=constraint_msg("'All_Traffic'", "productionVariants.1.member.variantName",
                                        f"Member must satisfy regular expression pattern: {NAME_PATTERN}"),
                 EndpointConfigName=name, ProductionVariants=[variant(factory.model(), "All_Traffic")])
    assert name not in all_config_names(sm)


def test_constraint_errors_come_before_existence_errors(sm):
    # Stage 1 (model constraints) answers before stage 2 (does the model exist?).
    name = unique("cfg-order")
    expect_error(sm.create_endpoint_config, "ValidationException",
                 prefix="1 validation error detected: Value 'ml.nope' at "
                        "'productionVariants.1.member.instanceType'",
                 EndpointConfigName=name,
                 ProductionVariants=[variant(unique("nomodel"), instance_type="ml.nope")])


def test_serverless_config_rejected_at_create_endpoint(sm, factory):
    model = factory.model()
    cfg = factory.config(variants=[{"VariantName": "AllTraffic", "ModelName": model,
                                    "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 5}}])
    ep = unique("e-serverless")
    expect_error(sm.create_endpoint, "ValidationException", contains="not supported by Guardrail",
                 EndpointName=ep, EndpointConfigName=cfg)
    expect_error(sm.describe_endpoint, "ValidationException", EndpointName=ep)


def test_async_config_rejected_at_create_endpoint(sm, factory):
    cfg = factory.config(AsyncInferenceConfig={"OutputConfig": {"S3OutputPath": "s3://bucket/out"}})
    ep = unique("e-async")
    expect_error(sm.create_endpoint, "ValidationException", contains="not supported by Guardrail",
                 EndpointName=ep, EndpointConfigName=cfg)
    expect_error(sm.describe_endpoint, "ValidationException", EndpointName=ep)


def test_config_with_startup_timeout_reaches_inservice(sm, factory):
    # A valid boundary value (60) is accepted and a healthy model still comes up.
    model = factory.model()
    cfg = factory.config(variants=[variant(model, startup_timeout=60)])
    ep = factory.endpoint(config=cfg, wait=False)
    wait_endpoint_status(sm, ep, "InService")

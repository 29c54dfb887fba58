"""AddTags / ListTags / DeleteTags (docs/sagemaker-api.md#names-and-arns tags, #tags)."""

from __future__ import annotations

import pytest

from support import (
    config_arn,
    constraint_msg,
    endpoint_arn,
    expect_error,
    model_arn,
    strip_meta,
    unique,
)

TAG_PATTERN = r"([\p{L}\p{Z}\p{N}_.:/=+\-@]*)"


def tags(n: int, prefix: str = "k") -> list[dict]:
    return [{"Key": f"{prefix}{i:02d}", "Value": f"v{i}"} for i in range(n)]


def list_tags(sm, arn: str) -> list[dict]:
    resp = sm.list_tags(ResourceArn=arn)
    assert "NextToken" not in resp, "at most 50 tags per resource fit one page of 50"
    return resp["Tags"]


@pytest.fixture(params=["model", "endpoint-config", "endpoint"])
def resource_arn(request, factory):
    kind = request.param
    if kind == "model":
        return model_arn(factory.model())
    if kind == "endpoint-config":
        return config_arn(factory.config())
    return endpoint_arn(factory.endpoint(config=factory.config(), wait=False))


def test_add_list_delete(sm, resource_arn):
    assert list_tags(sm, resource_arn) == []
    added = [{"Key": "team", "Value": "ml"}, {"Key": "env", "Value": "test"}, {"Key": "cost-center", "Value": "42"}]
    resp = sm.add_tags(ResourceArn=resource_arn, Tags=added)
    assert strip_meta(resp) == {"Tags": added}
    assert list_tags(sm, resource_arn) == added  # insertion order

    assert strip_meta(sm.delete_tags(ResourceArn=resource_arn, TagKeys=["env", "no-such-key"])) == {}
    assert list_tags(sm, resource_arn) == [added[0], added[2]]


def test_tags_given_at_create(sm, factory):
    t = [{"Key": "z-first", "Value": "1"}, {"Key": "a-second", "Value": ""}]
    m = factory.model(Tags=t)
    assert list_tags(sm, model_arn(m)) == t
    c = factory.config(model=m, Tags=t)
    assert list_tags(sm, config_arn(c)) == t
    e = factory.endpoint(config=c, Tags=t, wait=False)
    assert list_tags(sm, endpoint_arn(e)) == t


def test_existing_key_is_overwritten(sm, factory):
    arn = model_arn(factory.model(Tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}]))
    sm.add_tags(ResourceArn=arn, Tags=[{"Key": "a", "Value": "updated"}, {"Key": "c", "Value": "3"}])
    got = list_tags(sm, arn)
    assert len(got) == 3
    assert {t["Key"]: t["Value"] for t in got} == {"a": "updated", "b": "2", "c": "3"}
    assert got[-1] == {"Key": "c", "Value": "3"}


def test_unicode_tags(sm, factory):
    arn = model_arn(factory.model())
    t = [{"Key": "ключ", "Value": "значение ü 1"}, {"Key": "a:b/c=d+e-f@g_h.i", "Value": "x y"}]
    sm.add_tags(ResourceArn=arn, Tags=t)
    assert list_tags(sm, arn) == t


def test_arn_matched_case_insensitively(sm, factory):
    name = unique("Tag-Model")
    factory.model(name)
    arn = model_arn(name)
    sm.add_tags(ResourceArn=arn.replace(name.lower(), name), Tags=[{"Key": "k", "Value": "v"}])
    assert list_tags(sm, arn) == [{"Key": "k", "Value": "v"}]
    assert list_tags(sm, arn.replace(name.lower(), name.upper())) == [{"Key": "k", "Value": "v"}]


def test_fifty_tags_fit_one_page(sm, factory):
    arn = model_arn(factory.model(Tags=tags(50)))
    resp = sm.list_tags(ResourceArn=arn, MaxResults=50)
    assert resp["Tags"] == tags(50)
    assert "NextToken" not in resp
    # overwriting a key keeps the count at 50: allowed
    sm.add_tags(ResourceArn=arn, Tags=[{"Key": "k00", "Value": "new"}])
    assert len(list_tags(sm, arn)) == 50


def test_more_than_fifty_tags_on_a_resource(sm, factory):
    arn = model_arn(factory.model(Tags=tags(45)))
    expect_error(sm.add_tags, "ValidationException", ResourceArn=arn, Tags=tags(6, prefix="new"))
    assert list_tags(sm, arn) == tags(45), "a rejected AddTags must add nothing"


def test_more_than_fifty_tags_in_one_request(sm, factory):
    arn = model_arn(factory.model())
    expect_error(sm.add_tags, "ValidationException",
                 prefix="1 validation error detected: ",
                 contains="at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50",
                 ResourceArn=arn, Tags=tags(51))
    assert list_tags(sm, arn) == []


def test_more_than_fifty_tags_at_create(sm):
    name = unique("m-tags")
    expect_error(sm.create_model, "ValidationException",
                 contains="at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50",
                 ModelName=name, PrimaryContainer={"Image": "model:v1"}, Tags=tags(51))
    expect_error(sm.describe_model, "ValidationException", ModelName=name)


def test_key_too_long(sm, factory):
    arn = model_arn(factory.model())
    key = "k" * 129
    expect_error(sm.add_tags, "ValidationException",
                 message=constraint_msg(f"'{key}'", "tags.1.member.key",
                                        "Member must have length less than or equal to 128"),
                 ResourceArn=arn, Tags=[{"Key": key, "Value": "v"}])
    assert list_tags(sm, arn) == []


def test_value_too_long(sm, factory):
    arn = model_arn(factory.model())
    value = "v" * 257
    expect_error(sm.add_tags, "ValidationException",
                 message=constraint_msg(f"'{value}'", "tags.2.member.value",
                                        "Member must have length less than or equal to 256"),
                 ResourceArn=arn, Tags=[{"Key": "ok", "Value": "ok"}, {"Key": "k", "Value": value}])
    assert list_tags(sm, arn) == []


def test_value_pattern(sm, factory):
    arn = model_arn(factory.model())
    expect_error(sm.add_tags, "ValidationException",
                 message=constraint_msg("'bad!value'", "tags.1.member.value",
                                        f"Member must satisfy regular expression pattern: {TAG_PATTERN}"),
                 ResourceArn=arn, Tags=[{"Key": "k", "Value": "bad!value"}])
    assert list_tags(sm, arn) == []


def test_empty_key_server_side(sm, sm_novalidate, factory):
    arn = model_arn(factory.model())
    expect_error(sm_novalidate.add_tags, "ValidationException",
                 message=constraint_msg("''", "tags.1.member.key",
                                        "Member must have length greater than or equal to 1"),
                 ResourceArn=arn, Tags=[{"Key": "", "Value": "v"}])
    assert list_tags(sm, arn) == []


def test_unknown_resource(sm):
    name = unique("ghost")
    arn = model_arn(name)
    expect_error(sm.add_tags, "ValidationException", ResourceArn=arn, Tags=[{"Key": "k", "Value": "v"}])
    expect_error(sm.list_tags, "ValidationException", ResourceArn=arn)
    expect_error(sm.delete_tags, "ValidationException", ResourceArn=arn, TagKeys=["k"])
    # nothing was stored for the ARN: a model created later under that name has no tags
    sm.create_model(ModelName=name, PrimaryContainer={"Image": "model:v1"})
    try:
        assert list_tags(sm, arn) == []
    finally:
        sm.delete_model(ModelName=name)


def test_tags_do_not_survive_resource_deletion(sm, factory):
    name = factory.model(Tags=[{"Key": "old", "Value": "1"}])
    sm.delete_model(ModelName=name)
    expect_error(sm.list_tags, "ValidationException", ResourceArn=model_arn(name))
    sm.create_model(ModelName=name, PrimaryContainer={"Image": "model:v1"})
    assert list_tags(sm, model_arn(name)) == []


def test_resource_arn_pattern(sm):
    expect_error(sm.list_tags, "ValidationException",
                 prefix="1 validation error detected: Value 'not-an-arn' at 'resourceArn' failed to satisfy "
                        "constraint: Member must satisfy regular expression pattern: ",
                 ResourceArn="not-an-arn")


def test_list_tags_max_results_below_minimum_server_side(sm_novalidate, factory):
    arn = model_arn(factory.model())
    expect_error(sm_novalidate.list_tags, "ValidationException",
                 message=constraint_msg("10", "maxResults", "Member must have value greater than or equal to 50"),
                 ResourceArn=arn, MaxResults=10)

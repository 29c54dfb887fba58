"""The AWS CLI v1 (awscli 1.46.3) against Guardrail (docs/sagemaker-api.md#dispatch, #client-compatibility)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from support import (ACCESS_KEY, ACCOUNT, REGION, SECRET_KEY, Factory, aws_executable, cli_env, endpoint_arn,
                     record_pid, unique)


def run_aws(args: list[str], env: dict, *, cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([aws_executable(), *args, "--output", "json"], env=env, cwd=str(cwd),
                          capture_output=True, text=True, timeout=90)
    if check:
        assert proc.returncode == 0, f"aws {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}"
    return proc


@pytest.fixture
def cli(server, tmp_path):
    env = cli_env(tmp_path)

    def call(*args: str, check: bool = True, service_url: bool = True) -> subprocess.CompletedProcess:
        extra = ["--endpoint-url", server.url] if service_url else []
        return run_aws([*args, *extra], env, cwd=tmp_path, check=check)

    return call


@pytest.fixture(scope="module")
def cli_endpoint(sm):
    f = Factory(sm)
    ep = f.simple_endpoint()
    yield ep
    f.cleanup()


def test_list_endpoints(cli, cli_endpoint):
    out = json.loads(cli("sagemaker", "list-endpoints", "--name-contains", cli_endpoint).stdout)
    assert [e["EndpointName"] for e in out["Endpoints"]] == [cli_endpoint]
    assert out["Endpoints"][0]["EndpointStatus"] == "InService"
    assert out["Endpoints"][0]["EndpointArn"] == endpoint_arn(cli_endpoint)


def test_list_endpoints_auto_paginates(cli, cli_endpoint):
    # the CLI follows NextToken on its own; --page-size forces several requests
    out = json.loads(cli("sagemaker", "list-endpoints", "--page-size", "1").stdout)
    names = [e["EndpointName"] for e in out["Endpoints"]]
    assert cli_endpoint in names
    assert len(names) == len(set(names))


def test_describe_and_wait(cli, cli_endpoint):
    out = json.loads(cli("sagemaker", "describe-endpoint", "--endpoint-name", cli_endpoint).stdout)
    assert out["EndpointStatus"] == "InService"
    assert out["ProductionVariants"][0]["VariantName"] == "AllTraffic"
    # the waiter's first DescribeEndpoint already sees InService, so it returns at once
    cli("sagemaker", "wait", "endpoint-in-service", "--endpoint-name", cli_endpoint)


def test_invoke_endpoint(cli, cli_endpoint, tmp_path):
    out_file = tmp_path / "out.json"
    proc = cli("sagemaker-runtime", "invoke-endpoint", "--endpoint-name", cli_endpoint,
               "--body", '{"x":1}', "--content-type", "application/json",
               "--custom-attributes", "a=b", str(out_file))
    meta = json.loads(proc.stdout)
    assert meta["InvokedProductionVariant"] == "AllTraffic"
    assert "json" in meta["ContentType"]
    assert meta.get("CustomAttributes") == "a=b"
    answer = json.loads(out_file.read_text())
    record_pid(answer["pid"])
    assert answer["model_version"] == "v1"
    assert answer["bytes"] == len('{"x":1}')
    assert answer["content_type"] == "application/json"


def test_invoke_unknown_endpoint(cli, tmp_path):
    name = unique("cli-missing")
    proc = cli("sagemaker-runtime", "invoke-endpoint", "--endpoint-name", name, "--body", "{}",
               str(tmp_path / "out.json"), check=False)
    assert proc.returncode != 0
    assert "ValidationError" in proc.stderr
    assert f"Endpoint {name} of account {ACCOUNT} not found." in proc.stderr


def test_describe_missing_endpoint(cli):
    name = unique("cli-missing")
    proc = cli("sagemaker", "describe-endpoint", "--endpoint-name", name, check=False)
    assert proc.returncode != 0
    assert "ValidationException" in proc.stderr
    assert f'Could not find endpoint "{endpoint_arn(name)}".' in proc.stderr


def test_create_model_through_cli(cli, sm):
    name = unique("cli-model")
    proc = cli("sagemaker", "create-model", "--model-name", name,
               "--primary-container", "Image=model:v1,Environment={MODEL_VERSION=v1}")
    try:
        assert json.loads(proc.stdout)["ModelArn"].endswith(f":model/{name}")
        assert sm.describe_model(ModelName=name)["PrimaryContainer"]["Image"] == "model:v1"
    finally:
        sm.delete_model(ModelName=name)


def test_endpoint_url_from_environment(server, cli_endpoint, tmp_path):
    # no --endpoint-url: service-specific variables point the CLI at Guardrail
    env = cli_env(tmp_path, AWS_ENDPOINT_URL_SAGEMAKER=server.url,
                  AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME=server.url)
    out = json.loads(run_aws(["sagemaker", "list-endpoints", "--name-contains", cli_endpoint], env,
                             cwd=tmp_path).stdout)
    assert [e["EndpointName"] for e in out["Endpoints"]] == [cli_endpoint]
    out_file = tmp_path / "env-out.json"
    run_aws(["sagemaker-runtime", "invoke-endpoint", "--endpoint-name", cli_endpoint, "--body", "{}",
             str(out_file)], env, cwd=tmp_path)
    assert json.loads(out_file.read_text())["bytes"] == 2

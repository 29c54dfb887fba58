"""SigV4 authentication with `[[credentials]]` configured, driven by stock clients: boto3's
sagemaker, sagemaker-runtime and cloudwatch (all three CloudWatch protocols), raw botocore
signing, and the AWS CLI. Right keys work; a wrong secret, an unknown key and no signature
raise the error code AWS would send."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import urllib.error
import urllib.request
from pathlib import Path
from unittest import mock

import boto3
import botocore.session
import pytest
from botocore import UNSIGNED
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

import support
from cw_support import PROTOCOLS, protocol_data_dir
from support import REGION, Factory, GuardrailServer, aws_executable, expect_error, invoke

KEY = "AKIDGUARDRAILPY"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
WRONG_SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEZ"
UNKNOWN_KEY = "AKIDNOBODYHERE"
METRICS_TOKEN = "scrape-token-42"

INVALID_TOKEN = "The security token included in the request is invalid."
MISMATCH = "The request signature we calculated does not match the signature you provided."


class AuthServer(GuardrailServer):
    """A GuardrailServer whose config also carries top-level keys and tables."""

    def __init__(self, workdir: Path, *, top: str = "", tables: str = "", **kwargs):
        super().__init__(workdir, **kwargs)
        written = self.config_path.read_text()
        self.config_path.write_text(f"{top}\n{written}\n{tables}\n")


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory):
    srv = AuthServer(
        tmp_path_factory.mktemp("guardrail-auth"),
        top=f'metrics_token = "{METRICS_TOKEN}"',
        tables=f'[[credentials]]\naccess_key_id = "{KEY}"\nsecret_access_key = "{SECRET}"',
        name="auth",
    )
    srv.start()
    yield srv
    if srv.running():
        srv.terminate(timeout=30)


def _cfg(**extra) -> Config:
    return Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=5,
                  read_timeout=30, **extra)


def client(srv: GuardrailServer, service: str, key: str = KEY, secret: str = SECRET, **extra):
    return boto3.session.Session(
        aws_access_key_id=key, aws_secret_access_key=secret, region_name=REGION
    ).client(service, endpoint_url=srv.url, config=_cfg(**extra))


def cw_proto_client(srv: GuardrailServer, protocol: str, key: str = KEY, secret: str = SECRET):
    """botocore's cloudwatch client narrowed to one wire protocol (see cw_support)."""
    session = botocore.session.get_session()
    session.set_credentials(key, secret)
    data_dir = protocol_data_dir(protocol)
    if data_dir is not None:
        session.set_config_variable("data_path", str(data_dir))
    return session.create_client("cloudwatch", region_name=REGION, endpoint_url=srv.url, config=_cfg())


def test_startup_says_authentication_is_on(auth_server):
    log = auth_server.log_tail(200)
    assert "authentication is on" in log
    assert SECRET not in log and METRICS_TOKEN not in log


def test_right_key_works_on_control_plane_and_runtime(auth_server):
    sm = client(auth_server, "sagemaker")
    rt = client(auth_server, "sagemaker-runtime")
    f = Factory(sm)
    try:
        name = f.simple_endpoint()
        resp, answer = invoke(rt, name)
        assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200
        assert answer["model_version"] == "v1"
    finally:
        f.cleanup()


@pytest.mark.parametrize("service,op,kwargs", [
    ("sagemaker", "list_models", {}),
    ("sagemaker-runtime", "invoke_endpoint", {"EndpointName": "nope", "Body": b"{}"}),
])
@pytest.mark.parametrize("key,secret,code,message", [
    (KEY, WRONG_SECRET, "InvalidSignatureException", MISMATCH),
    (UNKNOWN_KEY, SECRET, "UnrecognizedClientException", INVALID_TOKEN),
])
def test_wrong_secret_and_unknown_key_sagemaker(auth_server, service, op, kwargs, key, secret, code, message):
    c = client(auth_server, service, key, secret)
    expect_error(getattr(c, op), code, status=403, prefix=message, **kwargs)


@pytest.mark.parametrize("service,op,kwargs", [
    ("sagemaker", "list_models", {}),
    ("sagemaker-runtime", "invoke_endpoint", {"EndpointName": "nope", "Body": b"{}"}),
    ("cloudwatch", "list_metrics", {}),
])
def test_unsigned_requests_are_refused(auth_server, service, op, kwargs):
    c = client(auth_server, service, signature_version=UNSIGNED)
    code = "MissingAuthenticationToken" if service == "cloudwatch" else "MissingAuthenticationTokenException"
    expect_error(getattr(c, op), code, status=403, message="Missing Authentication Token", **kwargs)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_cloudwatch_every_protocol(auth_server, protocol):
    ok = cw_proto_client(auth_server, protocol)
    ok.put_metric_data(Namespace="Auth/Test", MetricData=[{"MetricName": f"m_{protocol}", "Value": 1.0}])
    assert "Metrics" in ok.list_metrics(Namespace="Auth/Test")
    # CloudWatch keeps its query error codes in every protocol (as AWS does).
    expect_error(cw_proto_client(auth_server, protocol, KEY, WRONG_SECRET).list_metrics,
                 "SignatureDoesNotMatch", status=403, prefix=MISMATCH)
    expect_error(cw_proto_client(auth_server, protocol, UNKNOWN_KEY, SECRET).list_metrics,
                 "InvalidClientTokenId", status=403, message=INVALID_TOKEN)


def test_boto3_cloudwatch_client(auth_server):
    cw = client(auth_server, "cloudwatch")
    cw.describe_alarms()
    expect_error(client(auth_server, "cloudwatch", KEY, WRONG_SECRET).describe_alarms,
                 "SignatureDoesNotMatch", status=403)
    expect_error(client(auth_server, "cloudwatch", UNKNOWN_KEY, SECRET).describe_alarms,
                 "InvalidClientTokenId", status=403)


def _raw(srv: GuardrailServer, request: AWSRequest) -> tuple[int, str]:
    req = urllib.request.Request(request.url, data=request.body, method=request.method,
                                 headers=dict(request.headers))
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(req, timeout=10) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def test_botocore_signer_and_skew(auth_server):
    """botocore's SigV4Auth on a hand-built request; then the same request 20 minutes stale."""
    body = json.dumps({}).encode()
    headers = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "SageMaker.ListModels"}
    req = AWSRequest(method="POST", url=auth_server.url + "/", data=body, headers=headers)
    SigV4Auth(Credentials(KEY, SECRET), "sagemaker", REGION).add_auth(req)
    status, text = _raw(auth_server, req.prepare())
    assert status == 200, text

    stale = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=20)
    req = AWSRequest(method="POST", url=auth_server.url + "/", data=body, headers=headers)
    # botocore reads the clock through botocore.auth.get_current_datetime.
    with mock.patch("botocore.auth.get_current_datetime", return_value=stale.replace(tzinfo=None)):
        SigV4Auth(Credentials(KEY, SECRET), "sagemaker", REGION).add_auth(req)
    assert req.headers["X-Amz-Date"] == stale.strftime("%Y%m%dT%H%M%SZ")
    status, text = _raw(auth_server, req.prepare())
    assert status == 403, text
    err = json.loads(text)
    assert err["__type"] == "InvalidSignatureException"
    assert err["message"].startswith("Signature expired"), text


def test_metrics_needs_the_bearer_token(auth_server):
    url = auth_server.url + "/metrics"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with pytest.raises(urllib.error.HTTPError) as e:
        opener.open(url, timeout=5)
    assert e.value.code == 401
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    with opener.open(req, timeout=5) as resp:
        assert resp.status == 200
        assert "# EOF" in resp.read().decode()
    assert support.http_get_status(auth_server.url + "/healthz") == 200


def _cli(srv: GuardrailServer, tmp_path: Path, key: str, secret: str, *args: str) -> subprocess.CompletedProcess:
    env = {
        "PATH": "/usr/bin:/bin",
        "AWS_ACCESS_KEY_ID": key,
        "AWS_SECRET_ACCESS_KEY": secret,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "AWS_PAGER": "",
        "AWS_MAX_ATTEMPTS": "1",
    }
    return subprocess.run([aws_executable(), *args, "--endpoint-url", srv.url, "--output", "json"],
                          env=env, cwd=str(tmp_path), capture_output=True, text=True, timeout=90)


def test_aws_cli_with_right_and_wrong_keys(auth_server, tmp_path):
    ok = _cli(auth_server, tmp_path, KEY, SECRET, "sagemaker", "list-models")
    assert ok.returncode == 0, ok.stderr
    assert "Models" in json.loads(ok.stdout)
    ok = _cli(auth_server, tmp_path, KEY, SECRET, "cloudwatch", "list-metrics")
    assert ok.returncode == 0, ok.stderr
    bad = _cli(auth_server, tmp_path, UNKNOWN_KEY, SECRET, "sagemaker", "list-models")
    assert bad.returncode != 0
    assert "UnrecognizedClientException" in bad.stderr, bad.stderr
    bad = _cli(auth_server, tmp_path, KEY, WRONG_SECRET, "cloudwatch", "list-metrics")
    assert bad.returncode != 0
    assert "SignatureDoesNotMatch" in bad.stderr, bad.stderr


# -- Self-hosted secrets of any length, and temporary credentials (session tokens) --------------

SHORT_KEY = "AKIDSHORTSECRET"
SHORT_SECRET = "12char/Sec+t"          # 12 characters: accepted (with a warning at start)
WRONG_SHORT_SECRET = "12char/Sec+T"
TEMP_KEY = "ASIAGUARDRAILPY"
TEMP_SECRET = "tmp/12+chars"           # temporary credentials: a 12-character secret and a token
SESSION_TOKEN = "FwoGZXIvYXdzEJr//////////wEaDGuardrail+Session/Token=="
WRONG_SESSION_TOKEN = "FwoGZXIvYXdzEJr//////////wEaDGuardrail+Session/Token=/"


@pytest.fixture(scope="module")
def keys_server(tmp_path_factory):
    assert len(SHORT_SECRET) == 12 and len(TEMP_SECRET) == 12
    srv = AuthServer(
        tmp_path_factory.mktemp("guardrail-auth-keys"),
        tables=(f'[[credentials]]\naccess_key_id = "{SHORT_KEY}"\nsecret_access_key = "{SHORT_SECRET}"\n'
                f'[[credentials]]\naccess_key_id = "{TEMP_KEY}"\nsecret_access_key = "{TEMP_SECRET}"\n'
                f'session_token = "{SESSION_TOKEN}"'),
        name="auth-keys",
    )
    srv.start()
    yield srv
    if srv.running():
        srv.terminate(timeout=30)


def stock_client(srv: GuardrailServer, service: str, key: str, secret: str, token: str | None = None):
    """A stock boto3 client with explicit credentials (as a user would write it)."""
    extra = {} if token is None else {"aws_session_token": token}
    return boto3.client(service, endpoint_url=srv.url, region_name=REGION, config=_cfg(),
                        aws_access_key_id=key, aws_secret_access_key=secret, **extra)


def test_short_secret_starts_with_a_warning_that_shows_no_secret(keys_server):
    log = keys_server.log_tail(200)
    assert "authentication is on" in log
    assert "shorter than 16 characters" in log and SHORT_KEY in log, log
    for secret in (SHORT_SECRET, TEMP_SECRET, SESSION_TOKEN):
        assert secret not in log


def test_twelve_character_secret_works_with_stock_boto3(keys_server):
    assert "Models" in stock_client(keys_server, "sagemaker", SHORT_KEY, SHORT_SECRET).list_models()
    assert "Metrics" in stock_client(keys_server, "cloudwatch", SHORT_KEY, SHORT_SECRET).list_metrics()
    # The runtime reaches its handler (no such endpoint) once authenticated.
    rt = stock_client(keys_server, "sagemaker-runtime", SHORT_KEY, SHORT_SECRET)
    expect_error(rt.invoke_endpoint, "ValidationError", status=400, EndpointName="nope", Body=b"{}")
    # One character off is a signature mismatch, not a startup or key problem.
    expect_error(stock_client(keys_server, "sagemaker", SHORT_KEY, WRONG_SHORT_SECRET).list_models,
                 "InvalidSignatureException", status=403, prefix=MISMATCH)
    expect_error(stock_client(keys_server, "cloudwatch", SHORT_KEY, WRONG_SHORT_SECRET).list_metrics,
                 "SignatureDoesNotMatch", status=403, prefix=MISMATCH)


@pytest.mark.parametrize("service,op,kwargs", [
    ("sagemaker", "list_models", {}),
    ("cloudwatch", "list_metrics", {}),
    ("cloudwatch", "describe_alarms", {}),
])
def test_session_token_right_works(keys_server, service, op, kwargs):
    c = stock_client(keys_server, service, TEMP_KEY, TEMP_SECRET, SESSION_TOKEN)
    resp = getattr(c, op)(**kwargs)
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_session_token_on_the_runtime(keys_server):
    rt = stock_client(keys_server, "sagemaker-runtime", TEMP_KEY, TEMP_SECRET, SESSION_TOKEN)
    expect_error(rt.invoke_endpoint, "ValidationError", status=400, EndpointName="nope", Body=b"{}")
    rt = stock_client(keys_server, "sagemaker-runtime", TEMP_KEY, TEMP_SECRET, WRONG_SESSION_TOKEN)
    expect_error(rt.invoke_endpoint, "UnrecognizedClientException", status=403, message=INVALID_TOKEN,
                 EndpointName="nope", Body=b"{}")


@pytest.mark.parametrize("service,op,code", [
    ("sagemaker", "list_models", "UnrecognizedClientException"),
    ("cloudwatch", "list_metrics", "InvalidClientTokenId"),
])
@pytest.mark.parametrize("key,secret,token", [
    pytest.param(TEMP_KEY, TEMP_SECRET, WRONG_SESSION_TOKEN, id="wrong-token"),
    pytest.param(TEMP_KEY, TEMP_SECRET, None, id="missing-token"),
    pytest.param(SHORT_KEY, SHORT_SECRET, SESSION_TOKEN, id="token-for-a-key-without-one"),
])
def test_session_token_wrong_missing_or_unexpected(keys_server, service, op, code, key, secret, token):
    c = stock_client(keys_server, service, key, secret, token)
    expect_error(getattr(c, op), code, status=403, message=INVALID_TOKEN)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_session_token_on_every_cloudwatch_protocol(keys_server, protocol):
    def proto_client(token: str):
        session = botocore.session.get_session()
        session.set_credentials(TEMP_KEY, TEMP_SECRET, token)
        data_dir = protocol_data_dir(protocol)
        if data_dir is not None:
            session.set_config_variable("data_path", str(data_dir))
        return session.create_client("cloudwatch", region_name=REGION, endpoint_url=keys_server.url,
                                     config=_cfg())

    assert "Metrics" in proto_client(SESSION_TOKEN).list_metrics()
    expect_error(proto_client(WRONG_SESSION_TOKEN).list_metrics, "InvalidClientTokenId", status=403,
                 message=INVALID_TOKEN)


def test_token_refusals_are_logged_without_the_token(keys_server):
    expect_error(stock_client(keys_server, "sagemaker", TEMP_KEY, TEMP_SECRET, WRONG_SESSION_TOKEN).list_models,
                 "UnrecognizedClientException", status=403)
    log = keys_server.log_tail(400)
    assert "X-Amz-Security-Token is not the key's session token" in log, log
    for secret in (SESSION_TOKEN, WRONG_SESSION_TOKEN, TEMP_SECRET, SHORT_SECRET):
        assert secret not in log

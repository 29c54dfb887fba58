"""Helpers shared by Guardrail's pytest suite (imported by conftest.py and the test files).

Everything here drives the real `guardrail` binary like a user would: free loopback ports,
temporary data dirs, unmodified boto3 clients, polling with explicit deadlines (never a bare
sleep to wait for state).
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any, Callable, Iterable

import boto3
import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

REPO_ROOT = Path(__file__).resolve().parents[2]

# Identity the suite configures explicitly on its main server (also Guardrail's defaults).
REGION = "us-east-1"
ACCOUNT = "123456789012"
ACCESS_KEY = "AKIDTEST"
SECRET_KEY = "secret"

# Images configured on every server the suite starts. A model's `Environment` overrides the
# image's env, so one image plus per-model knobs (ERROR_RATE, PING_FAIL, LATENCY_MS,
# STARTUP_DELAY_S, MODEL_VERSION) covers every scenario.
IMAGES = {"model:v1": "v1", "model:v2": "v2"}
DEFAULT_IMAGE = "model:v1"
DEFAULT_INSTANCE_TYPE = "ml.m5.xlarge"

STARTUP_TIMEOUT_S = 30.0
ENDPOINT_TIMEOUT_S = 60.0
POLL_S = 0.25

# Model-server pids observed in invocation answers; at session end, any still alive were left
# behind by a server under test and are stopped (see conftest.pytest_sessionfinish).
SEEN_MODEL_PIDS: set[int] = set()
_SEEN_LOCK = threading.Lock()


# --------------------------------------------------------------------------------------------
# binary, config, ports


def guardrail_bin() -> Path:
    env = os.environ.get("GUARDRAIL_BIN")
    return Path(env).resolve() if env else REPO_ROOT / "target" / "release" / "guardrail"


def require_binary() -> Path:
    """The binary under test; a missing binary is a failure, never a skip."""
    path = guardrail_bin()
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(
            f"guardrail binary not found or not executable at {path}; build it with "
            "`cargo build --release` or point GUARDRAIL_BIN at it",
            pytrace=False,
        )
    return path


def _toml_str(value: str) -> str:
    # JSON string escapes are a subset of TOML basic-string escapes.
    return json.dumps(value)


def write_config(
    path: Path,
    *,
    region: str | None = REGION,
    account_id: str | None = ACCOUNT,
    images: dict[str, str] | None = None,
) -> Path:
    """Write a Guardrail TOML config; `region`/`account_id` None = leave to the defaults."""
    binary = str(guardrail_bin())
    lines = []
    if region is not None:
        lines.append(f"region = {_toml_str(region)}")
    if account_id is not None:
        lines.append(f"account_id = {_toml_str(account_id)}")
    for image, version in (images or IMAGES).items():
        lines.append("")
        lines.append(f"[images.{_toml_str(image)}]")
        lines.append(f'command = [{_toml_str(binary)}, "model-server"]')
        lines.append(f"env = {{ MODEL_VERSION = {_toml_str(version)} }}")
    path.write_text("\n".join(lines) + "\n")
    return path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_NO_PROXY_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http_get_status(url: str, timeout: float = 1.0) -> int | None:
    try:
        with _NO_PROXY_OPENER.open(url, timeout=timeout) as resp:
            return resp.status
    except urllib.error.HTTPError as e:
        return e.code
    except (urllib.error.URLError, OSError):
        return None


def tail(path: Path, lines: int = 60) -> str:
    try:
        data = path.read_bytes()
    except OSError as e:
        return f"<cannot read {path}: {e}>"
    text = data.decode("utf-8", errors="replace").splitlines()
    return "\n".join(text[-lines:])


# --------------------------------------------------------------------------------------------
# server process


class GuardrailServer:
    """One `guardrail serve` process; may be started, stopped and started again on one data dir."""

    def __init__(self, workdir: Path, *, region: str | None = REGION, account_id: str | None = ACCOUNT,
                 data_dir: Path | None = None, name: str = "guardrail"):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.data_dir = Path(data_dir) if data_dir else self.workdir / "data"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.config_path = write_config(self.workdir / f"{name}.toml", region=region, account_id=account_id)
        self.region = region or REGION
        self.account = account_id or ACCOUNT
        self.proc: subprocess.Popen | None = None
        self.port: int | None = None
        self.runs = 0
        self.log_path = self.workdir / f"{name}.log"
        self._log = None

    # -- lifecycle -----------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self.port is not None, "server not started"
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, timeout: float = STARTUP_TIMEOUT_S) -> "GuardrailServer":
        assert self.proc is None or self.proc.poll() is not None, "already running"
        binary = require_binary()
        self.runs += 1
        self.port = free_port()
        self._log = open(self.log_path, "ab")
        self._log.write(f"\n===== run {self.runs}: port {self.port} =====\n".encode())
        self._log.flush()
        cmd = [
            str(binary), "serve",
            "--config", str(self.config_path),
            "--listen", f"127.0.0.1:{self.port}",
            "--data-dir", str(self.data_dir),
        ]
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
            cwd=str(self.workdir),
        )
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                pytest.fail(
                    f"guardrail exited with {self.proc.returncode} before /healthz answered 200.\n"
                    f"command: {' '.join(cmd)}\n--- log tail ---\n{tail(self.log_path)}",
                    pytrace=False,
                )
            if http_get_status(self.url + "/healthz") == 200:
                return self
            if time.monotonic() > deadline:
                self.kill()
                pytest.fail(
                    f"guardrail did not answer 200 on /healthz within {timeout:.0f}s.\n"
                    f"command: {' '.join(cmd)}\n--- log tail ---\n{tail(self.log_path)}",
                    pytrace=False,
                )
            time.sleep(0.1)

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def terminate(self, timeout: float = 30.0) -> int:
        """SIGTERM and wait; returns the exit code. Fails (after SIGKILL) on timeout."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                raise AssertionError(
                    f"guardrail did not exit within {timeout:.0f}s of SIGTERM\n--- log tail ---\n"
                    f"{tail(self.log_path)}"
                )
        self._close_log()
        return self.proc.returncode

    def kill(self) -> int:
        """SIGKILL the server process only (its model servers are left to the next run)."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)
        self._close_log()
        return self.proc.returncode

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_tail(self, lines: int = 60) -> str:
        return tail(self.log_path, lines)

    # -- clients -------------------------------------------------------------------------

    def session(self) -> boto3.session.Session:
        return boto3.session.Session(
            aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY, region_name=REGION
        )

    def sm(self, *, max_attempts: int = 1, validate: bool = True):
        cfg = Config(
            retries={"max_attempts": max_attempts, "mode": "standard"},
            parameter_validation=validate,
            connect_timeout=5,
            read_timeout=70,
        )
        return self.session().client("sagemaker", endpoint_url=self.url, config=cfg)

    def rt(self, *, max_attempts: int = 1, validate: bool = True):
        cfg = Config(
            retries={"max_attempts": max_attempts, "mode": "standard"},
            parameter_validation=validate,
            connect_timeout=5,
            read_timeout=70,
            max_pool_connections=32,
        )
        return self.session().client("sagemaker-runtime", endpoint_url=self.url, config=cfg)

    # -- identity ------------------------------------------------------------------------

    def arn(self, kind: str, name: str) -> str:
        return f"arn:aws:sagemaker:{self.region}:{self.account}:{kind}/{name.lower()}"


# --------------------------------------------------------------------------------------------
# names, ARNs, errors

_counter = itertools.count(1)
_RUN_ID = uuid.uuid4().hex[:6]


def unique(prefix: str = "t") -> str:
    """A fresh lower-case name valid for every SageMaker name pattern (letters, digits, '-')."""
    return f"{prefix}-{_RUN_ID}{next(_counter):04d}"


def arn(kind: str, name: str, region: str = REGION, account: str = ACCOUNT) -> str:
    """ARN as Guardrail must print it: the name lower-cased."""
    return f"arn:aws:sagemaker:{region}:{account}:{kind}/{name.lower()}"


def model_arn(name: str) -> str:
    return arn("model", name)


def config_arn(name: str) -> str:
    return arn("endpoint-config", name)


def endpoint_arn(name: str) -> str:
    return arn("endpoint", name)


def msg_no_model(name: str) -> str:
    return f'Could not find model "{model_arn(name)}".'


def msg_no_config(name: str) -> str:
    return f'Could not find endpoint configuration "{config_arn(name)}".'


def msg_no_endpoint(name: str) -> str:
    return f'Could not find endpoint "{endpoint_arn(name)}".'


def msg_in_progress(name: str) -> str:
    return f'Cannot update in-progress endpoint "{endpoint_arn(name)}".'


def msg_runtime_not_found(name: str, account: str = ACCOUNT) -> str:
    return f"Endpoint {name} of account {account} not found."


def constraint_msg(value_repr: str, path: str, constraint: str) -> str:
    return (
        f"1 validation error detected: Value {value_repr} at '{path}' failed to satisfy "
        f"constraint: {constraint}"
    )


def error_parts(exc: ClientError) -> tuple[str, int, str]:
    resp = exc.response
    return (
        resp.get("Error", {}).get("Code", ""),
        resp.get("ResponseMetadata", {}).get("HTTPStatusCode", 0),
        resp.get("Error", {}).get("Message", ""),
    )


def expect_error(
    fn: Callable[..., Any],
    code: str,
    *,
    status: int = 400,
    message: str | None = None,
    prefix: str | None = None,
    contains: str | Iterable[str] | None = None,
    regex: str | None = None,
    **kwargs: Any,
) -> ClientError:
    """Call fn(**kwargs); assert it raises ClientError with this code, HTTP status and message."""
    try:
        result = fn(**kwargs)
    except ClientError as exc:
        got_code, got_status, got_msg = error_parts(exc)
        ctx = f"code={got_code!r} status={got_status} message={got_msg!r}"
        assert got_code == code, f"expected error code {code!r}, got {ctx}"
        assert got_status == status, f"expected HTTP {status}, got {ctx}"
        if message is not None:
            assert got_msg == message, f"expected message {message!r}, got {ctx}"
        if prefix is not None:
            assert got_msg.startswith(prefix), f"expected message starting {prefix!r}, got {ctx}"
        if contains is not None:
            for part in [contains] if isinstance(contains, str) else contains:
                assert part in got_msg, f"expected message containing {part!r}, got {ctx}"
        if regex is not None:
            assert re.search(regex, got_msg), f"expected message matching {regex!r}, got {ctx}"
        return exc
    raise AssertionError(f"expected {code} (HTTP {status}), but the call succeeded: {result!r}")


def enum_values_in(message: str) -> set[str]:
    """The set inside `Member must satisfy enum value set: [a, b, c]`."""
    m = re.search(r"Member must satisfy enum value set: \[([^\]]*)\]", message)
    assert m, f"no enum value set in {message!r}"
    return {v.strip() for v in m.group(1).split(",") if v.strip()}


def model_enum(service: str, shape: str) -> set[str]:
    model = botocore.session.get_session().get_service_model(service)
    return set(model.shape_for(shape).enum)


def assert_recent(ts: Any, *, slack_s: float = 300.0) -> None:
    """A tz-aware datetime within `slack_s` of now (boto3 parses epoch seconds to datetime)."""
    assert isinstance(ts, dt.datetime), f"expected datetime, got {type(ts).__name__}: {ts!r}"
    assert ts.tzinfo is not None, f"timestamp without timezone: {ts!r}"
    now = dt.datetime.now(dt.timezone.utc)
    delta = abs((now - ts).total_seconds())
    assert delta < slack_s, f"timestamp {ts.isoformat()} is {delta:.0f}s away from now"


def strip_meta(resp: dict) -> dict:
    return {k: v for k, v in resp.items() if k != "ResponseMetadata"}


# --------------------------------------------------------------------------------------------
# waiting


def wait_until(predicate: Callable[[], Any], *, timeout: float, interval: float = POLL_S,
               desc: str = "condition") -> Any:
    """Poll until predicate() is truthy; its last value / exception is reported on timeout."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            value = predicate()
            if value:
                return value
            last = value
        except AssertionError:
            raise
        except Exception as e:  # noqa: BLE001 - reported on timeout
            last = e
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {desc}; last: {last!r}")
        time.sleep(interval)


def wait_endpoint_status(sm, name: str, want: str | Iterable[str] = "InService", *,
                         timeout: float = ENDPOINT_TIMEOUT_S,
                         fail_on: Iterable[str] = ("Failed",)) -> dict:
    wanted = {want} if isinstance(want, str) else set(want)
    bad = set(fail_on) - wanted
    deadline = time.monotonic() + timeout
    last = None
    while True:
        desc = sm.describe_endpoint(EndpointName=name)
        last = desc["EndpointStatus"]
        if last in wanted:
            return desc
        assert last not in bad, (
            f"endpoint {name} reached {last} while waiting for {sorted(wanted)}; "
            f"FailureReason={desc.get('FailureReason')!r}"
        )
        if time.monotonic() > deadline:
            raise AssertionError(f"endpoint {name} still {last} after {timeout:.0f}s (want {sorted(wanted)})")
        time.sleep(POLL_S)


def wait_endpoint_gone(sm, name: str, *, timeout: float = ENDPOINT_TIMEOUT_S) -> ClientError:
    """Poll DescribeEndpoint until it fails with ValidationException (the EndpointDeleted rule)."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            last = sm.describe_endpoint(EndpointName=name)["EndpointStatus"]
        except ClientError as exc:
            code, status, _ = error_parts(exc)
            assert (code, status) == ("ValidationException", 400), f"unexpected {exc}"
            return exc
        if time.monotonic() > deadline:
            raise AssertionError(f"endpoint {name} still present ({last}) after {timeout:.0f}s")
        time.sleep(POLL_S)


# --------------------------------------------------------------------------------------------
# processes


def pid_alive(pid: int) -> bool:
    """True if `pid` is a live (non-zombie) model-server process."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read().decode(errors="replace")
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmdline = f.read().decode(errors="replace")
    except OSError:
        return False
    state = stat.rsplit(")", 1)[-1].split()[0] if ")" in stat else "?"
    if state in ("Z", "X"):
        return False
    # Guard against pid reuse: only a model server counts.
    return "model-server" in cmdline


def wait_pids_dead(pids: Iterable[int], *, timeout: float = 30.0, desc: str = "model servers") -> None:
    pids = set(pids)
    wait_until(lambda: not [p for p in pids if pid_alive(p)], timeout=timeout,
               desc=f"{desc} {sorted(pids)} to exit (alive: {[p for p in pids if pid_alive(p)]})")


def record_pid(pid: int) -> None:
    with _SEEN_LOCK:
        SEEN_MODEL_PIDS.add(int(pid))


def reap_stragglers() -> list[int]:
    """SIGKILL model servers the suite saw that are still alive (after every server stopped)."""
    killed = []
    with _SEEN_LOCK:
        pids = sorted(SEEN_MODEL_PIDS)
    for pid in pids:
        if pid_alive(pid):
            try:
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
            except OSError:
                pass
    return killed


# --------------------------------------------------------------------------------------------
# invocations


def invoke(rt, name: str, body: bytes | str = b'{"x": 1}', **kwargs: Any) -> tuple[dict, dict]:
    """InvokeEndpoint; returns (response, the model server's JSON answer)."""
    resp = rt.invoke_endpoint(EndpointName=name, Body=body, **kwargs)
    raw = resp["Body"].read()
    try:
        answer = json.loads(raw)
    except ValueError as e:
        raise AssertionError(f"model answer is not JSON: {raw[:200]!r}") from e
    if isinstance(answer, dict) and "pid" in answer:
        record_pid(answer["pid"])
    return resp, answer


def invoke_many(rt, name: str, n: int, *, threads: int = 1, **kwargs: Any) -> list[tuple[dict, dict]]:
    if threads <= 1:
        return [invoke(rt, name, **kwargs) for _ in range(n)]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(lambda _: invoke(rt, name, **kwargs), range(n)))


def wait_invocable(rt, name: str, *, timeout: float = 30.0,
                   allowed_codes: Iterable[str] = ("ServiceUnavailable",)) -> dict:
    """Invoke until one succeeds; errors meanwhile must be in `allowed_codes`."""
    allowed = set(allowed_codes)
    deadline = time.monotonic() + timeout
    while True:
        try:
            return invoke(rt, name)[1]
        except ClientError as exc:
            code, status, msg = error_parts(exc)
            assert code in allowed, f"unexpected invoke error {code} ({status}): {msg}"
            if time.monotonic() > deadline:
                raise AssertionError(f"endpoint {name} not invocable after {timeout:.0f}s: {code} {msg}")
        time.sleep(POLL_S)


# --------------------------------------------------------------------------------------------
# resources


def variant(model: str, name: str = "AllTraffic", *, count: int | None = 1, weight: float | None = None,
            instance_type: str | None = DEFAULT_INSTANCE_TYPE, startup_timeout: int | None = None,
            **extra: Any) -> dict:
    v: dict[str, Any] = {"VariantName": name, "ModelName": model}
    if count is not None:
        v["InitialInstanceCount"] = count
    if instance_type is not None:
        v["InstanceType"] = instance_type
    if weight is not None:
        v["InitialVariantWeight"] = weight
    if startup_timeout is not None:
        v["ContainerStartupHealthCheckTimeoutInSeconds"] = startup_timeout
    v.update(extra)
    return v


class Factory:
    """Creates models / configs / endpoints with unique names and deletes them afterwards."""

    def __init__(self, sm):
        self.sm = sm
        self.models: list[str] = []
        self.configs: list[str] = []
        self.endpoints: list[str] = []

    def model(self, name: str | None = None, *, image: str = DEFAULT_IMAGE,
              env: dict[str, str] | None = None, **kwargs: Any) -> str:
        name = name or unique("m")
        container: dict[str, Any] = {"Image": image}
        if env:
            container["Environment"] = dict(env)
        self.sm.create_model(ModelName=name, PrimaryContainer=container, **kwargs)
        self.models.append(name)
        return name

    def config(self, name: str | None = None, *, variants: list[dict] | None = None,
               model: str | None = None, **kwargs: Any) -> str:
        name = name or unique("c")
        if variants is None:
            variants = [variant(model or self.model())]
        self.sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=variants, **kwargs)
        self.configs.append(name)
        return name

    def endpoint(self, name: str | None = None, *, config: str | None = None, wait: bool = True,
                 **kwargs: Any) -> str:
        name = name or unique("e")
        self.sm.create_endpoint(EndpointName=name, EndpointConfigName=config or self.config(), **kwargs)
        self.endpoints.append(name)
        if wait:
            wait_endpoint_status(self.sm, name, "InService")
        return name

    def simple_endpoint(self, *, env: dict[str, str] | None = None, image: str = DEFAULT_IMAGE,
                        count: int = 1, startup_timeout: int | None = None, wait: bool = True,
                        name: str | None = None) -> str:
        model = self.model(image=image, env=env)
        cfg = self.config(variants=[variant(model, count=count, startup_timeout=startup_timeout)])
        return self.endpoint(name, config=cfg, wait=wait)

    def two_variant_endpoint(self, weights: tuple[float, float] = (1.0, 1.0), *,
                             names: tuple[str, str] = ("VariantA", "VariantB"),
                             counts: tuple[int, int] = (1, 1), env: dict[str, str] | None = None,
                             wait: bool = True) -> str:
        """Variant A serves model v1, variant B model v2 (so answers reveal the variant)."""
        ma = self.model(image="model:v1", env=env)
        mb = self.model(image="model:v2", env=env)
        cfg = self.config(variants=[
            variant(ma, names[0], count=counts[0], weight=weights[0]),
            variant(mb, names[1], count=counts[1], weight=weights[1]),
        ])
        return self.endpoint(config=cfg, wait=wait)

    def cleanup(self) -> None:
        for name in self.endpoints:
            try:
                self.sm.delete_endpoint(EndpointName=name)
            except ClientError:
                pass
        for name in self.configs:
            try:
                self.sm.delete_endpoint_config(EndpointConfigName=name)
            except ClientError:
                pass
        for name in self.models:
            try:
                self.sm.delete_model(ModelName=name)
            except ClientError:
                pass


def list_all(sm, op: str, key: str, name_key: str, **kwargs: Any) -> list[str]:
    """Every name a List* returns, through botocore's paginator."""
    names: list[str] = []
    for page in sm.get_paginator(op).paginate(**kwargs):
        names.extend(item[name_key] for item in page[key])
    return names


def all_model_names(sm) -> set[str]:
    return set(list_all(sm, "list_models", "Models", "ModelName"))


def all_config_names(sm) -> set[str]:
    return set(list_all(sm, "list_endpoint_configs", "EndpointConfigs", "EndpointConfigName"))


def all_endpoint_names(sm) -> set[str]:
    return set(list_all(sm, "list_endpoints", "Endpoints", "EndpointName"))


def aws_executable() -> str:
    """The AWS CLI next to this interpreter (the venv's), else the one on PATH."""
    candidate = Path(sys.executable).parent / "aws"
    if candidate.is_file():
        return str(candidate)
    found = shutil.which("aws")
    if not found:
        pytest.fail("the `aws` CLI is not installed (pip install -r tests/python/requirements.txt)",
                    pytrace=False)
    return found


def cli_env(tmp_path: Path, **extra: str) -> dict:
    """Environment for running the AWS CLI hermetically against a test server."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": str(tmp_path / "aws-config-none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "aws-credentials-none"),
        "AWS_PAGER": "",
        "AWS_MAX_ATTEMPTS": "1",
    })
    env.update(extra)
    return env

"""Fixtures for Guardrail's pytest suite.

Interface (see README.md):
  server          session-scoped GuardrailServer (started once; tests use unique names)
  sm, rt          boto3 "sagemaker" / "sagemaker-runtime" clients on `server`, no retries
  sm_novalidate   like `sm` with botocore's client-side parameter validation off, so values
  rt_novalidate   botocore would reject (min lengths/values, required members) reach the server
  factory         Factory on `sm`: creates models/configs/endpoints, deletes them afterwards
  server_factory  function-scoped: server_factory(region=..., account_id=..., data_dir=...)
                  starts an extra GuardrailServer (not started: pass start=False); all are
                  stopped at teardown
  failing_endpoint  session-scoped endpoint whose model fails /ping (created at session start
                  when a collected test uses it, so its 60 s startup window overlaps other tests)
"""

from __future__ import annotations

import os
import time
from types import SimpleNamespace

import pytest
from botocore.exceptions import ClientError

import support
from support import Factory, GuardrailServer


def pytest_configure(config):
    # Hermetic AWS client environment: no user profiles, no endpoint overrides, no proxies.
    for var in list(os.environ):
        if var.startswith("AWS_ENDPOINT_URL") or var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
            os.environ.pop(var, None)
    os.environ["AWS_CONFIG_FILE"] = os.devnull
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    no_proxy = os.environ.get("NO_PROXY", "")
    os.environ["NO_PROXY"] = ",".join(filter(None, [no_proxy, "127.0.0.1", "localhost"]))
    os.environ["no_proxy"] = os.environ["NO_PROXY"]


def pytest_collection_modifyitems(session, config, items):
    # Slow tests last, so that the failing endpoint's startup window (started at session start)
    # overlaps the rest of the suite instead of being waited out on its own.
    items.sort(key=lambda item: item.get_closest_marker("slow") is not None)


def pytest_sessionfinish(session, exitstatus):
    # Every server has been stopped by now (fixture teardown); model servers the suite saw that
    # are still alive were left behind by a server under test: stop them so nothing outlives the run.
    leaked = support.reap_stragglers()
    if leaked:
        session.config._guardrail_leaked = leaked  # noqa: SLF001 - reported below


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    leaked = getattr(config, "_guardrail_leaked", None)
    if leaked:
        terminalreporter.write_line(
            f"guardrail: killed {len(leaked)} model-server process(es) left running after the run: {leaked}",
            yellow=True)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" or not report.failed:
        return
    servers = []
    main = item.funcargs.get("server") if hasattr(item, "funcargs") else None
    if isinstance(main, GuardrailServer):
        servers.append(main)
    extra = item.funcargs.get("server_factory") if hasattr(item, "funcargs") else None
    if extra is not None:
        servers.extend(extra.servers)
    for srv in servers:
        if srv.runs == 0:
            continue
        report.sections.append((f"guardrail log tail ({srv.log_path})", srv.log_tail(80)))


def _delete_all_endpoints(srv: GuardrailServer, timeout: float = 30.0) -> None:
    if not srv.running():
        return
    try:
        sm = srv.sm()
        names = support.all_endpoint_names(sm)
        for name in names:
            try:
                sm.delete_endpoint(EndpointName=name)
            except ClientError:
                pass
        deadline = time.monotonic() + timeout
        while names and time.monotonic() < deadline:
            names = support.all_endpoint_names(sm)
            time.sleep(support.POLL_S)
    except Exception:  # noqa: BLE001 - best-effort cleanup, never hides a test result
        pass


def _stop(srv: GuardrailServer) -> None:
    if srv.proc is None or not srv.running():
        return
    _delete_all_endpoints(srv)
    try:
        srv.terminate(timeout=30)
    except AssertionError:
        pass


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    srv = GuardrailServer(tmp_path_factory.mktemp("guardrail-main"), name="main")
    srv.start()
    yield srv
    _stop(srv)


@pytest.fixture(scope="session")
def sm(server):
    return server.sm()


@pytest.fixture(scope="session")
def sm_novalidate(server):
    return server.sm(validate=False)


@pytest.fixture(scope="session")
def rt(server):
    return server.rt()


@pytest.fixture(scope="session")
def rt_novalidate(server):
    return server.rt(validate=False)


@pytest.fixture
def factory(sm):
    f = Factory(sm)
    yield f
    f.cleanup()


@pytest.fixture(scope="module")
def module_factory(sm):
    """A `Factory` shared by the tests of one module (for resources they only read)."""
    f = Factory(sm)
    yield f
    f.cleanup()


class ServerFactory:
    def __init__(self, base):
        self.base = base
        self.servers: list[GuardrailServer] = []

    def __call__(self, *, region: str | None = support.REGION, account_id: str | None = support.ACCOUNT,
                 data_dir=None, start: bool = True, name: str | None = None) -> GuardrailServer:
        name = name or f"extra{len(self.servers) + 1}"
        srv = GuardrailServer(self.base / name, region=region, account_id=account_id,
                              data_dir=data_dir, name=name)
        self.servers.append(srv)
        if start:
            srv.start()
        return srv

    def stop_all(self) -> None:
        for srv in self.servers:
            _stop(srv)


@pytest.fixture
def server_factory(tmp_path):
    sf = ServerFactory(tmp_path)
    yield sf
    sf.stop_all()


@pytest.fixture(scope="session")
def failing_endpoint(server):
    """An endpoint whose model never passes /ping, with the minimum 60 s startup window."""
    sm = server.sm()
    f = Factory(sm)
    created = time.monotonic()
    name = f.simple_endpoint(env={"PING_FAIL": "1"}, startup_timeout=60, wait=False,
                             name=support.unique("failing"))
    yield SimpleNamespace(name=name, created=created, factory=f,
                          model=f.models[-1], config=f.configs[-1])
    f.cleanup()


@pytest.fixture(scope="session", autouse=True)
def _prestart_failing_endpoint(request):
    if any("failing_endpoint" in getattr(item, "fixturenames", ()) for item in request.session.items):
        request.getfixturevalue("failing_endpoint")


@pytest.fixture(scope="session")
def cloudwatch(server):
    """A stock boto3 `cloudwatch` client on `server` (awsJson1_0, what boto3 1.44 sends), no retries."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        "cloudwatch", endpoint_url=server.url, region_name=support.REGION,
        aws_access_key_id=support.ACCESS_KEY, aws_secret_access_key=support.SECRET_KEY,
        config=Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=5, read_timeout=30),
    )

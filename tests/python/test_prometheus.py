"""`GET /metrics`: Guardrail's own figures in Prometheus/OpenMetrics text (docs/sagemaker-api.md#dispatch,
docs/cloudwatch-api.md#published-metrics), checked by parsing the exposition and by a real scrape with Debian's
`prometheus` server (skipped only when /usr/bin/prometheus is absent).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import time
import urllib.parse
from pathlib import Path

import pytest

from rollback_support import parse_exposition, put_alarm, sample_value
from support import (
    _NO_PROXY_OPENER,
    free_port,
    invoke,
    tail,
    unique,
    variant,
    wait_endpoint_status,
    wait_until,
)

PROMETHEUS = Path("/usr/bin/prometheus")
N_CALLS = 7


def scrape(server) -> tuple[str, str]:
    with _NO_PROXY_OPENER.open(server.url + "/metrics", timeout=5) as resp:
        assert resp.status == 200, resp.status
        return resp.headers.get("Content-Type", ""), resp.read().decode("utf-8")


def samples(server):
    return parse_exposition(scrape(server)[1])


def http_json(url: str, timeout: float = 2.0) -> dict:
    with _NO_PROXY_OPENER.open(url, timeout=timeout) as resp:
        return json.loads(resp.read())


def latency_endpoint(factory, latency_ms: int = 50) -> tuple[str, str]:
    model = factory.model(image="model:v1", env={"LATENCY_MS": str(latency_ms)})
    cfg = factory.config(variants=[variant(model)])
    return factory.endpoint(config=cfg), cfg


def test_metrics_exposition(server, sm, rt, cloudwatch, factory):
    """Invocations, the model-latency histogram (seconds), alarm evaluations and finished
    deployments appear with the right labels and counts."""
    ep, cfg = latency_endpoint(factory, 50)
    for _ in range(N_CALLS):
        invoke(rt, ep)

    # invocations are counted per endpoint/variant/config (published once a second)
    def counted():
        s = samples(server)
        v = sample_value(s, "guardrail_invocations_total", endpoint=ep)
        return s if v == N_CALLS else None

    s = wait_until(counted, timeout=10, interval=0.2,
                   desc=f"guardrail_invocations_total{{endpoint={ep!r}}} == {N_CALLS}")
    series = [(lab, v) for n, lab, v in s if n == "guardrail_invocations_total" and lab.get("endpoint") == ep]
    assert [(lab.get("variant"), lab.get("config")) for lab, _ in series] == [("AllTraffic", cfg)], series

    # the latency histogram is in seconds: every call took ≥ 50 ms (and surely < 0.4 s)
    buckets = [(float(lab["le"]), v) for n, lab, v in s
               if n == "guardrail_model_latency_seconds_bucket" and lab.get("endpoint") == ep]
    assert buckets, "no guardrail_model_latency_seconds_bucket series for the endpoint"
    assert sample_value(s, "guardrail_model_latency_seconds_count", endpoint=ep) == N_CALLS
    total = sample_value(s, "guardrail_model_latency_seconds_sum", endpoint=ep)
    assert total is not None and 0.05 * N_CALLS <= total < 2.0 * N_CALLS, f"latency sum {total} s"
    for le, v in buckets:
        if le < 0.049:
            assert v == 0, f"{v} call(s) in bucket le={le} although the model sleeps 50 ms"
        if le >= 0.4:
            assert v == N_CALLS, f"bucket le={le} holds {v}, want {N_CALLS}"
    assert any(math.isinf(le) for le, _ in buckets), "no le=+Inf bucket"

    # alarm evaluations keep counting (every alarm is evaluated once a second)
    put_alarm(cloudwatch, unique("prom-alarm"), namespace="Guardrail/Tests", metric="Unused",
              dims={"Test": "prometheus"})
    before = sample_value(samples(server), "guardrail_alarm_evaluations_total")
    assert before is not None, "no guardrail_alarm_evaluations_total"
    wait_until(lambda: sample_value(samples(server), "guardrail_alarm_evaluations_total") > before,
               timeout=5, interval=0.2, desc="guardrail_alarm_evaluations_total to increase")

    # a finished deployment is counted by outcome
    def succeeded() -> float:
        return sample_value(samples(server), "guardrail_deployments_finished_total", outcome="succeeded") or 0.0

    done_before = succeeded()
    model2 = factory.model(image="model:v2", env={"LATENCY_MS": "50"})
    cfg2 = factory.config(variants=[variant(model2)])
    sm.update_endpoint(EndpointName=ep, EndpointConfigName=cfg2)
    wait_endpoint_status(sm, ep, "InService", timeout=60)
    wait_until(lambda: succeeded() >= done_before + 1, timeout=5, interval=0.2,
               desc="guardrail_deployments_finished_total{outcome=\"succeeded\"} to increase")

    ctype, text = scrape(server)
    assert ctype.startswith(("application/openmetrics-text", "text/plain")), ctype
    if ctype.startswith("application/openmetrics-text"):
        assert text.endswith("# EOF\n"), "an OpenMetrics exposition must end with '# EOF'"
    for name in ("guardrail_invocations_total", "guardrail_model_latency_seconds_bucket",
                 "guardrail_deployments_finished_total", "guardrail_alarm_evaluations_total"):
        assert any(line.startswith(name) for line in text.splitlines()), f"{name} missing from /metrics"


def test_real_prometheus_scrape(server, rt, factory, tmp_path):
    """Debian's prometheus scrapes /metrics every second: the target is `up` and
    guardrail_invocations_total for a fresh endpoint shows its invocations."""
    if not PROMETHEUS.is_file():
        pytest.skip("/usr/bin/prometheus is absent (scripts/setup.sh installs Debian's `prometheus` package)")
    ep, cfg = latency_endpoint(factory, 1)
    for _ in range(N_CALLS):
        invoke(rt, ep)

    port = free_port()
    conf = tmp_path / "prometheus.yml"
    conf.write_text(
        "global:\n"
        "  scrape_interval: 1s\n"
        "  scrape_timeout: 1s\n"
        "  evaluation_interval: 1s\n"
        "scrape_configs:\n"
        "  - job_name: guardrail\n"
        "    metrics_path: /metrics\n"
        "    static_configs:\n"
        f"      - targets: ['127.0.0.1:{server.port}']\n")
    log = tmp_path / "prometheus.log"
    api = f"http://127.0.0.1:{port}/api/v1"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [str(PROMETHEUS), f"--config.file={conf}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
             f"--web.listen-address=127.0.0.1:{port}"],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, cwd=str(tmp_path),
            env={**os.environ, "HOME": str(tmp_path)})
    try:
        def target_up():
            assert proc.poll() is None, f"prometheus exited with {proc.returncode}:\n{tail(log, 30)}"
            targets = http_json(f"{api}/targets")["data"]["activeTargets"]
            ours = [t for t in targets if t["scrapeUrl"] == f"{server.url}/metrics"]
            if ours and ours[0]["health"] == "up":
                return ours[0]
            return None

        try:
            target = wait_until(target_up, timeout=30, interval=0.5, desc="the prometheus target to be up")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n--- prometheus log ---\n{tail(log, 30)}") from None
        assert target["labels"]["job"] == "guardrail", target

        query = urllib.parse.quote(f'guardrail_invocations_total{{endpoint="{ep}"}}')

        def series():
            result = http_json(f"{api}/query?query={query}")["data"]["result"]
            if result and float(result[0]["value"][1]) == N_CALLS:
                return result
            return None

        try:
            result = wait_until(series, timeout=20, interval=0.5,
                                desc=f"prometheus to return guardrail_invocations_total for {ep}")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n--- prometheus log ---\n{tail(log, 30)}") from None
        assert len(result) == 1, result
        labels = result[0]["metric"]
        assert (labels["__name__"], labels["endpoint"], labels["variant"], labels["config"]) == (
            "guardrail_invocations_total", ep, "AllTraffic", cfg), labels
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)

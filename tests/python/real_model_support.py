"""Helpers for test_real_model.py: a real scikit-learn model served from a real container image,
with its artifacts in an S3-compatible store (moto), behind a Guardrail with `[containers]`.

- `MotoS3`: moto's S3 server (`.venv/bin/moto_server`) on a free loopback port.
- `build_inference_image()`: builds `localhost/guardrail-test/sklearn-inference:<hash12>` from
  `sklearn_container/` (FROM the python-sklearn test image, `podman build --pull=never`); the tag
  is a hash of the server files and the base image's id, so a run reuses an earlier build.
- `podman()`, `containers()`, `inspect()`: the podman CLI, for what Guardrail left behind.
- models: `train_v1/v2/v3()`, `pack()` (model.tar.gz with model.pkl at the root) and the
  broken archives (`random_bytes()`, `truncated()`, `with_escaping_entry()`).
- `ContainerGuardrail`: a `support.GuardrailServer` whose config enables the container backend
  and an S3 endpoint, started with explicit (dummy) AWS credentials in its environment.
- `PredictionLoad`: threads invoking the endpoint with real feature rows (CSV and JSON in turn)
  and classifying every answer by the model version whose predictions it equals.

Every wait has a deadline; nothing sleeps to wait for a state.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import shutil
import signal
import subprocess
import tarfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import boto3
import numpy as np
import pytest
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

import support
from support import REPO_ROOT, error_parts, free_port, http_get_status, tail

HERE = Path(__file__).resolve().parent
CONTAINER_DIR = HERE / "sklearn_container"
CONTAINER_FILES = ("Containerfile", "serve.py")
BASE_IMAGE = "localhost/guardrail-test/python-sklearn:bookworm"
IMAGE_REPO = "localhost/guardrail-test/sklearn-inference"
ENGINE = os.environ.get("GUARDRAIL_TEST_ENGINE", "unix:///run/podman/podman.sock")
MOTO_BIN = REPO_ROOT / ".venv" / "bin" / "moto_server"
S3_KEY_ID = "testing"
S3_SECRET = "testing"


def say(line: str) -> None:
    """A figure for the report: visible with `pytest -s`, always prefixed `real-model:`."""
    print(f"\nreal-model: {line}", flush=True)


# --------------------------------------------------------------------------------------------
# podman


def _podman_env() -> dict:
    env = dict(os.environ)
    path = env.get("PATH", "")
    for d in ("/usr/local/sbin", "/usr/sbin", "/sbin"):
        if d not in path.split(":"):
            path = f"{path}:{d}" if path else d
    env["PATH"] = path
    return env


def podman(*args: str, timeout: float = 60.0, check: bool = True) -> subprocess.CompletedProcess:
    exe = shutil.which("podman", path=_podman_env()["PATH"])
    if exe is None:
        pytest.fail("podman is not installed (run scripts/setup.sh)", pytrace=False)
    try:
        proc = subprocess.run([exe, *args], capture_output=True, text=True, timeout=timeout,
                              env=_podman_env(), stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"podman {' '.join(args)} did not finish within {timeout:.0f}s") from exc
    if check and proc.returncode != 0:
        raise AssertionError(f"podman {' '.join(args)} exited {proc.returncode}: "
                             f"{(proc.stderr or proc.stdout).strip()[-2000:]}")
    return proc


def containers(label: str) -> list[dict]:
    """Every container (running or not) carrying `label` (`key=value`), as `podman ps` JSON."""
    out = podman("ps", "-a", "--filter", f"label={label}", "--format", "json").stdout.strip()
    return json.loads(out) if out else []


def running(label: str) -> list[dict]:
    return [c for c in containers(label) if c.get("State") == "running"]


def inspect(ids: list[str]) -> list[dict]:
    if not ids:
        return []
    return json.loads(podman("container", "inspect", *ids).stdout)


def describe_containers(label: str) -> str:
    return "; ".join(f"{c.get('Names')} {c.get('State')} {c.get('Status')}" for c in containers(label)) or "none"


# --------------------------------------------------------------------------------------------
# the inference image


def image_exists(ref: str) -> bool:
    return podman("image", "exists", ref, check=False).returncode == 0


def build_inference_image(timeout: float = 300.0) -> tuple[str, bool, float]:
    """(tag, built now?, seconds). Fails (never skips) when the base image is missing."""
    if not image_exists(BASE_IMAGE):
        pytest.fail(f"{BASE_IMAGE} is missing: run scripts/test-images.sh", pytrace=False)
    base_id = podman("image", "inspect", "--format", "{{.Id}}", BASE_IMAGE).stdout.strip()
    h = hashlib.sha256(f"base {base_id}\n".encode())
    for name in CONTAINER_FILES:
        data = (CONTAINER_DIR / name).read_bytes()
        h.update(f"{name} {len(data)}\n".encode())
        h.update(data)
    digest = h.hexdigest()
    tag = f"{IMAGE_REPO}:{digest[:12]}"
    t0 = time.monotonic()
    if image_exists(tag):
        return tag, False, time.monotonic() - t0
    podman("build", "--pull=never", "--label", f"guardrail.test.content-sha256={digest}",
           "-t", tag, "-f", str(CONTAINER_DIR / "Containerfile"), str(CONTAINER_DIR), timeout=timeout)
    assert image_exists(tag), f"podman build finished but {tag} does not exist"
    return tag, True, time.monotonic() - t0


# --------------------------------------------------------------------------------------------
# moto's S3 server


class MotoS3:
    def __init__(self, workdir: Path):
        self.workdir = Path(workdir)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = self.workdir / "moto.log"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 30.0) -> "MotoS3":
        if not MOTO_BIN.exists():
            pytest.fail(f"{MOTO_BIN} is missing: install tests/python/requirements.txt in .venv", pytrace=False)
        log = open(self.log_path, "ab")
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update({"AWS_ACCESS_KEY_ID": S3_KEY_ID, "AWS_SECRET_ACCESS_KEY": S3_SECRET,
                    "AWS_DEFAULT_REGION": support.REGION})
        self.proc = subprocess.Popen([str(MOTO_BIN), "-H", "127.0.0.1", "-p", str(self.port)],
                                     stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                     env=env, cwd=str(self.workdir), start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                pytest.fail(f"moto_server exited {self.proc.returncode}:\n{tail(self.log_path)}", pytrace=False)
            if http_get_status(self.url + "/moto-api/", timeout=1.0) is not None:
                return self
            if time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"moto_server did not answer within {timeout:.0f}s:\n{tail(self.log_path)}",
                            pytrace=False)
            time.sleep(0.1)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def client(self):
        return boto3.client("s3", endpoint_url=self.url, region_name=support.REGION,
                            aws_access_key_id=S3_KEY_ID, aws_secret_access_key=S3_SECRET,
                            config=Config(retries={"max_attempts": 2, "mode": "standard"},
                                          s3={"addressing_style": "path"}))


# --------------------------------------------------------------------------------------------
# models and archives


@dataclass
class TrainedModel:
    version: str
    model: Any
    description: str

    def predict(self, X) -> list:
        return np.asarray(self.model.predict(np.asarray(X, dtype=np.float64))).tolist()

    def min_margin(self, X) -> float:
        """Smallest gap between the two best class scores: how far any row is from a tie (a
        float-rounding difference between two BLAS builds cannot flip a label with a big gap)."""
        scores = np.sort(self.model.decision_function(np.asarray(X, dtype=np.float64)), axis=1)
        return float((scores[:, -1] - scores[:, -2]).min())


def iris():
    from sklearn.datasets import load_iris

    d = load_iris()
    return d.data, d.target, d.target_names


def train_v1() -> TrainedModel:
    from sklearn.linear_model import LogisticRegression

    X, y, _ = iris()
    m = LogisticRegression(max_iter=1000).fit(X, y)
    return TrainedModel("v1", m, "LogisticRegression(C=1.0) on all 150 iris rows, integer labels")


def train_v2() -> TrainedModel:
    """Different data (two thirds of the rows, labelled with species names) and C: its answers
    are strings, so every answer says by itself which version made it."""
    from sklearn.linear_model import LogisticRegression

    X, y, names = iris()
    keep = np.arange(len(y)) % 3 != 0
    m = LogisticRegression(C=0.3, max_iter=1000).fit(X[keep], names[y[keep]])
    return TrainedModel("v2", m, "LogisticRegression(C=0.3) on 100 iris rows, species-name labels")


def train_v3() -> TrainedModel:
    """Broken for real traffic: trained on 3 features, so predict() on 4-feature rows raises
    ValueError ("X has 4 features, but LogisticRegression is expecting 3 features as input")."""
    from sklearn.linear_model import LogisticRegression

    X, y, _ = iris()
    m = LogisticRegression(max_iter=1000).fit(X[:, :3], y)
    return TrainedModel("v3", m, "LogisticRegression on 3 of the 4 iris features")


V3_ERROR = "is expecting 3 features as input"


def pack(model: Any, *, extra: dict[str, bytes] | None = None) -> bytes:
    """model.tar.gz bytes: model.pkl at the archive root (plus `extra` entries, names verbatim)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        entries = {"model.pkl": pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL), **(extra or {})}
        for name, data in entries.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            info.mtime = int(time.time())
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def random_bytes(n: int = 4096, seed: int = 7) -> bytes:
    return np.random.default_rng(seed).integers(0, 256, size=n, dtype=np.uint8).tobytes()


def truncated(archive: bytes) -> bytes:
    """A real gzip'd tar cut in the middle: the gzip header is fine, the stream breaks off."""
    return archive[: len(archive) // 2]


def with_escaping_entry(model: Any) -> bytes:
    return pack(model, extra={"../evil": b"written outside the model directory\n"})


def files_named(root: Path, name: str) -> list[Path]:
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        for n in filenames + dirnames:
            if n == name:
                found.append(Path(dirpath) / n)
    return found


# --------------------------------------------------------------------------------------------
# Guardrail with the container backend


class ContainerGuardrail(support.GuardrailServer):
    """`guardrail serve` with `[containers]` on podman's Docker API and `[model_data]` on moto."""

    def __init__(self, workdir: Path, *, s3_url: str, name: str = "containers"):
        super().__init__(workdir, name=name)
        self.config_path.write_text(
            f"region = {json.dumps(support.REGION)}\n"
            f"account_id = {json.dumps(support.ACCOUNT)}\n"
            "invocation_timeout_s = 30\n"
            "\n[containers]\n"
            f"engine = {json.dumps(ENGINE)}\n"
            "\n[model_data]\n"
            f"s3_endpoint_url = {json.dumps(s3_url)}\n")
        # The server's own AWS environment: dummy keys, always explicit, so the S3 client never
        # falls back to another credential source (instance metadata above all).
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        self.env.update({
            "AWS_ACCESS_KEY_ID": S3_KEY_ID, "AWS_SECRET_ACCESS_KEY": S3_SECRET,
            "AWS_REGION": support.REGION, "AWS_DEFAULT_REGION": support.REGION,
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "PATH": _podman_env()["PATH"],
        })

    def start(self, timeout: float = support.STARTUP_TIMEOUT_S) -> "ContainerGuardrail":
        # support.GuardrailServer.start() with an explicit environment.
        assert self.proc is None or self.proc.poll() is not None, "already running"
        binary = support.require_binary()
        self.runs += 1
        self.port = free_port()
        self._log = open(self.log_path, "ab")
        self._log.write(f"\n===== run {self.runs}: port {self.port} =====\n".encode())
        self._log.flush()
        cmd = [str(binary), "serve", "--config", str(self.config_path),
               "--listen", f"127.0.0.1:{self.port}", "--data-dir", str(self.data_dir)]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self._log,
                                     stderr=subprocess.STDOUT, cwd=str(self.workdir), env=self.env)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                pytest.fail(f"guardrail exited with {self.proc.returncode} before /healthz answered.\n"
                            f"command: {' '.join(cmd)}\n--- log tail ---\n{self.log_tail()}", pytrace=False)
            if http_get_status(self.url + "/healthz") == 200:
                return self
            if time.monotonic() > deadline:
                self.kill()
                pytest.fail(f"guardrail did not answer /healthz within {timeout:.0f}s.\n--- log tail ---\n"
                            f"{self.log_tail()}", pytrace=False)
            time.sleep(0.1)

    def cloudwatch(self):
        return self.session().client(
            "cloudwatch", endpoint_url=self.url,
            config=Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=5, read_timeout=30))

    def instance_logs(self, endpoint: str, lines: int = 15) -> str:
        d = self.data_dir / "logs" / endpoint
        if not d.is_dir():
            return f"(no instance logs under {d})"
        return "\n".join(f"--- {p.name} ---\n{tail(p, lines)}" for p in sorted(d.glob("*.log")))

    def context(self, endpoint: str | None = None) -> str:
        """What to show when something about an endpoint went wrong."""
        out = f"\n--- guardrail log tail ({self.log_path}) ---\n{self.log_tail(40)}"
        if endpoint:
            out += (f"\n--- containers of {endpoint}: "
                    f"{describe_containers(f'guardrail.endpoint={endpoint}')}"
                    f"\n--- instance logs ---\n{self.instance_logs(endpoint)}")
        return out


def wait_status(srv: ContainerGuardrail, sm, name: str, want: str, *, timeout: float,
                fail_on: tuple[str, ...] = ("Failed",), interval: float = 0.1) -> dict:
    """Poll DescribeEndpoint (every 0.1 s) until `want`; fail at once on `fail_on`."""
    deadline = time.monotonic() + timeout
    while True:
        d = sm.describe_endpoint(EndpointName=name)
        status = d["EndpointStatus"]
        if status == want:
            return d
        if status in fail_on:
            raise AssertionError(f"endpoint {name} is {status} (waiting for {want}); "
                                 f"FailureReason={d.get('FailureReason')!r}{srv.context(name)}")
        if time.monotonic() > deadline:
            raise AssertionError(f"endpoint {name} still {status} after {timeout:.0f}s (want {want})"
                                 f"{srv.context(name)}")
        time.sleep(interval)


# --------------------------------------------------------------------------------------------
# invocations with real features


def csv_body(X) -> bytes:
    return "".join(",".join(repr(float(v)) for v in row) + "\n" for row in X).encode()


def json_body(X) -> bytes:
    return json.dumps({"instances": [[float(v) for v in row] for row in X]}).encode()


def parse_answer(raw: bytes, content_type: str) -> list:
    """Predictions from an answer: JSON `{"predictions": [...]}` or CSV (one per line; numbers
    as ints where they are ints, so they compare equal to `model.predict` of integer labels)."""
    if content_type.split(";")[0].strip() == "application/json":
        doc = json.loads(raw)
        assert isinstance(doc, dict) and isinstance(doc.get("predictions"), list), f"JSON answer {raw[:200]!r}"
        return doc["predictions"]
    out = []
    for line in raw.decode().splitlines():
        if not line:
            continue
        try:
            out.append(int(line))
        except ValueError:
            out.append(line)
    return out


@dataclass
class Call:
    t0: float                 # monotonic send time
    t1: float                 # monotonic answer time
    w0: float                 # wall clock send time
    kind: str                 # "csv" | "json"
    ok: bool
    version: str | None = None   # whose predictions the answer equals
    code: str = ""            # error code (or exception class), "wrong-answer"
    status: int = 0
    original_status: int | None = None
    message: str = ""

    def describe(self, origin: float) -> str:
        return f"+{self.t0 - origin:.2f}s {self.kind} {self.code} ({self.status}): {self.message[:160]}"


class PredictionLoad:
    """`threads` workers invoking `endpoint` back to back with `X` (CSV and JSON in turn), each
    answer classified by the model version whose predictions it equals exactly."""

    def __init__(self, rt, endpoint: str, X, expected: dict[str, list], *, threads: int = 3,
                 think_s: float = 0.005):
        self.rt, self.endpoint, self.threads, self.think_s = rt, endpoint, threads, think_s
        self.bodies = {"csv": (csv_body(X), "text/csv"), "json": (json_body(X), "application/json")}
        self.expected = expected
        self.calls: list[Call] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._workers: list[threading.Thread] = []

    def start(self) -> "PredictionLoad":
        for i in range(self.threads):
            t = threading.Thread(target=self._run, args=(i,), name=f"predict-{self.endpoint}-{i}", daemon=True)
            t.start()
            self._workers.append(t)
        return self

    def stop(self) -> None:
        self._stop.set()
        for t in self._workers:
            t.join(timeout=40)
        alive = [t.name for t in self._workers if t.is_alive()]
        assert not alive, f"load threads still running 40 s after stop: {alive}"

    def _classify(self, predictions: list) -> str | None:
        for version, want in self.expected.items():
            if predictions == want:
                return version
        return None

    def _run(self, i: int) -> None:
        n = i
        while not self._stop.is_set():
            kind = ("csv", "json")[n % 2]
            n += 1
            body, ctype = self.bodies[kind]
            t0, w0 = time.monotonic(), time.time()
            try:
                resp = self.rt.invoke_endpoint(EndpointName=self.endpoint, Body=body, ContentType=ctype)
                raw = resp["Body"].read()
                t1 = time.monotonic()
                try:
                    version = self._classify(parse_answer(raw, resp.get("ContentType", "")))
                except (ValueError, AssertionError):
                    version = None
                if version is None:
                    call = Call(t0, t1, w0, kind, False, code="wrong-answer", status=200,
                                message=f"{resp.get('ContentType')!r} {raw[:120]!r}")
                else:
                    call = Call(t0, t1, w0, kind, True, version=version)
            except ClientError as exc:
                code, status, msg = error_parts(exc)
                orig = exc.response.get("OriginalStatusCode")
                call = Call(t0, time.monotonic(), w0, kind, False, code=code, status=status,
                            original_status=int(orig) if orig is not None else None, message=msg)
            except (BotoCoreError, OSError) as exc:
                call = Call(t0, time.monotonic(), w0, kind, False, code=type(exc).__name__, message=str(exc))
            with self._lock:
                self.calls.append(call)
            if self.think_s:
                time.sleep(self.think_s)

    def snapshot(self) -> list[Call]:
        with self._lock:
            return list(self.calls)

    def between(self, start: float = float("-inf"), end: float = float("inf")) -> list[Call]:
        """Calls that started in [start, end)."""
        return [c for c in self.snapshot() if start <= c.t0 < end]

    def wait_ok(self, n: int, *, since: float = float("-inf"), version: str | None = None,
                timeout: float = 30.0) -> list[Call]:
        def enough():
            got = [c for c in self.snapshot() if c.ok and c.t0 >= since and (version is None or c.version == version)]
            return got if len(got) >= n else None
        return support.wait_until(enough, timeout=timeout, interval=0.05,
                                  desc=f"{n} correct answer(s) from {self.endpoint}"
                                       + (f" by {version}" if version else ""))


def counts(calls: list[Call]) -> dict[str, int]:
    out: dict[str, int] = {"requests": len(calls), "failures": sum(not c.ok for c in calls)}
    for c in calls:
        key = c.version if c.ok else f"error:{c.code}"
        out[key] = out.get(key, 0) + 1
    return out


def fmt_counts(calls: list[Call], extra: Callable[[Call], bool] | None = None, extra_name: str = "") -> str:
    c = counts(calls)
    parts = [f"requests={c.pop('requests')}", f"failures={c.pop('failures')}"]
    if extra is not None:
        parts.append(f"{extra_name}={sum(extra(x) for x in calls)}")
    parts += [f"{k}={v}" for k, v in sorted(c.items())]
    return " ".join(parts)

#!/usr/bin/env python3
"""A scikit-learn inference server following SageMaker's custom-container contract.

SageMaker (and Guardrail) start the container as `<entrypoint> serve`; this script is the
image's entrypoint:

    serve.py serve

- listens on 0.0.0.0:$SAGEMAKER_BIND_TO_PORT (default 8080);
- loads `$SM_MODEL_DIR/model.pkl` (default /opt/ml/model, mounted read-only) in the
  background; `GET /ping` answers 503 until the model is loaded, then 200 (a model that cannot
  be loaded keeps /ping at 503 and says why);
- `POST /invocations` takes `text/csv` (one row of numeric features per line) or
  `application/json` (`{"instances": [[...], ...]}`) and answers `model.predict(rows)` as CSV
  (one prediction per line) or JSON (`{"predictions": [...]}`): in the request's content type,
  or in the `Accept` type when one is given (`*/*` = the request's). Unsupported content type →
  415, unsupported Accept → 406, malformed body → 400, `predict` raising → 500 with the
  exception's message;
- logs one line per request to stdout;
- SIGTERM/SIGINT: stop accepting, let in-flight requests finish (bounded), exit 0.

Standard library plus numpy and the pickled model's own packages (scikit-learn) only.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import pickle
import signal
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODEL_DIR = os.environ.get("SM_MODEL_DIR", "/opt/ml/model")
MODEL_FILE = "model.pkl"
MAX_BODY = 6 * 1024 * 1024  # SageMaker's payload limit
CSV = "text/csv"
JSON = "application/json"
SUPPORTED = (CSV, JSON)
DRAIN_S = 10.0


def log(message: str) -> None:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
    sys.stdout.write(f"{stamp} sklearn-serve: {message}\n")
    sys.stdout.flush()


class BadRequest(Exception):
    """The request's body cannot be turned into rows of features (→ 400)."""


# ---------------------------------------------------------------------------------------------
# the model


class Model:
    def __init__(self, directory: str):
        self.path = os.path.join(directory, MODEL_FILE)
        self.model = None
        self.error: str | None = None
        self.ready = threading.Event()

    def load(self) -> None:
        t0 = time.monotonic()
        try:
            with open(self.path, "rb") as f:
                model = pickle.load(f)
            if not callable(getattr(model, "predict", None)):
                raise TypeError(f"{type(model).__name__} has no predict()")
        except Exception as exc:  # noqa: BLE001 - reported by /ping and the log
            self.error = f"cannot load {self.path}: {type(exc).__name__}: {exc}"
            log(self.error)
            return
        self.model = model
        self.ready.set()
        log(f"loaded {type(model).__name__} from {self.path} in {time.monotonic() - t0:.2f}s")

    def predict(self, rows: list[list[float]]) -> list:
        import numpy as np

        out = self.model.predict(np.asarray(rows, dtype=np.float64))
        return np.asarray(out).tolist()


# ---------------------------------------------------------------------------------------------
# content types


def media_type(value: str | None) -> str:
    """`Text/CSV; charset=utf-8` → `text/csv`."""
    return (value or "").split(";", 1)[0].strip().lower()


def answer_type(content_type: str, accept: str | None) -> str | None:
    """The type to answer in: the first supported type the Accept header lists (`*/*`, `text/*`
    … count), the request's type without an Accept; None when Accept names nothing we make."""
    if not accept or not accept.strip():
        return content_type
    for part in accept.split(","):
        t = media_type(part)
        if t in SUPPORTED:
            return t
        if t in ("*/*", "*"):
            return content_type
        if t.endswith("/*"):
            for s in (content_type, *SUPPORTED):
                if s.startswith(t[:-1]):
                    return s
    return None


def number(value, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise BadRequest(f"{where}: {value!r} is not a number")
    try:
        x = float(value)
    except ValueError:
        raise BadRequest(f"{where}: {value!r} is not a number") from None
    if not math.isfinite(x):
        raise BadRequest(f"{where}: {value!r} is not a finite number")
    return x


def check_rectangular(rows: list[list[float]]) -> list[list[float]]:
    if not rows:
        raise BadRequest("no rows of features in the request")
    width = len(rows[0])
    if width == 0:
        raise BadRequest("row 1 has no features")
    for i, row in enumerate(rows, 1):
        if len(row) != width:
            raise BadRequest(f"row {i} has {len(row)} features, row 1 has {width}")
    return rows


def parse_csv(body: bytes) -> list[list[float]]:
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"CSV body is not UTF-8: {exc}") from None
    rows = []
    for n, fields in enumerate(csv.reader(io.StringIO(text)), 1):
        if not fields or all(not f.strip() for f in fields):
            continue  # blank line
        rows.append([number(f.strip(), f"line {n}, column {i}") for i, f in enumerate(fields, 1)])
    return check_rectangular(rows)


def parse_json(body: bytes) -> list[list[float]]:
    try:
        doc = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadRequest(f"JSON body does not parse: {exc}") from None
    if not isinstance(doc, dict) or "instances" not in doc:
        raise BadRequest('JSON body must be an object {"instances": [[...], ...]}')
    instances = doc["instances"]
    if not isinstance(instances, list):
        raise BadRequest('"instances" must be a list of rows')
    rows = []
    for i, row in enumerate(instances, 1):
        if not isinstance(row, list):
            raise BadRequest(f"instance {i} is not a list of features")
        rows.append([number(v, f"instance {i}, feature {j}") for j, v in enumerate(row, 1)])
    return check_rectangular(rows)


def render(predictions: list, kind: str) -> bytes:
    if kind == JSON:
        return json.dumps({"predictions": predictions}).encode()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for p in predictions:
        writer.writerow(p if isinstance(p, list) else [p])
    return out.getvalue().encode()


# ---------------------------------------------------------------------------------------------
# HTTP


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: Guardrail pools its upstream connections
    server_version = "sklearn-serve/1"
    model: Model  # set on the class in serve()
    traceback_logged = False

    # -- plumbing -----------------------------------------------------------------------

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base class's name
        log(f"{self.address_string()} {format % args}")

    def send(self, status: int, body: bytes, content_type: str = "text/plain") -> None:
        self.send_response_only(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Date", self.date_time_string())
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.wfile.flush()

    def read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks, total = [], 0
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    break
                total += size
                if total > MAX_BODY:
                    raise BadRequest(f"body larger than {MAX_BODY} bytes")
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise BadRequest(f"body of {length} bytes is larger than {MAX_BODY} bytes")
        return self.rfile.read(length) if length else b""

    # -- routes -------------------------------------------------------------------------

    def do_GET(self) -> None:
        if self.path.split("?", 1)[0] != "/ping":
            self.send(404, b"not found\n")
            return
        if self.model.ready.is_set():
            status = 200
            self.send(200, b"")
        elif self.model.error:
            status = 503
            self.send(503, (self.model.error + "\n").encode())
        else:
            status = 503
            self.send(503, b"loading the model\n")
        log(f"{self.command} {self.path} {status}")

    def do_POST(self) -> None:
        with self.server.lock:
            self.server.inflight += 1
        try:
            self.invocations()
        finally:
            with self.server.lock:
                self.server.inflight -= 1

    def invocations(self) -> None:
        t0 = time.monotonic()
        status, rows, note = 500, 0, ""
        try:
            if self.path.split("?", 1)[0] != "/invocations":
                status, note = 404, "not found"
                self.send(404, b"not found\n")
                return
            try:
                body = self.read_body()
            except (BadRequest, ValueError) as exc:
                status, note = 400, str(exc)
                self.close_connection = True
                self.send(400, f"{exc}\n".encode())
                return
            ctype = media_type(self.headers.get("Content-Type"))
            if ctype not in SUPPORTED:
                status, note = 415, f"unsupported content type {ctype or '(none)'}"
                self.send(415, f"unsupported content type {ctype or '(none)'!r}; send text/csv or "
                               f"application/json\n".encode())
                return
            accept = self.headers.get("Accept")
            out_type = answer_type(ctype, accept)
            if out_type is None:
                status, note = 406, f"cannot answer in {accept!r}"
                self.send(406, f"cannot answer in {accept!r}; accepted: text/csv, application/json\n".encode())
                return
            if not self.model.ready.is_set():
                status, note = 503, "model not loaded"
                self.send(503, f"model not loaded: {self.model.error or 'loading'}\n".encode())
                return
            try:
                features = parse_csv(body) if ctype == CSV else parse_json(body)
            except BadRequest as exc:
                status, note = 400, str(exc)
                self.send(400, f"malformed {ctype} input: {exc}\n".encode())
                return
            rows = len(features)
            try:
                predictions = self.model.predict(features)
            except Exception as exc:  # noqa: BLE001 - the model's own failure → 500
                status, note = 500, f"{type(exc).__name__}: {exc}"
                if not Handler.traceback_logged:  # once: the request line says the rest
                    Handler.traceback_logged = True
                    log("prediction failed:\n" + traceback.format_exc().rstrip())
                self.send(500, f"prediction failed: {type(exc).__name__}: {exc}\n".encode())
                return
            status = 200
            self.send(200, render(predictions, out_type), out_type)
        finally:
            log(f"{self.command} {self.path} {status} rows={rows} "
                f"type={self.headers.get('Content-Type')!r} accept={self.headers.get('Accept')!r} "
                f"{(time.monotonic() - t0) * 1000:.1f}ms" + (f" ({note})" if note else ""))

    def do_HEAD(self) -> None:
        self.do_GET()


class Server(ThreadingHTTPServer):
    daemon_threads = True          # idle keep-alive connections never block the exit
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.inflight = 0  # requests being answered (not idle keep-alive connections)
        self.lock = threading.Lock()


def serve() -> int:
    port = int(os.environ.get("SAGEMAKER_BIND_TO_PORT") or 8080)
    model = Model(MODEL_DIR)
    Handler.model = model
    server = Server(("0.0.0.0", port), Handler)
    stopping = threading.Event()

    def on_signal(signum, _frame):
        if stopping.is_set():
            return
        stopping.set()
        log(f"received {signal.Signals(signum).name}: shutting down")
        # shutdown() waits for serve_forever() to return: not from this (the main) thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    threading.Thread(target=model.load, name="load-model", daemon=True).start()
    log(f"listening on 0.0.0.0:{port}, model {model.path}, pid {os.getpid()}")
    server.serve_forever(poll_interval=0.2)
    server.server_close()
    deadline = time.monotonic() + DRAIN_S
    while time.monotonic() < deadline:
        with server.lock:
            if server.inflight == 0:
                break
        time.sleep(0.02)
    log("stopped")
    return 0


def main(argv: list[str]) -> int:
    if argv[1:] == ["serve"]:
        return serve()
    sys.stderr.write(f"usage: {argv[0]} serve   (got {argv[1:]!r})\n")
    return 64


if __name__ == "__main__":
    sys.exit(main(sys.argv))

#!/usr/bin/env bash
# Builds Guardrail, runs it with a demo endpoint on the built-in model server, shows
# InvokeEndpoint answering through unmodified boto3, and keeps serving until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
echo "==> cargo build --release"
cargo build --release -p guardrail
listen="${GUARDRAIL_LISTEN:-127.0.0.1:8080}"
url="http://$listen"
echo "==> guardrail serve --config examples/guardrail.toml --listen $listen"
./target/release/guardrail serve --config examples/guardrail.toml --listen "$listen" &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid' INT TERM
for _ in $(seq 1 100); do
  curl -fs "$url/healthz" >/dev/null 2>&1 && break
  kill -0 $pid 2>/dev/null || { echo "guardrail exited; is $listen already in use?" >&2; exit 1; }
  sleep 0.1
done
.venv/bin/python scripts/demo.py "$url"
wait $pid

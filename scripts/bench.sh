#!/usr/bin/env bash
# Data-plane benchmark: invocations/s and latency percentiles THROUGH Guardrail
# (POST /endpoints/bench/invocations, one built-in model-server instance behind it) versus
# DIRECTLY to a standalone built-in model server (same binary, same env), in the same run,
# with wrk as the load generator. Writes bench/out/report.md and bench/out/report.json and
# prints the report. Loopback only; no timed assertions; every wait is bounded.
#
# Knobs (environment):
#   BENCH_DURATION=10      seconds of measured load per target
#   BENCH_WARMUP=3         seconds of discarded load per target before measuring (0 = none)
#   BENCH_CONNECTIONS=32   wrk connections (-c)
#   BENCH_THREADS=2        wrk threads (-t)
#   BENCH_TIMEOUT=5        wrk per-request timeout, seconds
#   BENCH_READY_TIMEOUT=60 seconds to wait for the endpoint to be InService
#   BENCH_OUT_DIR=bench/out
#   BENCH_SKIP_BUILD=1     use the existing target/release/guardrail instead of building
#
# Exit status: 0 = report written, no errors; 3 = report written but some requests failed
# (non-2xx, socket errors or timeouts); anything else = the benchmark could not run.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

duration=${BENCH_DURATION:-10}
warmup=${BENCH_WARMUP:-3}
connections=${BENCH_CONNECTIONS:-32}
threads=${BENCH_THREADS:-2}
req_timeout=${BENCH_TIMEOUT:-5}
ready_timeout=${BENCH_READY_TIMEOUT:-60}
out_dir=${BENCH_OUT_DIR:-bench/out}
body='{"instances":[[1.0,2.0,3.0,4.0]]}'
endpoint=bench

die() { echo "bench: $*" >&2; exit 1; }
for v in duration warmup connections threads req_timeout ready_timeout; do
  [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a whole number (got '${!v}')"
done
[ "$duration" -ge 1 ] || die "BENCH_DURATION must be at least 1"
[ "$threads" -ge 1 ] || die "BENCH_THREADS must be at least 1"
[ "$connections" -ge "$threads" ] || die "BENCH_CONNECTIONS must be >= BENCH_THREADS (wrk needs a connection per thread)"
command -v python3 >/dev/null || die "python3 is required (free ports, JSON, the report)"
command -v curl >/dev/null || die "curl is required"

# ---------------------------------------------------------------------------------------------
# Tools and binary.
if ! command -v wrk >/dev/null; then
  echo "==> installing wrk (Debian package)"
  sudo_=()
  [ "$(id -u)" = 0 ] || sudo_=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_[@]}" apt-get update -qq
  "${sudo_[@]}" apt-get install -y -qq wrk >/dev/null
  command -v wrk >/dev/null || die "wrk is still missing after apt-get install"
fi

if [ "${BENCH_SKIP_BUILD:-0}" != 1 ]; then
  echo "==> cargo build --release -p guardrail"
  cargo build --release -p guardrail
fi
bin=$root/target/release/guardrail
[ -x "$bin" ] || die "$bin is missing; run cargo build --release -p guardrail"

# ---------------------------------------------------------------------------------------------
# Processes we start, and how they are stopped on every exit path.
tmp=$(mktemp -d "${TMPDIR:-/tmp}/guardrail-bench.XXXXXX")
data_dir=$tmp/data
gr_pid=""
ms_pid=""
wrk_pid=""

# True while $1 is a live process (a zombie awaiting `wait` does not count).
alive() {
  local state
  state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1) || return 1
  [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

# stop PID NAME SECONDS: SIGTERM, wait up to SECONDS, then SIGKILL.
stop() {
  local pid=$1 name=$2 secs=$3 i
  [ -n "$pid" ] || return 0
  if alive "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < secs * 10; i++)); do
      alive "$pid" || break
      sleep 0.1
    done
    if alive "$pid"; then
      echo "bench: $name (pid $pid) still running after ${secs}s; SIGKILL" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  wait "$pid" 2>/dev/null || true
}

# Instances Guardrail started and did not stop (only if Guardrail itself had to be killed):
# kill their process groups, checking each pid file's recorded start time first so that a
# reused pid is never hit.
sweep_instances() {
  [ -d "$data_dir/instances" ] || return 0
  python3 - "$data_dir/instances" <<'EOF' || true
import glob, json, os, signal, sys
for path in glob.glob(os.path.join(sys.argv[1], "*.pid")):
    try:
        rec = json.load(open(path))
        stat = open(f"/proc/{rec['pid']}/stat").read()
        fields = stat[stat.rindex(")") + 2:].split()  # fields[0] is field 3 (state)
        if fields[0] not in ("Z", "X") and int(fields[19]) == rec["start_time"]:
            os.killpg(rec["pgid"], signal.SIGKILL)
            print(f"bench: killed leftover instance group {rec['pgid']}", file=sys.stderr)
    except (OSError, ValueError, KeyError, IndexError):
        pass
EOF
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop "$wrk_pid" wrk 10
  stop "$gr_pid" guardrail 40
  sweep_instances
  stop "$ms_pid" "model server" 10
  if [ "$rc" != 0 ] && [ "$rc" != 3 ] && [ -d "$tmp" ]; then
    for f in "$tmp"/*.log; do
      [ -f "$f" ] || continue
      echo "---- last lines of $(basename "$f") ----" >&2
      tail -n 20 "$f" >&2
    done
  fi
  rm -rf "$tmp"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}
gr_port=$(free_port)
ms_port=$(free_port)
for _ in 1 2 3 4 5; do
  [ "$ms_port" != "$gr_port" ] && break
  ms_port=$(free_port)
done
[ "$ms_port" != "$gr_port" ] || die "could not pick two distinct free ports"
gr_url=http://127.0.0.1:$gr_port
ms_url=http://127.0.0.1:$ms_port
proxied_url=$gr_url/endpoints/$endpoint/invocations
direct_url=$ms_url/invocations

# wait_http NAME PID URL SECONDS: poll until GET URL answers 200.
wait_http() {
  local name=$1 pid=$2 url=$3 secs=$4 i
  for ((i = 0; i < secs * 10; i++)); do
    curl -fsS -o /dev/null --max-time 1 "$url" 2>/dev/null && return 0
    alive "$pid" || die "$name exited during start-up (port taken?)"
    sleep 0.1
  done
  die "$name did not answer 200 on $url within ${secs}s"
}

# ---------------------------------------------------------------------------------------------
# Guardrail with one endpoint of one instance.
cat >"$tmp/guardrail.toml" <<EOF
region = "us-east-1"
account_id = "123456789012"

[images."guardrail/model:v1"]
command = ['$bin', "model-server"]
env = { MODEL_VERSION = "v1" }
EOF

echo "==> guardrail serve on $gr_url"
"$bin" serve --config "$tmp/guardrail.toml" --listen "127.0.0.1:$gr_port" --data-dir "$data_dir" \
  >"$tmp/guardrail.log" 2>&1 &
gr_pid=$!
wait_http guardrail "$gr_pid" "$gr_url/healthz" 30

# sm OPERATION JSON: one control-plane call; prints the answer, fails on a non-200.
sm() {
  local resp code
  resp=$(curl -sS --max-time 10 -X POST "$gr_url/" \
    -H "X-Amz-Target: SageMaker.$1" -H 'Content-Type: application/x-amz-json-1.1' \
    -d "$2" -w $'\n%{http_code}') || die "SageMaker.$1: request failed"
  code=${resp##*$'\n'}
  resp=${resp%$'\n'*}
  [ "$code" = 200 ] || die "SageMaker.$1 answered $code: $resp"
  printf '%s\n' "$resp"
}

echo "==> creating endpoint '$endpoint' (1 instance)"
sm CreateModel '{"ModelName":"bench-model","PrimaryContainer":{"Image":"guardrail/model:v1"}}' >/dev/null
sm CreateEndpointConfig '{"EndpointConfigName":"bench-config","ProductionVariants":[{"VariantName":"AllTraffic","ModelName":"bench-model","InitialInstanceCount":1,"InstanceType":"ml.m5.large"}]}' >/dev/null
sm CreateEndpoint "{\"EndpointName\":\"$endpoint\",\"EndpointConfigName\":\"bench-config\"}" >/dev/null

ready=""
for ((i = 0; i < ready_timeout * 2; i++)); do
  desc=$(sm DescribeEndpoint "{\"EndpointName\":\"$endpoint\"}")
  state=$(python3 -c '
import json, sys
d = json.loads(sys.argv[1])
v = (d.get("ProductionVariants") or [{}])[0]
print(d.get("EndpointStatus", "?"), v.get("CurrentInstanceCount", 0), (d.get("FailureReason") or "").replace(" ", "_"))
' "$desc")
  read -r status count reason <<<"$state"
  if [ "$status" = InService ] && [ "$count" = 1 ]; then
    ready=1
    break
  fi
  [ "$status" = Failed ] && die "endpoint failed: ${reason//_/ }"
  alive "$gr_pid" || die "guardrail exited while the endpoint was being created"
  sleep 0.5
done
[ -n "$ready" ] || die "endpoint not InService with 1 instance within ${ready_timeout}s (last: $state)"

# ---------------------------------------------------------------------------------------------
# The standalone model server: the direct baseline.
echo "==> standalone model server on $ms_url"
SAGEMAKER_BIND_TO_PORT=$ms_port MODEL_VERSION=v1 "$bin" model-server >"$tmp/model-server.log" 2>&1 &
ms_pid=$!
wait_http "model server" "$ms_pid" "$ms_url/ping" 30

# One request each way before any load: both must answer 200 with the model's JSON.
check() {
  local name=$1 url=$2 resp code
  resp=$(curl -sS --max-time 10 -X POST "$url" -H 'Content-Type: application/json' -d "$body" \
    -w $'\n%{http_code}') || die "$name: request failed"
  code=${resp##*$'\n'}
  resp=${resp%$'\n'*}
  [ "$code" = 200 ] || die "$name answered $code: $resp"
  python3 -c 'import json, sys; d = json.loads(sys.argv[1]); assert d.get("model_version") == "v1", d' "$resp" \
    || die "$name: unexpected body: $resp"
  printf '%s\n' "$resp"
}
direct_sample=$(check direct "$direct_url")
proxied_sample=$(check guardrail "$proxied_url")

# ---------------------------------------------------------------------------------------------
# Load.
cat >"$tmp/post.lua" <<EOF
-- Generated by scripts/bench.sh: POST a small JSON body; done() writes the summary as JSON.
wrk.method = "POST"
wrk.body = '$body'
wrk.headers["Content-Type"] = "application/json"

done = function(summary, latency, requests)
  local path = os.getenv("BENCH_RESULT_FILE")
  if path == nil or path == "" then return end
  local f = assert(io.open(path, "w"))
  local e = summary.errors
  f:write(string.format(
    '{"requests":%.0f,"duration_us":%.0f,"bytes":%.0f,' ..
    '"errors":{"connect":%.0f,"read":%.0f,"write":%.0f,"status":%.0f,"timeout":%.0f},' ..
    '"latency_us":{"min":%.0f,"mean":%.1f,"stdev":%.1f,"max":%.0f,' ..
    '"p50":%.0f,"p75":%.0f,"p90":%.0f,"p99":%.0f,"p999":%.0f}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.mean, latency.stdev, latency.max,
    latency:percentile(50), latency:percentile(75), latency:percentile(90),
    latency:percentile(99), latency:percentile(99.9)))
  f:close()
end
EOF

# load NAME URL SECONDS RESULT_JSON: one wrk run, bounded by `timeout` as well as by -d.
load() {
  local name=$1 url=$2 secs=$3 result=$4
  # In the background, so that a signal to this script is handled at once, not after wrk.
  BENCH_RESULT_FILE=$result timeout --kill-after=5 $((secs + req_timeout + 30)) \
    wrk -t"$threads" -c"$connections" -d"${secs}s" --timeout "${req_timeout}s" --latency \
    -s "$tmp/post.lua" "$url" >"$tmp/wrk-$name.txt" 2>&1 &
  wrk_pid=$!
  wait "$wrk_pid" || { cat "$tmp/wrk-$name.txt" >&2; die "wrk against $name failed"; }
  wrk_pid=""
}

loadavg_before=$(cut -d' ' -f1-3 /proc/loadavg)
for target in direct guardrail; do
  if [ "$target" = direct ]; then url=$direct_url; else url=$proxied_url; fi
  if [ "$warmup" -gt 0 ]; then
    echo "==> warm-up $target: ${warmup}s"
    load "$target-warmup" "$url" "$warmup" "$tmp/warmup-$target.json"
  fi
  echo "==> measuring $target: ${duration}s, $threads threads, $connections connections"
  load "$target" "$url" "$duration" "$tmp/result-$target.json"
  [ -s "$tmp/result-$target.json" ] || die "wrk wrote no result for $target"
done
loadavg_after=$(cut -d' ' -f1-3 /proc/loadavg)
alive "$gr_pid" || die "guardrail exited during the run"
alive "$ms_pid" || die "the model server exited during the run"

# ---------------------------------------------------------------------------------------------
# Report.
mkdir -p "$out_dir"
cp "$tmp/wrk-direct.txt" "$out_dir/wrk-direct.txt"
cp "$tmp/wrk-guardrail.txt" "$out_dir/wrk-guardrail.txt"

commit=$(git rev-parse HEAD 2>/dev/null || echo unknown)
dirty=false
[ -z "$(git status --porcelain --untracked-files=no 2>/dev/null)" ] || dirty=true

export BENCH_J_DATE BENCH_J_COMMIT BENCH_J_DIRTY BENCH_J_NPROC BENCH_J_CPU BENCH_J_KERNEL \
  BENCH_J_LOAD_BEFORE BENCH_J_LOAD_AFTER BENCH_J_WRK BENCH_J_GUARDRAIL BENCH_J_THREADS \
  BENCH_J_CONNECTIONS BENCH_J_DURATION BENCH_J_WARMUP BENCH_J_TIMEOUT BENCH_J_BODY \
  BENCH_J_DIRECT_URL BENCH_J_PROXIED_URL BENCH_J_DIRECT_SAMPLE BENCH_J_PROXIED_SAMPLE
BENCH_J_DATE=$(date -u +%Y-%m-%dT%H:%M:%SZ)
BENCH_J_COMMIT=$commit
BENCH_J_DIRTY=$dirty
BENCH_J_NPROC=$(nproc)
BENCH_J_CPU=$(grep -m1 '^model name' /proc/cpuinfo | sed 's/^[^:]*: *//' || true)
BENCH_J_KERNEL=$(uname -sr)
BENCH_J_LOAD_BEFORE=$loadavg_before
BENCH_J_LOAD_AFTER=$loadavg_after
BENCH_J_WRK=$(wrk -v 2>&1 | head -n1 || true)
BENCH_J_GUARDRAIL=$("$bin" --version 2>/dev/null || echo unknown)
BENCH_J_THREADS=$threads
BENCH_J_CONNECTIONS=$connections
BENCH_J_DURATION=$duration
BENCH_J_WARMUP=$warmup
BENCH_J_TIMEOUT=$req_timeout
BENCH_J_BODY=$body
BENCH_J_DIRECT_URL=$direct_url
BENCH_J_PROXIED_URL=$proxied_url
BENCH_J_DIRECT_SAMPLE=$direct_sample
BENCH_J_PROXIED_SAMPLE=$proxied_sample

set +e
python3 - "$tmp/result-direct.json" "$tmp/result-guardrail.json" "$out_dir" <<'EOF'
import json, os, sys

E = lambda k: os.environ["BENCH_J_" + k]
direct_path, proxied_path, out_dir = sys.argv[1:4]


def target(path, url, sample):
    r = json.load(open(path))
    secs = r["duration_us"] / 1e6
    e = r["errors"]
    return {
        "url": url,
        "requests": int(r["requests"]),
        "duration_s": round(secs, 3),
        "requests_per_s": round(r["requests"] / secs, 1) if secs > 0 else 0.0,
        "latency_us": r["latency_us"],
        "non_2xx": int(e["status"]),
        "socket_errors": {k: int(e[k]) for k in ("connect", "read", "write", "timeout")},
        "sample_response": sample,
    }


direct = target(direct_path, E("DIRECT_URL"), E("DIRECT_SAMPLE"))
proxied = target(proxied_path, E("PROXIED_URL"), E("PROXIED_SAMPLE"))
lat_d, lat_p = direct["latency_us"], proxied["latency_us"]
ratios = {
    "throughput_guardrail_over_direct": (
        round(proxied["requests_per_s"] / direct["requests_per_s"], 3)
        if direct["requests_per_s"] else None
    ),
    "added_latency_p50_us": lat_p["p50"] - lat_d["p50"],
    "added_latency_p90_us": lat_p["p90"] - lat_d["p90"],
    "added_latency_p99_us": lat_p["p99"] - lat_d["p99"],
}
problems = []
for name, t in (("direct", direct), ("guardrail", proxied)):
    if t["requests"] == 0:
        problems.append(f"{name}: no request completed")
    if t["non_2xx"]:
        problems.append(f"{name}: {t['non_2xx']} non-2xx responses")
    errs = {k: v for k, v in t["socket_errors"].items() if v}
    if errs:
        problems.append(f"{name}: socket errors {errs}")

report = {
    "date": E("DATE"),
    "git": {"commit": E("COMMIT"), "dirty": E("DIRTY") == "true"},
    "guardrail_version": E("GUARDRAIL"),
    "machine": {
        "nproc": int(E("NPROC")),
        "cpu_model": E("CPU"),
        "kernel": E("KERNEL"),
        "loadavg_before": E("LOAD_BEFORE"),
        "loadavg_after": E("LOAD_AFTER"),
    },
    "wrk": {
        "version": E("WRK"),
        "threads": int(E("THREADS")),
        "connections": int(E("CONNECTIONS")),
        "duration_s": int(E("DURATION")),
        "warmup_s": int(E("WARMUP")),
        "timeout_s": int(E("TIMEOUT")),
        "method": "POST",
        "content_type": "application/json",
        "body": E("BODY"),
    },
    "targets": {"direct": direct, "guardrail": proxied},
    "ratios": ratios,
    "problems": problems,
}
with open(os.path.join(out_dir, "report.json"), "w") as f:
    json.dump(report, f, indent=2)
    f.write("\n")

us = lambda v: f"{v:,.0f} µs"
signed = lambda v: f"{v:+,.0f} µs"
w = report["wrk"]
m = report["machine"]
lines = ["# Guardrail data-plane benchmark", ""]
if problems:
    lines += ["> **WARNING: SOME REQUESTS FAILED — the numbers below are not trustworthy.**"]
    lines += [f"> - {p}" for p in problems]
    lines += [""]
lines += [
    f"- Date: {report['date']}",
    f"- Commit: `{report['git']['commit']}`" + (" (work tree has uncommitted changes)" if report["git"]["dirty"] else ""),
    f"- Binary: {report['guardrail_version']} (release build)",
    f"- Machine: {m['nproc']} CPUs, {m['cpu_model']}, {m['kernel']}",
    f"- Load average (1/5/15 min) before: {m['loadavg_before']}, after: {m['loadavg_after']}",
    f"- Load generator: {w['version']}; {w['threads']} threads, {w['connections']} connections, "
    f"{w['duration_s']} s measured after {w['warmup_s']} s warm-up per target, {w['timeout_s']} s timeout",
    f"- Request: POST `{w['body']}` ({len(w['body'].encode())} bytes, {w['content_type']})",
    "",
    "| target | requests/s | p50 | p90 | p99 | max | requests | non-2xx | socket errors |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
]
for name, t in (("direct (model server)", direct), ("through Guardrail", proxied)):
    l = t["latency_us"]
    se = sum(t["socket_errors"].values())
    nx = f"**{t['non_2xx']}**" if t["non_2xx"] else "0"
    lines.append(
        f"| {name} | {t['requests_per_s']:,.1f} | {us(l['p50'])} | {us(l['p90'])} | {us(l['p99'])} "
        f"| {us(l['max'])} | {t['requests']:,} | {nx} | {f'**{se}**' if se else '0'} |"
    )
thr = ratios["throughput_guardrail_over_direct"]
lines += [
    "",
    "| ratio | value |",
    "| --- | ---: |",
    f"| throughput, Guardrail / direct | {thr:.3f} ({thr * 100:.1f} %) |" if thr is not None else "| throughput, Guardrail / direct | n/a |",
    f"| added latency at p50 | {signed(ratios['added_latency_p50_us'])} |",
    f"| added latency at p90 | {signed(ratios['added_latency_p90_us'])} |",
    f"| added latency at p99 | {signed(ratios['added_latency_p99_us'])} |",
    "",
    f"- Direct: `{direct['url']}` (standalone `guardrail model-server`, MODEL_VERSION=v1)",
    f"- Through Guardrail: `{proxied['url']}` (endpoint with 1 instance of the same model server)",
    "- Closed loop: each connection sends its next request when the previous answer arrives, "
    "so requests/s and latency are two views of the same run. Latencies are wrk's, in µs.",
    "- Raw wrk output: `wrk-direct.txt`, `wrk-guardrail.txt`; machine-readable: `report.json`.",
]
with open(os.path.join(out_dir, "report.md"), "w") as f:
    f.write("\n".join(lines) + "\n")
sys.exit(3 if problems else 0)
EOF
status=$?
set -e
[ "$status" = 0 ] || [ "$status" = 3 ] || die "writing the report failed"

echo
cat "$out_dir/report.md"
if [ "$status" = 3 ]; then
  echo >&2
  echo "bench: WARNING: some requests failed (non-2xx or socket errors); see the report" >&2
  exit 3
fi

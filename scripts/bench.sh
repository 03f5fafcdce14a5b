#!/usr/bin/env bash
# Runs Arbor's benchmarks (release build, offline model, temporary SQLite
# files) and prints each figure with its method. Pass phase names to run
# only some: idle broadcast relay wire writes. Results: docs/BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
# 1,000 event-stream clients and their server ends need file descriptors.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
cargo build --release -p server --example bench
exec target/release/examples/bench "$@"

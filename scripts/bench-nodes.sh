#!/usr/bin/env bash
# Benchmarks of two Arbor nodes on one PostgreSQL (release build, offline
# model, a throwaway PostgreSQL beside it): cross-node delta latency,
# failover after kill -9, and a broadcast on one node and on two. Pass
# phase names to run only some: latency failover broadcast.
# Results: docs/BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
cargo build --release -p server --bin server --example bench_nodes
exec scripts/with-postgres.sh target/release/examples/bench_nodes "$@"

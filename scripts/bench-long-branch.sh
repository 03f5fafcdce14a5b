#!/usr/bin/env bash
# Measures how fast a 10,000-message branch opens: server time for the
# page's data and Chromium's time to first paint (release build). Set NODES
# or RUNS to change the size or the number of page loads. Needs what
# scripts/setup.sh installs. Results: docs/BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh test
export PATH="$PWD/scripts/node_modules/.bin:$PATH"
scripts/build-release.sh
cargo build --release -p server --example seed
exec node scripts/bench-long-branch.mjs

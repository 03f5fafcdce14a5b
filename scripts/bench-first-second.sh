#!/usr/bin/env bash
# Measures the first second of the chat page (newest message on screen,
# hydrated; cold and warm cache; 40 and 10,000 messages) on the release
# build. Set SIZES or RUNS to change them. Needs what scripts/setup.sh
# installs. Results: docs/BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh test
export PATH="$PWD/scripts/node_modules/.bin:$PATH"
scripts/build-release.sh
cargo build --release -p server --example seed
exec node scripts/bench-first-second.mjs

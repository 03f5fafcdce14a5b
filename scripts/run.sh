#!/usr/bin/env bash
# Builds Arbor in release mode and runs it (SQLite file data/arbor.db, the
# in-process SmolLM2 model, whose weights setup.sh fetches once; no key, no
# network). Prints the URL to open. Settings: see README.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh build
export PATH="$PWD/scripts/node_modules/.bin:$PATH"
scripts/build-release.sh
exec ./target/leptos/release/server

#!/usr/bin/env bash
# Runs every check and test of Arbor: formatting, clippy, unit and
# integration tests (the real server binary over HTTP, on a real SQLite
# file, then all again on a throwaway PostgreSQL), then the Playwright
# browser tests in Debian's Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh test

step() { printf '\n\033[1;34m==> %s\033[0m\n' "$*"; }

step "cargo fmt"
cargo fmt --all --check

step "clippy (app for the server, app for the browser, server)"
cargo clippy -p app --features ssr --all-targets -- -D warnings
cargo clippy -p app --features hydrate --target wasm32-unknown-unknown -- -D warnings
cargo clippy -p server --all-targets -- -D warnings

step "unit tests (app)"
cargo test -p app --features ssr

step "unit and integration tests (server)"
cargo test -p server

step "integration tests again, on PostgreSQL"
scripts/with-postgres.sh cargo test -p server --test '*'

step "the programmatic API example"
cargo run -q -p server --example embed

step "browser tests (Playwright)"
# cargo-leptos builds the server and the WASM with matching flags (a server
# built by plain cargo does not hydrate this WASM) into target/leptos/.
cargo leptos build
# The browser tests seed large conversations with this example.
cargo build -q -p server --example seed
(cd end2end && npx playwright test)

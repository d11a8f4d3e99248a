#!/usr/bin/env bash
# Forward-pass throughput: the five tiny fixtures (tiny matrices: measures overhead, not BLAS) and a random
# checkpoint with real OLMoE-1B-7B layer sizes (one layer, BF16 and F32). Prints tokens/s per run.
# Usage: scripts/bench/forward.sh [SHARED_DIR]   (needs /work/venv or any python with numpy for the random model)
set -euo pipefail
cd "$(dirname "$0")/../.."
shared="${1:-../shared}"
python="${PYTHON:-/work/venv/bin/python}"
swift build -c release --product pipeline >&2
bin=.build/release/pipeline
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$python" - "$work" <<'PY'
import json, random, sys
random.seed(1)
json.dump({"input_ids": [[random.randint(1, 999) for _ in range(128)] for _ in range(16)]}, open(sys.argv[1] + "/tiny.json", "w"))
json.dump({"input_ids": [[random.randint(1, 50000) for _ in range(256)] for _ in range(8)]}, open(sys.argv[1] + "/olmoe.json", "w"))
PY
for m in olmoe-tiny qwen2moe-tiny mixtral-tiny qwen3moe-tiny deepseekmoe-tiny; do
    echo -n "$m: "
    "$bin" forward --model "$shared/fixtures/models/$m" --input "$work/tiny.json" --out "$work/out.safetensors" 2>&1
done
for dtype in bf16 f32; do
    "$python" scripts/bench/make_random_olmoe.py "$work/olmoe-$dtype" --layers 1 --dtype "$dtype"
    echo -n "olmoe-1layer-$dtype: "
    "$bin" forward --model "$work/olmoe-$dtype" --input "$work/olmoe.json" --out "$work/out.safetensors" 2>&1
    rm -rf "$work/olmoe-$dtype"
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"

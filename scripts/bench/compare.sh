#!/usr/bin/env bash
# Ours vs transformers on the benchmark model, alternating runs in one go (the machine may be shared: compare
# within a round), then the ratios. Also sgemm with and without the AVX-512 kernel selection.
# EXTRA_RUNS (space-separated) adds ours-bf16-int8, ours-bf16-q4 (q4 x int8 activations where the F32 kernel runs)
# and ours-bf16-q4-panels (q4 on float32 panels, MOEE_INT8_ACTIVATIONS=0) to each round.
# Usage: scripts/bench/compare.sh [MODEL_ROOT] [ROUNDS]
#   MODEL_ROOT holds olmoe4-f32/ and olmoe4-bf16/ (made if missing by make_random_olmoe.py; ~10 GB).
set -euo pipefail
cd "$(dirname "$0")/../.."
root="${1:-/work/bench-model}"
rounds="${2:-1}"
python="${PYTHON:-/work/venv/bin/python}"
swift build -c release --product pipeline >&2
bin=.build/release/pipeline
[ -f scripts/bench/workload.json ] || "$python" scripts/bench/make_workload.py >&2
for dtype in f32 bf16; do
    [ -f "$root/olmoe4-$dtype/model.safetensors" ] ||
        "$python" scripts/bench/make_random_olmoe.py "$root/olmoe4-$dtype" --layers 4 --dtype "$dtype" >&2
done
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores"
echo "CPU flags (kernel choice): $(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -E '^(avx2|fma|f16c|avx512f|avx512bw|avx512vl|avx512_vnni|avx512_bf16)$' | tr '\n' ' ')"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
MOEE_NO_REEXEC=1 "$bin" bench extract --sgemm | sed 's/^/without selection: /'
"$bin" bench extract --sgemm | sed 's/^/with selection:    /'
last() { tail -n 1 | "$python" -c 'import json,sys; d=json.loads(sys.stdin.read()); print(d["tokens_per_second"], d["peak_rss_bytes"])'; }
declare -A tps rss
for ((r = 1; r <= rounds; r++)); do
    for run in ours-f32 hf-fp32 ours-bf16 hf-bf16 ${EXTRA_RUNS:-}; do
        [ -n "$run" ] || continue
        case $run in
            ours-f32) out=$("$bin" bench extract --model "$root/olmoe4-f32" 2>/dev/null) ;;
            ours-bf16) out=$("$bin" bench extract --model "$root/olmoe4-bf16" 2>/dev/null) ;;
            ours-bf16-int8) out=$("$bin" bench extract --model "$root/olmoe4-bf16" --quantize int8 2>/dev/null) ;;
            ours-bf16-q4) out=$("$bin" bench extract --model "$root/olmoe4-bf16" --quantize q4 2>/dev/null) ;;
            ours-bf16-q4-panels) out=$(MOEE_INT8_ACTIVATIONS=0 "$bin" bench extract --model "$root/olmoe4-bf16" --quantize q4 2>/dev/null) ;;
            hf-fp32) out=$("$python" scripts/bench/hf_reference.py --model "$root/olmoe4-f32" --dtype fp32 2>/dev/null) ;;
            hf-bf16) out=$("$python" scripts/bench/hf_reference.py --model "$root/olmoe4-bf16" --dtype bf16 2>/dev/null) ;;
        esac
        read -r t m < <(echo "$out" | last)
        kernel=$(echo "$out" | grep -m1 '^CPU: .*; kernel: ' | sed 's/.*; kernel: //' || true)
        printf 'round %d %-15s %8.1f tokens/s  peak RSS %5.2f GB  %s\n' "$r" "$run" "$t" "$(echo "$m / 1000000000" | bc -l)" "${kernel:-transformers}"
        echo "    $(echo "$out" | tail -n 1)"
        tps[$run]="${tps[$run]:-} $t"; rss[$run]=$m
    done
done
median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
f32=$(echo "${tps[ours-f32]}" | median); hf32=$(echo "${tps[hf-fp32]}" | median)
bf16=$(echo "${tps[ours-bf16]}" | median); hfbf=$(echo "${tps[hf-bf16]}" | median)
printf 'ratio ours f32 / transformers fp32:  %.2fx (bar 2.5x)\n' "$(echo "$f32 / $hf32" | bc -l)"
printf 'ratio ours bf16 / transformers bf16: %.2fx (bar 1.3x)\n' "$(echo "$bf16 / $hfbf" | bc -l)"
# The AVX2-host bars of issue 14: BF16 and q4 at least our F32 speed, q4 in at most 0.3x of F32's memory.
printf 'ratio ours bf16 / ours f32:          %.2fx (AVX2-host bar 1.0x)\n' "$(echo "$bf16 / $f32" | bc -l)"
if [ -n "${tps[ours-bf16-q4]:-}" ]; then
    q4=$(echo "${tps[ours-bf16-q4]}" | median)
    printf 'ratio ours q4 / ours f32:            %.2fx speed, %.2fx peak RSS (AVX2-host bars 1.0x, <= 0.3x)\n' \
        "$(echo "$q4 / $f32" | bc -l)" "$(echo "${rss[ours-bf16-q4]} / ${rss[ours-f32]}" | bc -l)"
fi
if [ -n "${tps[ours-bf16-q4-panels]:-}" ]; then
    panels=$(echo "${tps[ours-bf16-q4-panels]}" | median)
    printf 'ratio ours q4 panels / ours f32:     %.2fx speed (MOEE_INT8_ACTIVATIONS=0: float32 activations)\n' \
        "$(echo "$panels / $f32" | bc -l)"
fi
if [ -n "${tps[ours-bf16-int8]:-}" ]; then
    int8=$(echo "${tps[ours-bf16-int8]}" | median)
    printf 'ratio ours int8 / ours f32:          %.2fx speed, %.2fx peak RSS\n' \
        "$(echo "$int8 / $f32" | bc -l)" "$(echo "${rss[ours-bf16-int8]} / ${rss[ours-f32]}" | bc -l)"
fi
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

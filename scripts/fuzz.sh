#!/usr/bin/env bash
# Fuzzes the input parsers with libFuzzer + AddressSanitizer and prints executions and crashes per target.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET=60] [TARGET...]
#
# Targets: SafetensorsHeader ConfigDecoder TokenizerLoad TokenizerEncode TaskJSONL EmbeddingsJSONL BlobDecoder
# (and ManifestDecoder once Fuzz/ManifestDecoder.swift exists). FUZZ_REUSE=1 keeps instrumented module objects
# that are newer than their module's sources (the dependencies' sources are not compared).
# Each library module is compiled once by swiftc (whole module, coverage + ASan instrumented) into .build-fuzz
# (never the normal .build; Package.swift is untouched); each Fuzz/<Target>.swift entry point is linked against
# those objects.
# Seeds are copied at run time from ../shared (fixtures, real tokenizers, MTEB tasks) and the repository;
# a target stops at its first crash, whose input lands in out/fuzz/<Target>/crashes/ (turn each into a
# regression test, fix, rerun).
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SECONDS_PER_TARGET=${1:-60}
shift || true
ALL=(SafetensorsHeader ConfigDecoder TokenizerLoad TokenizerEncode TaskJSONL EmbeddingsJSONL BlobDecoder)
[[ -f Fuzz/ManifestDecoder.swift ]] && ALL+=(ManifestDecoder)
TARGETS=("$@")
[[ ${#TARGETS[@]} -eq 0 ]] && TARGETS=("${ALL[@]}")
SHARED=${MOEE_SHARED:-$ROOT/../shared}
[[ -d $SHARED ]] || { echo "fuzz.sh: $SHARED not found (fixtures seed the corpora)" >&2; exit 1; }
BUILD=$ROOT/.build-fuzz
OUT=$ROOT/out/fuzz
mkdir -p "$OUT"

module_of() {
    case $1 in
        SafetensorsHeader|ConfigDecoder|TokenizerLoad|TokenizerEncode) echo Extract ;;
        TaskJSONL|EmbeddingsJSONL) echo Score ;;
        BlobDecoder) echo Store ;;
        ManifestDecoder) echo pipeline ;;
    esac
}

SAN=(-sanitize=fuzzer,address -sanitize-coverage=edge,indirect-calls,trace-cmp,inline-8bit-counters,pc-table)
INCLUDES=(-I "$BUILD" -I "$BUILD/cmodules" -I Sources/CSQLite -I Sources/CLZ4 -I Sources/CBLAS -I Sources/CKernels/include)
declare -A BUILT=()
build_module() {  # one whole-module swiftc call per library, instrumented, with its dependencies first
    [[ -n ${BUILT[$1]:-} ]] && return 0
    case $1 in
        Extract) build_c CKernels || return 1 ;;
        Score) build_module Store || return 1 ;;
        pipeline) build_module Extract && build_module Score || return 1 ;;
    esac
    mkdir -p "$BUILD"
    local sources; mapfile -t sources < <(find "Sources/$1" -name '*.swift' ! -name main.swift | sort)
    # FUZZ_REUSE=1: keep an object newer than every source of its module (a second run, e.g. one target).
    if [[ -n ${FUZZ_REUSE:-} && -f $BUILD/$1.o && -z $(find "Sources/$1" -name '*.swift' -newer "$BUILD/$1.o") ]]; then
        BUILT[$1]=1; return 0
    fi
    echo "== building $1 (instrumented) ==" >&2
    swiftc -O -wmo -parse-as-library -enable-testing -module-name "$1" "${SAN[@]}" "${INCLUDES[@]}" \
        -emit-module -emit-module-path "$BUILD/$1.swiftmodule" -emit-object -o "$BUILD/$1.o" "${sources[@]}" \
        2>&1 | grep -v 'warning:' >&2
    [[ -f $BUILD/$1.o && $BUILD/$1.o -nt ${sources[0]} ]] || return 1
    BUILT[$1]=1
}
build_c() {  # SwiftPM generates CKernels' module map; so do we
    mkdir -p "$BUILD/cmodules"
    printf 'module CKernels {\n    header "%s/Sources/CKernels/include/CKernels.h"\n    export *\n}\n' "$ROOT" \
        > "$BUILD/cmodules/module.modulemap"
    local c objects=()
    for c in Sources/CKernels/*.c; do  # one object per file, merged into one relocatable object
        clang -O2 -c -fsanitize=fuzzer-no-link,address -I Sources/CKernels/include "$c" \
            -o "$BUILD/$1-$(basename "$c" .c).o" || return 1
        objects+=("$BUILD/$1-$(basename "$c" .c).o")
    done
    ld -r -o "$BUILD/$1.o" "${objects[@]}"
}

link_target() {  # swiftc: entry point + the instrumented objects of the modules it needs.
    local target=$1 module; module=$(module_of "$target")
    local objects=() name names
    case $module in
        Extract) names=(Extract CKernels) ;;
        Store) names=(Store) ;;
        Score) names=(Score Store) ;;
        pipeline) names=(pipeline Extract CKernels Store Score) ;;
    esac
    rm -f "$OUT/$target/fuzz-$target"
    for name in "${names[@]}"; do objects+=("$BUILD/$name.o"); done
    swiftc -O -parse-as-library -enable-testing -sanitize=fuzzer,address "${INCLUDES[@]}" \
        Fuzz/FuzzSupport.swift "Fuzz/$target.swift" "${objects[@]}" \
        -lsqlite3 -llz4 -lopenblas -o "$OUT/$target/fuzz-$target" 2>&1 | grep -v "Cannot export local symbol" >&2
    [[ -x $OUT/$target/fuzz-$target ]]
}

seed() {  # small seed corpus for a target, from real files
    local target=$1 corpus=$OUT/$1/seeds
    rm -rf "$corpus"; mkdir -p "$corpus"
    case $target in
        SafetensorsHeader)
            # Real headers (the first 64 KB of each fixture checkpoint: header and the start of the data).
            for f in "$SHARED"/fixtures/models/*/*.safetensors; do
                head -c 65536 "$f" > "$corpus/$(basename "$(dirname "$f")")-$(basename "$f")"
            done ;;
        ConfigDecoder)
            for f in "$SHARED"/fixtures/models/*/config.json "$SHARED"/models/*/config*.json; do
                cp "$f" "$corpus/$(basename "$(dirname "$f")")-$(basename "$f")"
            done ;;
        TokenizerLoad)
            for f in scripts/reference/tiny_tokenizers/*/tokenizer.json; do
                cp "$f" "$corpus/$(basename "$(dirname "$f")").json"
            done ;;
        TokenizerEncode)
            local i=0
            while IFS= read -r line && (( i < 200 )); do
                printf '%s' "$line" > "$corpus/text-$i"; i=$((i+1))
            done < <(cat scripts/reference/tokenizer_edge_cases.jsonl "$SHARED"/fixtures/tokenizers/*.jsonl 2>/dev/null | head -200) ;;
        TaskJSONL)
            # byte 0 picks the task (sorted order of the copied folders), then lines of a real split.
            local i=0 task
            for task in "$OUT/$target/tasks"/*; do
                { printf "\\x$(printf %02x $i)"; head -n 5 "$task/test.jsonl"; } > "$corpus/$(basename "$task")"
                i=$((i+1))
            done ;;
        EmbeddingsJSONL)
            printf '{"text": "a", "embedding": [1, 2.5, -3e-2]}\n{"text": "b", "embedding": [0, 0, 1]}\n' > "$corpus/small"
            printf '{"text": "x\\u0000y", "embedding": [1e38]}\n' > "$corpus/nul" ;;
        BlobDecoder)
            # Real blobs written by the store's own encoder (tests keep them in Tests/StoreTests/Fixtures when present).
            cp Tests/StoreTests/Fixtures/blobs/* "$corpus/" 2>/dev/null
            # A hand-made uncompressed F32 blob [2] (magic, version, dtype, flags, rank, pad, shape, length, checksum, payload)
            # (the harness writes the right checksum itself). Then the same as F16 [2, 2], shuffled and "compressed".
            printf 'MT\x01\x01\x00\x01\x00\x00\x02\x00\x00\x00\x08\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x3f\x00\x00\x00\x40' > "$corpus/f32"
            printf 'MT\x01\x02\x03\x02\x00\x00\x02\x00\x00\x00\x02\x00\x00\x00\x09\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x00\x3c\x00\x40\x00\x42\x00\x44' > "$corpus/f16-lz4" ;;
        ManifestDecoder)
            # The real manifests, with the demo's relative paths made absolute so the model and tasks resolve.
            for f in manifests/*.json; do sed "s#\\.\\./demo#$ROOT/demo#g" "$f" > "$corpus/$(basename "$f")"; done ;;
    esac
}

prepare_tasks() {  # TaskJSONL: one small real task of each type, splits cut to 20 lines
    local dir=$OUT/TaskJSONL/tasks task f
    rm -rf "$dir"; mkdir -p "$dir"
    for task in STS12 Banking77Classification TwitterURLCorpus SummEval TwitterURLReranking SIB200ClusteringS2S; do
        [[ -d $SHARED/data/mteb/$task ]] || continue
        mkdir -p "$dir/$task"; cp "$SHARED/data/mteb/$task/task.json" "$dir/$task/"
        for f in "$SHARED/data/mteb/$task"/*.jsonl; do head -n 20 "$f" > "$dir/$task/$(basename "$f")"; done
    done
}

declare -A EXECS=() CRASHES=() STATUS=()
for target in "${TARGETS[@]}"; do
    module=$(module_of "$target")
    [[ -z $module ]] && { echo "unknown target $target" >&2; exit 2; }
    mkdir -p "$OUT/$target/corpus" "$OUT/$target/crashes"
    if ! build_module "$module" || ! link_target "$target"; then STATUS[$target]="build failed"; continue; fi
    [[ $target == TaskJSONL ]] && prepare_tasks
    seed "$target"
    echo "== fuzzing $target for ${SECONDS_PER_TARGET}s ==" >&2
    log=$OUT/$target/fuzz.log
    MOEE_FUZZ_TOKENIZER=$SHARED/models/allenai--OLMoE-1B-7B-0924 MOEE_FUZZ_TASKS=$OUT/TaskJSONL/tasks \
    ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1:symbolize=0 \
        "$OUT/$target/fuzz-$target" "$OUT/$target/corpus" "$OUT/$target/seeds" \
        -max_total_time="$SECONDS_PER_TARGET" -max_len=65536 -rss_limit_mb=4096 -malloc_limit_mb=2048 -timeout=10 \
        -artifact_prefix="$OUT/$target/crashes/" -print_final_stats=1 > "$log" 2>&1
    EXECS[$target]=$(grep -ho 'stat::number_of_executed_units: *[0-9]*' "$log" | awk '{s+=$2} END {print s+0}')
    # Also the last status line ("#N ... exec/s"), in case the run stopped at a crash before the final stats.
    last=$(grep -o '^#[0-9]*' "$log" | tr -d '#' | sort -n | tail -1)
    [[ -n $last && $last -gt ${EXECS[$target]} ]] && EXECS[$target]=$last
    CRASHES[$target]=$(find "$OUT/$target/crashes" -type f \( -name 'crash-*' -o -name 'oom-*' -o -name 'timeout-*' -o -name 'leak-*' \) | wc -l)
    STATUS[$target]=ok
done

printf '\n%-18s %12s %8s  %s\n' target executions crashes status
for target in "${TARGETS[@]}"; do
    printf '%-18s %12s %8s  %s\n' "$target" "${EXECS[$target]:--}" "${CRASHES[$target]:--}" "${STATUS[$target]}"
done
echo "artifacts: $OUT/<target>/crashes (crash-/oom-/timeout- files); logs: $OUT/<target>/fuzz.log"

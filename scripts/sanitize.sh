#!/usr/bin/env bash
# Runs the WHOLE test suite under AddressSanitizer and/or ThreadSanitizer and prints one line per sanitizer.
#
#   scripts/sanitize.sh [address|thread|both=both] [--quick] [--filter REGEX]
#
# Optimised like `make test` (-c release -Xswiftc -enable-testing: the numeric suites are 10-50x slower in a
# debug build), in separate build folders (.build-address, .build-thread) so the normal .build stays untouched.
# Every suite runs, including the fault and end-to-end suites, whose child `pipeline` processes are the
# sanitized executable built beside the test bundle (checked below before the run).
# --quick skips the slowest suites (ML parity, benchmarks, fixture forward passes, fault/end-to-end/demo-model)
# for a fast local check; it is opt-in, CI and the numbers in docs/reliability.md use the full run.
#
# Reports from the test process AND from every child process go to out/sanitize/<sanitizer>-reports/report.<pid>
# (log_path), so a report in a child that the test tolerates as "exit 1" still fails the run. Logs:
# out/sanitize/<sanitizer>.log. Exit status 1 if a test fails, the run exits non-zero, or any report exists.
# Suppressions: scripts/sanitizers/<sanitizer>.supp when present (each entry documents its reason).
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WHICH=${1:-both}
shift || true
FILTER=() SKIP=()
while [[ $# -gt 0 ]]; do
    case $1 in
        --filter) FILTER=(--filter "$2"); shift 2 ;;
        --quick) SKIP=(--skip 'ClassificationParityTests|ClusteringParityTests|EvaluatorBenchmarkTests|ParityTests|FixtureForwardTests|FaultTests|EndToEndTests|DemoModelTests'); shift ;;
        *) echo "usage: scripts/sanitize.sh [address|thread|both] [--quick] [--filter REGEX]" >&2; exit 2 ;;
    esac
done
FLAGS=(-c release -Xswiftc -enable-testing)
mkdir -p out/sanitize
status=0
run() {  # sanitizer
    local sanitizer=$1 log=$ROOT/out/sanitize/$1.log reports_dir=$ROOT/out/sanitize/$1-reports start=$SECONDS
    local build=.build-$sanitizer
    rm -rf "$reports_dir"; mkdir -p "$reports_dir"
    echo "== swift test --sanitize=$sanitizer ${FLAGS[*]} ${FILTER[*]} ${SKIP[*]} (load $(cut -d' ' -f1-3 /proc/loadavg)) ==" >&2
    if ! swift build --build-path "$build" --sanitize="$sanitizer" "${FLAGS[@]}" --build-tests > "$log" 2>&1; then
        printf '%-8s build failed, see %s\n' "$sanitizer" "$log"; status=1; return
    fi
    local built=$((SECONDS - start))
    # The fault and end-to-end suites spawn `pipeline`: it must be the instrumented binary beside the tests.
    local bin; bin=$(swift build --build-path "$build" --sanitize="$sanitizer" "${FLAGS[@]}" --show-bin-path)/pipeline
    local symbol=__asan_init; [[ $sanitizer == thread ]] && symbol=__tsan_init
    if ! nm "$bin" 2>/dev/null | grep -c "$symbol" > /dev/null; then  # -c: reads all (no SIGPIPE under pipefail)
        printf '%-8s %s is not instrumented (%s missing)\n' "$sanitizer" "$bin" "$symbol"; status=1; return
    fi
    local supp=$ROOT/scripts/sanitizers/$sanitizer.supp suppressions=
    [[ -f $supp ]] && suppressions=:suppressions=$supp
    # detect_leaks=0: leaks are not memory errors, and the Swift runtime's metadata caches are reported as leaks.
    # TSan keeps going after a report (halt_on_error=0) so one run lists them all; exitcode 66 marks the run.
    ASAN_OPTIONS=detect_leaks=0:log_path=$reports_dir/report$suppressions \
    TSAN_OPTIONS=halt_on_error=0:exitcode=66:second_deadlock_stack=1:log_path=$reports_dir/report$suppressions \
        swift test --build-path "$build" --sanitize="$sanitizer" "${FLAGS[@]}" --skip-build \
            "${FILTER[@]}" "${SKIP[@]}" >> "$log" 2>&1
    local rc=$? reports files
    files=$(find "$reports_dir" -type f | wc -l)
    reports=$(cat "$reports_dir"/* "$log" 2>/dev/null \
        | grep -c -E '(==[0-9]+==ERROR: AddressSanitizer|WARNING: ThreadSanitizer|^SUMMARY: (Address|Thread)Sanitizer)')
    local summary; summary=$(grep -E 'Test run with [0-9]+ tests' "$log" | tail -1)
    # (XCTest's "Executed 0 tests" line is left out: every test is a Swift Testing one.)
    printf '%-8s exit %-3s reports %-3s (in %s files) build %4ss total %4ss load %s | %s\n' \
        "$sanitizer" "$rc" "$reports" "$files" "$built" $((SECONDS - start)) "$(cut -d' ' -f1-3 /proc/loadavg)" \
        "$summary"
    if [[ $rc -ne 0 || $reports -ne 0 || $files -ne 0 ]]; then
        status=1
        # CI keeps only this script's output: show the start of each report so the cause is in the log.
        local report
        for report in "$reports_dir"/*; do
            [[ -f $report ]] || continue
            echo "--- $sanitizer report $report (first 60 lines) ---"
            head -60 "$report"
        done
        [[ $rc -ne 0 ]] && { echo "--- $sanitizer failing tests ---"; grep -E '✘' "$log" | head -20; }
    fi
}
case $WHICH in
    address|thread) run "$WHICH" ;;
    both) run address; run thread ;;
    *) echo "usage: scripts/sanitize.sh [address|thread|both] [--quick] [--filter REGEX]" >&2; exit 2 ;;
esac
exit $status

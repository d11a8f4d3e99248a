#!/usr/bin/env bash
# Compile-only check of the C kernels for aarch64 Linux (issue 14 item 3): every file of Sources/CKernels must
# compile for an ARM server with its portable paths (the x86 kernels are behind #if guards, and the CPU checks
# return 0 there, so the Swift side falls back to OpenBLAS sgemm and the portable loops). The Swift targets are not
# checked: this toolchain carries the x86_64 standard library only, and no aarch64 machine is at hand to run tests.
# Needs clang (the Swift toolchain's) and Debian's libc6-dev-arm64-cross (installed here when missing and root).
set -euo pipefail
cd "$(dirname "$0")/.."
sysroot=/usr/aarch64-linux-gnu/include
if [ ! -d "$sysroot" ]; then
    if [ "$(id -u)" = 0 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q libc6-dev-arm64-cross >/dev/null
    else
        echo "aarch64 check: $sysroot is missing; install libc6-dev-arm64-cross" >&2
        exit 1
    fi
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for source in Sources/CKernels/*.c; do
    clang --target=aarch64-linux-gnu -O2 -ffp-contract=off -Wall -Werror -c -I Sources/CKernels/include \
        -isystem "$sysroot" "$source" -o "$out/$(basename "$source").o"
done
echo "aarch64 check: $(ls "$out" | wc -l) C files of Sources/CKernels compile for aarch64-linux-gnu (-Wall -Werror)"

# The two commands of the README: `make demo` and `make test`.
# Tests run optimised (-c release) with testability: the numeric tests (forward pass, classifiers,
# k-means) are 10-50x slower in a debug build.
.PHONY: setup demo test sanitize

SWIFT_TEST_FLAGS = -c release -Xswiftc -enable-testing

setup:
	scripts/setup.sh release

demo: setup
	.build/release/pipeline demo

# The forward-pass suites once more on the F32 kernel's AVX2 path (on an AVX-512 host the first run took AVX-512;
# on an AVX2-only host both runs take AVX2), so every kernel the host can run is checked against transformers.
test:
	scripts/setup.sh release
	swift test $(SWIFT_TEST_FLAGS)
	MOEE_F32_KERNEL_ISA=avx2 swift test $(SWIFT_TEST_FLAGS) --skip-build --filter 'F32KernelTests|FixtureForwardTests|BatchInvarianceTests'

# The whole suite under AddressSanitizer, then ThreadSanitizer (.build-address, .build-thread; see
# docs/reliability.md). Fails on any test failure or sanitizer report, also from child `pipeline` processes.
sanitize:
	scripts/sanitize.sh both

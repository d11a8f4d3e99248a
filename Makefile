# The two commands of the README: `make demo` and `make test`.
# Tests run optimised (-c release) with testability: the numeric tests (forward pass, classifiers,
# k-means) are 10-50x slower in a debug build.
.PHONY: setup demo test sanitize

SWIFT_TEST_FLAGS = -c release -Xswiftc -enable-testing

setup:
	scripts/setup.sh release

demo: setup
	.build/release/pipeline demo

test:
	scripts/setup.sh release
	swift test $(SWIFT_TEST_FLAGS)

# The whole suite under AddressSanitizer, then ThreadSanitizer (.build-address, .build-thread; see
# docs/reliability.md). Fails on any test failure or sanitizer report, also from child `pipeline` processes.
sanitize:
	scripts/sanitize.sh both

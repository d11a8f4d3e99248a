# The two commands of the README: `make demo` and `make test`.
.PHONY: setup demo test build

setup:
	scripts/setup.sh release

demo: setup
	.build/release/pipeline demo

test:
	scripts/setup.sh debug
	swift test --parallel 2>&1 | tee .build/test.log; exit $${PIPESTATUS[0]}

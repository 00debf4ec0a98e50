# perpkit: `make demo` runs the main job on an embedded Anvil; `make test` runs the tests.
# Both run `make setup` first, which installs everything and skips what is already done.
SHELL := /bin/bash
APE := .venv/bin/ape

.PHONY: setup test demo compile clean

setup:
	@bash tools/setup.sh

compile: setup
	$(APE) compile

test: setup
	$(APE) test

demo: setup
	$(APE) run demo

clean:
	rm -rf .venv node_modules .build .solcx .cache

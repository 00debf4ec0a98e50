# perpkit: `make demo` runs the main job on an embedded Anvil; `make test` runs the tests.
# Both run `make setup` first, which installs everything and skips what is already done.
SHELL := /bin/bash
APE := .venv/bin/ape

.PHONY: setup test demo compile clean

setup:
	@bash tools/setup.sh

# ape-solidity recompiles a changed file but not the files that import it (the factory would
# keep an old PerpMarket inside): rebuild everything whenever any source is newer than the build.
compile: setup
	@if [ ! -f .build/__local__.json ] || [ -n "$$(find contracts -name '*.sol' -newer .build/__local__.json)" ]; then \
		$(APE) compile --force; fi

test: compile
	$(APE) test

demo: compile
	$(APE) run demo

clean:
	rm -rf .venv node_modules .build .solcx .cache

# perpkit: `make demo` runs the main job on an embedded Anvil; `make test` runs the tests.
# Both run `make setup` first, which installs everything and skips what is already done.
SHELL := /bin/bash
APE := .venv/bin/ape

.PHONY: setup test demo demo-quick compile fuzz-deep fuzz-replay clean

setup:
	@bash tools/setup.sh

# ape-solidity recompiles a changed file but not the contracts that embed it (the factory keeps
# an old PerpMarket, the router an old FundingRate): rebuild everything whenever the sources'
# hash differs from the one of the last full build.
SOURCES_HASH = $(shell find contracts -name '*.sol' | sort | xargs cat | sha256sum | cut -c1-16)
compile: setup
	@if [ "$$(cat .build/.sources-hash 2>/dev/null)" != "$(SOURCES_HASH)" ]; then \
		$(APE) compile --force && echo "$(SOURCES_HASH)" > .build/.sources-hash; fi

test: compile
	$(APE) test

# The simulation through the 5 August 2024 crash on an embedded Anvil (see README).
demo: compile
	PERPKIT_FAST_ANVIL=1 $(APE) run simulate

demo-quick: compile
	PERPKIT_FAST_ANVIL=1 $(APE) run simulate --quick

# Deep fuzzing: the state machines with the `deep` hypothesis profile, its own seed and budget.
# make fuzz-deep SEED=7 EXAMPLES=400 STEPS=40 ; a failure prints its steps; rerun it with
# make fuzz-replay SEED=<the seed it printed>.
SEED ?= 0
EXAMPLES ?= 400
STEPS ?= 40
fuzz-deep: compile
	HYPOTHESIS_PROFILE=deep FUZZ_EXAMPLES=$(EXAMPLES) FUZZ_STEPS=$(STEPS) $(APE) test tests/fuzz -s --hypothesis-seed=$(SEED)

fuzz-replay: compile
	HYPOTHESIS_PROFILE=deep FUZZ_EXAMPLES=$(EXAMPLES) FUZZ_STEPS=$(STEPS) $(APE) test tests/fuzz -s --hypothesis-seed=$(SEED)

clean:
	rm -rf .venv node_modules .build .solcx .cache

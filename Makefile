# perpkit: `make demo` runs the main job on an embedded Anvil; `make test` runs the tests.
# Both run `make setup` first, which installs everything and skips what is already done.
SHELL := /bin/bash
APE := .venv/bin/ape

.PHONY: setup test demo demo-quick compile analyze fuzz-deep fuzz-replay bench-fuzz clean

setup:
	@bash tools/setup.sh

# ape-solidity recompiles a changed file but not the contracts that embed it (the factory keeps
# an old PerpMarket, the router an old FundingRate): rebuild everything whenever the sources'
# hash differs from the one of the last full build.
SOURCES_HASH = $(shell find contracts -name '*.sol' | sort | xargs cat | sha256sum | cut -c1-16)
compile: setup
	@if [ "$$(cat .build/.sources-hash 2>/dev/null)" != "$(SOURCES_HASH)" ]; then \
		$(APE) compile --force && echo "$(SOURCES_HASH)" > .build/.sources-hash; fi

test: compile analyze
	$(APE) test

# Static analysis: slither in its own venv (pinned by analysis/requirements.lock; its web3 is not
# ape's), built through forge with the project's solc; fails on an untriaged High or Medium finding
# (analysis/triage.tsv holds each triaged one with its reason).
analyze: setup
	@if [ ! -f .venv-analyze/.stamp ] || [ analysis/requirements.lock -nt .venv-analyze/.stamp ]; then \
		echo "analyze: slither venv in .venv-analyze (pinned by analysis/requirements.lock)"; \
		python3.11 -m venv .venv-analyze && \
		.venv-analyze/bin/pip install --quiet --disable-pip-version-check -r analysis/requirements.lock && \
		touch .venv-analyze/.stamp; fi
	@PATH="$(CURDIR)/node_modules/.bin:$$PATH" .venv-analyze/bin/python tools/analyze.py

# The simulation through the 5 August 2024 crash on an embedded Anvil (see README).
demo: compile
	PERPKIT_FAST_ANVIL=1 $(APE) run simulate

demo-quick: compile
	PERPKIT_FAST_ANVIL=1 $(APE) run simulate --quick

# Deep fuzzing: the state machine in process (pyrevm) for MINUTES, rounds of EXAMPLES examples of
# STEPS steps, round k seeded SEED*1000+k. A failure prints its steps and the round's seed; then
# make fuzz-replay SEED=<that seed> reruns the round in process and confirms it on Anvil.
SEED ?= 0
MINUTES ?= 60
EXAMPLES ?= 50
STEPS ?= 50
fuzz-deep: compile
	.venv/bin/python -m tests.fuzz.campaign --seed $(SEED) --minutes $(MINUTES) --examples $(EXAMPLES) --steps $(STEPS)

fuzz-replay: compile
	-.venv/bin/python -m tests.fuzz.campaign --replay $(SEED) --examples $(EXAMPLES) --steps $(STEPS)
	HYPOTHESIS_PROFILE=deep FUZZ_EXAMPLES=$(EXAMPLES) FUZZ_STEPS=$(STEPS) FUZZ_REPLAY_SEED=$(SEED) \
		$(APE) test tests/fuzz/test_exchange_machine.py -k anvil -s

# Speed of the fuzz suite: the machine on Anvil and in process, and forge's invariant runner.
bench-fuzz: compile
	.venv/bin/python benchmarks/fuzz.py

clean:
	rm -rf .venv .venv-analyze node_modules .build .solcx .cache analysis/out analysis/cache

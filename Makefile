# ptdl — two commands: `make` sets everything up, `make test` runs everything.
#
# make          create .venv, install ptdl with its dev extras, regenerate
#               generated/, compile runtime/ and generated/runtime/ with
#               mypyc, print a one-line-per-arch summary.  Idempotent; fast
#               when nothing changed (pip and mypyc steps are stamped).
# make test     the above, then the whole test suite (compiled modules).
# make test-interpreted   the suite against the pure-Python runtime.
# make bench    the fault-around benchmark (compiled vs interpreted, trace
#               off/on, peak RSS) and generated C set_ptes vs a plain loop.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PTDL   := $(BIN)/ptdl
STAMP  := $(VENV)/.ptdl-installed

.PHONY: all setup generate build summary test test-interpreted bench clean

all: setup generate build summary

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

setup: $(STAMP)

generate: setup
	@if $(PTDL) generate --help >/dev/null 2>&1; then $(PTDL) generate; fi

build: setup
	$(PTDL) build

summary: setup
	@$(PTDL) list

test: all
	$(BIN)/python -m pytest -q -n auto

test-interpreted: setup
	PTDL_INTERPRETED=1 $(BIN)/python -m pytest -q -n auto

bench: all
	$(BIN)/python benchmarks/bench_faultaround.py
	$(BIN)/python benchmarks/bench_c_setptes.py

clean:
	rm -rf build .ptdl-build-stamp
	find runtime generated -name '*.so' -delete
	rm -f *__mypyc*.so

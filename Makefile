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
# make kernel   install linux-source-6.12 + the cross compilers (apt, as
#               root) and unpack the tree into ~/.cache/ptdl/ (idempotent;
#               PTDL_KERNEL_TREE=DIR uses your own tree).  Needs no venv.
# make prune    recompute generated/tests/cpu_pruning.json (which CPU-feature
#               combinations can change each scenario: dsl/generate/prune.py,
#               on the pure-Python runtime), then regenerate.  After editing
#               runtime/, a scenario or an archdef with CPU features; with a
#               stale file the suite runs every combination.
# make verify   ptdl verify --dropin: every archdef against the kernel tree.
#               `make test` runs the same through tests/verify (skipped
#               loudly without a tree; PTDL_REQUIRE_KERNEL=1 makes it fail).

PYTHON ?= python3

# Byte-code caches on, whatever the environment says (some machines export
# PYTHONDONTWRITEBYTECODE=1): without them every ptdl process and every
# pytest worker recompiles dsl/ and re-rewrites the asserts of ~90 test
# modules, about 2 s per worker on a 2-core machine.  __pycache__/ is
# ignored by git.
export PYTHONDONTWRITEBYTECODE :=
VENV   := .venv
BIN    := $(VENV)/bin
PTDL   := $(BIN)/ptdl
STAMP  := $(VENV)/.ptdl-installed

.PHONY: all setup generate build summary test test-interpreted bench clean kernel verify prune

all: setup generate build summary

$(BIN)/python:
	@echo "setup: creating $(VENV)"
	@$(PYTHON) -m venv $(VENV)

# pip: -qq keeps only errors; PYTHONWARNINGS reaches the setuptools build
# backend pip runs in a subprocess (its deprecation boxes are warnings).
PIP := PYTHONWARNINGS=ignore PIP_DISABLE_PIP_VERSION_CHECK=1 $(BIN)/python -m pip -qq

# pip is upgraded only when older than 23 (the editable install needs PEP
# 660, pip >= 21.3; Python 3.11's venv brings 23.x): the upgrade costs a
# download and an install on every fresh clone for nothing.
$(STAMP): pyproject.toml | $(BIN)/python
	@echo "setup: installing ptdl and its dev extras into $(VENV) ..."
	@$(BIN)/python -c 'import pip, sys; sys.exit(int(pip.__version__.split(".")[0]) < 23)' \
		|| $(PIP) install --upgrade pip
	@$(PIP) install -e '.[dev]'
	@touch $@

setup: $(STAMP)

generate: setup
	@if $(PTDL) generate --help >/dev/null 2>&1; then $(PTDL) generate; fi

# `ptdl build` without the CLI's start-up (the same function, dsl/build.py)
build: setup
	@$(BIN)/python -m dsl.build

summary: setup
	@$(PTDL) list

test: all
	$(BIN)/python -m mypy --strict dsl runtime generated/runtime tests/runtime
	@command -v rsvg-convert >/dev/null || echo "make test: rsvg-convert missing (Debian: apt-get install librsvg2-bin); SVG render tests skip (fail under CI=true)"
	$(BIN)/python -m pytest -q -n auto

test-interpreted: setup
	PTDL_INTERPRETED=1 $(BIN)/python -m pytest -q -n auto

kernel:
	$(PYTHON) -m dsl.verify.kernel_setup

verify: all
	$(PTDL) verify --dropin

prune: all
	PTDL_INTERPRETED=1 $(BIN)/python -m dsl.generate.prune
	$(PTDL) generate

bench: all
	$(BIN)/python benchmarks/bench_faultaround.py
	$(BIN)/python benchmarks/bench_c_setptes.py

clean:
	rm -rf build .ptdl-build-stamp
	find runtime generated -name '*.so' -delete
	rm -f *__mypyc*.so

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

# A fresh clone spends its first seconds here, on one core (venv + install,
# CPU s by /usr/bin/time, two runs each at load ~10: 15.6-15.7 with
# ensurepip and byte-compiling, 7.2-7.9 as below):
# - the venv is made without ensurepip (3 s: pip's and setuptools' own
#   wheels, byte-compiled) when $(PYTHON)'s pip can install into another
#   interpreter (--python, pip >= 22.3); that pip then installs ptdl, its
#   dev extras and a pip for the venv in one run.  Otherwise the plain
#   venv and its own pip, as before.
# - --no-compile: no byte-compiling every installed file (mypy's ~1000
#   sources beside its compiled modules, hypothesis, pygments' lexers,
#   docutils; 2-4 CPU s); the modules actually imported are compiled on
#   first import (byte-code caches are on, above).
HOST_PIP_OK := import pip, sys; v = pip.__version__.split("."); \
	sys.exit((int(v[0]), int(v[1])) < (22, 3))

$(BIN)/python:
	@echo "setup: creating $(VENV)"
	@if $(PYTHON) -c '$(HOST_PIP_OK)' 2>/dev/null; then \
		$(PYTHON) -m venv --without-pip $(VENV); \
	else \
		$(PYTHON) -m venv $(VENV); \
	fi

# pip: -qq keeps only errors; PYTHONWARNINGS reaches the setuptools build
# backend pip runs in a subprocess (its deprecation boxes are warnings).
PIP_ENV := PYTHONWARNINGS=ignore PIP_DISABLE_PIP_VERSION_CHECK=1
PIP := $(PIP_ENV) $(BIN)/python -m pip -qq

# With the venv's own pip, it is upgraded only when older than 23 (the
# editable install needs PEP 660, pip >= 21.3; Python 3.11's venv brings
# 23.x): the upgrade costs a download and an install for nothing.
$(STAMP): pyproject.toml | $(BIN)/python
	@echo "setup: installing ptdl and its dev extras into $(VENV) ..."
	@if $(BIN)/python -c 'import pip' 2>/dev/null; then \
		$(BIN)/python -c 'import pip, sys; sys.exit(int(pip.__version__.split(".")[0]) < 23)' \
			|| $(PIP) install --upgrade pip; \
		$(PIP) install --no-compile -e '.[dev]'; \
	else \
		$(PIP_ENV) $(PYTHON) -m pip -qq --python $(BIN)/python install --no-compile \
			-e '.[dev]' pip; \
	fi
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

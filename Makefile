# Message Passing: set-up, book, tests and benchmarks.
# Every target creates .venv and installs the pinned dependencies first, so on a
# fresh machine with Python 3.11 and make, `make book` and `make test` are all you need.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PIP_VERSION := 26.3

# One BLAS thread per process: the book's matrices are narrow, and with two pytest
# workers on two cores, threaded BLAS oversubscribes the machine (measured 40x slower).
export OPENBLAS_NUM_THREADS := 1
export OMP_NUM_THREADS := 1

.PHONY: help venv book book-clean book-twice test test-fast bench lock clean

help:
	@echo "make book        build the website into _build/html (incremental, cached execution)"
	@echo "make book-clean  build the website from scratch (what CI does)"
	@echo "make test        build the book from scratch (twice, compared), then run every test"
	@echo "make test-fast   run the tests that do not need the built book"
	@echo "make bench       run the benchmarks and print ratio tables"
	@echo "make lock        re-pin constraints.txt from the current .venv"

# Extra set-up steps (npm packages, a browser) and the instructor's targets live in
# their own files, included here.
SETUP_EXTRA :=
-include web.mk
-include course.mk
-include services.mk

$(STAMP): requirements.txt constraints.txt pyproject.toml
	@test -n "$(PYTHON)" || { echo "error: Python 3.11 not found (set PYTHON=/path/to/python3.11)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip==$(PIP_VERSION)"
	$(BIN)/python -m pip install --quiet -r requirements.txt -c constraints.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

venv: $(STAMP) $(SETUP_EXTRA)

book: venv
	@$(BIN)/python scripts/build_book.py

book-clean: venv
	@$(BIN)/python scripts/build_book.py --clean

test: venv
	@$(BIN)/python scripts/build_book.py --clean
	@$(MAKE) --no-print-directory book-twice
	$(BIN)/python -m pytest -n 2 -q

# Building twice gives the same site: a second clean build, elsewhere, must match _build/html
# file for file (run by `make test` after its clean build).
SECOND := _build/second
book-twice: venv
	@rm -rf $(SECOND) && mkdir -p $(SECOND)
	@$(BIN)/python scripts/jb.py build . -W --keep-going -n --path-output $(SECOND) > $(SECOND)/build.log 2>&1 \
		|| { tail -40 $(SECOND)/build.log; echo "second build failed (log: $(SECOND)/build.log)"; exit 1; }
	$(BIN)/python scripts/compare_builds.py _build/html $(SECOND)/_build/html

test-fast: venv
	$(BIN)/python -m pytest -n 2 -q -m "not needs_book"

bench: venv
	$(BIN)/python benchmarks/run.py

lock: $(STAMP)
	$(BIN)/python -m pip freeze --exclude-editable | sed '1i # Exact versions of every package the project installs (pip freeze of a working .venv).\n# Regenerate with `make lock` after changing requirements.txt.' > constraints.txt

clean:
	rm -rf _build

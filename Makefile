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

.PHONY: help venv student wheel book book-clean book-twice test test-fast bench bench-pyg reproduce lock clean

help:
	@echo "make book        build the website into _build/html (incremental, cached execution)"
	@echo "make book-clean  build the website from scratch (what CI does)"
	@echo "make test        build the book from scratch (twice, compared), then run every test"
	@echo "make test-fast   run the tests that do not need the built book"
	@echo "make bench       run the benchmarks and print ratio tables"
	@echo "make reproduce   the papers' numbers on Cora, CiteSeer, WebKB, FreeSolv (QUICK=1: few seeds)"
	@echo "make bench-pyg   GCN and GAT on Cora, mplib against PyTorch Geometric (own venv .venv-pyg)"
	@echo "make lock        re-pin constraints.txt from the current .venv"
	@echo "make student     Python only (no npm, no browser): mplib, the self-check and JupyterLab in .venv"
	@echo "make wheel       the student wheel dist/$(WHEEL_FILE) (pip install it; not pip install mplib)"

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
	$(BIN)/python -m pip uninstall --quiet --yes mplib 2>/dev/null || true  # the distribution's old name
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

venv: $(STAMP) $(SETUP_EXTRA)

# Students: the wheel of mplib and course (distribution `message-passing-mplib`; `pip install mplib`
# is an unrelated project), built by any Python 3.11 with pip, no npm and no book tooling; the
# practice page links it. `make student` is the Python part alone: the wheel and JupyterLab.
WHEEL_FILE = $(shell $(PYTHON) scripts/build_wheel.py --name)

wheel:
	@test -n "$(PYTHON)" || { echo "error: Python 3.11 not found (set PYTHON=/path/to/python3.11)"; exit 1; }
	@$(PYTHON) scripts/build_wheel.py

student: wheel
	@if [ -f $(STAMP) ]; then echo ".venv is the full set-up already (mplib installed editable)"; else \
		$(PYTHON) -m venv $(VENV) && \
		$(BIN)/python -m pip install --quiet --upgrade "pip==$(PIP_VERSION)" && \
		$(BIN)/python -m pip install --quiet -c constraints.txt "dist/$(WHEEL_FILE)" jupyterlab; fi
	@echo "open a notebook:  $(BIN)/jupyter lab exercises/01_aggregators/aggregators.ipynb"
	@echo "self-check it:    $(BIN)/python -m course check exercises/01_aggregators/aggregators.ipynb"

book: venv wheel
	@$(BIN)/python scripts/build_book.py

book-clean: venv wheel
	@$(BIN)/python scripts/build_book.py --clean

test: venv wheel
	@$(BIN)/python scripts/build_book.py --clean
	@$(MAKE) --no-print-directory book-twice
	$(BIN)/python -m pytest -n 2 -q

# Building twice gives the same site: a second clean build, elsewhere, must match _build/html
# file for file (run by `make test` after its clean build).
SECOND := _build/second
book-twice: venv wheel
	@rm -rf $(SECOND) && mkdir -p $(SECOND)
	@$(BIN)/python scripts/jb.py build . -W --keep-going -n --path-output $(SECOND) > $(SECOND)/build.log 2>&1 \
		|| { tail -40 $(SECOND)/build.log; echo "second build failed (log: $(SECOND)/build.log)"; exit 1; }
	$(BIN)/python scripts/compare_builds.py _build/html $(SECOND)/_build/html

test-fast: venv
	$(BIN)/python -m pytest -n 2 -q -m "not needs_book"

bench: venv
	$(BIN)/python benchmarks/run.py

# GCN, GAT, MLP/GCN/GraphSAGE and a molecule model trained with mplib, against the papers' tables;
# writes _build/reproduce.json (about 30 minutes on 2 cores; QUICK=1 for a smoke run of a few minutes).
reproduce: venv
	$(BIN)/python benchmarks/reproduce.py $(if $(QUICK),--quick)

# mplib against PyTorch Geometric, side by side (benchmarks/bench_pyg.py; under two minutes of CPU). PyG is not a
# dependency: it goes into a venv of its own, .venv-pyg, with mplib's pinned dependencies and the torch and
# torch_geometric pins of benchmarks/pyg-constraints.txt (mplib is read from this work tree). Writes _build/bench_pyg.json.
PYG_VENV  := .venv-pyg
PYG_STAMP := $(PYG_VENV)/.installed

$(PYG_STAMP): constraints.txt benchmarks/pyg-constraints.txt
	@test -n "$(PYTHON)" || { echo "error: Python 3.11 not found (set PYTHON=/path/to/python3.11)"; exit 1; }
	$(PYTHON) -m venv $(PYG_VENV)
	$(PYG_VENV)/bin/python -m pip install --quiet --upgrade "pip==$(PIP_VERSION)"
	$(PYG_VENV)/bin/python -m pip install --quiet -c constraints.txt -c benchmarks/pyg-constraints.txt \
		numpy scipy networkx matplotlib torch torch-geometric
	touch $@

bench-pyg: $(PYG_STAMP)
	$(PYG_VENV)/bin/python benchmarks/bench_pyg.py

lock: $(STAMP)
	$(BIN)/python -m pip freeze --exclude-editable | sed '1i # Exact versions of every package the project installs (pip freeze of a working .venv).\n# Regenerate with `make lock` after changing requirements.txt.' > constraints.txt

clean:
	rm -rf _build

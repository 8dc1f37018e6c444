# Two commands do everything on a fresh machine with Python 3.11:
#   make run   -- create .venv on first use, run the workflow on the embedded simulated dataset
#                 and print one line per method (sclatent.overview)
#   make test  -- create .venv on first use, run the whole test suite
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CORES ?= 2

.PHONY: run test lint report clean-results

$(STAMP): requirements.lock pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found (set PYTHON=...)" >&2; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	@echo "compiling the workflow's numba kernels once (about 40 s)"
	OMP_WAIT_POLICY=PASSIVE $(BIN)/python -m sclatent.precompile
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/snakemake --cores $(CORES)
	@echo; $(BIN)/python -m sclatent.overview results/benchmark/metrics.tsv

test: $(STAMP)
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/snakefmt --check .
	$(BIN)/ruff check .
	$(BIN)/snakemake --lint

report: $(STAMP)
	$(BIN)/snakemake --cores $(CORES) --report results/report.html

clean-results:
	rm -rf results logs

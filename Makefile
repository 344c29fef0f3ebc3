# Every target creates .venv when it is missing, so a fresh clone needs only python3.11 and pip.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Byte-compile the package as a regular (non-editable) pip install does, so start-up does not
# recompile every module when PYTHONDONTWRITEBYTECODE is set (only stale files are recompiled).
PYC := $(BIN)/python -m compileall -q numerics theory proofs_check > /dev/null

.PHONY: verify test docs bench clean mutation

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,docs,distributed]'
	$(PYC)
	touch $(STAMP)

verify: $(STAMP)
	$(BIN)/a2ad verify --out build/report --force

# House rules first (seconds, fail fast): ruff (pyflakes, pycodestyle, import order) and mypy, as
# configured in pyproject.toml; tests/test_layering.py (layers, no import cycles) runs with pytest.
LINTED := theory numerics proofs_check tests benchmarks mutation docs

test: $(STAMP)
	$(BIN)/ruff check $(LINTED)
	$(BIN)/mypy
	$(BIN)/python -m pytest -n auto --maxprocesses 4
	$(MAKE) docs

docs: $(STAMP)
	$(BIN)/python docs/generate.py
	$(BIN)/sphinx-build -W --keep-going -q -b html docs build/docs

# Mutation testing (docs/mutation.rst): hours on a 2-core machine; resumes where it stopped.
# MODULES="numerics/dynamics/closed_forms.py ..." restricts it, SINCE=<commit> to the lines changed since that
# commit (own sessions); the summary goes to build/mutation/summary.json.
mutation: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,docs,mutation]'
	$(BIN)/python mutation/run.py $(if $(MODULES),--modules $(MODULES)) $(if $(SINCE),--since $(SINCE))

bench: $(STAMP)
	$(PYC)
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf build .pytest_cache .hypothesis .mypy_cache .ruff_cache docs/_generated

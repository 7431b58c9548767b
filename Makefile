# The README's two commands. Both create .venv when it is missing and install the package into it:
# `make demo` only gan-cli itself, `make test` and `make check` also the test extras (pytest, Ray,
# TensorBoard, the linters), each remembered by its own stamp file.
VENV   ?= .venv
PYTHON ?= python3
PY     := $(VENV)/bin/python
STAMP      := $(VENV)/.gan-cli-installed
TEST_STAMP := $(VENV)/.gan-cli-test-installed
PIP    := $(PY) -m pip install --quiet --disable-pip-version-check

.PHONY: demo test check install clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) -e .
	touch $(STAMP)

$(TEST_STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) -e '.[test]'
	touch $(STAMP) $(TEST_STAMP)

install: $(TEST_STAMP)

## make demo: train the bundled 8x8-digits GAN (no download; its measured time is in the README)
demo: $(STAMP)
	$(VENV)/bin/gan train configs/digits.yaml --out runs/demo-digits-$$(date +%Y%m%d-%H%M%S)
	@echo "look at the sample grids under runs/demo-digits-*/samples/"

## make check: lint and format of the package and the benchmarks (ruff), types of the package (mypy);
## CI runs it before the tests
check: $(TEST_STAMP)
	$(VENV)/bin/ruff check gan_cli benchmarks
	$(VENV)/bin/ruff format --check gan_cli benchmarks
	$(VENV)/bin/mypy

## make test: the test suite (CPU, a few minutes on 2 cores). The Ray tests run in a pytest of
## their own: a local Ray cluster is state of the whole process, shared by every test after it starts.
test: $(TEST_STAMP)
	$(PY) -m pytest --ignore=tests/test_sweep_engine.py
	$(PY) -m pytest tests/test_sweep_engine.py

clean:
	rm -rf $(VENV) .pytest_cache

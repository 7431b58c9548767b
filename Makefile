# The README's two commands. Both create .venv when it is missing and install the package into it.
VENV   ?= .venv
PYTHON ?= python3
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.gan-cli-installed

.PHONY: demo test check install clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

## make demo: train the bundled 8x8-digits GAN (about a minute on 2 CPU cores, no download)
demo: $(STAMP)
	$(VENV)/bin/gan train configs/digits.yaml --out runs/demo-digits-$$(date +%Y%m%d-%H%M%S)
	@echo "look at the sample grids under runs/demo-digits-*/samples/"

## make check: lint, format and types of the package (ruff, mypy); CI runs it before the tests
check: $(STAMP)
	$(VENV)/bin/ruff check gan_cli
	$(VENV)/bin/ruff format --check gan_cli
	$(VENV)/bin/mypy

## make test: the test suite (CPU, about ten minutes on 2 cores). The Ray tests run in a pytest of
## their own: a local Ray cluster is state of the whole process, shared by every test after it starts.
test: $(STAMP)
	$(PY) -m pytest --ignore=tests/test_sweep_engine.py
	$(PY) -m pytest tests/test_sweep_engine.py

clean:
	rm -rf $(VENV) .pytest_cache

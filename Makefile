# Two commands do all the set-up on a fresh machine:  make demo  |  make test   (make docs: the site, in site/)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test docs install clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	rm -rf runs/demo
	$(BIN)/vaelab train configs/demo.yaml --run-dir runs/demo
	$(BIN)/vaelab evaluate runs/demo --split test
	$(BIN)/vaelab sample runs/demo --n 64
	$(BIN)/vaelab report runs/demo

test: $(STAMP)
	$(BIN)/python -m pytest

# The documentation site (MkDocs, Material, mkdocstrings) in site/; strict: a broken link or reference fails.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

clean:
	rm -rf $(VENV) runs .pytest_cache site

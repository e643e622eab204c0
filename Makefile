# One task runner. Everything runs inside the uv workspace (.venv), created on first use.
UV ?= uv
RUN := $(UV) run --frozen

.PHONY: setup demo test test-fast lint format bench up examples clean

setup:
	@scripts/install-system-deps
	@command -v $(UV) >/dev/null 2>&1 || python3 -m pip install --quiet uv
	$(UV) sync --frozen --compile-bytecode
	@# byte-code for our own packages too: shells that set PYTHONDONTWRITEBYTECODE (CI does) would
	@# otherwise recompile every module in every process the tests start, seconds each time
	@$(RUN) python -m compileall -q shared services src

demo: setup
	$(RUN) opseval evaluate examples/guangzhou-2023

test: setup
	$(RUN) pytest

test-fast: setup
	$(RUN) pytest -m "not slow"

lint: setup
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) mypy

format: setup
	$(RUN) ruff format .
	$(RUN) ruff check --fix .

bench: setup
	$(RUN) python bench/evaluate_scale.py
	$(RUN) python bench/documents.py
	$(RUN) python bench/per_change.py
	@# issue 14's condition: the latency on a project already holding a million events (≈ 15 min)
	$(RUN) python bench/fleet_throughput.py --events 1M --latency-project bulk --timeout 900

up: setup
	$(RUN) opseval up

examples: setup
	$(RUN) python examples/build.py

clean:
	rm -rf out .pytest_cache .mypy_cache .ruff_cache

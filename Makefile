# The two commands of the README: `make dev` runs the product on its embedded defaults,
# `make test` runs the whole test suite. Both create .venv and install the project first,
# exactly as uv.lock records it (`make lock` after changing dependencies in pyproject.toml).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# uv itself is pinned, and lives in a folder of its own so that syncing .venv to the lock
# never removes it.
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
UV_STAMP := $(TOOLS)/.uv-$(UV_VERSION)
export UV_PROJECT_ENVIRONMENT := $(VENV)
export UV_PYTHON_DOWNLOADS := never

.PHONY: dev test install lint lock bench clean

$(UV_STAMP):
	rm -rf $(TOOLS)
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet uv==$(UV_VERSION)
	touch $(UV_STAMP)

# Bytecode is compiled at install, as pip does: where PYTHONDONTWRITEBYTECODE is set, every
# command would otherwise compile its imports afresh, a second or more each time.
$(STAMP): pyproject.toml uv.lock $(UV_STAMP)
	$(UV) sync --locked --extra test --compile-bytecode --python $(PYTHON)
	touch $(STAMP)

install: $(STAMP)

lock: $(UV_STAMP)
	$(UV) lock

dev: $(STAMP)
	$(BIN)/support-provision dev

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) $(TOOLS) .pytest_cache

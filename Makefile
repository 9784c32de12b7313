# Two entry points: `make run` and `make test`. Both create or reuse .venv by themselves.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: run test lint bench peers

$(STAMP): pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --upgrade pip 2>&1 | grep -v 'is ignored' || true
	$(VENV)/bin/python -m pip install -q -e '.[test]' 2>&1 | grep -v 'is ignored' || true
	$(VENV)/bin/python -c 'import aisetl_tui, backend, aistore, pytest'
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/aisetl-tui $(ARGS)

test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/python -m pytest $(ARGS)

# The real peers of the `real` test tier (Go, from the module proxy; cached outside the tree).
peers: $(STAMP)
	$(VENV)/bin/python -m tests.peers.build

bench: $(STAMP)
	$(VENV)/bin/python -m bench.storage
	$(VENV)/bin/python -m bench.etl
	$(VENV)/bin/python -m bench.app

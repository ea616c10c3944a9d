# nfvo: `make run` (embedded service + bundled examples) and `make test` do all the set-up.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8080
export NFVO_HOME ?= $(CURDIR)/.nfvo

.PHONY: install run test test-unit services lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip setuptools wheel

DRIVERS := $(wildcard drivers/*/setup.cfg)

$(VENV)/.installed: $(BIN)/python setup.cfg plugins/sdk/setup.cfg $(DRIVERS)
	$(BIN)/pip install -q -e plugins/sdk $(patsubst %/setup.cfg,-e %,$(DRIVERS)) -e '.[test]'
	touch $@

install: $(VENV)/.installed

run: install
	$(BIN)/nfvo db upgrade
	@$(BIN)/nfvo serve --host $(HOST) --port $(PORT) & pid=$$!; \
	trap 'kill $$pid 2>/dev/null' INT TERM EXIT; \
	export NFVO_URL=http://$(HOST):$(PORT); \
	$(BIN)/nfvo client wait && \
	for d in examples/*/; do $(BIN)/nfvo package upload --skip-duplicate "$$d" || exit 1; done && \
	echo "nfvo is running at http://$(HOST):$(PORT) (Ctrl-C stops it); API docs: http://$(HOST):$(PORT)/api/ui" && \
	wait $$pid

services: install
	$(BIN)/python -m tests.services

test: install services
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/python -m pytest

test-unit: install
	$(BIN)/python -m pytest tests/unit plugins/sdk/tests

bench: install
	$(BIN)/pip install -q -e '.[bench]'
	$(BIN)/python benchmarks/validate_csar.py
	$(BIN)/python benchmarks/onboard_image.py
	$(BIN)/python benchmarks/list_vnfds.py

clean:
	rm -rf $(VENV) .nfvo build *.egg-info

# nfvo: `make run` (embedded service + bundled examples) and `make test` do all the set-up.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8080
export NFVO_HOME ?= $(CURDIR)/.nfvo

.PHONY: install run test test-unit test-latest lock services lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

DRIVERS := $(wildcard drivers/*/setup.cfg)
# The project's own distributions, installed editable on top of the locked third-party set.
EDITABLES := -e plugins/sdk $(patsubst %/setup.cfg,-e %,$(DRIVERS)) -e .

# Exactly the versions in requirements/lock.txt (hash-checked), then nfvo itself without
# resolving anything again; `pip check` proves the lock satisfies every declared range.
$(VENV)/.installed: $(BIN)/python requirements/lock.txt setup.cfg plugins/sdk/setup.cfg $(DRIVERS)
	$(BIN)/python -m pip install -q --require-hashes --no-deps -r requirements/lock.txt
	$(BIN)/python -m pip install -q --no-deps --no-build-isolation $(EDITABLES)
	$(BIN)/python -m pip check
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

# The unit tests against the newest versions setup.cfg's ranges allow (not the lock):
# a failure here is the next upgrade that needs work before `make lock` takes it.
LATEST ?= .venv-latest
test-latest:
	rm -rf $(LATEST)
	$(PYTHON) -m venv $(LATEST)
	$(LATEST)/bin/python -m pip install -q --upgrade pip setuptools wheel
	$(LATEST)/bin/python -m pip install -q --upgrade --upgrade-strategy eager $(EDITABLES)'[test]'
	$(LATEST)/bin/python requirements/drift.py
	$(LATEST)/bin/python -m pytest tests/unit plugins/sdk/tests \
		--deselect tests/unit/test_lock.py::test_the_tests_run_on_exactly_the_locked_versions

# Re-resolve both locks to the newest versions the ranges allow; review the diff, run
# `make test`, commit. requirements/service.txt stays within requirements/lock.txt.
COMPILE = $(BIN)/uv pip compile --quiet --upgrade --universal --python-version 3.11 --generate-hashes \
	--custom-compile-command "make lock" \
	$(foreach p,nfvo nfvo-plugin-sdk $(patsubst drivers/%/setup.cfg,nfvo-driver-%,$(DRIVERS)),--no-emit-package $(p))
# Needs only uv from the current lock, so a range added to setup.cfg can be locked before
# `make install` passes again.
$(BIN)/uv: $(BIN)/python
	$(BIN)/python -m pip install -q --require-hashes --no-deps -r requirements/lock.txt

lock: $(BIN)/uv
	$(COMPILE) requirements/lock.in -o requirements/lock.txt
	$(COMPILE) requirements/service.in -c requirements/lock.txt -o requirements/service.txt

bench: install
	$(BIN)/python benchmarks/validate_csar.py
	$(BIN)/python benchmarks/onboard_image.py
	$(BIN)/python benchmarks/list_vnfds.py

clean:
	rm -rf $(VENV) $(LATEST) .nfvo build *.egg-info

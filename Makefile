# The README names these commands; .ci/run runs `make install` then `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip

.PHONY: install test lint demo bench soak test-real clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e '.[test]'
	# Test-only: the official SDK's Fern client for the simulator's contract test. --no-deps
	# skips ~1.6 GB of server deps (and its rich<14 pin); the client needs only httpx+pydantic.
	$(PIP) install -q --no-deps skyvern==1.0.56
	touch $@

test: install
	@$(VENV)/bin/pytest -q; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo 'make test: pytest collected no tests' >&2; exit 1; fi; exit $$rc

lint: install
	$(VENV)/bin/ruff check .

demo: install
	$(VENV)/bin/batchrun apply --sim jobs/demo.yaml

clean:
	rm -rf $(VENV) .batchrun results .pytest_cache

# The README names these commands; .ci/run runs `make install` then `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip

.PHONY: install test lint demo bench soak test-real clean chromium

install: $(VENV)/.installed chromium

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e '.[test]'
	# Test-only: the official SDK's Fern client for the simulator's contract test. --no-deps
	# skips ~1.6 GB of server deps (and its rich<14 pin); the client needs only httpx+pydantic.
	$(PIP) install -q --no-deps skyvern==1.0.56
	touch $@

# The report test opens report.html in a real headless browser: Debian's chromium. Nothing
# to do when it is there; otherwise apt-get (sudo when not root) waits up to 10 minutes for a
# dpkg lock held by another process, and `update` is retried for the lists lock.
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
APT_GET := $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo 'make install: installing chromium (Debian package) for the report test'; \
	  for try in 1 2 3 4 5 6; do $(APT_GET) -q update && break; sleep 10; done; \
	  $(APT_GET) install -y -q --no-install-recommends chromium; }

test: install
	@$(VENV)/bin/pytest -q -n 4; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo 'make test: pytest collected no tests' >&2; exit 1; fi; exit $$rc

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# The demo batch includes a task the agent gives up on (exit code 1 by design): that is a
# successful demo, so only other exit codes fail `make demo`.
demo: install
	@$(VENV)/bin/batchrun apply --sim --new jobs/demo.yaml; rc=$$?; [ $$rc -eq 0 ] || [ $$rc -eq 1 ]

# BENCHMARKS.md: batchrun against a hand-written official-SDK loop (about 7 minutes on 2
# cores), and batchrun alone at 1,000, 20,000 and 100,000 tasks (the last about 10 minutes).
# BENCH_ARGS="--scale-max 10000" keeps it short; `python -m bench --help` lists every knob.
BENCH_ARGS ?=
bench: install
	$(PY) -m bench $(BENCH_ARGS)

# The full fault soak (tests/soak, marked slow); its short version runs in `make test`.
soak: install
	$(VENV)/bin/pytest -q -m slow tests/soak

clean:
	rm -rf $(VENV) .batchrun results .pytest_cache

# The integration suite against the real open-source Skyvern server (tests/real, marker
# `real`; the same checks run against the simulator in `make test`). skyvern-local.sh
# installs the server on first use: Debian's chromium and ffmpeg, then a ~1.6 GB venv cached
# in SKYVERN_LOCAL_VENV (a few minutes); each session then starts it afresh (~20 s) in a new
# directory, so its database and API key are new. About 4 minutes on 2 cores.
SKYVERN_LOCAL_SCRIPT ?= $(abspath ../shared/tools/skyvern-local.sh)
SKYVERN_LOCAL_VENV ?= /tmp/skyvern-local/venv
export SKYVERN_LOCAL_SCRIPT SKYVERN_LOCAL_VENV
test-real: install
	@missing=; for tool in chromium ffmpeg; do \
	  command -v $$tool >/dev/null 2>&1 || missing="$$missing $$tool"; done; \
	if [ -n "$$missing" ]; then \
	  echo "make test-real: installing$$missing (Debian packages)"; \
	  for try in 1 2 3 4 5 6; do $(APT_GET) -q update && break; sleep 10; done; \
	  $(APT_GET) install -y -q --no-install-recommends $$missing; fi
	bash $(SKYVERN_LOCAL_SCRIPT) setup
	$(VENV)/bin/pytest -q -m real tests/real --timeout 900

# docs/cli.md is generated from the click commands (batchrun/cli_reference.py); a test fails
# when it is stale. Run this after changing a command, an option's help or an exit code.
.PHONY: docs
docs: install
	$(PY) -m batchrun.cli_reference docs/cli.md

# Two commands on a fresh Linux machine: `make demo` and `make test`. Both set up what they need first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint system-deps clean

demo: $(VENV)/.installed
	$(BIN)/pintu demo
	@echo "pintu is installed in $(VENV)/bin: '. $(VENV)/bin/activate' puts it on PATH (see README, Quick start)"

test: $(VENV)/.installed node_modules/.installed system-deps
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/pytest

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

# The real MicroPython (WebAssembly port) the tests run the protocol and firmware on, pinned in package-lock.json.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

# Mosquitto for the broker tests and Chromium for the console's browser tests (Playwright drives Debian's build; it
# downloads no browser): installed from the distribution when missing and we may (root with apt).
system-deps:
	@command -v mosquitto >/dev/null 2>&1 || PATH="$$PATH:/usr/sbin" command -v mosquitto >/dev/null 2>&1 || \
	  { if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mosquitto >/dev/null; \
	    else echo "note: mosquitto not installed; broker tests will skip (apt-get install mosquitto)"; fi; }
	@test -x /usr/bin/chromium || \
	  { if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	    else echo "note: chromium not installed; the console's browser tests will skip (apt-get install chromium)"; fi; }

clean:
	rm -rf $(VENV) node_modules .pytest_cache .ruff_cache .hypothesis build dist *.egg-info

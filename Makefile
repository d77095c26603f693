# Two commands do everything on a fresh machine:
#   make demo   build, then collect rows into ./modeldata and show where they went
#   make test   build, then every check: cargo test, ruff, mypy, stubtest, pytest
VENV ?= .venv
PY := $(VENV)/bin/python
RUST_SOURCES := $(shell find rust -name '*.rs') Cargo.toml

.PHONY: demo test bench lint build clean smoke

$(VENV)/.ready: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade "pip>=25.1"
	$(PY) -m pip install -q "maturin>=1.9.4,<2" --group testing --group linting --group bench
	# Azure ML's v1 collector, a benchmark peer: its sdist pins azureml-telemetry (the whole
	# azureml SDK) though its collect path never imports it, so it comes without dependencies.
	$(PY) -m pip install -q --no-deps "azureml-monitoring==0.1.0a21"
	touch $@

# Release build: the benchmarks and the demo measure what users get.
$(VENV)/.built: $(VENV)/.ready $(RUST_SOURCES)
	VIRTUAL_ENV=$(abspath $(VENV)) $(VENV)/bin/maturin develop --release --quiet
	touch $@

build: $(VENV)/.built

demo: build
	$(VENV)/bin/modeltap demo

lint: $(VENV)/.ready
	cargo fmt --check
	PYO3_PYTHON=$(abspath $(PY)) cargo clippy --quiet --all-targets --features python -- -D warnings
	$(VENV)/bin/ruff check python tests benches examples
	$(VENV)/bin/ruff format --check python tests benches examples
	$(VENV)/bin/mypy

# Azurite, the Azure Storage emulator the Azure tests run against (pinned; project-local).
AZURITE_VERSION := 3.37.0
.azurite/.ready:
	mkdir -p .azurite
	npm install --prefix .azurite --no-audit --no-fund --silent azurite@$(AZURITE_VERSION)
	touch $@

# hadoop-azure (ABFS), for the Spark test that reads Azurite: the version of the Hadoop PySpark
# bundles (its hadoop-client-api jar), from Maven Central, so the tests themselves download nothing.
.spark-jars/.ready: $(VENV)/.ready
	set -e; jars=$$($(PY) -c 'import pyspark, os; print(os.path.join(os.path.dirname(pyspark.__file__), "jars"))'); \
	version=$$(ls "$$jars" | sed -n 's/^hadoop-client-api-\(.*\)\.jar$$/\1/p'); \
	test -n "$$version" || { echo "no hadoop-client-api jar in $$jars" >&2; exit 1; }; \
	rm -rf .spark-jars; mkdir -p .spark-jars; \
	mvn -q -B dependency:copy -Dartifact=org.apache.hadoop:hadoop-azure:$$version -DoutputDirectory=.spark-jars
	touch $@

# The wheel users get, installed alone into a fresh venv and run from outside the tree.
smoke: $(VENV)/.built
	rm -rf target/wheels
	$(VENV)/bin/maturin build --release --quiet --out target/wheels
	set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	python3 -m venv "$$tmp/venv"; \
	"$$tmp/venv/bin/python" -m pip install -q target/wheels/modeltap-*.whl; \
	cp tests/smoke/smoke.py "$$tmp/"; cd "$$tmp" && "$$tmp/venv/bin/python" smoke.py

# Debian's Chromium, for the test that renders the drift report headless (CI runs as root).
.chromium:
	test -x /usr/bin/chromium || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium; }
	touch $@

test: build lint .azurite/.ready .spark-jars/.ready .chromium smoke
	cargo test --quiet
	$(PY) -m mypy.stubtest modeltap._native
	$(PY) -m pytest
	# The suites in short mode: they cannot rot, and gross regressions (ratios to in-run peers) fail.
	MODELTAP_BENCH=short $(PY) -m pytest benches -q --benchmark-enable

bench: build .azurite/.ready
	$(PY) benches/report.py

clean:
	rm -rf $(VENV) target

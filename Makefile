# Flotilla: `make demo` runs it on a local control plane, `make test` proves it.
SHELL := /bin/bash
NODE ?= node
TSX := $(NODE) --import tsx


.PHONY: chart-crds
.PHONY: all deps node_modules build test test-unit test-integration test-conformance lint crds crds-check demo demo-down bench clean

all: build

node_modules: node_modules/.installed
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# Debian packages, the control plane (built once, cached in ~/.cache/flotilla), helm and kubectl
deps: node_modules
	bash test/harness/install-deps.sh

build: node_modules
	npx tsc -p tsconfig.build.json
	@chmod +x dist/cli.js

crds: node_modules
	$(TSX) src/api/write-crds.ts
	$(MAKE) chart-crds

# the chart carries copies of the CRDs (Helm's crds/ folder); a test checks they match
chart-crds:
	rm -f helm/flotilla/crds/*.yaml
	cp crds/*.toolkit.fluxcd.io_*.yaml helm/flotilla/crds/

crds-check: node_modules
	$(TSX) src/api/write-crds.ts --check

lint: node_modules
	npx tsc -p tsconfig.test.json
	$(TSX) test/lint/imports.ts

test-unit: node_modules
	$(TSX) test/run.ts unit

test-integration: deps
	$(TSX) test/run.ts integration

test-conformance: node_modules
	$(TSX) test/run.ts conformance

# The README's test command: everything CI runs.
test: deps lint crds-check build
	$(TSX) test/run.ts all

demo: deps build
	$(NODE) dist/cli.js demo

demo-down:
	$(NODE) dist/cli.js dev down

bench: deps build
	$(TSX) test/bench/run.ts

clean:
	rm -rf dist .flotilla

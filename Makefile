# LandSync: one place for the commands a newcomer and CI need.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: venv lint fmt test test-cluster unit demo up down status bench clean

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml deploy/bootstrap.sh
	bash deploy/bootstrap.sh "$(PYTHON)" "$(VENV)"
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy shared services tests
	$(BIN)/lint-imports

fmt: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## The whole suite: lint, types, unit tests, then integration tests against the real
## Kafka and PostgreSQL that the test session provisions and starts itself; then the
## three-node cluster test, in a session of its own (README, "A three-node Kafka cluster").
test: lint
	$(BIN)/pytest -ra
	$(MAKE) test-cluster

## Its own session, whose Kafka runs three nodes.
test-cluster: venv
	$(BIN)/pytest -ra tests/integration/test_brokers.py

## Unit and service-layer tests: no Kafka, no PostgreSQL.
unit: venv
	$(BIN)/pytest -ra tests/unit tests/service

## The main job: stack up, a synthetic commune submitted, the campaign report printed.
demo: venv
	$(BIN)/landsync demo

up: venv
	$(BIN)/landsync up
down: venv
	$(BIN)/landsync down
status: venv
	$(BIN)/landsync status

bench: venv
	$(BIN)/landsync bench intake

clean: down
	rm -rf .landsync .landsync-test* .landsync-chaos* .landsync-bench*

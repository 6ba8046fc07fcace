# The two commands: `make run` and `make test`. Both build the environment themselves,
# with nothing but Python 3.11 and make on the machine.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint typecheck bench migrate clean install docs demo

install: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/rpma serve --host $${RPMA_HOST:-127.0.0.1} --port $${RPMA_PORT:-8000}

migrate: $(STAMP)
	$(BIN)/rpma migrate

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python -m bench
	$(BIN)/python -m bench.workflow
	$(BIN)/python -m bench.materials
	$(BIN)/python -m bench.calendar
	$(BIN)/python -m bench.fanout
	$(BIN)/python -m bench.reports
	$(BIN)/python -m bench.exports

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

docs: $(STAMP)
	$(BIN)/rpma docs

demo: $(STAMP)
	$(BIN)/rpma migrate
	$(BIN)/rpma demo

# proposal-bot: every step a fresh machine needs lives here.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run test bench lint format clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,ocr]'
	touch $(STAMP)

# byte-compiled first: where PYTHONDONTWRITEBYTECODE is set, every start would compile every module again
run: install
	$(BIN)/python -m compileall -q bot handlers storage config >/dev/null
	$(BIN)/proposal-bot run

test: install
	$(BIN)/python -m pytest -q

bench: install
	$(BIN)/python -m bench status --items 100000
	$(BIN)/python -m bench startup

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache

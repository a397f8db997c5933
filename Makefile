# gridmap: `make demo` opens the demo map, `make test` runs the whole test suite.
.PHONY: demo test setup lint typecheck data vendor db-stop bench

PORT ?= 8000
export PORT

setup:
	@bash scripts/setup.sh

demo: setup
	.venv/bin/gridmap demo

test: setup
	.venv/bin/python -m pytest

lint: setup
	.venv/bin/ruff check src tests migrations scripts bench

typecheck: setup
	.venv/bin/mypy src

# Rebuild data/boundaries/ from ../shared/data/real (see data/boundaries/README.md).
data: setup
	.venv/bin/python scripts/build_demo_data.py

vendor:
	bash scripts/vendor-web.sh

db-stop: setup
	.venv/bin/gridmap db stop

bench: setup
	.venv/bin/python bench/coverage.py

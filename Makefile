# gridmap: `make demo` opens the demo map, `make test` runs the whole test suite.
.PHONY: demo test setup lint typecheck data vendor db-stop bench bench-auth schemathesis

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

# Rebuild data/boundaries/ from ../shared/data/real (see data/boundaries/README.md): the map,
# then the generated Party organisation on it.
data: setup
	.venv/bin/python scripts/build_demo_data.py
	.venv/bin/python scripts/demo_org.py

vendor:
	bash scripts/vendor-web.sh

db-stop: setup
	.venv/bin/gridmap db stop

bench: setup
	.venv/bin/python bench/coverage.py

# What a token costs a lookup: wrk without and with a token (installs wrk when missing).
bench-auth: setup
	@bash scripts/setup.sh --bench
	.venv/bin/python bench/auth.py

# Schemathesis over the whole API with 50 generated requests per operation
# (make test runs 25), each sent anonymously, as an admin and as a community office.
schemathesis: setup
	GRIDMAP_SCHEMATHESIS_EXAMPLES=50 .venv/bin/python -m pytest -q tests/api/test_schemathesis.py

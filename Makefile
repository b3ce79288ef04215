# Two commands do everything (see README.md):
#   make run    set up, start the local PostGIS, load the sample data, serve on 127.0.0.1:$(PORT)
#   make test   set up, then run the whole suite against a throwaway PostGIS database
# DATABASE_URL=postgresql+psycopg://... uses an existing PostGIS server instead of the local one.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PORT   ?= 5000
FLASK  := $(BIN)/flask --app app

# Resolves the database: the caller's DATABASE_URL, else the project-managed cluster (started here).
WITH_DB = export DATABASE_URL="$${DATABASE_URL:-$$(scripts/localpg start >&2 && scripts/localpg url)}";

.PHONY: run test contract stop setup bench bench-placements bench-coverage bench-city bench-field bench-osm

$(BIN)/.requirements: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.txt
	touch $@

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --omit=dev --no-audit --no-fund --loglevel=error

setup:
	scripts/system-deps
	$(MAKE) --no-print-directory $(BIN)/.requirements node_modules/.package-lock.json

run: setup
	@$(WITH_DB) \
	$(FLASK) db upgrade && \
	$(FLASK) geodata load-sample --if-empty && \
	$(FLASK) users status && \
	echo "Serving on http://127.0.0.1:$(PORT)  (Ctrl-C to stop; 'make stop' stops the database)" && \
	exec $(FLASK) run --host 127.0.0.1 --port $(PORT)

test:
	scripts/system-deps --test
	$(MAKE) --no-print-directory $(BIN)/.requirements node_modules/.package-lock.json
	@$(WITH_DB) $(BIN)/python -m pytest -q $(PYTEST_ARGS)

# the API contract at length: Schemathesis, >= 5,000 generated requests for each of six identities
contract:
	scripts/system-deps --test
	$(MAKE) --no-print-directory $(BIN)/.requirements node_modules/.package-lock.json
	@$(WITH_DB) CONTRACT_EXAMPLES=$${CONTRACT_EXAMPLES:-90} CONTRACT_MIN_CASES=5000 \
	  $(BIN)/python -m pytest -q -s tests/webmap/test_contract.py

bench: setup
	@$(WITH_DB) $(BIN)/python bench/map_page.py

bench-placements: setup
	@$(WITH_DB) $(BIN)/python bench/placements.py

bench-coverage: setup
	scripts/system-deps --bench
	@$(WITH_DB) $(BIN)/python bench/coverage_scale.py

bench-city: setup
	@$(WITH_DB) $(BIN)/python bench/city.py

bench-field: setup
	@$(WITH_DB) $(BIN)/python bench/field_pages.py

bench-osm: setup
	@$(WITH_DB) $(BIN)/python bench/osm_real.py

stop:
	@scripts/localpg stop

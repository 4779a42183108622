# Entry points named in the README. Each one installs what it needs first (scripts/bootstrap.sh).
VENV := .venv/bin
HOST ?= 127.0.0.1
PORT ?= 5000
WORKERS ?= 2
QUEUE_WORKERS ?= 1

.PHONY: run test lint bench lock check-templates docx-templates

# scripts/serve.sh: migrations, first administrator, gunicorn; with no DATABASE_URL, the instance's
# own PostgreSQL cluster is started with the service and stopped with it (docs/running.md).
run:
	scripts/bootstrap.sh run
	HOST=$(HOST) PORT=$(PORT) WORKERS=$(WORKERS) QUEUE_WORKERS=$(QUEUE_WORKERS) scripts/serve.sh

test:
	scripts/bootstrap.sh test
	$(VENV)/python -m pytest

lint:
	scripts/bootstrap.sh test
	$(VENV)/ruff check webforms schemas tests bench

bench:
	scripts/bootstrap.sh bench
	$(VENV)/python bench/render_bench.py
	$(VENV)/python bench/dossier_bench.py
	$(VENV)/python bench/archive_export_bench.py
	$(VENV)/python bench/cli_bench.py
	$(VENV)/python bench/preview_bench.py
	$(VENV)/python bench/load_bench.py
	$(VENV)/python bench/stats_bench.py

# Refresh the locks on purpose (after a change to setup.cfg, or to take upgrades): every package,
# direct and transitive, pinned with its hashes for CPython 3.11 on Linux x86-64. Commit the result;
# tests/test_lock.py fails while setup.cfg and the locks disagree. UPGRADE=1 takes the newest
# versions allowed; otherwise versions already locked are kept.
LOCK := $(VENV)/uv pip compile --generate-hashes --python-version 3.11 --python-platform x86_64-unknown-linux-gnu -q --custom-compile-command "make lock" $(if $(UPGRADE),--upgrade)
lock:
	scripts/bootstrap.sh run
	$(LOCK) requirements/build.in -o requirements/build.txt
	$(LOCK) setup.cfg -o requirements/run.txt
	$(LOCK) setup.cfg --extra test -o requirements/test.txt
	$(LOCK) setup.cfg --extra test --extra bench -o requirements/bench.txt

check-templates:
	$(VENV)/webforms check-templates

# Regenerate the Word templates from their generator script (templates_docx/build.py).
docx-templates:
	$(VENV)/python templates_docx/build.py

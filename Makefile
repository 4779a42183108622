# Entry points named in the README. Each one installs what it needs first (scripts/bootstrap.sh).
VENV := .venv/bin
HOST ?= 127.0.0.1
PORT ?= 5000
WORKERS ?= 2

.PHONY: run test lint bench check-templates docx-templates

# --preload imports the app (and WeasyPrint) once in the master, before forking workers;
# --timeout 120: depositing a dossier with hundreds of MB of pieces takes tens of seconds.
run:
	scripts/bootstrap.sh run
	$(VENV)/webforms upgrade
	$(VENV)/webforms ensure-admin
	$(VENV)/gunicorn --preload -w $(WORKERS) --timeout 120 -b $(HOST):$(PORT) --access-logfile - "webforms:create_app()"

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

check-templates:
	$(VENV)/webforms check-templates

# Regenerate the Word templates from their generator script (templates_docx/build.py).
docx-templates:
	$(VENV)/python templates_docx/build.py

# Entry points named in the README. Each one installs what it needs first (scripts/bootstrap.sh).
VENV := .venv/bin
HOST ?= 127.0.0.1
PORT ?= 5000
WORKERS ?= 2

.PHONY: run test lint bench lock check-templates docx-templates

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

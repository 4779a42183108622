#!/usr/bin/env bash
# Run the service: migrate the database, make sure an administrator exists, serve with gunicorn.
# With no DATABASE_URL, the database is the instance's own PostgreSQL cluster (instance/postgres,
# webforms/pgcluster.py): created on first start, started with the service and stopped with it.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.venv/bin
stop_cluster=true
if [ -z "${DATABASE_URL:-${WEBFORMS_DATABASE_URL:-}}" ]; then
  export DATABASE_URL="$("$venv/python" -m webforms.pgcluster start)"
  stop_cluster="$venv/python -m webforms.pgcluster stop"
  trap '$stop_cluster' EXIT
fi
"$venv/webforms" upgrade
"$venv/webforms" ensure-admin
# --preload imports the app (and WeasyPrint) once in the master, before forking workers;
# --timeout 120: depositing a dossier with hundreds of MB of pieces takes tens of seconds.
"$venv/gunicorn" --preload -w "${WORKERS:-2}" --timeout 120 -b "${HOST:-127.0.0.1}:${PORT:-5000}" \
  --access-logfile - "webforms:create_app()" &
server=$!
trap 'kill -TERM $server 2>/dev/null; wait $server; $stop_cluster' EXIT
trap 'exit 0' INT TERM
wait $server

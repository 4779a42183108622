#!/usr/bin/env bash
# Run the service: migrate the database, make sure an administrator exists, serve with gunicorn
# and run the job queue's worker beside it.
# With no DATABASE_URL, the database is the instance's own PostgreSQL cluster (postgres/ in the instance folder,
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
# The queue's worker (renders, dossiers, exports: webforms/jobs), beside the web server. More
# hosts or processes may run `webforms worker` against the same database (docs/running.md).
"$venv/webforms" worker --processus "${QUEUE_WORKERS:-1}" &
worker=$!
# --preload imports the app once in the master, before forking workers. No request renders any
# more (the worker does); --timeout 120 is for a large piece uploaded over a slow line.
"$venv/gunicorn" --preload -w "${WORKERS:-2}" --timeout 120 -b "${HOST:-127.0.0.1}:${PORT:-5000}" \
  --access-logfile - "webforms:create_app()" &
server=$!
trap 'kill -TERM $server $worker 2>/dev/null; wait $server $worker; $stop_cluster' EXIT
trap 'exit 0' INT TERM
# Either one stopping stops the service: a web server without its worker would leave every
# submission waiting.
wait -n $server $worker

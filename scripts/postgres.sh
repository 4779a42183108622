#!/usr/bin/env bash
# A private PostgreSQL cluster for webforms, on a Unix socket only (no TCP port, nothing to clash with).
#   scripts/postgres.sh start [DIR]   create the cluster on first use, start it, create role and database
#   scripts/postgres.sh stop [DIR]    stop it (the data stays)
#   scripts/postgres.sh url [DIR]     print its SQLAlchemy URL
# DIR defaults to instance/postgres. Debian's postgresql package is installed by scripts/bootstrap.sh.
# Set PG_FAST=1 for a throw-away test cluster (fsync and full-page writes off: never for real data).
#
# initdb refuses to run as root (and CI runs as root): the cluster then belongs to the `postgres`
# account that the Debian package creates, and commands run through runuser. The socket folder is
# 0700 and owned by that account, so local "trust" authentication reaches only root and it:
# nothing listens on TCP (docs/running.md).
set -euo pipefail
cd "$(dirname "$0")/.."
action="${1:?usage: scripts/postgres.sh start|stop|url [DIR]}"
dir="$(realpath -m "${2:-instance/postgres}")"
data="$dir/data" sock="$dir/socket" log="$dir/log"
db="${PG_DATABASE:-webforms}"
bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"

if [ "$(id -u)" -eq 0 ]; then
  owner=postgres
  as_owner() { (cd / && runuser -u postgres -- "$@"); }
else
  owner="$(id -un)"
  as_owner() { "$@"; }
fi

url() { echo "postgresql+psycopg://$db@/$db?host=$sock"; }

case "$action" in
  url) url ;;
  start)
    [ -n "$bin" ] || { echo "PostgreSQL n'est pas installé : lancez scripts/bootstrap.sh" >&2; exit 1; }
    # Every folder above the data must be traversable by the cluster's owner (0711 on our own
    # folders: enterable, not listable, so household files stay private).
    mkdir -p "$dir"; parent="$dir"
    while [ "$parent" != / ]; do
      [ -O "$parent" ] && chmod go+x "$parent"
      case "$parent" in "$PWD"|/tmp|/var/tmp) break ;; esac
      parent="$(dirname "$parent")"
    done
    install -d -o "$owner" -m 0700 "$data" "$sock" "$log"
    if [ ! -f "$data/PG_VERSION" ]; then
      as_owner "$bin/initdb" -D "$data" -U postgres --auth-local=trust --auth-host=reject -E UTF8 --locale=C.UTF-8 >"$log/initdb.log"
    fi
    if ! as_owner "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
      opts="-k $sock -c listen_addresses='' -c unix_socket_permissions=0700"
      [ "${PG_FAST:-}" = 1 ] && opts="$opts -c fsync=off -c full_page_writes=off -c synchronous_commit=off"
      as_owner "$bin/pg_ctl" -D "$data" -l "$log/postgresql.log" -o "$opts" -w start >/dev/null
    fi
    psql=("$bin/psql" -h "$sock" -U postgres -d postgres -v ON_ERROR_STOP=1 -qtA)
    if [ -z "$(as_owner "${psql[@]}" -c "SELECT 1 FROM pg_roles WHERE rolname = '$db'")" ]; then
      as_owner "${psql[@]}" -c "CREATE ROLE \"$db\" LOGIN CREATEDB"
    fi
    if [ -z "$(as_owner "${psql[@]}" -c "SELECT 1 FROM pg_database WHERE datname = '$db'")" ]; then
      as_owner "${psql[@]}" -c "CREATE DATABASE \"$db\" OWNER \"$db\""
    fi
    url
    ;;
  stop)
    if [ -f "$data/PG_VERSION" ] && as_owner "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
      as_owner "$bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null
    fi
    ;;
  *) echo "usage: scripts/postgres.sh start|stop|url [DIR]" >&2; exit 2 ;;
esac

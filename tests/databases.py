"""The tests' PostgreSQL: a private cluster for the session, a database migrated once, and cheap resets.

Creating a database costs ≈ 150 ms (PostgreSQL copies its catalogues) and so does a TRUNCATE of
every table; deleting the rows of small tables and copying back a saved set costs a few ms. So
each test runs on the same work database, put back before the test as it was saved; a test that
needs a database of its own (a module's world, a server in a thread) gets a copy of the migrated
template once.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import psycopg
from psycopg import sql

from webforms import db
from webforms.pgcluster import Cluster

TEMPLATE = "webforms_migre"
SAVED = "sauvegarde"  # schema holding each table's rows as saved


class Databases:
    """The session's cluster: migrated template, copies of it, saves and restores of their rows."""

    def __init__(self, root: Path) -> None:
        self.cluster = Cluster(root, fast=True)
        self.cluster.start()
        self._names = itertools.count(1)
        with self._admin() as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(TEMPLATE)))
            conn.execute(sql.SQL("CREATE DATABASE {} OWNER webforms").format(sql.Identifier(TEMPLATE)))
        db.upgrade(self.cluster.url(TEMPLATE))
        self.work = self.copy()
        self.save(self.work)

    def _admin(self, database: str = "postgres") -> psycopg.Connection:
        return psycopg.connect(host=str(self.cluster.socket_dir), user="postgres", dbname=database, autocommit=True)

    def copy(self) -> str:
        """A new database copied from the migrated template; its URL."""
        name = f"essai_{next(self._names)}"
        with self._admin() as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {} OWNER webforms").format(sql.Identifier(name), sql.Identifier(TEMPLATE)))
        return self.cluster.url(name)

    def empty(self) -> str:
        """A new database with no table at all (never migrated); its URL."""
        name = f"vide_{next(self._names)}"
        with self._admin() as conn:
            conn.execute(sql.SQL("CREATE DATABASE {} OWNER webforms").format(sql.Identifier(name)))
        return self.cluster.url(name)

    def fresh(self) -> str:
        """The work database, put back as saved after migration; its URL."""
        self.restore(self.work)
        return self.work

    def save(self, url: str) -> None:
        """Save every table's rows and every sequence's position, to ``restore`` them later."""
        with self._admin(_name(url)) as conn, conn.transaction():
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(SAVED)))
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(SAVED)))
            for table in _tables(conn):
                conn.execute(sql.SQL("CREATE TABLE {}.{} AS TABLE public.{}").format(sql.Identifier(SAVED), sql.Identifier(table), sql.Identifier(table)))
            conn.execute(sql.SQL("CREATE TABLE {}.sequences AS SELECT sequencename AS name, last_value, last_value IS NOT NULL AS called FROM pg_sequences WHERE schemaname = 'public'").format(sql.Identifier(SAVED)))

    def restore(self, url: str) -> None:
        """Put every table back as saved: the rows, and the sequences where they stood.

        Connections a test left open are closed first (their locks would hold the deletes); the
        write-once triggers of the archive and the foreign keys are set aside for this
        connection only (``session_replication_role``), as a restore from a backup does.
        """
        name = _name(url)
        with self._admin(name) as conn:
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", (name,))
            with conn.transaction():
                conn.execute("SET LOCAL session_replication_role = replica")
                for table in _tables(conn):
                    ident = sql.Identifier(table)
                    conn.execute(sql.SQL("DELETE FROM public.{}").format(ident))
                    conn.execute(sql.SQL("INSERT INTO public.{} OVERRIDING SYSTEM VALUE SELECT * FROM {}.{}").format(ident, sql.Identifier(SAVED), ident))
                rows = conn.execute(sql.SQL("SELECT name, last_value, called FROM {}.sequences").format(sql.Identifier(SAVED))).fetchall()
                for seq, value, called in rows:
                    conn.execute("SELECT setval(%s, %s, %s)", (f"public.{seq}", value or 1, called))

    def close(self) -> None:
        """Stop the cluster (its folder goes with pytest's temporary folders)."""
        self.cluster.stop()


def _name(url: str) -> str:
    return url.split("@/", 1)[1].split("?", 1)[0]


def _tables(conn: psycopg.Connection) -> list[str]:
    rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version' ORDER BY tablename")
    return [r[0] for r in rows]

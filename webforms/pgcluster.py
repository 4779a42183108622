"""A private PostgreSQL cluster on a Unix socket: the embedded default database of webforms.

``make run`` and the tests start one under a folder of their own unless ``DATABASE_URL`` names
an existing server (docs/running.md). Nothing listens on TCP: the socket folder is 0700 and
belongs to the cluster's account, so local "trust" authentication reaches only that account
and root. ``initdb`` refuses to run as root (CI runs as root): the cluster then belongs to the
``postgres`` account that Debian's package creates, and its commands run through ``runuser``.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

DATABASE = "webforms"


class ClusterError(RuntimeError):
    """The cluster could not be created or started; the message says why, in French."""


def _bin_dir() -> Path:
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))
    if not versions:
        raise ClusterError("PostgreSQL n'est pas installé : lancez scripts/bootstrap.sh (paquet Debian postgresql).")
    return versions[-1]


@dataclass(frozen=True)
class Cluster:
    """A cluster whose data, socket and log live under ``root``."""

    root: Path
    fast: bool = False  # fsync and full-page writes off: for a throw-away test cluster only

    @property
    def socket_dir(self) -> Path:
        return self.root / "socket"

    def url(self, database: str = DATABASE, user: str = DATABASE) -> str:
        """The SQLAlchemy URL of ``database`` on this cluster."""
        return f"postgresql+psycopg://{user}@/{database}?host={self.socket_dir}"

    def start(self) -> str:
        """Create the cluster on first use, start it if stopped, create role and database; return the URL."""
        data, log = self.root / "data", self.root / "log"
        owner = _owner()
        self.root.mkdir(parents=True, exist_ok=True)
        _traversable(self.root)
        for folder in (data, self.socket_dir, log):
            folder.mkdir(mode=0o700, exist_ok=True)
            os.chmod(folder, 0o700)
            shutil.chown(folder, owner.pw_uid, owner.pw_gid)
        if not (data / "PG_VERSION").exists():
            self._run("initdb", "-D", data, "-U", "postgres", "--auth-local=trust", "--auth-host=reject", "-E", "UTF8", "--locale=C.UTF-8")
        if self._run("pg_ctl", "-D", data, "status", check=False).returncode != 0:
            options = f"-k {self.socket_dir} -c listen_addresses='' -c unix_socket_permissions=0700"
            if self.fast:
                options += " -c fsync=off -c full_page_writes=off -c synchronous_commit=off"
            self._run("pg_ctl", "-D", data, "-l", log / "postgresql.log", "-o", options, "-w", "start")
        self._sql(f"SELECT 1 FROM pg_roles WHERE rolname = '{DATABASE}'", or_else=f'CREATE ROLE "{DATABASE}" LOGIN CREATEDB')
        self._sql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'", or_else=f'CREATE DATABASE "{DATABASE}" OWNER "{DATABASE}"')
        return self.url()

    def stop(self) -> None:
        """Stop the cluster if it runs (its data stays)."""
        data = self.root / "data"
        if (data / "PG_VERSION").exists() and self._run("pg_ctl", "-D", data, "status", check=False).returncode == 0:
            self._run("pg_ctl", "-D", data, "-m", "fast", "-w", "stop")

    def _sql(self, query: str, *, or_else: str) -> None:
        """Run ``or_else`` as the superuser unless ``query`` returns a row."""
        psql = ("psql", "-h", self.socket_dir, "-U", "postgres", "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-qtA", "-c")
        if not self._run(*psql, query).stdout.strip():
            self._run(*psql, or_else)

    def _run(self, program: str, *args: object, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [str(_bin_dir() / program), *map(str, args)]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        # cwd=/: runuser keeps the folder, which the postgres account may not be allowed to enter.
        done = subprocess.run(command, cwd="/", capture_output=True, text=True, check=False)
        if check and done.returncode != 0:
            raise ClusterError(f"PostgreSQL ({program}) a échoué : {(done.stderr or done.stdout).strip()[-800:]}")
        return done


def _owner() -> pwd.struct_passwd:
    """The account the cluster runs as: ``postgres`` for root, else the current user."""
    if os.geteuid() != 0:
        return pwd.getpwuid(os.geteuid())
    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        raise ClusterError("Le compte « postgres » manque : installez le paquet Debian postgresql.") from None


def _traversable(folder: Path) -> None:
    """Let the cluster's account enter every root-owned folder above its data (adds x, not r: not listable)."""
    if os.geteuid() != 0:
        return
    for parent in (folder, *folder.parents):
        if parent == Path("/") or parent.stat().st_uid != 0:
            break
        mode = parent.stat().st_mode & 0o7777
        if mode & 0o011 != 0o011:
            os.chmod(parent, mode | 0o011)


def default_folder() -> Path:
    """The service's own cluster: ``postgres`` in the instance folder (``WEBFORMS_INSTANCE_PATH``, else ``instance``)."""
    # Beside the instance's other data: a Département that moved its instance elsewhere (another
    # disk, a private mount) moves its household data in the database with it.
    return (Path(os.environ.get("WEBFORMS_INSTANCE_PATH") or "instance") / "postgres").resolve()


def main(argv: list[str]) -> int:
    """``python -m webforms.pgcluster start|stop|url [FOLDER]`` (default: ``postgres`` in the instance folder)."""
    if len(argv) not in (1, 2) or argv[0] not in ("start", "stop", "url"):
        print("usage : python -m webforms.pgcluster start|stop|url [DOSSIER]")
        return 2
    cluster = Cluster(Path(argv[1]).resolve() if len(argv) == 2 else default_folder())
    try:
        if argv[0] == "stop":
            cluster.stop()
        else:
            print(cluster.start() if argv[0] == "start" else cluster.url())
    except ClusterError as exc:
        print(exc)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

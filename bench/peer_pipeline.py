"""The peers' pipeline: a DOCX converted to PDF by a warm LibreOffice, through unoserver.

``UnoServer`` starts ``python -m unoserver.server`` in the background on loopback ports, with
an interpreter that imports Debian's ``uno`` (``.venv/uno``, made by ``scripts/bootstrap.sh
bench``), converts through unoserver's XML-RPC client, reads LibreOffice's CPU time in
``/proc``, and stops what it started, by pid.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import xmlrpc.client
from pathlib import Path

from benchkit import ROOT, ms


class UnoServer:
    """A unoserver started once in the background on loopback ports, stopped at the end."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.workdir = Path(tempfile.mkdtemp(prefix="bench-unoserver-"))
        self.log = self.workdir / "unoserver.log"
        self.pidfile = self.workdir / "soffice.pid"

    @staticmethod
    def _python() -> str:
        """An interpreter that imports both `uno` (Debian's python3-uno) and unoserver."""
        candidates = [os.environ.get("UNOSERVER_PYTHON"), str(ROOT / ".venv" / "uno" / "bin" / "python"), "/usr/bin/python3"]
        problems = []
        for py in filter(None, candidates):
            if not Path(py).exists():
                continue
            check = subprocess.run([py, "-c", "import uno, unoserver.server"], capture_output=True, text=True, timeout=60)
            if check.returncode == 0:
                return py
            problems.append(f"{py}: {check.stderr.strip().splitlines()[-1] if check.stderr.strip() else 'échec'}")
        raise RuntimeError(
            "aucun Python ne peut importer uno et unoserver ("
            + ("; ".join(problems) or "ni .venv/uno ni /usr/bin/python3")
            + ") — lancer scripts/bootstrap.sh bench"
        )

    @staticmethod
    def _free_port() -> int:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]

    def _log_tail(self) -> str:
        try:
            lines = self.log.read_text(errors="replace").strip().splitlines()
            return " | ".join(lines[-3:])
        except OSError:
            return ""

    def start(self, timeout: float = 90.0) -> str:
        if shutil.which("soffice") is None:
            raise RuntimeError("soffice introuvable (paquet libreoffice-writer-nogui) — lancer scripts/bootstrap.sh bench")
        py = self._python()
        self.port, uno_port = self._free_port(), self._free_port()
        while uno_port == self.port:
            uno_port = self._free_port()
        cmd = [
            py, "-m", "unoserver.server",
            "--interface", "127.0.0.1", "--uno-interface", "127.0.0.1",
            "--port", str(self.port), "--uno-port", str(uno_port),
            "--user-installation", str(self.workdir / "profile"),
            "--libreoffice-pid-file", str(self.pidfile),
            # A stuck conversion stops the server (that measurement fails) instead of hanging.
            "--conversion-timeout", "180",
        ]  # fmt: skip
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir, start_new_session=True)
        atexit.register(self.stop)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"unoserver s'est arrêté (code {self.proc.returncode}) : {self._log_tail()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    pass
                with xmlrpc.client.ServerProxy(f"http://127.0.0.1:{self.port}") as proxy:
                    info = proxy.info()
                return f"unoserver {info.get('unoserver', '?')} (API {info.get('api', '?')}) via {py}"
            except OSError:
                time.sleep(0.25)
        raise RuntimeError(f"unoserver pas prêt après {timeout:.0f} s : {self._log_tail()}")

    def convert(self, docx: bytes) -> bytes:
        from unoserver.client import UnoClient  # optional ([bench] extra): without it, the column says why

        out = UnoClient(server="127.0.0.1", port=str(self.port)).convert(indata=docx, convert_to="pdf")
        if not out or not out.startswith(b"%PDF"):
            raise RuntimeError("LibreOffice n'a pas rendu de PDF")
        return out

    def tree(self) -> list[int]:
        """The pids of the server and of everything it started (soffice, oosplash, …)."""
        if self.proc is None:
            return []
        parents: dict[int, int] = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                except OSError:
                    continue
                parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
        found, todo = [], [self.proc.pid]
        while todo:
            pid = todo.pop()
            found.append(pid)
            todo.extend(child for child, parent in parents.items() if parent == pid)
        return found

    def cpu_seconds(self, pids: list[int]) -> float:
        """CPU time (user + system) used so far by ``pids`` (LibreOffice's side of a conversion)."""
        total = 0
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])
        return total / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        """Stop the server we started, then whatever it started if it outlived it (by pid)."""
        started = self.tree()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None
        with contextlib.suppress(OSError, ValueError):
            started.append(int(self.pidfile.read_text().strip()))
        for pid in dict.fromkeys(started):
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue  # already gone
            if b"soffice" not in cmdline and b"oosplash" not in cmdline:
                continue  # the pid was reused by something else: not ours
            os.kill(pid, signal.SIGTERM)
            for _ in range(50):
                if not Path(f"/proc/{pid}").exists():
                    break
                time.sleep(0.1)
            else:
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(self.workdir, ignore_errors=True)


def start_warm(docx: bytes) -> tuple[UnoServer, str, list[int]]:
    """Start a server and convert ``docx`` once to warm it; return it, its status line and its pids.

    On failure the server is stopped and the error raised, for the caller to print as the reason.
    """
    lo = UnoServer()
    try:
        status = lo.start()
        warm_start = time.perf_counter()
        lo.convert(docx)  # warm-up conversion
        status += f" ; conversion de chauffe {ms(time.perf_counter() - warm_start, 0)} ms"
        return lo, status, lo.tree()
    except BaseException:
        lo.stop()
        raise

"""Run the full parse of an upload in a child process, within resource limits and a timeout.

The child is ``child.py`` run as a script with ``python -I`` (no environment variable, no
user site, not even its own folder on ``sys.path``), a minimal environment, and limits on
address space, CPU time, file size and core dumps set by the child itself; the parent adds a
wall-clock timeout and reads one line of JSON from it.
"""

from __future__ import annotations

import json
import logging
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any, Final

from .checks import limits
from .checks.refusals import MSG_TIMEOUT, MSG_UNREADABLE, UploadRefused

log = logging.getLogger(__name__)

CHILD_SCRIPT: Final = Path(__file__).resolve().with_name("child.py")


def parse_in_child(kind: str, source: Path, output: Path | None, *, max_pages: int, workdir: Path) -> dict[str, Any]:
    """Parse ``source`` in the child, within resource limits, and return its reply; raise UploadRefused if refused."""
    params = {
        "kind": kind,
        "source": str(source),
        "output": str(output) if output is not None else None,
        "max_pages": max_pages,
        "max_pixels": limits.MAX_PIXELS,
        "memory": limits.CHILD_MEMORY_BYTES,
        "cpu": limits.CHILD_CPU_SECONDS,
        "output_bytes": limits.CHILD_OUTPUT_BYTES,
    }
    command = [sys.executable, "-I", str(CHILD_SCRIPT), json.dumps(params)]
    try:
        proc = subprocess.run(
            command,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=limits.PARSE_TIMEOUT_SECONDS,
            check=False,
            cwd=workdir,
            env={"LC_ALL": "C.UTF-8"},  # nothing of the service's environment (secrets) goes in
        )
    except subprocess.TimeoutExpired:  # subprocess.run has killed the child
        log.warning("Upload parse timed out after %s s (%s)", limits.PARSE_TIMEOUT_SECONDS, kind)
        raise UploadRefused(MSG_TIMEOUT) from None
    if proc.returncode != 0:
        log.warning("Upload parser exited with %s (%s): %s", proc.returncode, kind, proc.stderr[-2000:].decode(errors="replace"))
        if proc.returncode in (-signal.SIGXCPU, -signal.SIGKILL):
            raise UploadRefused(MSG_TIMEOUT)
        raise UploadRefused(MSG_UNREADABLE)
    try:
        reply = json.loads(proc.stdout.decode().strip().splitlines()[-1])
    except (UnicodeDecodeError, IndexError, ValueError):
        log.warning("Upload parser gave no reply (%s): %s", kind, proc.stderr[-2000:].decode(errors="replace"))
        raise UploadRefused(MSG_UNREADABLE) from None
    if not isinstance(reply, dict) or reply.get("ok") is not True:
        message = reply.get("message") if isinstance(reply, dict) else None
        raise UploadRefused(message if isinstance(message, str) else MSG_UNREADABLE)
    return reply

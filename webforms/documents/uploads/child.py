"""The sandboxed parse: ``python -I child.py '<json>'``, started by sandbox.py, never in the web process.

It lowers its own resource limits first, then imports the parser of the one format it checks
and prints one line of JSON: ``{"ok": true, "pages": …}`` or ``{"ok": false, "message": …}``.
"""

from __future__ import annotations

import json
import logging
import resource
import signal
import sys
from pathlib import Path
from typing import Any


def main(argv: list[str]) -> int:
    """Check the file ``argv[0]`` (JSON parameters) names, and print the reply."""
    params = json.loads(argv[0])
    limit_resources(memory=params["memory"], cpu=params["cpu"], output_bytes=params["output_bytes"])
    logging.disable(logging.WARNING)  # pypdf warns once per broken object: keep stderr short
    # python -I leaves this folder off sys.path. It is put there so that the parsers are imported
    # as the package ``checks`` alone, not through ``webforms`` (whose __init__ brings Flask);
    # they are imported here, once the limits apply, and only the one this format needs.
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from checks.refusals import MSG_DOCX_DAMAGED, MSG_IMAGE_DAMAGED, MSG_MEMORY, MSG_PDF_DAMAGED, UploadRefused

    kind = params["kind"]
    source = Path(params["source"])
    damaged = {"pdf": MSG_PDF_DAMAGED, "docx": MSG_DOCX_DAMAGED}.get(kind, MSG_IMAGE_DAMAGED)
    try:
        pages: int | None = None
        if kind == "pdf":
            from checks.pdf import check_pdf

            pages = check_pdf(source, params["max_pages"])
        elif kind == "docx":
            from checks.word import check_docx

            check_docx(source)
        else:
            from checks.images import reencode_image

            reencode_image(source, Path(params["output"]), kind, params["max_pixels"])
        reply: dict[str, Any] = {"ok": True, "pages": pages}
    except UploadRefused as exc:
        reply = {"ok": False, "message": exc.message}
    except MemoryError:
        reply = {"ok": False, "message": MSG_MEMORY}
    except Exception as exc:  # any parser failure on hostile input is a refusal, not a crash
        print(f"{type(exc).__name__}: {exc}"[:1000], file=sys.stderr)
        reply = {"ok": False, "message": damaged}
    sys.stdout.write(json.dumps(reply) + "\n")
    sys.stdout.flush()
    return 0


def limit_resources(*, memory: int, cpu: int, output_bytes: int) -> None:
    """Lower this process's address space, CPU time, file size, core dumps and open files."""

    def lower(which: int, value: int) -> None:
        _soft, hard = resource.getrlimit(which)
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        resource.setrlimit(which, (value, value))

    lower(resource.RLIMIT_AS, memory)
    lower(resource.RLIMIT_CPU, cpu + 1)
    # SIGXCPU at the soft limit, SIGKILL one second later should it be caught.
    _soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
    resource.setrlimit(resource.RLIMIT_CPU, (min(cpu, hard), hard))
    lower(resource.RLIMIT_FSIZE, output_bytes)
    lower(resource.RLIMIT_CORE, 0)
    lower(resource.RLIMIT_NOFILE, 64)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # an oversized write then fails with EFBIG


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

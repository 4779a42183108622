"""Benchmark of a deposit's signature verification (webforms/archive/signatures.py), beside a reference.

Run with ``.venv/bin/python bench/signature_bench.py``. Signed PDFs of 1, 50 and 300 blank pages,
and one carrying a 25 MiB attachment (near the deposit's 30 MB limit), are signed with the test
PKI (tests/signing.py); each is verified against its root as a deposit does, beside the reference
measured on the same file in the same run: one SHA-512 of the whole file, which every deposit
computes (at least) once anyway. Medians of ``--runs`` (default 5).

It answers issue 11, point 4 for the deposit: is verifying a signature heavy work to move out
of the request? (docs/decisions.md: no, it costs about one more reading of the file.)
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pypdf import PdfWriter

import webforms.archive  # noqa: F401 (silences pyHanko's DSA warning, as the app does)
from tests.signing import make_pki, sign_pdf, write_trust_root
from webforms.archive.signatures import load_trust_roots, verify_pdf_signatures


def _pdf(pages: int, attachment_mb: int = 0) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    if attachment_mb:
        writer.add_attachment("annexe.bin", os.urandom(attachment_mb << 20))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _median(action: object, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    pki = make_pki()
    with tempfile.TemporaryDirectory(prefix="webforms-signature-bench-") as tmp:
        root = Path(tmp)
        write_trust_root(root / "roots", pki.ca_cert)
        roots = load_trust_roots(root / "roots")
        print(f"{'PDF signé':<28}{'taille':>10}{'vérification':>15}{'SHA-512 (réf.)':>16}{'rapport':>9}")
        for label, pages, extra in (("1 page", 1, 0), ("50 pages", 50, 0), ("300 pages", 300, 0), ("20 pages + 25 Mio joints", 20, 25)):
            path = root / f"{pages}-{extra}.pdf"
            path.write_bytes(sign_pdf(_pdf(pages, extra), pki.signer_key, pki.signer_cert, pki.ca_cert))
            assert verify_pdf_signatures(path, roots).signed
            verify = _median(lambda p=path: verify_pdf_signatures(p, roots), runs)
            digest = _median(lambda p=path: hashlib.sha512(p.read_bytes()).hexdigest(), runs)
            print(f"{label:<28}{path.stat().st_size / 1e6:>8.2f} Mo{verify * 1000:>12.1f} ms{digest * 1000:>13.1f} ms{verify / digest:>8.1f}×")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Limits of the upload checks.

Module constants, read when a check runs, so that a test or a deployment can change them here
(``limits.PARSE_TIMEOUT_SECONDS = …``). Those of the parser itself (PNG, DOCX, PDF) are read
in the child, which imports this module afresh: there, only their values in this file count.
"""

from __future__ import annotations

CHUNK_SIZE = 1 << 20  # bytes read from the upload at once, as FileStore.put_stream does
MAX_PIXELS = 89_478_485  # Pillow's own default: a 600 dpi A4 scan is 35 Mpx, a 50 Mpx photo passes
# zlib's best compression ("optimize") took 1.3 s per Mpx on a smooth gradient, the default
# level 0.1 s: above this size PNG is re-encoded at the default level.
PNG_OPTIMIZE_MAX_PIXELS = 4_000_000
MAX_DOCX_ENTRIES = 1000  # Word writes 10 to 50; a few hundred with many images
MAX_DOCX_UNCOMPRESSED = 100 << 20  # declared total size of all the zip members
MAX_COMPRESSION_RATIO = 100  # for a member over 1 MiB: Word's XML compresses 5 to 20 times
MAX_XML_PART = 1 << 20  # declared size of [Content_Types].xml: a few KiB in practice
MAX_PDF_OBJECTS = 500_000  # objects walked in a PDF's graph
# Address space of the child. Measured peak RSS: 0.7 GiB for an 89 Mpx RGBA PNG laid on white
# or RGB JPEG that must be rotated (two copies of the pixels), 0.65 GiB for the JPEG without
# rotation.
CHILD_MEMORY_BYTES = 1 << 30
CHILD_CPU_SECONDS = 15  # an 89 Mpx image is decoded and re-encoded in 1.5 to 3 s
CHILD_OUTPUT_BYTES = 512 << 20  # largest file the child may write (the re-encoded image)
PARSE_TIMEOUT_SECONDS = 20.0  # wall clock, below gunicorn's default 30 s worker timeout

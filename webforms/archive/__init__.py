"""The archive of signed documents: deposit, search, audit trail, verification, retention.

DESIGN §3: "signed copy uploaded → archived (write-once; never edited or deleted before its
retention ends)". What the archive promises, and where it keeps each promise:

- bytes are written once, named by their SHA-512, in a store of their own (``ArchiveStore``);
  the archived PDF/A is the frozen rendition itself, its data attached (``deposit``);
- archive rows are insert-only (ORM guard in ``webforms.models``, database triggers in
  migration 0007); a correction is a new record that supersedes the earlier one (``deposit``);
- every archive event is a row of an append-only log holding the hash of the previous row,
  and each committed row is also written to a journal file beside the files (``audit``);
- ``verify`` recomputes every SHA-512, matches files and records, and replays the chain;
- a record's term follows its kind's rule (``retention``); destruction needs a recorded visa
  and a second person, and leaves a tombstone (``visas``);
- ``search`` finds what a user may see; ``transfer`` exports records as SEDA 2.2 or BagIt
  (written by ``export``); ``trust`` keeps the roots of electronic signatures (``signatures``).

``services`` holds what they all need besides a session (``ArchiveServices``) and their error.
Services take a session and plain values; views and the command line stay thin.
"""

import warnings

from cryptography.utils import CryptographyDeprecationWarning

# cryptography 51 deprecates DSA, and pyHanko 0.38 imports its DSA key class when it loads
# (pyhanko/sign/signers/pdf_cms.py); the archive never signs or verifies with DSA. Without this,
# every command and server start would print the warning. Exactly that one is silenced.
warnings.filterwarnings("ignore", message="DSA is deprecated", category=CryptographyDeprecationWarning)

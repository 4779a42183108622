"""What declares the kinds (Kind, fields, shared groups) and the records that are not kinds.

The registry imports every *module* of ``schemas/`` as a kind; this subpackage is skipped.
"""

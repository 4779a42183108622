"""What the sandboxed child runs: the limits, the French refusals, and one parser per format.

This package imports nothing of ``webforms``: the child (``../child.py``, run with
``python -I``) puts the folder above it on ``sys.path`` and imports it as ``checks``, without
loading the web application; the service imports it as ``webforms.documents.uploads.checks``.
"""

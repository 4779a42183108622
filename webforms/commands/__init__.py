"""The commands of ``webforms.cli``, one module per family, each imported only when one of its commands runs."""

"""``python -m webforms`` runs the command line."""

from webforms.cli import main

main()

"""Documents and their generic lifecycle: drafts, submission, frozen renditions, stored files, uploads."""

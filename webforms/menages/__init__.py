"""The household file (issue 13): one timeline of a household's thread, and its search."""

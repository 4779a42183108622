"""The Département's templates: versions checked, previewed, put in force, rolled back (issue 18)."""

"""Public pages: what anyone may read without signing in (the accessibility statement)."""

"""Archive of signed copies: deposit, audit chain, retention, search, verification, export."""

"""Administration pages: users, organisations, calls, retention rules, trust roots."""

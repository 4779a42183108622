"""Calls for applications (appels) and candidature dossiers: rules, pieces, the complete dossier."""

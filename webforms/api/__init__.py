"""The JSON API (issue 17): its tokens first; ``/api/v1/`` follows."""

"""The Polymark backend behind serve.py: routes, the store (SQLite or PostgreSQL), validation,
imports, media and static files, and the review, guideline, set and queue rules applied inside the
store's transactions. serve.py is the entry point (docs/SERVER.md, "The code")."""

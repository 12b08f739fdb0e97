"""Parts of serve.py (the Polymark backend) that stand on their own: plain Python over values and
SQLite connections, no HTTP. serve.py is the entry point and the HTTP layer."""

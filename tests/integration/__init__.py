"""Integration tests: a real pretix with PostgreSQL, Redis and Celery workers on loopback."""

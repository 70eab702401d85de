"""The database session engine, refusing malformed session keys before any query.

A cookie value may carry octal escapes inside quotes (``sessionid="abc\\000def"``), which Python's
cookie parser decodes into a NUL byte; PostgreSQL refuses NUL in text, so the session lookup
raised a database error (500) on every page, and in the websocket handshake. Django's own keys
are 32 lowercase letters and digits: anything else is no session at all.
"""

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore


class SessionStore(DatabaseSessionStore):
    def _validate_session_key(self, key):
        return bool(key) and 8 <= len(key) <= 40 and key.isascii() and key.isalnum()

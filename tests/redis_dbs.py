"""The Redis databases the suite writes, named in this one place.

`TEST_REDIS_URL` names the server (default `redis://127.0.0.1:6379`; a database number in it
is ignored) and `TEST_REDIS_FIRST_DB` the first of the four consecutive databases the suite
owns (default 8: databases 8 to 11). The suite writes and flushes those four and no other, so
two runs on one machine stay apart by giving each its own `TEST_REDIS_FIRST_DB` (0, 4, 8, 12).
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

_server = urlsplit(os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379"))
REDIS_SERVER = f"{_server.scheme}://{_server.netloc}"
FIRST_DB = int(os.environ.get("TEST_REDIS_FIRST_DB", "8"))

# Shared rate limits across two instances (tests/api/test_rate_limits.py).
RATE_LIMIT_REDIS_URL = f"{REDIS_SERVER}/{FIRST_DB}"
# Cached API keys: a database where nothing else revokes keys (changes the key generation).
KEY_CACHE_REDIS_URL = f"{REDIS_SERVER}/{FIRST_DB + 1}"
# The rate-limit storm against gunicorn (tests/concurrency), flushed before it.
STORM_REDIS_URL = f"{REDIS_SERVER}/{FIRST_DB + 2}"
# The revocation race against gunicorn (tests/concurrency), flushed before it.
REVOCATION_REDIS_URL = f"{REDIS_SERVER}/{FIRST_DB + 3}"

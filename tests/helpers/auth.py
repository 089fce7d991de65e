"""The internal API token of a test run (``servicekit.auth``).

``make test`` exports the local deployment's token; a bare ``pytest`` gets one made here, set
before any service reads its settings (``tests/conftest.py`` imports this module first).
"""

from __future__ import annotations

import os
import secrets

from servicekit.auth import ApiGuard, bearer_headers

INTERNAL_TOKEN = os.environ.setdefault("TGI_INTERNAL_TOKEN", "tests-" + secrets.token_urlsafe(18))
INTERNAL_HEADERS = bearer_headers(INTERNAL_TOKEN)


def guard_for_tests() -> ApiGuard:
    """A guard admitting :data:`INTERNAL_TOKEN`, for routers mounted without a service kit."""
    return ApiGuard([INTERNAL_TOKEN], missing_hint="(tests)")

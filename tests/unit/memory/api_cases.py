"""Bad requests to the read API, shared by the unit tests (fake store) and the integration
tests (Postgres): each must get a 4xx whose body names the problem, never a 5xx."""

from __future__ import annotations

import base64
from typing import Final

_OLDEST_CURSOR: Final = (
    base64.urlsafe_b64encode(b"o1:1700000000000000:01958a1c-0000-7000-8000-000000000001")
    .decode()
    .rstrip("=")
)
_NEWEST_CURSOR: Final = _OLDEST_CURSOR.replace("bzE6", "bjE6")

# (url, a word the error body must contain)
BAD_REQUESTS: Final[list[tuple[str, str]]] = [
    ("/v1/episodes", "tenant_id"),
    ("/v1/episodes?run_id=r1", "tenant_id"),
    ("/v1/episodes?tenant=acme", "tenant_id"),
    ("/v1/episodes?tenant_id=", "tenant_id"),
    ("/v1/episodes?tenant_id=a%20b", "tenant_id"),
    ("/v1/episodes?tenant_id=-lead", "tenant_id"),
    ("/v1/episodes?tenant_id=" + "a" * 65, "tenant_id"),
    ("/v1/episodes?tenant_id=" + "a" * 60_000, "tenant_id"),
    ("/v1/episodes?tenant_id=x%27%3B%20DROP%20TABLE%20memory.episodes%3B--", "tenant_id"),
    ("/v1/episodes?tenant_id=a%00b", "tenant_id"),
    ("/v1/episodes?tenant_id=acme&limit=1001", "capped at 1000"),
    ("/v1/episodes?tenant_id=acme&limit=1000000000000000000000000000000", "capped at 1000"),
    ("/v1/episodes?tenant_id=acme&limit=0", "limit"),
    ("/v1/episodes?tenant_id=acme&limit=-5", "limit"),
    ("/v1/episodes?tenant_id=acme&limit=ten", "limit"),
    ("/v1/episodes?tenant_id=acme&limit=1.5", "limit"),
    ("/v1/episodes?tenant_id=acme&kind=crashed", "kind"),
    ("/v1/episodes?tenant_id=acme&kind=", "kind"),
    ("/v1/episodes?tenant_id=acme&service=Router", "service"),
    ("/v1/episodes?tenant_id=acme&run_id=a%20b", "run_id"),
    ("/v1/episodes?tenant_id=acme&run_id=a%00b", "run_id"),
    ("/v1/episodes?tenant_id=acme&run_id=" + "r" * 129, "run_id"),
    ("/v1/episodes?tenant_id=acme&since=2025-01-01T00:00:00", "timezone"),
    ("/v1/episodes?tenant_id=acme&until=2025-01-01", "timezone"),
    ("/v1/episodes?tenant_id=acme&since=yesterday", "since"),
    ("/v1/episodes?tenant_id=acme&since=2025-13-01T00:00:00Z", "since"),
    ("/v1/episodes?tenant_id=acme&since=0001-01-01T00:00:00%2B05:00", "out of range"),
    ("/v1/episodes?tenant_id=acme&until=9999-12-31T23:59:59-05:00", "out of range"),
    (
        "/v1/episodes?tenant_id=acme&since=2025-02-01T00:00:00Z&until=2025-01-01T00:00:00Z",
        "since must be earlier",
    ),
    (
        "/v1/episodes?tenant_id=acme&since=2025-01-01T00:00:00Z&until=2025-01-01T00:00:00Z",
        "since must be earlier",
    ),
    ("/v1/episodes?tenant_id=acme&cursor=garbage!", "cursor"),
    ("/v1/episodes?tenant_id=acme&cursor=" + "A" * 300, "cursor"),
    ("/v1/episodes?tenant_id=acme&cursor=" + _OLDEST_CURSOR, "another listing"),
    ("/v1/episodes?tenant_id=acme&unexpected=1", "unexpected"),
    ("/v1/runs/run-1/timeline", "tenant_id"),
    ("/v1/runs/run-1/timeline?tenant_id=a%20b", "tenant_id"),
    ("/v1/runs/run-1/timeline?tenant_id=acme&limit=5000", "capped at 1000"),
    ("/v1/runs/run-1/timeline?tenant_id=acme&limit=0", "limit"),
    ("/v1/runs/run-1/timeline?tenant_id=acme&cursor=" + _NEWEST_CURSOR, "another listing"),
    ("/v1/runs/run-1/timeline?tenant_id=acme&kind=error", "kind"),
    ("/v1/runs/" + "r" * 129 + "/timeline?tenant_id=acme", "run_id"),
    ("/v1/runs/a%20b/timeline?tenant_id=acme", "run_id"),
    ("/v1/runs/a%00b/timeline?tenant_id=acme", "run_id"),
    ("/v1/runs//timeline?tenant_id=acme", "run_id"),
    ("/v1/nothing-here?tenant_id=acme", "Not Found"),
]

"""Value types of the gateway: who asks, runs, conversation turns, cited sources."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Literal

CredentialKind = Literal["api_key", "jwt", "kafka"]
RunKind = Literal["qa", "digest", "trend", "memory", "help", "unsupported"]
RunStatus = Literal["accepted", "running", "completed", "failed", "quality_low"]
TERMINAL: Final[frozenset[str]] = frozenset({"completed", "failed", "quality_low"})
QosLevel = Literal["fast", "smart", "auto"]


@dataclass(frozen=True)
class Principal:
    """Whoever a request acts for, taken from its credential only.

    ``subject`` names the credential for rate limiting (an API key id, ``jwt:<tenant>:<sub>``
    or ``kafka``); it is never a secret.
    """

    tenant_id: str
    user_id: str
    via: CredentialKind
    subject: str


@dataclass(frozen=True)
class StoredKey:
    """An API key as stored: its public id and owner; the key itself is never stored."""

    key_id: str
    tenant_id: str
    user_id: str
    name: str
    created_at: datetime
    revoked_at: datetime | None = None


@dataclass(frozen=True)
class Window:
    """A time window the question is about (``since`` inclusive, ``until`` exclusive)."""

    since: datetime | None
    until: datetime | None
    label: str = ""


@dataclass(frozen=True)
class Run:
    """One request the router handled or handed on: a fast answer, a digest, a trend report."""

    run_id: str
    tenant_id: str
    user_id: str
    kind: RunKind
    status: RunStatus
    created_at: datetime
    updated_at: datetime
    request: dict[str, Any] = field(default_factory=dict)
    result: dict[str, Any] | None = None
    error: str | None = None
    completed_at: datetime | None = None


@dataclass(frozen=True)
class Turn:
    """One question and its answer in a user's conversation."""

    tenant_id: str
    user_id: str
    run_id: str
    query: str
    answer: str
    route: str
    created_at: datetime
    window: Window | None = None


@dataclass(frozen=True)
class Source:
    """A retrieved post an answer cites as ``[n]``."""

    n: int
    post_id: str
    channel_id: str
    message_id: int
    date: datetime
    permalink: str
    channel_title: str | None = None
    quote: str | None = None

"""Objects and value types shared by several v1 payloads."""

import re
from typing import Literal

from contracts.base import ContractModel
from contracts.fields import POST_ID_PATTERN, ChannelId, Count, MessageId, PostId, Quote, Url

ChatKind = Literal["channel", "group"]
Leg = Literal["dense", "sparse", "graph"]
"""A retrieval leg: dense vectors, sparse (BM25-style) vectors, or the entity graph."""


def post_id(tenant_id: str, channel_id: str, message_id: int) -> str:
    """The natural key of a post: ``<tenant_id>:<channel_id>:<message_id>``.

    Unambiguous because neither a tenant id nor a channel id may contain ``:``.
    """
    return f"{tenant_id}:{channel_id}:{message_id}"


def split_post_id(value: str) -> tuple[str, str, int]:
    """Inverse of ``post_id``: ``(tenant_id, channel_id, message_id)``.

    Raises ``ValueError`` if ``value`` is not of that form.
    """
    if re.fullmatch(POST_ID_PATTERN, value) is None:
        raise ValueError(f"not a post id: {value!r}")
    tenant_id, channel_id, message_id = value.split(":")
    return tenant_id, channel_id, int(message_id)


class PostRef(ContractModel):
    """A pointer to one stored post; ``post_id`` agrees with ``channel_id``/``message_id``."""

    post_id: PostId
    channel_id: ChannelId
    message_id: MessageId
    permalink: Url | None = None


class Citation(PostRef):
    """A source behind an answer or a digest item, with the quoted passage when there is one."""

    quote: Quote | None = None
    """The cited passage, at most 500 characters."""


class Usage(ContractModel):
    """Resources one request consumed, counted from provider responses (not estimated)."""

    llm_calls: Count = 0
    tokens_in: Count = 0
    tokens_out: Count = 0
    agent_steps: Count = 0

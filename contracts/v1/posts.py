"""``posts.ingested.v1``, ``posts.deleted.v1`` and ``posts.indexed.v1``."""

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, FiniteFloat, StringConstraints

from contracts.base import ContractModel
from contracts.fields import (
    UNIQUE_ITEMS,
    ChannelId,
    Count,
    LanguageCode,
    MessageId,
    Name,
    PostId,
    PostText,
    Term,
    Url,
    UtcDatetime,
    unique_items,
)
from contracts.v1.common import ChatKind, post_id

MediaKind = Literal["photo", "video", "document", "audio", "voice", "sticker", "other"]
Store = Literal["postgres", "qdrant", "neo4j"]
EntityLabel = Literal["PER", "ORG", "LOC", "MISC"]


class PostIngested(ContractModel):
    """One Telegram channel post or group message, as captured (event).

    Natural key: ``(tenant_id, channel_id, message_id)``, see ``natural_key``. A second event
    with the same key is a redelivery or, when ``edit_date`` is later, an edit: consumers
    upsert on the key and keep the newest ``edit_date``. ``text`` may be empty (media only).
    """

    channel_id: ChannelId
    channel_title: Name | None = None
    chat_kind: ChatKind
    message_id: MessageId
    date: UtcDatetime
    """When the message was sent."""
    edit_date: UtcDatetime | None = None
    """When it was last edited, if ever."""
    text: PostText
    """The message text or media caption as sent, at most 65 536 characters; may be empty."""
    author_id: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    """Sender of a group message (export form, e.g. ``user123456``)."""
    author_name: Name | None = None
    reply_to_message_id: MessageId | None = None
    forwarded_from: Name | None = None
    """Source channel id or name of a forwarded message."""
    views: Count | None = None
    forwards: Count | None = None
    reactions: Count | None = None
    """Total reactions of all kinds."""
    replies: Count | None = None
    permalink: Url | None = None
    media_kinds: Annotated[list[MediaKind], Field(max_length=20)] = Field(default_factory=list)
    """One entry per attached media item, at most 20."""
    source: Literal["telegram_export", "dataset", "api"]
    language: LanguageCode | None = None
    """ISO 639-1 code if the producer knows it; otherwise the indexer detects it."""

    def natural_key(self, tenant_id: str) -> str:
        """``<tenant_id>:<channel_id>:<message_id>``, the ``post_id`` used everywhere else."""
        return post_id(tenant_id, self.channel_id, self.message_id)


class PostsDeleted(ContractModel):
    """Messages removed from a channel (event); consumers delete them from every store.

    Deleting an unknown or already deleted message is not an error.
    """

    channel_id: ChannelId
    message_ids: Annotated[list[MessageId], Field(min_length=1, max_length=1000)]
    deleted_at: UtcDatetime


class Entity(ContractModel):
    """A named entity found in a post."""

    text: Name
    """As written in the post."""
    normalized: Name
    """Lemmatised, lower-cased form used as the graph node key."""
    label: EntityLabel


class PostIndexed(ContractModel):
    """A post was written to the stores listed in ``stores`` (event).

    ``post_id`` is the post's natural key; ``text`` is the cleaned text that was indexed.
    Emitted again for an edit (``is_edit``) or a redelivery with the same ``post_id``.
    ``duplicate_of`` names an earlier post with the same content, if one was found.
    """

    post_id: PostId
    channel_id: ChannelId
    channel_title: Name | None = None
    message_id: MessageId
    date: UtcDatetime
    chat_kind: ChatKind
    language: LanguageCode | None = None
    text: PostText
    entities: Annotated[list[Entity], Field(max_length=200)] = Field(default_factory=list)
    keywords: Annotated[list[Term], Field(max_length=50)] = Field(default_factory=list)
    embedding_model: Name
    """Name of the model that produced the stored vector; one collection per model."""
    embedding: Annotated[list[FiniteFloat], Field(max_length=4096)] | None = None
    """The dense vector, only when the producer chose to ship it."""
    duplicate_of: PostId | None = None
    is_edit: bool = False
    views: Count | None = None
    forwards: Count | None = None
    permalink: Url | None = None
    stores: Annotated[
        list[Store],
        Field(max_length=3, json_schema_extra=UNIQUE_ITEMS),
        AfterValidator(unique_items),
    ] = Field(default_factory=list)
    """Stores written for this post; a store that was down is absent."""

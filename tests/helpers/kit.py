"""A probe service built on the runtime, for testing the runtime itself against real Kafka."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, ClassVar

from pydantic_settings import SettingsConfigDict

from contracts.envelope import Envelope, make_envelope
from contracts.v1.posts import PostIngested
from servicekit.app import ServiceKit
from servicekit.publisher import envelope_headers
from servicekit.settings import ServiceSettings, load_settings


class ProbeSettings(ServiceSettings):
    """Settings of the probe service used by runtime tests."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", env_prefix="TGI_PROBE_")
    service_name: ClassVar[str] = "probe"


def probe_settings(bootstrap: str, prefix: str, **overrides: Any) -> ProbeSettings:
    values: dict[str, Any] = {
        "kafka_bootstrap": bootstrap,
        "topic_prefix": prefix,
        "handler_retry_base_s": 0.01,
        "startup_timeout_s": 30,
    }
    values.update(overrides)
    return load_settings(ProbeSettings, **values)


@asynccontextmanager
async def running(kit: ServiceKit) -> AsyncIterator[ServiceKit]:
    """Start ``kit`` (wait for Kafka, topics, consumers) and stop it afterwards."""
    await kit.start()
    try:
        yield kit
    finally:
        await kit.stop()


def post_envelope(
    message_id: int = 1,
    *,
    tenant: str = "acme",
    channel: str = "naked_science",
    text: str = "В Китае нашли ударный кратер необычной формы",
) -> Envelope[PostIngested]:
    payload = PostIngested(
        channel_id=channel,
        channel_title="Naked Science",
        chat_kind="channel",
        message_id=message_id,
        date=datetime(2024, 12, 4, 9, 0, 28, tzinfo=UTC),
        text=text,
        source="dataset",
    )
    return make_envelope(
        payload,
        event_type="posts.ingested",
        schema_version=1,
        producer="tests@0",
        tenant_id=tenant,
    )


def wire(envelope: Envelope[Any]) -> tuple[bytes, dict[str, str]]:
    """The bytes and headers a producer sends for ``envelope``."""
    return envelope.model_dump_json().encode(), envelope_headers(envelope)
